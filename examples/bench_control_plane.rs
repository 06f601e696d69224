//! Benchmark of the control plane (issue 12). Prints figures; asserts
//! nothing. Run it with `bash scripts/bench-control-plane.sh`.
//!
//! 1. What the control plane costs per month at 0, 10 and 200 hours up
//!    (data/prices.toml, the model in src/cost/control_plane.rs).
//! 2. The time from the last participant leaving to nothing billable:
//!    ELB's metric delay + idle_timeout + the wait for the next tick + the
//!    automatic `down` itself. The last is measured: a real tick (in
//!    process) takes a platform down through harness/fault_proxy.py's timing
//!    model (NLB deletion and the Elastic IP's release after it, real AWS
//!    seconds scaled down SCALE times), and is scaled back up.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::Instant;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use aws_smithy_types::DateTime;
use common::{FaultProxy, LocalAws};
use meetctl::control::{self, record};
use meetctl::cost::control_plane::{month, Assumptions};
use meetctl::cost::Prices;
use meetctl::{output, Context};

const SCALE: f64 = 20.0;
/// ELB publishes a minute's data point after the minute ends, typically
/// within another minute (assumption; CloudWatch does not promise a delay).
const METRIC_DELAY_S: f64 = 120.0;
const POLL_MS: u64 = 100;

fn main() {
    let prices = Prices::for_region("us-east-1").expect("built-in prices");
    let a = Assumptions::default();
    println!("control plane cost per month (us-east-1, data/prices.toml)");
    println!(
        "  {:>8}  {:>11}  {:>9}  {:>10}  {:>15}",
        "hours up", "invocations", "GB-s", "list USD", "after free tier"
    );
    for hours in [0.0, 10.0, 200.0] {
        let m = month(&prices, &a, hours);
        println!(
            "  {:>8}  {:>11}  {:>9.1}  {:>10.4}  {:>15.4}",
            hours, m.invocations, m.gb_seconds, m.list_usd, m.after_free_tier_usd
        );
    }
    println!(
        "  (tick every {} min while up, {} s each at {} GB; one automatic down of {} s per {} h meeting)",
        a.rate_minutes, a.seconds_per_tick, a.memory_gb, a.seconds_per_down, a.hours_per_meeting
    );
    println!();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(last_participant_to_nothing_billable(&a));
}

async fn last_participant_to_nothing_billable(a: &Assumptions) {
    let local = LocalAws::start();
    let proxy = FaultProxy::start(&local, &["--scale", &SCALE.to_string()]);
    let bin = std::env::var("MEETCTL_BIN").expect("run through scripts/bench-control-plane.sh");
    let fixture = local.meetctl();
    let out = Command::new(bin)
        .arg("up")
        .envs(
            fixture
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .env("MEETCTL_ENDPOINT_URL", &proxy.endpoint)
        .env("MEETCTL_POLL_INTERVAL_MS", POLL_MS.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "up failed:\n{}", common::text(&out));

    let config = common::local_config(
        &local,
        &proxy.endpoint,
        &[("poll_interval_ms", &POLL_MS.to_string())],
    );
    let idle_timeout = config.control.idle_timeout.as_secs() as i64;
    let aws = local.aws().await;
    // A meeting of 45 minutes whose last participant left idle_timeout ago.
    let now = record::now_epoch();
    let session = record::Session {
        up_since: now - 60 * 60,
        until: None,
        by: "bench".into(),
    };
    aws.ssm
        .put_parameter()
        .name(format!("/{}/meetctl/session", config.project))
        .value(serde_json::to_string(&session).unwrap())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    let arn = lbs.load_balancers()[0].load_balancer_arn().unwrap();
    let dimension = meetctl::aws::cloudwatch::load_balancer_dimension(arn).unwrap();
    let last_minute = now - idle_timeout - 60;
    for at in (last_minute - 44 * 60..=last_minute).step_by(60) {
        aws.cloudwatch
            .put_metric_data()
            .namespace("AWS/NetworkELB")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("ActiveFlowCount_TLS")
                    .dimensions(
                        Dimension::builder()
                            .name("LoadBalancer")
                            .value(&dimension)
                            .build(),
                    )
                    .timestamp(DateTime::from_secs(at))
                    .value(3.0)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    let ctx = Context::new(config, local_through(&proxy).await, output::Reporter::new());
    let started = Instant::now();
    let report = control::tick(&ctx).await.unwrap();
    let down = started.elapsed().as_secs_f64();
    assert_eq!(report.action, "down", "{}", report.message);
    let inventory = common::inventory(&aws).await;
    assert!(common::is_clean(&inventory), "{inventory:?}");

    let down_model = down * SCALE;
    let rate = a.rate_minutes * 60.0;
    let base = METRIC_DELAY_S + idle_timeout as f64;
    println!("last participant leaves -> nothing billable (timing model, real AWS seconds)");
    println!("  metric delay (assumed)        {METRIC_DELAY_S:>7.0} s");
    println!("  idle_timeout                  {:>7} s", idle_timeout);
    println!(
        "  wait for the next tick        {:>7.0} s mean, {:.0} s worst (rate {} min)",
        rate / 2.0,
        rate,
        a.rate_minutes
    );
    println!(
        "  automatic down (measured)     {down_model:>7.0} s ({down:.2} s at 1/{SCALE} scale: {})",
        report.message
    );
    println!(
        "  total                         {:>7.0} s mean ({:.1} min), {:.0} s worst ({:.1} min)",
        base + rate / 2.0 + down_model,
        (base + rate / 2.0 + down_model) / 60.0,
        base + rate + down_model,
        (base + rate + down_model) / 60.0
    );
}

async fn local_through(proxy: &FaultProxy) -> meetctl::aws::Aws {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&proxy.endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await;
    meetctl::aws::Aws::from_sdk_config(&sdk, "us-east-1")
}
