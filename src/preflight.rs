//! Everything `up` checks before it creates anything. A failure here names
//! the fix and leaves the account untouched.

use crate::aws::ec2::{self, SecurityGroup, Subnet};
use crate::aws::ecs::{self, Service, TaskSize};
use crate::aws::{acm, elb, route53, ssm, sts};
use crate::config;
use crate::error::{Error, Result};
use crate::Context;

#[derive(Clone, Debug)]
pub struct Base {
    pub account: String,
    /// The subnet the NLB and the task share (first by availability zone).
    pub subnet: Subnet,
    pub security_group: SecurityGroup,
    pub service: Service,
    pub task_size: TaskSize,
    pub missing_secrets: Vec<String>,
}

/// The checks that need no domain: shared by `up`, `down` and `register-targets`.
/// The three reads run at once; their results are judged in order, so bad
/// credentials are reported as such rather than as a missing cluster.
pub async fn identity_and_service(ctx: &Context) -> Result<(String, Service)> {
    let c = &ctx.config;
    let (identity, cluster_active, service) = tokio::join!(
        sts::caller_identity(&ctx.aws),
        ecs::cluster_is_active(&ctx.aws, &c.cluster),
        ecs::service(&ctx.aws, &c.cluster, &c.service),
    );
    let identity = identity?;
    if !cluster_active? {
        return Err(Error::preflight(
            "cluster",
            format!("ECS cluster `{}` not found (or not ACTIVE) in {}", c.cluster, c.region),
            "apply infra/ (terraform apply), or set `cluster` to the cluster's name (see `terraform output cluster`)",
        ));
    }
    let service = service?.ok_or_else(|| {
        Error::preflight(
            "service",
            format!("ECS service `{}` not found in cluster `{}`", c.service, c.cluster),
            "apply infra/ (terraform apply), or set `service` to the service's name (see `terraform output service`)",
        )
    })?;
    Ok((identity.account, service))
}

pub async fn run(ctx: &Context, domain: &str) -> Result<Base> {
    let c = &ctx.config;
    let (account, service) = identity_and_service(ctx).await?;
    // With credentials and the service known, the remaining reads are
    // independent: they run concurrently.
    let certificate = async {
        match &c.certificate_arn {
            Some(arn) => acm::check_certificate(&ctx.aws, arn, domain).await,
            None => Ok(()),
        }
    };
    let zone = async {
        match &c.hosted_zone_id {
            Some(zone) => route53::check_zone(&ctx.aws, zone, domain).await,
            None => Ok(()),
        }
    };
    // With ingress "terraform" the module owns these names (and Terraform
    // itself refuses a duplicate); meetctl adopts by name only in "nlb" mode.
    let foreign = async {
        match c.ingress {
            config::Ingress::Nlb => elb::foreign_with_our_names(&ctx.aws, &ctx.names).await,
            config::Ingress::Terraform => Ok(Vec::new()),
        }
    };
    let (subnets, security_group, task_size, (), (), missing_secrets, foreign) = tokio::try_join!(
        ec2::subnets(&ctx.aws, &c.project, c.subnet_ids.as_deref()),
        ec2::security_group(&ctx.aws, &c.project, c.security_group_id.as_deref()),
        ecs::task_size(&ctx.aws, &service.task_definition),
        certificate,
        zone,
        ssm::missing_secrets(&ctx.aws, &ctx.names),
        foreign,
    )?;
    if !foreign.is_empty() {
        return Err(Error::preflight(
            foreign.join(", "),
            format!(
                "has meetctl's name for project `{}` but not its tags ManagedBy=meetctl and Project={}: meetctl did not create it and will not adopt or delete it",
                c.project, c.project
            ),
            "set another `project` (every name derives from it), or delete that resource if nobody needs it; if it is a leftover of meetctl, tag it ManagedBy=meetctl, Lifecycle=on-demand and Project=<project> so `meetctl down` removes it",
        ));
    }
    let subnet = subnets.first().cloned().ok_or_else(|| {
        Error::preflight(
            "subnet_ids",
            format!("no subnets tagged Project={} in {}", c.project, c.region),
            "apply infra/ (terraform apply), or set subnet_ids to the public subnets",
        )
    })?;
    if let Some(other) = subnets.iter().find(|s| s.vpc_id != subnet.vpc_id) {
        return Err(Error::preflight(
            "subnet_ids",
            format!(
                "{} is in {} but {} is in {}",
                other.id, other.vpc_id, subnet.id, subnet.vpc_id
            ),
            "list subnets of one VPC only",
        ));
    }
    if security_group.vpc_id != subnet.vpc_id {
        return Err(Error::preflight(
            "security_group_id",
            format!(
                "{} is in {} but the subnets are in {}",
                security_group.id, security_group.vpc_id, subnet.vpc_id
            ),
            "use the task security group of the same VPC",
        ));
    }
    Ok(Base {
        account,
        subnet,
        security_group,
        service,
        task_size,
        missing_secrets,
    })
}
