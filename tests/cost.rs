//! `meetctl cost` end to end: the real binary, its JSON and chart, its exit
//! codes on bad input, and `--actual` against a local Cost Explorer (moto).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

use common::{repo_file, LocalAws};
use serde_json::Value;

/// The binary with a clean environment: no meetctl.toml, no MEETCTL_*, no
/// AWS settings or credentials of the machine.
fn meetctl(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetctl"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1");
    cmd.env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd.output().expect("meetctl runs")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn close(got: &Value, want: f64, tolerance: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!((got - want).abs() < tolerance, "{got} != {want}");
}

/// The Fargate part of the hourly rate.
fn fargate_per_hour(report: &Value) -> f64 {
    sum_where(
        &report["running_per_hour"]["lines"],
        "Amazon Elastic Container Service",
    )
}

fn sum_where(lines: &Value, service: &str) -> f64 {
    lines
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["service"] == service)
        .map(|l| l["usd"].as_f64().unwrap())
        .sum()
}

#[test]
fn default_model_matches_hand_computed_figures() {
    let dir = tempfile::tempdir().unwrap();
    let r = json(&meetctl(dir.path(), &["cost", "--output", "json"]));
    // X86_64 2 vCPU / 4 GB: 2 × 0.04048 + 4 × 0.004445 = 0.09874; + NLB 0.0225 + 2 × 0.005 IPv4
    assert!((fargate_per_hour(&r) - 0.09874).abs() < 1e-9);
    close(&r["running_per_hour"]["total_usd"], 0.13124, 1e-9);
    // No hosted zone configured; 0.1 GB logs kept × $0.03 + 0.01 GB Prosody data on EFS × $0.30
    close(&r["idle_per_month"]["total_usd"], 0.003 + 0.003, 1e-9);
    assert!(
        r["idle_per_month"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["service"] == "Amazon Elastic File System"
                && l["basis"] == "0.01 GB × $0.30/GB-month"),
        "{}",
        r["idle_per_month"]
    );
    let hours: Vec<f64> = r["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["hours"].as_f64().unwrap())
        .collect();
    assert_eq!(hours, vec![4.0, 10.0, 50.0, 200.0, 730.0]);
    // 10 h: fixed 10 × 0.13124, NLCU 10 × 0.0432, logs 10 × 0.005, 36 GB out inside the free 100 GB, idle 0.006
    close(
        &r["scenarios"][1]["usd"]["meetctl"],
        1.3124 + 0.432 + 0.05 + 0.006,
        1e-9,
    );
    close(
        &r["scenarios"][1]["usd"]["always_on"],
        730.0 * 0.13124 + 0.432 + 0.05 + 0.006,
        1e-9,
    );
    let be: Vec<&Value> = r["break_even"].as_array().unwrap().iter().collect();
    assert_eq!(
        (be[0]["alternative"].as_str(), be[0]["hours"].as_f64()),
        (Some("always_on"), Some(730.0))
    );
    assert!(
        be[2]["hours"].is_null(),
        "Express Mode never breaks even: {}",
        be[2]
    );
    assert!(r["prices"].as_array().unwrap().iter().all(|p| p["source"]
        .as_str()
        .unwrap()
        .starts_with("https://")
        && p["as_of"].as_str().unwrap().starts_with("2026-")));
}

#[test]
fn model_follows_the_configured_task_zone_and_prices() {
    let dir = tempfile::tempdir().unwrap();
    let x86 = [
        "--set",
        "task_cpu=4096",
        "--set",
        "task_memory=8192",
        "--set",
        "cpu_architecture=X86_64",
    ];
    let r = json(&meetctl(
        dir.path(),
        &[&x86[..], &["cost", "--output", "json"]].concat(),
    ));
    // 4 × 0.04048 + 8 × 0.004445 = 0.198
    assert!((fargate_per_hour(&r) - 0.198).abs() < 1e-3);
    let r = json(&meetctl(
        dir.path(),
        &[
            "--hosted-zone-id",
            "Z0123456789ABCDEFGHIJ",
            "cost",
            "--log-gb",
            "0",
            "--efs-gb",
            "0",
            "--output",
            "json",
        ],
    ));
    close(&r["idle_per_month"]["total_usd"], 0.50, 1e-12);
    let prices = dir.path().join("prices.toml");
    std::fs::write(&prices, "[regions.us-east-1]\nnlb_hour = { usd = 0.05, source = \"test quote\", as_of = \"2026-12-01\" }\n").unwrap();
    let set = format!("prices_file={}", prices.display());
    let r = json(&meetctl(
        dir.path(),
        &["--set", &set, "cost", "--output", "json"],
    ));
    close(
        &r["running_per_hour"]["total_usd"],
        0.13124 - 0.0225 + 0.05,
        1e-9,
    );
    assert!(r["prices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["key"] == "nlb_hour" && p["source"] == "test quote"));
}

#[test]
fn text_output_shows_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let out = meetctl(dir.path(), &["cost", "--hours", "5,20"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "Idle, per month",
        "Running, per hour up",
        "0.1312",
        "Monthly cost by hours up",
        "Break-even",
        "ECS Express Mode",
        "https://aws.amazon.com/fargate/pricing/",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}

#[test]
fn chart_is_svg_with_one_series_per_alternative() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cost.svg");
    let out = meetctl(dir.path(), &["cost", "--chart", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the chart parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let series: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("3"))
        .filter(|n| {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .count()
                > 100
        })
        .collect();
    let colours: std::collections::BTreeSet<_> = series
        .iter()
        .filter_map(|n| n.attribute("stroke"))
        .collect();
    assert_eq!(
        (series.len(), colours.len()),
        (4, 4),
        "one line per alternative, each its own colour"
    );
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect();
    for label in [
        "meetctl (on-demand NLB)",
        "always-on",
        "scale-to-zero, NLB kept",
        "ECS Express Mode",
        "Hours up per month",
        "USD per month",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "no text {label:?} in {texts:?}"
        );
    }
}

fn assert_bad_input(dir: &Path, args: &[&str], names: &str) {
    let out = meetctl(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(names),
        "{args:?} should name {names}: {stderr}"
    );
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_bad_input(d, &["cost", "--hours", "-3"], "--hours");
    assert_bad_input(d, &["cost", "--hours", ","], "--hours");
    assert_bad_input(d, &["cost", "--hours", "4,lots"], "--hours");
    assert_bad_input(d, &["cost", "--hours", "800"], "--hours");
    assert_bad_input(d, &["cost", "--bitrate-mbps", "-1"], "--bitrate-mbps");
    assert_bad_input(d, &["cost", "--efs-gb", "-1"], "--efs-gb");
    assert_bad_input(
        d,
        &["--region", "eu-west-3", "cost"],
        "no prices for eu-west-3",
    );
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "[regions.us-east-1]\nnlb_hour = { usd = \"cheap\" }\n",
    )
    .unwrap();
    assert_bad_input(
        d,
        &["--set", &format!("prices_file={}", bad.display()), "cost"],
        "prices_file",
    );
    std::fs::write(&bad, "[regions.us-east-1\n").unwrap();
    assert_bad_input(
        d,
        &["--set", &format!("prices_file={}", bad.display()), "cost"],
        "not valid TOML",
    );
    assert_bad_input(
        d,
        &[
            "--set",
            "cpu_architecture=ARM64",
            "--set",
            "capacity_provider=FARGATE_SPOT",
            "cost",
        ],
        "capacity_provider",
    );
    assert_bad_input(
        d,
        &["cost", "--chart", d.join("cost.png").to_str().unwrap()],
        "--chart",
    );
    assert_bad_input(d, &["cost", "--actual", "--month", "2026-13"], "--month");
}

/// Queues a result for the next new GetCostAndUsage request (moto's static
/// Cost Explorer results, `POST /moto-api/static/ce/cost-and-usage-results`).
fn queue_cost_and_usage(aws: &LocalAws, result: Value) {
    let body = serde_json::json!({ "results": [result] }).to_string();
    let host = aws
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("the local AWS listens");
    write!(
        stream,
        "POST /moto-api/static/ce/cost-and-usage-results HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "queueing the Cost Explorer result failed: {response}"
    );
}

fn group(service: &str, usage_type: &str, usd: f64, quantity: f64, unit: &str) -> Value {
    serde_json::json!({
        "Keys": [service, usage_type],
        "Metrics": {
            "UnblendedCost": { "Amount": usd.to_string(), "Unit": "USD" },
            "UsageQuantity": { "Amount": quantity.to_string(), "Unit": unit }
        }
    })
}

fn month(start: &str, end: &str, groups: Vec<Value>) -> Value {
    serde_json::json!({
        "ResultsByTime": [{ "TimePeriod": { "Start": start, "End": end }, "Total": {}, "Groups": groups, "Estimated": false }],
        "DimensionValueAttributes": []
    })
}

#[test]
fn actual_against_local_cost_explorer() {
    let aws = LocalAws::start();

    // October 2026: the platform ran 10 h (20 vCPU-hours of a 2 vCPU task).
    queue_cost_and_usage(
        &aws,
        month(
            "2026-10-01",
            "2026-11-01",
            vec![
                group(
                    "Amazon Elastic Container Service",
                    "USE1-Fargate-ARM-vCPU-Hours:perCPU",
                    0.6476,
                    20.0,
                    "Hrs",
                ),
                group(
                    "Amazon Elastic Container Service",
                    "USE1-Fargate-ARM-GB-Hours",
                    0.1424,
                    40.0,
                    "Hrs",
                ),
                group(
                    "Amazon Elastic Load Balancing",
                    "USE1-LoadBalancerUsage",
                    0.225,
                    10.0,
                    "Hrs",
                ),
                group(
                    "Amazon Elastic Load Balancing",
                    "USE1-LCUUsage",
                    0.3,
                    50.0,
                    "LCU-Hrs",
                ),
                group(
                    "Amazon Virtual Private Cloud",
                    "USE1-PublicIPv4:InUseAddress",
                    0.1,
                    20.0,
                    "Hrs",
                ),
                group("Amazon Route 53", "HostedZone", 0.5, 1.0, "N/A"),
                group(
                    "AmazonCloudWatch",
                    "USE1-TimedStorage-ByteHrs",
                    0.002,
                    0.07,
                    "GB-Mo",
                ),
            ],
        ),
    );
    // The bill above is of an ARM64 task; the model follows the configuration.
    let arm = ["--set", "cpu_architecture=ARM64"];
    let c = json(
        &aws.run(
            &[
                &arm[..],
                &["cost", "--actual", "--month", "2026-10", "--output", "json"],
            ]
            .concat(),
        ),
    );
    assert_eq!(c["tag"], "Project=jitsi-video-platform");
    assert_eq!(
        (c["period"]["start"].as_str(), c["period"]["end"].as_str()),
        (Some("2026-10-01"), Some("2026-11-01"))
    );
    close(&c["hours_run"]["hours"], 10.0, 1e-9);
    assert!(c["hours_run"]["method"]
        .as_str()
        .unwrap()
        .contains("Fargate vCPU-hours"));
    let services: std::collections::BTreeMap<String, (f64, f64)> = c["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_string(),
                (
                    s["actual_usd"].as_f64().unwrap(),
                    s["model_usd"].as_f64().unwrap(),
                ),
            )
        })
        .collect();
    let pair = |service: &str, actual: f64, model: f64| {
        let (a, m) = services[service];
        assert!(
            (a - actual).abs() < 1e-9 && (m - model).abs() < 1e-9,
            "{service}: {services:?}"
        );
    };
    // Grouped by service: the two Fargate rows add up; the model at 10 h says the same.
    pair("Amazon Elastic Container Service", 0.79, 0.79);
    // ELB: 0.225 + 0.3 billed; the model: 10 × (0.0225 + 0.0432 NLCU estimate for 4 participants)
    pair("Amazon Elastic Load Balancing", 0.525, 0.657);
    pair("Amazon Virtual Private Cloud", 0.1, 0.1);
    // The harness configures a hosted zone, so the model counts it.
    pair("Amazon Route 53", 0.5, 0.5);
    close(
        &c["actual_total_usd"],
        0.6476 + 0.1424 + 0.225 + 0.3 + 0.1 + 0.5 + 0.002,
        1e-9,
    );
    // Nothing billed for EFS yet; the model counts the assumed 0.01 GB of Prosody data.
    pair("Amazon Elastic File System", 0.0, 0.003);
    // Model: 10 × 0.1115 fixed + 10 × 0.0432 NLCU + 10 × 0.005 logs + 0.506 idle (36 GB out is free)
    close(&c["model_total_usd"], 1.115 + 0.432 + 0.05 + 0.506, 1e-9);

    // The text form names the method and every service.
    let out = aws.run(&[&arm[..], &["cost", "--actual", "--month", "2026-10"]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("20 Fargate vCPU-hours billed ÷ 2 vCPU per task")
            && text.contains("Amazon Elastic Load Balancing"),
        "{text}"
    );

    // September 2026: nothing carries the tag (not activated): an error, never a zero.
    queue_cost_and_usage(&aws, month("2026-09-01", "2026-10-01", vec![]));
    let out = aws.run(&["cost", "--actual", "--month", "2026-09", "--output", "json"]);
    common::assert_code(&out, 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.stdout.is_empty(),
        "no report on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("Project=jitsi-video-platform") && stderr.contains("cost allocation tag"),
        "{stderr}"
    );
}

/// docs/cost-chart.svg is what `meetctl cost --chart` draws from today's prices.
#[test]
fn docs_chart_is_current() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cost-chart.svg");
    assert!(
        meetctl(dir.path(), &["cost", "--chart", path.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        std::fs::read(&path).unwrap() == std::fs::read(repo_file("docs/cost-chart.svg")).unwrap(),
        "docs/cost-chart.svg is stale: regenerate it with `meetctl cost --chart docs/cost-chart.svg` (no meetctl.toml, no MEETCTL_* set)"
    );
}

const README_BEGIN: &str = "<!-- BEGIN output of `meetctl cost` (checked by tests/cost.rs) -->";
const README_END: &str = "<!-- END output of `meetctl cost` -->";

/// The README's cost section shows what the tool prints for the default
/// configuration, not figures typed by hand.
#[test]
fn readme_cost_section_is_the_tools_output() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let fix = "paste the output of `meetctl cost` (no meetctl.toml, no MEETCTL_* set) into README.md as a ```text block between the markers";
    let block = readme
        .split_once(README_BEGIN)
        .and_then(|(_, rest)| rest.split_once(README_END))
        .map(|(block, _)| block.trim())
        .unwrap_or_else(|| {
            panic!("README.md has no `{README_BEGIN}` … `{README_END}` section: {fix}")
        });
    let shown = block
        .strip_prefix("```text\n")
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or_else(|| panic!("the README's cost section is not one ```text block: {fix}"));
    let dir = tempfile::tempdir().unwrap();
    let out = meetctl(dir.path(), &["cost"]);
    assert!(out.status.success());
    assert_eq!(
        shown,
        String::from_utf8(out.stdout).unwrap(),
        "the README's cost section is stale: {fix}"
    );
}
