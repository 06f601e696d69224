# Prosody's data on EFS, so that it survives `meetctl down`/`up`: the
# accounts of a secured domain, rosters, persistent MUC state. Without it every
# new task starts with an empty /config/data.
#
# Idle cost: EFS Standard storage only ($0.30/GB-month in us-east-1; Prosody's
# data is kilobytes to a few MB). Bursting throughput, mount targets, the
# access point and the policy are free; there is no minimum fee.
#
#   file system   encrypted at rest with the AWS managed key (no CMK fee)
#   mount targets one per public subnet (a task mounts in its own AZ), behind
#                 a security group that admits NFS (TCP 2049) from the task's
#                 security group only
#   access point  /prosody-data, owned by and entered as Prosody's uid/gid
#   policy        TLS only; mount and write only through the access point and
#                 only for the task role (the task definition mounts with IAM
#                 authorization, iam.tf grants the role ClientMount/ClientWrite)

locals {
  prosody_data_volume = "prosody-data"

  # The prosody user of the jitsi/prosody image (created by the Debian prosody
  # package, uid 101 / gid 102 in the docker-jitsi-meet images: jitsi/handbook
  # PR #403 and docker-jitsi-meet issue #1448, whose fix for a root-owned
  # /config was `chown -R 101:102`). The image's start script runs
  # `chown -R prosody /config` as root; through the access point every
  # operation is done as this uid/gid, so the data stays owned by prosody.
  prosody_uid = 101
  prosody_gid = 102
}

resource "aws_efs_file_system" "prosody" {
  #checkov:skip=CKV_AWS_184:Encrypted at rest with the AWS managed key aws/elasticfilesystem; a customer managed KMS key would bill $1/month while idle, the opposite of scale-to-zero.
  #checkov:skip=CKV2_AWS_18:No AWS Backup plan: the data is Prosody's accounts and rosters, which an operator re-creates with prosodyctl; a backup plan bills per GB-month and per restore. Add aws_efs_backup_policy (status ENABLED) when the accounts matter more than that.
  creation_token   = "${var.project_name}-prosody"
  encrypted        = true
  performance_mode = "generalPurpose"
  throughput_mode  = "bursting"

  tags = {
    Name = "${var.project_name}-prosody"
  }
}

resource "aws_security_group" "efs" {
  name        = "${var.project_name}-efs"
  description = "EFS mount targets of Prosody's data: NFS (TCP 2049) from the task security group only"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${var.project_name}-efs"
  }
}

resource "aws_vpc_security_group_ingress_rule" "efs_nfs_from_task" {
  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from the Jitsi task only"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_efs_mount_target" "prosody" {
  count = length(aws_subnet.public)

  file_system_id  = aws_efs_file_system.prosody.id
  subnet_id       = aws_subnet.public[count.index].id
  security_groups = [aws_security_group.efs.id]
}

resource "aws_efs_access_point" "prosody" {
  file_system_id = aws_efs_file_system.prosody.id

  posix_user {
    uid = local.prosody_uid
    gid = local.prosody_gid
  }

  root_directory {
    path = "/prosody-data"

    creation_info {
      owner_uid   = local.prosody_uid
      owner_gid   = local.prosody_gid
      permissions = "750"
    }
  }

  tags = {
    Name = "${var.project_name}-prosody"
  }
}

data "aws_iam_policy_document" "efs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.prosody.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid = "TaskRoleThroughTheAccessPoint"
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]
    resources = [aws_efs_file_system.prosody.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.prosody.arn]
    }
  }
}

resource "aws_efs_file_system_policy" "prosody" {
  file_system_id = aws_efs_file_system.prosody.id
  policy         = data.aws_iam_policy_document.efs.json
}
