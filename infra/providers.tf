# The AWS provider.
#
# Everything below default_tags exists for ONE reason: the same configuration
# must be appliable to a local AWS emulator (moto_server on loopback) for the
# demo and the test harness, without a second copy of the code. When
# var.aws_endpoint_url is null -- the default, real AWS -- none of it applies:
# no endpoint override, credentials and account id are checked normally, the
# metadata API may be used and S3 uses virtual-hosted addressing. Keep every
# emulator-only switch here, behind local.use_emulator.

locals {
  use_emulator = var.aws_endpoint_url != null
}

provider "aws" {
  region = var.aws_region

  # Tags on every taggable resource. meetctl finds the subnets and the
  # security group by Project; ManagedBy tells them apart from what meetctl
  # itself creates (ManagedBy=meetctl, Lifecycle=on-demand).
  default_tags {
    tags = {
      Project   = var.project_name
      ManagedBy = "terraform"
    }
  }

  # Emulator only (null => provider default, i.e. the real AWS behaviour).
  skip_credentials_validation = local.use_emulator ? true : null
  skip_requesting_account_id  = local.use_emulator ? true : null
  skip_metadata_api_check     = local.use_emulator ? true : null
  s3_use_path_style           = local.use_emulator ? true : null

  dynamic "endpoints" {
    for_each = local.use_emulator ? [var.aws_endpoint_url] : []
    content {
      acm              = endpoints.value
      apigatewayv2     = endpoints.value
      cloudwatch       = endpoints.value
      ec2              = endpoints.value
      ecs              = endpoints.value
      efs              = endpoints.value
      elbv2            = endpoints.value
      iam              = endpoints.value
      lambda           = endpoints.value
      logs             = endpoints.value
      route53          = endpoints.value
      s3               = endpoints.value
      scheduler        = endpoints.value
      servicediscovery = endpoints.value
      ssm              = endpoints.value
      sts              = endpoints.value
    }
  }
}
