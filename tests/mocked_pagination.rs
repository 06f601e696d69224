//! Pages the local emulator never shows, with aws-smithy-mocks: moto filters
//! DescribeParameters before it pages (so a match is always on the first
//! page) and never pages ListTasks. AWS does both: DescribeParameters may
//! answer a page with none of the matches and a NextToken
//! (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html),
//! and ListTasks pages by 100 and lists desired-RUNNING tasks unless asked
//! for desiredStatus STOPPED
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).

use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::DesiredStatus;
use aws_sdk_ssm::operation::describe_parameters::DescribeParametersOutput;
use aws_sdk_ssm::types::ParameterMetadata;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use meetctl::aws::{ecs, ssm, Aws};

fn aws() -> Aws {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    Aws::from_sdk_config(&sdk, "us-east-1")
}

const SECRET: &str = "/p/jvb_auth_password";

#[tokio::test]
async fn a_parameter_found_only_on_a_later_page_exists() {
    let empty_first_page = mock!(aws_sdk_ssm::Client::describe_parameters)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeParametersOutput::builder()
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(aws_sdk_ssm::Client::describe_parameters)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeParametersOutput::builder()
                .parameters(ParameterMetadata::builder().name(SECRET).build())
                .build()
        });
    let mut aws = aws();
    aws.ssm = mock_client!(
        aws_sdk_ssm,
        RuleMode::MatchAny,
        [&empty_first_page, &second_page]
    );
    assert!(ssm::exists(&aws, SECRET).await.unwrap());
    assert_eq!(second_page.num_calls(), 1, "the second page was read");

    // And a parameter on no page does not exist.
    let last_page = mock!(aws_sdk_ssm::Client::describe_parameters)
        .then_output(|| DescribeParametersOutput::builder().build());
    aws.ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&last_page]);
    assert!(!ssm::exists(&aws, SECRET).await.unwrap());
}

fn task(arn: &str, desired: &str) -> aws_sdk_ecs::types::Task {
    aws_sdk_ecs::types::Task::builder()
        .task_arn(arn)
        .group("service:svc")
        .last_status("RUNNING")
        .desired_status(desired)
        .build()
}

#[tokio::test]
async fn down_sees_every_page_of_tasks_and_the_ones_being_stopped() {
    let running_page_1 = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| {
            r.desired_status() == Some(&DesiredStatus::Running) && r.next_token().is_none()
        })
        .then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:task/a")
                .next_token("more")
                .build()
        });
    let running_page_2 = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| {
            r.desired_status() == Some(&DesiredStatus::Running) && r.next_token() == Some("more")
        })
        .then_output(|| ListTasksOutput::builder().task_arns("arn:task/b").build());
    let stopping = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| r.desired_status() == Some(&DesiredStatus::Stopped))
        .then_output(|| ListTasksOutput::builder().task_arns("arn:task/c").build());
    let describe = mock!(aws_sdk_ecs::Client::describe_tasks)
        .match_requests(|r| r.tasks().len() == 3)
        .then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(task("arn:task/a", "RUNNING"))
                .tasks(task("arn:task/b", "RUNNING"))
                .tasks(task("arn:task/c", "STOPPED"))
                .build()
        });
    let mut aws = aws();
    aws.ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&running_page_1, &running_page_2, &stopping, &describe]
    );
    let tasks = ecs::service_tasks_not_stopped(&aws, "cluster", "svc")
        .await
        .unwrap();
    let mut arns: Vec<_> = tasks.iter().map(|t| t.arn.as_str()).collect();
    arns.sort();
    assert_eq!(arns, ["arn:task/a", "arn:task/b", "arn:task/c"]);
    assert_eq!(running_page_2.num_calls(), 1);
    assert_eq!(describe.num_calls(), 1);
}
