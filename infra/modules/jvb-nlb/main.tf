# Network load balancer for Jitsi: UDP 10000 media to the JVB, TLS 443
# (or TCP 80 without a certificate) to the web container, and TURN (TLS 5349,
# or TCP 3478 without a certificate) to coturn, all to the ECS task's private
# IP (IP targets). The same shape meetctl builds on `up`, with
# the same names and the same Lifecycle tag, so status/cost/sweep treat both
# alike.

locals {
  tags = merge(var.tags, {
    Project   = var.project_name
    ManagedBy = "terraform"
    Lifecycle = "on-demand"
  })
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:No access logs: they need an S3 bucket with a policy for the ELB log delivery and bill per GB, for a load balancer that lives only for the length of a meeting.
  #checkov:skip=CKV2_AWS_20:A network load balancer works at layer 4 and cannot answer with an HTTP redirect. With a certificate there is no port-80 listener at all (TLS 443 only); the plain TCP 80 listener exists only when no certificate is configured (test mode).
  #checkov:skip=CKV_AWS_150:No deletion protection on purpose: this load balancer is on-demand and is deleted at the end of every meeting.
  name               = "${var.project_name}-nlb"
  load_balancer_type = "network"
  internal           = false
  ip_address_type    = "ipv4"

  # One subnet mapping only (one AZ, one address to advertise), so this has
  # no effect on traffic; enabled for the day a second mapping is added.
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = false

  subnet_mapping {
    subnet_id     = var.subnet_id
    allocation_id = var.eip_allocation_id
  }

  tags = merge(local.tags, { Name = "${var.project_name}-nlb" })
}

# UDP media -> JVB. Health via HTTP on the JVB's 8080 (a UDP target group
# needs a TCP or HTTP health check). The client address is preserved for
# UDP IP targets, hence UDP 10000 open to the world in the task's SG.
resource "aws_lb_target_group" "jvb" {
  name                 = "${var.project_name}-jvb"
  port                 = var.jvb_port
  protocol             = "UDP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "8080"
    path                = "/about/health"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = merge(local.tags, { Name = "${var.project_name}-jvb" })
}

# TLS-terminated (or plain) HTTP -> nginx in the web container. Without
# client IP preservation the task sees the NLB's private address, which is
# why the task's SG allows 80 from the VPC CIDR only.
resource "aws_lb_target_group" "web" {
  name                 = "${var.project_name}-web"
  port                 = 80
  protocol             = "TCP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay
  preserve_client_ip   = "false"

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = "traffic-port"
    path                = "/"
    matcher             = "200-399"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = merge(local.tags, { Name = "${var.project_name}-web" })
}

resource "aws_lb_listener" "jvb_udp" {
  load_balancer_arn = aws_lb.this.arn
  port              = var.jvb_port
  protocol          = "UDP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.jvb.arn
  }

  tags = local.tags
}

resource "aws_lb_listener" "web_tls" {
  count = var.tls_enabled ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "TLS"
  certificate_arn   = var.certificate_arn
  ssl_policy        = var.ssl_policy

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }

  tags = local.tags
}

# Plain TCP 80 only when there is no certificate (tests, or a first look
# before DNS/TLS is set up): browsers refuse camera and microphone on a
# non-HTTPS origin, so this is not a usable production mode.
resource "aws_lb_listener" "web_tcp" {
  count = var.tls_enabled ? 0 : 1

  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }

  tags = local.tags
}

# TURN for participants whose network blocks UDP (../../turn.tf): TLS ends
# here with the site's certificate, coturn gets plain TCP 3478. coturn has no
# HTTP endpoint, so the health check is a TCP connect on the traffic port.
resource "aws_lb_target_group" "turn" {
  name                 = "${var.project_name}-turn"
  port                 = var.turn_port
  protocol             = "TCP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay
  preserve_client_ip   = "false"

  health_check {
    enabled             = true
    protocol            = "TCP"
    port                = "traffic-port"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = merge(local.tags, { Name = "${var.project_name}-turn" })
}

# TURNS on 5349 (443 is the site's; 5349 is the TURNS default port of
# RFC 8656 §3.1, what prosody advertises as TURNS_PORT).
resource "aws_lb_listener" "turns" {
  count = var.tls_enabled ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = var.turns_port
  protocol          = "TLS"
  certificate_arn   = var.certificate_arn
  ssl_policy        = var.ssl_policy

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.turn.arn
  }

  tags = local.tags
}

# Without a certificate: TURN over plain TCP 3478 (prosody advertises
# TURN_HOST/TURN_PORT with transport tcp).
resource "aws_lb_listener" "turn_tcp" {
  count = var.tls_enabled ? 0 : 1

  load_balancer_arn = aws_lb.this.arn
  port              = var.turn_port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.turn.arn
  }

  tags = local.tags
}
