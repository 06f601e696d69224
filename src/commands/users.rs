//! `meetctl users add|remove|list`: the accounts of the secure domain
//! (`auth = "internal"`), kept by prosody in the running task and managed
//! with prosodyctl through ECS Exec.
//!
//! The password goes over the session's stdin, never into the command: ECS
//! `ExecuteCommand`'s `command` is recorded by CloudTrail and visible in the
//! container's process list. So `add` runs `prosodyctl adduser USER@meet.jitsi`,
//! which asks for the password twice on its terminal with echo off (prosody
//! util/human/io.lua `read_password`/`getpass`; util/prosodyctl.lua in 0.12),
//! instead of the handbook's `register USER meet.jitsi PASSWORD`.

use std::ffi::OsString;
use std::time::Duration;

use crate::aws::ecs;
use crate::aws::exec::{self, ExecContainer, Reply, Secret};
use crate::config::Auth;
use crate::error::{Error, Result};
use crate::secret_input::{self, Ask, SecretSource};
use crate::Context;

/// docker-jitsi-meet's XMPP domain (`XMPP_DOMAIN`, infra/ecs.tf), where
/// users log in.
const XMPP_DOMAIN: &str = "meet.jitsi";
const PROSODY_CONTAINER: &str = "prosody";
const PROSODYCTL: &str = "prosodyctl --config /config/prosody.cfg.lua";
/// prosody's internal storage: one `<user>.dat` per account, names
/// %-encoded (prosody util/datamanager.lua `encode`), as the
/// docker-jitsi-meet handbook lists them (docker.md, "Internal authentication").
const ACCOUNTS_DIR: &str = "/config/data/meet%2ejitsi/accounts";
const MIN_PASSWORD_LEN: usize = 8;
const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug)]
pub enum Action {
    Add(String),
    Remove(String),
    List,
}

pub struct Options {
    /// The PATH that `session-manager-plugin` is looked up on.
    pub path_var: Option<OsString>,
    pub password: SecretSource,
}

impl Options {
    pub fn from_process() -> Self {
        let password = SecretSource::stdin();
        Options {
            path_var: std::env::var_os("PATH"),
            password,
        }
    }
}

pub async fn run(ctx: &Context, action: &Action, options: Options) -> Result<()> {
    require_internal_auth(ctx)?;
    if let Action::Add(user) | Action::Remove(user) = action {
        validate_user(user)?;
    }
    let plugin = exec::find_plugin(options.path_var.as_deref())?;
    let step = ctx.out.step("prosody");
    let target = match prosody_container(ctx).await {
        Ok(target) => target,
        Err(e) => {
            step.failed("not reachable");
            return Err(e);
        }
    };
    step.done(&format!(
        "ECS Exec into {PROSODY_CONTAINER} of task {}",
        short(&target.task_arn)
    ));
    let prosody = Sessions {
        ctx,
        plugin: &plugin,
        target: &target,
    };
    match action {
        Action::List => {
            let users = prosody.list().await?;
            if users.is_empty() {
                eprintln!("meetctl users: no accounts yet; add one with `meetctl users add USER`");
            }
            for user in users {
                println!("{user}");
            }
        }
        Action::Add(user) => {
            let password = read_password(options.password)?;
            prosody.add(user, &password).await?;
            println!(
                "meetctl users: added {user}; it opens rooms by logging in as {user} (guests join open rooms without an account)"
            );
        }
        Action::Remove(user) => {
            prosody.remove(user).await?;
            println!("meetctl users: removed {user}");
        }
    }
    Ok(())
}

fn require_internal_auth(ctx: &Context) -> Result<()> {
    if ctx.config.auth == Auth::Internal {
        return Ok(());
    }
    Err(Error::config(
        "auth",
        "is \"none\": anyone opens a room and accounts are not used",
        "turn the secure domain on: `terraform apply -var auth=internal` in infra/, `auth = \"internal\"` in meetctl.toml, then `meetctl down` and `meetctl up` so the task starts with it",
    ))
}

/// A name prosody keeps as typed: nodeprep would fold case, and a leading
/// `-` would read as an option of prosodyctl.
fn validate_user(user: &str) -> Result<()> {
    let fix = "use 1-64 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit, e.g. alice";
    if user.is_empty() {
        return Err(Error::input("USER", "is empty", fix));
    }
    let ok = user.len() <= 64
        && user.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::input(
            "USER",
            format!("`{user}` is not a user name meetctl accepts"),
            fix,
        ))
    }
}

/// The running task's prosody container, ready for ECS Exec.
async fn prosody_container(ctx: &Context) -> Result<ExecContainer> {
    let c = &ctx.config;
    let service = ecs::service(&ctx.aws, &c.cluster, &c.service)
        .await?
        .ok_or_else(|| {
            Error::preflight(
                "service",
                format!(
                    "ECS service `{}` not found in cluster `{}`",
                    c.service, c.cluster
                ),
                "apply infra/ (terraform apply), or set `service` to the service's name",
            )
        })?;
    if !service.execute_command {
        return Err(Error::preflight(
            "service",
            format!("ECS Exec is off on service `{}` (enableExecuteCommand = false)", c.service),
            "apply infra/ with enable_execute_command = true (its default), then `meetctl down` and `meetctl up` so the task starts with ECS Exec",
        ));
    }
    let tasks = ecs::service_tasks(&ctx.aws, &c.cluster, &c.service).await?;
    let task = tasks
        .iter()
        .filter(|t| t.is_running())
        .max_by_key(|t| t.started_at_epoch.unwrap_or(0))
        .ok_or_else(|| {
            Error::preflight(
                "task",
                format!("no task of service `{}` is running: the accounts live in its prosody container", c.service),
                "run `meetctl up` first",
            )
        })?;
    let target = exec::container(&ctx.aws, &c.cluster, &task.arn, PROSODY_CONTAINER)
        .await?
        .ok_or_else(|| {
            Error::preflight(
                "task",
                format!("task {} has no `{PROSODY_CONTAINER}` container", task.short_id()),
                "apply infra/ (its task definition runs prosody), then `meetctl down` and `meetctl up`",
            )
        })?;
    if !target.task_exec_enabled {
        return Err(Error::preflight(
            "task",
            format!("task {} was started without ECS Exec", task.short_id()),
            "`meetctl down` and `meetctl up`: the new task starts with ECS Exec",
        ));
    }
    if !target.agent_running() || target.runtime_id.is_none() {
        return Err(Error::preflight(
            "task",
            format!(
                "the ECS Exec agent in {PROSODY_CONTAINER} of task {} is {}",
                task.short_id(),
                target.agent_status.as_deref().unwrap_or("not reported")
            ),
            "wait a minute after `meetctl up` and retry; if it stays so, the task role lacks the ssmmessages permissions of infra/iam.tf",
        ));
    }
    Ok(target)
}

/// The password for `add`: twice on a terminal, once from a stream.
fn read_password(source: SecretSource) -> Result<Secret> {
    let password = secret_input::read(
        source,
        &Ask {
            key: "password",
            prompt: "Password for the new account: ",
            command: "meetctl users add",
        },
    )?;
    if password.chars().count() < MIN_PASSWORD_LEN || password.chars().any(char::is_control) {
        return Err(Error::input(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters, without control characters"),
            "choose a longer password",
        ));
    }
    if password.starts_with('~') {
        // session-manager-plugin reads `~` at the start of a line as an
        // ssh-like escape (`~.` ends the session, `~~` sends one `~`;
        // aws/session-manager-plugin shellsession.go handleEscapeSequence),
        // so a leading `~` would not reach prosodyctl as typed.
        return Err(Error::input(
            "password",
            "must not start with `~`: the Session Manager plugin reads `~` at the start of a line as an escape",
            "choose a password that does not begin with `~`",
        ));
    }
    Ok(Secret::new(password))
}

/// ECS Exec sessions to prosody in one task.
struct Sessions<'a> {
    ctx: &'a Context,
    plugin: &'a std::path::Path,
    target: &'a ExecContainer,
}

impl Sessions<'_> {
    async fn run(&self, command: &str, replies: &[Reply<'_>]) -> Result<exec::Transcript> {
        let c = &self.ctx.config;
        let session =
            exec::execute_command(&self.ctx.aws, &c.cluster, self.target, command).await?;
        tracing::debug!(target: "meetctl::exec", "session {} open", session.session_id);
        let args = exec::plugin_args(
            &session,
            &c.region,
            c.profile.as_deref(),
            c.endpoint_url.as_deref(),
        );
        exec::run_session(self.plugin, &args, replies, SESSION_TIMEOUT).await
    }

    async fn list(&self) -> Result<Vec<String>> {
        let step = self.ctx.out.step("list");
        // `find` rather than prosodyctl: the pinned prosody's prosodyctl has
        // no offline listing, and this is the handbook's way. No glob: the
        // command may or may not pass through a shell.
        let transcript = self
            .run(&format!("find {ACCOUNTS_DIR} -type f"), &[])
            .await?;
        let users = parse_accounts(&transcript.output);
        step.done(&format!("{} account(s)", users.len()));
        Ok(users)
    }

    async fn add(&self, user: &str, password: &Secret) -> Result<()> {
        let step = self.ctx.out.step("add");
        let replies = [
            Reply {
                prompt: "Enter new password:",
                answer: password,
            },
            Reply {
                prompt: "Retype new password:",
                answer: password,
            },
        ];
        let transcript = self
            .run(
                &format!("{PROSODYCTL} adduser {user}@{XMPP_DOMAIN}"),
                &replies,
            )
            .await?;
        if transcript.output.contains("already exists") {
            step.failed("exists");
            return Err(Error::input(
                "USER",
                format!("`{user}` already has an account"),
                format!("choose another name, or `meetctl users remove {user}` first to set a new password"),
            ));
        }
        if transcript.replies_sent < replies.len() {
            step.failed("no password prompt");
            return Err(unexpected_output("prosodyctl adduser", &transcript.output));
        }
        step.done("prosodyctl adduser");
        if !self.list().await?.iter().any(|u| u == user) {
            return Err(unexpected_output(
                "prosodyctl adduser (the account is not listed afterwards)",
                &transcript.output,
            ));
        }
        Ok(())
    }

    async fn remove(&self, user: &str) -> Result<()> {
        let step = self.ctx.out.step("remove");
        let transcript = self
            .run(&format!("{PROSODYCTL} deluser {user}@{XMPP_DOMAIN}"), &[])
            .await?;
        if transcript.output.contains("does not exist") {
            step.failed("no such account");
            return Err(Error::input(
                "USER",
                format!("`{user}` has no account"),
                "`meetctl users list` shows the accounts",
            ));
        }
        step.done("prosodyctl deluser");
        if self.list().await?.iter().any(|u| u == user) {
            return Err(unexpected_output(
                "prosodyctl deluser (the account is still listed)",
                &transcript.output,
            ));
        }
        Ok(())
    }
}

fn unexpected_output(what: &str, output: &str) -> Error {
    Error::Unexpected {
        what: what.into(),
        problem: format!("prosody answered: {}", output.trim()),
        fix: "read prosody's log (CloudWatch, stream prefix prosody) and retry".into(),
    }
}

/// Account names from `find ACCOUNTS_DIR -type f`, sorted. A missing
/// directory (no account yet) lists nothing.
fn parse_accounts(output: &str) -> Vec<String> {
    let prefix = format!("{ACCOUNTS_DIR}/");
    let mut users: Vec<String> = output
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|file| file.strip_suffix(".dat"))
        .filter(|name| !name.contains('/'))
        .map(percent_decode)
        .collect();
    users.sort();
    users.dedup();
    users
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_checked() {
        for good in ["alice", "bob.smith", "a", "x_1-2"] {
            assert!(validate_user(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Alice",
            "-rf",
            ".hidden",
            "al ice",
            "a@b",
            "ü",
            &"a".repeat(65),
        ] {
            let err = validate_user(bad).unwrap_err();
            assert!(
                matches!(err, Error::Input { ref what, .. } if what == "USER"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn accounts_are_parsed_from_find_output() {
        let output = "Starting session with SessionId: ecs-execute-command-1\r\n\
            /config/data/meet%2ejitsi/accounts/bob.dat\r\n\
            /config/data/meet%2ejitsi/accounts/alice%2esmith.dat\r\n\
            /config/data/meet%2ejitsi/accounts/x%5f1.dat\r\n\
            /config/data/meet%2ejitsi/accounts/notes.txt\r\n\
            \r\n\r\nExiting session with sessionId: ecs-execute-command-1.\r\n";
        assert_eq!(parse_accounts(output), ["alice.smith", "bob", "x_1"]);
        let missing = "find: '/config/data/meet%2ejitsi/accounts': No such file or directory\r\n";
        assert!(parse_accounts(missing).is_empty());
    }

    fn reader(text: &str) -> SecretSource {
        SecretSource::Reader(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())))
    }

    #[test]
    fn password_from_a_stream_is_its_first_line() {
        let secret = read_password(reader("correct horse\r\nignored\n")).unwrap();
        assert_eq!(secret.expose(), "correct horse");
        for bad in ["", "\n", "short\n", "tab\there-long\n", "~.long-enough\n"] {
            let err = read_password(reader(bad)).unwrap_err();
            assert!(
                matches!(err, Error::Input { ref what, .. } if what == "password"),
                "{bad:?}: {err}"
            );
        }
    }
}
