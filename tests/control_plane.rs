//! The control plane's handler, `meetctl::control::tick`, in-process against
//! the local AWS: the platform is brought up by the real `meetctl` binary,
//! the NLB's metrics are put with PutMetricData (present, absent, below and
//! above the thresholds), and the test asserts what the tick leaves.
//!
//! Elastic Load Balancing publishes these metrics itself in the reserved
//! `AWS/NetworkELB` namespace (real AWS refuses PutMetricData there); the
//! emulator accepts it, so the test stands in for ELB. The dimension is the
//! ARN's final portion, which the emulator spells `app/<name>/<id>` even for
//! a network load balancer.

mod common;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_smithy_types::DateTime;
use common::*;
use meetctl::aws::Aws;
use meetctl::config::Config;
use meetctl::control::{self, record};
use meetctl::{output, Context};

const SCHEDULE: &str = "jitsi-video-platform-control";
const SESSION: &str = "/jitsi-video-platform/meetctl/session";
const HISTORY: &str = "/jitsi-video-platform/meetctl/history";
const LOCK: &str = "/jitsi-video-platform/meetctl/lock";
const MIN: i64 = 60;

fn config(local: &LocalAws, extra: &[(&str, &str)]) -> Config {
    local_config(local, &local.endpoint, extra)
}

async fn context(local: &LocalAws, extra: &[(&str, &str)]) -> Context {
    Context::new(
        config(local, extra),
        local.aws().await,
        output::Reporter::new(),
    )
}

/// (state, description, expression) of the schedule.
async fn schedule(aws: &Aws) -> (String, Option<String>, Option<String>) {
    let s = aws
        .scheduler
        .get_schedule()
        .name(SCHEDULE)
        .send()
        .await
        .unwrap();
    (
        s.state().unwrap().as_str().to_string(),
        s.description().map(String::from),
        s.schedule_expression().map(String::from),
    )
}

async fn put_parameter(aws: &Aws, name: &str, value: &str) {
    aws.ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// Moves the running session's start into the past: the platform "was left up".
async fn backdate_session(aws: &Aws, up_since: i64) {
    let mut session: record::Session =
        serde_json::from_str(&parameter(aws, SESSION).await.expect("up wrote a session")).unwrap();
    session.up_since = up_since;
    put_parameter(aws, SESSION, &serde_json::to_string(&session).unwrap()).await;
}

async fn dimension(aws: &Aws) -> String {
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    let arn = lbs.load_balancers()[0].load_balancer_arn().unwrap();
    arn.split_once(":loadbalancer/").unwrap().1.to_string()
}

async fn put_metric(aws: &Aws, dimension: &str, metric: &str, value: f64, at: i64) {
    aws.cloudwatch
        .put_metric_data()
        .namespace("AWS/NetworkELB")
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("LoadBalancer")
                        .value(dimension)
                        .build(),
                )
                .timestamp(DateTime::from_secs(at))
                .value(value)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// `meetctl up` by the real binary, with the control plane deployed.
async fn up(local: &LocalAws) -> Aws {
    let aws = local.aws().await;
    create_control_schedule(&aws).await;
    let out = local.run(&["up"]);
    assert_code(&out, 0);
    aws
}

fn history(aws_json: &str) -> record::History {
    serde_json::from_str(aws_json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_meeting_is_left_alone_and_the_grace_period_holds() {
    let local = LocalAws::start();
    let aws = up(&local).await;
    let (state, description, expression) = schedule(&aws).await;
    assert_eq!(state, "ENABLED", "up enables the schedule");
    // UpdateSchedule replaces the whole schedule: what up did not mean to
    // change must still be there.
    assert_eq!(description.as_deref(), Some("meetctl control plane"));
    assert_eq!(expression.as_deref(), Some("rate(5 minutes)"));
    let ctx = context(&local, &[]).await;

    // Just up, nobody has joined yet, no metrics at all: the grace period.
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "keep", "{}", report.message);

    // Up 40 minutes; two people on the WebSocket and sending media a minute ago.
    let now = record::now_epoch();
    backdate_session(&aws, now - 40 * MIN).await;
    let dim = dimension(&aws).await;
    for m in (2..=38).step_by(4) {
        put_metric(&aws, &dim, "ActiveFlowCount_TLS", 2.0, now - m * MIN).await;
        put_metric(&aws, &dim, "ProcessedBytes_UDP", 4e6, now - m * MIN).await;
    }
    put_metric(&aws, &dim, "ActiveFlowCount_UDP", 2.0, now - 2 * MIN).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "keep", "{}", report.message);
    let outlook = report.outlook.unwrap();
    assert!(outlook.idle_seconds <= 2 * 60, "{outlook:?}");
    let inv = inventory(&aws).await;
    assert_eq!(
        (inv.load_balancers.len(), inv.elastic_ips.len(), inv.desired),
        (1, 1, 1),
        "{inv:?}"
    );
    assert_eq!(schedule(&aws).await.0, "ENABLED");

    // `status` shows the idle clock and when the platform will go down.
    let out = local.run(&["status"]);
    assert_code(&out, 0);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        so.contains("idle clock") && so.contains("goes down"),
        "{so}"
    );
    assert!(so.contains("the control plane will take it down"), "{so}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_platform_goes_down_by_itself() {
    let local = LocalAws::start();
    let aws = up(&local).await;
    let now = record::now_epoch();
    backdate_session(&aws, now - 60 * MIN).await;
    let dim = dimension(&aws).await;
    // A meeting until 25 minutes ago; since then only a stray UDP probe
    // (below the media threshold), and no data at all for the flows.
    for m in (25..=55).step_by(5) {
        put_metric(&aws, &dim, "ActiveFlowCount_TLS", 3.0, now - m * MIN).await;
        put_metric(&aws, &dim, "ActiveFlowCount_UDP", 3.0, now - m * MIN).await;
    }
    put_metric(&aws, &dim, "ProcessedBytes_UDP", 300.0, now - 3 * MIN).await;
    let ctx = context(&local, &[]).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "down", "{}", report.message);
    assert!(report.message.contains("idle"), "{}", report.message);

    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "nothing billable remains: {inv:?}");
    assert_eq!(
        schedule(&aws).await.0,
        "DISABLED",
        "down disables the schedule"
    );
    assert!(parameter(&aws, SESSION).await.is_none(), "session ended");
    let h = history(&parameter(&aws, HISTORY).await.unwrap());
    let last = h.events.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.by.as_str()),
        ("down", "control-plane")
    );
    assert!(last.reason.as_deref().unwrap().contains("idle"), "{last:?}");
    assert!(
        last.hours.unwrap() >= 1.0 && last.usd.unwrap() > 0.1,
        "{last:?}"
    );
    assert!(h
        .events
        .iter()
        .any(|e| e.event == "up" && e.by.starts_with("cli:")));

    // The next tick finds nothing up and changes nothing.
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "nothing-up", "{}", report.message);

    let out = local.run(&["history"]);
    assert_code(&out, 0);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        so.contains("by control-plane (idle: nobody connected for"),
        "{so}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_uptime_warns_then_takes_down_a_busy_platform() {
    let local = LocalAws::start();
    let aws = up(&local).await;
    let now = record::now_epoch();
    backdate_session(&aws, now - 55 * MIN).await;
    let dim = dimension(&aws).await;
    put_metric(&aws, &dim, "ActiveFlowCount_TLS", 5.0, now - MIN).await;
    put_metric(&aws, &dim, "ActiveFlowCount_UDP", 5.0, now - MIN).await;

    let ctx = context(&local, &[("max_uptime", "1h")]).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "warn", "{}", report.message);
    assert!(report.message.contains("max_uptime"), "{}", report.message);
    assert_eq!(inventory(&aws).await.load_balancers.len(), 1);

    let ctx = context(&local, &[("max_uptime", "50m")]).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "down", "{}", report.message);
    assert!(report.message.contains("max_uptime"), "{}", report.message);
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "{inv:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_up_for_cap_holds() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    create_control_schedule(&aws).await;
    let out = local.run(&["up", "--for", "soon"]);
    assert_code(&out, 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--for"),
        "{}",
        text(&out)
    );
    assert!(is_clean(&inventory(&aws).await));

    assert_code(&local.run(&["up", "--for", "2h"]), 0);
    let session: record::Session =
        serde_json::from_str(&parameter(&aws, SESSION).await.unwrap()).unwrap();
    let until = session.until.expect("--for sets the cap");
    assert!((until - session.up_since - 7200).abs() <= 1, "{session:?}");
    // Two hours later, people still in it.
    put_parameter(
        &aws,
        SESSION,
        &serde_json::to_string(&record::Session {
            until: Some(session.up_since),
            up_since: session.up_since - 7200,
            ..session
        })
        .unwrap(),
    )
    .await;
    let dim = dimension(&aws).await;
    put_metric(
        &aws,
        &dim,
        "ActiveFlowCount_TLS",
        4.0,
        record::now_epoch() - MIN,
    )
    .await;
    let report = control::tick(&context(&local, &[]).await).await.unwrap();
    assert_eq!(report.action, "down", "{}", report.message);
    assert!(report.message.contains("--for"), "{}", report.message);
    assert!(is_clean(&inventory(&aws).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_refuses_up_and_takes_the_platform_down() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    create_control_schedule(&aws).await;
    // This month already cost $4.99 of a $5 budget.
    let now = record::now_epoch();
    let mut spent = record::History::default();
    spent.push(record::Event {
        at: now,
        event: "down".into(),
        by: "cli:someone@somewhere".into(),
        reason: None,
        hours: Some(44.4),
        usd: Some(4.99),
    });
    put_parameter(&aws, HISTORY, &serde_json::to_string(&spent).unwrap()).await;
    let out = local
        .meetctl()
        .env("MEETCTL_MONTHLY_BUDGET_USD", "5")
        .arg("up")
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("monthly_budget_usd") && err.contains("$4.99"),
        "{err}"
    );
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "{inv:?}");
    assert!(
        parameter(&aws, SESSION).await.is_none(),
        "nothing was started"
    );
    assert_eq!(schedule(&aws).await.0, "DISABLED");

    // With room for it, up runs; the budget then takes the platform down
    // once the run has used what was left, people in it or not.
    let out = local
        .meetctl()
        .env("MEETCTL_MONTHLY_BUDGET_USD", "5.2")
        .arg("up")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let dim = dimension(&aws).await;
    put_metric(
        &aws,
        &dim,
        "ActiveFlowCount_TLS",
        2.0,
        record::now_epoch() - MIN,
    )
    .await;
    let ctx = context(&local, &[("monthly_budget_usd", "5.2")]).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "keep", "{}", report.message);
    // At about $0.11/hour, $0.25 lasts a little over two hours.
    backdate_session(&aws, record::now_epoch() - 3 * 3600).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "down", "{}", report.message);
    assert!(
        report.message.contains("monthly_budget_usd"),
        "{}",
        report.message
    );
    assert!(is_clean(&inventory(&aws).await));
    let h = history(&parameter(&aws, HISTORY).await.unwrap());
    assert!(h.month_usd > 5.2, "the month's cost counts this run: {h:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_killed_half_way_converges_on_the_next_tick() {
    let local = LocalAws::start();
    let aws = up(&local).await;
    backdate_session(&aws, record::now_epoch() - 60 * MIN).await;
    // An automatic down was killed after deleting the load balancer: target
    // groups, the Elastic IP, the task and the advertise parameter remain,
    // and so does its lock, held by a process that no longer exists.
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    let arn = lbs.load_balancers()[0].load_balancer_arn().unwrap();
    aws.elb
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .unwrap();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    let lock = serde_json::json!({
        "owner": format!("{host}:pid{dead_pid}:0badc0de"),
        "command": "down",
        "expires_epoch": record::now_epoch() + 3600,
    });
    put_parameter(&aws, LOCK, &lock.to_string()).await;
    let inv = inventory(&aws).await;
    assert!(!is_clean(&inv) && inv.load_balancers.is_empty(), "{inv:?}");

    let ctx = context(&local, &[]).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "down", "{}", report.message);
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "converged: {inv:?}");
    assert_eq!(schedule(&aws).await.0, "DISABLED");
    assert!(parameter(&aws, SESSION).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_waits_for_a_live_run_holding_the_lock() {
    let local = LocalAws::start();
    let aws = up(&local).await;
    backdate_session(&aws, record::now_epoch() - 60 * MIN).await;
    let lock = serde_json::json!({
        "owner": "laptop.example:pid4242:00000001",
        "command": "up",
        "expires_epoch": record::now_epoch() + 3600,
    });
    put_parameter(&aws, LOCK, &lock.to_string()).await;
    let report = control::tick(&context(&local, &[]).await).await.unwrap();
    assert_eq!(report.action, "busy", "{}", report.message);
    assert_eq!(inventory(&aws).await.load_balancers.len(), 1, "left alone");
}

/// The IAM actions an SDK call needs. PutParameter: meetctl creates
/// parameters with their tags, which also needs ssm:AddTagsToResource
/// (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html);
/// UpdateSchedule sends the schedule's role back, which needs iam:PassRole
/// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html);
/// GetCallerIdentity needs no permission
/// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
fn iam_actions(call: &str) -> Vec<String> {
    let (service, operation) = call.split_once('.').unwrap();
    let prefix = match service.to_ascii_lowercase().replace(' ', "").as_str() {
        "ecs" => "ecs",
        "ec2" => "ec2",
        "elasticloadbalancingv2" | "elasticloadbalancing" => "elasticloadbalancing",
        "ssm" => "ssm",
        "cloudwatch" => "cloudwatch",
        "scheduler" => "scheduler",
        "route53" => "route53",
        "sts" => return Vec::new(),
        other => panic!("no IAM prefix known for service {other} ({call})"),
    };
    let mut actions = vec![format!("{prefix}:{operation}")];
    match operation {
        "PutParameter" => actions.push("ssm:AddTagsToResource".into()),
        "UpdateSchedule" => actions.push("iam:PassRole".into()),
        _ => {}
    }
    actions
}

/// Every action listed in `actions = [...]` of the function's policy.
fn policy_actions() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(repo_file("infra/modules/control-plane/function-policy.tf"))
        .unwrap();
    let mut actions = std::collections::BTreeSet::new();
    for (start, _) in text.match_indices("actions") {
        let rest = text[start + "actions".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let list = match rest.strip_prefix('[') {
            Some(body) => &body[..body.find(']').unwrap()],
            None => &rest[..rest.find('\n').unwrap()],
        };
        actions.extend(list.split('"').skip(1).step_by(2).map(String::from));
    }
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_role_allows_exactly_what_a_tick_and_down_call() {
    let local = LocalAws::start();
    let aws = up(&local).await;
    backdate_session(&aws, record::now_epoch() - 60 * MIN).await;
    let ctx = context(&local, &[("monthly_budget_usd", "100")]).await;
    let report = control::tick(&ctx).await.unwrap();
    assert_eq!(report.action, "down", "{}", report.message);
    // And a tick with nothing up.
    assert_eq!(control::tick(&ctx).await.unwrap().action, "nothing-up");
    let called: std::collections::BTreeSet<String> = ctx
        .aws
        .ledger
        .calls()
        .keys()
        .flat_map(|call| iam_actions(call))
        .collect();
    let allowed = policy_actions();
    let missing: Vec<_> = called.difference(&allowed).collect();
    let unused: Vec<_> = allowed
        .iter()
        .filter(|a| !called.contains(*a) && !a.starts_with("logs:"))
        .collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "called but not allowed: {missing:?}; allowed but never called: {unused:?}\ncalls: {:?}",
        ctx.aws.ledger.calls()
    );
    // The Lambda runtime writes the function's own log lines.
    assert!(allowed.contains("logs:PutLogEvents"));
}
