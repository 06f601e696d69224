//! `meetctl down`: scale to 0 while DNS, the load balancer, target groups
//! and address go, then sweep by tag and prove nothing billable remains.

use std::time::Instant;

use crate::aws::{route53, sts};
use crate::commands::{finish_step, print_failure_state, print_timings, with_lock};
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output::human_duration;
use crate::state::{self, Observed};
use crate::Context;

pub struct DownOptions {
    pub dry_run: bool,
    /// Who runs it, for the history: `cli:<user>@<host>`, `control-plane`, ...
    pub by: String,
    /// Why, when not a person's choice (the control plane's reason).
    pub reason: Option<String>,
}

impl DownOptions {
    /// A `down` a person runs at the CLI.
    pub fn cli(dry_run: bool) -> Self {
        DownOptions {
            dry_run,
            by: crate::control::record::cli_trigger(),
            reason: None,
        }
    }
}

pub async fn run(ctx: &Context, opts: &DownOptions) -> Result<()> {
    let started = Instant::now();
    ctx.aws.ledger.set_read_only(opts.dry_run);
    let step = ctx.out.step("preflight");
    // Both reads at once; bad credentials are reported as such first.
    let (identity, observed) = tokio::join!(sts::caller_identity(&ctx.aws), state::observe(ctx));
    if let Err(e) = identity {
        step.failed("nothing was changed");
        return Err(e);
    }
    let observed = observed?;
    step.done(&format!(
        "{} task(s), load balancer {}",
        observed.tasks.len(),
        if observed.load_balancer.is_some() {
            "present"
        } else {
            "absent"
        }
    ));
    if opts.dry_run {
        print_plan(ctx, &observed);
        return Ok(());
    }
    let was_idle = observed.is_idle();
    // The rate for the report is read while the teardown waits.
    let (outcome, rate) = tokio::join!(
        with_lock(ctx, "down", teardown(ctx, &observed)),
        state::hourly_rate(ctx, &observed)
    );
    if outcome.is_ok() {
        // A courtesy after the fact: nothing billable remains either way.
        let rate = rate.as_ref().ok().copied().flatten();
        if let Err(e) = crate::control::after_down(ctx, &observed, rate, opts).await {
            ctx.out.line(&format!(
                "warning: could not update the session, history or control-plane schedule ({e}); re-run `meetctl down` to retry"
            ));
        }
    }
    match outcome {
        Ok(()) if was_idle => {
            println!(
                "meetctl down: already down (idle); verified nothing billable remains ({})",
                human_duration(started.elapsed())
            );
            Ok(())
        }
        Ok(()) => {
            print_report(ctx, &observed, rate, started);
            Ok(())
        }
        Err(e) => {
            print_failure_state(ctx, "down");
            Err(e)
        }
    }
}

/// Two branches at once, since neither needs the other: the tasks stop while
/// DNS, the load balancer, target groups and the address go. `down` then
/// takes about as long as its longest wait, the address's release.
async fn teardown(ctx: &Context, observed: &Observed) -> Result<()> {
    let tasks = async {
        let step = ctx.out.step("scale-to-zero");
        let stopped = lifecycle::stop_tasks(ctx, &step).await;
        finish_step(step, stopped, |_| "no task running".into())
    };
    let ingress = async {
        remove_dns(ctx, observed).await?;
        if ctx.config.ingress == crate::config::Ingress::Terraform {
            let step = ctx.out.step("terraform");
            let removed = lifecycle::remove_terraform_ingress(ctx, &step).await;
            finish_step(step, removed, |_| {
                "module.jvb_nlb disabled (terraform apply -var nlb_enabled=false)".into()
            })?;
        }
        let step = ctx.out.step("load-balancer");
        let removed = lifecycle::remove_billable(ctx, &step).await;
        finish_step(step, removed, |_| {
            "listeners, load balancer, target groups, Elastic IP and advertise parameter removed"
                .into()
        })
    };
    let (tasks, ingress) = tokio::join!(tasks, ingress);
    tasks?;
    ingress?;

    let step = ctx.out.step("sweep");
    let left = lifecycle::billable_leftovers(ctx).await?;
    if !left.is_empty() {
        step.failed(&left.join(", "));
        return Err(Error::Unexpected {
            what: "teardown".into(),
            problem: format!("still billable after down: {}", left.join(", ")),
            fix: "re-run `meetctl down`; if it persists, delete them in the console (they carry the tags Project=<project> and Lifecycle=on-demand)".into(),
        });
    }
    step.done(
        "no load balancer, target group, listener or Elastic IP tagged for the project remains",
    );
    Ok(())
}

/// Deletes our alias for the domain; a record pointing elsewhere is the user's.
async fn remove_dns(ctx: &Context, observed: &Observed) -> Result<()> {
    let step = ctx.out.step("dns");
    let (Some(zone), Some(_), Some(record)) = (
        &ctx.config.hosted_zone_id,
        &ctx.config.domain,
        &observed.dns_record,
    ) else {
        step.skipped("no record to delete");
        return Ok(());
    };
    let ours = observed.load_balancer.as_ref().is_none_or(|lb| {
        record
            .target_dns
            .eq_ignore_ascii_case(lb.dns_name.trim_end_matches('.'))
    });
    if !ours {
        step.skipped(&format!(
            "{} points at {}, not our load balancer; left alone",
            record.name, record.target_dns
        ));
        return Ok(());
    }
    let deleted = route53::delete_alias(&ctx.aws, zone, record).await;
    finish_step(step, deleted, |_| format!("deleted {}", record.name))
}

fn print_report(ctx: &Context, observed: &Observed, rate: Result<Option<f64>>, started: Instant) {
    let ran_for = observed.uptime();
    // The cost is a courtesy line: a failure to price it must not fail `down`.
    let cost_text = match (rate, ran_for) {
        (Ok(Some(rate)), Some(ran)) => format!(" (~${:.2})", rate * ran.as_secs_f64() / 3600.0),
        _ => String::new(),
    };
    let ran_text = ran_for
        .map(|d| {
            format!(
                "; the platform had been up {}{cost_text}",
                human_duration(d)
            )
        })
        .unwrap_or_default();
    println!(
        "meetctl down: done in {}{ran_text}; nothing billable remains",
        human_duration(started.elapsed())
    );
    print_timings(ctx);
}

fn print_plan(ctx: &Context, observed: &Observed) {
    let n = &ctx.names;
    let none_or = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    println!("meetctl down --dry-run: the plan (nothing is changed)");
    println!("  1. take the lifecycle lock {}", n.lock_parameter());
    println!("  2. in parallel:");
    println!(
        "     a. scale {} to 0 (now desired {}, {} task(s)); wait until none runs",
        ctx.config.service,
        observed.desired(),
        observed.tasks.len()
    );
    match &observed.dns_record {
        Some(r) => println!("     b. delete DNS record {} → {}", r.name, r.target_dns),
        None => println!("     b. DNS: no record to delete"),
    }
    match &observed.load_balancer {
        Some(lb) => println!(
            "        delete {} listener(s) and load balancer {}; wait until gone",
            observed.listeners.len(),
            lb.name
        ),
        None => println!("        load balancer: none"),
    }
    let groups = [&observed.jvb, &observed.web]
        .iter()
        .filter_map(|g| g.as_ref().map(|g| g.group.name.clone()))
        .collect();
    println!("        delete target groups: {}", none_or(groups));
    let eips = observed
        .elastic_ips
        .iter()
        .map(|e| format!("{} ({})", e.public_ip, e.allocation_id))
        .collect();
    println!(
        "        release Elastic IPs once the load balancer lets go: {}",
        none_or(eips)
    );
    println!(
        "        delete {} ({})",
        n.advertise_parameter(),
        observed.advertise_ips.as_deref().unwrap_or("absent")
    );
    println!("  3. sweep by tag Project={}: prove no load balancer, target group or Elastic IP remains; release the lock", n.project);
    println!(
        "  AWS API calls made for this plan: {} (all reads)",
        ctx.aws.ledger.total_calls()
    );
}
