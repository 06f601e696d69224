//! `meetctl check` and `meetctl test-platform` against the local AWS, with
//! the site part pointed at a loopback HTTPS server (`check_address`) and
//! DNS at a loopback resolver that answers as Route53 would: the alias
//! record → the load balancer → its public address.

mod check_support;
mod common;

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use check_support::*;
use common::*;
use meetctl::aws::Aws;

const JVB_TG: &str = "jitsi-video-platform-jvb";
const ADVERTISE: &str = "/jitsi-video-platform/jvb_advertise_ips";

async fn aws_at(endpoint: &str) -> Aws {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Aws::from_sdk_config(&sdk, "us-east-1")
}

/// What Route53 would answer for `name`: the alias in `zone` → the load
/// balancer with that DNS name → the public address of its interface.
async fn route53_answer(aws: &Aws, zone: &str, name: &str) -> Answer {
    let Ok(Some(alias)) = meetctl::aws::route53::find_alias(aws, zone, name).await else {
        return Answer::NxDomain;
    };
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    let Some(lb) = lbs.load_balancers().iter().find(|lb| {
        lb.dns_name()
            .is_some_and(|d| d.eq_ignore_ascii_case(alias.target_dns.trim_end_matches('.')))
    }) else {
        return Answer::A(Vec::new());
    };
    let description = format!(
        "ELB net/{}/{}",
        lb.load_balancer_name().unwrap(),
        lb.load_balancer_arn().unwrap().rsplit('/').next().unwrap()
    );
    let enis = aws
        .ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("description")
                .values(description)
                .build(),
        )
        .send()
        .await
        .unwrap();
    Answer::A(
        enis.network_interfaces()
            .iter()
            .filter_map(|n| n.association().and_then(|a| a.public_ip()))
            .filter_map(|ip| ip.parse::<Ipv4Addr>().ok())
            .collect(),
    )
}

/// A resolver backed by the emulator's Route53 (its own runtime and clients).
fn route53_dns(local: &LocalAws) -> Dns {
    let endpoint = local.endpoint.clone();
    let zone = local.field("hosted_zone_id");
    let state: OnceLock<(tokio::runtime::Runtime, Aws)> = OnceLock::new();
    Dns::start(move |name| {
        let (rt, aws) = state.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let aws = rt.block_on(aws_at(&endpoint));
            (rt, aws)
        });
        rt.block_on(route53_answer(aws, &zone, name))
    })
}

struct Fixture {
    local: LocalAws,
    ca: Ca,
    site: Site,
    dns: Dns,
    /// A real coturn with the project's TURN secret: `turn.allocate` allocates
    /// on it (plain TCP, as without a certificate the NLB forwards TCP 3478).
    coturn: coturn::Coturn,
    reports: tempfile::TempDir,
}

/// The project's TURN secret, put into the local SSM before `up` (which
/// never overwrites a secret), so the test's coturn and `check` share it.
fn seed_turn_secret(endpoint: &str) {
    let endpoint = endpoint.to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let aws = aws_at(&endpoint).await;
            let names = meetctl::names::Names::new(PROJECT);
            let created = meetctl::aws::ssm::create(
                &aws,
                &names,
                &names.turn_secret_parameter(),
                coturn::SECRET,
                aws_sdk_ssm::types::ParameterType::SecureString,
            )
            .await
            .unwrap();
            assert!(created, "the TURN secret existed before the test set it");
        })
    })
    .join()
    .unwrap();
}

impl Fixture {
    fn start(harness_args: &[&str], mode: SiteMode) -> Fixture {
        let local = LocalAws::start_with(harness_args);
        let ca = Ca::new("meetctl test CA");
        let site = Site::start(&ca.leaf(&[DOMAIN], 90), mode);
        let dns = route53_dns(&local);
        seed_turn_secret(&local.endpoint);
        let coturn = coturn::Coturn::start(&ca.leaf(&[DOMAIN], 90));
        Fixture {
            local,
            ca,
            site,
            dns,
            coturn,
            reports: tempfile::tempdir().unwrap(),
        }
    }

    fn meetctl(&self, args: &[&str]) -> Command {
        let mut cmd = self.local.meetctl();
        cmd.envs(check_env(&self.site, &self.dns, &self.ca.pem_file))
            .env("MEETCTL_CHECK_TURN_ADDRESS", self.coturn.plain.to_string())
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.meetctl(args).output().unwrap()
    }

    fn check_json(&self, expect_code: i32) -> serde_json::Value {
        let out = self.run(&["check", "--output", "json"]);
        assert_code(&out, expect_code);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn report(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.reports.path().join("report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn check<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {doc:#}"))
}

/// (`a`, `b`) of each element of the list `key` of `doc`.
fn columns(doc: &serde_json::Value, key: &str, a: &str, b: &str) -> Vec<(String, String)> {
    let field = |v: &serde_json::Value, f: &str| v[f].as_str().unwrap().to_string();
    doc[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (field(v, a), field(v, b)))
        .collect()
}

fn statuses(doc: &serde_json::Value) -> Vec<(String, String)> {
    columns(doc, "checks", "name", "status")
}

fn phases(report: &serde_json::Value) -> Vec<(String, String)> {
    columns(report, "phases", "name", "outcome")
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_proves_a_platform_and_finds_stale_targets_and_a_wrong_advertise_address() {
    let f = Fixture::start(&[], SiteMode::default());
    let aws = f.local.aws().await;

    let idle = f.check_json(1);
    assert_eq!(check(&idle, "ecs.service")["status"], "FAIL", "{idle:#}");
    assert!(check(&idle, "ecs.service")["fix"]
        .as_str()
        .unwrap()
        .contains("meetctl up"));

    assert_code(&f.run(&["up"]), 0);
    let out = f.run(&["check"]);
    assert_code(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{text}");
    assert!(
        text.contains("summary: 17 PASS, 0 WARN, 0 FAIL, 0 SKIP"),
        "{text}"
    );
    let doc = f.check_json(0);
    assert!(statuses(&doc).iter().all(|(_, s)| s == "PASS"), "{doc:#}");
    assert_eq!(doc["result"], "pass");

    // A stale address left in the JVB target group (an old task's).
    let tg = aws
        .elb
        .describe_target_groups()
        .names(JVB_TG)
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    aws.elb
        .register_targets()
        .target_group_arn(&tg_arn)
        .targets(
            TargetDescription::builder()
                .id("10.42.1.99")
                .port(10000)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let doc = f.check_json(1);
    let stale = check(&doc, "media.jvb-targets");
    assert_eq!(stale["status"], "FAIL", "{doc:#}");
    assert!(
        stale["saw"].as_str().unwrap().contains("stale 10.42.1.99"),
        "{stale:#}"
    );
    assert!(
        stale["fix"]
            .as_str()
            .unwrap()
            .contains("meetctl register-targets"),
        "{stale:#}"
    );
    assert_code(&f.run(&["register-targets"]), 0);
    f.check_json(0);

    // An advertise address that is not the load balancer's.
    aws.ssm
        .put_parameter()
        .name(ADVERTISE)
        .value("203.0.113.77")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let doc = f.check_json(1);
    let advertise = check(&doc, "media.advertise");
    assert_eq!(advertise["status"], "FAIL", "{doc:#}");
    let saw = advertise["saw"].as_str().unwrap();
    assert!(
        saw.contains("= 203.0.113.77 but the load balancer's public address is 127."),
        "{saw}"
    );
    assert!(advertise["fix"].as_str().unwrap().contains("meetctl up"));
    // Everything else still holds: the failure is pinned to the one link.
    let failing: Vec<_> = statuses(&doc)
        .into_iter()
        .filter(|(_, s)| s != "PASS")
        .collect();
    assert_eq!(failing, pairs(&[("media.advertise", "FAIL")]));

    // No advertise address at all: infra/ disables the JVB's STUN lookup, so
    // the JVB offers only the task's private address.
    aws.ssm
        .delete_parameter()
        .name(ADVERTISE)
        .send()
        .await
        .unwrap();
    let doc = f.check_json(1);
    let advertise = check(&doc, "media.advertise");
    assert_eq!(advertise["status"], "FAIL", "{doc:#}");
    let saw = advertise["saw"].as_str().unwrap();
    assert!(
        saw.contains("is unset")
            && saw.contains("STUN disabled")
            && saw.contains("only the task's private address"),
        "{saw}"
    );
    assert!(advertise["fix"].as_str().unwrap().contains("meetctl up"));

    // The JVB's health port opened to the world.
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(f.local.field("security_group_id"))
        .ip_protocol("tcp")
        .from_port(8080)
        .to_port(8080)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let doc = f.check_json(1);
    let sg = check(&doc, "media.security-group");
    assert_eq!(sg["status"], "FAIL", "{doc:#}");
    assert!(
        sg["saw"]
            .as_str()
            .unwrap()
            .contains("TCP 8080 is open to 0.0.0.0/0 (outside the VPC 10.42.0.0/16)"),
        "{sg:#}"
    );

    // The TURN secret gone from SSM: no credentials, so no allocation.
    assert_eq!(check(&doc, "turn.allocate")["status"], "PASS", "{doc:#}");
    let secret = meetctl::names::Names::new(PROJECT).turn_secret_parameter();
    aws.ssm
        .delete_parameter()
        .name(&secret)
        .send()
        .await
        .unwrap();
    let doc = f.check_json(1);
    let turn = check(&doc, "turn.allocate");
    assert_eq!(turn["status"], "FAIL", "{doc:#}");
    assert!(
        turn["saw"].as_str().unwrap().contains("does not exist")
            && turn["fix"].as_str().unwrap().contains("meetctl up"),
        "{turn:#}"
    );

    assert_code(&f.run(&["down"]), 0);
    assert!(is_clean(&inventory(&aws).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_platform_passes_and_leaves_nothing() {
    let f = Fixture::start(&[], SiteMode::default());
    let dir = f.reports.path().to_str().unwrap().to_string();
    let out = f.run(&["test-platform", "--report-dir", &dir]);
    assert_code(&out, 0);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(so.contains("meetctl test-platform: PASS in"), "{so}");
    let report = f.report();
    println!(
        "{}",
        serde_json::to_string_pretty(&report["phases"]).unwrap()
    );
    assert_eq!(report["result"], "pass");
    assert_eq!(
        phases(&report),
        pairs(&[
            ("preflight", "ok"),
            ("up", "ok"),
            ("check", "ok"),
            ("down", "ok"),
            ("verify", "ok")
        ])
    );
    assert!(report["checks"].as_array().unwrap().len() >= 17);
    assert!(
        statuses(&report).iter().all(|(_, s)| s == "PASS"),
        "{report:#}"
    );
    assert_eq!(report["leftovers"], serde_json::json!([]));
    let cost = &report["cost"];
    assert!(
        (cost["usd_per_hour"].as_f64().unwrap() - 0.1115).abs() < 1e-9,
        "{cost:#}"
    );
    assert!(cost["usd"].as_f64().unwrap() > 0.0, "{cost:#}");
    let md = std::fs::read_to_string(f.reports.path().join("report.md")).unwrap();
    println!("{md}");
    assert!(md.starts_with("# meetctl test-platform: PASS"), "{md}");
    assert!(
        md.contains("| media.advertise |") && md.contains("cost of the run: $"),
        "{md}"
    );
    assert!(is_clean(&inventory(&f.local.aws().await).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_platform_with_a_failing_check_still_tears_down() {
    let mode = SiteMode {
        status: 502,
        ..Default::default()
    };
    let f = Fixture::start(&[], mode);
    let dir = f.reports.path().to_str().unwrap().to_string();
    let out = f
        .meetctl(&["test-platform", "--report-dir", &dir])
        .env("MEETCTL_CHECK_RETRY_TIMEOUT", "2")
        .output()
        .unwrap();
    assert_code(&out, 1);
    let report = f.report();
    assert_eq!(report["result"], "fail");
    assert_eq!(
        phases(&report),
        pairs(&[
            ("preflight", "ok"),
            ("up", "ok"),
            ("check", "failed"),
            ("down", "ok"),
            ("verify", "ok")
        ])
    );
    assert!(
        report["failure"]
            .as_str()
            .unwrap()
            .contains("every check to pass"),
        "{report:#}"
    );
    assert_eq!(check(&report, "https.status")["status"], "FAIL");
    assert!(
        report["check_attempts"].as_u64().unwrap() >= 2,
        "{report:#}"
    );
    assert_eq!(report["leftovers"], serde_json::json!([]));
    let md = std::fs::read_to_string(f.reports.path().join("report.md")).unwrap();
    assert!(md.contains("502 Bad Gateway"), "{md}");
    assert!(is_clean(&inventory(&f.local.aws().await).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_platform_interrupted_tears_down() {
    // The task takes a while to start, so `up` is still running at SIGINT.
    let f = Fixture::start(&["--task-start-delay", "8"], SiteMode::default());
    let dir = f.reports.path().to_str().unwrap().to_string();
    let mut child = f
        .meetctl(&["test-platform", "--report-dir", &dir])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut in_up = false;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("== test-platform: up ==") => in_up = true,
            // The task step has started: resources exist and `up` is waiting.
            Ok(line) if in_up && line.contains("task:") => break,
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    assert!(in_up, "the up phase never started");
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SIGINT during up; tearing down"),
        "{stderr}"
    );
    let report = f.report();
    assert_eq!(report["result"], "interrupted", "{report:#}");
    assert_eq!(
        phases(&report),
        pairs(&[
            ("preflight", "ok"),
            ("up", "interrupted"),
            ("down", "ok"),
            ("verify", "ok")
        ])
    );
    assert_eq!(report["leftovers"], serde_json::json!([]));
    let inv = inventory(&f.local.aws().await).await;
    assert!(is_clean(&inv), "{inv:?}");
}
