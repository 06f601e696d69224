//! `meetctl users add|remove|list`: the real binary against the local AWS.
//!
//! The refusals and the input checks run against the emulator as it is. For
//! the sessions themselves two pieces stand in for what cannot run here:
//! - ECS ExecuteCommand, which moto 5.2.5 lacks, is answered by the harness
//!   (harness/local_aws.py `ExecuteCommandEmulator`, with the ECS API
//!   reference's rules: interactive only, the task started with ECS Exec and
//!   its agent RUNNING), and it keeps every request, i.e. what CloudTrail
//!   would record of the `command`;
//! - `session-manager-plugin`, AWS's client of the SSM data channel, needs a
//!   real ssmmessages endpoint. The test writes a stand-in of that name on
//!   PATH: it takes the plugin's arguments (as the AWS CLI passes them),
//!   looks up which command its session was opened for, and answers as
//!   prosodyctl in the prosody container would (the two password prompts of
//!   `adduser`, the errors of `deluser`, the account files for `find`),
//!   recording its arguments and everything it reads on stdin.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};

use common::*;

const PASSWORD: &str = "correct-horse-battery-9";

struct Plugin {
    dir: tempfile::TempDir,
}

impl Plugin {
    fn install() -> Plugin {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            r#"#!{python}
import json, os, sys, urllib.request
REC = {rec:?}
session = json.loads(sys.argv[1])
with open(os.path.join(REC, "args.jsonl"), "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
with urllib.request.urlopen(sys.argv[6] + "/_local_aws/executed-commands") as answer:
    requests = json.load(answer)
command = next(r["command"] for r in requests if r["sessionId"] == session["sessionId"])
accounts_file = os.path.join(REC, "accounts.json")
accounts = json.load(open(accounts_file)) if os.path.exists(accounts_file) else []

def out(text):
    sys.stdout.write(text)
    sys.stdout.flush()

def line():
    got = sys.stdin.readline()
    with open(os.path.join(REC, "stdin.log"), "a") as f:
        f.write(got)
    return got.rstrip("\n")

out("\r\nStarting session with SessionId: %s\r\n" % session["sessionId"])
words = command.split()
if words[:3] == ["prosodyctl", "--config", "/config/prosody.cfg.lua"] and len(words) == 5:
    verb, user = words[3], words[4].partition("@")[0]
    if verb == "adduser":
        if user in accounts:
            out("That user already exists\r\n")
        else:
            out("Enter new password: ")
            first = line()
            out("\r\nRetype new password: ")
            second = line()
            out("\r\n")
            if first and first == second:
                accounts.append(user)
            else:
                out("Passwords did not match\r\n")
    elif verb == "deluser":
        if user in accounts:
            accounts.remove(user)
        else:
            out("That user does not exist on this server\r\n")
elif words == ["find", "/config/data/meet%2ejitsi/accounts", "-type", "f"]:
    if not accounts:
        out("find: '/config/data/meet%2ejitsi/accounts': No such file or directory\r\n")
    for user in accounts:
        out("/config/data/meet%2ejitsi/accounts/" + user.replace(".", "%2e") + ".dat\r\n")
else:
    out("sh: not a command this stand-in knows: %s\r\n" % command)
with open(accounts_file, "w") as f:
    json.dump(accounts, f)
out("\r\n\r\nExiting session with sessionId: %s.\r\n\r\n" % session["sessionId"])
"#,
            python = python().display(),
            rec = dir.path().display().to_string(),
        );
        let path = dir.path().join("session-manager-plugin");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Plugin { dir }
    }

    fn path_var(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn record(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn invocations(&self) -> usize {
        self.record("args.jsonl").lines().count()
    }
}

/// `meetctl ARGS` with auth = internal, `path` as PATH and `stdin` piped in.
fn users(local: &LocalAws, path: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = local
        .meetctl()
        .env("MEETCTL_AUTH", "internal")
        .env("PATH", path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The `command` of every ExecuteCommand the emulator accepted.
fn executed_commands(local: &LocalAws) -> Vec<String> {
    use std::io::Read;
    let addr = local.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /_local_aws/executed-commands HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body: serde_json::Value =
        serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
    body.as_array()
        .unwrap()
        .iter()
        .map(|r| r["command"].as_str().unwrap().to_string())
        .collect()
}

fn empty_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

async fn set_service_exec(local: &LocalAws, enabled: bool) {
    let aws = local.aws().await;
    aws.ecs
        .update_service()
        .cluster(format!("{PROJECT}-cluster"))
        .service(format!("{PROJECT}-service"))
        .enable_execute_command(enabled)
        .send()
        .await
        .unwrap();
}

fn assert_mentions(out: &Output, needles: &[&str]) {
    let all = text(out);
    for needle in needles {
        assert!(all.contains(needle), "expected `{needle}` in\n{all}");
    }
}

#[test]
fn users_are_refused_while_auth_is_none() {
    let local = LocalAws::start();
    let plugin = Plugin::install();
    for args in [&["users", "list"][..], &["users", "add", "alice"]] {
        let out = local
            .meetctl()
            .env("PATH", plugin.path_var())
            .args(args)
            .output()
            .unwrap();
        assert_code(&out, 2);
        assert_mentions(&out, &["`auth`", "\"none\"", "auth=internal"]);
    }
    assert_eq!(plugin.invocations(), 0);
    assert!(executed_commands(&local).is_empty());
}

#[test]
fn bad_user_names_and_a_password_flag_exit_2_before_any_session() {
    let local = LocalAws::start();
    let plugin = Plugin::install();
    let path = plugin.path_var();
    for (args, needle) in [
        (&["users", "add", ""][..], "`USER`: is empty"),
        (&["users", "add", "Alice"], "`Alice` is not a user name"),
        (&["users", "add", "al ice"], "not a user name"),
        (&["users", "remove", "a/b"], "not a user name"),
        (&["users", "add", "--", "-rf"], "not a user name"),
        // There is no password flag (it would land in shell history and the process list).
        (
            &["users", "add", "alice", "--password", PASSWORD],
            "unexpected argument '--password'",
        ),
        (&["users", "add"], "<USER>"),
    ] {
        let out = users(&local, &path, args, "");
        assert_code(&out, 2);
        assert_mentions(&out, &[needle]);
    }
    assert_eq!(plugin.invocations(), 0);
    assert!(executed_commands(&local).is_empty());
}

#[test]
fn a_missing_session_manager_plugin_is_named_with_how_to_install_it() {
    let local = LocalAws::start();
    let (_keep, empty) = empty_dir();
    let out = users(&local, empty.to_str().unwrap(), &["users", "list"], "");
    assert_code(&out, 2);
    assert_mentions(
        &out,
        &[
            "session-manager-plugin",
            "not found on PATH",
            "session-manager-working-with-install-plugin",
        ],
    );
}

#[tokio::test]
async fn refused_without_ecs_exec_or_a_running_task_naming_the_fix() {
    let local = LocalAws::start();
    let plugin = Plugin::install();
    let path = plugin.path_var();

    // Nothing runs yet (the service is at 0).
    let out = users(&local, &path, &["users", "list"], "");
    assert_code(&out, 2);
    assert_mentions(&out, &["no task of service", "meetctl up"]);

    // The service without ECS Exec.
    set_service_exec(&local, false).await;
    let out = users(&local, &path, &["users", "list"], "");
    assert_code(&out, 2);
    assert_mentions(&out, &["ECS Exec is off", "enable_execute_command = true"]);

    // A task started while ECS Exec was off keeps running without it.
    assert_code(&local.run(&["up"]), 0);
    set_service_exec(&local, true).await;
    let out = users(
        &local,
        &path,
        &["users", "add", "alice"],
        &format!("{PASSWORD}\n"),
    );
    assert_code(&out, 2);
    assert_mentions(
        &out,
        &["was started without ECS Exec", "meetctl down", "meetctl up"],
    );

    assert_eq!(plugin.invocations(), 0);
    assert!(executed_commands(&local).is_empty());
    assert_code(&local.run(&["down"]), 0);
}

fn assert_password_absent(what: &str, haystack: &str) {
    assert!(
        !haystack.contains(PASSWORD),
        "the password appears in {what}:\n{haystack}"
    );
}

#[tokio::test]
async fn add_list_remove_through_ecs_exec_keep_the_password_off_arguments_and_output() {
    let local = LocalAws::start();
    let plugin = Plugin::install();
    let path = plugin.path_var();
    assert_code(&local.run(&["up"]), 0);

    let out = users(&local, &path, &["users", "list"], "");
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_mentions(&out, &["no accounts yet"]);

    // The password as the first line of stdin; -vv logs meetctl's and the SDK's debug output.
    let out = users(
        &local,
        &path,
        &["-vv", "users", "add", "alice"],
        &format!("{PASSWORD}\nthe rest of stdin is not read\n"),
    );
    assert_code(&out, 0);
    assert_mentions(&out, &["added alice"]);
    assert_password_absent("meetctl's stdout and stderr (-vv)", &text(&out));
    assert!(
        !text(&out).contains("local-aws-token-"),
        "the session token is logged:\n{}",
        text(&out)
    );

    let out = users(
        &local,
        &path,
        &["users", "add", "bob.smith"],
        &format!("{PASSWORD}\n"),
    );
    assert_code(&out, 0);

    // It reached prosodyctl over the session's stdin, twice per account, and only there.
    assert_eq!(
        plugin.record("stdin.log"),
        format!("{PASSWORD}\n").repeat(4),
        "what the sessions read on stdin"
    );
    assert_password_absent("the plugin's arguments", &plugin.record("args.jsonl"));
    let commands = executed_commands(&local);
    assert_password_absent("the ExecuteCommand commands", &commands.join("\n"));
    assert!(
        commands.contains(
            &"prosodyctl --config /config/prosody.cfg.lua adduser alice@meet.jitsi".to_string()
        ),
        "{commands:?}"
    );

    // Arguments as the AWS CLI gives them to the plugin.
    let first: Vec<String> =
        serde_json::from_str(plugin.record("args.jsonl").lines().next().unwrap()).unwrap();
    assert_eq!(first.len(), 6, "{first:?}");
    assert_eq!(
        (first[1].as_str(), first[2].as_str()),
        ("us-east-1", "StartSession")
    );
    assert!(
        first[4].starts_with("{\"Target\":\"ecs:jitsi-video-platform-cluster_"),
        "{first:?}"
    );
    assert_eq!(first[5], local.endpoint);

    let out = users(&local, &path, &["users", "list"], "");
    assert_code(&out, 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alice\nbob.smith\n");

    let out = users(
        &local,
        &path,
        &["users", "add", "alice"],
        &format!("{PASSWORD}\n"),
    );
    assert_code(&out, 2);
    assert_mentions(
        &out,
        &[
            "`alice` already has an account",
            "meetctl users remove alice",
        ],
    );

    let out = users(&local, &path, &["users", "remove", "alice"], "");
    assert_code(&out, 0);
    let out = users(&local, &path, &["users", "list"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bob.smith\n");
    let out = users(&local, &path, &["users", "remove", "alice"], "");
    assert_code(&out, 2);
    assert_mentions(&out, &["`alice` has no account"]);

    // An empty or short password is refused before any session opens.
    let before = executed_commands(&local).len();
    for stdin in ["", "\n", "short\n"] {
        let out = users(&local, &path, &["users", "add", "carol"], stdin);
        assert_code(&out, 2);
        assert_mentions(&out, &["`password`"]);
    }
    assert_eq!(executed_commands(&local).len(), before);
    assert_code(&local.run(&["down"]), 0);
}
