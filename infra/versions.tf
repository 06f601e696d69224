# Terraform and provider requirements.
#
# Only hashicorp/aws: `terraform init` must work fully offline from the
# filesystem mirror at /opt/tf-plugins (see scripts/tf-cli.tfrc). Names that
# must be unique use the account id and region instead of a random suffix, so
# there is no hashicorp/random provider.
#
# >= 1.9 because variable validations refer to other variables
# (capacity_provider vs cpu_architecture, task_cpu vs task_memory, TLS inputs).
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
