//! `meetctl down`: scale to 0, remove DNS, load balancer, target groups and
//! address, then sweep by tag and prove nothing billable remains.

use std::time::Instant;

use crate::aws::{route53, sts};
use crate::commands::{print_failure_state, print_timings, with_lock};
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::output::human_duration;
use crate::state::{self, Observed};
use crate::Context;

pub struct DownOptions {
    pub dry_run: bool,
}

pub async fn run(ctx: &Context, opts: &DownOptions) -> Result<()> {
    let started = Instant::now();
    ctx.aws.ledger.set_read_only(opts.dry_run);
    let step = ctx.out.step("preflight");
    if let Err(e) = sts::caller_identity(&ctx.aws).await {
        step.failed("nothing was changed");
        return Err(e);
    }
    let observed = state::observe(ctx).await?;
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
    match with_lock(ctx, "down", teardown(ctx, &observed)).await {
        Ok(()) if was_idle => {
            println!(
                "meetctl down: already down (idle); verified nothing billable remains ({})",
                human_duration(started.elapsed())
            );
            Ok(())
        }
        Ok(()) => {
            print_report(ctx, &observed, started).await;
            Ok(())
        }
        Err(e) => {
            print_failure_state(ctx, "down");
            Err(e)
        }
    }
}

async fn teardown(ctx: &Context, observed: &Observed) -> Result<()> {
    let step = ctx.out.step("scale-to-zero");
    lifecycle::stop_tasks(ctx, &step).await?;
    step.done("no task running");

    let step = ctx.out.step("dns");
    match (
        &ctx.config.hosted_zone_id,
        &ctx.config.domain,
        &observed.dns_record,
    ) {
        (Some(zone), Some(_), Some(record)) => {
            // Only our own alias goes: a record pointing elsewhere is the user's.
            let ours = observed.load_balancer.as_ref().is_none_or(|lb| {
                record
                    .target_dns
                    .eq_ignore_ascii_case(lb.dns_name.trim_end_matches('.'))
            });
            if ours {
                route53::delete_alias(&ctx.aws, zone, record).await?;
                step.done(&format!("deleted {}", record.name));
            } else {
                step.skipped(&format!(
                    "{} points at {}, not our load balancer; left alone",
                    record.name, record.target_dns
                ));
            }
        }
        _ => step.skipped("no record to delete"),
    }

    if ctx.config.ingress == crate::config::Ingress::Terraform {
        let step = ctx.out.step("terraform");
        lifecycle::remove_terraform_ingress(ctx, &step).await?;
        step.done("module.jvb_nlb disabled (terraform apply -var nlb_enabled=false)");
    }

    let step = ctx.out.step("load-balancer");
    lifecycle::remove_billable(ctx, &step).await?;
    step.done(
        "listeners, load balancer, target groups, Elastic IP and advertise parameter removed",
    );

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

async fn print_report(ctx: &Context, observed: &Observed, started: Instant) {
    let ran_for = observed.uptime();
    // The cost is a courtesy line: a failure to price it must not fail `down`.
    let cost_text = match (state::hourly_rate(ctx, observed).await, ran_for) {
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
    println!("meetctl down --dry-run: the plan (nothing is changed)");
    println!("  1. take the lifecycle lock {}", n.lock_parameter());
    println!(
        "  2. scale {} to 0 (now desired {}, {} task(s)); wait until none runs",
        ctx.config.service,
        observed.desired(),
        observed.tasks.len()
    );
    match &observed.dns_record {
        Some(r) => println!("  3. delete DNS record {} → {}", r.name, r.target_dns),
        None => println!("  3. DNS: no record to delete"),
    }
    match &observed.load_balancer {
        Some(lb) => println!(
            "  4. delete {} listener(s) and load balancer {}; wait until gone",
            observed.listeners.len(),
            lb.name
        ),
        None => println!("  4. load balancer: none"),
    }
    let groups: Vec<&str> = [&observed.jvb, &observed.web]
        .iter()
        .filter_map(|g| g.as_ref().map(|g| g.group.name.as_str()))
        .collect();
    println!(
        "  5. delete target groups: {}",
        if groups.is_empty() {
            "none".to_string()
        } else {
            groups.join(", ")
        }
    );
    let eips: Vec<String> = observed
        .elastic_ips
        .iter()
        .map(|e| format!("{} ({})", e.public_ip, e.allocation_id))
        .collect();
    println!(
        "  6. release Elastic IPs: {}",
        if eips.is_empty() {
            "none".to_string()
        } else {
            eips.join(", ")
        }
    );
    println!(
        "  7. delete {} ({})",
        n.advertise_parameter(),
        observed.advertise_ips.as_deref().unwrap_or("absent")
    );
    println!("  8. sweep by tag Project={}: prove no load balancer, target group or Elastic IP remains; release the lock", n.project);
    println!(
        "  AWS API calls made for this plan: {} (all reads)",
        ctx.aws.ledger.total_calls()
    );
}
