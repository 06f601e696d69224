variable "project_name" {
  description = "Project name; the function, roles, log group and schedule are named <project>-control."
  type        = string
}

variable "zip_path" {
  description = "Path of the Lambda zip scripts/build-lambda.sh builds (target/lambda/meetctl-control.zip, holding `bootstrap`)."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster of the Jitsi service."
  type        = string
}

variable "service_name" {
  description = "ECS service the control plane scales to 0."
  type        = string
}

variable "domain_name" {
  description = "The meeting site's host name (MEETCTL_DOMAIN of the function)."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route53 zone of the domain's alias record, or null when DNS is not managed by meetctl."
  type        = string
  default     = null
}

variable "idle_timeout" {
  description = "meetctl idle_timeout: down after nobody was connected this long."
  type        = string
}

variable "max_uptime" {
  description = "meetctl max_uptime, or null for no cap."
  type        = string
  default     = null
}

variable "monthly_budget_usd" {
  description = "meetctl monthly_budget_usd, or null for no budget."
  type        = number
  default     = null
}

variable "schedule_rate_minutes" {
  description = "How often the schedule invokes the function while the platform is up."
  type        = number
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
}
