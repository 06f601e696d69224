output "dns_name" {
  description = "DNS name of the load balancer (target of the Route53 alias record)."
  value       = aws_lb.this.dns_name
}

output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "name" {
  description = "Name of the load balancer (<project>-nlb)."
  value       = aws_lb.this.name
}

output "zone_id" {
  description = "Canonical hosted zone id of the load balancer (for the Route53 alias record)."
  value       = aws_lb.this.zone_id
}

output "jvb_target_group_arn" {
  description = "ARN of the UDP 10000 target group (<project>-jvb); register the task's private IP here."
  value       = aws_lb_target_group.jvb.arn
}

output "web_target_group_arn" {
  description = "ARN of the TCP 80 target group (<project>-web); register the task's private IP here."
  value       = aws_lb_target_group.web.arn
}

output "turn_target_group_arn" {
  description = "ARN of the TCP 3478 target group (<project>-turn, coturn); register the task's private IP here."
  value       = aws_lb_target_group.turn.arn
}

output "listener_arns" {
  description = "ARNs of the listeners: UDP media, TLS 443 or TCP 80 for the web, TLS 5349 or TCP 3478 for TURN."
  value = concat(
    [aws_lb_listener.jvb_udp.arn],
    aws_lb_listener.web_tls[*].arn,
    aws_lb_listener.web_tcp[*].arn,
    aws_lb_listener.turns[*].arn,
    aws_lb_listener.turn_tcp[*].arn,
  )
}
