//! `meetctl register-targets`: find the running task's IP, register it in
//! every target group (JVB, web, TURN), and deregister every stale address.

use crate::aws::{ecs, elb};
use crate::commands::with_lock;
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::preflight;
use crate::Context;

pub async fn run(ctx: &Context, wait: bool) -> Result<()> {
    let step = ctx.out.step("preflight");
    preflight::identity_and_service(ctx).await?;
    step.done("credentials, cluster and service found");
    with_lock(ctx, "register-targets", async {
        let c = &ctx.config;
        let step = ctx.out.step("task");
        let tasks = ecs::service_tasks(&ctx.aws, &c.cluster, &c.service).await?;
        let task = tasks.iter().filter(|t| t.is_running() && t.private_ip.is_some()).max_by_key(|t| t.started_at_epoch.unwrap_or(0)).ok_or_else(|| Error::Unexpected {
            what: format!("service {}", c.service),
            problem: "no RUNNING task with an IP".into(),
            fix: "run `meetctl up` (it scales the service and registers the task)".into(),
        })?;
        let ip = task.private_ip.clone().expect("filtered on private_ip");
        step.done(&format!("task {} at {ip}", task.short_id()));
        let step = ctx.out.step("targets");
        let mut groups = Vec::new();
        for name in [ctx.names.jvb_target_group(), ctx.names.web_target_group(), ctx.names.turn_target_group()] {
            groups.push(elb::find_target_group(&ctx.aws, &name).await?.ok_or_else(|| Error::Unexpected {
                what: format!("target group {name}"),
                problem: "does not exist".into(),
                fix: "run `meetctl up`, which creates the load balancer and its target groups".into(),
            })?);
        }
        let refs: Vec<&elb::TargetGroup> = groups.iter().collect();
        let removed = lifecycle::sync_targets(ctx, &refs, &ip).await?;
        if wait {
            lifecycle::wait_healthy(ctx, &refs, &ip, &step).await?;
        }
        let stale = if removed.is_empty() { "no stale targets".to_string() } else { format!("deregistered {}", removed.join(", ")) };
        step.done(&format!("{ip} registered{}; {stale}", if wait { " and healthy" } else { "" }));
        println!("meetctl register-targets: {ip} is the only target in {}; {stale}", groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(" and "));
        Ok(())
    })
    .await
}
