# Wake on visit (issue 13): while the platform sleeps, the meeting domain
# points at this front door, an API Gateway HTTP API on a custom domain (the
# domain's own name and ACM certificate) in front of a Lambda function built
# from the control plane's binary. It serves "This meeting server is asleep.
# Start it"; a click runs `meetctl up` in the function (an asynchronous
# invoke of itself) and the page follows its steps. `meetctl up` points the
# domain at the NLB, `meetctl down` back here.
#
# Cost while nobody visits: nothing. HTTP APIs and Lambda bill per request,
# the custom domain and the SSM parameter are free (`meetctl cost`).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name       = "${var.project_name}-front-door"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  # The function's own ARN, written out: referring to the resource from its
  # role's policy would be a cycle.
  function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.name}"

  environment = merge(
    {
      MEETCTL_PROJECT      = var.project_name
      MEETCTL_CLUSTER      = var.cluster_name
      MEETCTL_SERVICE      = var.service_name
      MEETCTL_DOMAIN       = var.domain_name
      MEETCTL_IDLE_TIMEOUT = var.idle_timeout
      MEETCTL_LOCK_TTL     = "960"
      # `up` adds the TLS listener with it, as the CLI does.
      MEETCTL_CERTIFICATE_ARN = var.certificate_arn
    },
    var.hosted_zone_id == null ? {} : { MEETCTL_HOSTED_ZONE_ID = var.hosted_zone_id },
    var.max_uptime == null ? {} : { MEETCTL_MAX_UPTIME = var.max_uptime },
    var.monthly_budget_usd == null ? {} : { MEETCTL_MONTHLY_BUDGET_USD = tostring(var.monthly_budget_usd) },
  )
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:No customer managed KMS key on purpose: a CMK bills $1/month while idle. CloudWatch Logs encrypts every log group at rest with AWS-owned keys anyway.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable: a few lines per visit; a year of them has no use.
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
}

# ---------------------------------------------------------------- function

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = local.name
  description        = "meetctl front door of ${var.project_name}: serves the wake-up page and runs meetctl up"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# `up`, `status` and `down` as the operator runs them: the policy
# `meetctl iam-policy` prints for this project (writes scoped to its names
# and tags).
resource "aws_iam_role_policy" "meetctl" {
  name   = "meetctl-operator"
  role   = aws_iam_role.function.id
  policy = var.policy_json
}

data "aws_iam_policy_document" "own" {
  # The POST starts `up` in a second, asynchronous invocation of itself.
  statement {
    sid       = "InvokeItselfAsynchronously"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arn]
  }

  statement {
    sid = "OwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
}

resource "aws_iam_role_policy" "own" {
  name   = "front-door-self-invoke-and-logs"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.own.json
}

resource "aws_lambda_function" "front_door" {
  #checkov:skip=CKV_AWS_50:No X-Ray tracing: it bills per trace.
  #checkov:skip=CKV_AWS_116:No dead-letter queue: a failed start is recorded in its progress parameter and shown on the page; the visitor clicks again.
  #checkov:skip=CKV_AWS_117:Not in the VPC on purpose: it only calls AWS APIs; inside the VPC it would need NAT or interface endpoints, which bill by the hour.
  #checkov:skip=CKV_AWS_173:The environment holds no secret (names, caps, the certificate ARN).
  #checkov:skip=CKV_AWS_272:No code signing: the zip is built from this repository by scripts/build-lambda.sh.
  #checkov:skip=CKV_AWS_115:No reserved concurrency: new accounts may have a concurrency quota of 10, which reservations cannot split; API Gateway's stage throttle caps the requests instead.
  function_name    = local.name
  description      = "meetctl front door of ${var.project_name}: the wake-up page on ${var.domain_name}"
  role             = aws_iam_role.function.arn
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = ["x86_64"]
  memory_size      = 256
  # The asynchronous invocation runs `up` (minutes); a page request takes
  # well under a second and API Gateway gives up after 30 s anyway.
  timeout = 900

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }
}

# An asynchronous start is not retried: a failed `up` records why, and a
# retry would run it again unasked.
resource "aws_lambda_function_event_invoke_config" "front_door" {
  function_name                = aws_lambda_function.front_door.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60
}

# ---------------------------------------------------------------- HTTP API

resource "aws_apigatewayv2_api" "front_door" {
  name          = local.name
  description   = "meetctl front door of ${var.project_name}"
  protocol_type = "HTTP"
  # Reachable through the custom domain only.
  disable_execute_api_endpoint = true
}

resource "aws_apigatewayv2_integration" "front_door" {
  api_id                 = aws_apigatewayv2_api.front_door.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.front_door.invoke_arn
  integration_method     = "POST"
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000
}

resource "aws_apigatewayv2_route" "default" {
  #checkov:skip=CKV_AWS_309:The page is public on purpose (a meeting link); starts are guarded by the optional passcode, a per-source rate limit and the stage throttle.
  api_id    = aws_apigatewayv2_api.front_door.id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.front_door.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  #checkov:skip=CKV_AWS_76:No access logs: the function logs every start; access logs would bill per request for crawler noise.
  api_id      = aws_apigatewayv2_api.front_door.id
  name        = "$default"
  auto_deploy = true

  # The stage-wide flood cap, whatever the sources.
  default_route_settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowFrontDoorApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.front_door.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.front_door.execution_arn}/*/*"
}

resource "aws_apigatewayv2_domain_name" "front_door" {
  domain_name = var.domain_name

  domain_name_configuration {
    certificate_arn = var.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }
}

resource "aws_apigatewayv2_api_mapping" "front_door" {
  api_id      = aws_apigatewayv2_api.front_door.id
  domain_name = aws_apigatewayv2_domain_name.front_door.id
  stage       = aws_apigatewayv2_stage.default.id
}

# How meetctl finds the front door (no API Gateway SDK needed): the alias
# target of the custom domain. Not a secret.
resource "aws_ssm_parameter" "front_door" {
  #checkov:skip=CKV2_AWS_34:Not a secret: a public DNS name and a hosted zone id.
  name        = "/${var.project_name}/meetctl/front-door"
  description = "meetctl front door: the custom domain's alias target (meetctl down points ${var.domain_name} here)"
  type        = "String"
  value = jsonencode({
    target_domain_name = aws_apigatewayv2_domain_name.front_door.domain_name_configuration[0].target_domain_name
    hosted_zone_id     = aws_apigatewayv2_domain_name.front_door.domain_name_configuration[0].hosted_zone_id
    api_id             = aws_apigatewayv2_api.front_door.id
  })
}
