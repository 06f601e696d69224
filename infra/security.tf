# The task's security group.
#
# Inbound:
#   UDP 10000 from anywhere   - JVB media. With UDP IP targets the NLB
#                               preserves the client address, so the source
#                               really is any client on the internet.
#   TCP 80   from the VPC     - web (nginx). TLS ends at the NLB; the
#                               decrypted traffic and the NLB's health
#                               checks come from the NLB's private address.
#   TCP 8080 from the VPC     - JVB /about/health for the NLB health check.
# There is deliberately no TCP 4443 (the JVB TCP harvester no longer exists)
# and no 443 (the task never terminates TLS).
#
# Outbound: HTTPS (image pulls from Docker Hub, AWS APIs), UDP (media to
# clients on arbitrary ports) and NFS to the EFS mount targets' security group
# (Prosody's data, efs.tf). DNS to the VPC resolver is not filtered by
# security groups.

resource "aws_security_group" "task" {
  name        = local.security_group_name
  description = "Jitsi Meet task: UDP 10000 media from anywhere, HTTP 80 and JVB health 8080 from the VPC only"
  vpc_id      = aws_vpc.this.id

  tags = {
    # Project (from default_tags) is how meetctl finds the security group.
    Name = local.security_group_name
  }
}

resource "aws_vpc_security_group_ingress_rule" "jvb_media" {
  security_group_id = aws_security_group.task.id
  description       = "JVB media (UDP 10000) from any client"
  ip_protocol       = "udp"
  from_port         = 10000
  to_port           = 10000
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "web_from_vpc" {
  security_group_id = aws_security_group.task.id
  description       = "web HTTP 80 from the NLB (TLS terminated there) and its health checks"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = aws_vpc.this.cidr_block
}

resource "aws_vpc_security_group_ingress_rule" "jvb_health_from_vpc" {
  security_group_id = aws_security_group.task.id
  description       = "JVB /about/health on 8080 for the NLB health check"
  ip_protocol       = "tcp"
  from_port         = 8080
  to_port           = 8080
  cidr_ipv4         = aws_vpc.this.cidr_block
}

resource "aws_vpc_security_group_egress_rule" "https_out" {
  security_group_id = aws_security_group.task.id
  description       = "HTTPS out: Docker Hub image pulls, AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "udp_out" {
  security_group_id = aws_security_group.task.id
  description       = "UDP out: JVB media to clients on their ephemeral ports"
  ip_protocol       = "udp"
  from_port         = 0
  to_port           = 65535
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "nfs_to_efs" {
  security_group_id            = aws_security_group.task.id
  description                  = "NFS out to the EFS mount targets of Prosody's data"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.efs.id
}
