//! Benchmark: `up` and `down` under a timing model of real AWS, against the
//! critical path and against the same steps run one after another (as the
//! older scripts did). Prints figures; asserts nothing. Run it with
//! `bash scripts/bench.sh`.
//!
//! Timing model (harness/fault_proxy.py and the harness's task delay), real
//! seconds scaled down SCALE times: NLB provisioning T_nlb 60, target
//! registration T_reg 90, task start T_task 45, EIP release after an NLB
//! delete T_del 30.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{FaultProxy, LocalAws};
use meetctl::aws::ssm;
use meetctl::{lifecycle, preflight, state, Context};

const SCALE: f64 = 20.0;
const T_NLB: f64 = 60.0;
const T_REG: f64 = 90.0;
const T_TASK: f64 = 45.0;
const T_DEL: f64 = 30.0;
/// meetctl's real first poll interval (2 s), scaled like the waits.
const POLL_MS: u64 = 100;
/// Runs of `up` and `down` measured; the median is reported.
const RUNS: usize = 3;

fn meetctl_bin() -> String {
    std::env::var("MEETCTL_BIN").expect("run through scripts/bench.sh (it sets MEETCTL_BIN)")
}

fn stats_total(proxy: &FaultProxy, op: &str) -> u64 {
    proxy.stats()["operations"][op]["seen"]
        .as_u64()
        .unwrap_or(0)
}

fn all_requests(proxy: &FaultProxy) -> u64 {
    proxy.stats()["totals"]["seen"].as_u64().unwrap_or(0)
}

fn polls(proxy: &FaultProxy) -> u64 {
    [
        "DescribeLoadBalancers",
        "DescribeTasks",
        "DescribeTargetHealth",
        "DescribeAddresses",
        "ListTasks",
    ]
    .iter()
    .map(|op| stats_total(proxy, op))
    .sum()
}

struct Run {
    wall: Duration,
    /// meetctl's own per-step timings line, when it printed one.
    steps: String,
    requests: u64,
    /// Describe/List calls that look at a wait's progress.
    polls: u64,
}

/// The test fixture's environment for meetctl, pointed at the proxy.
fn through_proxy<'a>(
    cmd: &'a mut Command,
    local: &LocalAws,
    proxy: &FaultProxy,
) -> &'a mut Command {
    let fixture = local.meetctl();
    cmd.envs(
        fixture
            .get_envs()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
    )
    .env("MEETCTL_ENDPOINT_URL", &proxy.endpoint)
    .env("MEETCTL_POLL_INTERVAL_MS", POLL_MS.to_string())
}

fn timed(proxy: &FaultProxy, local: &LocalAws, command: &str) -> Run {
    let (requests, polls_before) = (all_requests(proxy), polls(proxy));
    let started = Instant::now();
    let out = through_proxy(Command::new(meetctl_bin()).arg(command), local, proxy)
        .output()
        .unwrap();
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "meetctl {command} failed:\n{}",
        common::text(&out)
    );
    let steps = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.trim_start().starts_with("timings"))
        .unwrap_or("")
        .trim()
        .to_string();
    Run {
        wall,
        steps,
        requests: all_requests(proxy) - requests,
        polls: polls(proxy) - polls_before,
    }
}

/// The older scripts' order: NLB (and wait), then scale (and wait), then
/// wait for the registration ECS makes; built from meetctl's own steps.
async fn sequential_up(proxy: &FaultProxy, local: &LocalAws) -> Run {
    let config = common::local_config(
        local,
        &proxy.endpoint,
        &[("poll_interval_ms", &POLL_MS.to_string())],
    );
    let aws = meetctl::aws::Aws::connect(&config).await;
    let ctx = Context::new(config, aws, meetctl::output::Reporter::new());
    let (requests, polls_before) = (all_requests(proxy), polls(proxy));
    let started = Instant::now();
    let base = preflight::run(&ctx, &local.field("domain")).await.unwrap();
    ssm::create_secrets(&ctx.aws, &ctx.names, &base.missing_secrets)
        .await
        .unwrap();
    let observed = state::observe(&ctx).await.unwrap();
    let eip = lifecycle::ensure_eip(&ctx, observed.elastic_ips.clone())
        .await
        .unwrap();
    ssm::set_advertise_address(&ctx.aws, &ctx.names, &eip.public_ip)
        .await
        .unwrap();
    let step = ctx.out.step("sequential: load balancer");
    let ingress = lifecycle::prepare_ingress(&ctx, &base, &eip, &step)
        .await
        .unwrap();
    let lb = lifecycle::wait_active(&ctx, &ingress.load_balancer, &step)
        .await
        .unwrap();
    step.done("active");
    let step = ctx.out.step("sequential: task");
    let attach = lifecycle::service_load_balancers(&ingress.jvb, &ingress.web, &ingress.turn);
    let task = lifecycle::ensure_task(&ctx, &base, &observed, false, &attach, &step)
        .await
        .unwrap();
    step.done("running");
    let step = ctx.out.step("sequential: targets");
    let ip = task.private_ip.unwrap();
    let groups = [&ingress.jvb, &ingress.web];
    lifecycle::wait_healthy(&ctx, &groups, &ip, &step)
        .await
        .unwrap();
    step.done("healthy");
    meetctl::aws::route53::upsert_alias(
        &ctx.aws,
        &local.field("hosted_zone_id"),
        &local.field("domain"),
        &lb.dns_name,
        &lb.canonical_zone_id,
    )
    .await
    .unwrap();
    Run {
        wall: started.elapsed(),
        steps: String::new(),
        requests: all_requests(proxy) - requests,
        polls: polls(proxy) - polls_before,
    }
}

fn peak_memory_kib(local: &LocalAws, proxy: &FaultProxy, command: &str) -> Option<u64> {
    let out = through_proxy(
        Command::new("/usr/bin/time").args(["-f", "%M", &meetctl_bin(), command]),
        local,
        proxy,
    )
    .output()
    .ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

fn help_cold_start() -> Duration {
    let mut samples: Vec<Duration> = (0..15)
        .map(|_| {
            let started = Instant::now();
            Command::new(meetctl_bin()).arg("--help").output().unwrap();
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The median run and the range of wall times, as "min–max s".
fn median(mut runs: Vec<Run>) -> (Run, String) {
    runs.sort_by_key(|r| r.wall);
    let range = format!(
        "{:.2}–{:.2} s",
        secs(runs[0].wall),
        secs(runs[runs.len() - 1].wall)
    );
    (runs.swap_remove(runs.len() / 2), range)
}

#[tokio::main]
async fn main() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
    let local = LocalAws::start_with(&["--task-start-delay", &format!("{}", T_TASK / SCALE)]);
    let scale = SCALE.to_string();
    let (nlb, reg, del) = (T_NLB.to_string(), T_REG.to_string(), T_DEL.to_string());
    let proxy = FaultProxy::start(
        &local,
        &[
            "--scale", &scale, "--t-nlb", &nlb, "--t-reg", &reg, "--t-del", &del,
        ],
    );

    // Each command runs RUNS times (up, then down); the median run is shown
    // with the range, since every wait ends at a random point of its last
    // poll interval.
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for _ in 0..RUNS {
        ups.push(timed(&proxy, &local, "up"));
        downs.push(timed(&proxy, &local, "down"));
    }
    let sequential = sequential_up(&proxy, &local).await;
    timed(&proxy, &local, "down");
    let memory_up = peak_memory_kib(&local, &proxy, "up");
    timed(&proxy, &local, "down");
    let (up, up_range) = median(ups);
    let (down, down_range) = median(downs);

    // The longest chain of unavoidable waits: the NLB provisions while the
    // task starts and then registers; `down` waits for the EIP to free.
    let critical_up = (T_NLB.max(T_TASK + T_REG)) / SCALE;
    let sequential_path = (T_NLB + T_TASK + T_REG) / SCALE;
    let critical_down = T_DEL / SCALE;
    // Fixed-interval polling every POLL_MS over the same waits, one call per
    // look (two target groups per registration look).
    let fixed_up_polls = ((T_NLB + T_TASK) / SCALE * 1000.0 / POLL_MS as f64
        + 2.0 * T_REG / SCALE * 1000.0 / POLL_MS as f64)
        .round();
    let binary = std::fs::metadata(meetctl_bin())
        .map(|m| m.len())
        .unwrap_or(0);

    println!("meetctl benchmark: real AWS waits scaled down {SCALE}x (T_nlb {T_NLB} s, T_reg {T_REG} s, T_task {T_TASK} s, T_del {T_DEL} s), first poll {POLL_MS} ms; median of {RUNS} runs");
    println!("  up                wall {:6.2} s ({up_range})   critical path {:5.2} s   ratio {:4.2}x   AWS requests {:3}   polling calls {:3}", secs(up.wall), critical_up, secs(up.wall) / critical_up, up.requests, up.polls);
    println!("  up, sequential    wall {:6.2} s   (NLB, then scale, then register: {:5.2} s of waits)   ratio to meetctl up {:4.2}x   AWS requests {:3}   polling calls {:3}", secs(sequential.wall), sequential_path, secs(sequential.wall) / secs(up.wall), sequential.requests, sequential.polls);
    println!("  down              wall {:6.2} s ({down_range})   critical path {:5.2} s   ratio {:4.2}x   AWS requests {:3}   polling calls {:3}", secs(down.wall), critical_down, secs(down.wall) / critical_down, down.requests, down.polls);
    println!("  up {}", up.steps);
    println!("  down {}", down.steps);
    println!(
        "  polling in up     {} calls with backoff vs ~{} at a fixed {POLL_MS} ms interval",
        up.polls, fixed_up_polls
    );
    println!(
        "  meetctl --help    {:.1} ms (median of 15, cold process each)",
        secs(help_cold_start()) * 1000.0
    );
    println!(
        "  binary            {:.1} MB ({})",
        binary as f64 / 1e6,
        meetctl_bin()
    );
    match memory_up {
        Some(kib) => println!("  peak memory (up)  {:.1} MB resident", kib as f64 / 1024.0),
        None => println!("  peak memory (up)  not measured (/usr/bin/time missing)"),
    }
}
