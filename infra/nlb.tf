# Optional Terraform-managed network load balancer (ingress mode
# "terraform"). Off by default: in the default "nlb" mode meetctl creates the
# same load balancer itself on `up` and deletes it on `down`, so that it
# bills only while a meeting can happen. To use this instead:
#   terraform apply -var nlb_enabled=true -target=module.jvb_nlb
# and `terraform apply -var nlb_enabled=false` (or destroy the target) after.

module "jvb_nlb" {
  source = "./modules/jvb-nlb"
  count  = var.nlb_enabled ? 1 : 0

  project_name = var.project_name
  vpc_id       = aws_vpc.this.id

  # One subnet (one AZ): the task is pinned to the same subnet.
  subnet_id         = aws_subnet.public[0].id
  eip_allocation_id = var.nlb_eip_allocation_id

  tls_enabled     = local.tls_enabled
  certificate_arn = local.certificate_arn
}
