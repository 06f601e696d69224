# The function's permissions: exactly the calls of one tick, that is the
# metric reads and `meetctl down` (lock, teardown, sweep, session, history,
# schedule). tests/control_plane.rs runs a tick that takes a platform down
# and checks that the actions it called are the actions listed here, no more
# and no fewer (sts:GetCallerIdentity needs no permission).

locals {
  arn_prefix = "arn:${local.partition}"
  elb_prefix = "${local.arn_prefix}:elasticloadbalancing:${local.region}:${local.account_id}"
}

data "aws_iam_policy_document" "function" {
  # Reads without resource-level permissions (the service authorization
  # reference lists no resource type for them): "*" is the only choice.
  statement {
    sid = "ReadWhatExists"
    actions = [
      "cloudwatch:GetMetricStatistics",
      "ec2:DescribeAddresses",
      "ecs:DescribeTaskDefinition",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }

  statement {
    sid = "TheService"
    actions = [
      "ecs:DescribeServices",
      "ecs:UpdateService",
    ]
    resources = ["${local.arn_prefix}:ecs:${local.region}:${local.account_id}:service/${var.cluster_name}/${var.service_name}"]
  }

  statement {
    sid = "TheServiceTasks"
    actions = [
      "ecs:DescribeTasks",
      "ecs:ListTasks",
    ]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = ["${local.arn_prefix}:ecs:${local.region}:${local.account_id}:cluster/${var.cluster_name}"]
    }
  }

  # Only the project's own load balancer and target groups (their names
  # derive from the project, as meetctl names them). Its listeners go with
  # the load balancer: DeleteListener is never called.
  statement {
    sid = "RemoveTheLoadBalancer"
    actions = [
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:DeleteTargetGroup",
    ]
    resources = [
      "${local.elb_prefix}:loadbalancer/net/${var.project_name}-nlb/*",
      "${local.elb_prefix}:targetgroup/${var.project_name}-*/*",
    ]
  }

  # Only Elastic IPs tagged for the project's on-demand part.
  statement {
    sid       = "ReleaseTheAddress"
    actions   = ["ec2:ReleaseAddress"]
    resources = ["${local.arn_prefix}:ec2:${local.region}:${local.account_id}:elastic-ip/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project_name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Lifecycle"
      values   = ["on-demand"]
    }
  }

  # The lock, the advertise address, the session and the history.
  statement {
    sid = "ProjectParameters"
    actions = [
      "ssm:AddTagsToResource",
      "ssm:DeleteParameter",
      "ssm:GetParameter",
      "ssm:PutParameter",
    ]
    resources = ["${local.arn_prefix}:ssm:${local.region}:${local.account_id}:parameter/${var.project_name}/*"]
  }

  statement {
    sid = "SwitchTheSchedule"
    actions = [
      "scheduler:GetSchedule",
      "scheduler:UpdateSchedule",
    ]
    resources = ["${local.arn_prefix}:scheduler:${local.region}:${local.account_id}:schedule/default/${local.name}"]
  }

  # UpdateSchedule sends the schedule's target role back, which needs PassRole.
  statement {
    sid       = "PassTheSchedulerRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.scheduler.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["scheduler.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = var.hosted_zone_id == null ? [] : [var.hosted_zone_id]
    content {
      sid = "TheAliasRecord"
      actions = [
        "route53:ChangeResourceRecordSets",
        "route53:ListResourceRecordSets",
      ]
      resources = ["${local.arn_prefix}:route53:::hostedzone/${statement.value}"]
    }
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
