//! The operator policy (`meetctl iam-policy`, docs/iam-policy.json) allows
//! every AWS operation meetctl makes. Each command runs for real against the
//! local AWS with `-v`, which logs the SDK interceptor's ledger of calls
//! ("AWS calls: {...}"); every operation, and the permissions AWS checks in
//! addition to an operation's own action, must be allowed by the policy. A
//! new AWS call without a permission fails here, not on someone's account.
//!
//! The policy's conditions (tags, names) are not evaluated here: moto does
//! not enforce IAM. Their shape is unit-tested in src/policy.rs.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use common::{assert_code, repo_file, text, LocalAws};
use meetctl::policy::{statements_allowing, EC2_TAGGED_CREATES, ELB_TAGGED_CREATES};
use serde_json::Value;

/// The IAM service prefix of an SDK service name (the interceptor records
/// `Metadata::service()`, e.g. "Elastic Load Balancing v2").
fn iam_prefix(sdk_service: &str) -> &'static str {
    match sdk_service {
        "EC2" => "ec2",
        "ECS" => "ecs",
        "Elastic Load Balancing v2" => "elasticloadbalancing",
        "SSM" => "ssm",
        "Route 53" => "route53",
        "ACM" => "acm",
        "Cost Explorer" => "ce",
        "STS" => "sts",
        "CloudWatch" => "cloudwatch",
        "Scheduler" => "scheduler",
        other => {
            panic!("no IAM prefix known for SDK service {other:?}: add it here and to the policy")
        }
    }
}

/// `prefix:Operation` for every call in the "AWS calls: {...}" debug line.
fn recorded_actions(out: &Output) -> BTreeSet<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("AWS calls: {"))
        .unwrap_or_else(|| panic!("no ledger line at -v\n{}", text(out)));
    let map = &line[line.find('{').unwrap() + 1..line.rfind('}').unwrap()];
    map.split(", ")
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let key = entry.rsplit_once(": ").unwrap().0.trim_matches('"');
            let (service, operation) = key.rsplit_once('.').unwrap();
            format!("{}:{operation}", iam_prefix(service))
        })
        .collect()
}

/// The permissions AWS checks for an operation beyond its own action.
fn implied(action: &str) -> Vec<String> {
    let (prefix, operation) = action.split_once(':').unwrap();
    let mut also = Vec::new();
    // Tags in a create request are authorised on the tagging action too
    // (ELB user guide: "ELB API permissions to tag resources during creation";
    // EC2 user guide: "Grant permission to tag resources during creation").
    if prefix == "elasticloadbalancing" && ELB_TAGGED_CREATES.contains(&operation) {
        also.push("elasticloadbalancing:AddTags".to_string());
    }
    if prefix == "ec2" && EC2_TAGGED_CREATES.contains(&operation) {
        also.push("ec2:CreateTags".to_string());
    }
    // PutParameter with Tags (SSM user guide, "Tagging parameters").
    if action == "ssm:PutParameter" {
        also.push("ssm:AddTagsToResource".to_string());
    }
    // UpdateSchedule sends the schedule's target role back (EventBridge
    // Scheduler user guide, "Set up the execution role").
    if action == "scheduler:UpdateSchedule" {
        also.push("iam:PassRole".to_string());
    }
    // The account's first load balancer creates ELB's service-linked role.
    if action == "elasticloadbalancing:CreateLoadBalancer" {
        also.push("iam:CreateServiceLinkedRole".to_string());
    }
    also
}

/// GetCallerIdentity needs no permission (STS API reference: "No
/// permissions are required to perform this operation").
const NEEDS_NO_PERMISSION: [&str; 1] = ["sts:GetCallerIdentity"];

fn policy_of(local: &LocalAws) -> Value {
    let out = local.run(&["iam-policy"]);
    assert_code(&out, 0);
    serde_json::from_slice(&out.stdout).expect("iam-policy prints JSON")
}

#[test]
fn every_call_of_up_status_check_down_and_cost_is_allowed() {
    let local = LocalAws::start();
    let cert = local.field("certificate_arn");
    let policy = policy_of(&local);
    // The control plane is deployed: `up` and `down` switch its schedule.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { common::create_control_schedule(&local.aws().await).await });

    let mut seen = BTreeSet::new();
    let mut run = |args: &[&str], codes: &[i32]| {
        let mut full = vec!["-v"];
        full.extend_from_slice(args);
        let out = local.run(&full);
        assert!(
            codes.contains(&out.status.code().unwrap_or(-1)),
            "meetctl {args:?}\n{}",
            text(&out)
        );
        seen.extend(recorded_actions(&out));
    };
    run(&["up", "--dry-run", "--certificate-arn", &cert], &[0]);
    run(&["up", "--certificate-arn", &cert], &[0]);
    run(&["status", "--certificate-arn", &cert], &[0]);
    run(&["register-targets", "--certificate-arn", &cert], &[0]);
    // The site itself is not reachable here: check may FAIL (1); its AWS
    // reads are what counts.
    run(&["check", "--certificate-arn", &cert], &[0, 1]);
    run(&["down", "--dry-run"], &[0]);
    run(&["down"], &[0]);
    run(&["history"], &[0]);
    // Wake on visit: the passcode's parameter (set reads stdin, absent here).
    run(&["front-door", "passcode", "clear"], &[0]);
    run(&["cost", "--actual", "--month", "2026-10"], &[0, 1]);

    for must in [
        "elasticloadbalancing:CreateLoadBalancer",
        "ec2:AllocateAddress",
        "ssm:PutParameter",
        "route53:ChangeResourceRecordSets",
        "ce:GetCostAndUsage",
        "acm:DescribeCertificate",
        "scheduler:UpdateSchedule",
        "cloudwatch:GetMetricStatistics",
    ] {
        assert!(
            seen.contains(must),
            "the scenario never called {must}: {seen:?}"
        );
    }

    let mut missing = Vec::new();
    for action in &seen {
        if NEEDS_NO_PERMISSION.contains(&action.as_str()) {
            continue;
        }
        if statements_allowing(&policy, action).is_empty() {
            missing.push(action.clone());
        }
        for extra in implied(action) {
            let allowing = statements_allowing(&policy, &extra);
            if allowing.is_empty() {
                missing.push(format!("{extra} (for {action})"));
                continue;
            }
            // A tag-on-create permission must name this create action.
            let operation = action.split_once(':').unwrap().1;
            let key = match extra.as_str() {
                "elasticloadbalancing:AddTags" => Some("elasticloadbalancing:CreateAction"),
                "ec2:CreateTags" => Some("ec2:CreateAction"),
                _ => None,
            };
            if let Some(key) = key {
                let names_it = allowing.iter().any(|s| {
                    s["Condition"]["StringEquals"][key]
                        .as_array()
                        .is_some_and(|ops| ops.iter().any(|o| o == operation))
                });
                if !names_it {
                    missing.push(format!("{extra} with {key} = {operation}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the operator policy lacks: {missing:?}\n(all recorded: {seen:?})"
    );
}

#[test]
fn docs_policy_is_the_tools_output() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetctl"))
        .env_clear()
        .env("HOME", home.path())
        .current_dir(home.path())
        .args([
            "iam-policy",
            "--domain",
            "meet.example.org",
            "--hosted-zone-id",
            "Z0123456789ABCDEFGHIJ",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let docs = std::fs::read_to_string(repo_file("docs/iam-policy.json")).unwrap();
    assert_eq!(
        docs,
        String::from_utf8_lossy(&out.stdout),
        "docs/iam-policy.json is stale: regenerate it with \
         `meetctl iam-policy --domain meet.example.org --hosted-zone-id Z0123456789ABCDEFGHIJ > docs/iam-policy.json`"
    );
}
