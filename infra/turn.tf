# TURN for participants whose network blocks UDP: a coturn container in the
# task, reached through the on-demand NLB.
#
# Why TURN: the JVB's TCP fallback is gone (docker-jitsi-meet removed
# JVB_TCP_HARVESTER in 2022, jitsi-videobridge ICE/TCP in 2024; "TURN/TLS
# provides a better solution"). A browser that cannot send UDP to 10000
# allocates a relay on coturn over TLS and coturn forwards the media, as UDP,
# to the JVB inside the same task.
#
# TLS ends at the NLB, not in coturn: the NLB's TLS listener (5349, created by
# meetctl on `up`, or by module.jvb_nlb) uses the same ACM certificate as the
# site, which ACM renews by itself and which cannot be handed to a container
# as a file. coturn therefore listens on plain TCP 3478 only (--no-tls,
# --no-dtls, --no-udp). Without a certificate there is no TLS at all: the NLB
# forwards plain TCP 3478 and prosody advertises TURN over TCP, which helps
# networks that block UDP but allow outbound TCP to any port.
#
# Credentials: coturn's TURN REST API (`--use-auth-secret`,
# `--static-auth-secret`; turnserver(1) / README.turnserver). Prosody hands
# browsers time-limited credentials derived from the same secret
# (TURN_CREDENTIALS → external_service_secret, mod_external_services,
# docker-jitsi-meet prosody/rootfs/defaults/prosody.cfg.lua at stable-10314).
# The secret is an SSM SecureString created by meetctl on `up` with the other
# secrets (ssm.tf); Terraform only names it, so it never enters the state.

locals {
  turn_port        = 3478
  turns_port       = 5349
  turn_relay_ports = { min = 49152, max = 49407 }

  # The coturn/coturn image's entrypoint expands `$VAR` in its arguments
  # (`exec $(eval "echo $@")`, docker/coturn/debian/rootfs/usr/local/bin/
  # docker-entrypoint.sh; README "Automatic detection of external IP"), so
  # the secret comes from the container's `secrets` env at start and appears
  # in no task definition. It is hex (meetctl's CSPRNG), so eval cannot split it.
  coturn_image = "coturn/coturn:${var.coturn_image_tag}"

  # Relays to private, loopback, link-local (the instance and ECS task
  # metadata endpoints at 169.254.169.254 and 169.254.170.2), CGNAT,
  # documentation, benchmarking and reserved ranges are denied, as coturn's
  # turnserver.conf advises for a server that can reach machines the
  # internet cannot ("denied-peer-ip", "no-multicast-peers"). The one
  # exception is the task itself: its subnets (only this project's task and
  # the NLB live there) stay allowed so the relay can hand media to the JVB
  # on the task's private address. "allowed" wins over "denied" in coturn.
  turn_denied_peer_ranges = [
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255",
    "192.88.99.0-192.88.99.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255",
    "240.0.0.0-255.255.255.255",
    "::1",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "100::-100::ffff:ffff:ffff:ffff",
    "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  ]
  turn_allowed_peer_ranges = [
    for cidr in var.public_subnet_cidrs : "${cidrhost(cidr, 0)}-${cidrhost(cidr, -1)}"
  ]

  coturn_command = concat(
    [
      "-n",
      "--log-file=stdout",
      "--listening-port=${local.turn_port}",
      "--no-udp",
      "--no-tls",
      "--no-dtls",
      "--no-tcp-relay",
      "--min-port=${local.turn_relay_ports.min}",
      "--max-port=${local.turn_relay_ports.max}",
      "--use-auth-secret",
      "--static-auth-secret=$TURN_STATIC_AUTH_SECRET",
      "--realm=${var.domain_name}",
      "--fingerprint",
      "--no-cli",
      "--no-multicast-peers",
      "--no-software-attribute",
      "--no-rfc5780",
      "--stale-nonce=600",
    ],
    [for r in local.turn_denied_peer_ranges : "--denied-peer-ip=${r}"],
    [for r in local.turn_allowed_peer_ranges : "--allowed-peer-ip=${r}"],
  )

  coturn_container = {
    name      = "coturn"
    image     = local.coturn_image
    command   = local.coturn_command
    essential = false # a TURN failure must not stop meetings for everyone else
    # A soft reservation like the others (moto's RunTask needs one); coturn
    # with a few relays uses a few MiB.
    memoryReservation = floor(var.task_memory / 32)
    portMappings = [
      { name = "turn-tcp", containerPort = local.turn_port, hostPort = local.turn_port, protocol = "tcp" },
    ]
    secrets = [
      { name = "TURN_STATIC_AUTH_SECRET", valueFrom = local.ssm_parameter_arns.turn_secret },
    ]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.this.name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "coturn"
      }
    }
  }

  # What prosody advertises to browsers (XEP-0215 external services), read by
  # the pinned image's prosody.cfg.lua: TURNS_HOST/TURNS_PORT give a "turns"
  # entry with transport tcp; TURN_HOST/TURN_PORT/TURN_TRANSPORT a "turn" one.
  # lib-jitsi-meet uses only the TCP/TLS TURN entries for the bridge
  # connection (UDP TURN only with config.useTurnUdp), so both are among them.
  turn_prosody_env = local.tls_enabled ? {
    TURNS_HOST = var.domain_name
    TURNS_PORT = tostring(local.turns_port)
    } : {
    TURN_HOST      = var.domain_name
    TURN_PORT      = tostring(local.turn_port)
    TURN_TRANSPORT = "tcp"
  }
}

# The NLB forwards TURN (TLS terminated, or plain TCP) and health-checks it
# from its private address; TCP IP targets do not preserve the client
# address, so the VPC CIDR is the only source (as for web 80).
resource "aws_vpc_security_group_ingress_rule" "turn_from_vpc" {
  security_group_id = aws_security_group.task.id
  description       = "coturn TURN over TCP 3478 from the NLB (TLS 5349 terminated there) and its health checks"
  ip_protocol       = "tcp"
  from_port         = local.turn_port
  to_port           = local.turn_port
  cidr_ipv4         = aws_vpc.this.cidr_block
}
