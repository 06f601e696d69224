//! The ECS service that runs the Jitsi task: scale it between 0 and 1, pin it
//! to the NLB's subnet, and find its tasks and their private addresses.

use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration};

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
                execute_command: s.enable_execute_command(),
            }
        }))
}

/// Sets the desired count; with `pin`, also pins the tasks to one subnet
/// (the NLB's, so the IP targets sit in an AZ the NLB serves).
pub async fn scale(
    aws: &Aws,
    cluster: &str,
    service: &str,
    desired: i32,
    pin: Option<(&str, &str)>,
    force_new_deployment: bool,
) -> Result<()> {
    let mut req = aws
        .ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .desired_count(desired)
        .force_new_deployment(force_new_deployment);
    if let Some((subnet, security_group)) = pin {
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
    req.send().await.map_err(aws_error(
        "ecs:UpdateService",
        format!("{cluster}/{service}"),
    ))?;
    Ok(())
}

/// Tasks of the service that have not stopped, matched by task group.
pub async fn service_tasks(aws: &Aws, cluster: &str, service: &str) -> Result<Vec<Task>> {
    let list = aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .send()
        .await
        .map_err(aws_error("ecs:ListTasks", format!("{cluster}/{service}")))?;
    describe_tasks(aws, cluster, service, list.task_arns()).await
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
    let out = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns.to_vec()))
        .send()
        .await
        .map_err(aws_error(
            "ecs:DescribeTasks",
            format!("{cluster}/{service}"),
        ))?;
    let group = Names::task_group(service);
    Ok(out
        .tasks()
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
