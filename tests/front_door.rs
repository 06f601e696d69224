//! Wake on visit (issue 13): the front door's handler
//! (`meetctl::front_door::handle`) served on loopback by
//! `meetctl::front_door::local`, against the local AWS.
//!
//! What the emulator cannot show, and what stands in for it:
//! - API Gateway: the loopback server hands the handler the same `Request`
//!   the Lambda function builds from an API Gateway event (that conversion
//!   is unit-tested in src/front_door/lambda.rs); the client address comes
//!   from `X-Forwarded-For`, standing in for API Gateway's `sourceIp`.
//! - the function's asynchronous invoke of itself (Lambda `Invoke`,
//!   InvocationType=Event), which moto cannot run: the local server's
//!   `InProcess` starter runs the same `wake::run` as a task of this process.
//! - Terraform's front-door parameter: written here as
//!   infra/modules/front-door writes it (scripts/tf-e2e.sh applies the
//!   module itself).
//!
//! The browser test drives headless Chromium (Debian package) through
//! chromedriver's W3C WebDriver HTTP API (harness/browser_wake.py, Python
//! standard library only).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use meetctl::aws::Aws;
use meetctl::config::Config;
use meetctl::front_door::{self, local, BoxFuture, Starter};
use meetctl::{output, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEPLOYMENT: &str = "/jitsi-video-platform/meetctl/front-door";
const CLAIM: &str = "/jitsi-video-platform/meetctl/wake-claim";
const LOCK: &str = "/jitsi-video-platform/meetctl/lock";
const FRONT_DOOR_TARGET: &str = "d-abc1234567.execute-api.us-east-1.amazonaws.com";
/// API Gateway's regional hosted zone in us-east-1.
const FRONT_DOOR_ZONE: &str = "Z1UJRXOUMOOFQ8";

fn config(local: &LocalAws, endpoint: &str, extra: &[(&str, &str)]) -> Config {
    local_config(local, endpoint, extra)
}

/// Terraform's front-door parameter (infra/modules/front-door).
async fn deploy_front_door(aws: &Aws) {
    aws.ssm
        .put_parameter()
        .name(DEPLOYMENT)
        .value(
            serde_json::json!({
                "target_domain_name": FRONT_DOOR_TARGET,
                "hosted_zone_id": FRONT_DOOR_ZONE,
                "api_id": "abc123",
            })
            .to_string(),
        )
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

/// The domain's A alias target, as Route53 holds it.
async fn dns_target(local: &LocalAws, aws: &Aws) -> Option<String> {
    meetctl::aws::route53::find_alias(aws, &local.field("hosted_zone_id"), &local.field("domain"))
        .await
        .unwrap()
        .map(|r| r.target_dns)
}

/// The inventory without the rate limit's record of attempts (which a
/// rejected POST does write: attempts count, right passcode or wrong).
async fn billable(aws: &Aws) -> Inventory {
    let mut inv = inventory(aws).await;
    inv.parameters
        .retain(|p| !p.ends_with("/meetctl/wake-rate"));
    inv
}

/// Counts the starts the front door asked for, and runs each like the
/// local server does (`InProcess`: a stand-in for the async self-invoke).
struct Counting {
    inner: local::InProcess,
    starts: AtomicUsize,
}

impl Starter for Counting {
    fn start<'a>(&'a self, room: &'a str) -> BoxFuture<'a, meetctl::Result<()>> {
        self.starts.fetch_add(1, Ordering::SeqCst);
        self.inner.start(room)
    }
}

struct Door {
    addr: SocketAddr,
    /// The handler's context: its ledger holds every AWS call it and the
    /// `up` it started made.
    ctx: Arc<Context>,
    starter: Arc<Counting>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Door {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Door {
    async fn open(config: Config, aws: Aws) -> Door {
        let ctx = Arc::new(Context::new(config, aws, output::Reporter::new()));
        let starter = Arc::new(Counting {
            inner: local::InProcess {
                ctx: Arc::clone(&ctx),
            },
            starts: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(local::serve(listener, Arc::clone(&ctx), starter.clone()));
        Door {
            addr,
            ctx,
            starter,
            task,
        }
    }

    fn starts(&self) -> usize {
        self.starter.starts.load(Ordering::SeqCst)
    }

    async fn get(&self, path: &str) -> Reply {
        http(self.addr, "GET", path, &[], "").await
    }

    async fn post_start(&self, source: &str, fields: &[(&str, &str)]) -> Reply {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        http(
            self.addr,
            "POST",
            "/_meetctl/start",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-forwarded-for", source),
            ],
            &body,
        )
        .await
    }

    async fn status(&self) -> serde_json::Value {
        let reply = self.get("/_meetctl/status.json").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }

    /// Polls the status endpoint until `state`; returns every distinct
    /// (step, state) seen on the way, in order.
    async fn wait_for(
        &self,
        state: &str,
        limit: Duration,
    ) -> (serde_json::Value, Vec<(String, String)>) {
        let deadline = Instant::now() + limit;
        let mut seen: Vec<(String, String)> = Vec::new();
        loop {
            let status = self.status().await;
            for s in status["steps"].as_array().unwrap() {
                let entry = (
                    s["step"].as_str().unwrap().to_string(),
                    s["state"].as_str().unwrap().to_string(),
                );
                if !seen.contains(&entry) {
                    seen.push(entry);
                }
            }
            if status["state"] == state {
                return (status, seen);
            }
            assert!(
                Instant::now() < deadline,
                "no `{state}` within {limit:?}; last status {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection (the server closes it).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: meet.example.org\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_wakes_the_platform_and_down_puts_the_front_door_back() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    deploy_front_door(&aws).await;
    // `down` on an idle platform points the domain at the front door.
    assert_eq!(dns_target(&local, &aws).await, None);
    let out = local.run(&["down"]);
    assert_code(&out, 0);
    assert_eq!(
        dns_target(&local, &aws).await.as_deref(),
        Some(FRONT_DOOR_TARGET),
        "{}",
        text(&out)
    );
    let out = local.run(&["status", "--output", "json"]);
    assert_code(&out, 0);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        status["verdict"], "IDLE",
        "the front door's alias is the domain at rest: {status}"
    );
    assert_eq!(status["front_door"]["deployed"], true, "{status}");
    assert_eq!(status["front_door"]["dns"], "front-door", "{status}");
    assert_eq!(status["front_door"]["wake"], "asleep", "{status}");

    let door = Door::open(config(&local, &local.endpoint, &[]), aws.clone()).await;
    let page = door.get("/TeamSync").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("This meeting server is asleep"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("name=\"room\" value=\"/TeamSync\""));
    assert!(!page.body.contains("passcode"), "no passcode is set");
    assert_eq!(page.header("x-meetctl-front-door"), Some("1"));
    assert_eq!(door.status().await["state"], "asleep");

    let started = Instant::now();
    let reply = door
        .post_start("198.51.100.1", &[("room", "/TeamSync")])
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(
        reply.header("location"),
        Some("/_meetctl/progress?room=%2FTeamSync")
    );
    let progress = door.get("/_meetctl/progress?room=%2FTeamSync").await;
    assert!(progress.body.contains("aria-live"), "{}", progress.body);
    let (status, seen) = door.wait_for("ready", Duration::from_secs(180)).await;
    println!(
        "click to ready (local AWS, no timing model): {:.1}s",
        started.elapsed().as_secs_f64()
    );
    println!("steps seen by polling: {seen:?}");
    for step in UP_STEPS {
        assert!(
            seen.iter().any(|(s, state)| s == step && state == "ok"),
            "the status endpoint reported {step} done: {seen:?} / {status}"
        );
    }
    assert_eq!(door.starts(), 1);
    assert!(
        !status.to_string().contains("123456789012") && !status.to_string().contains("subnet-"),
        "the public status names no account, subnet or parameter: {status}"
    );
    let inv = inventory(&aws).await;
    assert_eq!(
        (inv.load_balancers.len(), inv.elastic_ips.len(), inv.desired),
        (1, 1, 1),
        "{inv:?}"
    );
    let out = local.run(&["status", "--output", "json"]);
    let now: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(now["verdict"], "ACTIVE", "{}", text(&out));
    let target = dns_target(&local, &aws).await.unwrap();
    assert!(
        target.contains("-nlb-"),
        "up pointed the domain at the NLB: {target}"
    );
    assert_eq!(parameter(&aws, CLAIM).await, None, "the claim is released");
    assert_policy_allows_every_call(&door);

    // Stale DNS: the platform is up, yet a browser still reaches the front door.
    let page = door.get("/TeamSync").await;
    assert!(
        page.body.contains("The meeting server is awake"),
        "{}",
        page.body
    );
    assert!(page.body.contains("content=\"5; url=/TeamSync\""));
    // Another click changes nothing.
    let again = door
        .post_start("198.51.100.2", &[("room", "/TeamSync")])
        .await;
    assert_eq!((again.status, door.starts()), (200, 1), "{}", again.body);

    // `down` leaves the front door in place and points the domain back at it.
    let out = local.run(&["down"]);
    assert_code(&out, 0);
    assert_eq!(
        dns_target(&local, &aws).await.as_deref(),
        Some(FRONT_DOOR_TARGET),
        "{}",
        text(&out)
    );
    assert!(is_clean(&inventory(&aws).await));
    assert!(parameter(&aws, DEPLOYMENT).await.is_some());
    assert_eq!(door.status().await["state"], "asleep");

    // The front door is disabled (terraform destroy removes its parameter):
    // `down` deletes the alias that would dangle.
    aws.ssm
        .delete_parameter()
        .name(DEPLOYMENT)
        .send()
        .await
        .unwrap();
    let out = local.run(&["down"]);
    assert_code(&out, 0);
    assert_eq!(dns_target(&local, &aws).await, None, "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_passcode_changes_nothing_and_a_flood_is_rate_limited() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    deploy_front_door(&aws).await;
    // The passcode from stdin, never a flag; SSM keeps a salted hash.
    let mut cmd = local.meetctl();
    cmd.args(["front-door", "passcode", "set"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"open sesame 42\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    assert!(!text(&out).contains("open sesame"), "{}", text(&out));
    let stored = aws
        .ssm
        .get_parameter()
        .name("/jitsi-video-platform/meetctl/front-door-passcode")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let stored = stored.parameter().unwrap();
    assert_eq!(stored.r#type().unwrap().as_str(), "SecureString");
    assert!(stored.value().unwrap().starts_with("pbkdf2-sha256$100000$"));
    assert!(!stored.value().unwrap().contains("open sesame"));

    let before = billable(&aws).await;
    let door = Door::open(config(&local, &local.endpoint, &[]), aws.clone()).await;
    let page = door.get("/Board").await;
    assert!(
        page.body
            .contains("<label for=\"passcode\">Passcode</label>"),
        "{}",
        page.body
    );

    let wrong = door
        .post_start(
            "203.0.113.9",
            &[("room", "/Board"), ("passcode", "open sesame 41")],
        )
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(wrong.body.contains("That passcode is not right"));
    assert!(
        wrong.body.contains("name=\"room\" value=\"/Board\""),
        "the form again"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(door.starts(), 0);
    assert_eq!(
        billable(&aws).await,
        before,
        "a wrong passcode creates nothing (only the attempt is counted)"
    );
    assert_eq!(parameter(&aws, LOCK).await, None, "no lock taken");
    assert_eq!(parameter(&aws, CLAIM).await, None);
    assert_eq!(door.status().await["state"], "asleep");

    // A flood from one source: MAX_POSTS attempts in the window, then 429.
    let mut codes = vec![wrong.status];
    for _ in 1..8 {
        let r = door
            .post_start("203.0.113.9", &[("room", "/Board"), ("passcode", "guess")])
            .await;
        if r.status == 429 {
            let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=600).contains(&retry), "{retry}");
        }
        codes.push(r.status);
    }
    let limit = front_door::rate::MAX_POSTS;
    assert!(codes[..limit].iter().all(|c| *c == 403), "{codes:?}");
    assert!(codes[limit..].iter().all(|c| *c == 429), "{codes:?}");
    // Rate-limited even with the right passcode; another source is not.
    let limited = door
        .post_start(
            "203.0.113.9",
            &[("room", "/Board"), ("passcode", "open sesame 42")],
        )
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(door.starts(), 0);
    assert_eq!(billable(&aws).await, before, "the flood created nothing");

    let right = door
        .post_start(
            "198.51.100.20",
            &[("room", "/Board"), ("passcode", "open sesame 42")],
        )
        .await;
    assert_eq!(right.status, 303, "{}", right.body);
    assert_eq!(door.starts(), 1);
    door.wait_for("ready", Duration::from_secs(180)).await;
    // Clearing the passcode.
    assert_code(&local.run(&["front-door", "passcode", "clear"]), 0);
    assert!(!door
        .get("/Board")
        .await
        .body
        .contains("<label for=\"passcode\">"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clicks_run_up_once_and_a_budget_refusal_is_shown() {
    let local = LocalAws::start();
    let aws = local.aws().await;
    deploy_front_door(&aws).await;

    // Over budget: the start is refused before anything is created, and the page says why.
    let broke = Door::open(
        config(&local, &local.endpoint, &[("monthly_budget_usd", "0.01")]),
        aws.clone(),
    )
    .await;
    assert_eq!(
        broke
            .post_start("198.51.100.5", &[("room", "/r")])
            .await
            .status,
        303
    );
    let (status, _) = broke.wait_for("failed", Duration::from_secs(60)).await;
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("monthly_budget_usd"),
        "{status}"
    );
    let progress = broke.get("/_meetctl/progress?room=%2Fr").await;
    assert!(
        progress.body.contains("monthly_budget_usd"),
        "{}",
        progress.body
    );
    assert!(
        progress.body.contains("could not start"),
        "{}",
        progress.body
    );
    assert!(is_clean(&inventory(&aws).await));
    drop(broke);

    let door = Door::open(config(&local, &local.endpoint, &[]), aws.clone()).await;
    let page = door.get("/r").await;
    assert!(
        page.body.contains("The last start did not succeed"),
        "{}",
        page.body
    );
    // Two people click at the same moment; a third while it starts.
    let (a, b) = tokio::join!(
        door.post_start("198.51.100.6", &[("room", "/r")]),
        door.post_start("198.51.100.7", &[("room", "/r")]),
    );
    assert_eq!((a.status, b.status), (303, 303), "{a:?} {b:?}");
    let third = door.post_start("198.51.100.8", &[("room", "/r")]).await;
    assert_eq!(
        third.status, 303,
        "a click while starting shows the progress"
    );
    let page = door.get("/r").await;
    assert!(
        page.body.contains("Starting the meeting server")
            || page.body.contains("The meeting server is awake"),
        "{}",
        page.body
    );
    door.wait_for("ready", Duration::from_secs(180)).await;
    assert_eq!(door.starts(), 1, "`up` ran once");
    let inv = inventory(&aws).await;
    assert_eq!(
        (inv.load_balancers.len(), inv.elastic_ips.len()),
        (1, 1),
        "{inv:?}"
    );
    let history = parameter(&aws, "/jitsi-video-platform/meetctl/history")
        .await
        .unwrap();
    assert_eq!(history.matches("\"event\":\"up\"").count(), 1, "{history}");
}

/// The time from the click to the page reporting ready, under the timing
/// model of tests/reliability.rs (meetctl reaches the local AWS through
/// harness/fault_proxy.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_ready_under_the_timing_model() {
    let local = LocalAws::start_with(&["--task-start-delay", TASK_START_DELAY]);
    let proxy = FaultProxy::start(&local, TIMING);
    let aws = local.aws().await;
    deploy_front_door(&aws).await;
    let door = Door::open(config(&local, &proxy.endpoint, &[]), aws.clone()).await;
    let started = Instant::now();
    assert_eq!(
        door.post_start("198.51.100.9", &[("room", "/r")])
            .await
            .status,
        303
    );
    let (status, seen) = door.wait_for("ready", Duration::from_secs(300)).await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "front door: click to ready under the timing model (real-AWS waits / 60): {seconds:.1}s; steps {:?}",
        seen.iter().filter(|(_, s)| s == "ok").map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(status["state"], "ready");
}

/// The meeting site while it is up: answers every path with the room (a
/// stand-in for Jitsi Meet behind the NLB), without the front door's marker.
async fn site_stand_in() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                let body = format!(
                    "<!DOCTYPE html><html lang=\"en\"><head><title>Jitsi Meet (stand-in)</title></head>\
<body><h1 id=\"site-stand-in\">Jitsi Meet: room {}</h1><p>The meeting site answered.</p></body></html>",
                    front_door::page::escape(&path)
                );
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, task)
}

/// When the proxy last asked Route53, and the alias target it got.
type CachedAnswer = (Instant, Option<String>);

/// What the meeting domain leads to, decided per connection as DNS would:
/// the front door while the domain's record aliases it; once `up` pointed it
/// at the NLB, the site stand-in, but only after the NLB is active under the
/// timing model (before that nothing answers: the connection is closed).
async fn domain_proxy(
    local: &LocalAws,
    proxy: &FaultProxy,
    door: SocketAddr,
    site: SocketAddr,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let direct = local.aws().await;
    let timed = {
        let region = local.field("region");
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.clone()))
            .endpoint_url(&proxy.endpoint)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        Aws::from_sdk_config(&sdk, &region)
    };
    let (zone, domain) = (local.field("hosted_zone_id"), local.field("domain"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The browser's resolver cache: an answer is reused for the alias's TTL
    // (60 s for ELB and API Gateway targets), scaled like the timing model.
    let cache: Arc<tokio::sync::Mutex<Option<CachedAnswer>>> = Arc::default();
    let ttl = Duration::from_secs(1);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let (direct, timed, zone, domain, cache) = (
                direct.clone(),
                timed.clone(),
                zone.clone(),
                domain.clone(),
                cache.clone(),
            );
            tokio::spawn(async move {
                let target = {
                    let mut cached = cache.lock().await;
                    match &*cached {
                        Some((at, target)) if at.elapsed() < ttl => target.clone(),
                        _ => {
                            let target = meetctl::aws::route53::find_alias(&direct, &zone, &domain)
                                .await
                                .ok()
                                .flatten()
                                .map(|r| r.target_dns);
                            *cached = Some((Instant::now(), target.clone()));
                            target
                        }
                    }
                };
                let backend = match target {
                    Some(t) if !front_door::dns::is_front_door_target(&t) => {
                        let lbs = timed.elb.describe_load_balancers().send().await;
                        let active = lbs.ok().is_some_and(|o| {
                            o.load_balancers().iter().any(|lb| {
                                lb.state()
                                    .and_then(|s| s.code())
                                    .is_some_and(|c| c.as_str() == "active")
                            })
                        });
                        active.then_some(site)
                    }
                    _ => Some(door),
                };
                let Some(backend) = backend else {
                    return; // nothing answers at the new address yet
                };
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (addr, task)
}

/// A real browser: headless Chromium opens the room URL of the sleeping
/// site, sees the asleep page, clicks start, sees the progress and lands on
/// the room served by the site stand-in. Screenshots are kept in
/// target/test-artifacts/front-door/.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_wakes_the_platform_and_lands_in_the_room() {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: apt-get install -y chromium chromium-driver (scripts/test.sh does)"
        );
    }
    let local = LocalAws::start_with(&["--task-start-delay", TASK_START_DELAY]);
    let proxy = FaultProxy::start(&local, TIMING);
    let aws = local.aws().await;
    deploy_front_door(&aws).await;
    assert_code(&local.run(&["down"]), 0);
    assert_eq!(
        dns_target(&local, &aws).await.as_deref(),
        Some(FRONT_DOOR_TARGET)
    );
    let door = Door::open(config(&local, &proxy.endpoint, &[]), aws.clone()).await;
    let (site, _site_task) = site_stand_in().await;
    let (entry, _proxy_task) = domain_proxy(&local, &proxy, door.addr, site).await;

    let out_dir = repo_file("target/test-artifacts/front-door");
    let room_url = format!("http://{}/TeamSync", local.field("domain"));
    let run = tokio::process::Command::new(python())
        .arg(repo_file("harness/browser_wake.py"))
        .args(["--url", &room_url, "--map", &entry.to_string(), "--out"])
        .arg(&out_dir)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    println!("screenshots: {}", out_dir.display());
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&run.stderr)));
    println!("browser: {result}");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["lang"], "en");
    assert_eq!(result["landed_url"], room_url.as_str());
    assert!(result["landed_text"]
        .as_str()
        .unwrap()
        .contains("room /TeamSync"));
    assert!(result["progress_url"]
        .as_str()
        .unwrap()
        .contains("/_meetctl/progress?room=%2FTeamSync"));
    assert!(result["aria_live"].as_u64().unwrap() >= 1);
    println!(
        "front door in a browser, under the timing model (real-AWS waits / 60): click to the page reporting ready {}s, to the room {}s",
        result["click_to_ready_s"], result["click_to_landed_s"]
    );
    for shot in ["asleep.png", "progress.png", "landed.png"] {
        assert!(out_dir.join(shot).exists(), "{shot}");
    }
    assert_eq!(door.starts(), 1);
}

/// The front door's function runs with the operator policy
/// (infra/ `front_door_policy_file` = `meetctl iam-policy`) plus
/// lambda:InvokeFunction on itself: every AWS call the page, the status
/// endpoint and the `up` a click started made must be allowed by it.
/// PutParameter with tags also needs ssm:AddTagsToResource (SSM user guide,
/// "Tagging Systems Manager parameters"). As in tests/operator_policy.rs,
/// the conditions are not evaluated (moto does not enforce IAM).
fn assert_policy_allows_every_call(door: &Door) {
    let policy = meetctl::policy::document(&meetctl::policy::Scope::from_config(&door.ctx.config));
    let mut missing = Vec::new();
    let calls = door.ctx.aws.ledger.calls();
    for call in calls.keys() {
        let (service, operation) = call.split_once('.').unwrap();
        let prefix = match service.to_ascii_lowercase().replace(' ', "").as_str() {
            "ssm" => "ssm",
            "ec2" => "ec2",
            "ecs" => "ecs",
            "elasticloadbalancingv2" => "elasticloadbalancing",
            "route53" => "route53",
            "acm" => "acm",
            "cloudwatch" => "cloudwatch",
            "scheduler" => "scheduler",
            "sts" => continue, // GetCallerIdentity needs no permission
            other => panic!("no IAM prefix known for {other} ({call})"),
        };
        let mut actions = vec![format!("{prefix}:{operation}")];
        if actions[0] == "ssm:PutParameter" {
            actions.push("ssm:AddTagsToResource".into());
        }
        for action in actions {
            if meetctl::policy::statements_allowing(&policy, &action).is_empty() {
                missing.push(action);
            }
        }
    }
    assert!(
        calls.keys().any(|c| c.ends_with(".CreateLoadBalancer")),
        "the wake ran `up` in this context: {calls:?}"
    );
    assert!(
        missing.is_empty(),
        "the front door's calls the operator policy does not allow: {missing:?}\n(all: {calls:?})"
    );
}
