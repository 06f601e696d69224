# Network: a VPC with two public subnets and an internet gateway. No NAT
# gateway (it bills ~$32/month while idle): the task gets a public IP and
# pulls the jitsi/* images from Docker Hub directly.

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:No VPC flow logs: their cost grows with every GB of meeting media (CloudWatch ingestion $0.50/GB), which contradicts pay-only-while-meeting. The security group is the control here; enable flow logs separately when an investigation needs them.
  cidr_block = var.vpc_cidr

  # Real ECS wants both; moto's RunTask also needs the private DNS name.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = "${var.project_name}-vpc"
  }
}

# The default security group of the VPC, adopted only to strip every rule
# from it: nothing in this project uses it.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.project_name}-default-unused"
  }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.project_name}-igw"
  }
}

resource "aws_subnet" "public" {
  count = length(var.public_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.public_subnet_cidrs[count.index]
  availability_zone = local.availability_zones[count.index]

  # No automatic public IPs: the ECS service asks for one explicitly
  # (assign_public_ip = true) and the NLB gets its address from its subnet
  # mapping, so nothing else launched here becomes reachable by accident.
  map_public_ip_on_launch = false

  tags = {
    # Project (from default_tags) is how meetctl finds the subnets.
    Name = "${var.project_name}-public-${local.availability_zones[count.index]}"
    Tier = "public"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.project_name}-public"
  }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(aws_subnet.public)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}
