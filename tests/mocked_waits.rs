//! AWS behaviour the local emulator cannot show, with aws-smithy-mocks: moto
//! reports an NLB `active` and every target `healthy` from the first look, so
//! the real waits (provisioning → active, initial → healthy) and a wait that
//! times out are exercised against mocked ELBv2 responses here.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerState, LoadBalancerStateEnum, TargetDescription, TargetHealth,
    TargetHealthDescription, TargetHealthReasonEnum, TargetHealthStateEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use meetctl::aws::elb;
use meetctl::config::{Config, FlagValues, Inputs};
use meetctl::{Context, Error};

const LB_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/p-nlb/1";

/// A context whose ELBv2 client answers from `rule` (the other clients are never called).
fn context(rule: &Rule, timeout_secs: &str) -> Context {
    let elb_client = mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::Sequential, [rule]);
    let mut flags = FlagValues::default();
    flags.set("poll_interval_ms", "10");
    flags.set("nlb_active_timeout", timeout_secs);
    flags.set("targets_healthy_timeout", timeout_secs);
    let config = Config::load(&Inputs {
        flags,
        ..Default::default()
    })
    .unwrap();
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    let mut aws = meetctl::aws::Aws::from_sdk_config(&sdk, "us-east-1");
    aws.elb = elb_client;
    Context::new(config, aws, meetctl::output::Reporter::new())
}

fn nlb(state: LoadBalancerStateEnum) -> DescribeLoadBalancersOutput {
    DescribeLoadBalancersOutput::builder()
        .load_balancers(
            LoadBalancer::builder()
                .load_balancer_arn(LB_ARN)
                .load_balancer_name("p-nlb")
                .dns_name("p-nlb-1.elb.us-east-1.amazonaws.com")
                .state(LoadBalancerState::builder().code(state).build())
                .build(),
        )
        .build()
}

fn health(
    state: TargetHealthStateEnum,
    reason: Option<TargetHealthReasonEnum>,
) -> DescribeTargetHealthOutput {
    DescribeTargetHealthOutput::builder()
        .target_health_descriptions(
            TargetHealthDescription::builder()
                .target(
                    TargetDescription::builder()
                        .id("10.0.1.5")
                        .port(10000)
                        .build(),
                )
                .target_health(
                    TargetHealth::builder()
                        .state(state)
                        .set_reason(reason)
                        .build(),
                )
                .build(),
        )
        .build()
}

fn placeholder_lb() -> elb::LoadBalancer {
    elb::LoadBalancer {
        arn: LB_ARN.into(),
        name: "p-nlb".into(),
        dns_name: String::new(),
        state: "provisioning".into(),
        canonical_zone_id: String::new(),
        created_epoch: None,
        subnets: vec![],
        allocation_ids: vec![],
    }
}

fn target_group() -> elb::TargetGroup {
    elb::TargetGroup {
        arn: "arn:tg/p-jvb".into(),
        name: "p-jvb".into(),
        protocol: "UDP".into(),
        port: 10000,
    }
}

#[tokio::test]
async fn nlb_wait_follows_provisioning_to_active() {
    let rule = mock!(Client::describe_load_balancers)
        .sequence()
        .output(|| nlb(LoadBalancerStateEnum::Provisioning))
        .times(3)
        .output(|| nlb(LoadBalancerStateEnum::Active))
        .build();
    let ctx = context(&rule, "30");
    let step = ctx.out.step("load-balancer");
    let lb = meetctl::lifecycle::wait_active(&ctx, &placeholder_lb(), &step)
        .await
        .unwrap();
    assert_eq!(lb.state, "active");
    assert_eq!(rule.num_calls(), 4, "three provisioning looks, then active");
}

#[tokio::test]
async fn nlb_that_fails_to_provision_is_an_error_not_a_wait() {
    let rule = mock!(Client::describe_load_balancers)
        .sequence()
        .output(|| nlb(LoadBalancerStateEnum::Failed))
        .build();
    let ctx = context(&rule, "30");
    let step = ctx.out.step("load-balancer");
    let err = meetctl::lifecycle::wait_active(&ctx, &placeholder_lb(), &step)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("provisioning failed"), "{err}");
}

#[tokio::test]
async fn target_health_wait_follows_initial_to_healthy() {
    let rule = mock!(Client::describe_target_health)
        .sequence()
        .output(|| {
            health(
                TargetHealthStateEnum::Initial,
                Some(TargetHealthReasonEnum::InitialHealthChecking),
            )
        })
        .times(4)
        .output(|| health(TargetHealthStateEnum::Healthy, None))
        .build();
    let ctx = context(&rule, "30");
    let step = ctx.out.step("targets");
    let tg = target_group();
    meetctl::lifecycle::wait_healthy(&ctx, &[&tg], "10.0.1.5", &step)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 5);
}

#[tokio::test]
async fn a_wait_that_times_out_says_what_it_awaited_and_what_it_last_saw() {
    let rule = mock!(Client::describe_load_balancers)
        .sequence()
        .output(|| nlb(LoadBalancerStateEnum::Provisioning))
        .repeatedly()
        .build();
    let ctx = context(&rule, "1");
    let step = ctx.out.step("load-balancer");
    let started = std::time::Instant::now();
    let err = meetctl::lifecycle::wait_active(&ctx, &placeholder_lb(), &step)
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_secs(1));
    match &err {
        Error::WaitTimeout {
            what, last_seen, ..
        } => {
            assert_eq!(what, "load balancer p-nlb to become active");
            assert_eq!(last_seen, "load balancer provisioning");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("nlb_active_timeout")
            && message.contains("last seen: load balancer provisioning"),
        "{message}"
    );
    // Backoff: a fixed 10 ms poll would look ~100 times in a second; growing
    // to 2x the first interval (20 ms, jittered to 10-20 ms) it looks about
    // two thirds as often.
    assert!(rule.num_calls() <= 80, "{} calls", rule.num_calls());
}

#[tokio::test]
async fn unhealthy_target_times_out_with_the_reason() {
    let rule = mock!(Client::describe_target_health)
        .sequence()
        .output(|| {
            health(
                TargetHealthStateEnum::Unhealthy,
                Some(TargetHealthReasonEnum::FailedHealthChecks),
            )
        })
        .repeatedly()
        .build();
    let ctx = context(&rule, "1");
    let step = ctx.out.step("targets");
    let tg = target_group();
    let err = meetctl::lifecycle::wait_healthy(&ctx, &[&tg], "10.0.1.5", &step)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("p-jvb: unhealthy (Target.FailedHealthChecks)"),
        "{message}"
    );
    assert!(
        message.contains("8080"),
        "the fix names the health port: {message}"
    );
}
