//! Network lookups (subnets, security group, VPC) and the Elastic IP that
//! becomes the NLB's public address and the JVB's advertised address.

use aws_sdk_ec2::types::{DomainType, Filter, ResourceType, Tag, TagSpecification};

use super::{aws_error, Aws};
use crate::error::{Error, Result};
use crate::names::{Names, TAG_LIFECYCLE, TAG_PROJECT};

#[derive(Clone, Debug, serde::Serialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ElasticIp {
    pub allocation_id: String,
    pub public_ip: String,
    /// Set while the address is attached to a network interface (the NLB's).
    pub association_id: Option<String>,
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The configured subnets, or the ones tagged `Project=<project>`, ordered by
/// availability zone so every run picks the same one.
pub async fn subnets(
    aws: &Aws,
    project: &str,
    configured: Option<&[String]>,
) -> Result<Vec<Subnet>> {
    let mut req = aws.ec2.describe_subnets();
    req = match configured {
        Some(ids) => req.set_subnet_ids(Some(ids.to_vec())),
        None => req.filters(filter(&format!("tag:{TAG_PROJECT}"), project)),
    };
    // Every page: EC2 pages Describe* results (MaxResults/NextToken).
    let listed = req.into_paginator().items().send().try_collect().await;
    let listed = listed.map_err(|e| match super::error_code(&e) {
        Some(code) if code.starts_with("InvalidSubnet") => Error::preflight(
            "subnet_ids",
            format!("{code}: {}", configured.unwrap_or_default().join(", ")),
            "use subnet ids from `terraform output subnet_ids` in this region",
        ),
        _ => aws_error("ec2:DescribeSubnets", "subnets")(e),
    })?;
    let mut subnets: Vec<Subnet> = listed
        .iter()
        .map(|s| Subnet {
            id: s.subnet_id().unwrap_or_default().to_string(),
            vpc_id: s.vpc_id().unwrap_or_default().to_string(),
            availability_zone: s.availability_zone().unwrap_or_default().to_string(),
        })
        .collect();
    subnets.sort_by(|a, b| (&a.availability_zone, &a.id).cmp(&(&b.availability_zone, &b.id)));
    Ok(subnets)
}

#[derive(Clone, Debug)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: String,
}

/// The configured security group, or the single one tagged `Project=<project>`.
pub async fn security_group(
    aws: &Aws,
    project: &str,
    configured: Option<&str>,
) -> Result<SecurityGroup> {
    let mut req = aws.ec2.describe_security_groups();
    req = match configured {
        Some(id) => req.group_ids(id),
        None => req.filters(filter(&format!("tag:{TAG_PROJECT}"), project)),
    };
    let listed = req.into_paginator().items().send().try_collect().await;
    let all = listed.map_err(|e| match super::error_code(&e) {
        Some(code) if code.starts_with("InvalidGroup") => Error::preflight(
            "security_group_id",
            format!("{code}: {}", configured.unwrap_or_default()),
            "use the id from `terraform output security_group_id` in this region",
        ),
        _ => aws_error("ec2:DescribeSecurityGroups", "security group")(e),
    })?;
    // Terraform's default tags also land on the VPC's default group (infra/
    // adopts it to strip its rules), so among several tagged groups the one
    // named `<project>-task` is the task's.
    let task_group_name = format!("{project}-task");
    let all = all.as_slice();
    let named: Vec<_> = all
        .iter()
        .filter(|g| g.group_name() == Some(task_group_name.as_str()))
        .cloned()
        .collect();
    let groups = if configured.is_none() && all.len() > 1 && named.len() == 1 {
        named.as_slice()
    } else {
        all
    };
    match groups {
        [one] => Ok(SecurityGroup {
            id: one.group_id().unwrap_or_default().into(),
            vpc_id: one.vpc_id().unwrap_or_default().into(),
        }),
        [] => Err(Error::preflight(
            "security_group_id",
            format!("no security group tagged {TAG_PROJECT}={project}"),
            "apply infra/ (terraform apply) or set security_group_id",
        )),
        many => Err(Error::preflight(
            "security_group_id",
            format!(
                "{} security groups are tagged {TAG_PROJECT}={project}: {}",
                many.len(),
                many.iter()
                    .filter_map(|g| g.group_id())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "set security_group_id to the task's group",
        )),
    }
}

pub async fn vpc_cidr(aws: &Aws, vpc_id: &str) -> Result<String> {
    let out = aws
        .ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .map_err(aws_error("ec2:DescribeVpcs", vpc_id))?;
    Ok(out
        .vpcs()
        .first()
        .and_then(|v| v.cidr_block())
        .unwrap_or_default()
        .to_string())
}

/// The project's on-demand Elastic IPs (normally zero or one).
pub async fn project_eips(aws: &Aws, names: &Names) -> Result<Vec<ElasticIp>> {
    let out = aws
        .ec2
        .describe_addresses()
        .filters(filter(&format!("tag:{TAG_PROJECT}"), &names.project))
        .filters(filter(
            &format!("tag:{TAG_LIFECYCLE}"),
            crate::names::LIFECYCLE,
        ))
        .send()
        .await
        .map_err(aws_error(
            "ec2:DescribeAddresses",
            format!("addresses tagged {TAG_PROJECT}={}", names.project),
        ))?;
    let mut eips: Vec<ElasticIp> = out
        .addresses()
        .iter()
        .map(|a| ElasticIp {
            allocation_id: a.allocation_id().unwrap_or_default().to_string(),
            public_ip: a.public_ip().unwrap_or_default().to_string(),
            association_id: a.association_id().map(String::from),
        })
        .collect();
    eips.sort_by(|a, b| a.allocation_id.cmp(&b.allocation_id));
    Ok(eips)
}

pub async fn allocate_eip(aws: &Aws, names: &Names) -> Result<ElasticIp> {
    let tags: Vec<Tag> = names
        .tags(&names.eip())
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let out = aws
        .ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::ElasticIp)
                .set_tags(Some(tags))
                .build(),
        )
        .send()
        .await
        .map_err(aws_error("ec2:AllocateAddress", names.eip()))?;
    Ok(ElasticIp {
        allocation_id: out.allocation_id().unwrap_or_default().to_string(),
        public_ip: out.public_ip().unwrap_or_default().to_string(),
        association_id: None,
    })
}

pub async fn release_eip(aws: &Aws, eip: &ElasticIp) -> Result<()> {
    match aws
        .ec2
        .release_address()
        .allocation_id(&eip.allocation_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if super::error_code(&e) == Some("InvalidAllocationID.NotFound") => Ok(()),
        Err(e) => Err(aws_error(
            "ec2:ReleaseAddress",
            format!("{} ({})", eip.allocation_id, eip.public_ip),
        )(e)),
    }
}

/// One inbound rule of a security group, one row per source.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IngressRule {
    /// `tcp`, `udp`, `icmp`, ... or `-1` for all traffic.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// An IPv4 or IPv6 CIDR, a security group id or a prefix list id.
    pub source: String,
}

/// The VPC and the inbound rules of a security group (for `check`).
pub async fn ingress_rules(aws: &Aws, group_id: &str) -> Result<(String, Vec<IngressRule>)> {
    let out = aws
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .map_err(aws_error("ec2:DescribeSecurityGroups", group_id))?;
    let group = out
        .security_groups()
        .first()
        .ok_or_else(|| Error::Unexpected {
            what: format!("security group {group_id}"),
            problem: "not found".into(),
            fix: "apply infra/ again, or set security_group_id".into(),
        })?;
    let mut rules = Vec::new();
    for p in group.ip_permissions() {
        let rule = |source: &str| IngressRule {
            protocol: p.ip_protocol().unwrap_or("-1").to_string(),
            from_port: p.from_port(),
            to_port: p.to_port(),
            source: source.to_string(),
        };
        let sources = p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip())
            .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
            .chain(p.user_id_group_pairs().iter().filter_map(|g| g.group_id()))
            .chain(
                p.prefix_list_ids()
                    .iter()
                    .filter_map(|l| l.prefix_list_id()),
            );
        rules.extend(sources.map(rule));
    }
    Ok((group.vpc_id().unwrap_or_default().to_string(), rules))
}

/// Public addresses of the network interfaces with this description; an
/// NLB's interface is described `ELB net/<name>/<id>`.
pub async fn interface_public_ips(aws: &Aws, description: &str) -> Result<Vec<String>> {
    let interfaces = aws
        .ec2
        .describe_network_interfaces()
        .filters(filter("description", description))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_error("ec2:DescribeNetworkInterfaces", description))?;
    Ok(interfaces
        .iter()
        .filter_map(|n| n.association().and_then(|a| a.public_ip()))
        .map(String::from)
        .collect())
}
