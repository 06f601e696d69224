//! AWS rules the emulator alone does not enforce, each held against the real
//! `meetctl` binary: what moto cannot show is modelled by harness/fault_proxy.py
//! (an EIP a deleted NLB still holds, Route53's exact-match DELETE) or by the
//! local AWS's shim (a task that keeps running after its desired status
//! became STOPPED, ListTasks' default filter). Assertions read the local AWS
//! directly.

mod common;

use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerTypeEnum, ProtocolEnum};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType,
};
use common::*;
use meetctl::aws::Aws;

const NLB: &str = "jitsi-video-platform-nlb";
const JVB_TG: &str = "jitsi-video-platform-jvb";

/// The proxy's waits off except the one a test is about.
const NO_WAITS: &[&str] = &["--t-nlb", "0", "--t-reg", "0", "--t-del", "0"];

/// A fault proxy whose deleted NLBs hold their EIP 200 s / 20 = 10 s after
/// DeleteLoadBalancer: longer than `up` takes to reach CreateLoadBalancer,
/// even on a loaded machine.
fn proxy_holding_deleted_nlbs_eips(local: &LocalAws) -> FaultProxy {
    FaultProxy::start(
        local,
        &[
            "--scale", "20", "--t-nlb", "0", "--t-reg", "0", "--t-del", "200",
        ],
    )
}

fn through(proxy: &FaultProxy, local: &LocalAws) -> std::process::Command {
    let mut cmd = local.meetctl();
    cmd.env("MEETCTL_ENDPOINT_URL", &proxy.endpoint);
    cmd
}

/// SDK clients that go through the fault proxy (so its model sees the calls).
async fn aws_through(proxy: &FaultProxy) -> Aws {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&proxy.endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Aws::from_sdk_config(&sdk, "us-east-1")
}

fn model_count(proxy: &FaultProxy, counter: &str) -> u64 {
    proxy.stats()["totals"]["model"][counter].as_u64().unwrap()
}

fn first_subnet(local: &LocalAws) -> String {
    local.ready["subnet_ids"][0].as_str().unwrap().to_string()
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

async fn a_records(aws: &Aws, zone: &str, name: &str) -> Vec<ResourceRecordSet> {
    aws.route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap()
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == fqdn(name) && *r.r#type() == RrType::A)
        .cloned()
        .collect()
}

async fn upsert_alias(aws: &Aws, zone: &str, name: &str, target: &str, evaluate: bool) {
    let alias = AliasTarget::builder()
        .hosted_zone_id("Z26RNL4JYFTOTI")
        .dns_name(target)
        .evaluate_target_health(evaluate)
        .build()
        .unwrap();
    let record = ResourceRecordSet::builder()
        .name(fqdn(name))
        .r#type(RrType::A)
        .alias_target(alias)
        .build()
        .unwrap();
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(record)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn load_balancer_names(aws: &Aws) -> Vec<String> {
    inventory(aws).await.load_balancers
}

/// Item 12: a load balancer or target group with meetctl's name but not its
/// tags is someone else's: `up` refuses in preflight (exit 2, nothing made)
/// and `down` leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_named_untagged_load_balancer_or_target_group_is_never_adopted() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let foreign = aws
        .elb
        .create_load_balancer()
        .name(NLB)
        .r#type(LoadBalancerTypeEnum::Network)
        .subnets(first_subnet(&local))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();

    let up = local.run(&["up"]);
    assert_code(&up, 2);
    let err = text(&up);
    assert!(
        err.contains(&format!("load balancer {NLB}"))
            && err.contains("ManagedBy=meetctl")
            && err.contains("`project`"),
        "the error names the resource, the missing tags and the fix: {err}"
    );
    let inv = inventory(&aws).await;
    assert!(
        inv.elastic_ips.is_empty() && inv.target_groups.is_empty() && inv.desired == 0,
        "nothing created: {inv:?}"
    );
    assert!(
        !inv.parameters
            .iter()
            .any(|p| p.ends_with("jvb_advertise_ips")),
        "{inv:?}"
    );

    let down = local.run(&["down"]);
    assert_code(&down, 0);
    assert_eq!(load_balancer_names(&aws).await, vec![NLB], "down kept it");

    // The same for a target group, with the load balancer out of the way.
    aws.elb
        .delete_load_balancer()
        .load_balancer_arn(&foreign)
        .send()
        .await
        .unwrap();
    let vpc = local.field("vpc_id");
    aws.elb
        .create_target_group()
        .name(JVB_TG)
        .protocol(ProtocolEnum::Udp)
        .port(10000)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    let up = local.run(&["up"]);
    assert_code(&up, 2);
    assert!(
        text(&up).contains(&format!("target group {JVB_TG}")),
        "{}",
        text(&up)
    );
    let inv = inventory(&aws).await;
    assert!(
        inv.load_balancers.is_empty() && inv.elastic_ips.is_empty(),
        "nothing created: {inv:?}"
    );
    assert_code(&local.run(&["down"]), 0);
    assert_eq!(inventory(&aws).await.target_groups, vec![JVB_TG]);
}

/// Item 9: `down` deletes the alias with the values it has now (here
/// EvaluateTargetHealth=false, which meetctl never writes); the fault proxy
/// answers a DELETE with other values InvalidChangeBatch, as Route53 does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_deletes_our_alias_by_its_current_values() {
    let local = LocalAws::start();
    let proxy = FaultProxy::start(&local, NO_WAITS);
    let aws = local.aws().await;
    let (zone, domain) = (local.field("hosted_zone_id"), local.field("domain"));
    assert_code(&through(&proxy, &local).arg("up").output().unwrap(), 0);
    let record = a_records(&aws, &zone, &domain).await;
    let target = record[0].alias_target().unwrap().dns_name().to_string();
    upsert_alias(&aws, &zone, &domain, &target, false).await;

    let down = through(&proxy, &local).arg("down").output().unwrap();
    assert_code(&down, 0);
    assert!(a_records(&aws, &zone, &domain).await.is_empty());
    assert_eq!(model_count(&proxy, "route53_delete_mismatch"), 0);
    assert!(is_clean(&inventory(&aws).await));
}

/// Item 9: with our NLB gone, an alias to another load balancer is left
/// alone, and a dangling alias to an NLB of our name is ours and goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_our_nlb_gone_down_deletes_only_an_alias_named_for_it() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    let (zone, domain) = (local.field("hosted_zone_id"), local.field("domain"));
    let elsewhere = "other-site-nlb-0123456789.elb.us-east-1.amazonaws.com";
    upsert_alias(&aws, &zone, &domain, elsewhere, true).await;
    let down = local.run(&["down"]);
    assert_code(&down, 0);
    let left = a_records(&aws, &zone, &domain).await;
    assert_eq!(left.len(), 1, "{}", text(&down));
    assert!(text(&down).contains("left alone"), "{}", text(&down));

    // A name that only starts like ours is another load balancer too.
    let longer = format!("{NLB}-old-0123456789.elb.us-east-1.amazonaws.com");
    upsert_alias(&aws, &zone, &domain, &longer, true).await;
    assert_code(&local.run(&["down"]), 0);
    assert_eq!(a_records(&aws, &zone, &domain).await.len(), 1);

    let dangling = format!("{NLB}-0123456789abcdef.elb.us-east-1.amazonaws.com");
    upsert_alias(&aws, &zone, &domain, &dangling, false).await;
    let down = local.run(&["down"]);
    assert_code(&down, 0);
    assert!(
        a_records(&aws, &zone, &domain).await.is_empty(),
        "{}",
        text(&down)
    );
}

/// Item 9: a DNS failure does not keep the billable pieces alive: `down`
/// removes the NLB, target groups and EIP, then reports the failure, exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_does_not_stop_down_removing_what_bills() {
    let local = LocalAws::start();
    let up_proxy = FaultProxy::start(&local, NO_WAITS);
    let aws = local.aws().await;
    let (zone, domain) = (local.field("hosted_zone_id"), local.field("domain"));
    assert_code(&through(&up_proxy, &local).arg("up").output().unwrap(), 0);

    let mut args = NO_WAITS.to_vec();
    args.extend(["--fault", "ChangeResourceRecordSets=5xx:1.0"]);
    let failing_dns = FaultProxy::start(&local, &args);
    let down = through(&failing_dns, &local).arg("down").output().unwrap();
    assert_code(&down, 1);
    let err = text(&down);
    assert!(err.contains("route53:ChangeResourceRecordSets"), "{err}");
    let inv = inventory(&aws).await;
    assert!(
        inv.load_balancers.is_empty() && inv.target_groups.is_empty() && inv.elastic_ips.is_empty(),
        "billable pieces left after a DNS failure: {inv:?}"
    );
    assert_eq!(a_records(&aws, &zone, &domain).await.len(), 1);

    // Once DNS works again, `down` finishes the job.
    assert_code(&through(&up_proxy, &local).arg("down").output().unwrap(), 0);
    assert!(a_records(&aws, &zone, &domain).await.is_empty());
}

/// Item 8: `up` after a `down` killed between the NLB's deletion and the
/// EIP's release: the EIP is still held, and CreateLoadBalancer with it would
/// fail ResourceInUse (fault proxy model). `up` waits, then builds the NLB
/// with the same address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_waits_for_the_eip_a_deleted_nlb_still_holds() {
    let local = LocalAws::start();
    let proxy = proxy_holding_deleted_nlbs_eips(&local);
    let aws = local.aws().await;
    assert_code(&through(&proxy, &local).arg("up").output().unwrap(), 0);
    let before = inventory(&aws).await.elastic_ips;

    let via_proxy = aws_through(&proxy).await;
    let arn = via_proxy
        .elb
        .describe_load_balancers()
        .names(NLB)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    via_proxy
        .elb
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .unwrap();

    let up = through(&proxy, &local).arg("up").output().unwrap();
    assert_code(&up, 0);
    assert!(
        model_count(&proxy, "eip_association_kept") > 0,
        "up saw the EIP still held"
    );
    assert_eq!(
        model_count(&proxy, "eip_create_lb_in_use"),
        0,
        "{}",
        text(&up)
    );
    let after = inventory(&aws).await;
    assert_eq!(after.load_balancers, vec![NLB]);
    assert_eq!(after.elastic_ips, before, "the same address is kept");
    assert_code(&through(&proxy, &local).arg("down").output().unwrap(), 0);
}

/// Item 11: a scaled-in task keeps running with desired status STOPPED for a
/// while (local AWS --task-stop-delay); `down` waits until it has stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_waits_for_a_task_that_is_still_stopping() {
    let local = LocalAws::start_with(&["--task-stop-delay", "2"]);
    let aws = local.aws().await;
    assert_code(&local.run(&["up"]), 0);
    let cluster = format!("{PROJECT}-cluster");
    let running = aws
        .ecs
        .list_tasks()
        .cluster(&cluster)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    assert_eq!(running.len(), 1);

    let down = local.run(&["down"]);
    assert_code(&down, 0);
    let tasks = aws
        .ecs
        .describe_tasks()
        .cluster(&cluster)
        .set_tasks(Some(running))
        .send()
        .await
        .unwrap();
    let status = tasks.tasks()[0]
        .last_status()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        status,
        "STOPPED",
        "down returned while the task still ran\n{}",
        text(&down)
    );
}

/// Item 8, the replacement path: an NLB built for another subnet is deleted
/// and rebuilt; the new one waits until the deleted one lets go of the EIP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nlb_replaced_for_another_subnet_waits_for_its_eip() {
    let local = LocalAws::start();
    let proxy = proxy_holding_deleted_nlbs_eips(&local);
    let aws = local.aws().await;
    assert_code(&through(&proxy, &local).arg("up").output().unwrap(), 0);
    let eips = inventory(&aws).await.elastic_ips;
    // Not ACTIVE any more, so the next `up` converges instead of saying "already up".
    aws.ecs
        .update_service()
        .cluster(format!("{PROJECT}-cluster"))
        .service(format!("{PROJECT}-service"))
        .desired_count(0)
        .send()
        .await
        .unwrap();

    let other_subnet = local.ready["subnet_ids"][1].as_str().unwrap().to_string();
    let up = through(&proxy, &local)
        .env("MEETCTL_SUBNET_IDS", &other_subnet)
        .arg("up")
        .output()
        .unwrap();
    assert_code(&up, 0);
    assert!(
        model_count(&proxy, "eip_association_kept") > 0,
        "the deleted NLB held the EIP while up looked"
    );
    assert_eq!(
        model_count(&proxy, "eip_create_lb_in_use"),
        0,
        "{}",
        text(&up)
    );
    let lb = aws
        .elb
        .describe_load_balancers()
        .names(NLB)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone();
    let subnets: Vec<_> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id())
        .collect();
    assert_eq!(
        subnets,
        [other_subnet.as_str()],
        "replaced in the new subnet"
    );
    assert_eq!(inventory(&aws).await.elastic_ips, eips, "same address kept");
}
