# SSM Parameter Store paths. Terraform only NAMES them; it creates none.
#
#   /<project>/jicofo_auth_password  SecureString  created by meetctl (CSPRNG)
#   /<project>/jvb_auth_password     SecureString  when missing, never overwritten
#   /<project>/turn_static_auth_secret SecureString  coturn's static-auth-secret and
#                                                  prosody's TURN_CREDENTIALS (turn.tf)
#   /<project>/jvb_advertise_ips     String        written by meetctl on every
#                                                  `up` (the EIP), deleted on `down`
#
# Keeping the values out of Terraform keeps every secret out of the state
# file. The task definition refers to them by ARN (container `secrets` with
# `valueFrom`); ECS resolves them when a task starts, i.e. only after
# `meetctl up` has made sure they exist. The execution role may read
# /<project>/* and nothing else (iam.tf). meetctl's lifecycle lock parameter
# lives under the same prefix.

locals {
  ssm_parameter_arn_prefix = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${var.project_name}"

  ssm_parameter_names = {
    jicofo_auth_password = "${local.ssm_parameter_prefix}jicofo_auth_password"
    jvb_auth_password    = "${local.ssm_parameter_prefix}jvb_auth_password"
    jvb_advertise_ips    = "${local.ssm_parameter_prefix}jvb_advertise_ips"
    turn_secret          = "${local.ssm_parameter_prefix}turn_static_auth_secret"
  }

  ssm_parameter_arns = {
    for key, name in local.ssm_parameter_names :
    key => "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${name}"
  }
}
