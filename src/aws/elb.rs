//! The network load balancer, its two target groups and its listeners.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerSchemeEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, SubnetMapping, Tag, TargetDescription,
    TargetGroupAttribute, TargetTypeEnum,
};

use super::{aws_error, Aws};
use crate::error::Result;
use crate::names::{Names, JVB_HEALTH_PORT, JVB_PORT, TURN_PORT, WEB_PORT};

#[derive(Clone, Debug, serde::Serialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    pub state: String,
    pub canonical_zone_id: String,
    pub created_epoch: Option<i64>,
    pub subnets: Vec<String>,
    pub allocation_ids: Vec<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub port: i32,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Listener {
    pub arn: String,
    pub port: i32,
    pub protocol: String,
    pub target_group_arn: Option<String>,
    pub certificate_arn: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Target {
    pub ip: String,
    pub port: i32,
    pub state: String,
    pub reason: Option<String>,
}

/// How one of our two target groups is built.
pub struct TargetGroupSpec {
    pub name: String,
    pub protocol: ProtocolEnum,
    pub port: i32,
    pub health_port: &'static str,
    /// HTTP health check on this path; None: a TCP connect check.
    pub health_path: Option<&'static str>,
}

impl TargetGroupSpec {
    /// UDP media to the JVB; UDP target groups need a TCP or HTTP health
    /// check, so it probes the JVB's HTTP health endpoint on 8080.
    pub fn jvb(names: &Names) -> Self {
        TargetGroupSpec {
            name: names.jvb_target_group(),
            protocol: ProtocolEnum::Udp,
            port: JVB_PORT,
            health_port: JVB_HEALTH_PORT,
            health_path: Some("/about/health"),
        }
    }

    pub fn web(names: &Names) -> Self {
        TargetGroupSpec {
            name: names.web_target_group(),
            protocol: ProtocolEnum::Tcp,
            port: WEB_PORT,
            health_port: "80",
            health_path: Some("/"),
        }
    }

    /// TURN (TLS terminated at the NLB, or plain TCP) to coturn's TCP 3478.
    /// coturn has no HTTP endpoint on that port, so the check is a TCP
    /// connect on the traffic port (NLB TCP health checks: a completed
    /// handshake is healthy).
    pub fn turn(names: &Names) -> Self {
        TargetGroupSpec {
            name: names.turn_target_group(),
            protocol: ProtocolEnum::Tcp,
            port: TURN_PORT,
            health_port: "traffic-port",
            health_path: None,
        }
    }
}

fn tags(names: &Names, name: &str) -> Vec<Tag> {
    names
        .tags(name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn to_load_balancer(lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer) -> LoadBalancer {
    LoadBalancer {
        arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
        name: lb.load_balancer_name().unwrap_or_default().to_string(),
        dns_name: lb.dns_name().unwrap_or_default().to_string(),
        state: lb
            .state()
            .and_then(|s| s.code())
            .map(|c| c.as_str().to_string())
            .unwrap_or_else(|| "unknown".into()),
        canonical_zone_id: lb
            .canonical_hosted_zone_id()
            .unwrap_or_default()
            .to_string(),
        created_epoch: lb.created_time().map(|t| t.secs()),
        subnets: lb
            .availability_zones()
            .iter()
            .filter_map(|az| az.subnet_id())
            .map(String::from)
            .collect(),
        allocation_ids: lb
            .availability_zones()
            .iter()
            .flat_map(|az| az.load_balancer_addresses())
            .filter_map(|a| a.allocation_id())
            .map(String::from)
            .collect(),
    }
}

/// The load balancer by name or by ARN (names cannot contain `:`).
pub async fn find_load_balancer(aws: &Aws, name_or_arn: &str) -> Result<Option<LoadBalancer>> {
    let request = aws.elb.describe_load_balancers();
    let request = if name_or_arn.starts_with("arn:") {
        request.load_balancer_arns(name_or_arn)
    } else {
        request.names(name_or_arn)
    };
    match request.send().await {
        Ok(out) => Ok(out.load_balancers().first().map(to_load_balancer)),
        Err(e) if super::error_code(&e) == Some("LoadBalancerNotFound") => Ok(None),
        Err(e) => Err(aws_error("elbv2:DescribeLoadBalancers", name_or_arn)(e)),
    }
}

/// An internet-facing NLB in one subnet whose public address is our EIP.
pub async fn create_nlb(
    aws: &Aws,
    names: &Names,
    subnet_id: &str,
    allocation_id: &str,
) -> Result<LoadBalancer> {
    let name = names.nlb();
    let out = aws
        .elb
        .create_load_balancer()
        .name(&name)
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .ip_address_type(IpAddressType::Ipv4)
        .subnet_mappings(
            SubnetMapping::builder()
                .subnet_id(subnet_id)
                .allocation_id(allocation_id)
                .build(),
        )
        .set_tags(Some(tags(names, &name)))
        .send()
        .await
        .map_err(aws_error("elbv2:CreateLoadBalancer", &name))?;
    Ok(out
        .load_balancers()
        .first()
        .map(to_load_balancer)
        .expect("CreateLoadBalancer returns the load balancer"))
}

pub async fn delete_load_balancer(aws: &Aws, arn: &str) -> Result<()> {
    match aws
        .elb
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if super::error_code(&e) == Some("LoadBalancerNotFound") => Ok(()),
        Err(e) => Err(aws_error("elbv2:DeleteLoadBalancer", arn)(e)),
    }
}

fn to_target_group(tg: &aws_sdk_elasticloadbalancingv2::types::TargetGroup) -> TargetGroup {
    TargetGroup {
        arn: tg.target_group_arn().unwrap_or_default().to_string(),
        name: tg.target_group_name().unwrap_or_default().to_string(),
        protocol: tg
            .protocol()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        port: tg.port().unwrap_or_default(),
    }
}

/// The target group by name or by ARN (names cannot contain `:`).
pub async fn find_target_group(aws: &Aws, name_or_arn: &str) -> Result<Option<TargetGroup>> {
    let request = aws.elb.describe_target_groups();
    let request = if name_or_arn.starts_with("arn:") {
        request.target_group_arns(name_or_arn)
    } else {
        request.names(name_or_arn)
    };
    match request.send().await {
        Ok(out) => Ok(out.target_groups().first().map(to_target_group)),
        Err(e) if super::error_code(&e) == Some("TargetGroupNotFound") => Ok(None),
        Err(e) => Err(aws_error("elbv2:DescribeTargetGroups", name_or_arn)(e)),
    }
}

pub async fn create_target_group(
    aws: &Aws,
    names: &Names,
    spec: &TargetGroupSpec,
    vpc_id: &str,
) -> Result<TargetGroup> {
    let request = aws
        .elb
        .create_target_group()
        .name(&spec.name)
        .protocol(spec.protocol.clone())
        .port(spec.port)
        .vpc_id(vpc_id)
        .target_type(TargetTypeEnum::Ip)
        .health_check_port(spec.health_port)
        .health_check_interval_seconds(10)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .set_tags(Some(tags(names, &spec.name)));
    let request = match spec.health_path {
        Some(path) => request
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(path)
            .matcher(Matcher::builder().http_code("200").build()),
        None => request.health_check_protocol(ProtocolEnum::Tcp),
    };
    let out = request
        .send()
        .await
        .map_err(aws_error("elbv2:CreateTargetGroup", &spec.name))?;
    Ok(out
        .target_groups()
        .first()
        .map(to_target_group)
        .expect("CreateTargetGroup returns the group"))
}

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// The group's deregistration delay in seconds (None if AWS did not say).
pub async fn deregistration_delay(aws: &Aws, tg_arn: &str) -> Result<Option<u32>> {
    let out = aws
        .elb
        .describe_target_group_attributes()
        .target_group_arn(tg_arn)
        .send()
        .await
        .map_err(aws_error("elbv2:DescribeTargetGroupAttributes", tg_arn))?;
    Ok(out
        .attributes()
        .iter()
        .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
        .and_then(|a| a.value())
        .and_then(|v| v.parse().ok()))
}

/// CreateTargetGroup takes no attributes: the delay is set right after.
pub async fn set_deregistration_delay(aws: &Aws, tg: &TargetGroup, seconds: u32) -> Result<()> {
    aws.elb
        .modify_target_group_attributes()
        .target_group_arn(&tg.arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key(DEREGISTRATION_DELAY)
                .value(seconds.to_string())
                .build(),
        )
        .send()
        .await
        .map_err(aws_error("elbv2:ModifyTargetGroupAttributes", &tg.name))?;
    Ok(())
}

pub async fn delete_target_group(aws: &Aws, arn: &str) -> Result<()> {
    match aws
        .elb
        .delete_target_group()
        .target_group_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if super::error_code(&e) == Some("TargetGroupNotFound") => Ok(()),
        Err(e) => Err(aws_error("elbv2:DeleteTargetGroup", arn)(e)),
    }
}

pub async fn listeners(aws: &Aws, lb_arn: &str) -> Result<Vec<Listener>> {
    let listed = aws
        .elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) if super::error_code(&e) == Some("LoadBalancerNotFound") => return Ok(Vec::new()),
        Err(e) => return Err(aws_error("elbv2:DescribeListeners", lb_arn)(e)),
    };
    Ok(listed
        .iter()
        .map(|l| Listener {
            arn: l.listener_arn().unwrap_or_default().to_string(),
            port: l.port().unwrap_or_default(),
            protocol: l
                .protocol()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            target_group_arn: l
                .default_actions()
                .iter()
                .find_map(|a| a.target_group_arn())
                .map(String::from),
            certificate_arn: l
                .certificates()
                .iter()
                .find_map(|c| c.certificate_arn())
                .map(String::from),
        })
        .collect())
}

/// What a listener should look like; compared with what exists to converge.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerSpec {
    pub port: i32,
    pub protocol: ProtocolEnum,
    pub target_group_arn: String,
    pub certificate_arn: Option<String>,
}

impl ListenerSpec {
    pub fn matches(&self, l: &Listener) -> bool {
        l.port == self.port
            && l.protocol == self.protocol.as_str()
            && l.target_group_arn.as_deref() == Some(self.target_group_arn.as_str())
            && l.certificate_arn == self.certificate_arn
    }
}

pub async fn create_listener(
    aws: &Aws,
    names: &Names,
    lb_arn: &str,
    spec: &ListenerSpec,
) -> Result<()> {
    let label = format!("{} {}:{}", names.nlb(), spec.protocol.as_str(), spec.port);
    let mut req = aws
        .elb
        .create_listener()
        .load_balancer_arn(lb_arn)
        .port(spec.port)
        .protocol(spec.protocol.clone())
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&spec.target_group_arn)
                .build(),
        )
        .set_tags(Some(tags(names, &label)));
    if let Some(cert) = &spec.certificate_arn {
        req = req
            .certificates(Certificate::builder().certificate_arn(cert).build())
            .ssl_policy("ELBSecurityPolicy-TLS13-1-2-2021-06");
    }
    req.send()
        .await
        .map_err(aws_error("elbv2:CreateListener", label))?;
    Ok(())
}

pub async fn delete_listener(aws: &Aws, arn: &str) -> Result<()> {
    match aws.elb.delete_listener().listener_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if super::error_code(&e) == Some("ListenerNotFound") => Ok(()),
        Err(e) => Err(aws_error("elbv2:DeleteListener", arn)(e)),
    }
}

pub async fn targets(aws: &Aws, tg_arn: &str) -> Result<Vec<Target>> {
    let out = aws
        .elb
        .describe_target_health()
        .target_group_arn(tg_arn)
        .send()
        .await
        .map_err(aws_error("elbv2:DescribeTargetHealth", tg_arn))?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .map(|d| Target {
            ip: d
                .target()
                .and_then(|t| t.id())
                .unwrap_or_default()
                .to_string(),
            port: d.target().and_then(|t| t.port()).unwrap_or_default(),
            state: d
                .target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "unknown".into()),
            reason: d
                .target_health()
                .and_then(|h| h.reason())
                .map(|r| r.as_str().to_string()),
        })
        .collect())
}

fn target(ip: &str, port: i32) -> TargetDescription {
    TargetDescription::builder().id(ip).port(port).build()
}

pub async fn register(aws: &Aws, tg: &TargetGroup, ip: &str) -> Result<()> {
    aws.elb
        .register_targets()
        .target_group_arn(&tg.arn)
        .targets(target(ip, tg.port))
        .send()
        .await
        .map_err(aws_error(
            "elbv2:RegisterTargets",
            format!("{ip} in {}", tg.name),
        ))?;
    Ok(())
}

pub async fn deregister(aws: &Aws, tg: &TargetGroup, stale: &[Target]) -> Result<()> {
    if stale.is_empty() {
        return Ok(());
    }
    let ids: Vec<TargetDescription> = stale.iter().map(|t| target(&t.ip, t.port)).collect();
    aws.elb
        .deregister_targets()
        .target_group_arn(&tg.arn)
        .set_targets(Some(ids))
        .send()
        .await
        .map_err(aws_error("elbv2:DeregisterTargets", &tg.name))?;
    Ok(())
}

/// Each of `arns` with its tags (DescribeTags takes 20 at a time).
async fn tags_of(aws: &Aws, arns: Vec<String>) -> Result<Vec<(String, Vec<(String, String)>)>> {
    let mut tagged = Vec::new();
    for chunk in arns.chunks(20) {
        let out = aws
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(aws_error("elbv2:DescribeTags", "load balancer resources"))?;
        for d in out.tag_descriptions() {
            let tags = d
                .tags()
                .iter()
                .map(|t| {
                    let (k, v) = (t.key().unwrap_or_default(), t.value().unwrap_or_default());
                    (k.to_string(), v.to_string())
                })
                .collect();
            tagged.extend(d.resource_arn().map(|arn| (arn.to_string(), tags)));
        }
    }
    Ok(tagged)
}

fn pairs(tags: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// ARNs among `arns` tagged as the project's on-demand part.
async fn ours(aws: &Aws, names: &Names, arns: Vec<String>) -> Result<Vec<String>> {
    Ok(tags_of(aws, arns)
        .await?
        .into_iter()
        .filter(|(_, tags)| names.is_on_demand(pairs(tags)))
        .map(|(arn, _)| arn)
        .collect())
}

/// Whether the load balancer or group `arn` is tagged as the project's
/// on-demand part (made by meetctl, or by the Terraform module).
pub async fn is_project_on_demand(aws: &Aws, names: &Names, arn: &str) -> Result<bool> {
    Ok(!ours(aws, names, vec![arn.to_string()]).await?.is_empty())
}

/// The load balancer and target groups that carry meetctl's names for this
/// project but not its tags (`Project=<project>`, `ManagedBy=meetctl`), as
/// "kind name" labels. ELB names are unique per account and region, so such
/// a resource blocks ours; meetctl must not adopt it (its listeners, targets
/// and deletion are someone else's).
pub async fn foreign_with_our_names(aws: &Aws, names: &Names) -> Result<Vec<String>> {
    let (nlb_name, jvb_name, web_name, turn_name) = (
        names.nlb(),
        names.jvb_target_group(),
        names.web_target_group(),
        names.turn_target_group(),
    );
    let (nlb, jvb, web, turn) = tokio::try_join!(
        find_load_balancer(aws, &nlb_name),
        find_target_group(aws, &jvb_name),
        find_target_group(aws, &web_name),
        find_target_group(aws, &turn_name),
    )?;
    let found: Vec<(String, String)> = nlb
        .map(|lb| (lb.arn, format!("load balancer {}", lb.name)))
        .into_iter()
        .chain(
            [jvb, web, turn]
                .into_iter()
                .flatten()
                .map(|tg| (tg.arn, format!("target group {}", tg.name))),
        )
        .collect();
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let tagged = tags_of(aws, found.iter().map(|(arn, _)| arn.clone()).collect()).await?;
    Ok(found
        .into_iter()
        .filter(|(arn, _)| {
            !tagged
                .iter()
                .any(|(a, tags)| a == arn && names.is_made_by_meetctl(pairs(tags)))
        })
        .map(|(_, label)| label)
        .collect())
}

/// Every on-demand load balancer of the project, whatever its name or creator.
pub async fn project_load_balancers(aws: &Aws, names: &Names) -> Result<Vec<LoadBalancer>> {
    let mut all = Vec::new();
    let mut pages = aws.elb.describe_load_balancers().into_paginator().send();
    while let Some(page) = pages.next().await {
        all.extend(
            page.map_err(aws_error("elbv2:DescribeLoadBalancers", "all"))?
                .load_balancers()
                .iter()
                .map(to_load_balancer),
        );
    }
    let mine = ours(aws, names, all.iter().map(|lb| lb.arn.clone()).collect()).await?;
    Ok(all
        .into_iter()
        .filter(|lb| mine.contains(&lb.arn))
        .collect())
}

/// Every on-demand target group of the project, whatever its name or creator.
pub async fn project_target_groups(aws: &Aws, names: &Names) -> Result<Vec<TargetGroup>> {
    let mut all = Vec::new();
    let mut pages = aws.elb.describe_target_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        all.extend(
            page.map_err(aws_error("elbv2:DescribeTargetGroups", "all"))?
                .target_groups()
                .iter()
                .map(to_target_group),
        );
    }
    let mine = ours(aws, names, all.iter().map(|tg| tg.arn.clone()).collect()).await?;
    Ok(all
        .into_iter()
        .filter(|tg| mine.contains(&tg.arn))
        .collect())
}
