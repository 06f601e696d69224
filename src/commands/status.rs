//! `meetctl status`: what exists, how healthy it is, and one word for it.

use serde::Serialize;

use crate::control::{self, decision::Decision};
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
    /// The control plane's view: idle clock, caps, when it goes down.
    control: Option<&'a control::Outlook>,
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
    // Status must not fail because metrics cannot be read: say so instead.
    let outlook = control::outlook(ctx, &observed, control::record::now_epoch()).await;
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
            control: outlook.as_ref().ok().and_then(|o| o.as_ref()),
            observed: &observed,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("status serialises")
        );
    } else {
        print_text(ctx, &observed, &assessment, up_for, rate.as_ref(), so_far);
        print_control(ctx, &outlook);
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

/// The idle clock, the caps and when the platform goes down by itself.
fn print_control(ctx: &Context, outlook: &Result<Option<control::Outlook>>) {
    let c = &ctx.config.control;
    let caps = format!(
        "idle_timeout {}, grace {}, max_uptime {}, monthly_budget_usd {}",
        human_duration(c.idle_timeout),
        human_duration(c.idle_grace),
        c.max_uptime
            .map(human_duration)
            .unwrap_or_else(|| "none".into()),
        c.monthly_budget_usd
            .map(|b| format!("${b:.2}"))
            .unwrap_or_else(|| "none".into())
    );
    let o = match outlook {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("  auto-down      nothing up; caps: {caps}");
            return;
        }
        Err(e) => {
            println!("  auto-down      unknown: {e}");
            return;
        }
    };
    let idle = human_duration(std::time::Duration::from_secs(o.idle_seconds));
    println!(
        "  idle clock     {idle} with nobody connected ({} minute(s) with traffic since up)",
        o.minutes_with_data
    );
    if let Some(until) = o.input.caps.until {
        println!("  up --for       until {}", control::utc(until));
    }
    if let Some(b) = &o.input.budget {
        println!(
            "  budget         ${:.2} of ${:.2} spent this month",
            b.spent_at(o.input.up_since, o.input.now),
            b.monthly_usd
        );
    }
    println!("  caps           {caps}");
    let when = match &o.decision {
        Decision::Keep { next_down } | Decision::Warn { next_down } => format!(
            "at {} ({}){}",
            control::utc(next_down.at),
            next_down.reason,
            if matches!(next_down.reason, control::decision::Reason::Idle { .. }) {
                ", unless someone connects first"
            } else {
                ", whoever is connected"
            }
        ),
        Decision::Down { reason } => format!("now: {reason}"),
    };
    let scheduled = match o.schedule_enabled {
        Some(true) => "the control plane will take it down",
        Some(false) => {
            "the control-plane schedule is DISABLED: run `meetctl up` again to enable it"
        }
        None => {
            "no control plane deployed (infra/ control_plane_enabled): run `meetctl down` yourself"
        }
    };
    println!("  goes down      {when}; {scheduled}");
}
