//! `meetctl down`: scale to 0 and detach the target groups while DNS, the
//! load balancer, target groups and address go, then sweep by tag and prove
//! nothing billable remains.

use std::time::Instant;

use crate::aws::{elb, route53, sts};
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
    let outcome = with_lock(ctx, "down", async {
        // The rate for the report is read while the teardown waits.
        let (torn_down, rate) = tokio::join!(
            teardown(ctx, &observed),
            state::hourly_rate(ctx, &observed)
        );
        torn_down?;
        // Still under the lock, so a concurrent `up` cannot start a session
        // this would end. Nothing billable remains either way.
        let usd_per_hour = match &rate {
            Ok(Some(Ok(r))) => Some(*r),
            _ => None,
        };
        if let Err(e) = crate::control::after_down(ctx, &observed, usd_per_hour, opts).await {
            ctx.out.line(&format!(
                "warning: could not update the session, history or control-plane schedule ({e}); re-run `meetctl down` to retry"
            ));
        }
        Ok(rate)
    })
    .await;
    match outcome {
        Ok(_) if was_idle => {
            println!(
                "meetctl down: already down (idle); verified nothing billable remains ({})",
                human_duration(started.elapsed())
            );
            Ok(())
        }
        Ok(rate) => {
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
/// takes about as long as its longest wait, the address's release. A failed
/// step does not stop the others: every billable piece that can go goes, the
/// sweep says what is left, and every failure is reported at the end.
async fn teardown(ctx: &Context, observed: &Observed) -> Result<()> {
    let tasks = async {
        let step = ctx.out.step("scale-to-zero");
        let stopped = lifecycle::stop_tasks(ctx, &step).await;
        finish_step(step, stopped, |_| "no task running".into())
    };
    let ingress = async {
        let mut failures = Vec::new();
        failures.extend(remove_dns(ctx, observed).await.err());
        if ctx.config.ingress == crate::config::Ingress::Terraform {
            let step = ctx.out.step("terraform");
            let removed = lifecycle::remove_terraform_ingress(ctx, &step).await;
            let removed = finish_step(step, removed, |_| {
                "module.jvb_nlb disabled (terraform apply -var nlb_enabled=false)".into()
            });
            failures.extend(removed.err());
        }
        let step = ctx.out.step("load-balancer");
        let removal_failures = lifecycle::remove_billable(ctx, &step).await;
        if removal_failures.is_empty() {
            step.done(
                "listeners, load balancer, target groups, Elastic IP and advertise parameter removed",
            );
        } else {
            step.failed(&format!(
                "{} removal(s) failed; the rest was removed",
                removal_failures.len()
            ));
        }
        failures.extend(removal_failures);
        failures
    };
    let (tasks, mut failures) = tokio::join!(tasks, ingress);
    if let Err(e) = tasks {
        failures.insert(0, e);
    }

    let step = ctx.out.step("sweep");
    match lifecycle::billable_leftovers(ctx).await {
        Ok(left) if left.is_empty() => step.done(
            "no load balancer, target group, listener or Elastic IP tagged for the project remains",
        ),
        Ok(left) => {
            step.failed(&left.join(", "));
            failures.push(Error::Unexpected {
                what: "teardown".into(),
                problem: format!("still billable after down: {}", left.join(", ")),
                fix: "re-run `meetctl down`; if it persists, delete them in the console (they carry the tags Project=<project> and Lifecycle=on-demand)".into(),
            });
        }
        Err(e) => {
            step.failed(&e.to_string());
            failures.push(e);
        }
    }
    all_of(failures)
}

/// No failure is success; one is itself; several are listed together.
fn all_of(mut failures: Vec<Error>) -> Result<()> {
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        n => Err(Error::Unexpected {
            what: "down".into(),
            problem: format!(
                "{n} steps failed (everything else was removed):\n  - {}",
                failures
                    .iter()
                    .map(|e| e.to_string().replace('\n', "\n    "))
                    .collect::<Vec<_>>()
                    .join("\n  - ")
            ),
            fix: "fix the causes above, then re-run `meetctl down` (it resumes where this run stopped)".into(),
        }),
    }
}

/// Deletes our alias for the domain; a record pointing elsewhere is the user's.
async fn remove_dns(ctx: &Context, observed: &Observed) -> Result<()> {
    let step = ctx.out.step("dns");
    let (Some(zone), Some(domain), Some(record)) = (
        &ctx.config.hosted_zone_id,
        &ctx.config.domain,
        &observed.dns_record,
    ) else {
        // Wake on visit: the domain at rest leads to the front door, and a
        // front-door alias without a front door is deleted.
        let mut step = step;
        if let (Some(zone), Some(domain)) = (&ctx.config.hosted_zone_id, &ctx.config.domain) {
            let settled = crate::front_door::dns::settle_idle(ctx, zone, domain).await;
            step = match unless_front_door(step, settled) {
                Ok(step) => step,
                Err(outcome) => return outcome,
            };
        }
        step.skipped("no record to delete");
        return Ok(());
    };
    let ours = match points_at_our_load_balancer(ctx, observed, &record.target_dns).await {
        Ok(ours) => ours,
        Err(e) => {
            step.failed(&e.to_string());
            return Err(e);
        }
    };
    if !ours {
        step.skipped(&format!(
            "{} points at {}, not our load balancer; left alone",
            record.name, record.target_dns
        ));
        return Ok(());
    }
    let switched = crate::front_door::dns::replace_alias(ctx, zone, domain, record).await;
    let step = match unless_front_door(step, switched) {
        Ok(step) => step,
        Err(outcome) => return outcome,
    };
    let deleted = route53::delete_alias(&ctx.aws, zone, record).await;
    finish_step(step, deleted, |gone| {
        if *gone {
            format!("deleted {}", record.name)
        } else {
            format!(
                "{} already gone or changed meanwhile; left alone",
                record.name
            )
        }
    })
    .map(|_| ())
}

/// Ends the DNS step when the front door took care of the record (or
/// failed to); hands the step back when it had nothing to do.
fn unless_front_door(
    step: crate::output::Step,
    handled: Result<Option<String>>,
) -> std::result::Result<crate::output::Step, Result<()>> {
    match handled {
        Ok(None) => Ok(step),
        Ok(Some(done)) => {
            step.done(&done);
            Err(Ok(()))
        }
        Err(e) => {
            step.failed(&e.to_string());
            Err(Err(e))
        }
    }
}

/// Whether an alias target is our load balancer. While an NLB of our name
/// exists: it is exactly that NLB's DNS name, and the NLB carries the
/// project's tags (a same-named foreign NLB is not ours). When none exists:
/// the target has the form AWS gives an NLB of our name in this region. That
/// is safe because ELB names are unique per account and region: with no NLB
/// of that name left, such a record can only point at one of our earlier,
/// deleted NLBs (a dangling alias), never at something else of the account.
async fn points_at_our_load_balancer(
    ctx: &Context,
    observed: &Observed,
    target_dns: &str,
) -> Result<bool> {
    match &observed.load_balancer {
        Some(lb) => Ok(
            target_dns.eq_ignore_ascii_case(lb.dns_name.trim_end_matches('.'))
                && elb::is_project_on_demand(&ctx.aws, &ctx.names, &lb.arn).await?,
        ),
        None => Ok(is_dns_name_of(
            target_dns,
            &ctx.names.nlb(),
            &ctx.aws.region,
        )),
    }
}

/// True when `target` is a DNS name AWS gives a load balancer called
/// `lb_name` in `region`: `<name>-<id>.elb.<region>.amazonaws.com` (network
/// load balancers) or `<name>-<id>.<region>.elb.amazonaws.com` (the
/// application form, which the local emulator uses), with or without the
/// `dualstack.` prefix of alias targets. `<id>` has no hyphen, so the NLB
/// `<name>-x` is not mistaken for `<name>`.
fn is_dns_name_of(target: &str, lb_name: &str, region: &str) -> bool {
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    let target = target.strip_prefix("dualstack.").unwrap_or(&target);
    let Some(rest) = target.strip_prefix(&format!("{}-", lb_name.to_ascii_lowercase())) else {
        return false;
    };
    let Some((id, domain)) = rest.split_once('.') else {
        return false;
    };
    let elb_domains = [
        format!("elb.{region}.amazonaws.com"),
        format!("{region}.elb.amazonaws.com"),
        format!("elb.{region}.amazonaws.com.cn"),
    ];
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric())
        && elb_domains.iter().any(|d| d == domain)
}

fn print_report(
    ctx: &Context,
    observed: &Observed,
    rate: Result<Option<state::PricedRate>>,
    started: Instant,
) {
    let ran_for = observed.uptime();
    // The cost is a courtesy line: a failure to price it must not fail `down`.
    let cost_text = match (&rate, ran_for) {
        (Ok(Some(Ok(rate))), Some(ran)) => {
            format!(" (~${:.2})", rate * ran.as_secs_f64() / 3600.0)
        }
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
    if let Ok(Some(Err(unknown))) = &rate {
        println!("  cost           {unknown}");
    }
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
        "     a. scale {} to 0 and detach its target groups (now desired {}, {} task(s)); wait until none runs",
        ctx.config.service,
        observed.desired(),
        observed.tasks.len()
    );
    match &observed.dns_record {
        Some(r) => println!(
            "     b. DNS record {} → {}: point it at the front door when deployed, else delete it",
            r.name, r.target_dns
        ),
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
    let groups = [&observed.jvb, &observed.web, &observed.turn]
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

#[cfg(test)]
mod tests {
    use super::is_dns_name_of;

    #[test]
    fn an_nlb_dns_name_is_recognised_by_name_and_region_only() {
        let name = "jitsi-video-platform-nlb";
        for ours in [
            "jitsi-video-platform-nlb-0123456789abcdef.elb.eu-central-1.amazonaws.com",
            "jitsi-video-platform-nlb-0123456789abcdef.elb.eu-central-1.amazonaws.com.",
            "dualstack.Jitsi-Video-Platform-NLB-0123456789abcdef.elb.eu-central-1.amazonaws.com",
            "jitsi-video-platform-nlb-1.eu-central-1.elb.amazonaws.com",
        ] {
            assert!(is_dns_name_of(ours, name, "eu-central-1"), "{ours}");
        }
        for other in [
            // another load balancer whose name starts with ours
            "jitsi-video-platform-nlb-old-0123456789abcdef.elb.eu-central-1.amazonaws.com",
            // ours by name but another region's
            "jitsi-video-platform-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com",
            // not a load balancer
            "jitsi-video-platform-nlb-1.example.com",
            "other-nlb-0123456789abcdef.elb.eu-central-1.amazonaws.com",
            "jitsi-video-platform-nlb-.elb.eu-central-1.amazonaws.com",
        ] {
            assert!(!is_dns_name_of(other, name, "eu-central-1"), "{other}");
        }
    }
}
