# `terraform test` (offline: the AWS provider is mocked, nothing is created).
# var.auth sets the authentication variables on the containers that read
# them in docker-jitsi-meet (see ecs.tf), and nothing for "none".

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  domain_name = "meet.example.org"
}

run "auth_none_keeps_anonymous_rooms" {
  command = plan

  assert {
    condition = {
      for c in jsondecode(aws_ecs_task_definition.this.container_definitions) : c.name => join(",", sort([
        for e in try(c.environment, []) : "${e.name}=${e.value}" if contains(["ENABLE_AUTH", "AUTH_TYPE", "ENABLE_GUESTS"], e.name)
      ]))
      } == {
      web     = ""
      prosody = "ENABLE_AUTH=0"
      jicofo  = ""
      jvb     = ""
      coturn  = ""
    }
    error_message = "auth = none must leave prosody anonymous (ENABLE_AUTH=0) and set nothing else"
  }
}

run "auth_internal_sets_the_secure_domain" {
  command = plan

  variables {
    auth = "internal"
  }

  assert {
    condition = {
      for c in jsondecode(aws_ecs_task_definition.this.container_definitions) : c.name => join(",", sort([
        for e in try(c.environment, []) : "${e.name}=${e.value}" if contains(["ENABLE_AUTH", "AUTH_TYPE", "ENABLE_GUESTS"], e.name)
      ]))
      } == {
      web     = "ENABLE_AUTH=1,ENABLE_GUESTS=1"
      prosody = "AUTH_TYPE=internal,ENABLE_AUTH=1,ENABLE_GUESTS=1"
      jicofo  = "AUTH_TYPE=internal,ENABLE_AUTH=1"
      jvb     = ""
      coturn  = ""
    }
    error_message = "auth = internal must set ENABLE_AUTH/AUTH_TYPE/ENABLE_GUESTS as docker-jitsi-meet's containers read them"
  }

  assert {
    condition     = output.auth == "internal"
    error_message = "the auth output feeds `meetctl config import-terraform`"
  }
}

run "auth_rejects_unknown_modes" {
  command = plan

  variables {
    auth = "jwt"
  }

  expect_failures = [var.auth]
}

run "auth_internal_needs_ecs_exec" {
  command = plan

  variables {
    auth                   = "internal"
    enable_execute_command = false
  }

  expect_failures = [var.auth]
}
