output "function_name" {
  description = "The front door's Lambda function."
  value       = aws_lambda_function.front_door.function_name
}

output "api_id" {
  description = "The HTTP API behind the custom domain."
  value       = aws_apigatewayv2_api.front_door.id
}

output "target_domain_name" {
  description = "The custom domain's regional target: the alias meetctl points the domain at while the platform sleeps."
  value       = aws_apigatewayv2_domain_name.front_door.domain_name_configuration[0].target_domain_name
}

output "parameter_name" {
  description = "The SSM parameter meetctl discovers the front door by."
  value       = aws_ssm_parameter.front_door.name
}
