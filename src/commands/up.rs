//! `meetctl up`: preflight, lock, EIP + advertise address, then the NLB and
//! the task in parallel (the service attached to the target groups, so ECS
//! registers its tasks), DNS, and a summary with cost.

use std::time::Instant;

use crate::aws::ec2::ElasticIp;
use crate::aws::elb::TargetGroup;
use crate::aws::ssm;
use crate::commands::{finish_step, print_failure_state, print_timings, with_lock};
use crate::control;
use crate::cost;
use crate::error::{Error, Result};
use crate::lifecycle::{self, Ingress};
use crate::output::human_duration;
use crate::preflight::{self, Base};
use crate::state::{self, Verdict};
use crate::Context;

pub struct UpOptions {
    pub dry_run: bool,
    /// `up --for`: the control plane takes the platform down this long after `up`.
    pub for_seconds: Option<u64>,
}

pub async fn run(ctx: &Context, opts: &UpOptions) -> Result<()> {
    let started = Instant::now();
    let domain = ctx.config.require_domain()?.to_string();
    ctx.aws.ledger.set_read_only(opts.dry_run);
    let step = ctx.out.step("preflight");
    let base = match preflight::run(ctx, &domain).await {
        Ok(base) => base,
        Err(e) => {
            step.failed("nothing was created");
            return Err(e);
        }
    };
    step.done(&format!(
        "account {}, subnet {} ({}), security group {}, task {} vCPU/{} GB",
        base.account,
        base.subnet.id,
        base.subnet.availability_zone,
        base.security_group.id,
        base.task_size.vcpu,
        base.task_size.memory_gb
    ));
    if opts.dry_run {
        return print_plan(ctx, &base, &domain).await;
    }
    refuse_over_budget(ctx, &base, opts).await?;
    if !base.missing_secrets.is_empty() {
        let step = ctx.out.step("secrets");
        ssm::create_secrets(&ctx.aws, &ctx.names, &base.missing_secrets).await?;
        step.done(&format!(
            "created {} (random, SecureString)",
            base.missing_secrets.join(", ")
        ));
    }
    let outcome = with_lock(ctx, "up", async {
        let session = control::before_up(ctx, opts.for_seconds).await?;
        let ingress = converge(ctx, &base, &domain).await?;
        if ingress.is_some() {
            // Under the lock, as `down` ends the session under it.
            if let Err(e) = control::after_up(ctx, &session).await {
                ctx.out.line(&format!(
                    "warning: could not add this run to the history ({e})"
                ));
            }
        }
        Ok(ingress)
    })
    .await;
    match outcome {
        Ok(Some(ingress)) => {
            print_summary(ctx, &base, &domain, &ingress, started);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            print_failure_state(ctx, "up");
            Err(e)
        }
    }
}

/// Refuses (exit 2, before anything is created) when this month's cost and
/// this run's least cost would pass `monthly_budget_usd`. A platform already
/// up is not refused: re-running `up` only converges it.
async fn refuse_over_budget(ctx: &Context, base: &Base, opts: &UpOptions) -> Result<()> {
    if ctx.config.control.monthly_budget_usd.is_none() {
        return Ok(());
    }
    let (session, history) = tokio::try_join!(
        control::record::read_session(&ctx.aws, &ctx.names),
        control::record::read_history(&ctx.aws, &ctx.names),
    )?;
    if session.is_some() {
        return Ok(());
    }
    let rate = match cost::running_rate(&ctx.config, &base.task_size) {
        Ok(lines) => cost::total(&lines),
        Err(unknown) => {
            return Err(Error::preflight(
                "monthly_budget_usd",
                format!("the budget cannot be kept: {unknown}"),
                "add the region's prices (see the message above) or remove monthly_budget_usd; nothing was created",
            ))
        }
    };
    control::check_budget(
        ctx,
        &history,
        rate,
        opts.for_seconds,
        control::record::now_epoch(),
    )
}

/// Returns None when the platform was already up (nothing was changed).
async fn converge(ctx: &Context, base: &Base, domain: &str) -> Result<Option<Ingress>> {
    let mut observed = state::observe(ctx).await?;
    observed.lock = None; // the lock seen now is our own
    let assessment = observed.assess(
        ctx.config.certificate_arn.as_deref(),
        ctx.config.hosted_zone_id.is_some(),
    );
    if assessment.verdict == Verdict::Active {
        let since = observed
            .uptime()
            .map(|d| format!(" (up {})", human_duration(d)))
            .unwrap_or_default();
        println!(
            "meetctl up: already up at {}{since}; nothing to do",
            site_url(ctx, domain)
        );
        warn_if_plain_http(ctx);
        return Ok(None);
    }

    let step = ctx.out.step("elastic-ip");
    let eip = lifecycle::ensure_eip(ctx, observed.elastic_ips.clone()).await?;
    let advertise_changed =
        ssm::set_advertise_address(&ctx.aws, &ctx.names, &eip.public_ip).await?;
    step.done(&format!(
        "{} ({}) written to {}",
        eip.public_ip,
        eip.allocation_id,
        ctx.names.advertise_parameter()
    ));

    // Two branches run at once, so `up` takes about the longest chain of
    // unavoidable waits rather than their sum:
    //   ingress: create NLB, target groups, listeners -> DNS alias -> wait active
    //   task:    (once the listeners exist) scale to 1 attached to the target
    //            groups -> wait RUNNING -> wait healthy
    // ECS registers the task in the groups itself (and a task it replaces
    // later too), which needs groups a listener forwards to, not an active NLB.
    let (groups_tx, groups_rx) = tokio::sync::oneshot::channel::<Vec<TargetGroup>>();
    let ingress_branch = async {
        let step = ctx.out.step("load-balancer");
        let prepared = match lifecycle::prepare_ingress(ctx, base, &eip, &step).await {
            Ok(prepared) => prepared,
            Err(e) => {
                step.failed(&e.to_string());
                return Err(e);
            }
        };
        let _ = groups_tx.send(prepared.groups());
        update_dns(ctx, domain, &prepared, &eip).await?;
        let active = lifecycle::wait_active(ctx, &prepared.load_balancer, &step).await;
        let load_balancer = finish_step(step, active, |lb| {
            format!("{} active ({})", lb.name, lb.dns_name)
        })?;
        Ok(Ingress {
            load_balancer,
            ..prepared
        })
    };
    let task_branch = async {
        let groups = groups_rx.await.map_err(|_| Error::Unexpected {
            what: "scaling the service".into(),
            problem: "the load-balancer step failed before its target groups existed".into(),
            fix: "see the load-balancer error above; re-run `meetctl up`".into(),
        })?;
        let step = ctx.out.step("task");
        let attach = lifecycle::service_load_balancers(&groups[0], &groups[1], &groups[2]);
        let task =
            lifecycle::ensure_task(ctx, base, &observed, advertise_changed, &attach, &step).await;
        let task = finish_step(step, task, |t| {
            format!(
                "task {} RUNNING at {}",
                t.short_id(),
                t.private_ip.as_deref().unwrap_or("?")
            )
        })?;
        let ip = task
            .private_ip
            .clone()
            .expect("ensure_task returns a task with an IP");
        let step = ctx.out.step("targets");
        let refs: Vec<&TargetGroup> = groups.iter().collect();
        let registered = async {
            let (removed, ()) = tokio::try_join!(
                lifecycle::remove_stray_targets(ctx, &refs),
                lifecycle::wait_healthy(ctx, &refs, &ip, &step)
            )?;
            Ok(removed)
        }
        .await;
        finish_step(step, registered, |removed: &Vec<String>| {
            let stale = if removed.is_empty() {
                String::new()
            } else {
                format!("; deregistered stray {}", removed.join(", "))
            };
            let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            format!(
                "{ip} registered by ECS and healthy in {}{stale}",
                names.join(", ")
            )
        })
    };
    let (ingress, targets) = tokio::join!(ingress_branch, task_branch);
    let ingress = ingress?;
    targets?;
    Ok(Some(ingress))
}

/// The alias for the domain, set as soon as the NLB's name is known so DNS
/// propagates while the NLB provisions.
async fn update_dns(ctx: &Context, domain: &str, ingress: &Ingress, eip: &ElasticIp) -> Result<()> {
    let step = ctx.out.step("dns");
    let lb = &ingress.load_balancer;
    match &ctx.config.hosted_zone_id {
        Some(zone) => {
            let result = crate::aws::route53::upsert_alias(
                &ctx.aws,
                zone,
                domain,
                &lb.dns_name,
                &lb.canonical_zone_id,
            )
            .await;
            finish_step(step, result, |_| {
                format!("{domain} → {} (alias in {zone})", lb.dns_name)
            })
        }
        None => {
            step.skipped(&format!(
                "no hosted_zone_id: point {domain} at {} (CNAME) or {} (A) yourself",
                lb.dns_name, eip.public_ip
            ));
            Ok(())
        }
    }
}

/// The address people open: https only when the load balancer terminates
/// TLS (a certificate is configured); without one it listens on plain TCP 80.
pub fn site_url(ctx: &Context, domain: &str) -> String {
    let scheme = if ctx.config.certificate_arn.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{domain}/")
}

/// Browsers expose camera and microphone (getUserMedia) only to secure
/// contexts: https, or http on localhost. A plain-http meeting site loads,
/// but nobody can be seen or heard. See the W3C Media Capture spec
/// (https://w3c.github.io/mediacapture-main/#dom-mediadevices-getusermedia,
/// "[SecureContext]") and https://developer.mozilla.org/en-US/docs/Web/Security/Secure_Contexts.
fn warn_if_plain_http(ctx: &Context) {
    if ctx.config.certificate_arn.is_none() {
        println!(
            "  warning        plain http: browsers refuse camera and microphone on http:// (except for localhost); \
             fix: set certificate_arn to an ACM certificate for the domain and re-run `meetctl up` for https://"
        );
    }
}

fn print_summary(ctx: &Context, base: &Base, domain: &str, ingress: &Ingress, started: Instant) {
    println!(
        "meetctl up: ready in {} — {}",
        human_duration(started.elapsed()),
        site_url(ctx, domain)
    );
    warn_if_plain_http(ctx);
    println!(
        "  load balancer  {} ({})",
        ingress.load_balancer.name, ingress.load_balancer.dns_name
    );
    match cost::running_rate(&ctx.config, &base.task_size) {
        Ok(rate) => {
            println!("  costs now      ${:.4}/hour while up:", cost::total(&rate));
            for line in &rate {
                println!(
                    "                   ${:.4}  {}",
                    line.usd_per_hour, line.item
                );
            }
        }
        Err(unknown) => println!("  costs now      {unknown}"),
    }
    print_timings(ctx);
    println!("  next           `meetctl status`; `meetctl down` when the meeting is over");
}

async fn print_plan(ctx: &Context, base: &Base, domain: &str) -> Result<()> {
    let observed = state::observe(ctx).await?;
    let n = &ctx.names;
    let have = |exists: bool| if exists { "exists, reuse" } else { "create" };
    println!("meetctl up --dry-run: the plan (nothing is changed)");
    if base.missing_secrets.is_empty() {
        println!("  1. secrets: all present (never overwritten)");
    } else {
        println!(
            "  1. secrets: create {} with random values",
            base.missing_secrets.join(", ")
        );
    }
    println!("  2. take the lifecycle lock {}", n.lock_parameter());
    let eip = observed
        .elastic_ips
        .first()
        .map(|e| format!("exists {} ({}), reuse", e.allocation_id, e.public_ip))
        .unwrap_or_else(|| "allocate".into());
    println!(
        "  3. Elastic IP {}: {eip}; write its address to {}",
        n.eip(),
        n.advertise_parameter()
    );
    println!("  4. in parallel:");
    println!(
        "     a. load balancer {} in {} ({}) with that address: {}",
        n.nlb(),
        base.subnet.id,
        base.subnet.availability_zone,
        have(observed.load_balancer.is_some())
    );
    println!(
        "        target group {} UDP 10000, health HTTP :8080 /about/health: {}",
        n.jvb_target_group(),
        have(observed.jvb.is_some())
    );
    println!(
        "        target group {} TCP 80, health HTTP :80 /: {}",
        n.web_target_group(),
        have(observed.web.is_some())
    );
    println!(
        "        target group {} TCP 3478 (coturn), health TCP: {}",
        n.turn_target_group(),
        have(observed.turn.is_some())
    );
    let listeners: Vec<String> = state::expected_listeners(ctx.config.certificate_arn.as_deref())
        .iter()
        .map(|(p, proto)| format!("{proto} {p}"))
        .collect();
    println!("        listeners {}", listeners.join(", "));
    match &ctx.config.hosted_zone_id {
        Some(zone) => {
            println!("        Route53 UPSERT A alias {domain} → the load balancer (zone {zone})")
        }
        None => println!("        DNS: skipped (no hosted_zone_id)"),
    }
    println!("        wait until the load balancer is active");
    println!(
        "     b. once the listeners exist: scale {} to 1 in {} (now desired {}), attached to the target groups (jvb UDP 10000, web TCP 80, coturn TCP 3478); wait for a RUNNING task",
        ctx.config.service,
        base.subnet.id,
        observed.desired()
    );
    println!("        ECS registers the task in the target groups (and any task that replaces it); deregister stray targets; wait until healthy");
    println!("  5. release the lock; print the URL, timings and the hourly cost");
    println!(
        "  AWS API calls made for this plan: {} (all reads)",
        ctx.aws.ledger.total_calls()
    );
    Ok(())
}
