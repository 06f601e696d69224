# Storage that is free (or cents) while idle: one log group and the
# recordings bucket. Neither uses a customer managed KMS key: a CMK bills
# $1/month even when nothing runs, which is the opposite of scale-to-zero.

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:No customer managed KMS key on purpose: a CMK bills $1/month while idle. CloudWatch Logs encrypts every log group at rest with AWS-owned keys anyway.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (default 14 days): these are debug logs of short meetings, and keeping a year of them costs storage for no benefit. Operators who need a year set 365.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days

  tags = {
    Name = local.log_group_name
  }
}

# ---------------------------------------------------------------- recordings

resource "aws_s3_bucket" "recordings" {
  #checkov:skip=CKV_AWS_18:No server access logging: it would need a second bucket and logs of its own for a bucket only the task role writes to; CloudTrail data events are the option if an audit trail is needed.
  #checkov:skip=CKV_AWS_144:No cross-region replication: it doubles storage and transfer cost for meeting recordings, which are not critical data in this project.
  #checkov:skip=CKV2_AWS_62:No event notifications: nothing consumes recording events in this project.
  bucket = local.recordings_bucket_name

  # A bucket with recordings in it must not vanish on `terraform destroy`;
  # empty it deliberately first.
  force_destroy = false

  tags = {
    Name = local.recordings_bucket_name
  }
}

resource "aws_s3_bucket_ownership_controls" "recordings" {
  bucket = aws_s3_bucket.recordings.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "recordings" {
  bucket = aws_s3_bucket.recordings.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "recordings" {
  bucket = aws_s3_bucket.recordings.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-KMS with the AWS managed key aws/s3 (no CMK, so no monthly key fee);
# the bucket key keeps KMS request charges negligible.
resource "aws_s3_bucket_server_side_encryption_configuration" "recordings" {
  bucket = aws_s3_bucket.recordings.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "recordings" {
  bucket = aws_s3_bucket.recordings.id

  rule {
    id     = "tidy"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    # Versioning protects against accidental overwrite/delete; old versions
    # are kept for 30 days, not forever.
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  depends_on = [aws_s3_bucket_versioning.recordings]
}

data "aws_iam_policy_document" "recordings_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.recordings.arn,
      "${aws_s3_bucket.recordings.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "recordings" {
  bucket = aws_s3_bucket.recordings.id
  policy = data.aws_iam_policy_document.recordings_bucket.json

  # A bucket policy cannot be put while Block Public Access is still being
  # set up on a new bucket.
  depends_on = [aws_s3_bucket_public_access_block.recordings]
}
