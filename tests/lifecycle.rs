//! The real `meetctl` binary against the local AWS (moto + shim), asserting
//! on the emulator's state after each command.

mod common;

use aws_sdk_ec2::types::{DomainType, ResourceType, Tag, TagSpecification};
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerTypeEnum, ProtocolEnum, SubnetMapping, TargetDescription, TargetTypeEnum,
};
use common::*;
use meetctl::aws::Aws;

const NLB: &str = "jitsi-video-platform-nlb";
const JVB_TG: &str = "jitsi-video-platform-jvb";
const WEB_TG: &str = "jitsi-video-platform-web";
const TURN_TG: &str = "jitsi-video-platform-turn";
const ADVERTISE: &str = "/jitsi-video-platform/jvb_advertise_ips";
const LOCK: &str = "/jitsi-video-platform/meetctl/lock";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ours_ec2(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn our_tags() -> Vec<(String, String)> {
    meetctl::names::Names::new(PROJECT).tags("left-by-a-crashed-run")
}

async fn task_ips(aws: &Aws) -> Vec<String> {
    meetctl::aws::ecs::service_tasks(
        aws,
        &format!("{PROJECT}-cluster"),
        &format!("{PROJECT}-service"),
    )
    .await
    .unwrap()
    .into_iter()
    .filter_map(|t| t.private_ip)
    .collect()
}

async fn target_ips(aws: &Aws, tg_name: &str) -> Vec<String> {
    let tg = aws
        .elb
        .describe_target_groups()
        .names(tg_name)
        .send()
        .await
        .unwrap();
    let arn = tg.target_groups()[0].target_group_arn().unwrap();
    let health = aws
        .elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .unwrap();
    let mut ips: Vec<String> = health
        .target_health_descriptions()
        .iter()
        .map(|d| d.target().unwrap().id().unwrap().to_string())
        .collect();
    ips.sort();
    ips
}

async fn arns(aws: &Aws) -> Vec<String> {
    let mut all = Vec::new();
    for lb in aws
        .elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
    {
        all.push(lb.load_balancer_arn().unwrap().to_string());
    }
    for tg in aws
        .elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
    {
        all.push(tg.target_group_arn().unwrap().to_string());
    }
    for a in aws
        .ec2
        .describe_addresses()
        .send()
        .await
        .unwrap()
        .addresses()
    {
        all.push(a.allocation_id().unwrap().to_string());
    }
    all.sort();
    all
}

/// Writes a String parameter directly in the emulator, as another actor would.
async fn put_string(aws: &Aws, name: &str, value: &str) {
    let request = aws
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String);
    request.overwrite(true).send().await.unwrap();
}

/// Sets the service's desired count directly, behind meetctl's back.
async fn set_desired(aws: &Aws, desired: i32) {
    meetctl::aws::ecs::update_service(
        aws,
        &format!("{PROJECT}-cluster"),
        &format!("{PROJECT}-service"),
        desired,
        Default::default(),
    )
    .await
    .unwrap();
}

/// What a run that died half-way may leave: two Elastic IPs, an NLB without
/// listeners, one of the two target groups, and a stale advertise address.
async fn leave_partial_state(local: &LocalAws, aws: &Aws) {
    for _ in 0..2 {
        aws.ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::ElasticIp)
                    .set_tags(Some(ours_ec2(&our_tags())))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let subnet = local.ready["subnet_ids"][0].as_str().unwrap();
    let elb_tags: Vec<_> = our_tags()
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    aws.elb
        .create_load_balancer()
        .name(NLB)
        .r#type(LoadBalancerTypeEnum::Network)
        .subnet_mappings(SubnetMapping::builder().subnet_id(subnet).build())
        .set_tags(Some(elb_tags.clone()))
        .send()
        .await
        .unwrap();
    aws.elb
        .create_target_group()
        .name(JVB_TG)
        .protocol(ProtocolEnum::Udp)
        .port(10000)
        .vpc_id(local.field("vpc_id"))
        .target_type(TargetTypeEnum::Ip)
        .set_tags(Some(elb_tags))
        .send()
        .await
        .unwrap();
    put_string(aws, ADVERTISE, "203.0.113.9").await;
}

/// Registers `ip` in each named group on the group's port, as someone
/// would by hand (no task of the service has that address).
async fn register_by_hand(aws: &Aws, groups: &[&str], ip: &str) {
    for name in groups {
        let found = aws
            .elb
            .describe_target_groups()
            .names(*name)
            .send()
            .await
            .unwrap();
        let tg = &found.target_groups()[0];
        aws.elb
            .register_targets()
            .target_group_arn(tg.target_group_arn().unwrap())
            .targets(
                TargetDescription::builder()
                    .id(ip)
                    .port(tg.port().unwrap())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_creates_the_billable_set_tagged_and_down_removes_it() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    assert!(is_clean(&inventory(&aws).await));

    let out = local.run(&["up"]);
    assert_code(&out, 0);
    let so = stdout(&out);
    assert!(so.contains("ready in"), "{so}");
    // No certificate: the NLB serves plain TCP 80, so the site is http://,
    // and the summary says browsers will not give it camera and microphone.
    assert!(
        so.contains("— http://meet.example.test/") && so.contains("camera and microphone"),
        "{so}"
    );
    assert!(
        so.contains("$0.1115/hour"),
        "hourly cost of 2 vCPU/4 GB ARM + NLB + 2 IPv4: {so}"
    );
    assert!(so.contains("AWS API calls"), "{so}");

    let inv = inventory(&aws).await;
    assert_eq!(inv.load_balancers, vec![NLB]);
    let mut tgs = inv.target_groups.clone();
    tgs.sort();
    assert_eq!(tgs, vec![JVB_TG, TURN_TG, WEB_TG]);
    // Without a certificate TURN is plain TCP 3478 → coturn.
    assert_eq!(
        inv.listeners,
        vec![
            ("TCP".to_string(), 80),
            ("TCP".to_string(), 3478),
            ("UDP".to_string(), 10000)
        ]
    );
    assert_eq!(inv.elastic_ips.len(), 1);
    assert_eq!(inv.desired, 1);

    // Every resource meetctl created carries the three tags.
    let lb = &aws
        .elb
        .describe_load_balancers()
        .names(NLB)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone();
    let mut elb_arns = vec![lb.load_balancer_arn().unwrap().to_string()];
    for tg in aws
        .elb
        .describe_target_groups()
        .send()
        .await
        .unwrap()
        .target_groups()
    {
        elb_arns.push(tg.target_group_arn().unwrap().to_string());
    }
    for l in aws
        .elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap()
        .listeners()
    {
        elb_arns.push(l.listener_arn().unwrap().to_string());
    }
    let tagged = aws
        .elb
        .describe_tags()
        .set_resource_arns(Some(elb_arns.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.tag_descriptions().len(), elb_arns.len());
    for d in tagged.tag_descriptions() {
        let tags: Vec<(String, String)> = d
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert!(
            tags_are_ours(&tags),
            "{} tags {tags:?}",
            d.resource_arn().unwrap()
        );
    }
    let address = aws
        .ec2
        .describe_addresses()
        .send()
        .await
        .unwrap()
        .addresses()[0]
        .clone();
    let eip_tags: Vec<(String, String)> = address
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    assert!(tags_are_ours(&eip_tags), "{eip_tags:?}");

    // Media wiring: the JVB advertises the NLB's address; the task is the target.
    assert_eq!(
        parameter(&aws, ADVERTISE).await.as_deref(),
        address.public_ip()
    );
    let ips = task_ips(&aws).await;
    assert_eq!(ips.len(), 1);
    assert_eq!(target_ips(&aws, JVB_TG).await, ips);
    assert_eq!(target_ips(&aws, WEB_TG).await, ips);
    assert_eq!(target_ips(&aws, TURN_TG).await, ips);
    assert_eq!(parameter(&aws, LOCK).await, None, "the lock is released");

    // DNS alias to the NLB.
    let zone = local.field("hosted_zone_id");
    let records = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let alias = records
        .resource_record_sets()
        .iter()
        .find(|r| r.name() == "meet.example.test." && r.r#type().as_str() == "A")
        .expect("alias record");
    assert_eq!(
        alias
            .alias_target()
            .unwrap()
            .dns_name()
            .trim_end_matches('.'),
        lb.dns_name().unwrap()
    );

    // Secrets exist as SecureString and their values appear nowhere in the output.
    let secrets = meetctl::names::Names::new(PROJECT).secret_parameters();
    let mut values = Vec::new();
    for name in &secrets {
        let p = aws
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .unwrap();
        let p = p.parameter().unwrap();
        assert_eq!(p.r#type().unwrap().as_str(), "SecureString");
        assert_eq!(p.value().unwrap().len(), 64, "32 random bytes, hex");
        values.push(p.value().unwrap().to_string());
    }
    for v in &values {
        assert!(
            !text(&out).contains(v.as_str()),
            "a secret value leaked into up's output"
        );
    }

    let out = local.run(&["down"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("nothing billable remains"),
        "{}",
        text(&out)
    );
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "{inv:?}");
    assert!(task_ips(&aws).await.is_empty());
    for (name, value) in secrets.iter().zip(&values) {
        let kept = aws
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .unwrap();
        assert_eq!(
            kept.parameter().unwrap().value(),
            Some(value.as_str()),
            "secrets are kept across down and never overwritten"
        );
    }
    let records = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    assert!(
        !records
            .resource_record_sets()
            .iter()
            .any(|r| r.name() == "meet.example.test."),
        "the alias is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_twice_keeps_the_same_resources_and_down_twice_is_no_error() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    assert_code(&local.run(&["up"]), 0);
    let first = arns(&aws).await;
    let out = local.run(&["up"]);
    assert_code(&out, 0);
    let domain = local.field("domain");
    assert!(
        stdout(&out).contains(&format!("already up at http://{domain}/")),
        "{}",
        text(&out)
    );
    assert!(
        stdout(&out).contains("camera and microphone"),
        "{}",
        text(&out)
    );
    assert_eq!(arns(&aws).await, first, "a second up changes nothing");

    assert_code(&local.run(&["down"]), 0);
    let out = local.run(&["down"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains("already down"), "{}", text(&out));
    assert!(is_clean(&inventory(&aws).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_converges_from_what_a_crashed_run_left() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    leave_partial_state(&local, &aws).await;

    let out = local.run(&["up"]);
    assert_code(&out, 0);
    let inv = inventory(&aws).await;
    assert_eq!(inv.load_balancers, vec![NLB], "the existing NLB is reused");
    assert_eq!(inv.target_groups.len(), 3);
    assert_eq!(inv.listeners.len(), 3);
    assert_eq!(
        inv.elastic_ips.len(),
        1,
        "the duplicate Elastic IP is released"
    );
    let eip = eip_public_ip(&aws).await;
    assert_eq!(
        parameter(&aws, ADVERTISE).await,
        Some(eip),
        "the stale advertise address is corrected"
    );
    assert_eq!(inv.desired, 1);
    let status = local.run(&["status"]);
    assert_code(&status, 0);
    assert!(stdout(&status).starts_with("ACTIVE"), "{}", text(&status));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_converges_from_what_a_crashed_run_left() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    leave_partial_state(&local, &aws).await;
    // The crashed run had also scaled the service and held the lock, long expired.
    set_desired(&aws, 1).await;
    let expired = r#"{"owner":"dead-host:pid1:0","command":"up","expires_epoch":1}"#;
    put_string(&aws, LOCK, expired).await;

    let status = local.run(&["status"]);
    assert_code(&status, 3);
    assert!(stdout(&status).starts_with("DEGRADED"), "{}", text(&status));

    let out = local.run(&["down"]);
    assert_code(&out, 0);
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "{inv:?}\n{}", text(&out));
}

/// Arguments, extra environment, and the key the error must name.
type BadInput<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_naming_the_key_and_creates_nothing() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let pending_cert = local.field("pending_certificate_arn");
    // A port that was just free: an emulator that is not running.
    let refused = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let cases: Vec<BadInput> = vec![
        (
            vec!["up", "--domain", "https://meet.example.org"],
            vec![],
            "`domain`",
        ),
        (
            vec!["up", "--domain", "meet.example.org/path"],
            vec![],
            "`domain`",
        ),
        (vec!["up", "--region", "mars-1"], vec![], "`region`"),
        (
            vec!["up", "--set", "nlb_active_timeout=0"],
            vec![],
            "`nlb_active_timeout`",
        ),
        (
            vec!["up"],
            vec![("MEETCTL_TASK_RUNNING_TIMEOUT", "-1")],
            "`task_running_timeout`",
        ),
        (
            vec![
                "up",
                "--certificate-arn",
                "arn:aws:acm:us-east-1:12:certificate",
            ],
            vec![],
            "`certificate_arn`",
        ),
        (
            vec![
                "up",
                "--certificate-arn",
                "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
            ],
            vec![],
            "`certificate_arn`",
        ),
        (
            vec!["up", "--certificate-arn", &pending_cert],
            vec![],
            "certificate_arn",
        ),
        (
            vec!["up", "--cluster", "no-such-cluster"],
            vec![],
            "cluster",
        ),
        (
            vec!["up", "--service", "no-such-service"],
            vec![],
            "service",
        ),
        (vec!["up", "--subnet-ids", ","], vec![], "`subnet_ids`"),
        (
            vec!["up", "--security-group-id", "sg-nothex!"],
            vec![],
            "`security_group_id`",
        ),
        (
            vec!["up"],
            vec![("MEETCTL_COLOUR", "blue")],
            "`MEETCTL_COLOUR`",
        ),
        (vec!["up"], vec![("MEETCTL_DOMAIN", "")], "`MEETCTL_DOMAIN`"),
        (vec!["up"], vec![("MEETCTL_REGION", "")], "`MEETCTL_REGION`"),
        (vec!["up", "--project", ""], vec![], "`--project`"),
        (vec!["up", "--set", "lock_ttl="], vec![], "`--set lock_ttl`"),
        (vec!["up", "--domain", "192.0.2.10"], vec![], "IP address"),
        (vec!["up", "--domain", "2001:db8::1"], vec![], "IP address"),
        (
            vec!["up", "--project", "internal-meet"],
            vec![],
            "`project`",
        ),
        (
            vec!["up"],
            vec![("MEETCTL_ENDPOINT_URL", refused.as_str())],
            "connection refused",
        ),
        (
            vec!["down"],
            vec![("MEETCTL_ENDPOINT_URL", refused.as_str())],
            "connection refused",
        ),
        (
            vec!["status"],
            vec![("MEETCTL_ENDPOINT_URL", refused.as_str())],
            "connection refused",
        ),
        (
            vec!["up"],
            vec![(
                "MEETCTL_ENDPOINT_URL",
                "http://no-such-emulator.invalid:5000",
            )],
            "DNS lookup",
        ),
        (vec!["up", "--set", "nonsense"], vec![], "`--set`"),
        (vec!["up", "--ingress", "direct"], vec![], "`ingress`"),
        (
            vec!["up", "--hosted-zone-id", "NOSUCHZONE1"],
            vec![],
            "hosted_zone_id",
        ),
        (
            vec!["up", "--config", "/nonexistent/meetctl.toml"],
            vec![],
            "`--config",
        ),
    ];
    for (args, env, key) in &cases {
        let mut cmd = local.meetctl();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_code(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(key) && err.contains("fix:"),
            "{args:?} {env:?}: expected {key} and a fix\n{err}"
        );
        if env.iter().any(|(k, _)| *k == "MEETCTL_ENDPOINT_URL") {
            assert!(
                err.contains("preflight failed: endpoint_url: cannot reach")
                    && !err.contains("credentials"),
                "an unreachable endpoint is no credentials problem\n{err}"
            );
        }
    }
    // A config file with an unknown key and one with a wrong type.
    for (body, key) in [
        ("colour = \"blue\"\n", "`colour`"),
        (
            "subnet_ids = \"subnet-0123456789abcdef0\"\n",
            "`subnet_ids`",
        ),
    ] {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), body).unwrap();
        let out = local
            .meetctl()
            .args(["up", "--config"])
            .arg(file.path())
            .output()
            .unwrap();
        assert_code(&out, 2);
        assert!(stderr(&out).contains(key), "{}", text(&out));
    }
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "{inv:?}");
    assert!(
        inv.parameters.is_empty(),
        "not even secrets were created: {:?}",
        inv.parameters
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_idle_active_and_degraded_with_a_fix() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let out = local.run(&["status"]);
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("IDLE"), "{}", text(&out));

    assert_code(&local.run(&["up"]), 0);
    let out = local.run(&["status", "--output", "json"]);
    assert_code(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "ACTIVE");
    assert_eq!(report["observed"]["service"]["desired"], 1);
    assert!(report["usd_per_hour"].as_f64().unwrap() > 0.11);

    // Someone scales the service to 0 behind meetctl's back: the NLB has no task.
    set_desired(&aws, 0).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !task_ips(&aws).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the shim did not stop the task"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let out = local.run(&["status"]);
    assert_code(&out, 3);
    let so = stdout(&out);
    assert!(
        so.starts_with("DEGRADED") && so.contains("fix") && so.contains("meetctl down"),
        "{so}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_targets_deregisters_a_stale_ip() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    assert_code(&local.run(&["up"]), 0);
    let stale = "10.42.1.250";
    register_by_hand(&aws, &[JVB_TG, WEB_TG, TURN_TG], stale).await;
    let out = local.run(&["status"]);
    assert_code(&out, 3);
    assert!(
        stdout(&out).contains("register-targets"),
        "the fix names the command: {}",
        text(&out)
    );

    let out = local.run(&["register-targets"]);
    assert_code(&out, 0);
    assert!(stdout(&out).contains(stale), "{}", text(&out));
    let ips = task_ips(&aws).await;
    assert_eq!(target_ips(&aws, JVB_TG).await, ips);
    assert_eq!(target_ips(&aws, WEB_TG).await, ips);
    assert_eq!(target_ips(&aws, TURN_TG).await, ips);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_print_the_plan_and_change_nothing() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let out = local.run(&["up", "--dry-run"]);
    assert_code(&out, 0);
    let so = stdout(&out);
    assert!(
        so.contains("1. secrets") && so.contains("4. in parallel") && so.contains("UPSERT"),
        "{so}"
    );
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv) && inv.parameters.is_empty(), "{inv:?}");

    assert_code(&local.run(&["up"]), 0);
    let before = arns(&aws).await;
    let out = local.run(&["down", "--dry-run"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("2. in parallel")
            && stdout(&out).contains("delete 3 listener(s) and load balancer"),
        "{}",
        text(&out)
    );
    assert_eq!(arns(&aws).await, before);
    assert_eq!(inventory(&aws).await.desired, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_gives_tls_443_and_removing_it_converges_to_tcp_80() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let cert = local.field("certificate_arn");
    let domain = local.field("domain");
    let out = local.run(&["up", "--certificate-arn", &cert]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains(&format!("https://{domain}/"))
            && !stdout(&out).contains("camera and microphone"),
        "with a certificate the site is https and nothing warns\n{}",
        text(&out)
    );
    assert_eq!(
        inventory(&aws).await.listeners,
        vec![
            ("TLS".to_string(), 443),
            ("TLS".to_string(), 5349),
            ("UDP".to_string(), 10000)
        ]
    );
    let lb = aws
        .elb
        .describe_load_balancers()
        .names(NLB)
        .send()
        .await
        .unwrap();
    let listeners = aws
        .elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arns_or_first())
        .send()
        .await
        .unwrap();
    let tls = listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(443))
        .unwrap();
    assert_eq!(tls.certificates()[0].certificate_arn(), Some(cert.as_str()));
    // TURNS: TLS 5349 with the same certificate → the TURN group (coturn's TCP 3478).
    let turns = listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(5349))
        .unwrap();
    assert_eq!(
        turns.certificates()[0].certificate_arn(),
        Some(cert.as_str())
    );
    let turn_group = aws
        .elb
        .describe_target_groups()
        .names(TURN_TG)
        .send()
        .await
        .unwrap();
    let turn_group = &turn_group.target_groups()[0];
    assert_eq!(
        turns.default_actions()[0].target_group_arn(),
        turn_group.target_group_arn()
    );
    assert_eq!(
        (turn_group.protocol().map(|p| p.as_str()), turn_group.port()),
        (Some("TCP"), Some(3478))
    );
    assert_eq!(
        turn_group.health_check_protocol().map(|p| p.as_str()),
        Some("TCP")
    );

    // Without the certificate the same platform converges to plain TCP 80,
    // served as http:// with the warning that browsers then refuse camera
    // and microphone (getUserMedia needs a secure context).
    let out = local.run(&["up"]);
    assert_code(&out, 0);
    let so = stdout(&out);
    assert!(
        so.contains("ready in") && so.contains(&format!("— http://{domain}/")),
        "{}",
        text(&out)
    );
    assert!(
        so.contains("browsers refuse camera and microphone") && so.contains("certificate_arn"),
        "{}",
        text(&out)
    );
    assert_eq!(
        inventory(&aws).await.listeners,
        vec![
            ("TCP".to_string(), 80),
            ("TCP".to_string(), 3478),
            ("UDP".to_string(), 10000)
        ]
    );
}

trait FirstArn {
    fn load_balancer_arns_or_first(&self) -> String;
}

impl FirstArn for aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput {
    fn load_balancer_arns_or_first(&self) -> String {
        self.load_balancers()[0].load_balancer_arn().unwrap().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lock_stops_a_second_run_and_an_expired_one_is_taken_over() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let far = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let live = format!(r#"{{"owner":"other-host:pid7:1","command":"up","expires_epoch":{far}}}"#);
    put_string(&aws, LOCK, &live).await;
    let out = local.run(&["up"]);
    assert_code(&out, 4);
    assert!(
        stderr(&out).contains("other-host") && stderr(&out).contains("fix:"),
        "{}",
        text(&out)
    );
    let inv = inventory(&aws).await;
    assert!(
        inv.load_balancers.is_empty() && inv.elastic_ips.is_empty(),
        "{inv:?}"
    );
    assert_eq!(
        parameter(&aws, LOCK).await.as_deref(),
        Some(live.as_str()),
        "someone else's lock is left alone"
    );

    let expired = r#"{"owner":"dead-host:pid1:0","command":"up","expires_epoch":1}"#;
    put_string(&aws, LOCK, expired).await;
    assert_code(&local.run(&["up"]), 0);
    assert_eq!(parameter(&aws, LOCK).await, None);
}

/// The service's target groups as (group name, container, container port),
/// and its health-check grace period.
async fn service_attachment(aws: &Aws) -> (Vec<(String, String, i32)>, Option<i32>) {
    let groups = aws.elb.describe_target_groups().send().await.unwrap();
    let name_of = |arn: &str| {
        groups
            .target_groups()
            .iter()
            .find(|g| g.target_group_arn() == Some(arn))
            .and_then(|g| g.target_group_name())
            .unwrap_or(arn)
            .to_string()
    };
    let service = &our_service(aws).await;
    let mut attached: Vec<_> = service
        .load_balancers()
        .iter()
        .map(|lb| {
            (
                name_of(lb.target_group_arn().unwrap()),
                lb.container_name().unwrap().to_string(),
                lb.container_port().unwrap(),
            )
        })
        .collect();
    attached.sort();
    (attached, service.health_check_grace_period_seconds())
}

/// The service's one live task: (ARN, private IP), once there is exactly one.
async fn live_task(aws: &Aws) -> Option<(String, String)> {
    let tasks = meetctl::aws::ecs::service_tasks(
        aws,
        &format!("{PROJECT}-cluster"),
        &format!("{PROJECT}-service"),
    )
    .await
    .unwrap();
    match tasks.as_slice() {
        [t] if t.is_running() => Some((t.arn.clone(), t.private_ip.clone()?)),
        _ => None,
    }
}

/// Waits (30 s at most) until one RUNNING task other than `old` is the only
/// target of both groups, and returns it.
async fn replacement_in_both_groups(aws: &Aws, old: &str) -> (String, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some((arn, ip)) = live_task(aws).await {
            let wanted = vec![ip.clone()];
            if arn != old
                && target_ips(aws, JVB_TG).await == wanted
                && target_ips(aws, WEB_TG).await == wanted
                && target_ips(aws, TURN_TG).await == wanted
            {
                return (arn, ip);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no replacement task registered in both target groups after 30 s: task {:?}, jvb {:?}, web {:?}",
            live_task(aws).await,
            target_ips(aws, JVB_TG).await,
            target_ips(aws, WEB_TG).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Issue 11, item 10: ECS, not meetctl, keeps the task in the load balancer.
/// `up` goes through the fault proxy, which rejects (as ECS does) a service
/// target group that no listener forwards to: `up` must attach the groups
/// only once the listeners exist. Then a task stopped as ECS stops one that
/// fails its health checks is replaced, and the replacement is the only
/// target of both groups with no meetctl run in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_registers_a_replaced_task_in_both_groups_and_down_detaches_them() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let proxy = FaultProxy::start(&local, &["--t-nlb", "0", "--t-reg", "0", "--t-del", "0"]);
    let out = local
        .meetctl()
        .env("MEETCTL_ENDPOINT_URL", &proxy.endpoint)
        .arg("up")
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(
        proxy.stats()["totals"]["model"]["ecs_group_without_load_balancer"],
        0,
        "up attached a target group before a listener forwarded to it"
    );
    let (attached, grace) = service_attachment(&aws).await;
    assert_eq!(
        attached,
        vec![
            (JVB_TG.to_string(), "jvb".to_string(), 10000),
            (TURN_TG.to_string(), "coturn".to_string(), 3478),
            (WEB_TG.to_string(), "web".to_string(), 80)
        ]
    );
    assert_eq!(grace, Some(900), "grace = targets_healthy_timeout");
    for name in [JVB_TG, WEB_TG, TURN_TG] {
        let tg = aws
            .elb
            .describe_target_groups()
            .names(name)
            .send()
            .await
            .unwrap();
        let attributes = aws
            .elb
            .describe_target_group_attributes()
            .target_group_arn(tg.target_groups()[0].target_group_arn().unwrap())
            .send()
            .await
            .unwrap();
        let delay = attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value());
        assert_eq!(delay, Some("30"), "{name}");
    }
    let (old_arn, old_ip) = live_task(&aws).await.expect("one RUNNING task after up");
    assert_eq!(target_ips(&aws, JVB_TG).await, vec![old_ip.clone()]);

    aws.ecs
        .stop_task()
        .cluster(format!("{PROJECT}-cluster"))
        .task(&old_arn)
        .reason("Task failed ELB health checks")
        .send()
        .await
        .unwrap();
    let (_, new_ip) = replacement_in_both_groups(&aws, &old_arn).await;
    assert_ne!(new_ip, old_ip, "the replacement has its own address");
    let status = local.run(&["status"]);
    assert_code(&status, 0);
    assert!(stdout(&status).starts_with("ACTIVE"), "{}", text(&status));

    let out = local.run(&["down"]);
    assert_code(&out, 0);
    assert_eq!(service_attachment(&aws).await.0, vec![], "down detaches");
    let inv = inventory(&aws).await;
    assert!(is_clean(&inv), "{inv:?}");
}

/// A service that lost its target groups (an older meetctl, a hand-made
/// UpdateService) while a task runs: `status` says so, and `up` attaches
/// them again, which replaces the task (a new deployment) and waits for the
/// replacement. A stray target is then removed by the next `up`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_reattaches_the_groups_to_a_running_service_and_waits_for_the_new_task() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    assert_code(&local.run(&["up"]), 0);
    let (old_arn, _) = live_task(&aws).await.expect("one RUNNING task after up");
    aws.ecs
        .update_service()
        .cluster(format!("{PROJECT}-cluster"))
        .service(format!("{PROJECT}-service"))
        .set_load_balancers(Some(Vec::new()))
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while live_task(&aws).await.is_none_or(|(arn, _)| arn == old_arn) {
        assert!(
            std::time::Instant::now() < deadline,
            "the shim did not replace the task"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = local.run(&["status"]);
    assert_code(&status, 3);
    assert!(
        stdout(&status).contains("does not carry target group"),
        "{}",
        text(&status)
    );

    let (detached_arn, _) = live_task(&aws).await.unwrap();
    let out = local.run(&["up"]);
    assert_code(&out, 0);
    assert_eq!(service_attachment(&aws).await.0.len(), 3);
    let (arn, ip) = replacement_in_both_groups(&aws, &detached_arn).await;
    assert!(
        stdout(&out).contains(&ip) || text(&out).contains(&ip),
        "up waited for the new task {arn} at {ip}: {}",
        text(&out)
    );
    let status = local.run(&["status"]);
    assert_code(&status, 0);

    // A stray target (no task of the service) left in a group: the next `up`
    // removes it and leaves ECS's registration of the task alone.
    let stray = "10.42.1.250";
    register_by_hand(&aws, &[JVB_TG, WEB_TG, TURN_TG], stray).await;
    let out = local.run(&["up"]);
    assert_code(&out, 0);
    assert!(
        text(&out).contains(&format!("deregistered stray {stray}")),
        "{}",
        text(&out)
    );
    assert_eq!(target_ips(&aws, JVB_TG).await, vec![ip.clone()]);
    assert_eq!(target_ips(&aws, WEB_TG).await, vec![ip]);
}

/// The lock an interrupted run of this host leaves: its process is gone.
fn lock_of_pid(pid: u32) -> String {
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    format!(
        r#"{{"owner":"{}:pid{pid}:1","command":"up","expires_epoch":{in_an_hour}}}"#,
        meetctl::lock::host_id()
    )
}

fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_after_an_interrupted_up_says_idle_or_degraded_with_the_fix() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    // Interrupted before it created anything: IDLE, with the fix.
    put_string(&aws, LOCK, &lock_of_pid(dead_pid())).await;
    let out = local.run(&["status"]);
    assert_code(&out, 0);
    let so = stdout(&out);
    assert!(so.starts_with("IDLE"), "{}", text(&out));
    assert!(
        so.contains("interrupted") && so.contains("fix") && so.contains("takes over"),
        "{}",
        text(&out)
    );

    // Interrupted half-way: DEGRADED (exit 3), never TRANSITIONAL.
    leave_partial_state(&local, &aws).await;
    let out = local.run(&["status"]);
    assert_code(&out, 3);
    let so = stdout(&out);
    assert!(so.starts_with("DEGRADED"), "{}", text(&out));
    assert!(
        so.contains("(that process is gone)") && so.contains("meetctl up"),
        "{}",
        text(&out)
    );

    // The same state with a live owner (this test process) is a run in progress.
    put_string(&aws, LOCK, &lock_of_pid(std::process::id())).await;
    let out = local.run(&["status"]);
    assert_code(&out, 0);
    assert!(stdout(&out).starts_with("TRANSITIONAL"), "{}", text(&out));

    // The fix works: `up` takes over a dead run's lock at once and converges.
    put_string(&aws, LOCK, &lock_of_pid(dead_pid())).await;
    assert_code(&local.run(&["up"]), 0);
    assert_eq!(parameter(&aws, LOCK).await, None);
    let out = local.run(&["status"]);
    assert!(stdout(&out).starts_with("ACTIVE"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_status_down_in_eu_central_1_at_frankfurt_prices() {
    let local = LocalAws::start_with(&["--region", "eu-central-1"]);
    let aws = local.aws().await;
    assert_eq!(aws.region, "eu-central-1");
    let up = local.run(&["up"]);
    assert_code(&up, 0);
    assert!(
        stdout(&up).contains("costs now      $") && !stdout(&up).contains("price unknown"),
        "{}",
        text(&up)
    );
    let inv = inventory(&aws).await;
    assert_eq!(inv.load_balancers, vec![NLB.to_string()], "{inv:?}");
    assert_eq!(inv.desired, 1);

    let out = local.run(&["status", "--output", "json"]);
    assert_code(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "ACTIVE");
    assert_eq!(report["region"], "eu-central-1");
    // The harness's task is 2 vCPU / 4 GB ARM64; Frankfurt: Fargate ARM
    // 0.03725/vCPU-h + 0.00409/GB-h, NLB 0.027/h, two public IPv4 at 0.005/h.
    let frankfurt = 2.0 * 0.03725 + 4.0 * 0.00409 + 0.027 + 2.0 * 0.005;
    let rate = report["usd_per_hour"].as_f64().unwrap();
    assert!((rate - frankfurt).abs() < 1e-9, "{rate} != {frankfurt}");

    let down = local.run(&["down"]);
    assert_code(&down, 0);
    assert!(is_clean(&inventory(&aws).await), "{}", text(&down));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_without_prices_goes_up_and_down_showing_price_unknown() {
    // eu-west-3 (Paris) has no entry in data/prices.toml.
    let local = LocalAws::start_with(&["--region", "eu-west-3"]);
    let aws = local.aws().await;
    let up = local.run(&["up"]);
    assert_code(&up, 0);
    let so = stdout(&up);
    assert!(
        so.contains("price unknown")
            && so.contains("[regions.eu-west-3]")
            && so.contains("prices_file"),
        "{}",
        text(&up)
    );
    assert_eq!(inventory(&aws).await.load_balancers, vec![NLB.to_string()]);

    let out = local.run(&["status"]);
    assert_code(&out, 0);
    let so = stdout(&out);
    assert!(so.starts_with("ACTIVE"), "{}", text(&out));
    assert!(
        so.contains("cost           price unknown"),
        "{}",
        text(&out)
    );
    let out = local.run(&["status", "--output", "json"]);
    assert_code(&out, 0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["usd_per_hour"].is_null(), "{report}");
    assert!(
        report["price_unknown"]["fix"]
            .as_str()
            .unwrap()
            .contains("prices_file"),
        "{report}"
    );

    let down = local.run(&["down"]);
    assert_code(&down, 0);
    assert!(stdout(&down).contains("price unknown"), "{}", text(&down));
    assert!(is_clean(&inventory(&aws).await));
    // `meetctl cost` may refuse to guess, and says why.
    let cost = local.run(&["cost"]);
    assert_code(&cost, 2);
    assert!(
        stderr(&cost).contains("no prices for eu-west-3"),
        "{}",
        text(&cost)
    );
}
