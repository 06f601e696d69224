//! `meetctl status`: what exists, how healthy it is, and one word for it.

use serde::Serialize;

use crate::cost::PriceUnknown;
use crate::error::Result;
use crate::output::human_duration;
use crate::state::{self, Assessment, Observed, Verdict};
use crate::Context;

#[derive(Serialize)]
struct Report<'a> {
    project: &'a str,
    region: &'a str,
    domain: Option<&'a str>,
    verdict: Verdict,
    assessment: &'a Assessment,
    uptime_seconds: Option<u64>,
    cost_so_far_usd: Option<f64>,
    usd_per_hour: Option<f64>,
    /// Set when the region has no prices: why, and how to add them.
    #[serde(skip_serializing_if = "Option::is_none")]
    price_unknown: Option<&'a PriceUnknown>,
    observed: &'a Observed,
}

/// Prints the status; returns the verdict so the caller can set the exit code.
pub async fn run(ctx: &Context, json: bool) -> Result<Verdict> {
    let observed = state::observe(ctx).await?;
    let assessment = observed.assess(
        ctx.config.certificate_arn.as_deref(),
        ctx.config.hosted_zone_id.is_some() && ctx.config.domain.is_some(),
    );
    let up_for = (!observed.is_idle()).then(|| observed.uptime()).flatten();
    let rate = if observed.is_idle() {
        None
    } else {
        state::hourly_rate(ctx, &observed).await?
    };
    let so_far = match (&rate, up_for) {
        (Some(Ok(r)), Some(d)) => Some(r * d.as_secs_f64() / 3600.0),
        _ => None,
    };
    if json {
        let report = Report {
            project: &ctx.config.project,
            region: &ctx.config.region,
            domain: ctx.config.domain.as_deref(),
            verdict: assessment.verdict,
            assessment: &assessment,
            uptime_seconds: up_for.map(|d| d.as_secs()),
            cost_so_far_usd: so_far,
            usd_per_hour: rate.as_ref().and_then(|r| r.as_ref().ok().copied()),
            price_unknown: rate.as_ref().and_then(|r| r.as_ref().err()),
            observed: &observed,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("status serialises")
        );
    } else {
        print_text(ctx, &observed, &assessment, up_for, rate.as_ref(), so_far);
    }
    Ok(assessment.verdict)
}

fn print_text(
    ctx: &Context,
    o: &Observed,
    a: &Assessment,
    up_for: Option<std::time::Duration>,
    rate: Option<&state::PricedRate>,
    so_far: Option<f64>,
) {
    let c = &ctx.config;
    println!("{} — project {} in {}", a.verdict, c.project, c.region);
    match &o.service {
        Some(s) => println!(
            "  service        {} desired {}, running {}, pending {}",
            c.service, s.desired, s.running, s.pending
        ),
        None => println!("  service        {} not found in {}", c.service, c.cluster),
    }
    for t in &o.tasks {
        println!(
            "  task           {} {} (health {}) ip {}",
            t.short_id(),
            t.last_status,
            t.health,
            t.private_ip.as_deref().unwrap_or("-")
        );
    }
    match &o.load_balancer {
        Some(lb) => println!("  load balancer  {} {} {}", lb.name, lb.state, lb.dns_name),
        None => println!("  load balancer  none"),
    }
    if !o.listeners.is_empty() {
        let l: Vec<String> = o
            .listeners
            .iter()
            .map(|l| format!("{} {}", l.protocol, l.port))
            .collect();
        println!("  listeners      {}", l.join(", "));
    }
    for group in [&o.jvb, &o.web, &o.turn].into_iter().flatten() {
        let targets: Vec<String> = group
            .targets
            .iter()
            .map(|t| format!("{} {}", t.ip, t.state))
            .collect();
        println!(
            "  targets        {}: {}",
            group.group.name,
            if targets.is_empty() {
                "none".into()
            } else {
                targets.join(", ")
            }
        );
    }
    for eip in &o.elastic_ips {
        println!(
            "  elastic ip     {} ({}){}",
            eip.public_ip,
            eip.allocation_id,
            if eip.association_id.is_some() {
                " attached"
            } else {
                ""
            }
        );
    }
    println!(
        "  advertise ips  {}",
        o.advertise_ips.as_deref().unwrap_or("unset")
    );
    match (&o.dns_record, &c.hosted_zone_id) {
        (Some(r), _) => println!("  dns            {} → {}", r.name, r.target_dns),
        (None, Some(_)) => println!(
            "  dns            no record for {}",
            c.domain.as_deref().unwrap_or("(domain unset)")
        ),
        (None, None) => println!("  dns            not managed (no hosted_zone_id)"),
    }
    if let Some(d) = up_for {
        println!("  up for         {}", human_duration(d));
    }
    match (rate, so_far) {
        (Some(Ok(r)), Some(s)) => println!("  cost           ${r:.4}/hour; about ${s:.2} so far"),
        (Some(Ok(r)), None) => println!("  cost           ${r:.4}/hour"),
        (Some(Err(unknown)), _) => println!("  cost           {unknown}"),
        (None, _) => {}
    }
    if let Some(lock) = &o.lock {
        println!(
            "  lock           held by {} running `{}`{}",
            lock.owner,
            lock.command,
            if lock.owner_is_dead() {
                " (that process is gone)"
            } else {
                ""
            }
        );
    }
    for p in &a.in_progress {
        println!("  in progress    {p}");
    }
    for p in &a.problems {
        println!("  problem        {p}");
    }
    for f in &a.fixes {
        println!("  fix            {f}");
    }
}
