# `terraform test` (offline: the AWS provider is mocked, nothing is created).
# The optional control plane: off by default; on, a function with the
# configuration meetctl reads; refused with the Terraform-managed NLB, whose
# removal the function cannot run.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  domain_name = "meet.example.org"
}

run "off_by_default" {
  command = plan

  assert {
    condition     = length(module.control_plane) == 0
    error_message = "the control plane must be off unless control_plane_enabled = true"
  }
}

run "on_passes_the_caps_to_the_function" {
  command = plan

  variables {
    control_plane_enabled = true
    # Any file will do for a plan: the provider is mocked.
    control_plane_zip  = "tests/control_plane.tftest.hcl"
    idle_timeout       = "20m"
    max_uptime         = "8h"
    monthly_budget_usd = 30
  }

  assert {
    condition = module.control_plane[0].environment == {
      MEETCTL_PROJECT            = "jitsi-video-platform"
      MEETCTL_CLUSTER            = "jitsi-video-platform-cluster"
      MEETCTL_SERVICE            = "jitsi-video-platform-service"
      MEETCTL_DOMAIN             = "meet.example.org"
      MEETCTL_IDLE_TIMEOUT       = "20m"
      MEETCTL_LOCK_TTL           = "960"
      MEETCTL_MAX_UPTIME         = "8h"
      MEETCTL_MONTHLY_BUDGET_USD = "30"
    }
    error_message = "the function must read the same caps as the CLI"
  }
}

run "refused_with_the_terraform_managed_nlb" {
  command = plan

  variables {
    control_plane_enabled = true
    control_plane_zip     = "tests/control_plane.tftest.hcl"
    nlb_enabled           = true
  }

  expect_failures = [var.control_plane_enabled]
}
