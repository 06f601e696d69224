terraform {
  # >= 1.9: the tls_enabled validation refers to certificate_arn.
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
