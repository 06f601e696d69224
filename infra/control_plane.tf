# Optional control plane (issue 12): a Lambda function that takes the
# platform down by itself when nobody is connected for idle_timeout, past
# max_uptime, or when the month's cost reaches monthly_budget_usd. Off by
# default. To turn it on:
#   bash scripts/build-lambda.sh        # target/lambda/meetctl-control.zip
#   terraform apply -var control_plane_enabled=true \
#     -var control_plane_zip=../target/lambda/meetctl-control.zip
# Its schedule is created DISABLED; `meetctl up` enables it, `meetctl down`
# disables it. Cost at idle: nothing (see `meetctl cost`).

module "control_plane" {
  source = "./modules/control-plane"
  count  = var.control_plane_enabled ? 1 : 0

  project_name          = var.project_name
  zip_path              = var.control_plane_zip
  cluster_name          = local.cluster_name
  service_name          = local.service_name
  domain_name           = var.domain_name
  hosted_zone_id        = var.hosted_zone_id
  idle_timeout          = var.idle_timeout
  max_uptime            = var.max_uptime
  monthly_budget_usd    = var.monthly_budget_usd
  schedule_rate_minutes = var.control_plane_rate_minutes
  log_retention_days    = var.log_retention_days
}

# Optional front door (issue 13, wake on visit): while the platform sleeps,
# the domain serves "This meeting server is asleep. Start it". Needs the
# control plane's zip, a certificate, and the operator policy for this
# project:
#   meetctl iam-policy > front-door-policy.json
#   terraform apply -var control_plane_enabled=true -var front_door_enabled=true \
#     -var control_plane_zip=../target/lambda/meetctl-control.zip \
#     -var front_door_policy_file=front-door-policy.json
#   meetctl down     # points the domain at the front door
# Cost while nobody visits: nothing (see `meetctl cost`).

module "front_door" {
  source = "./modules/front-door"
  count  = var.front_door_enabled ? 1 : 0

  project_name       = var.project_name
  zip_path           = var.control_plane_zip
  domain_name        = var.domain_name
  certificate_arn    = local.certificate_arn
  cluster_name       = local.cluster_name
  service_name       = local.service_name
  hosted_zone_id     = var.hosted_zone_id
  idle_timeout       = var.idle_timeout
  max_uptime         = var.max_uptime
  monthly_budget_usd = var.monthly_budget_usd
  policy_json        = file(var.front_door_policy_file)
  log_retention_days = var.log_retention_days
}
