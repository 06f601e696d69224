//! Reliability: runs killed at every step boundary converge, faults are
//! absorbed, concurrent runs make one set of resources, and no secret is
//! ever printed. meetctl talks to the local AWS through harness/fault_proxy.py
//! (timing model and faults); assertions read the local AWS directly.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use meetctl::aws::Aws;

const DOWN_STEPS: &[&str] = &["preflight", "lock", "scale-to-zero", "dns", "load-balancer"];

fn through(proxy: &FaultProxy, local: &LocalAws) -> Command {
    let mut cmd = local.meetctl();
    cmd.env("MEETCTL_ENDPOINT_URL", &proxy.endpoint);
    cmd
}

/// Runs the command and SIGKILLs it as soon as it reports `step` done.
/// Returns whether it was killed there (false: it finished first).
fn kill_after_step(mut cmd: Command, step: &str) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let marker = format!("[ok] {step} ");
    for line in stderr.lines() {
        if line.unwrap().starts_with(&marker) {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
    }
    child.wait().unwrap();
    false
}

fn describe(inv: &Inventory) -> String {
    format!(
        "nlb {} tg {} lst {} eip {} desired {} params {}",
        inv.load_balancers.len(),
        inv.target_groups.len(),
        inv.listeners.len(),
        inv.elastic_ips.len(),
        inv.desired,
        inv.parameters
            .iter()
            .filter(|p| p.ends_with("jvb_advertise_ips") || p.ends_with("lock"))
            .count()
    )
}

/// The complete running set, once, and nothing else.
async fn assert_converged_up(aws: &Aws, context: &str) {
    let inv = inventory(aws).await;
    assert_eq!(inv.load_balancers.len(), 1, "{context}: {inv:?}");
    assert_eq!(inv.target_groups.len(), 3, "{context}: {inv:?}");
    assert_eq!(inv.listeners.len(), 3, "{context}: {inv:?}");
    assert_eq!(inv.elastic_ips.len(), 1, "{context}: {inv:?}");
    assert_eq!(inv.desired, 1, "{context}: {inv:?}");
    assert!(
        !inv.parameters.iter().any(|p| p.ends_with("meetctl/lock")),
        "{context}: lock left: {inv:?}"
    );
    // ECS keeps the task in the load balancer: the service carries its groups.
    let mut attached: Vec<(String, i32)> = our_service(aws)
        .await
        .load_balancers()
        .iter()
        .map(|lb| {
            (
                lb.container_name().unwrap_or_default().to_string(),
                lb.container_port().unwrap_or_default(),
            )
        })
        .collect();
    attached.sort();
    assert_eq!(
        attached,
        vec![
            ("coturn".to_string(), 3478),
            ("jvb".to_string(), 10000),
            ("web".to_string(), 80)
        ],
        "{context}: the service's target groups"
    );
    let eip = eip_public_ip(aws).await;
    let advertised = aws
        .ssm
        .get_parameter()
        .name(format!("/{PROJECT}/jvb_advertise_ips"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        advertised.parameter().unwrap().value(),
        Some(eip.as_str()),
        "{context}"
    );
}

async fn assert_converged_down(aws: &Aws, context: &str) {
    let inv = inventory(aws).await;
    assert!(is_clean(&inv), "{context}: {inv:?}");
    assert!(
        our_service(aws).await.load_balancers().is_empty(),
        "{context}: the service still carries target groups"
    );
}

/// Kills `first` at each boundary, re-runs `then`, and checks convergence.
/// Returns the table rows.
async fn boundary_trials(first: &str, steps: &[&str], then: &str) -> Vec<String> {
    let local = LocalAws::start_with(&["--task-start-delay", TASK_START_DELAY]);
    let proxy = FaultProxy::start(&local, TIMING);
    let aws = local.aws().await;
    let mut rows = Vec::new();
    for step in steps {
        // Start from the state the killed command normally starts from.
        let start = if first == "up" { "down" } else { "up" };
        assert_code(&through(&proxy, &local).arg(start).output().unwrap(), 0);
        let mut cmd = through(&proxy, &local);
        cmd.arg(first);
        let killed = kill_after_step(cmd, step);
        let at_kill = describe(&inventory(&aws).await);
        let rerun = through(&proxy, &local).arg(then).output().unwrap();
        let context = format!("`{first}` killed after {step}, then `{then}`");
        assert_code(&rerun, 0);
        if then == "up" {
            assert_converged_up(&aws, &context).await;
        } else {
            assert_converged_down(&aws, &context).await;
        }
        rows.push(format!(
            "  {first:<4} killed after {step:<14} {:<9} state then: {at_kill:<52} → `{then}` converged",
            if killed { "(killed)" } else { "(ran out)" }
        ));
    }
    rows
}

fn print_table(title: &str, rows: &[String]) {
    println!("{title}");
    for row in rows {
        println!("{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_killed_at_every_step_boundary_converges_under_up_and_down() {
    let mut rows = boundary_trials("up", UP_STEPS, "up").await;
    rows.extend(boundary_trials("up", UP_STEPS, "down").await);
    print_table(
        "convergence table: `up` killed at each step boundary",
        &rows,
    );
    assert!(
        rows.iter().filter(|r| r.contains("(killed)")).count() >= UP_STEPS.len(),
        "most kills must land at their boundary:\n{}",
        rows.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_killed_at_every_step_boundary_converges_under_down_and_up() {
    let mut rows = boundary_trials("down", DOWN_STEPS, "down").await;
    rows.extend(boundary_trials("down", DOWN_STEPS, "up").await);
    print_table(
        "convergence table: `down` killed at each step boundary",
        &rows,
    );
    assert!(
        rows.iter().filter(|r| r.contains("(killed)")).count() >= DOWN_STEPS.len(),
        "most kills must land at their boundary:\n{}",
        rows.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_and_down_absorb_throttling_and_server_errors() {
    let local = LocalAws::start_with(&["--task-start-delay", TASK_START_DELAY]);
    let mut args = TIMING.to_vec();
    args.extend([
        "--seed",
        "7",
        "--fault",
        "*=throttle:0.10",
        "--fault",
        "*=5xx:0.05",
    ]);
    let proxy = FaultProxy::start(&local, &args);
    let aws = local.aws().await;
    let up = through(&proxy, &local).arg("up").output().unwrap();
    assert_code(&up, 0);
    assert_converged_up(&aws, "up under 10% throttling and 5% 5xx").await;
    let down = through(&proxy, &local).arg("down").output().unwrap();
    assert_code(&down, 0);
    assert_converged_down(&aws, "down under 10% throttling and 5% 5xx").await;
    let stats = proxy.stats();
    let faults = &stats["totals"]["faults"];
    let throttled = faults["throttle"].as_u64().unwrap();
    let server_errors = faults["5xx"].as_u64().unwrap();
    println!(
        "faults absorbed by up and down: {throttled} throttling errors and {server_errors} HTTP 503s over {} requests",
        stats["totals"]["seen"]
    );
    assert!(
        throttled + server_errors > 0,
        "the proxy injected no fault: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ups_at_once_make_one_set_and_the_loser_says_why() {
    let local = LocalAws::start_with(&["--task-start-delay", TASK_START_DELAY]);
    let proxy = FaultProxy::start(&local, TIMING);
    let aws = local.aws().await;
    // Secrets first, so both runs race for the lock rather than for the secrets.
    assert_code(
        &through(&proxy, &local)
            .args(["up", "--dry-run"])
            .output()
            .unwrap(),
        0,
    );
    let a = through(&proxy, &local)
        .arg("up")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = through(&proxy, &local)
        .arg("up")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)),
        "one run wins: {codes:?}\n{}\n{}",
        text(&a),
        text(&b)
    );
    for out in [&a, &b] {
        match out.status.code() {
            Some(0) => {}
            Some(4) => assert!(
                String::from_utf8_lossy(&out.stderr).contains("holds the lifecycle lock"),
                "{}",
                text(out)
            ),
            other => panic!("unexpected exit {other:?}\n{}", text(out)),
        }
    }
    assert_converged_up(&aws, "two concurrent ups").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_credentials_never_appear_in_output_at_any_verbosity() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let access_secret = "sEcReT-aCcEsS-kEy-0f8e2c9d";
    let mut captured = String::new();
    for args in [
        &["-vv", "up"][..],
        &["-vv", "status", "--output", "json"],
        &["-v", "register-targets"],
        &["-vv", "down"],
        &["up"],
        &["status"],
        &["down"],
    ] {
        let out = local
            .meetctl()
            .env("AWS_SECRET_ACCESS_KEY", access_secret)
            .args(args)
            .output()
            .unwrap();
        assert_code(&out, 0);
        captured.push_str(&text(&out));
    }
    assert!(captured.contains("DEBUG"), "-vv did log at debug level");
    assert!(
        !captured.contains(access_secret),
        "the AWS secret key was printed"
    );
    for name in meetctl::names::Names::new(PROJECT).secret_parameters() {
        let p = aws
            .ssm
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await
            .unwrap();
        let value = p.parameter().unwrap().value().unwrap().to_string();
        assert!(
            !captured.contains(&value),
            "the value of {name} was printed"
        );
    }
}

/// A real `up`, SIGKILLed once its Elastic IP exists: the lock stays behind
/// with a dead owner. `status` must judge what was left (DEGRADED, with the
/// fix), not report a run in progress; the next `up` converges at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_after_a_killed_up_is_degraded_with_the_fix_not_transitional() {
    let local = LocalAws::start_with(&["--task-start-delay", TASK_START_DELAY]);
    let proxy = FaultProxy::start(&local, TIMING);
    let aws = local.aws().await;
    let mut up = through(&proxy, &local);
    up.arg("up");
    assert!(
        kill_after_step(up, "elastic-ip"),
        "up finished before the kill"
    );
    let lock = format!("/{PROJECT}/meetctl/lock");
    let held = aws.ssm.get_parameter().name(&lock).send().await;
    assert!(held.is_ok(), "the killed run left its lock");
    let out = through(&proxy, &local).arg("status").output().unwrap();
    assert_code(&out, 3);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(so.starts_with("DEGRADED"), "{}", text(&out));
    assert!(
        so.contains("was interrupted") && so.contains("fix") && so.contains("meetctl up"),
        "{}",
        text(&out)
    );
    let up = through(&proxy, &local).arg("up").output().unwrap();
    assert_code(&up, 0);
    assert_converged_up(&aws, "up after a killed up").await;
}
