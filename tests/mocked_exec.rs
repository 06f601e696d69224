//! ECS ExecuteCommand refusals the local AWS cannot show, with
//! aws-smithy-mocks. The ECS API reference (ExecuteCommand, "Errors") lists
//! `TargetNotConnectedException` ("The execute command cannot run. This
//! error may be caused by any of the following configuration errors: ...":
//! the task role's ssmmessages permissions, no route from the task to SSM)
//! and `AccessDeniedException` (the caller lacks ecs:ExecuteCommand); the
//! harness's ExecuteCommand has no IAM or SSM connectivity to refuse on.
//! `meetctl users` must name the fix and never start the session plugin.

use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::execute_command::ExecuteCommandError;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::error::{AccessDeniedException, TargetNotConnectedException};
use aws_sdk_ecs::types::{Container, ManagedAgent, ManagedAgentName, Service, Task};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use meetctl::commands::users::{self, Action, Options};
use meetctl::config::{Config, FlagValues, Inputs};
use meetctl::secret_input::SecretSource;
use meetctl::{Context, Error};

const TASK_ARN: &str =
    "arn:aws:ecs:us-east-1:123456789012:task/jitsi-video-platform-cluster/0123456789abcdef";

fn rules(refusal: fn() -> ExecuteCommandError) -> Vec<Rule> {
    vec![
        mock!(Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .service_name("jitsi-video-platform-service")
                        .status("ACTIVE")
                        .desired_count(1)
                        .running_count(1)
                        .enable_execute_command(true)
                        .build(),
                )
                .build()
        }),
        mock!(Client::list_tasks)
            .then_output(|| ListTasksOutput::builder().task_arns(TASK_ARN).build()),
        mock!(Client::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(
                    Task::builder()
                        .task_arn(TASK_ARN)
                        .group("service:jitsi-video-platform-service")
                        .last_status("RUNNING")
                        .desired_status("RUNNING")
                        .enable_execute_command(true)
                        .containers(
                            Container::builder()
                                .name("prosody")
                                .runtime_id("0123456789abcdef-1234567890")
                                .managed_agents(
                                    ManagedAgent::builder()
                                        .name(ManagedAgentName::ExecuteCommandAgent)
                                        .last_status("RUNNING")
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(Client::execute_command).then_error(refusal),
    ]
}

/// A stand-in plugin on PATH that records any start: it must not run when
/// ExecuteCommand is refused.
struct Plugin {
    dir: tempfile::TempDir,
}

impl Plugin {
    fn install() -> Plugin {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session-manager-plugin");
        std::fs::write(
            &path,
            format!("#!/bin/sh\ntouch {}/started\n", dir.path().display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Plugin { dir }
    }

    fn started(&self) -> bool {
        self.dir.path().join("started").exists()
    }
}

async fn add_user(refusal: fn() -> ExecuteCommandError) -> (Error, bool) {
    let rules = rules(refusal);
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules);
    let mut flags = FlagValues::default();
    flags.set("auth", "internal");
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
    aws.ecs = ecs;
    let ctx = Context::new(config, aws, meetctl::output::Reporter::new());
    let plugin = Plugin::install();
    let options = Options {
        path_var: Some(plugin.dir.path().as_os_str().to_owned()),
        password: SecretSource::Reader(Box::new(std::io::Cursor::new(
            b"correct-horse-battery-9\n".to_vec(),
        ))),
    };
    let err = users::run(&ctx, &Action::Add("alice".into()), options)
        .await
        .unwrap_err();
    (err, plugin.started())
}

#[tokio::test]
async fn an_agent_that_cannot_reach_ssm_is_named_with_its_fix() {
    let (err, started) = add_user(|| {
        ExecuteCommandError::TargetNotConnectedException(
            TargetNotConnectedException::builder()
                .message("The execute command cannot run. This error may be caused by any of the following configuration errors: ...")
                .build(),
        )
    })
    .await;
    let text = err.to_string();
    assert!(text.contains("TargetNotConnectedException"), "{text}");
    assert!(
        text.contains("ssmmessages") && text.contains("infra/iam.tf"),
        "{text}"
    );
    assert!(
        !started,
        "the session plugin ran although ExecuteCommand was refused"
    );
}

#[tokio::test]
async fn missing_execute_command_permission_is_named_with_its_fix() {
    let (err, started) = add_user(|| {
        ExecuteCommandError::AccessDeniedException(
            AccessDeniedException::builder()
                .message("User is not authorized to perform: ecs:ExecuteCommand")
                .build(),
        )
    })
    .await;
    let text = err.to_string();
    assert!(text.contains("AccessDeniedException"), "{text}");
    assert!(
        text.contains("fix: your credentials need ecs:ExecuteCommand"),
        "{text}"
    );
    assert!(!started);
}
