variable "project_name" {
  description = "Project name; the function, role, API and log group are named <project>-front-door."
  type        = string
}

variable "zip_path" {
  description = "The control plane's Lambda zip (scripts/build-lambda.sh): the same binary serves the front door."
  type        = string
}

variable "domain_name" {
  description = "The meeting domain; the API's custom domain, whose A alias meetctl points here while the platform sleeps."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the domain in this region (the same the NLB's TLS listener uses)."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster of the Jitsi service."
  type        = string
}

variable "service_name" {
  description = "ECS service `up` scales to 1."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route53 zone of the domain (MEETCTL_HOSTED_ZONE_ID of the function)."
  type        = string
  default     = null
}

variable "idle_timeout" {
  description = "meetctl idle_timeout (the function runs `up`, which starts the idle clock)."
  type        = string
}

variable "max_uptime" {
  description = "meetctl max_uptime, or null."
  type        = string
  default     = null
}

variable "monthly_budget_usd" {
  description = "meetctl monthly_budget_usd, or null: a start over budget is refused and the page says why."
  type        = number
  default     = null
}

variable "policy_json" {
  description = "What the function may do to run `up`: the output of `meetctl iam-policy` for this project (the operator's least-privilege policy)."
  type        = string
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady requests per second (API Gateway throttle): the cap on a flood, whatever its sources."
  type        = number
  default     = 5
}

variable "throttling_burst_limit" {
  description = "Stage-wide burst of requests (API Gateway throttle)."
  type        = number
  default     = 20
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
}
