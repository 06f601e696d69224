# IAM: two roles for the Jitsi task, each with an inline least-privilege
# policy and nothing else.
#
#   execution role - used by ECS/Fargate to start the task: pull images, write
#                    container logs, resolve the task's `secrets` from SSM
#                    (/<project>/* only).
#   task role      - used by the containers: the recordings bucket, Prosody's
#                    EFS data through its access point, and the ssmmessages
#                    channels ECS Exec needs.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    sid     = "EcsTasksAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy guard: only ECS acting for this account.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ------------------------------------------------------------ execution role

resource "aws_iam_role" "execution" {
  name               = local.execution_role_name
  description        = "ECS task execution role of ${var.project_name}: image pull, container logs, SSM /${var.project_name}/* secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  # The jitsi/* images come from Docker Hub, which needs no IAM at all. These
  # two statements let an operator mirror them into this account's ECR (to
  # avoid Docker Hub rate limits) without touching IAM.
  statement {
    sid = "EcrAuthToken"
    # GetAuthorizationToken has no resource-level permissions.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPullFromThisAccount"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = ["arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/*"]
  }

  statement {
    sid = "ContainerAndServiceConnectLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # Container `secrets` (valueFrom) are resolved with ssm:GetParameters by
  # the execution role. SecureStrings use the AWS managed key aws/ssm, whose
  # key policy already allows decryption through SSM for this account, so no
  # kms:Decrypt statement is needed.
  statement {
    sid       = "ProjectSecretsOnly"
    actions   = ["ssm:GetParameters"]
    resources = ["${local.ssm_parameter_arn_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.project_name}-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# ----------------------------------------------------------------- task role

resource "aws_iam_role" "task" {
  name               = local.task_role_name
  description        = "ECS task role of ${var.project_name}: recordings bucket, Prosody's EFS data, ECS Exec channels"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid = "RecordingsBucket"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
    ]
    resources = [aws_s3_bucket.recordings.arn]
  }

  statement {
    sid = "RecordingsObjects"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = ["${aws_s3_bucket.recordings.arn}/*"]
  }

  # Mounting the prosody-data volume with IAM authorization (ecs.tf): the
  # mount and every write are made as this role, through the access point
  # only (the file system policy in efs.tf says the same from its side).
  statement {
    sid = "ProsodyDataThroughTheAccessPoint"
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]
    resources = [aws_efs_file_system.prosody.arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.prosody.arn]
    }
  }

  # ECS Exec: the SSM agent inside the task opens its channels through
  # ssmmessages, whose actions have no resource-level permissions.
  dynamic "statement" {
    for_each = var.enable_execute_command ? [1] : []
    content {
      sid = "EcsExecChannels"
      actions = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      resources = ["*"]
    }
  }

  # ECS Exec session logging to the project's log group (cluster
  # execute_command_configuration, ecs.tf). The agent checks the group exists
  # with DescribeLogGroups, which cannot be scoped to one group.
  dynamic "statement" {
    for_each = var.enable_execute_command ? [1] : []
    content {
      sid       = "EcsExecLogGroupLookup"
      actions   = ["logs:DescribeLogGroups"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.enable_execute_command ? [1] : []
    content {
      sid = "EcsExecSessionLogs"
      actions = [
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
      ]
      resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "${var.project_name}-task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
