# Input variables. Every variable has a description and, where a wrong value
# would only fail later at AWS (or silently misbehave), a validation.
# Validations that compare two variables need Terraform >= 1.9 (versions.tf).

# ---------------------------------------------------------------- identity ---

variable "project_name" {
  description = "Name prefix of every resource and the value of the Project tag. meetctl derives all its names from it (<project>-cluster, <project>-service, <project>-nlb, /<project>/... in SSM)."
  type        = string
  default     = "jitsi-video-platform"

  validation {
    # 3-28 chars so that "<project>-nlb" (and "<project>-jvb"/"-web") stay
    # within the 32-character ELBv2 name limit.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,26}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-28 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit (\"<project>-nlb\" must fit the 32-character load balancer name limit)."
  }
}

variable "aws_region" {
  description = "AWS region for every resource (for example us-east-1)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$", var.aws_region))
    error_message = "aws_region must look like an AWS region code, for example us-east-1 or eu-central-1."
  }
}

variable "domain_name" {
  description = "Fully qualified domain name of the meeting site (for example meet.example.com). Becomes PUBLIC_URL=https://<domain_name> in the web and prosody containers; meetctl points this name at the load balancer on `up`."
  type        = string

  validation {
    condition     = length(var.domain_name) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lowercase fully qualified domain name such as meet.example.com (no scheme, no trailing dot, no port)."
  }
}

# ----------------------------------------------------------------- network ---

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (prefix /16 to /24)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition = (
      can(cidrhost(var.vpc_cidr, 0)) &&
      can(tonumber(split("/", var.vpc_cidr)[1])) &&
      try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24, false) &&
      try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)
    )
    error_message = "vpc_cidr must be a valid IPv4 network address with a prefix between /16 and /24 (for example 10.42.0.0/16), with no host bits set."
  }
}

variable "public_subnet_cidrs" {
  description = "Exactly two IPv4 CIDR blocks inside vpc_cidr, one public subnet each in the first two availability zones of the region. meetctl puts the NLB and the task in one of them."
  type        = list(string)
  default     = ["10.42.0.0/24", "10.42.1.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) == 2
    error_message = "public_subnet_cidrs must hold exactly two CIDR blocks (one per availability zone)."
  }

  validation {
    condition = alltrue([
      for c in var.public_subnet_cidrs :
      can(cidrhost(c, 0)) && try(cidrhost(c, 0) == split("/", c)[0], false) &&
      try(tonumber(split("/", c)[1]) >= 16 && tonumber(split("/", c)[1]) <= 28, false)
    ])
    error_message = "Each public subnet CIDR must be a valid IPv4 network address with a prefix between /16 and /28 and no host bits set."
  }

  validation {
    condition     = length(distinct(var.public_subnet_cidrs)) == length(var.public_subnet_cidrs)
    error_message = "The two public subnet CIDR blocks must differ."
  }
}

variable "availability_zones" {
  description = "Optional: the two availability zone names (for example [\"eu-central-1a\", \"eu-central-1b\"]) of the public subnets, in the order of public_subnet_cidrs. Null picks the first two regular AZs of the region that run Fargate."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2, false)
    error_message = "availability_zones must be null or two different availability zone names."
  }

  validation {
    condition     = var.availability_zones == null || try(alltrue([for z in var.availability_zones : startswith(z, var.aws_region) && can(regex("^[a-z0-9-]+[a-z]$", z))]), false)
    error_message = "availability_zones must be zone names of aws_region, such as <aws_region>a."
  }
}

# --------------------------------------------------------------------- ECS ---

variable "task_cpu" {
  description = "Fargate task CPU units for the whole Jitsi task (web, prosody, jicofo, jvb): 1024, 2048, 4096, 8192 or 16384."
  type        = number
  default     = 2048

  validation {
    condition     = contains([1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be one of 1024, 2048, 4096, 8192 or 16384 (Jitsi's four containers do not fit in less than 1 vCPU)."
  }
}

variable "task_memory" {
  description = "Fargate task memory in MiB; must be a valid Fargate combination with task_cpu (1024: 2048-8192; 2048: 4096-16384; 4096: 8192-30720, in 1024 steps; 8192: 16384-61440 in 4096 steps; 16384: 32768-122880 in 8192 steps)."
  type        = number
  default     = 4096

  validation {
    condition = contains(
      lookup({
        "1024"  = range(2048, 8192 + 1, 1024)
        "2048"  = range(4096, 16384 + 1, 1024)
        "4096"  = range(8192, 30720 + 1, 1024)
        "8192"  = range(16384, 61440 + 1, 4096)
        "16384" = range(32768, 122880 + 1, 8192)
      }, tostring(var.task_cpu), []),
      var.task_memory
    )
    error_message = "task_memory is not a valid Fargate value for this task_cpu. Valid: cpu 1024 -> 2048..8192 (step 1024); 2048 -> 4096..16384 (step 1024); 4096 -> 8192..30720 (step 1024); 8192 -> 16384..61440 (step 4096); 16384 -> 32768..122880 (step 8192)."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the Fargate task: X86_64 (default) or ARM64 (Graviton, about 20% cheaper). The jitsi/* images are multi-arch, but the pinned JVB's SCTP bridge channel loads the native jitsi-dcsctp (dcsctp4j) library, and an aarch64 build of it in the pinned JVB could not be confirmed from its sources: choose ARM64 only after verifying the bridge channel on it."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["ARM64", "X86_64"], var.cpu_architecture)
    error_message = "cpu_architecture must be ARM64 or X86_64."
  }
}

variable "capacity_provider" {
  description = "Capacity provider of the ECS service: FARGATE or FARGATE_SPOT. Fargate Spot only runs X86_64 tasks, so FARGATE_SPOT requires cpu_architecture = X86_64."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.capacity_provider)
    error_message = "capacity_provider must be FARGATE or FARGATE_SPOT."
  }

  validation {
    condition     = !(var.capacity_provider == "FARGATE_SPOT" && var.cpu_architecture != "X86_64")
    error_message = "capacity_provider = FARGATE_SPOT needs cpu_architecture = X86_64: Fargate Spot does not run ARM64 tasks. Set cpu_architecture = \"X86_64\" or use capacity_provider = \"FARGATE\"."
  }
}

variable "jitsi_image_tag" {
  description = "Pinned docker-jitsi-meet release tag used for jitsi/web, jitsi/prosody, jitsi/jicofo and jitsi/jvb (stable-NNNNN, never the floating \"stable\" or \"latest\")."
  type        = string
  default     = "stable-10314"

  validation {
    condition     = can(regex("^stable-[0-9]{4,6}(-[0-9]+)?$", var.jitsi_image_tag))
    error_message = "jitsi_image_tag must be a pinned release tag like stable-10314 (optionally stable-NNNNN-N); floating tags such as \"stable\" or \"latest\" are not allowed."
  }
}

variable "container_insights" {
  description = "CloudWatch Container Insights on the ECS cluster. Off by default: while a task runs it bills its metrics as CloudWatch custom metrics and its performance log events as log ingestion (CloudWatch pricing, \"Container Insights\"); with no task running it emits next to nothing. Turn it on while investigating performance."
  type        = bool
  default     = false
}

variable "enable_execute_command" {
  description = "Enable ECS Exec (aws ecs execute-command) on the service's task, for debugging. Sessions are logged to the project's log group."
  type        = bool
  default     = true
}

variable "auth" {
  description = "Who may open a meeting room: \"none\" (anyone who reaches the site; docker-jitsi-meet's default) or \"internal\" (a secure domain: a room is opened only by an account made with `meetctl users add`; guests then join it without an account). Set the same `auth` in meetctl.toml. \"internal\" needs enable_execute_command = true (meetctl manages the accounts through ECS Exec)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "internal"], var.auth)
    error_message = "auth must be \"none\" or \"internal\"."
  }

  validation {
    condition     = var.auth == "none" || var.enable_execute_command
    error_message = "auth = \"internal\" needs enable_execute_command = true: `meetctl users add` creates the accounts in the prosody container through ECS Exec."
  }
}

variable "log_retention_days" {
  description = "Retention in days of the CloudWatch log group that receives the containers', Service Connect's and ECS Exec's logs."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

# ---------------------------------------------------------- load balancer ---

variable "nlb_enabled" {
  description = "Create the network load balancer with Terraform (module jvb-nlb; ingress mode \"terraform\"). Default false: meetctl creates the load balancer itself on `up` and deletes it on `down`, so it bills only while a meeting can happen."
  type        = bool
  default     = false
}

variable "nlb_eip_allocation_id" {
  description = "Optional Elastic IP allocation id (eipalloc-...) for the Terraform-managed NLB's single subnet mapping. Null lets AWS assign an address. Only used when nlb_enabled = true."
  type        = string
  default     = null

  validation {
    condition     = var.nlb_eip_allocation_id == null || can(regex("^eipalloc-[0-9a-f]{8,17}$", var.nlb_eip_allocation_id))
    error_message = "nlb_eip_allocation_id must be null or an Elastic IP allocation id like eipalloc-0123456789abcdef0."
  }
}

# --------------------------------------------------------------- TLS / DNS ---

variable "certificate_arn" {
  description = "ARN of an existing ACM certificate for domain_name (in aws_region), used by the TLS 443 listener. Leave null to create one (create_certificate) or to serve plain TCP 80 (testing only)."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$", var.certificate_arn))
    error_message = "certificate_arn must be null or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)."
  }

  validation {
    condition     = var.certificate_arn == null || try(split(":", var.certificate_arn)[3] == var.aws_region, false)
    error_message = "certificate_arn must be a certificate in aws_region: a load balancer can only use an ACM certificate from its own region."
  }
}

variable "create_certificate" {
  description = "Request a free ACM certificate for domain_name and validate it by DNS in hosted_zone_id. Needs hosted_zone_id; excludes certificate_arn."
  type        = bool
  default     = false

  validation {
    condition     = !var.create_certificate || (var.hosted_zone_id != null && var.certificate_arn == null)
    error_message = "create_certificate = true needs hosted_zone_id (for the DNS validation records) and certificate_arn = null (use one or the other)."
  }
}

variable "hosted_zone_id" {
  description = "Route53 public hosted zone id (Z...) that contains domain_name. Used for the ACM DNS validation records and by meetctl for the alias record. Null if DNS is managed elsewhere."
  type        = string
  default     = null

  validation {
    condition     = var.hosted_zone_id == null || can(regex("^Z[A-Z0-9]{1,32}$", var.hosted_zone_id))
    error_message = "hosted_zone_id must be null or a Route53 hosted zone id such as Z0123456789ABCDEFGHIJ."
  }
}

# --------------------------------------------------------- local emulator ---

variable "aws_endpoint_url" {
  description = "Test/demo only: base URL of a local AWS emulator (for example http://127.0.0.1:5000 for moto_server). When set, every AWS service endpoint points there and credential/account checks are skipped (see providers.tf). Leave null for real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/\\s]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be null or a base URL such as http://127.0.0.1:5000."
  }
}

variable "coturn_image_tag" {
  description = "Tag of the official coturn/coturn image for the TURN container (turn.tf). Pinned: X.Y.Z-rN tags are never rebuilt (coturn's docker/coturn/README.md, \"Image versions\")."
  type        = string
  default     = "4.6.2-r12"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+(\\.[0-9]+)?-r[0-9]+(-debian|-alpine)?$", var.coturn_image_tag))
    error_message = "coturn_image_tag must be a pinned revision tag like 4.6.2-r12 (X.Y.Z-rN, optionally -debian or -alpine); floating tags such as \"latest\" or \"4.6\" are not allowed."
  }
}

# ---------------------------------------------------------- control plane ---

variable "control_plane_enabled" {
  description = "Deploy the control plane (modules/control-plane): a Lambda function, invoked every control_plane_rate_minutes while the platform is up, that runs meetctl down when nobody is connected for idle_timeout, past max_uptime, or over monthly_budget_usd. Needs control_plane_zip."
  type        = bool
  default     = false

  validation {
    condition     = !var.control_plane_enabled || var.control_plane_zip != null
    error_message = "control_plane_enabled = true needs control_plane_zip: run scripts/build-lambda.sh and pass its zip (target/lambda/meetctl-control.zip)."
  }

  validation {
    condition     = !(var.control_plane_enabled && var.nlb_enabled)
    error_message = "control_plane_enabled = true works with meetctl's on-demand NLB only (nlb_enabled = false): with nlb_enabled = true, `down` removes the NLB through terraform, which the Lambda function cannot run. Set nlb_enabled = false, or leave the control plane off."
  }
}

variable "control_plane_zip" {
  description = "The Lambda zip scripts/build-lambda.sh builds (holds `bootstrap`). Only used when control_plane_enabled = true."
  type        = string
  default     = null
}

variable "control_plane_rate_minutes" {
  description = "How often the control plane looks while the platform is up, in minutes. The worst-case time from the last participant leaving to `down` starting is idle_timeout plus this plus the metrics' delay (about a minute)."
  type        = number
  default     = 5

  validation {
    condition     = var.control_plane_rate_minutes >= 1 && var.control_plane_rate_minutes <= 15 && floor(var.control_plane_rate_minutes) == var.control_plane_rate_minutes
    error_message = "control_plane_rate_minutes must be a whole number from 1 to 15."
  }
}

variable "idle_timeout" {
  description = "meetctl idle_timeout for the control plane: down after nobody was connected this long (15m, 30m, 1h, ...). Keep it equal to the CLI's."
  type        = string
  default     = "15m"

  validation {
    condition     = can(regex("^([0-9]+[smhd])+$", var.idle_timeout))
    error_message = "idle_timeout must be a span such as 15m, 1h or 1h30m."
  }
}

variable "max_uptime" {
  description = "meetctl max_uptime for the control plane: never up longer, even with people in it (e.g. 8h). Null: no cap."
  type        = string
  default     = null

  validation {
    condition     = var.max_uptime == null || can(regex("^([0-9]+[smhd])+$", var.max_uptime))
    error_message = "max_uptime must be null or a span such as 8h or 1d."
  }
}

variable "monthly_budget_usd" {
  description = "meetctl monthly_budget_usd for the control plane: down when this month's running cost reaches it. Null: no budget."
  type        = number
  default     = null

  validation {
    condition     = var.monthly_budget_usd == null || try(var.monthly_budget_usd > 0, false)
    error_message = "monthly_budget_usd must be null or a positive amount."
  }
}

variable "front_door_enabled" {
  description = "Deploy the front door (modules/front-door, wake on visit): while the platform sleeps the domain serves a page that starts it. Needs control_plane_enabled (its zip), a certificate (certificate_arn or create_certificate) and front_door_policy_file."
  type        = bool
  default     = false

  validation {
    condition     = !var.front_door_enabled || (var.control_plane_enabled && var.front_door_policy_file != null && (var.certificate_arn != null || var.create_certificate))
    error_message = "front_door_enabled = true needs control_plane_enabled = true, a certificate (certificate_arn or create_certificate) and front_door_policy_file (`meetctl iam-policy > front-door-policy.json`)."
  }
}

variable "front_door_policy_file" {
  description = "The output of `meetctl iam-policy` for this project: what the front door's function may do to run meetctl up. Only used when front_door_enabled = true."
  type        = string
  default     = null
}
