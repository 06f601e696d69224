//! The AWS half of `check`: the ECS service and its task, the load balancer
//! (state, listeners, target health) and the media wiring (advertise
//! address, JVB targets, security group).

use std::net::Ipv4Addr;
use std::time::Duration;

use super::{within, CheckResult};
use crate::aws::ec2::{self, IngressRule};
use crate::aws::ecs::{self, Task};
use crate::aws::elb::LoadBalancer;
use crate::aws::route53::AliasRecord;
use crate::aws::ssm;
use crate::error::Result;
use crate::names::{JVB_PORT, TURNS_PORT, TURN_PORT};
use crate::state::{self, Observed, TargetGroupState};
use crate::Context;

pub const ECS_SERVICE: &str = "ecs.service";
pub const ECS_HEALTH: &str = "ecs.health";
pub const LB_STATE: &str = "lb.state";
pub const LB_LISTENERS: &str = "lb.listeners";
pub const LB_TARGETS_JVB: &str = "lb.targets.jvb";
pub const LB_TARGETS_WEB: &str = "lb.targets.web";
pub const LB_TARGETS_TURN: &str = "lb.targets.turn";
pub const MEDIA_ADVERTISE: &str = "media.advertise";
pub const MEDIA_JVB_TARGETS: &str = "media.jvb-targets";
pub const MEDIA_SECURITY_GROUP: &str = "media.security-group";

const ALL: &[&str] = &[
    ECS_SERVICE,
    ECS_HEALTH,
    LB_STATE,
    LB_LISTENERS,
    LB_TARGETS_JVB,
    LB_TARGETS_WEB,
    LB_TARGETS_TURN,
    MEDIA_ADVERTISE,
    MEDIA_JVB_TARGETS,
    MEDIA_SECURITY_GROUP,
];

const REGISTER_FIX: &str =
    "run `meetctl register-targets` (registers the task's IP, deregisters every other one); ECS keeps the service's tasks registered only while the service carries the target groups: if `meetctl status` says it does not, run `meetctl up`";

/// What DNS must point at: the load balancer's name and public address.
#[derive(Clone, Debug)]
pub struct Platform {
    pub nlb_dns: String,
    pub public_ips: Vec<String>,
    /// The Route53 alias for the domain, when `hosted_zone_id` is set.
    pub route53_record: Option<AliasRecord>,
}

/// One AWS read with the check deadline; the error is the text a check shows.
/// The call is boxed: SDK futures are large, and nested inline they would
/// take much of the main thread's stack in debug builds.
async fn read<T>(
    limit: Duration,
    what: &str,
    call: impl std::future::Future<Output = Result<T>>,
) -> std::result::Result<T, String> {
    let call = Box::pin(call);
    within(limit, what, async { call.await.map_err(|e| e.to_string()) }).await
}

/// Runs the AWS checks; also returns what DNS should point at (None
/// without a load balancer).
pub async fn run(ctx: &Context) -> (Vec<CheckResult>, Option<Platform>) {
    let limit = ctx.config.check.timeout;
    let observed =
        match read(limit, "reading the platform from AWS", state::observe(ctx)).await {
            Ok(o) => o,
            Err(e) => {
                let mut out = vec![CheckResult::fail(
                    "aws",
                    format!("could not read the platform's state: {e}"),
                    "check credentials (`aws sts get-caller-identity`), region and endpoint_url",
                )];
                out.extend(ALL.iter().map(|n| {
                    CheckResult::skip(n, "the platform's state could not be read from AWS")
                }));
                return (out, None);
            }
        };
    let c = &ctx.config;
    let task = observed.running_task();
    let public_ips = match &observed.load_balancer {
        Some(lb) => {
            read(
                limit,
                "the load balancer's public address",
                nlb_public_ips(ctx, lb, &observed),
            )
            .await
        }
        None => Ok(Vec::new()),
    };
    let mut out = vec![ecs_service(&observed, &c.service, &c.cluster)];
    out.push(ecs_health(ctx, task).await);
    out.push(lb_state(&observed, &ctx.names.nlb()));
    out.push(lb_listeners(&observed, c.certificate_arn.as_deref()));
    out.push(target_health(
        LB_TARGETS_JVB,
        observed.jvb.as_ref(),
        task,
        false,
    ));
    out.push(target_health(
        LB_TARGETS_WEB,
        observed.web.as_ref(),
        task,
        true,
    ));
    out.push(target_health(
        LB_TARGETS_TURN,
        observed.turn.as_ref(),
        task,
        true,
    ));
    out.push(advertise(ctx, &observed, task, &public_ips).await);
    out.push(jvb_targets(observed.jvb.as_ref(), task));
    out.push(security_group(ctx, &observed).await);
    let platform = observed.load_balancer.as_ref().map(|lb| Platform {
        nlb_dns: lb.dns_name.clone(),
        public_ips: public_ips.unwrap_or_default(),
        route53_record: observed.dns_record.clone(),
    });
    (out, platform)
}

/// The NLB's public addresses: its Elastic IPs by allocation id, else the
/// address on its network interface (`ELB net/<name>/<id>`).
async fn nlb_public_ips(ctx: &Context, lb: &LoadBalancer, o: &Observed) -> Result<Vec<String>> {
    let by_allocation: Vec<String> = o
        .elastic_ips
        .iter()
        .filter(|e| lb.allocation_ids.contains(&e.allocation_id))
        .map(|e| e.public_ip.clone())
        .collect();
    if !by_allocation.is_empty() {
        return Ok(by_allocation);
    }
    let id = lb.arn.rsplit('/').next().unwrap_or_default();
    ec2::interface_public_ips(&ctx.aws, &format!("ELB net/{}/{id}", lb.name)).await
}

fn task_line(t: &Task) -> String {
    format!(
        "task {} {} at {}",
        t.short_id(),
        t.last_status,
        t.private_ip.as_deref().unwrap_or("-")
    )
}

fn ecs_service(o: &Observed, service: &str, cluster: &str) -> CheckResult {
    let Some(s) = &o.service else {
        return CheckResult::fail(
            ECS_SERVICE,
            format!("service {service} not found in cluster {cluster}"),
            "apply infra/ (terraform apply), or set cluster and service to the names Terraform gave them",
        );
    };
    if s.desired == 0 {
        return CheckResult::fail(
            ECS_SERVICE,
            format!("{service} is at desired 0: no task runs"),
            "run `meetctl up`",
        );
    }
    let tasks: Vec<String> = o.tasks.iter().map(task_line).collect();
    let all_running = !o.tasks.is_empty() && o.tasks.iter().all(Task::is_running);
    let saw = format!(
        "desired {}, running {}, pending {}; {}",
        s.desired,
        s.running,
        s.pending,
        if tasks.is_empty() {
            "no task".to_string()
        } else {
            tasks.join(", ")
        }
    );
    if s.running == s.desired && all_running {
        CheckResult::pass(ECS_SERVICE, saw)
    } else {
        CheckResult::fail(
            ECS_SERVICE,
            saw,
            "if the task is starting, wait; otherwise read the service's events and the task's stopped reason in the ECS console (image pull, secrets, memory), then run `meetctl up`",
        )
    }
}

async fn ecs_health(ctx: &Context, task: Option<&Task>) -> CheckResult {
    let Some(task) = task else {
        return CheckResult::skip(ECS_HEALTH, "no RUNNING task whose health to read");
    };
    let c = &ctx.config;
    match read(
        c.check.timeout,
        "the task's containers",
        ecs::container_health(&ctx.aws, &c.cluster, &task.arn),
    )
    .await
    {
        Ok(containers) => judge_health(task, &containers),
        Err(e) => CheckResult::skip(ECS_HEALTH, format!("containers not read: {e}")),
    }
}

/// Every container HEALTHY (the task's own health when it lists none).
pub fn judge_health(task: &Task, containers: &[(String, String)]) -> CheckResult {
    let list = |filter: &dyn Fn(&str) -> bool| {
        containers
            .iter()
            .filter(|(_, h)| filter(h))
            .map(|(n, h)| format!("{n} {h}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (healthy, bad) = if containers.is_empty() {
        let h = task.health.as_str();
        (
            h == "HEALTHY",
            format!("task health {h}, no container listed"),
        )
    } else {
        (
            containers.iter().all(|(_, h)| h == "HEALTHY"),
            list(&|h| h != "HEALTHY"),
        )
    };
    let id = task.short_id();
    if healthy {
        let all = if containers.is_empty() {
            "HEALTHY".to_string()
        } else {
            list(&|_| true)
        };
        return CheckResult::pass(ECS_HEALTH, format!("task {id}: {all}"));
    }
    let fix = if bad.contains("UNHEALTHY") {
        "read the unhealthy containers' logs (CloudWatch, stream prefix = container name); after a fix, `meetctl down` then `meetctl up` starts a fresh task"
    } else {
        "health checks have not reported yet (start period 90 s): wait; if it stays UNKNOWN the task definition has no healthCheck: apply infra/ again"
    };
    CheckResult::fail(ECS_HEALTH, format!("task {id}: {bad}"), fix)
}

fn lb_state(o: &Observed, name: &str) -> CheckResult {
    match &o.load_balancer {
        None => CheckResult::fail(
            LB_STATE,
            format!("no load balancer {name}"),
            "run `meetctl up`",
        ),
        Some(lb) if lb.state == "active" => {
            CheckResult::pass(LB_STATE, format!("{} active ({})", lb.name, lb.dns_name))
        }
        Some(lb) if lb.state == "provisioning" => CheckResult::fail(
            LB_STATE,
            format!("{} provisioning", lb.name),
            "wait: provisioning takes minutes (`meetctl up` waits for it)",
        ),
        Some(lb) => CheckResult::fail(
            LB_STATE,
            format!("{} is {}", lb.name, lb.state),
            "run `meetctl down`, then `meetctl up`",
        ),
    }
}

fn lb_listeners(o: &Observed, certificate: Option<&str>) -> CheckResult {
    if o.load_balancer.is_none() {
        return CheckResult::skip(LB_LISTENERS, "no load balancer");
    }
    let have: Vec<String> = o
        .listeners
        .iter()
        .map(|l| format!("{} {}", l.protocol, l.port))
        .collect();
    let have = if have.is_empty() {
        "none".to_string()
    } else {
        have.join(", ")
    };
    let group_arn = |g: &Option<TargetGroupState>| g.as_ref().map(|g| g.group.arn.clone());
    let mut problems = Vec::new();
    for (port, protocol) in state::expected_listeners(certificate) {
        let Some(l) = o
            .listeners
            .iter()
            .find(|l| l.port == port && l.protocol == protocol)
        else {
            problems.push(format!("{protocol} {port} missing"));
            continue;
        };
        let (group, label) = match port {
            JVB_PORT => (&o.jvb, "JVB"),
            TURNS_PORT | TURN_PORT => (&o.turn, "TURN"),
            _ => (&o.web, "web"),
        };
        if l.target_group_arn != group_arn(group) {
            problems.push(format!(
                "{protocol} {port} forwards to {} instead of the {label} target group",
                l.target_group_arn.as_deref().unwrap_or("nothing"),
            ));
        }
        if protocol == "TLS" && l.certificate_arn.as_deref() != certificate {
            problems.push(format!(
                "TLS {port} uses certificate {} instead of certificate_arn",
                l.certificate_arn.as_deref().unwrap_or("none")
            ));
        }
    }
    if !problems.is_empty() {
        return CheckResult::fail(
            LB_LISTENERS,
            format!("{}; listeners: {have}", problems.join("; ")),
            "run `meetctl up`: it makes the listeners exactly UDP 10000 plus TLS 443 and TLS 5349 (with certificate_arn) or TCP 80 and TCP 3478",
        );
    }
    let expected = state::expected_listeners(certificate);
    let extra: Vec<String> = o
        .listeners
        .iter()
        .filter(|l| !expected.contains(&(l.port, l.protocol.as_str())))
        .map(|l| format!("{} {}", l.protocol, l.port))
        .collect();
    if !extra.is_empty() {
        return CheckResult::warn(
            LB_LISTENERS,
            format!(
                "unexpected listener(s) {}; listeners: {have}",
                extra.join(", ")
            ),
            "run `meetctl up` to remove them",
        );
    }
    let (web, turn) = if certificate.is_some() {
        ("TLS 443 (certificate_arn)", "TLS 5349 (TURNS)")
    } else {
        (
            "TCP 80 (no certificate_arn: browsers need HTTPS for camera and microphone)",
            "TCP 3478 (TURN over TCP)",
        )
    };
    CheckResult::pass(
        LB_LISTENERS,
        format!(
            "UDP 10000 → JVB target group, {web} → web target group, {turn} → TURN target group"
        ),
    )
}

fn target_health(
    name: &str,
    group: Option<&TargetGroupState>,
    task: Option<&Task>,
    flag_stale: bool,
) -> CheckResult {
    let Some(group) = group else {
        return CheckResult::fail(name, "target group missing", "run `meetctl up`");
    };
    let Some(ip) = task.and_then(|t| t.private_ip.as_deref()) else {
        return CheckResult::skip(name, "no RUNNING task whose address to look for");
    };
    let g = &group.group.name;
    let Some(target) = group.targets.iter().find(|t| t.ip == ip) else {
        return CheckResult::fail(
            name,
            format!("the task's IP {ip} is not registered in {g}"),
            REGISTER_FIX,
        );
    };
    let reason = target
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let health_check = match name {
        LB_TARGETS_JVB => "HTTP :8080 /about/health",
        LB_TARGETS_TURN => "TCP :3478, coturn",
        _ => "HTTP :80 /",
    };
    match target.state.as_str() {
        "healthy" => {}
        "initial" => {
            return CheckResult::fail(
                name,
                format!("{ip} in {g} is initial{reason}: health checks still running"),
                "wait: NLB registration takes minutes; if it stays initial, see the unhealthy fix",
            )
        }
        "unhealthy" => {
            return CheckResult::fail(
                name,
                format!("{ip} in {g} is unhealthy{reason}"),
                format!("the NLB's health check ({health_check}) fails: the security group must allow TCP 80, 8080 and 3478 from the VPC CIDR, and the container must answer (see ecs.health)"),
            )
        }
        other => {
            return CheckResult::fail(
                name,
                format!("{ip} in {g} is {other}{reason}"),
                REGISTER_FIX,
            )
        }
    }
    let stale = stale_targets(group, ip);
    if flag_stale && !stale.is_empty() {
        return CheckResult::fail(
            name,
            format!(
                "{ip} healthy in {g}, but it also holds {}",
                stale.join(", ")
            ),
            REGISTER_FIX,
        );
    }
    CheckResult::pass(name, format!("{ip} healthy in {g}"))
}

fn stale_targets(group: &TargetGroupState, ip: &str) -> Vec<String> {
    group
        .targets
        .iter()
        .filter(|t| t.ip != ip)
        .map(|t| format!("{} ({})", t.ip, t.state))
        .collect()
}

fn jvb_targets(group: Option<&TargetGroupState>, task: Option<&Task>) -> CheckResult {
    let Some(group) = group else {
        return CheckResult::skip(
            MEDIA_JVB_TARGETS,
            "no JVB target group (see lb.targets.jvb)",
        );
    };
    let Some(ip) = task.and_then(|t| t.private_ip.as_deref()) else {
        return CheckResult::skip(
            MEDIA_JVB_TARGETS,
            "no RUNNING task whose address to compare",
        );
    };
    let g = &group.group.name;
    let stale = stale_targets(group, ip);
    let registered = group.targets.iter().any(|t| t.ip == ip);
    if stale.is_empty() && registered {
        return CheckResult::pass(
            MEDIA_JVB_TARGETS,
            format!("{g} holds exactly the running task's IP {ip}"),
        );
    }
    let live_stale = group
        .targets
        .iter()
        .any(|t| t.ip != ip && t.state != "draining");
    let saw = format!(
        "{g} holds {} but the running task is {ip}{}",
        if group.targets.is_empty() {
            "nothing".to_string()
        } else {
            group
                .targets
                .iter()
                .map(|t| format!("{} ({})", t.ip, t.state))
                .collect::<Vec<_>>()
                .join(", ")
        },
        if stale.is_empty() {
            String::new()
        } else {
            format!(": stale {}, media sent there is lost", stale.join(", "))
        }
    );
    if registered && !live_stale {
        return CheckResult::warn(
            MEDIA_JVB_TARGETS,
            saw,
            "the old address is draining and leaves by itself; if it stays, run `meetctl register-targets`",
        );
    }
    CheckResult::fail(MEDIA_JVB_TARGETS, saw, REGISTER_FIX)
}

/// The addresses in a `JVB_ADVERTISE_IPS` value (`ip` or `ip#port`, comma-separated).
pub fn advertised(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().split('#').next().unwrap_or("").to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn advertise(
    ctx: &Context,
    o: &Observed,
    task: Option<&Task>,
    public_ips: &std::result::Result<Vec<String>, String>,
) -> CheckResult {
    let param = ctx.names.advertise_parameter();
    if o.load_balancer.is_none() {
        return CheckResult::skip(
            MEDIA_ADVERTISE,
            "no load balancer whose address to compare with",
        );
    }
    let ips = match public_ips {
        Ok(ips) if !ips.is_empty() => ips,
        Ok(_) => {
            return CheckResult::fail(
                MEDIA_ADVERTISE,
                "the load balancer has no public address (no Elastic IP on its interface)",
                "run `meetctl down`, then `meetctl up` (the NLB is created with the project's Elastic IP)",
            )
        }
        Err(e) => return CheckResult::skip(MEDIA_ADVERTISE, format!("the load balancer's address could not be read: {e}")),
    };
    let Some(value) = &o.advertise_ips else {
        return CheckResult::fail(
            MEDIA_ADVERTISE,
            format!(
                "{param} is unset: with STUN disabled (JVB_DISABLE_STUN in infra/) the JVB advertises only the task's private address, which clients cannot reach: no media arrives"
            ),
            "run `meetctl up`: it writes the address and restarts the task so the JVB reads it",
        );
    };
    let listed = advertised(value);
    if !ips.iter().any(|ip| listed.contains(ip)) {
        return CheckResult::fail(
            MEDIA_ADVERTISE,
            format!("{param} = {value} but the load balancer's public address is {}: clients send media to the wrong address (breaks with 3+ people)", ips.join(", ")),
            "run `meetctl up`: it rewrites the parameter and restarts the task so the JVB reads it",
        );
    }
    // The JVB reads the parameter when its container starts.
    let modified = read(
        ctx.config.check.timeout,
        "the advertise parameter's date",
        ssm::last_modified(&ctx.aws, &param),
    )
    .await;
    if let (Ok(Some(modified)), Some(started)) = (modified, task.and_then(|t| t.started_at_epoch)) {
        if modified > started + 1 {
            return CheckResult::fail(
                MEDIA_ADVERTISE,
                format!("{param} = {value}, but it changed after the task started: the JVB still advertises the old address"),
                format!("restart the task so the JVB reads it: `meetctl down` then `meetctl up`, or `aws ecs update-service --cluster {} --service {} --force-new-deployment`", ctx.config.cluster, ctx.config.service),
            );
        }
    }
    let extra: Vec<&String> = listed.iter().filter(|a| !ips.contains(a)).collect();
    if !extra.is_empty() {
        return CheckResult::warn(
            MEDIA_ADVERTISE,
            format!(
                "{param} = {value}: besides the load balancer's {} it lists {}",
                ips.join(", "),
                extra
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "run `meetctl up` to write the load balancer's address alone",
        );
    }
    CheckResult::pass(
        MEDIA_ADVERTISE,
        format!("{param} = {value}, the load balancer's public address"),
    )
}

async fn security_group(ctx: &Context, o: &Observed) -> CheckResult {
    let c = &ctx.config;
    let limit = c.check.timeout;
    let groups = match o.service.as_ref().map(|s| s.security_groups.clone()) {
        Some(g) if !g.is_empty() => g,
        _ => match read(
            limit,
            "the task security group",
            ec2::security_group(&ctx.aws, &c.project, c.security_group_id.as_deref()),
        )
        .await
        {
            Ok(g) => vec![g.id],
            Err(e) => {
                return CheckResult::skip(
                    MEDIA_SECURITY_GROUP,
                    format!("no security group to read: {e}"),
                )
            }
        },
    };
    let mut rules = Vec::new();
    let mut vpc = String::new();
    for id in &groups {
        match read(
            limit,
            "security group rules",
            ec2::ingress_rules(&ctx.aws, id),
        )
        .await
        {
            Ok((v, r)) => {
                vpc = v;
                rules.extend(r);
            }
            Err(e) => {
                return CheckResult::skip(
                    MEDIA_SECURITY_GROUP,
                    format!("rules of {id} not read: {e}"),
                )
            }
        }
    }
    let cidr = match read(limit, "the VPC's CIDR", ec2::vpc_cidr(&ctx.aws, &vpc)).await {
        Ok(cidr) => cidr,
        Err(e) => {
            return CheckResult::skip(MEDIA_SECURITY_GROUP, format!("VPC {vpc} not read: {e}"))
        }
    };
    judge_rules(&groups.join(", "), &rules, &cidr)
}

fn parse_v4_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, bits) = cidr.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    Some((u32::from(ip), bits))
}

/// Whether `inner` lies within `outer` (IPv4 CIDRs).
pub fn cidr_within(inner: &str, outer: &str) -> bool {
    match (parse_v4_cidr(inner), parse_v4_cidr(outer)) {
        (Some((i, ib)), Some((o, ob))) => {
            let mask = if ob == 0 { 0 } else { u32::MAX << (32 - ob) };
            ib >= ob && (i & mask) == (o & mask)
        }
        _ => false,
    }
}

fn allows(rule: &IngressRule, protocol: &str, port: i32) -> bool {
    let proto = rule.protocol == "-1" || rule.protocol == protocol;
    let port_ok = match (rule.from_port, rule.to_port) {
        (Some(from), Some(to)) if from >= 0 => (from..=to).contains(&port),
        _ => true,
    };
    proto && port_ok
}

/// UDP 10000 open to anyone; TCP 80, 8080 and 3478 (coturn, behind the
/// NLB's TURN listener) from the VPC and nowhere else.
pub fn judge_rules(groups: &str, rules: &[IngressRule], vpc_cidr: &str) -> CheckResult {
    let mut problems = Vec::new();
    let media_open = rules
        .iter()
        .any(|r| allows(r, "udp", JVB_PORT) && r.source == "0.0.0.0/0");
    if !media_open {
        problems.push("UDP 10000 is not open to 0.0.0.0/0: clients cannot send media".to_string());
    }
    for port in [80, 8080, TURN_PORT] {
        let sources: Vec<&str> = rules
            .iter()
            .filter(|r| allows(r, "tcp", port))
            .map(|r| r.source.as_str())
            .collect();
        let outside: Vec<&str> = sources
            .iter()
            .copied()
            .filter(|s| s.contains('/') && !cidr_within(s, vpc_cidr))
            .collect();
        if !outside.is_empty() {
            problems.push(format!(
                "TCP {port} is open to {} (outside the VPC {vpc_cidr})",
                outside.join(", ")
            ));
        }
        if !sources.iter().any(|s| cidr_within(s, vpc_cidr)) {
            problems.push(format!(
                "TCP {port} is not allowed from the VPC {vpc_cidr}: the NLB's health checks{} cannot reach the task",
                if port == 8080 { "" } else { " and TLS-terminated traffic" }
            ));
        }
    }
    if problems.is_empty() {
        CheckResult::pass(
            MEDIA_SECURITY_GROUP,
            format!(
                "{groups}: UDP 10000 from 0.0.0.0/0; TCP 80, 8080 and 3478 from the VPC {vpc_cidr} only"
            ),
        )
    } else {
        CheckResult::fail(
            MEDIA_SECURITY_GROUP,
            format!("{groups}: {}", problems.join("; ")),
            format!("allow UDP 10000 from 0.0.0.0/0 and TCP 80, 8080 and 3478 from {vpc_cidr} only, as infra/ does (terraform apply puts the rules back)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn rule(protocol: &str, from: i32, to: i32, source: &str) -> IngressRule {
        IngressRule {
            protocol: protocol.into(),
            from_port: Some(from),
            to_port: Some(to),
            source: source.into(),
        }
    }

    fn good() -> Vec<IngressRule> {
        vec![
            rule("udp", 10000, 10000, "0.0.0.0/0"),
            rule("tcp", 80, 80, "10.42.0.0/16"),
            rule("tcp", 8080, 8080, "10.42.0.0/16"),
            rule("tcp", 3478, 3478, "10.42.0.0/16"),
        ]
    }

    #[test]
    fn cidrs_nest() {
        assert!(cidr_within("10.42.1.0/24", "10.42.0.0/16"));
        assert!(cidr_within("10.42.0.0/16", "10.42.0.0/16"));
        assert!(!cidr_within("10.0.0.0/8", "10.42.0.0/16"));
        assert!(!cidr_within("0.0.0.0/0", "10.42.0.0/16"));
        assert!(!cidr_within("::/0", "10.42.0.0/16"));
    }

    #[test]
    fn the_infra_rules_pass() {
        let r = judge_rules("sg-1", &good(), "10.42.0.0/16");
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }

    #[test]
    fn web_ports_open_to_the_world_or_closed_to_the_vpc_fail() {
        let mut rules = good();
        rules.push(rule("tcp", 0, 65535, "0.0.0.0/0"));
        let r = judge_rules("sg-1", &rules, "10.42.0.0/16");
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.saw.contains("TCP 80 is open to 0.0.0.0/0") && r.saw.contains("TCP 8080 is open"),
            "{r:?}"
        );
        let rules: Vec<_> = good()
            .into_iter()
            .filter(|r| r.from_port != Some(8080))
            .collect();
        let r = judge_rules("sg-1", &rules, "10.42.0.0/16");
        assert!(
            r.saw.contains("TCP 8080 is not allowed from the VPC"),
            "{r:?}"
        );
        // Without coturn's port the NLB cannot forward TURN to the task.
        let rules: Vec<_> = good()
            .into_iter()
            .filter(|r| r.from_port != Some(3478))
            .collect();
        let r = judge_rules("sg-1", &rules, "10.42.0.0/16");
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.saw.contains("TCP 3478 is not allowed from the VPC"),
            "{r:?}"
        );
        let all_traffic = vec![IngressRule {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            source: "::/0".into(),
        }];
        let r = judge_rules("sg-1", &all_traffic, "10.42.0.0/16");
        assert!(
            r.saw.contains("UDP 10000 is not open") && r.saw.contains("TCP 80 is open to ::/0"),
            "{r:?}"
        );
    }

    fn task(health: &str) -> Task {
        Task {
            arn: "arn:aws:ecs:us-east-1:1:task/c/abc".into(),
            last_status: "RUNNING".into(),
            desired_status: "RUNNING".into(),
            health: health.into(),
            private_ip: Some("10.42.1.4".into()),
            started_at_epoch: None,
        }
    }

    #[test]
    fn every_container_must_be_healthy() {
        let c = |h: &[(&str, &str)]| -> Vec<(String, String)> {
            h.iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect()
        };
        let ok = judge_health(
            &task("UNKNOWN"),
            &c(&[("web", "HEALTHY"), ("jvb", "HEALTHY")]),
        );
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
        assert!(ok.saw.contains("web HEALTHY, jvb HEALTHY"), "{ok:?}");
        let bad = judge_health(
            &task("UNHEALTHY"),
            &c(&[("web", "HEALTHY"), ("jvb", "UNHEALTHY")]),
        );
        assert_eq!(bad.status, Status::Fail);
        assert!(
            bad.saw.ends_with("jvb UNHEALTHY") && bad.fix.unwrap().contains("logs"),
            "{:?}",
            bad.saw
        );
        let starting = judge_health(&task("UNKNOWN"), &c(&[("jvb", "UNKNOWN")]));
        assert!(starting.fix.unwrap().contains("start period"));
        assert_eq!(judge_health(&task("HEALTHY"), &[]).status, Status::Pass);
        assert_eq!(judge_health(&task("UNKNOWN"), &[]).status, Status::Fail);
    }

    #[test]
    fn advertise_values_parse() {
        assert_eq!(advertised("203.0.113.9"), vec!["203.0.113.9"]);
        assert_eq!(
            advertised(" 203.0.113.9#10000, 198.51.100.1"),
            vec!["203.0.113.9", "198.51.100.1"]
        );
        assert!(advertised("").is_empty());
    }
}
