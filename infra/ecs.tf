# ECS: the cluster, its capacity providers, the Service Connect namespace,
# the Jitsi task definition and the service at desired count 0.
#
# Nothing here bills while the service is at 0: a cluster, a task
# definition, an HTTP namespace and an idle service are free. `meetctl up`
# scales the service to 1 behind its target groups, `meetctl down` back to 0
# and detaches them.

resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights is the container_insights variable, off by default: it bills CloudWatch metrics and performance-log ingestion for every hour a task runs, which a scale-to-zero platform should not pay for unless an operator is investigating. Set container_insights = true to turn it on.
  #checkov:skip=CKV_AWS_224:ECS Exec sessions are logged to CloudWatch, but not encrypted with a customer managed KMS key: a CMK bills $1/month while idle. The session channel itself is TLS (ssmmessages).
  name = local.cluster_name

  # Container Insights bills while a task runs (see var.container_insights);
  # off unless the operator asks for it.
  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  configuration {
    execute_command_configuration {
      logging = "OVERRIDE"

      log_configuration {
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.this.name
        cloud_watch_encryption_enabled = false
      }
    }
  }

  service_connect_defaults {
    namespace = aws_service_discovery_http_namespace.this.arn
  }

  tags = {
    Name = local.cluster_name
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = var.capacity_provider
    weight            = 1
  }
}

# Service Connect namespace "<project>.local". An HTTP namespace (Cloud Map
# API discovery only) rather than a private DNS one: a private DNS namespace
# creates a Route53 hosted zone, which bills $0.50/month while idle.
resource "aws_service_discovery_http_namespace" "this" {
  name        = local.namespace_name
  description = "Service Connect namespace of ${var.project_name}"

  tags = {
    Name = local.namespace_name
  }
}

# ---------------------------------------------------------- task definition

locals {
  # All four containers share one network namespace (awsvpc), so they reach
  # each other on the loopback address. An IP rather than "localhost": nginx
  # in jitsi/web proxies BOSH/WebSocket with a variable URL, which would need
  # a DNS resolver for a host name.
  loopback = "127.0.0.1"

  # docker-jitsi-meet's default internal XMPP domains. They never leave the
  # task; the public name is PUBLIC_URL.
  xmpp_domain              = "meet.jitsi"
  xmpp_auth_domain         = "auth.meet.jitsi"
  xmpp_muc_domain          = "muc.meet.jitsi"
  xmpp_internal_muc_domain = "internal-muc.meet.jitsi"
  xmpp_guest_domain        = "guest.meet.jitsi"
  jvb_brewery_muc          = "jvbbrewery"
  jvb_auth_user            = "jvb"
  jvb_port                 = 10000

  image = {
    for c in ["web", "prosody", "jicofo", "jvb"] : c => "jitsi/${c}:${var.jitsi_image_tag}"
  }

  # Soft memory reservations (MiB), as shares of the task's memory; together
  # 11/16 of it, the rest is headroom (and the Service Connect proxy).
  # Every container needs one (or `memory`): moto's RunTask answers 500
  # without it, and it keeps the JVMs below the task limit.
  memory_reservation = {
    web     = floor(var.task_memory / 16)
    prosody = floor(var.task_memory / 16)
    jicofo  = floor(var.task_memory * 3 / 16)
    jvb     = floor(var.task_memory * 6 / 16)
  }

  # Java heap caps, otherwise each JVM defaults to 3 GiB and two of them
  # overrun a 4 GiB task.
  jicofo_max_memory = "${floor(var.task_memory * 3 / 16)}m"
  jvb_max_memory    = "${floor(var.task_memory * 6 / 16)}m"

  common_env = {
    TZ                       = "UTC"
    XMPP_SERVER              = local.loopback
    XMPP_DOMAIN              = local.xmpp_domain
    XMPP_AUTH_DOMAIN         = local.xmpp_auth_domain
    XMPP_MUC_DOMAIN          = local.xmpp_muc_domain
    XMPP_INTERNAL_MUC_DOMAIN = local.xmpp_internal_muc_domain
    XMPP_GUEST_DOMAIN        = local.xmpp_guest_domain
  }

  # Secure domain (var.auth). Which image reads which variable, in
  # docker-jitsi-meet (stable-10314 keeps the same templates):
  #   prosody  ENABLE_AUTH, AUTH_TYPE, ENABLE_GUESTS  (rootfs/defaults/conf.d/jitsi-meet.cfg.lua:
  #            VirtualHost XMPP_DOMAIN gets authentication = "internal_hashed"; with guests a
  #            VirtualHost XMPP_GUEST_DOMAIN with authentication = "anonymous")
  #   jicofo   ENABLE_AUTH, AUTH_TYPE                 (rootfs/defaults/jicofo.conf: authentication
  #            { enabled = true, type = XMPP, login-url = XMPP_DOMAIN })
  #   web      ENABLE_AUTH, ENABLE_GUESTS             (rootfs/defaults/system-config.js:
  #            config.hosts.authdomain, and config.hosts.anonymousdomain for guests)
  # jvb reads none of them. "none" keeps today's behaviour: prosody's
  # ENABLE_AUTH=0, XMPP_DOMAIN anonymous.
  # Empty maps for "none", so the task definition stays exactly as before;
  # merged last, so "internal" overrides prosody's ENABLE_AUTH = "0".
  auth_env = {
    for container, vars in {
      prosody = { ENABLE_AUTH = "1", AUTH_TYPE = "internal", ENABLE_GUESTS = "1" }
      jicofo  = { ENABLE_AUTH = "1", AUTH_TYPE = "internal" }
      web     = { ENABLE_AUTH = "1", ENABLE_GUESTS = "1" }
    } : container => { for name, value in vars : name => value if var.auth == "internal" }
  }

  env = { for container, vars in local.base_env : container => merge(vars, lookup(local.auth_env, container, {})) }

  base_env = {
    web = merge(local.common_env, {
      PUBLIC_URL            = local.public_url
      XMPP_BOSH_URL_BASE    = "http://${local.loopback}:5280"
      ENABLE_XMPP_WEBSOCKET = "1"
      # TLS ends at the NLB: nginx serves plain HTTP on 80 only.
      DISABLE_HTTPS        = "1"
      ENABLE_HTTP_REDIRECT = "0"
      ENABLE_LETSENCRYPT   = "0"
      ENABLE_IPV6          = "0"
    })

    prosody = merge(local.common_env, local.turn_prosody_env, {
      PUBLIC_URL            = local.public_url
      ENABLE_AUTH           = "0"
      ENABLE_XMPP_WEBSOCKET = "1"
      ENABLE_IPV6           = "0"
      JVB_AUTH_USER         = local.jvb_auth_user
    })

    jicofo = merge(local.common_env, {
      JVB_BREWERY_MUC   = local.jvb_brewery_muc
      JICOFO_MAX_MEMORY = local.jicofo_max_memory
    })

    jvb = merge(local.common_env, {
      JVB_AUTH_USER          = local.jvb_auth_user
      JVB_BREWERY_MUC        = local.jvb_brewery_muc
      JVB_PORT               = tostring(local.jvb_port)
      DISABLE_AWS_HARVESTER  = "true"
      VIDEOBRIDGE_MAX_MEMORY = local.jvb_max_memory
      # Advertise the load balancer's address (JVB_ADVERTISE_IPS) and nothing
      # else. With STUN on, the JVB also asks a public STUN server (default
      # meet-jit-si-turnrelay.jitsi.net:443) for its own public address and
      # offers the task's public IP next to the NLB's: media can bypass the
      # NLB, and replies to it leave from the task's address instead of the
      # NLB's. docker-jitsi-meet passes JVB_DISABLE_STUN to the jvb container
      # (docker-compose.yml) and documents JVB_DISABLE_STUN=true as the switch
      # that turns the JVB's STUN address discovery off (jitsi handbook,
      # docs/devops-guide/docker.md, "Running behind NAT" / "Offline /
      # airgapped installation"). Both ingress modes (nlb, terraform) put an
      # NLB in front; a future "direct" mode without one would need STUN.
      JVB_DISABLE_STUN = "true"
    })
  }

  # Secrets by ARN; the values live only in SSM (ssm.tf).
  secrets = {
    web = {}
    prosody = {
      JICOFO_AUTH_PASSWORD = local.ssm_parameter_arns.jicofo_auth_password
      JVB_AUTH_PASSWORD    = local.ssm_parameter_arns.jvb_auth_password
      # coturn's static-auth-secret: prosody derives browsers' TURN credentials from it (turn.tf).
      TURN_CREDENTIALS = local.ssm_parameter_arns.turn_secret
    }
    jicofo = {
      JICOFO_AUTH_PASSWORD = local.ssm_parameter_arns.jicofo_auth_password
    }
    jvb = {
      JVB_AUTH_PASSWORD = local.ssm_parameter_arns.jvb_auth_password
      # The public address clients send media to (the NLB's EIP), written by
      # meetctl before it scales the service up.
      JVB_ADVERTISE_IPS = local.ssm_parameter_arns.jvb_advertise_ips
    }
  }

  port_mappings = {
    web = [
      { name = "web", containerPort = 80, hostPort = 80, protocol = "tcp", appProtocol = "http" },
    ]
    prosody = []
    jicofo  = []
    jvb = [
      { name = "jvb-udp", containerPort = local.jvb_port, hostPort = local.jvb_port, protocol = "udp" },
      { name = "jvb-health", containerPort = 8080, hostPort = 8080, protocol = "tcp", appProtocol = "http" },
    ]
  }

  # jicofo: /about/version, not /about/health. In the pinned jicofo the REST
  # API is on by default on 127.0.0.1:8888 (jicofo-selector reference.conf:
  # rest.enabled = true, port = 8888, host = "127.0.0.1"), and it always
  # serves GET /about/version (jicofo ktor/Application.kt, route "/about").
  # /about/health is registered only when jicofo's health checker exists,
  # i.e. with health.enabled = true (reference.conf default false;
  # docker-jitsi-meet sets it only from JICOFO_ENABLE_HEALTH_CHECKS), and even
  # then it fails while no bridge is registered (JicofoHealthChecker: "No
  # operational bridges available"), so ECS would replace the task about
  # startPeriod + retries x interval after every start. /about/version answers
  # 200 exactly when jicofo's process and REST server are up and 404/refused
  # otherwise. 127.0.0.1 because that is the address jicofo binds (the check
  # runs in jicofo's own container, in the task's shared network namespace).
  health_command = {
    web     = "curl -fs http://localhost:80/ > /dev/null || exit 1"
    prosody = "curl -fs http://localhost:5280/health > /dev/null || exit 1"
    jicofo  = "curl -fs http://127.0.0.1:8888/about/version > /dev/null || exit 1"
    jvb     = "curl -fs http://localhost:8080/about/health > /dev/null || exit 1"
  }

  # Prosody keeps its data (accounts, rosters, MUC state) in /config/data
  # (prosody.cfg.lua: data_path = "/config/data"); on the EFS access point it
  # survives `down`/`up`. Only the data directory: /config itself is rendered
  # from templates at every start.
  mount_points = {
    web     = []
    prosody = [{ sourceVolume = local.prosody_data_volume, containerPath = "/config/data", readOnly = false }]
    jicofo  = []
    jvb     = []
  }

  # jicofo and jvb log in to prosody; they retry, but starting prosody first
  # saves a round of reconnects.
  depends_on_prosody = [{ containerName = "prosody", condition = "START" }]

  # Empty lists are left out rather than sent as [] so that the definition
  # AWS returns matches what Terraform wrote (no perpetual diff).
  container_definitions = concat([
    for name in ["web", "prosody", "jicofo", "jvb"] : merge(
      {
        name              = name
        image             = local.image[name]
        essential         = true
        memoryReservation = local.memory_reservation[name]

        environment = [
          for k in sort(keys(local.env[name])) : { name = k, value = local.env[name][k] }
        ]

        healthCheck = {
          command     = ["CMD-SHELL", local.health_command[name]]
          interval    = 15
          timeout     = 5
          retries     = 3
          startPeriod = 90
        }

        logConfiguration = {
          logDriver = "awslogs"
          options = {
            "awslogs-group"         = aws_cloudwatch_log_group.this.name
            "awslogs-region"        = local.region
            "awslogs-stream-prefix" = name
          }
        }
      },
      length(local.port_mappings[name]) > 0 ? { portMappings = local.port_mappings[name] } : {},
      length(local.mount_points[name]) > 0 ? { mountPoints = local.mount_points[name] } : {},
      length(local.secrets[name]) > 0 ? {
        secrets = [
          for k in sort(keys(local.secrets[name])) : { name = k, valueFrom = local.secrets[name][k] }
        ]
      } : {},
      contains(["jicofo", "jvb"], name) ? { dependsOn = local.depends_on_prosody } : {},
    )
  ], [local.coturn_container])
}

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336:The docker-jitsi-meet images render their configuration at every start into /config, /run and /tmp (and more paths in older tags). A read-only root would need a writable Fargate volume per path; upstream only documents that set-up for Docker Compose (tmpfs + /config volume), and it has not been verified for the pinned tag on Fargate.
  family                   = local.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # Prosody's data on EFS (efs.tf): TLS in transit, the task role's IAM
  # identity checked by the file system policy, and the access point pins
  # the directory and the uid/gid. root_directory must be "/" (or absent)
  # with an access point; "/" is written so the definition AWS returns
  # matches this one.
  volume {
    name = local.prosody_data_volume

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.prosody.id
      root_directory     = "/"
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.prosody.id
        iam             = "ENABLED"
      }
    }
  }

  container_definitions = jsonencode(local.container_definitions)

  tags = {
    Name = local.task_family
  }
}

# ------------------------------------------------------------------- service

resource "aws_ecs_service" "this" {
  #checkov:skip=CKV_AWS_333:The task needs a public IP: the subnets are public with no NAT gateway (a NAT bills ~$32/month while idle), and the task pulls its images from Docker Hub. Inbound traffic is still limited by the security group (UDP 10000 from anywhere, 80/8080 from the VPC only).
  name            = local.service_name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn

  # Scale to zero: meetctl sets 1 on `up` and 0 on `down`; Terraform never
  # touches the count again (ignore_changes below).
  desired_count = 0

  platform_version       = "LATEST"
  enable_execute_command = var.enable_execute_command
  propagate_tags         = "SERVICE"

  enable_ecs_managed_tags = true

  capacity_provider_strategy {
    capacity_provider = var.capacity_provider
    weight            = 1
    base              = 0
  }

  # One Jitsi instance owns UDP 10000 and the advertised address: on a new
  # task definition stop the old task before starting the new one rather
  # than running two bridges.
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = true
  }

  # Client-only Service Connect (the task exposes no Service Connect
  # endpoint; the NLB reaches it by IP), with the proxy's logs kept.
  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.this.arn

    log_configuration {
      log_driver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "service-connect"
      }
    }
  }

  wait_for_steady_state = false

  tags = {
    Name = local.service_name
  }

  # No load_balancer block here: the target groups exist only while the
  # platform is up (meetctl creates them with the NLB). `meetctl up` attaches
  # them with UpdateService `loadBalancers` (jvb:10000 -> JVB group, web:80 ->
  # web group) once a listener forwards to them, so ECS registers every task
  # it starts, a replacement included, and deregisters every task it stops;
  # `meetctl down` detaches them ([]) with the scale to 0. ECS does this with
  # its service-linked role AWSServiceRoleForECS, which it creates itself
  # with the cluster (the first apply needs iam:CreateServiceLinkedRole).
  # health_check_grace_period_seconds is set by meetctl with the attachment:
  # it keeps ECS from stopping a new task while the NLB's slow registration
  # and first checks run.

  lifecycle {
    # desired_count: owned by meetctl (0 <-> 1).
    # network_configuration: meetctl pins the service to the NLB's subnet on
    # `up`; a later `terraform apply` must not move it back.
    # load_balancer, health_check_grace_period_seconds: owned by meetctl (see
    # above); an apply while the platform is up must not detach the groups.
    ignore_changes = [
      desired_count,
      network_configuration,
      load_balancer,
      health_check_grace_period_seconds,
    ]
  }

  # A task can mount the EFS volume only once a mount target exists in its
  # subnet's AZ.
  depends_on = [
    aws_ecs_cluster_capacity_providers.this,
    aws_efs_mount_target.prosody,
    aws_iam_role_policy.execution,
    aws_iam_role_policy.task,
    aws_route_table_association.public,
  ]
}
