# Shared facts and names. Each other file holds one concern:
#   network.tf  VPC, public subnets, internet gateway, routes
#   security.tf the task's security group and the locked-down default SG
#   ecs.tf      cluster, capacity providers, Service Connect namespace,
#               task definition, service (desired 0)
#   iam.tf      task execution role and task role
#   storage.tf  log group and recordings bucket
#   efs.tf      Prosody's data on EFS (encrypted, access point, mount targets)
#   dns.tf      optional ACM certificate with Route53 DNS validation
#   ssm.tf      the SSM parameter names (Terraform never creates the values)
#   nlb.tf      the optional Terraform-managed NLB (module jvb-nlb)
#   turn.tf     coturn (TURN over TLS for UDP-blocked participants)
#   outputs.tf  what meetctl reads

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The two AZs of the public subnets: var.availability_zones if given, else the
# first two regular AZs of the region in name order. New AZs get the next
# letter, so they sort after the existing ones and never change this choice.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two names (sorted) are used, and a newly added AZ sorts after the existing ones, so the selection cannot silently grow or shift; operators who want an explicit allowlist set var.availability_zones. A zone-name filter here would need hard-coded per-region names.
  # No `state` filter on purpose: an AZ that is impaired for a while must
  # not shift the list and make Terraform replace the subnets.

  # Regular AZs only: never a Local/Wavelength Zone, which lack Fargate.
  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }

  # Fargate does not run in use1-az3 (us-east-1); harmless elsewhere.
  exclude_zone_ids = ["use1-az3"]
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region

  availability_zones = var.availability_zones != null ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 2)

  # Names meetctl and the test harness rely on.
  cluster_name         = "${var.project_name}-cluster"
  service_name         = "${var.project_name}-service"
  task_family          = var.project_name
  security_group_name  = "${var.project_name}-task"
  namespace_name       = "${var.project_name}.local"
  log_group_name       = "/ecs/${var.project_name}"
  execution_role_name  = "${var.project_name}-execution"
  task_role_name       = "${var.project_name}-task"
  ssm_parameter_prefix = "/${var.project_name}/"

  # Globally unique without a random suffix: account id + region.
  # Longest case: 28 + 5 + 12 + 1 + 14 = 60 <= 63 characters.
  recordings_bucket_name = "${var.project_name}-rec-${local.account_id}-${local.region}"

  public_url = "https://${var.domain_name}"

  # TLS at the NLB when a certificate is given or created. Known at plan time
  # (unlike the ARN of a certificate created in the same run), so it can drive
  # count in the module.
  tls_enabled = var.certificate_arn != null || var.create_certificate
}
