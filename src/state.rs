//! What exists right now, and the one word that sums it up.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::aws::ec2::{self, ElasticIp};
use crate::aws::ecs::{self, Service, Task};
use crate::aws::elb::{self, Listener, LoadBalancer, Target, TargetGroup};
use crate::aws::route53::{self, AliasRecord};
use crate::aws::ssm;
use crate::cost;
use crate::error::Result;
use crate::lock::{self, LockRecord};
use crate::names::{JVB_PORT, TLS_PORT, TURNS_PORT, TURN_PORT, WEB_PORT};
use crate::Context;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Active,
    Idle,
    Transitional,
    Degraded,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Active => "ACTIVE",
            Verdict::Idle => "IDLE",
            Verdict::Transitional => "TRANSITIONAL",
            Verdict::Degraded => "DEGRADED",
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetGroupState {
    pub group: TargetGroup,
    pub targets: Vec<Target>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Observed {
    pub service: Option<Service>,
    pub tasks: Vec<Task>,
    pub load_balancer: Option<LoadBalancer>,
    pub listeners: Vec<Listener>,
    pub jvb: Option<TargetGroupState>,
    pub web: Option<TargetGroupState>,
    pub turn: Option<TargetGroupState>,
    pub elastic_ips: Vec<ElasticIp>,
    pub advertise_ips: Option<String>,
    pub dns_record: Option<AliasRecord>,
    pub lock: Option<LockRecord>,
}

async fn group_state(ctx: &Context, name: &str) -> Result<Option<TargetGroupState>> {
    let Some(group) = elb::find_target_group(&ctx.aws, name).await? else {
        return Ok(None);
    };
    let targets = elb::targets(&ctx.aws, &group.arn).await?;
    Ok(Some(TargetGroupState { group, targets }))
}

/// Looks at everything at once: the reads are independent, so they run
/// concurrently (a dozen round trips cost about one).
pub async fn observe(ctx: &Context) -> Result<Observed> {
    let (c, aws, names) = (&ctx.config, &ctx.aws, &ctx.names);
    let service_and_tasks = async {
        // Both at once; the task listing only counts when the service exists
        // (AWS answers ServiceNotFoundException for a missing one).
        let (service, tasks) = tokio::join!(
            ecs::service(aws, &c.cluster, &c.service),
            ecs::service_tasks(aws, &c.cluster, &c.service)
        );
        match service? {
            Some(service) => Ok((Some(service), tasks?)),
            None => Ok((None, Vec::new())),
        }
    };
    let load_balancer_and_listeners = async {
        match elb::find_load_balancer(aws, &names.nlb()).await? {
            Some(lb) => {
                let listeners = elb::listeners(aws, &lb.arn).await?;
                Ok((Some(lb), listeners))
            }
            None => Ok((None, Vec::new())),
        }
    };
    let dns_record = async {
        match (&c.hosted_zone_id, &c.domain) {
            // An alias to the front door is the domain at rest (wake on
            // visit), not something `up` made.
            (Some(zone), Some(domain)) => Ok(route53::find_alias(aws, zone, domain)
                .await?
                .filter(|r| !crate::front_door::dns::is_front_door_target(&r.target_dns))),
            _ => Ok(None),
        }
    };
    let (jvb, web, turn, advertise) = (
        names.jvb_target_group(),
        names.web_target_group(),
        names.turn_target_group(),
        names.advertise_parameter(),
    );
    let (
        (service, tasks),
        (load_balancer, listeners),
        dns_record,
        jvb,
        web,
        turn,
        elastic_ips,
        advertise,
        lock,
    ) = tokio::try_join!(
        service_and_tasks,
        load_balancer_and_listeners,
        dns_record,
        group_state(ctx, &jvb),
        group_state(ctx, &web),
        group_state(ctx, &turn),
        ec2::project_eips(aws, names),
        ssm::get(aws, &advertise),
        lock::current(aws, names),
    )?;
    Ok(Observed {
        service,
        tasks,
        load_balancer,
        listeners,
        jvb,
        web,
        turn,
        elastic_ips,
        advertise_ips: advertise,
        dns_record,
        lock: lock.filter(|l| l.expires_in().is_some()),
    })
}

/// The assessment behind the verdict: what is wrong, and what is still moving.
#[derive(Clone, Debug, Serialize)]
pub struct Assessment {
    pub verdict: Verdict,
    pub problems: Vec<String>,
    pub in_progress: Vec<String>,
    pub fixes: Vec<String>,
}

/// An hourly rate in USD, or why it is unknown (a region without prices).
pub type PricedRate = std::result::Result<f64, cost::PriceUnknown>;

/// What the platform's running pieces cost per hour, from the task
/// definition the service runs; None when there is no service. A missing
/// price is an answer ("price unknown"), not an error.
pub async fn hourly_rate(ctx: &Context, observed: &Observed) -> Result<Option<PricedRate>> {
    let Some(service) = &observed.service else {
        return Ok(None);
    };
    let size = ecs::task_size(&ctx.aws, &service.task_definition).await?;
    Ok(Some(
        cost::running_rate(&ctx.config, &size).map(|lines| cost::total(&lines)),
    ))
}

impl Observed {
    /// How long the platform has been up: since the load balancer (the first
    /// hourly-billed piece) was created, else since the task started.
    pub fn uptime(&self) -> Option<Duration> {
        let since = self
            .load_balancer
            .as_ref()
            .and_then(|lb| lb.created_epoch)
            .or_else(|| self.tasks.iter().filter_map(|t| t.started_at_epoch).min())?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        Some(Duration::from_secs((now - since).max(0) as u64))
    }

    pub fn desired(&self) -> i32 {
        self.service.as_ref().map(|s| s.desired).unwrap_or(0)
    }

    pub fn running_task(&self) -> Option<&Task> {
        self.tasks
            .iter()
            .find(|t| t.is_running() && t.private_ip.is_some())
    }

    /// Nothing billable of ours exists and nothing is asked to run.
    pub fn is_idle(&self) -> bool {
        self.desired() == 0
            && self.tasks.is_empty()
            && self.load_balancer.is_none()
            && self.jvb.is_none()
            && self.web.is_none()
            && self.turn.is_none()
            && self.elastic_ips.is_empty()
            && self.advertise_ips.is_none()
            && self.dns_record.is_none()
    }

    pub fn assess(&self, certificate: Option<&str>, want_dns: bool) -> Assessment {
        let mut problems = Vec::new();
        let mut in_progress = Vec::new();
        let mut fixes = Vec::new();
        // A run of this host that died holding the lock (an interrupted `up`)
        // moves nothing: what it left is judged as it stands, not as in progress.
        let dead_run = self.lock.as_ref().filter(|l| l.owner_is_dead());
        if let Some(lock) = dead_run {
            problems.push(format!(
                "`meetctl {}` ({}) was interrupted: its process is gone but its lifecycle lock remains",
                lock.command, lock.owner
            ));
            fixes.push(format!(
                "the next `meetctl up` or `meetctl down` on this host takes over the dead run's lock at once (elsewhere: after it expires{})",
                lock.expires_in()
                    .map(|d| format!(", in {}", crate::output::human_duration(d)))
                    .unwrap_or_default()
            ));
        }
        if self.is_idle() {
            return Assessment {
                verdict: Verdict::Idle,
                problems,
                in_progress,
                fixes,
            };
        }
        let task = self.running_task();
        if self.desired() == 0 {
            problems.push("the service is scaled to 0 but billable resources remain".into());
        } else if task.is_none() {
            match self.tasks.first() {
                Some(t) => in_progress.push(format!("task {} is {}", t.short_id(), t.last_status)),
                None => in_progress.push("waiting for ECS to start the task".into()),
            }
        }
        match &self.load_balancer {
            None => problems.push("no load balancer: nobody can reach the task".into()),
            Some(lb) if lb.state == "provisioning" => {
                in_progress.push("load balancer is provisioning".into())
            }
            Some(lb) if lb.state != "active" => {
                problems.push(format!("load balancer state is {}", lb.state))
            }
            Some(_) => {}
        }
        match self.elastic_ips.as_slice() {
            [] => problems.push("no Elastic IP: the JVB has no stable address to advertise".into()),
            [eip] => {
                if self.advertise_ips.as_deref() != Some(eip.public_ip.as_str()) {
                    problems.push(format!(
                        "JVB_ADVERTISE_IPS is {} but the Elastic IP is {}: media breaks with 3+ people",
                        self.advertise_ips.as_deref().unwrap_or("unset"),
                        eip.public_ip
                    ));
                }
            }
            many => problems.push(format!(
                "{} Elastic IPs tagged for this project (one expected)",
                many.len()
            )),
        }
        for (label, group) in [
            ("JVB (UDP 10000)", &self.jvb),
            ("web (TCP 80)", &self.web),
            ("TURN (TCP 3478)", &self.turn),
        ] {
            let Some(group) = group else {
                problems.push(format!("{label} target group is missing"));
                continue;
            };
            let expected_ip = task.and_then(|t| t.private_ip.as_deref());
            for t in &group.targets {
                if Some(t.ip.as_str()) != expected_ip && expected_ip.is_some() {
                    problems.push(format!(
                        "{label}: stale target {} ({}) is not the running task",
                        t.ip, t.state
                    ));
                    fixes.push("run `meetctl register-targets` to deregister stale IPs".into());
                }
            }
            if let Some(ip) = expected_ip {
                match group.targets.iter().find(|t| t.ip == ip) {
                    None => problems.push(format!("{label}: the task {ip} is not registered")),
                    Some(t) if t.state == "healthy" => {}
                    Some(t) if t.state == "initial" => in_progress.push(format!(
                        "{label}: target {ip} is initial (health checks running)"
                    )),
                    Some(t) => problems.push(format!(
                        "{label}: target {ip} is {}{}",
                        t.state,
                        t.reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )),
                }
            }
        }
        if let Some(service) = self.service.as_ref().filter(|s| s.desired > 0) {
            for group in [&self.jvb, &self.web].into_iter().flatten() {
                let carried = service
                    .load_balancers
                    .iter()
                    .any(|lb| lb.target_group_arn == group.group.arn);
                if !carried {
                    problems.push(format!(
                        "the service does not carry target group {}: a task ECS replaces drops out of the load balancer",
                        group.group.name
                    ));
                }
            }
        }
        if self.load_balancer.is_some() {
            for (port, protocol) in expected_listeners(certificate) {
                if !self
                    .listeners
                    .iter()
                    .any(|l| l.port == port && l.protocol == protocol)
                {
                    problems.push(format!("listener {protocol} {port} is missing"));
                }
            }
        }
        if want_dns {
            match (&self.dns_record, &self.load_balancer) {
                (None, _) => problems.push("no DNS record for the domain".into()),
                (Some(r), Some(lb))
                    if !r
                        .target_dns
                        .eq_ignore_ascii_case(lb.dns_name.trim_end_matches('.')) =>
                {
                    problems.push(format!(
                        "DNS record points at {}, not the load balancer {}",
                        r.target_dns, lb.dns_name
                    ))
                }
                _ => {}
            }
        }
        let verdict = if self.lock.is_some() && dead_run.is_none() {
            in_progress.push("a meetctl run holds the lifecycle lock".into());
            Verdict::Transitional
        } else if !problems.is_empty() {
            Verdict::Degraded
        } else if !in_progress.is_empty() {
            Verdict::Transitional
        } else {
            Verdict::Active
        };
        if verdict == Verdict::Degraded {
            fixes.push("run `meetctl up` to converge to a working platform, or `meetctl down` to remove every billable piece".into());
        }
        fixes.dedup();
        Assessment {
            verdict,
            problems,
            in_progress,
            fixes,
        }
    }
}

/// Listeners the NLB should have: UDP media always; TLS 443 with a
/// certificate, plain TCP 80 without one; and TURN for participants whose
/// network blocks UDP: TURNS on TLS 5349 with the certificate (443 is the
/// site's; 5349 is TURNS' default port, RFC 8656 §3.1), plain TCP 3478
/// without one (TURN over TCP, still through firewalls that allow TCP).
pub fn expected_listeners(certificate: Option<&str>) -> Vec<(i32, &'static str)> {
    if certificate.is_some() {
        vec![(JVB_PORT, "UDP"), (TLS_PORT, "TLS"), (TURNS_PORT, "TLS")]
    } else {
        vec![(JVB_PORT, "UDP"), (WEB_PORT, "TCP"), (TURN_PORT, "TCP")]
    }
}

/// The port `check` allocates a TURN relay on, and whether over TLS.
pub fn turn_listener(certificate: Option<&str>) -> (i32, bool) {
    if certificate.is_some() {
        (TURNS_PORT, true)
    } else {
        (TURN_PORT, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing() -> Observed {
        Observed {
            service: None,
            tasks: Vec::new(),
            load_balancer: None,
            listeners: Vec::new(),
            jvb: None,
            web: None,
            turn: None,
            elastic_ips: Vec::new(),
            advertise_ips: None,
            dns_record: None,
            lock: None,
        }
    }

    fn lock_of(pid: u32) -> LockRecord {
        let in_an_hour = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        LockRecord {
            owner: format!("{}:pid{pid}:0", lock::host_id()),
            command: "up".into(),
            expires_epoch: in_an_hour,
        }
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    /// What an `up` killed right after allocating its address leaves.
    fn interrupted_after_the_address(lock: LockRecord) -> Observed {
        Observed {
            elastic_ips: vec![ElasticIp {
                allocation_id: "eipalloc-0123456789abcdef0".into(),
                public_ip: "198.51.100.7".into(),
                association_id: None,
            }],
            advertise_ips: Some("198.51.100.7".into()),
            lock: Some(lock),
            ..nothing()
        }
    }

    #[test]
    fn a_lock_whose_process_died_is_not_a_run_in_progress() {
        let a = interrupted_after_the_address(lock_of(dead_pid())).assess(None, false);
        assert_eq!(a.verdict, Verdict::Degraded, "{a:?}");
        assert!(
            a.problems.iter().any(|p| p.contains("interrupted")),
            "{a:?}"
        );
        assert!(a.fixes.iter().any(|f| f.contains("takes over")), "{a:?}");
        assert!(a.fixes.iter().any(|f| f.contains("meetctl up")), "{a:?}");
        assert!(a.in_progress.is_empty(), "{a:?}");

        let a = Observed {
            lock: Some(lock_of(dead_pid())),
            ..nothing()
        }
        .assess(None, false);
        assert_eq!(a.verdict, Verdict::Idle, "{a:?}");
        assert!(a.fixes.iter().any(|f| f.contains("takes over")), "{a:?}");

        // The same state with a live owner is a run in progress.
        let live = lock_of(std::process::id());
        let a = interrupted_after_the_address(live).assess(None, false);
        assert_eq!(a.verdict, Verdict::Transitional, "{a:?}");
    }
}
