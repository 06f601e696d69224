//! The ECS service that runs the Jitsi task: scale it between 0 and 1, pin it
//! to the NLB's subnet, and find its tasks and their private addresses.

use std::time::Duration;

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DesiredStatus, LoadBalancer as EcsLoadBalancer,
    NetworkConfiguration,
};

use super::{aws_error, Aws};
use crate::error::{Error, Result};
use crate::names::Names;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Service {
    pub status: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub task_definition: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// ECS Exec (`enableExecuteCommand`) for the tasks the service starts.
    pub execute_command: bool,
    /// The target groups ECS registers the service's tasks in.
    pub load_balancers: Vec<ServiceLoadBalancer>,
}

/// One target group of the service, and which container port it sends to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServiceLoadBalancer {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Task {
    pub arn: String,
    pub last_status: String,
    pub desired_status: String,
    pub health: String,
    pub private_ip: Option<String>,
    pub started_at_epoch: Option<i64>,
}

impl Task {
    pub fn is_running(&self) -> bool {
        self.last_status == "RUNNING" && self.desired_status == "RUNNING"
    }

    pub fn short_id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TaskSize {
    pub vcpu: f64,
    pub memory_gb: f64,
    pub arm64: bool,
}

pub async fn cluster_is_active(aws: &Aws, cluster: &str) -> Result<bool> {
    let out = aws
        .ecs
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .map_err(aws_error("ecs:DescribeClusters", cluster))?;
    Ok(out.clusters().iter().any(|c| c.status() == Some("ACTIVE")))
}

/// The service, or None when it does not exist (or is being deleted).
pub async fn service(aws: &Aws, cluster: &str, service: &str) -> Result<Option<Service>> {
    let out = aws
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(aws_error(
            "ecs:DescribeServices",
            format!("{cluster}/{service}"),
        ))?;
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
        .map(|s| {
            let vpc = s
                .network_configuration()
                .and_then(|n| n.awsvpc_configuration());
            Service {
                status: s.status().unwrap_or_default().to_string(),
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
                task_definition: s.task_definition().unwrap_or_default().to_string(),
                subnets: vpc.map(|v| v.subnets().to_vec()).unwrap_or_default(),
                security_groups: vpc
                    .map(|v| v.security_groups().to_vec())
                    .unwrap_or_default(),
                load_balancers: s
                    .load_balancers()
                    .iter()
                    .map(|lb| ServiceLoadBalancer {
                        target_group_arn: lb.target_group_arn().unwrap_or_default().to_string(),
                        container_name: lb.container_name().unwrap_or_default().to_string(),
                        container_port: lb.container_port().unwrap_or_default(),
                    })
                    .collect(),
                execute_command: s.enable_execute_command(),
            }
        }))
}

/// What one UpdateService changes besides the desired count.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServiceChange<'a> {
    /// Subnet and security group to pin the tasks to (the NLB's subnet, so
    /// the IP targets sit in an AZ the NLB serves).
    pub pin: Option<(&'a str, &'a str)>,
    /// The target groups ECS is to register the tasks in; `Some(&[])`
    /// detaches them all.
    pub load_balancers: Option<&'a [ServiceLoadBalancer]>,
    /// How long ECS ignores failing load-balancer health checks of a new task.
    pub health_check_grace: Option<Duration>,
    pub force_new_deployment: bool,
}

/// Sets the desired count, and what `change` asks for, in one UpdateService.
///
/// With `load_balancers`, ECS itself registers each task of the service in
/// those target groups when it starts and deregisters it when it stops, so
/// a task ECS replaces (failed health check, rollback, Fargate retirement)
/// is never missing from the load balancer. UpdateService API reference
/// (docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html):
/// for services with the rolling-update (ECS) deployment controller,
/// `loadBalancers` can be added, updated or removed ("you can update from a
/// single target group to multiple target groups"), an empty list removes
/// them, and a change starts a new deployment; each entry names the target
/// group ARN, the container name and the container port (a `containerPort`
/// of the task definition). ECS registers targets through its service-linked
/// role (AWSServiceRoleForECS), created on first use of ECS; no `role` may be
/// passed for awsvpc tasks.
pub async fn update_service(
    aws: &Aws,
    cluster: &str,
    service: &str,
    desired: i32,
    change: ServiceChange<'_>,
) -> Result<()> {
    let mut req = aws
        .ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(desired)
        .force_new_deployment(change.force_new_deployment);
    if let Some((subnet, security_group)) = change.pin {
        let vpc = AwsVpcConfiguration::builder()
            .subnets(subnet)
            .security_groups(security_group)
            .assign_public_ip(AssignPublicIp::Enabled)
            .build()
            .map_err(|e| Error::Unexpected {
                what: "network configuration".into(),
                problem: e.to_string(),
                fix: "report this as a bug".into(),
            })?;
        req = req.network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        );
    }
    if let Some(groups) = change.load_balancers {
        let groups = groups
            .iter()
            .map(|g| {
                EcsLoadBalancer::builder()
                    .target_group_arn(&g.target_group_arn)
                    .container_name(&g.container_name)
                    .container_port(g.container_port)
                    .build()
            })
            .collect();
        // Some(empty) is sent as `[]`, which is how the API removes them.
        req = req.set_load_balancers(Some(groups));
    }
    if let Some(grace) = change.health_check_grace {
        req = req
            .health_check_grace_period_seconds(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX));
    }
    req.send().await.map_err(aws_error(
        "ecs:UpdateService",
        format!("{cluster}/{service}"),
    ))?;
    Ok(())
}

/// Tasks of the service that ECS means to run (ListTasks' default filter is
/// desiredStatus RUNNING), matched by task group.
pub async fn service_tasks(aws: &Aws, cluster: &str, service: &str) -> Result<Vec<Task>> {
    let arns = list_task_arns(aws, cluster, service, DesiredStatus::Running).await?;
    describe_tasks(aws, cluster, service, &arns).await
}

/// Every task of the service that has not stopped yet, including those ECS
/// is stopping: after a scale-in a task's desired status is STOPPED at once
/// while it still runs (and bills) through DEACTIVATING/STOPPING, and
/// ListTasks leaves it out unless asked for desiredStatus STOPPED
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html:
/// "The default status filter is RUNNING").
pub async fn service_tasks_not_stopped(
    aws: &Aws,
    cluster: &str,
    service: &str,
) -> Result<Vec<Task>> {
    let (running, stopping) = tokio::try_join!(
        list_task_arns(aws, cluster, service, DesiredStatus::Running),
        list_task_arns(aws, cluster, service, DesiredStatus::Stopped),
    )?;
    let mut arns = running;
    for arn in stopping {
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    describe_tasks(aws, cluster, service, &arns).await
}

/// ListTasks, every page (100 tasks a page).
async fn list_task_arns(
    aws: &Aws,
    cluster: &str,
    service: &str,
    desired: DesiredStatus,
) -> Result<Vec<String>> {
    aws.ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(desired)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(aws_error("ecs:ListTasks", format!("{cluster}/{service}")))
}

/// Those of `arns` that are tasks of the service and have not stopped.
pub async fn describe_tasks(
    aws: &Aws,
    cluster: &str,
    service: &str,
    arns: &[String],
) -> Result<Vec<Task>> {
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    // DescribeTasks takes at most 100 tasks a call.
    let mut described = Vec::new();
    for chunk in arns.chunks(100) {
        let out = aws
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(aws_error(
                "ecs:DescribeTasks",
                format!("{cluster}/{service}"),
            ))?;
        described.extend(out.tasks().iter().cloned());
    }
    let group = Names::task_group(service);
    Ok(described
        .iter()
        .filter(|t| t.group() == Some(group.as_str()) && t.last_status() != Some("STOPPED"))
        .map(|t| Task {
            arn: t.task_arn().unwrap_or_default().to_string(),
            last_status: t.last_status().unwrap_or_default().to_string(),
            desired_status: t.desired_status().unwrap_or_default().to_string(),
            health: t
                .health_status()
                .map(|h| h.as_str().to_string())
                .unwrap_or_else(|| "UNKNOWN".into()),
            private_ip: t
                .attachments()
                .iter()
                .flat_map(|a| a.details())
                .find(|d| d.name() == Some("privateIPv4Address"))
                .and_then(|d| d.value())
                .map(String::from),
            started_at_epoch: t.started_at().map(|d| d.secs()),
        })
        .collect())
}

/// vCPU, memory and architecture of a task definition, for the hourly rate.
pub async fn task_size(aws: &Aws, task_definition: &str) -> Result<TaskSize> {
    let out = aws
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(aws_error("ecs:DescribeTaskDefinition", task_definition))?;
    let td = out.task_definition().ok_or_else(|| {
        Error::preflight(
            "service",
            format!("task definition {task_definition} not found"),
            "apply infra/ again",
        )
    })?;
    let units = |s: Option<&str>| s.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    Ok(TaskSize {
        vcpu: units(td.cpu()) / 1024.0,
        memory_gb: units(td.memory()) / 1024.0,
        arm64: td
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .is_some_and(|a| a.as_str() == "ARM64"),
    })
}

/// Each container of a task with its health (`HEALTHY`, `UNHEALTHY`, `UNKNOWN`).
pub async fn container_health(
    aws: &Aws,
    cluster: &str,
    task_arn: &str,
) -> Result<Vec<(String, String)>> {
    let out = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task_arn)
        .send()
        .await
        .map_err(aws_error("ecs:DescribeTasks", task_arn))?;
    Ok(out
        .tasks()
        .iter()
        .flat_map(|t| t.containers())
        .map(|c| {
            (
                c.name().unwrap_or("?").to_string(),
                c.health_status()
                    .map(|h| h.as_str().to_string())
                    .unwrap_or_else(|| "UNKNOWN".into()),
            )
        })
        .collect())
}
