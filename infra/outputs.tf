# Outputs meetctl reads (terraform output -json). Names are stable: the Rust
# side and the test harness depend on them. NLB outputs are null unless
# nlb_enabled = true.

output "aws_region" {
  description = "Region of every resource."
  value       = var.aws_region
}

output "project_name" {
  description = "Project name (value of the Project tag, prefix of every name)."
  value       = var.project_name
}

output "domain_name" {
  description = "Public name of the meeting site."
  value       = var.domain_name
}

output "public_url" {
  description = "URL of the meeting site once `meetctl up` has run."
  value       = local.public_url
}

output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "VPC CIDR block (the source range of NLB health checks and TLS-terminated traffic)."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Ids of the two public subnets, in availability-zone order."
  value       = aws_subnet.public[*].id
}

output "public_subnet_azs" {
  description = "Availability zones of public_subnet_ids, same order."
  value       = aws_subnet.public[*].availability_zone
}

output "security_group_id" {
  description = "Id of the task's security group (<project>-task)."
  value       = aws_security_group.task.id
}

output "cluster_name" {
  description = "ECS cluster name (<project>-cluster)."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "ECS service name (<project>-service); desired count 0 until `meetctl up`."
  value       = aws_ecs_service.this.name
}

output "task_definition_family" {
  description = "Task definition family (<project>)."
  value       = aws_ecs_task_definition.this.family
}

output "task_definition_arn" {
  description = "ARN of the task definition revision the service runs."
  value       = aws_ecs_task_definition.this.arn
}

output "capacity_provider" {
  description = "Capacity provider of the service (FARGATE or FARGATE_SPOT)."
  value       = var.capacity_provider
}

output "cpu_architecture" {
  description = "CPU architecture of the task (X86_64 or ARM64), for cost reporting."
  value       = var.cpu_architecture
}

output "task_cpu" {
  description = "Task CPU units, for cost reporting."
  value       = var.task_cpu
}

output "task_memory" {
  description = "Task memory (MiB), for cost reporting."
  value       = var.task_memory
}

output "auth" {
  description = "Who may open a meeting room (none or internal): the `auth` of meetctl.toml."
  value       = var.auth
}

output "service_connect_namespace_name" {
  description = "Service Connect namespace name (<project>.local)."
  value       = aws_service_discovery_http_namespace.this.name
}

output "service_connect_namespace_arn" {
  description = "Service Connect namespace ARN."
  value       = aws_service_discovery_http_namespace.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the containers, Service Connect and ECS Exec."
  value       = aws_cloudwatch_log_group.this.name
}

output "recordings_bucket" {
  description = "Name of the recordings bucket."
  value       = aws_s3_bucket.recordings.bucket
}

output "prosody_data_file_system_id" {
  description = "EFS file system that keeps Prosody's data (/config/data) across down/up."
  value       = aws_efs_file_system.prosody.id
}

output "prosody_data_access_point_id" {
  description = "EFS access point through which the prosody container mounts its data."
  value       = aws_efs_access_point.prosody.id
}

output "ssm_parameter_prefix" {
  description = "SSM parameter prefix (/<project>/) of the Jitsi secrets, the advertise address and meetctl's lock."
  value       = local.ssm_parameter_prefix
}

output "ssm_parameter_names" {
  description = "Full names of the SSM parameters the task definition refers to (created by meetctl, never by Terraform)."
  value       = local.ssm_parameter_names
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ARN of the task role."
  value       = aws_iam_role.task.arn
}

output "hosted_zone_id" {
  description = "Route53 hosted zone id for the alias record, or null."
  value       = var.hosted_zone_id
}

output "certificate_arn" {
  description = "ACM certificate for the TLS 443 listener (given or created), or null for plain TCP 80."
  value       = local.certificate_arn
}

output "tls_enabled" {
  description = "Whether the load balancer terminates TLS on 443."
  value       = local.tls_enabled
}

# ------------------------------------------- Terraform-managed NLB (optional)

output "nlb_enabled" {
  description = "Whether the NLB is managed by Terraform (module jvb-nlb)."
  value       = var.nlb_enabled
}

output "nlb_dns_name" {
  description = "DNS name of the Terraform-managed NLB, or null when nlb_enabled = false."
  value       = one(module.jvb_nlb[*].dns_name)
}

output "nlb_arn" {
  description = "ARN of the Terraform-managed NLB, or null."
  value       = one(module.jvb_nlb[*].arn)
}

output "nlb_zone_id" {
  description = "Canonical hosted zone id of the Terraform-managed NLB, or null."
  value       = one(module.jvb_nlb[*].zone_id)
}

output "nlb_jvb_target_group_arn" {
  description = "ARN of the UDP 10000 target group of the Terraform-managed NLB, or null."
  value       = one(module.jvb_nlb[*].jvb_target_group_arn)
}

output "nlb_web_target_group_arn" {
  description = "ARN of the TCP 80 target group of the Terraform-managed NLB, or null."
  value       = one(module.jvb_nlb[*].web_target_group_arn)
}

output "nlb_turn_target_group_arn" {
  description = "ARN of the TCP 3478 target group (coturn) behind the TURN listener of the Terraform-managed NLB (TLS 5349, or TCP 3478 without a certificate), or null."
  value       = one(module.jvb_nlb[*].turn_target_group_arn)
}

output "control_plane_function_name" {
  description = "The control plane's Lambda function (null when control_plane_enabled = false)."
  value       = one(module.control_plane[*].function_name)
}

output "control_plane_schedule_name" {
  description = "The schedule meetctl up enables and meetctl down disables (null when control_plane_enabled = false)."
  value       = one(module.control_plane[*].schedule_name)
}

output "control_plane_log_group_name" {
  description = "Where every automatic down is logged with its reason (null when control_plane_enabled = false)."
  value       = one(module.control_plane[*].log_group_name)
}

output "front_door_target_domain_name" {
  description = "The front door's regional target (null when front_door_enabled = false); meetctl down points the domain's alias at it."
  value       = one(module.front_door[*].target_domain_name)
}
