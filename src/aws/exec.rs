//! ECS Exec: run a command in a container of the running task and talk to
//! it, as `aws ecs execute-command --interactive` does.
//!
//! ECS `ExecuteCommand` only opens an SSM session and answers with its
//! `session` (sessionId, streamUrl, tokenValue); the bytes then travel over
//! the SSM data channel, which the AWS CLI leaves to the
//! `session-manager-plugin` program. meetctl does the same, with the
//! arguments the AWS CLI passes (awscli `customizations/ecs/executecommand.py`:
//! the session as JSON, region, "StartSession", profile, `{"Target":
//! "ecs:<cluster>_<task id>_<container runtimeId>"}`, the ECS endpoint), but
//! with the plugin's stdin and stdout on pipes, so it can answer prompts
//! itself. The data channel's own protocol is not reimplemented: the plugin
//! is AWS's supported client for it, and a second implementation could only
//! be tested against itself.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{aws_error, Aws};
use crate::error::{Error, Result};

pub const PLUGIN: &str = "session-manager-plugin";

const PLUGIN_INSTALL: &str = "install AWS's Session Manager plugin and put `session-manager-plugin` on PATH: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";

/// The ECS Exec agent's name in a container's `managedAgents`.
const EXEC_AGENT: &str = "ExecuteCommandAgent";

/// prosodyctl writes its prompt and only then turns the terminal's echo off
/// (`stty -echo` in util/human/io.lua `getpass`), so an answer sent the
/// instant the prompt arrives could be echoed into the session's output,
/// which ECS Exec logs to CloudWatch. A round trip through the SSM channel
/// already takes longer than that `stty`; this pause makes it certain.
const ECHO_OFF_GRACE: Duration = Duration::from_millis(400);

/// A value that must never be printed or logged (a password).
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// `session-manager-plugin` on `path_var` (the PATH variable's value).
pub fn find_plugin(path_var: Option<&OsStr>) -> Result<PathBuf> {
    let found = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(PLUGIN))
        .find(|candidate| is_executable(candidate));
    found.ok_or_else(|| {
        Error::preflight(
            PLUGIN,
            "not found on PATH; ECS Exec sessions need it, as `aws ecs execute-command` does",
            PLUGIN_INSTALL,
        )
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What ECS Exec needs to know about one container of a task.
#[derive(Clone, Debug)]
pub struct ExecContainer {
    pub task_arn: String,
    pub container: String,
    /// The task was started with ECS Exec (`enableExecuteCommand`).
    pub task_exec_enabled: bool,
    /// The container's runtime id, part of the SSM target.
    pub runtime_id: Option<String>,
    /// The ECS Exec agent's status in the container (`RUNNING` when usable).
    pub agent_status: Option<String>,
}

impl ExecContainer {
    pub fn agent_running(&self) -> bool {
        self.agent_status.as_deref() == Some("RUNNING")
    }
}

/// The ECS Exec facts of `container` in `task_arn`, or None when the task
/// has no such container.
pub async fn container(
    aws: &Aws,
    cluster: &str,
    task_arn: &str,
    container: &str,
) -> Result<Option<ExecContainer>> {
    let out = aws
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task_arn)
        .send()
        .await
        .map_err(aws_error("ecs:DescribeTasks", task_arn))?;
    Ok(out.tasks().iter().find_map(|task| {
        let c = task
            .containers()
            .iter()
            .find(|c| c.name() == Some(container))?;
        Some(ExecContainer {
            task_arn: task.task_arn().unwrap_or(task_arn).to_string(),
            container: container.to_string(),
            task_exec_enabled: task.enable_execute_command(),
            runtime_id: c.runtime_id().map(String::from),
            agent_status: c
                .managed_agents()
                .iter()
                .find(|a| a.name().map(|n| n.as_str()) == Some(EXEC_AGENT))
                .and_then(|a| a.last_status())
                .map(String::from),
        })
    }))
}

/// An opened ECS Exec session: what the plugin needs to connect to it.
pub struct Session {
    pub session_id: String,
    /// The session as ECS returned it (holds the session's token).
    session_json: Secret,
    target: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &self.session_id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// ECS `ExecuteCommand` (interactive: ECS supports no other mode) of
/// `command` in the container. `command` is recorded by CloudTrail with
/// the request: it must never hold a secret.
pub async fn execute_command(
    aws: &Aws,
    cluster: &str,
    target: &ExecContainer,
    command: &str,
) -> Result<Session> {
    let runtime_id = target
        .runtime_id
        .as_deref()
        .ok_or_else(|| Error::Unexpected {
            what: format!("container {} of task {}", target.container, target.task_arn),
            problem: "has no runtime id".into(),
            fix: "wait until the task runs, then retry".into(),
        })?;
    tracing::debug!(target: "meetctl::exec", "ExecuteCommand in {} of {}: {command}", target.container, target.task_arn);
    let out = aws
        .ecs
        .execute_command()
        .cluster(cluster)
        .task(&target.task_arn)
        .container(&target.container)
        .interactive(true)
        .command(command)
        .send()
        .await
        .map_err(|err| execute_command_error(err, target))?;
    let session = out.session().ok_or_else(|| Error::Unexpected {
        what: "ECS ExecuteCommand".into(),
        problem: "the answer holds no session".into(),
        fix: "retry; if it persists, check the task's ECS Exec agent".into(),
    })?;
    let session_id = session.session_id().unwrap_or_default().to_string();
    let session_json = serde_json::json!({
        "sessionId": session.session_id(),
        "streamUrl": session.stream_url(),
        "tokenValue": session.token_value(),
    })
    .to_string();
    let cluster_name = out
        .cluster_arn()
        .unwrap_or(cluster)
        .rsplit('/')
        .next()
        .unwrap_or(cluster);
    let task_id = out
        .task_arn()
        .unwrap_or(&target.task_arn)
        .rsplit('/')
        .next()
        .unwrap_or_default();
    Ok(Session {
        session_id,
        session_json: Secret::new(session_json),
        target: format!("ecs:{cluster_name}_{task_id}_{runtime_id}"),
    })
}

/// ExecuteCommand's refusals that name their own fix (ECS API reference,
/// ExecuteCommand "Errors"; troubleshooting in the ECS developer guide,
/// "Troubleshooting issues with ECS Exec").
fn execute_command_error(
    err: aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_ecs::operation::execute_command::ExecuteCommandError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
    target: &ExecContainer,
) -> Error {
    let refusal = err.as_service_error();
    let fix = if refusal.is_some_and(|e| e.is_target_not_connected_exception()) {
        Some("the ECS Exec agent in the task cannot reach Systems Manager: the task role needs the ssmmessages:* permissions of infra/iam.tf and the task a route to the internet (its public IP); then `meetctl down` and `meetctl up`")
    } else if refusal.is_some_and(|e| e.is_access_denied_exception()) {
        Some("your credentials need ecs:ExecuteCommand on the cluster's tasks")
    } else {
        None
    };
    match (aws_error("ecs:ExecuteCommand", &target.task_arn)(err), fix) {
        (Error::Aws { message, .. }, Some(fix)) => Error::Unexpected {
            what: format!(
                "ECS Exec into {} of task {}",
                target.container, target.task_arn
            ),
            problem: format!("ExecuteCommand refused: {message}"),
            fix: fix.into(),
        },
        (other, _) => other,
    }
}

/// The plugin's arguments, in the order the AWS CLI passes them.
pub fn plugin_args(
    session: &Session,
    region: &str,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> Vec<String> {
    let endpoint = endpoint_url.map(String::from).unwrap_or_else(|| {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://ecs.{region}.{suffix}")
    });
    vec![
        session.session_json.expose().to_string(),
        region.to_string(),
        "StartSession".to_string(),
        profile.unwrap_or_default().to_string(),
        serde_json::json!({ "Target": session.target }).to_string(),
        endpoint,
    ]
}

/// One prompt to wait for in the session's output, and what to type then.
pub struct Reply<'a> {
    pub prompt: &'a str,
    pub answer: &'a Secret,
}

/// What a session printed (every answer replaced by `********`), and how
/// many of the replies were sent.
#[derive(Debug)]
pub struct Transcript {
    pub output: String,
    pub replies_sent: usize,
}

/// Runs the plugin for `args`, answers each prompt of `replies` in turn on
/// its stdin, and returns what the remote command printed once the session
/// ends. The answers travel only over the session's stdin; they are never
/// in the plugin's arguments, and are masked in the transcript.
pub async fn run_session(
    plugin: &Path,
    args: &[String],
    replies: &[Reply<'_>],
    timeout: Duration,
) -> Result<Transcript> {
    let session_failed = |problem: String| {
        Error::Unexpected {
        what: "the ECS Exec session".into(),
        problem,
        fix: "retry; if it persists, check `aws ecs execute-command` to the prosody container and the task role's ssmmessages permissions (infra/iam.tf)".into(),
    }
    };
    let mut child = tokio::process::Command::new(plugin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| session_failed(format!("cannot start {}: {e}", plugin.display())))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr_reader = tokio::spawn(async move {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text).await;
        text
    });
    let dialog = async {
        let mut output: Vec<u8> = Vec::new();
        let mut searched = 0;
        let mut sent = 0;
        let mut buf = [0u8; 4096];
        loop {
            let n = stdout.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            output.extend_from_slice(&buf[..n]);
            while let Some(reply) = replies.get(sent) {
                let Some(at) = find(&output[searched..], reply.prompt.as_bytes()) else {
                    break;
                };
                searched += at + reply.prompt.len();
                tokio::time::sleep(ECHO_OFF_GRACE).await;
                stdin
                    .write_all(format!("{}\n", reply.answer.expose()).as_bytes())
                    .await?;
                stdin.flush().await?;
                sent += 1;
            }
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((output, sent, status))
    };
    let (output, sent, status) = match tokio::time::timeout(timeout, dialog).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(session_failed(format!("talking to {PLUGIN}: {e}"))),
        Err(_) => {
            return Err(Error::WaitTimeout {
                what: "the ECS Exec session to end".into(),
                waited: timeout,
                last_seen: "the session was still open".into(),
                fix: "retry; `meetctl check` shows whether the task is healthy".into(),
            })
        }
    };
    let mask = |bytes: &[u8]| {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        for reply in replies {
            if !reply.answer.expose().is_empty() {
                text = text.replace(reply.answer.expose(), "********");
            }
        }
        text
    };
    if !status.success() {
        let stderr = stderr_reader.await.unwrap_or_default();
        return Err(session_failed(format!(
            "{PLUGIN} exited with {status}: {}",
            mask(&stderr).trim()
        )));
    }
    Ok(Transcript {
        output: mask(&output),
        replies_sent: sent,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_an_executable_plugin_on_path() {
        let empty = tempfile::tempdir().unwrap();
        let with_plugin = tempfile::tempdir().unwrap();
        let plugin = with_plugin.path().join(PLUGIN);
        std::fs::write(&plugin, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([empty.path(), with_plugin.path()]).unwrap();
        // Not executable yet: not a plugin.
        let err = find_plugin(Some(&path)).unwrap_err();
        assert!(
            matches!(&err, Error::Preflight { what, .. } if what == PLUGIN),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("session-manager-working-with-install-plugin"),
            "{err}"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_plugin(Some(&path)).unwrap(), plugin);
        assert!(find_plugin(None).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let secret = Secret::new("hunter2-hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
        let session = Session {
            session_id: "s-1".into(),
            session_json: Secret::new("{\"tokenValue\":\"TOKEN\"}".into()),
            target: "ecs:c_t_r".into(),
        };
        assert!(!format!("{session:?}").contains("TOKEN"));
    }

    #[test]
    fn plugin_arguments_follow_the_aws_cli() {
        let session = Session {
            session_id: "s-1".into(),
            session_json: Secret::new("{\"sessionId\":\"s-1\"}".into()),
            target: "ecs:c_t_r".into(),
        };
        let args = plugin_args(&session, "eu-central-1", None, None);
        assert_eq!(
            args,
            [
                "{\"sessionId\":\"s-1\"}",
                "eu-central-1",
                "StartSession",
                "",
                "{\"Target\":\"ecs:c_t_r\"}",
                "https://ecs.eu-central-1.amazonaws.com",
            ]
        );
        let args = plugin_args(
            &session,
            "us-east-1",
            Some("ops"),
            Some("http://127.0.0.1:5000"),
        );
        assert_eq!(
            (args[3].as_str(), args[5].as_str()),
            ("ops", "http://127.0.0.1:5000")
        );
    }
}
