//! Test fixture: a local AWS (moto + control-plane shim, harness/local_aws.py)
//! per test on a free loopback port, the real meetctl binary, and SDK clients
//! to assert on the emulator's state.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use meetctl::aws::Aws;

pub struct LocalAws {
    child: Child,
    pub endpoint: String,
    pub ready: serde_json::Value,
    _dir: tempfile::TempDir,
}

/// The Python with moto the harness runs on.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MEETCTL_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let default = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/meetctl/venv/bin/python");
    assert!(
        default.exists(),
        "no Python with moto: run `bash scripts/python-env.sh` (or set MEETCTL_TEST_PYTHON)"
    );
    default
}

/// A file of this repository. Read at run time first: a target dir shared
/// between clones (CI's) can hold a build of the same sources compiled in
/// another clone, whose compile-time path may no longer exist. cargo sets
/// CARGO_MANIFEST_DIR when it runs tests; scripts/bench.sh sets it too.
pub fn repo_file(path: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join(path)
}

/// The binary under test: cargo's for tests, `MEETCTL_BIN` for the benchmark
/// (an example, which cargo builds without the binary's path).
fn meetctl_binary() -> PathBuf {
    option_env!("CARGO_BIN_EXE_meetctl")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("MEETCTL_BIN").map(PathBuf::from))
        .expect("set MEETCTL_BIN to the meetctl binary")
}

impl LocalAws {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ready_file = dir.path().join("ready.json");
        let child = Command::new(python())
            .arg(repo_file("harness/local_aws.py"))
            .args(["serve", "--ready-file"])
            .arg(&ready_file)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the local AWS harness");
        let mut harness = LocalAws {
            child,
            endpoint: String::new(),
            ready: serde_json::Value::Null,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ready_file.exists() {
            if let Some(status) = harness.child.try_wait().unwrap() {
                panic!("local AWS harness exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "local AWS harness not ready after 90s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        harness.ready =
            serde_json::from_str(&std::fs::read_to_string(&ready_file).unwrap()).unwrap();
        harness.endpoint = harness.ready["endpoint"].as_str().unwrap().to_string();
        harness
    }

    pub fn field(&self, key: &str) -> String {
        self.ready[key]
            .as_str()
            .unwrap_or_else(|| panic!("ready file has no {key}"))
            .to_string()
    }

    /// A `meetctl` command against this emulator, isolated from the caller's
    /// environment and working directory.
    pub fn meetctl(&self) -> Command {
        let mut cmd = Command::new(meetctl_binary());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self._dir.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("NO_COLOR", "1")
            .env("MEETCTL_ENDPOINT_URL", &self.endpoint)
            .env("MEETCTL_REGION", self.field("region"))
            .env("MEETCTL_POLL_INTERVAL_MS", "50")
            .env("MEETCTL_DOMAIN", self.field("domain"))
            .env("MEETCTL_HOSTED_ZONE_ID", self.field("hosted_zone_id"))
            .current_dir(self._dir.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.meetctl().args(args).output().unwrap()
    }

    /// SDK clients pointed at the emulator in its region, for assertions.
    pub async fn aws(&self) -> Aws {
        let region = self.field("region");
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.clone()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        Aws::from_sdk_config(&sdk, &region)
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        // SIGTERM so the harness stops moto cleanly; only our own child, by PID.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "unexpected exit code\n{}",
        text(out)
    );
}

/// Everything billable or stateful that meetctl could have created, as seen by the emulator.
#[derive(Debug, Default, PartialEq)]
pub struct Inventory {
    pub load_balancers: Vec<String>,
    pub target_groups: Vec<String>,
    pub listeners: Vec<(String, i32)>,
    pub elastic_ips: Vec<String>,
    pub parameters: Vec<String>,
    pub desired: i32,
}

pub const PROJECT: &str = "jitsi-video-platform";

pub fn tags_are_ours(tags: &[(String, String)]) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|(tk, tv)| tk == k && tv == v);
    has("Project", PROJECT) && has("ManagedBy", "meetctl") && has("Lifecycle", "on-demand")
}

pub async fn inventory(aws: &Aws) -> Inventory {
    let mut inv = Inventory::default();
    let lbs = aws.elb.describe_load_balancers().send().await.unwrap();
    for lb in lbs.load_balancers() {
        inv.load_balancers
            .push(lb.load_balancer_name().unwrap().to_string());
        // A load balancer can vanish between the two calls: a killed
        // `down`'s DeleteLoadBalancer may still reach the emulator through
        // the fault proxy after the client died.
        let ls = match aws
            .elb
            .describe_listeners()
            .load_balancer_arn(lb.load_balancer_arn().unwrap())
            .send()
            .await
        {
            Ok(ls) => ls,
            Err(e) if meetctl::aws::error_code(&e) == Some("LoadBalancerNotFound") => continue,
            Err(e) => panic!("DescribeListeners: {e:?}"),
        };
        for l in ls.listeners() {
            inv.listeners.push((
                l.protocol().unwrap().as_str().to_string(),
                l.port().unwrap(),
            ));
        }
    }
    let tgs = aws.elb.describe_target_groups().send().await.unwrap();
    inv.target_groups = tgs
        .target_groups()
        .iter()
        .map(|t| t.target_group_name().unwrap().to_string())
        .collect();
    let eips = aws.ec2.describe_addresses().send().await.unwrap();
    inv.elastic_ips = eips
        .addresses()
        .iter()
        .map(|a| a.allocation_id().unwrap().to_string())
        .collect();
    let params = aws.ssm.describe_parameters().send().await.unwrap();
    inv.parameters = params
        .parameters()
        .iter()
        .map(|p| p.name().unwrap().to_string())
        .collect();
    inv.parameters.sort();
    inv.listeners.sort();
    inv.desired = our_service(aws).await.desired_count();
    inv
}

/// The project's ECS service as the emulator describes it.
pub async fn our_service(aws: &Aws) -> aws_sdk_ecs::types::Service {
    let services = aws
        .ecs
        .describe_services()
        .cluster(format!("{PROJECT}-cluster"))
        .services(format!("{PROJECT}-service"))
        .send()
        .await
        .unwrap();
    services.services()[0].clone()
}

/// The public address of the (single) Elastic IP in the emulator.
pub async fn eip_public_ip(aws: &Aws) -> String {
    let addresses = aws.ec2.describe_addresses().send().await.unwrap();
    addresses.addresses()[0].public_ip().unwrap().to_string()
}

/// The timing model of the fault proxy (harness/fault_proxy.py): real-AWS
/// waits (NLB 60 s, registration 90 s, EIP release after an NLB delete 30 s)
/// scaled down 60x, so every step takes long enough for a kill to land on
/// its boundary. The emulator's task start (45 s scaled) is TASK_START_DELAY.
pub const TIMING: &[&str] = &[
    "--scale", "60", "--t-nlb", "60", "--t-reg", "90", "--t-del", "30",
];
pub const TASK_START_DELAY: &str = "0.75";

/// The steps every `up` that creates the platform reports, in order.
pub const UP_STEPS: &[&str] = &[
    "preflight",
    "lock",
    "elastic-ip",
    "load-balancer",
    "dns",
    "task",
    "targets",
];

/// An SSM parameter's value, if it exists.
pub async fn parameter(aws: &Aws, name: &str) -> Option<String> {
    aws.ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.parameter().and_then(|p| p.value().map(String::from)))
}

/// meetctl's configuration for in-process runs against `endpoint` (the
/// local AWS, or a fault proxy in front of it), with fast polls.
pub fn local_config(
    local: &LocalAws,
    endpoint: &str,
    extra: &[(&str, &str)],
) -> meetctl::config::Config {
    let mut flags = meetctl::config::FlagValues::default();
    flags.set("endpoint_url", endpoint.to_string());
    flags.set("domain", local.field("domain"));
    flags.set("hosted_zone_id", local.field("hosted_zone_id"));
    flags.set("poll_interval_ms", "50");
    for (k, v) in extra {
        flags.set(k, *v);
    }
    meetctl::config::Config::load(&meetctl::config::Inputs {
        flags,
        ..Default::default()
    })
    .unwrap()
}

/// The schedule infra/'s control_plane module creates, DISABLED.
pub async fn create_control_schedule(aws: &Aws) {
    aws.scheduler
        .create_schedule()
        .name("jitsi-video-platform-control")
        .description("meetctl control plane")
        .schedule_expression("rate(5 minutes)")
        .flexible_time_window(
            aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn("arn:aws:lambda:us-east-1:123456789012:function:jitsi-video-platform-control")
                .role_arn("arn:aws:iam::123456789012:role/jitsi-video-platform-control-scheduler")
                .build()
                .unwrap(),
        )
        .state(aws_sdk_scheduler::types::ScheduleState::Disabled)
        .send()
        .await
        .unwrap();
}

/// True when nothing meetctl creates exists (secrets may stay: they are free and reused).
pub fn is_clean(inv: &Inventory) -> bool {
    inv.load_balancers.is_empty()
        && inv.target_groups.is_empty()
        && inv.listeners.is_empty()
        && inv.elastic_ips.is_empty()
        && inv.desired == 0
        && !inv
            .parameters
            .iter()
            .any(|p| p.ends_with("jvb_advertise_ips") || p.ends_with("meetctl/lock"))
}

/// harness/fault_proxy.py between meetctl and the local AWS: a timing model
/// (NLB provisioning, target registration, EIP release after an NLB delete)
/// and injected faults. Assertions keep using the local AWS directly.
pub struct FaultProxy {
    child: Child,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl FaultProxy {
    pub fn start(upstream: &LocalAws, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ready_file = dir.path().join("proxy.json");
        let mut child = Command::new(python())
            .arg(repo_file("harness/fault_proxy.py"))
            .args(["--upstream", &upstream.endpoint, "--ready-file"])
            .arg(&ready_file)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the fault proxy");
        // Generous: on a loaded machine Python's start alone can take many seconds.
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ready_file.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("fault proxy exited early: {status}");
            }
            assert!(Instant::now() < deadline, "fault proxy not ready after 90s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let ready: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ready_file).unwrap()).unwrap();
        FaultProxy {
            child,
            endpoint: ready["endpoint"].as_str().unwrap().to_string(),
            _dir: dir,
        }
    }

    /// The proxy's counters: per operation, per service and in total.
    pub fn stats(&self) -> serde_json::Value {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /__proxy/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
