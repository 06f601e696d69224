# DNS and TLS.
#
# Terraform owns only the (free) ACM certificate and its DNS validation
# records. The alias record <domain_name> -> load balancer is created by
# meetctl on `up` and deleted on `down`, because the load balancer it points
# to exists only while a meeting can happen.
#
# Three ways to get TLS at the NLB:
#   certificate_arn    = "arn:aws:acm:..."  an existing certificate
#   create_certificate = true (+ hosted_zone_id)  requested and DNS-validated here
#   neither            plain TCP 80 at the NLB (tests only: browsers refuse
#                      camera/microphone on a non-HTTPS origin)

resource "aws_acm_certificate" "this" {
  count = var.create_certificate ? 1 : 0

  domain_name       = var.domain_name
  validation_method = "DNS"

  tags = {
    Name = var.domain_name
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "certificate_validation" {
  for_each = var.create_certificate ? {
    for o in aws_acm_certificate.this[0].domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  } : {}

  zone_id         = var.hosted_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = var.create_certificate ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.certificate_validation : r.fqdn]
}

locals {
  # The certificate the TLS listener uses, or null for plain TCP 80.
  certificate_arn = var.certificate_arn != null ? var.certificate_arn : (
    var.create_certificate ? aws_acm_certificate_validation.this[0].certificate_arn : null
  )
}
