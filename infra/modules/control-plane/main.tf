# The control plane (issue 12): a Lambda function built from meetctl's own
# library (the `meetctl-control` binary, zipped as `bootstrap` by
# scripts/build-lambda.sh), invoked by an EventBridge Scheduler schedule
# every few minutes while the platform is up. The schedule is created
# DISABLED; `meetctl up` enables it and `meetctl down` disables it, so at idle
# nothing is invoked and nothing bills: Lambda and Scheduler charge per
# invocation, the log group per GB stored.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name       = "${var.project_name}-control"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  log_group  = "/aws/lambda/${local.name}"

  # The function's configuration, read by meetctl exactly like the CLI's
  # MEETCTL_* environment. lock_ttl just above the function's timeout: a
  # killed invocation's lock is taken over by the next tick after that.
  environment = merge(
    {
      MEETCTL_PROJECT      = var.project_name
      MEETCTL_CLUSTER      = var.cluster_name
      MEETCTL_SERVICE      = var.service_name
      MEETCTL_DOMAIN       = var.domain_name
      MEETCTL_IDLE_TIMEOUT = var.idle_timeout
      MEETCTL_LOCK_TTL     = "960"
    },
    var.hosted_zone_id == null ? {} : { MEETCTL_HOSTED_ZONE_ID = var.hosted_zone_id },
    var.max_uptime == null ? {} : { MEETCTL_MAX_UPTIME = var.max_uptime },
    var.monthly_budget_usd == null ? {} : { MEETCTL_MONTHLY_BUDGET_USD = tostring(var.monthly_budget_usd) },
  )
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:No customer managed KMS key on purpose: a CMK bills $1/month while idle. CloudWatch Logs encrypts every log group at rest with AWS-owned keys anyway.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days): a few lines per tick while a meeting runs; a year of them has no use.
  name              = local.log_group
  retention_in_days = var.log_retention_days

  tags = {
    Name = local.log_group
  }
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
  description        = "meetctl control plane of ${var.project_name}: reads the NLB metrics and runs meetctl down (policy: function-policy.tf)"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "function" {
  name   = "meetctl-down-and-metrics"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_lambda_function" "control" {
  #checkov:skip=CKV_AWS_50:No X-Ray tracing: it bills per trace, and a tick is a handful of API calls whose outcome is logged.
  #checkov:skip=CKV_AWS_116:No dead-letter queue: the schedule invokes the function again a few minutes later, which is the retry; a queue would be one more thing billing and nobody reading it.
  #checkov:skip=CKV_AWS_117:Not in the VPC on purpose: it only calls AWS APIs, and inside the VPC it would need NAT or interface endpoints, which bill by the hour.
  #checkov:skip=CKV_AWS_173:The environment holds no secret (project, names, caps); AWS encrypts it at rest with an AWS-owned key. A customer managed key bills $1/month while idle.
  #checkov:skip=CKV_AWS_272:No code signing: the zip is built from this repository by scripts/build-lambda.sh and deployed by the same operator.
  function_name    = local.name
  description      = "meetctl control plane: idle auto-shutdown, max_uptime and monthly budget of ${var.project_name}"
  role             = aws_iam_role.function.arn
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = ["x86_64"]
  memory_size      = 128
  # A `down` waits for the load balancer and its address to go; the maximum
  # Lambda allows, so it is never cut short (a cut one resumes next tick).
  timeout = 900
  # One tick at a time; an overlapping one would only wait for the lock.
  reserved_concurrent_executions = 1

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  tags = {
    Name = local.name
  }
}

# ---------------------------------------------------------------- schedule

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.name}-scheduler"
  description        = "EventBridge Scheduler invoking ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeTheControlFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.control.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-${local.name}"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "control" {
  #checkov:skip=CKV_AWS_297:No customer managed KMS key: a CMK bills $1/month while idle, and the schedule holds no secret (a rate and the function's ARN); EventBridge Scheduler encrypts it with an AWS-owned key.
  name        = local.name
  description = "meetctl control plane of ${var.project_name}: enabled by meetctl up, disabled by meetctl down"
  # meetctl up/down switch it; Terraform creates it off and leaves the switch alone.
  state                        = "DISABLED"
  schedule_expression          = "rate(${var.schedule_rate_minutes} minutes)"
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.control.arn
    role_arn = aws_iam_role.scheduler.arn

    # A missed tick is replaced by the next one: no point retrying old ones.
    retry_policy {
      maximum_event_age_in_seconds = 300
      maximum_retry_attempts       = 0
    }
  }

  lifecycle {
    ignore_changes = [state]
  }
}
