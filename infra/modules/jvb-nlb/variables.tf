variable "project_name" {
  description = "Project name: prefix of the load balancer (<project>-nlb) and target group (<project>-jvb, <project>-web) names, and the Project tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,26}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-28 lowercase letters, digits and hyphens (\"<project>-nlb\" must fit the 32-character load balancer name limit)."
  }
}

variable "vpc_id" {
  description = "VPC of the target groups (the VPC of the ECS task)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id like vpc-0123456789abcdef0."
  }
}

variable "subnet_id" {
  description = "The ONE public subnet of the load balancer's subnet mapping. The ECS task must run in the same subnet/AZ."
  type        = string

  validation {
    condition     = can(regex("^subnet-[0-9a-f]{8,17}$", var.subnet_id))
    error_message = "subnet_id must be a subnet id like subnet-0123456789abcdef0."
  }
}

variable "eip_allocation_id" {
  description = "Optional Elastic IP allocation id for the subnet mapping, so the load balancer's public address is known in advance (JVB_ADVERTISE_IPS). Null lets AWS pick one."
  type        = string
  default     = null

  validation {
    condition     = var.eip_allocation_id == null || can(regex("^eipalloc-[0-9a-f]{8,17}$", var.eip_allocation_id))
    error_message = "eip_allocation_id must be null or an allocation id like eipalloc-0123456789abcdef0."
  }
}

variable "tls_enabled" {
  description = "Terminate TLS on 443 with certificate_arn (true), or forward plain TCP 80 (false; tests only). A separate flag because a certificate created in the same apply has an ARN unknown at plan time."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the TLS 443 listener. Required when tls_enabled = true."
  type        = string
  default     = null

  validation {
    condition     = !var.tls_enabled || var.certificate_arn != null
    error_message = "tls_enabled = true needs certificate_arn."
  }
}

variable "ssl_policy" {
  description = "ELB security policy of the TLS listener (TLS 1.2 and 1.3 only by default)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)", var.ssl_policy))
    error_message = "ssl_policy must be an ELB security policy that allows no protocol older than TLS 1.2."
  }
}

variable "jvb_port" {
  description = "UDP port of the JVB media listener and target group."
  type        = number
  default     = 10000

  validation {
    condition     = var.jvb_port >= 1024 && var.jvb_port <= 65535 && floor(var.jvb_port) == var.jvb_port
    error_message = "jvb_port must be an integer between 1024 and 65535."
  }
}

variable "deregistration_delay" {
  description = "Seconds a deregistered target keeps draining. Short, so `down` is quick: when the task stops, the meeting is over anyway."
  type        = number
  default     = 30

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "tags" {
  description = "Extra tags for every resource of the module. Project, ManagedBy and Lifecycle are always set."
  type        = map(string)
  default     = {}
}

variable "turn_port" {
  description = "coturn's plain TCP port in the task (target group port), and the NLB's TURN port without a certificate."
  type        = number
  default     = 3478
}

variable "turns_port" {
  description = "The NLB's TURNS (TLS) port when a certificate is configured."
  type        = number
  default     = 5349
}
