output "function_name" {
  description = "The control plane's Lambda function."
  value       = aws_lambda_function.control.function_name
}

output "schedule_name" {
  description = "The schedule meetctl up enables and meetctl down disables."
  value       = aws_scheduler_schedule.control.name
}

output "log_group_name" {
  description = "Where every automatic down is logged with its reason."
  value       = aws_cloudwatch_log_group.function.name
}

output "environment" {
  description = "The MEETCTL_* configuration the function runs with (no secrets): keep the CLI's caps equal to it."
  value       = local.environment
}
