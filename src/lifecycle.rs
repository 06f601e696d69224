//! The convergent steps `up`, `down` and `register-targets` are built from.
//! Each step looks at what exists first and does only what is missing, so a
//! run that died anywhere is finished (or undone) by the next one.

use crate::aws::ec2::{self, ElasticIp};
use crate::aws::ecs::{self, ServiceChange, ServiceLoadBalancer, Task};
use crate::aws::elb::{self, ListenerSpec, LoadBalancer, TargetGroup, TargetGroupSpec};
use crate::aws::ssm;
use crate::config;
use crate::error::{Error, Result};
use crate::names::{
    JVB_CONTAINER, JVB_PORT, TURNS_PORT, TURN_CONTAINER, TURN_PORT, WEB_CONTAINER, WEB_PORT,
};
use crate::output::Step;
use crate::preflight::Base;
use crate::state::Observed;
use crate::terraform;
use crate::wait::{poll_until, Probe};
use crate::Context;

fn progress(step: &Step) -> impl FnMut(&str, std::time::Duration) + '_ {
    move |seen, _| step.progress(seen)
}

/// One Elastic IP for the project: reuse, allocate, and release duplicates a
/// crashed run may have left. `eips` are the project's as just observed.
pub async fn ensure_eip(ctx: &Context, mut eips: Vec<ElasticIp>) -> Result<ElasticIp> {
    if eips.is_empty() {
        let eip = ec2::allocate_eip(&ctx.aws, &ctx.names).await?;
        ctx.note_created(format!(
            "Elastic IP {} ({})",
            eip.allocation_id, eip.public_ip
        ));
        return Ok(eip);
    }
    // Keep the one in use if any; free spares (an unassociated EIP bills too).
    eips.sort_by_key(|e| e.association_id.is_none());
    let keep = eips.remove(0);
    for spare in eips.iter().filter(|e| e.association_id.is_none()) {
        tracing::info!("releasing duplicate Elastic IP {}", spare.allocation_id);
        ec2::release_eip(&ctx.aws, spare).await?;
    }
    Ok(keep)
}

pub struct Ingress {
    pub load_balancer: LoadBalancer,
    pub jvb: TargetGroup,
    pub web: TargetGroup,
    pub turn: TargetGroup,
}

impl Ingress {
    /// The groups the task's IP is registered in.
    pub fn groups(&self) -> Vec<TargetGroup> {
        vec![self.jvb.clone(), self.web.clone(), self.turn.clone()]
    }
}

async fn ensure_target_group(
    ctx: &Context,
    spec: &TargetGroupSpec,
    vpc_id: &str,
) -> Result<TargetGroup> {
    if let Some(tg) = elb::find_target_group(&ctx.aws, &spec.name).await? {
        // A run that died between the create and the attribute change left
        // the default delay.
        if elb::deregistration_delay(&ctx.aws, &tg.arn).await? != Some(DEREGISTRATION_DELAY_SECS) {
            elb::set_deregistration_delay(&ctx.aws, &tg, DEREGISTRATION_DELAY_SECS).await?;
        }
        return Ok(tg);
    }
    let tg = elb::create_target_group(&ctx.aws, &ctx.names, spec, vpc_id).await?;
    ctx.note_created(format!("target group {}", tg.name));
    elb::set_deregistration_delay(&ctx.aws, &tg, DEREGISTRATION_DELAY_SECS).await?;
    Ok(tg)
}

/// Seconds a deregistered target drains. ECS holds a stopping task in
/// DEACTIVATING until its targets have drained (ECS developer guide, "Amazon
/// ECS task lifecycle"), so the default 300 s would hold every `down` and
/// every task replacement for five minutes; when the task stops the meeting
/// is over anyway. The same value as infra/modules/jvb-nlb's
/// `deregistration_delay`.
pub const DEREGISTRATION_DELAY_SECS: u32 = 30;

/// The target groups as the service is to hold them: UDP 10000 of the `jvb`
/// container in the JVB group, TCP 80 of the `web` container in the web
/// group, TCP 3478 of `coturn` in the TURN group (the container ports of
/// infra/ecs.tf's and infra/turn.tf's port mappings).
pub fn service_load_balancers(
    jvb: &TargetGroup,
    web: &TargetGroup,
    turn: &TargetGroup,
) -> Vec<ServiceLoadBalancer> {
    [
        (jvb, JVB_CONTAINER, JVB_PORT),
        (web, WEB_CONTAINER, WEB_PORT),
        (turn, TURN_CONTAINER, TURN_PORT),
    ]
    .into_iter()
    .map(|(group, container, port)| ServiceLoadBalancer {
        target_group_arn: group.arn.clone(),
        container_name: container.to_string(),
        container_port: port,
    })
    .collect()
}

/// Whether the service holds exactly `wanted`, in any order.
fn holds_exactly(attached: &[ServiceLoadBalancer], wanted: &[ServiceLoadBalancer]) -> bool {
    attached.len() == wanted.len() && wanted.iter().all(|w| attached.contains(w))
}

/// The load balancer, target groups and listeners, by the configured ingress
/// mode, without waiting for the NLB to become active (see [`wait_active`]):
/// the service can be attached to the groups and DNS set while it provisions.
pub async fn prepare_ingress(
    ctx: &Context,
    base: &Base,
    eip: &ElasticIp,
    step: &Step,
) -> Result<Ingress> {
    match ctx.config.ingress {
        config::Ingress::Nlb => prepare_load_balancer(ctx, base, eip, step).await,
        config::Ingress::Terraform => prepare_terraform_load_balancer(ctx, eip, step).await,
    }
}

/// `ingress = "terraform"`: the jvb-nlb module builds the same NLB (same
/// names, our EIP); meetctl reads its outputs.
async fn prepare_terraform_load_balancer(
    ctx: &Context,
    eip: &ElasticIp,
    step: &Step,
) -> Result<Ingress> {
    let dir = &ctx.config.terraform_dir;
    step.progress("terraform apply -target=module.jvb_nlb (nlb_enabled=true)");
    terraform::apply_nlb(
        dir,
        true,
        Some(&eip.allocation_id),
        &ctx.config.terraform_vars,
    )
    .await?;
    ctx.note_created(format!(
        "Terraform module.jvb_nlb in {} (NLB, target groups, listeners)",
        dir.display()
    ));
    let outputs = terraform::outputs(dir).await?;
    let lb_arn = terraform::output_str(&outputs, "nlb_arn", dir)?;
    let load_balancer = elb::find_load_balancer(&ctx.aws, &lb_arn).await?.ok_or_else(|| Error::Unexpected {
        what: format!("load balancer {lb_arn} from terraform output nlb_arn"),
        problem: "not found in AWS".into(),
        fix: "the Terraform state is out of date: run `terraform refresh` in terraform_dir, then `meetctl up`".into(),
    })?;
    let mut groups = Vec::new();
    for output in [
        "nlb_jvb_target_group_arn",
        "nlb_web_target_group_arn",
        "nlb_turn_target_group_arn",
    ] {
        let arn = terraform::output_str(&outputs, output, dir)?;
        groups.push(
            elb::find_target_group(&ctx.aws, &arn)
                .await?
                .ok_or_else(|| Error::Unexpected {
                    what: format!("target group {arn} from terraform output {output}"),
                    problem: "not found in AWS".into(),
                    fix: "run `terraform refresh` in terraform_dir, then `meetctl up`".into(),
                })?,
        );
    }
    let turn = groups.pop().expect("three groups");
    let web = groups.pop().expect("three groups");
    let jvb = groups.pop().expect("three groups");
    Ok(Ingress {
        load_balancer,
        jvb,
        web,
        turn,
    })
}

/// `ingress = "terraform"` on `down`: the module is switched off again.
pub async fn remove_terraform_ingress(ctx: &Context, step: &Step) -> Result<()> {
    step.progress("terraform apply -target=module.jvb_nlb (nlb_enabled=false)");
    terraform::apply_nlb(
        &ctx.config.terraform_dir,
        false,
        None,
        &ctx.config.terraform_vars,
    )
    .await
}

/// The NLB in the chosen subnet with our EIP, the target groups and the
/// listeners.
async fn prepare_load_balancer(
    ctx: &Context,
    base: &Base,
    eip: &ElasticIp,
    step: &Step,
) -> Result<Ingress> {
    let aws = &ctx.aws;
    let mut existing = elb::find_load_balancer(aws, &ctx.names.nlb()).await?;
    let mut replaced = false;
    if let Some(lb) = &existing {
        // An NLB's subnet and address cannot change in place; one built for
        // another subnet or address is replaced rather than left half-right.
        let wrong_subnet = !lb.subnets.is_empty() && !lb.subnets.contains(&base.subnet.id);
        let wrong_address =
            !lb.allocation_ids.is_empty() && !lb.allocation_ids.contains(&eip.allocation_id);
        if wrong_subnet || wrong_address {
            step.progress("replacing a load balancer built for another subnet or address");
            delete_load_balancer(ctx, lb, step).await?;
            existing = None;
            replaced = true;
        }
    }
    let load_balancer = match existing {
        Some(lb) => lb,
        None => {
            // A deleted NLB keeps its EIP associated for a while, and until it
            // lets go CreateLoadBalancer with that allocation fails
            // `ResourceInUse: The allocation IDs are not available for use`
            // (seen in hashicorp/terraform-provider-aws#15031 and
            // terraform-aws-modules/terraform-aws-alb#171). With no NLB of
            // ours, an associated EIP is such a leftover (a `down` killed
            // between the NLB's deletion and the release, or the replacement
            // just above). Waiting keeps the address: users who point an A
            // record at it (no hosted_zone_id) keep working, where a fresh EIP
            // would change it and the old one would still need this wait to
            // be released.
            if replaced || eip.association_id.is_some() {
                wait_eip_free(ctx, eip, step).await?;
            }
            step.progress("creating load balancer");
            let lb = elb::create_nlb(aws, &ctx.names, &base.subnet.id, &eip.allocation_id).await?;
            ctx.note_created(format!("load balancer {}", lb.name));
            lb
        }
    };
    let (jvb_spec, web_spec, turn_spec) = (
        TargetGroupSpec::jvb(&ctx.names),
        TargetGroupSpec::web(&ctx.names),
        TargetGroupSpec::turn(&ctx.names),
    );
    let (jvb, web, turn) = tokio::try_join!(
        ensure_target_group(ctx, &jvb_spec, &base.subnet.vpc_id),
        ensure_target_group(ctx, &web_spec, &base.subnet.vpc_id),
        ensure_target_group(ctx, &turn_spec, &base.subnet.vpc_id)
    )?;
    let ingress = Ingress {
        load_balancer,
        jvb,
        web,
        turn,
    };
    ensure_listeners(ctx, &ingress).await?;
    Ok(ingress)
}

/// Waits until the NLB is `active`; `failed` or a vanished NLB is an error.
pub async fn wait_active(
    ctx: &Context,
    load_balancer: &LoadBalancer,
    step: &Step,
) -> Result<LoadBalancer> {
    let spec = ctx
        .wait_spec(format!("load balancer {} to become active", load_balancer.name), ctx.config.timeouts.nlb_active)
        .with_fix("raise nlb_active_timeout, or check the NLB in the EC2 console; re-running `meetctl up` resumes");
    let arn = &load_balancer.arn;
    poll_until(&spec, progress(step), || async {
        match elb::find_load_balancer(&ctx.aws, arn).await? {
            Some(lb) if lb.state == "active" => Ok(Probe::Ready(lb)),
            Some(lb) if lb.state == "failed" => Err(Error::Unexpected {
                what: format!("load balancer {}", lb.name),
                problem: "provisioning failed".into(),
                fix: "run `meetctl down`, then `meetctl up` again".into(),
            }),
            Some(lb) => Ok(Probe::Pending(format!("load balancer {}", lb.state))),
            None => Err(Error::Unexpected {
                what: format!("load balancer {arn}"),
                problem: "disappeared while provisioning".into(),
                fix: "re-run `meetctl up`".into(),
            }),
        }
    })
    .await
}

/// The listeners of [`crate::state::expected_listeners`], bound to our
/// target groups: media to the JVB group, TURN to coturn's group, the site
/// to the web group.
fn listener_specs(ctx: &Context, ingress: &Ingress) -> Vec<ListenerSpec> {
    let certificate = ctx.config.certificate_arn.as_deref();
    crate::state::expected_listeners(certificate)
        .into_iter()
        .map(|(port, protocol)| ListenerSpec {
            port,
            protocol: protocol.into(),
            target_group_arn: match port {
                JVB_PORT => &ingress.jvb.arn,
                TURNS_PORT | TURN_PORT => &ingress.turn.arn,
                _ => &ingress.web.arn,
            }
            .clone(),
            certificate_arn: (protocol == "TLS")
                .then(|| certificate.map(String::from))
                .flatten(),
        })
        .collect()
}

/// Makes the listeners exactly the wanted ones (a certificate added or
/// removed since the last run swaps TCP 80 and TLS 443).
async fn ensure_listeners(ctx: &Context, ingress: &Ingress) -> Result<()> {
    let lb = &ingress.load_balancer;
    let wanted = listener_specs(ctx, ingress);
    let existing = elb::listeners(&ctx.aws, &lb.arn).await?;
    for l in existing
        .iter()
        .filter(|l| !wanted.iter().any(|w| w.matches(l)))
    {
        elb::delete_listener(&ctx.aws, &l.arn).await?;
    }
    for spec in wanted
        .iter()
        .filter(|w| !existing.iter().any(|l| w.matches(l)))
    {
        elb::create_listener(&ctx.aws, &ctx.names, &lb.arn, spec).await?;
        ctx.note_created(format!("listener {} {}", spec.protocol.as_str(), spec.port));
    }
    Ok(())
}

/// Scales the service to 1, pinned to the NLB's subnet and attached to the
/// target groups `groups` (ECS then registers each task it starts and
/// deregisters each one it stops), and waits for a running task with a
/// private IP. With `restart`, a task already running is replaced so the JVB
/// reads a changed advertise address. `observed` is the state seen under the
/// lock, so the service and its tasks are as seen.
///
/// The groups must already be forwarded to by a listener: ECS rejects a
/// target group without a load balancer ("The target group ... does not have
/// an associated load balancer", InvalidParameterException; modelled in
/// harness/fault_proxy.py).
pub async fn ensure_task(
    ctx: &Context,
    base: &Base,
    observed: &Observed,
    restart: bool,
    groups: &[ServiceLoadBalancer],
    step: &Step,
) -> Result<Task> {
    let c = &ctx.config;
    let service = observed.service.as_ref().ok_or_else(|| Error::Unexpected {
        what: format!("service {}", c.service),
        problem: "disappeared after preflight".into(),
        fix: "apply infra/ again".into(),
    })?;
    let before = &observed.tasks;
    let pinned = service.subnets == [base.subnet.id.clone()]
        && service.security_groups == [base.security_group.id.clone()];
    let attached = holds_exactly(&service.load_balancers, groups);
    // A change of the target groups or of the network configuration starts
    // a new deployment, which replaces a task already running (UpdateService
    // API reference): wait for the new one.
    let restart = (restart || !attached || !pinned) && !before.is_empty();
    if service.desired != 1 || !pinned || restart || !attached {
        step.progress("scaling the service to 1 behind the target groups");
        let change = ServiceChange {
            pin: Some((&base.subnet.id, &base.security_group.id)),
            load_balancers: Some(groups),
            // ECS ignores failing load-balancer health checks of a new task
            // this long: as long as `up` itself waits for them, since NLB
            // registration and the first checks take minutes on real AWS and
            // the JVMs start slowly. Without it ECS would stop the task
            // before it could ever become healthy.
            health_check_grace: Some(c.timeouts.targets_healthy),
            force_new_deployment: restart,
        };
        ecs::update_service(&ctx.aws, &c.cluster, &c.service, 1, change).await?;
        ctx.note_created(format!(
            "service {} at desired 1, attached to its target groups",
            c.service
        ));
    }
    let old: Vec<String> = if restart {
        before.iter().map(|t| t.arn.clone()).collect()
    } else {
        Vec::new()
    };
    let spec = ctx
        .wait_spec(format!("a RUNNING task of service {}", c.service), c.timeouts.task_running)
        .with_fix("check the service's events and the task's stopped reason in the ECS console (image pull, secrets, memory); raise task_running_timeout if pulls are slow");
    // Once the new task is known, each look describes just that task (one
    // call instead of ListTasks + DescribeTasks); the service is listed again
    // only when no watched task is still meant to run.
    let watched = std::sync::Mutex::new(Vec::<String>::new());
    poll_until(&spec, progress(step), || async {
        let known = watched.lock().expect("not poisoned").clone();
        let mut tasks = ecs::describe_tasks(&ctx.aws, &c.cluster, &c.service, &known).await?;
        if !tasks.iter().any(|t| t.desired_status == "RUNNING") {
            tasks = ecs::service_tasks(&ctx.aws, &c.cluster, &c.service).await?;
            *watched.lock().expect("not poisoned") = tasks
                .iter()
                .filter(|t| !old.contains(&t.arn))
                .map(|t| t.arn.clone())
                .collect();
        }
        let newest_running = tasks
            .iter()
            .filter(|t| t.is_running() && t.private_ip.is_some() && !old.contains(&t.arn))
            .max_by_key(|t| t.started_at_epoch.unwrap_or(0));
        Ok(match newest_running {
            Some(t) => Probe::Ready(t.clone()),
            None if tasks.is_empty() => Probe::Pending("no task yet".into()),
            None => Probe::Pending(
                tasks
                    .iter()
                    .map(|t| format!("task {} {}", t.short_id(), t.last_status))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        })
    })
    .await
}

/// Registers `ip` in every group and deregisters every other target, so a
/// replaced task never leaves its old address behind. The groups are done at
/// once, and each registers before it looks (registering a registered target
/// changes nothing): registration is what the long health wait counts from.
pub async fn sync_targets(ctx: &Context, groups: &[&TargetGroup], ip: &str) -> Result<Vec<String>> {
    let per_group = groups.iter().map(|tg| async move {
        let (_, targets) = tokio::try_join!(
            elb::register(&ctx.aws, tg, ip),
            elb::targets(&ctx.aws, &tg.arn)
        )?;
        let stale: Vec<_> = targets
            .into_iter()
            .filter(|t| t.ip != ip && t.state != "draining")
            .collect();
        deregister_named(ctx, tg, &stale).await
    });
    Ok(futures::future::try_join_all(per_group)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Deregisters `targets` from `tg`; returns "ip from group" for each.
async fn deregister_named(
    ctx: &Context,
    tg: &TargetGroup,
    targets: &[elb::Target],
) -> Result<Vec<String>> {
    elb::deregister(&ctx.aws, tg, targets).await?;
    Ok(targets
        .iter()
        .map(|t| format!("{} from {}", t.ip, tg.name))
        .collect())
}

/// Deregisters every target that is no task of the service: addresses a
/// crashed run or a hand registration left. ECS registers and deregisters
/// the service's own tasks, so a target of a live task (even one still
/// starting) is never touched.
pub async fn remove_stray_targets(ctx: &Context, groups: &[&TargetGroup]) -> Result<Vec<String>> {
    let c = &ctx.config;
    let tasks = ecs::service_tasks(&ctx.aws, &c.cluster, &c.service).await?;
    let live: Vec<&str> = tasks
        .iter()
        .filter_map(|t| t.private_ip.as_deref())
        .collect();
    let per_group = groups.iter().map(|tg| {
        let live = &live;
        async move {
            let strays: Vec<_> = elb::targets(&ctx.aws, &tg.arn)
                .await?
                .into_iter()
                .filter(|t| !live.contains(&t.ip.as_str()) && t.state != "draining")
                .collect();
            deregister_named(ctx, tg, &strays).await
        }
    });
    Ok(futures::future::try_join_all(per_group)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Waits until `ip` is healthy in every group. Each look asks one group: the
/// first not yet seen healthy (the groups were registered together, so the
/// others are usually healthy by the time the first is).
pub async fn wait_healthy(
    ctx: &Context,
    groups: &[&TargetGroup],
    ip: &str,
    step: &Step,
) -> Result<()> {
    let spec = ctx
        .wait_spec(format!("target {ip} to be healthy in {}", groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(" and ")), ctx.config.timeouts.targets_healthy)
        .with_fix("check that the security group allows TCP 80, 8080 and 3478 from the VPC CIDR and that the jvb, web and coturn containers are healthy; raise targets_healthy_timeout (NLB registration takes minutes)");
    let seen_healthy = std::sync::atomic::AtomicUsize::new(0);
    poll_until(&spec, progress(step), || async {
        use std::sync::atomic::Ordering::SeqCst;
        while let Some(tg) = groups.get(seen_healthy.load(SeqCst)) {
            let targets = elb::targets(&ctx.aws, &tg.arn).await?;
            let state = match targets.iter().find(|t| t.ip == ip) {
                Some(t) if t.state == "healthy" => {
                    seen_healthy.fetch_add(1, SeqCst);
                    continue;
                }
                Some(t) => match &t.reason {
                    Some(reason) => format!("{} ({reason})", t.state),
                    None => t.state.clone(),
                },
                None => "not registered".into(),
            };
            let healthy: Vec<&str> = groups[..seen_healthy.load(SeqCst)]
                .iter()
                .map(|g| g.name.as_str())
                .collect();
            let done = if healthy.is_empty() {
                String::new()
            } else {
                format!("; healthy in {}", healthy.join(", "))
            };
            return Ok(Probe::Pending(format!("{}: {state}{done}", tg.name)));
        }
        Ok(Probe::Ready(()))
    })
    .await
}

/// Scales to 0, detaches the target groups, and waits until no task of the
/// service is left, counting those ECS is still stopping (desired STOPPED,
/// not yet STOPPED).
pub async fn stop_tasks(ctx: &Context, step: &Step) -> Result<()> {
    let c = &ctx.config;
    let Some(service) = ecs::service(&ctx.aws, &c.cluster, &c.service).await? else {
        return Ok(());
    };
    if service.desired != 0 || !service.load_balancers.is_empty() {
        // Detached in the same call: no target group of ours stays referenced
        // by the service once `down` deletes them.
        let detach = ServiceChange {
            load_balancers: Some(&[]),
            ..ServiceChange::default()
        };
        ecs::update_service(&ctx.aws, &c.cluster, &c.service, 0, detach).await?;
    }
    let spec = ctx.wait_spec(format!("the tasks of service {} to stop", c.service), c.timeouts.task_stopped).with_fix("check the ECS console for a task stuck in DEACTIVATING; re-run `meetctl down` to resume");
    poll_until(&spec, progress(step), || async {
        let tasks = ecs::service_tasks_not_stopped(&ctx.aws, &c.cluster, &c.service).await?;
        Ok(if tasks.is_empty() {
            Probe::Ready(())
        } else {
            Probe::Pending(
                tasks
                    .iter()
                    .map(|t| {
                        format!(
                            "task {} {} (desired {})",
                            t.short_id(),
                            t.last_status,
                            t.desired_status
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
    })
    .await
}

/// Deletes the NLB (which deletes its listeners with it) and waits until it
/// is gone.
pub async fn delete_load_balancer(ctx: &Context, lb: &LoadBalancer, step: &Step) -> Result<()> {
    elb::delete_load_balancer(&ctx.aws, &lb.arn).await?;
    let spec = ctx.wait_spec(
        format!("load balancer {} to be deleted", lb.name),
        ctx.config.timeouts.nlb_deleted,
    );
    poll_until(&spec, progress(step), || async {
        Ok(match elb::find_load_balancer(&ctx.aws, &lb.arn).await? {
            None => Probe::Ready(()),
            Some(still) => Probe::Pending(format!("load balancer {}", still.state)),
        })
    })
    .await
}

/// Waits until nothing holds the EIP: the network interface of a deleted NLB
/// lets go of it some time after the NLB itself is gone.
pub async fn wait_eip_free(ctx: &Context, eip: &ElasticIp, step: &Step) -> Result<()> {
    let spec = ctx
        .wait_spec(
            format!("Elastic IP {} to be detached", eip.public_ip),
            ctx.config.timeouts.nlb_deleted,
        )
        .with_fix("a deleted load balancer holds the address for a few minutes; re-run the command to resume, or raise nlb_deleted_timeout");
    let names = &ctx.names;
    poll_until(&spec, progress(step), || async {
        let now = ec2::project_eips(&ctx.aws, names).await?;
        Ok(
            match now.iter().find(|e| e.allocation_id == eip.allocation_id) {
                Some(e) if e.association_id.is_some() => Probe::Pending(format!(
                    "{} still attached ({})",
                    e.public_ip,
                    e.association_id.as_deref().unwrap_or("")
                )),
                _ => Probe::Ready(()),
            },
        )
    })
    .await
}

/// Releases an EIP once nothing holds it (releasing earlier fails).
pub async fn release_eip(ctx: &Context, eip: &ElasticIp, step: &Step) -> Result<()> {
    wait_eip_free(ctx, eip, step).await?;
    ec2::release_eip(&ctx.aws, eip).await
}

/// Deletes whatever the project still has tagged: load balancers, target
/// groups and Elastic IPs, then the advertise parameter. One failure does not
/// stop the rest: every piece that can go goes, and every failure is
/// returned. Addresses are released only once every load balancer is gone
/// (one that failed to go still holds its address).
pub async fn remove_billable(ctx: &Context, step: &Step) -> Vec<Error> {
    let mut failures = Vec::new();
    let keep_going = |result: Result<()>, failures: &mut Vec<Error>| {
        if let Err(e) = result {
            step.progress(&format!("failed: {e}"));
            failures.push(e);
        }
    };
    match elb::project_load_balancers(&ctx.aws, &ctx.names).await {
        Ok(load_balancers) => {
            for lb in load_balancers {
                step.progress(&format!("deleting load balancer {}", lb.name));
                keep_going(delete_load_balancer(ctx, &lb, step).await, &mut failures);
            }
        }
        Err(e) => keep_going(Err(e), &mut failures),
    }
    let load_balancers_gone = failures.is_empty();
    match elb::project_target_groups(&ctx.aws, &ctx.names).await {
        Ok(groups) => {
            for tg in groups {
                step.progress(&format!("deleting target group {}", tg.name));
                keep_going(
                    elb::delete_target_group(&ctx.aws, &tg.arn).await,
                    &mut failures,
                );
            }
        }
        Err(e) => keep_going(Err(e), &mut failures),
    }
    if load_balancers_gone {
        match ec2::project_eips(&ctx.aws, &ctx.names).await {
            Ok(eips) => {
                for eip in eips {
                    step.progress(&format!("releasing Elastic IP {}", eip.public_ip));
                    keep_going(release_eip(ctx, &eip, step).await, &mut failures);
                }
            }
            Err(e) => keep_going(Err(e), &mut failures),
        }
    }
    keep_going(
        ssm::delete(&ctx.aws, &ctx.names.advertise_parameter())
            .await
            .map(|_| ()),
        &mut failures,
    );
    failures
}

/// What billable resources tagged for the project remain (empty = proven clean).
pub async fn billable_leftovers(ctx: &Context) -> Result<Vec<String>> {
    let load_balancers = async {
        let mut left = Vec::new();
        for lb in elb::project_load_balancers(&ctx.aws, &ctx.names).await? {
            left.push(format!("load balancer {}", lb.name));
            left.extend(
                elb::listeners(&ctx.aws, &lb.arn)
                    .await?
                    .iter()
                    .map(|l| format!("listener {} {}", l.protocol, l.port)),
            );
        }
        Ok::<_, Error>(left)
    };
    let (load_balancers, groups, eips) = tokio::try_join!(
        load_balancers,
        elb::project_target_groups(&ctx.aws, &ctx.names),
        ec2::project_eips(&ctx.aws, &ctx.names),
    )?;
    let groups = groups.iter().map(|tg| format!("target group {}", tg.name));
    let eips = eips
        .iter()
        .map(|e| format!("Elastic IP {} ({})", e.public_ip, e.allocation_id));
    Ok(load_balancers
        .into_iter()
        .chain(groups)
        .chain(eips)
        .collect())
}
