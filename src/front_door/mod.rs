//! Wake on visit (issue 13): while the platform sleeps, the meeting's own
//! domain points at a front door (an API Gateway HTTP API custom domain in
//! front of the control-plane binary, infra/modules/front-door) that serves
//! a small page: "This meeting server is asleep. Start it". One click (with
//! an optional passcode) starts `up`; the page shows the steps the CLI
//! prints and, once the site answers, loads the room that was opened.
//!
//! One concern per file: [`page`] the HTML, [`progress`] the record a
//! running start writes and the status endpoint reads, [`passcode`] the
//! hashed passcode, [`rate`] the per-source limit, [`dns`] where the domain
//! points, [`wake`] the start itself, [`lambda`] the API Gateway event and
//! the function's asynchronous self-invoke, [`local`] a loopback server
//! around the same handler.
//!
//! Routes (any host; the API Gateway custom domain is the meeting domain):
//! - `GET <any path>`: the asleep page (or the progress page while starting,
//!   or "already awake, retrying" when DNS still leads here after `up`);
//! - `POST /_meetctl/start`: form fields `room`, `passcode`; starts `up` once;
//! - `GET /_meetctl/progress?room=...`: the progress page (no JavaScript);
//! - `GET /_meetctl/status.json`: state, steps and estimate, polled by the page.

pub mod dns;
pub mod lambda;
pub mod local;
pub mod page;
pub mod passcode;
pub mod progress;
pub mod rate;
pub mod wake;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::aws::ssm;
use crate::error::Result;
use crate::Context;
use progress::{Progress, WakeState};

pub const PREFIX: &str = "/_meetctl/";
pub const STATUS_PATH: &str = "/_meetctl/status.json";
pub const START_PATH: &str = "/_meetctl/start";
pub const PROGRESS_PATH: &str = "/_meetctl/progress";
/// A header on every answer of the front door: the page's script tells the
/// front door's answers from the site's by it.
pub const MARKER_HEADER: &str = "x-meetctl-front-door";

/// The SSM parameters of the front door (free standard parameters).
pub struct Parameters;

impl Parameters {
    /// Written by Terraform (infra/modules/front-door): the alias target of
    /// the custom domain. Its presence means the front door is deployed.
    pub fn deployment(project: &str) -> String {
        format!("/{project}/meetctl/front-door")
    }
    /// The passcode's salted PBKDF2 hash (SecureString), set by
    /// `meetctl front-door passcode set`.
    pub fn passcode(project: &str) -> String {
        format!("/{project}/meetctl/front-door-passcode")
    }
    /// The progress of the running (or last) start.
    pub fn progress(project: &str) -> String {
        format!("/{project}/meetctl/wake-progress")
    }
    /// Created with overwrite=false by the one POST that starts `up`.
    pub fn claim(project: &str) -> String {
        format!("/{project}/meetctl/wake-claim")
    }
    /// Recent POSTs per source, for the rate limit.
    pub fn rate(project: &str) -> String {
        format!("/{project}/meetctl/wake-rate")
    }
}

/// What Terraform writes to [`Parameters::deployment`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Deployment {
    /// The custom domain's regional target, e.g. `d-abc123.execute-api.us-east-1.amazonaws.com`.
    pub target_domain_name: String,
    /// The hosted zone of that target (the alias's HostedZoneId).
    pub hosted_zone_id: String,
    #[serde(default)]
    pub api_id: String,
}

/// The front door, when deployed (Terraform wrote its parameter).
pub async fn deployment(ctx: &Context) -> Result<Option<Deployment>> {
    let name = Parameters::deployment(&ctx.config.project);
    let Some(text) = ssm::get(&ctx.aws, &name).await? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| crate::Error::Unexpected {
            what: name,
            problem: format!("not the JSON Terraform writes ({e})"),
            fix: "re-run terraform apply with front_door_enabled = true".into(),
        })
}

/// Writes a String parameter of the front door, creating it (tagged) when absent.
pub(crate) async fn put(ctx: &Context, name: &str, value: &str) -> Result<()> {
    let kind = aws_sdk_ssm::types::ParameterType::String;
    if !ssm::create(&ctx.aws, &ctx.names, name, value, kind).await? {
        ssm::overwrite(&ctx.aws, name, value).await?;
    }
    Ok(())
}

/// An HTTP request, as API Gateway or the local server hands it over.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client's address (API Gateway's `requestContext.http.sourceIp`).
    pub source_ip: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field of an `application/x-www-form-urlencoded` body.
    pub fn form(&self, field: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.into_owned())
    }

    pub fn query_param(&self, field: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.into_owned())
    }
}

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    fn new(status: u16, content_type: &str, body: String) -> Self {
        Response {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("cache-control".into(), "no-store".into()),
                (MARKER_HEADER.into(), "1".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                ("referrer-policy".into(), "no-referrer".into()),
                (
                    "content-security-policy".into(),
                    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; img-src 'self' data:; frame-ancestors 'none'".into(),
                ),
            ],
            body,
        }
    }

    pub fn html(status: u16, body: String) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    pub fn json(status: u16, value: &impl Serialize) -> Self {
        Self::new(
            status,
            "application/json",
            serde_json::to_string(value).unwrap_or_else(|_| "{}".into()),
        )
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Starts `up` without waiting for it. In AWS: an asynchronous invoke of
/// the function itself ([`lambda::SelfInvoke`]); on loopback: a task in
/// this process ([`local::InProcess`]).
pub trait Starter: Send + Sync {
    fn start<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// The front door as `meetctl status` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    pub deployed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_domain_name: Option<String>,
    /// Where the domain's record points now.
    pub dns: dns::Pointing,
    pub passcode: bool,
    /// The wake state the page reports (asleep, starting, ready, failed).
    pub wake: String,
}

/// Reads the front door's deployment, DNS, passcode and wake state.
pub async fn overview(ctx: &Context) -> Result<Overview> {
    let deployment = deployment(ctx).await?;
    let (pointing, passcode, status) = tokio::try_join!(
        dns::pointing(ctx, deployment.as_ref()),
        passcode::is_set(ctx),
        status(ctx),
    )?;
    Ok(Overview {
        deployed: deployment.is_some(),
        target_domain_name: deployment.map(|d| d.target_domain_name),
        dns: pointing,
        passcode,
        wake: status.state,
    })
}

/// `meetctl status`'s lines for the front door.
pub fn print_overview(overview: &Result<Overview>, idle: bool) {
    let o = match overview {
        Ok(o) => o,
        Err(e) => {
            println!("  front door     unknown ({e})");
            return;
        }
    };
    if !o.deployed {
        match &o.dns {
            dns::Pointing::DanglingFrontDoor(t) => println!(
                "  front door     not deployed, but the domain still points at one ({t}): run `meetctl down` to delete the record"
            ),
            _ => println!("  front door     not deployed (wake on visit: infra/ front_door_enabled = true)"),
        }
        return;
    }
    let points = match &o.dns {
        dns::Pointing::FrontDoor => "the domain points at it".to_string(),
        dns::Pointing::Elsewhere(t) => format!("the domain points at {t}"),
        dns::Pointing::NoRecord => "no record for the domain".to_string(),
        dns::Pointing::DanglingFrontDoor(t) => format!("the domain points at {t}"),
        dns::Pointing::Unmanaged => "DNS is yours (no hosted_zone_id)".to_string(),
    };
    let hint = if idle && o.dns != dns::Pointing::FrontDoor && o.dns != dns::Pointing::Unmanaged {
        "; run `meetctl down` to point the domain at it"
    } else {
        ""
    };
    println!(
        "  front door     deployed ({}); {points}{hint}; passcode {}; page: {}",
        o.target_domain_name.as_deref().unwrap_or("?"),
        if o.passcode { "set" } else { "none" },
        o.wake
    );
}

/// What the status endpoint answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    /// `asleep`, `starting`, `ready` or `failed`.
    pub state: String,
    pub steps: Vec<progress::StepLine>,
    /// How long a start takes, in seconds (the last start's, else a default).
    pub estimate_seconds: u64,
    /// Seconds since this start began, while starting.
    pub elapsed_seconds: Option<u64>,
    pub error: Option<String>,
    pub message: String,
}

/// A room path safe to put back into a page and a redirect: `/` and what
/// Jitsi allows in room names (letters, digits, `-`, `_`, `.`, `/`), never
/// the front door's own paths or another host (`//`).
pub fn clean_room(path: &str) -> String {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with(PREFIX)
        && path.len() <= 200
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./%".contains(c))
        && !path.contains("..");
    if ok {
        path.to_string()
    } else {
        "/".to_string()
    }
}

/// Where the front door stands now, from the progress record and the session.
pub async fn status(ctx: &Context) -> Result<Status> {
    let (progress, session) = tokio::try_join!(
        progress::read(ctx),
        crate::control::record::read_session(&ctx.aws, &ctx.names),
    )?;
    Ok(derive_status(
        progress.as_ref(),
        session.is_some(),
        crate::control::record::now_epoch(),
        ctx.config.lock_ttl.as_secs() as i64,
    ))
}

/// A start that has not written for this long died (its Lambda timed out).
fn derive_status(progress: Option<&Progress>, session: bool, now: i64, stale_after: i64) -> Status {
    let estimate_seconds = progress
        .and_then(|p| p.last_ready_seconds)
        .unwrap_or(progress::DEFAULT_ESTIMATE_SECONDS);
    let steps = progress.map(|p| p.steps.clone()).unwrap_or_default();
    let state = match progress {
        Some(p) if p.state == WakeState::Starting && now - p.updated_at <= stale_after => {
            WakeState::Starting
        }
        Some(p) if p.state == WakeState::Failed && !session => WakeState::Failed,
        _ if session => WakeState::Ready,
        _ => WakeState::Asleep,
    };
    let error = match state {
        WakeState::Failed => progress.and_then(|p| p.error.clone()),
        _ => None,
    };
    let elapsed_seconds = match (state, progress) {
        (WakeState::Starting, Some(p)) => Some((now - p.started_at).max(0) as u64),
        _ => None,
    };
    let message = match state {
        WakeState::Asleep => "The meeting server is asleep.".to_string(),
        WakeState::Starting => "The meeting server is starting.".to_string(),
        WakeState::Ready => "The meeting server is up.".to_string(),
        WakeState::Failed => format!(
            "The start failed: {}",
            error.clone().unwrap_or_else(|| "unknown".into())
        ),
    };
    Status {
        state: state.as_str().into(),
        steps: match state {
            WakeState::Asleep => Vec::new(),
            _ => steps,
        },
        estimate_seconds,
        elapsed_seconds,
        error,
        message,
    }
}

/// The front door: one request in, one response out.
pub async fn handle(ctx: &Context, starter: &dyn Starter, req: &Request) -> Response {
    match route(ctx, starter, req).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!("front door: {} {}: {e}", req.method, req.path);
            Response::html(
                500,
                page::problem(
                    "Something went wrong",
                    "The wake-up page could not read the platform's state. Try again in a minute.",
                    &clean_room(&req.path),
                ),
            )
        }
    }
}

async fn route(ctx: &Context, starter: &dyn Starter, req: &Request) -> Result<Response> {
    let method = req.method.to_ascii_uppercase();
    match (method.as_str(), req.path.as_str()) {
        ("GET" | "HEAD", STATUS_PATH) => Ok(Response::json(200, &status(ctx).await?)),
        ("GET" | "HEAD", PROGRESS_PATH) => {
            let room = clean_room(&req.query_param("room").unwrap_or_default());
            let status = status(ctx).await?;
            Ok(Response::html(200, page::progress(&status, &room)))
        }
        ("POST", START_PATH) => start(ctx, starter, req).await,
        ("GET" | "HEAD", path) => {
            let room = clean_room(path);
            let (status, has_passcode) = tokio::try_join!(status(ctx), passcode::is_set(ctx))?;
            Ok(match status.state.as_str() {
                "starting" => Response::html(200, page::progress(&status, &room)),
                "ready" => Response::html(200, page::awake(&room)),
                _ => Response::html(200, page::asleep(&status, &room, has_passcode, None)),
            })
        }
        _ => Ok(Response::html(
            405,
            page::problem("Not allowed", "Open the meeting link in a browser.", "/"),
        )
        .with_header("allow", "GET, HEAD, POST")),
    }
}

/// POST /_meetctl/start: rate limit, passcode, then start `up` once.
async fn start(ctx: &Context, starter: &dyn Starter, req: &Request) -> Result<Response> {
    let room = clean_room(&req.form("room").unwrap_or_default());
    if let Some(retry_after) = rate::admit(ctx, &req.source_ip).await? {
        let status = status(ctx).await?;
        return Ok(Response::html(
            429,
            page::asleep(
                &status,
                &room,
                passcode::is_set(ctx).await?,
                Some(&format!(
                    "Too many attempts from your address. Try again in {} minutes.",
                    retry_after.div_ceil(60)
                )),
            ),
        )
        .with_header("retry-after", &retry_after.to_string()));
    }
    let current = status(ctx).await?;
    match current.state.as_str() {
        // A second click while starting shows the progress, not an error.
        "starting" => return Ok(see_progress(&room)),
        "ready" => return Ok(Response::html(200, page::awake(&room))),
        _ => {}
    }
    if !passcode::check(ctx, req.form("passcode").as_deref().unwrap_or("")).await? {
        return Ok(Response::html(
            403,
            page::asleep(
                &current,
                &room,
                true,
                Some("That passcode is not right. Nothing was started."),
            ),
        ));
    }
    if wake::claim(ctx, &room).await? {
        if let Err(e) = starter.start(&room).await {
            wake::fail(ctx, &format!("could not start: {e}")).await?;
            return Err(e);
        }
    }
    Ok(see_progress(&room))
}

/// 303 to the progress page: a reload does not post again.
fn see_progress(room: &str) -> Response {
    let location = format!(
        "{PROGRESS_PATH}?room={}",
        url::form_urlencoded::byte_serialize(room.as_bytes()).collect::<String>()
    );
    Response::html(303, page::redirect(&location)).with_header("location", &location)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_kept_only_when_safe() {
        assert_eq!(clean_room("/TeamSync"), "/TeamSync");
        assert_eq!(clean_room("/a/b-c_d.e"), "/a/b-c_d.e");
        for bad in [
            "//evil.example",
            "/_meetctl/status.json",
            "/<script>",
            "/a?b",
            "x",
            "/../x",
            "/a\"b",
        ] {
            assert_eq!(clean_room(bad), "/", "{bad}");
        }
    }

    fn record(state: WakeState, updated_at: i64) -> Progress {
        Progress {
            state,
            started_at: updated_at - 10,
            updated_at,
            room: "/r".into(),
            steps: Vec::new(),
            error: Some("budget".into()),
            last_ready_seconds: Some(200),
        }
    }

    #[test]
    fn the_status_follows_the_record_and_the_session() {
        let s = derive_status(None, false, 1000, 3600);
        assert_eq!((s.state.as_str(), s.estimate_seconds), ("asleep", 300));
        let p = record(WakeState::Starting, 990);
        let s = derive_status(Some(&p), false, 1000, 3600);
        assert_eq!(
            (s.state.as_str(), s.elapsed_seconds, s.estimate_seconds),
            ("starting", Some(20), 200)
        );
        // A start that stopped writing long ago died.
        assert_eq!(derive_status(Some(&p), false, 9000, 3600).state, "asleep");
        let p = record(WakeState::Failed, 990);
        let s = derive_status(Some(&p), false, 1000, 3600);
        assert_eq!(
            (s.state.as_str(), s.error.as_deref()),
            ("failed", Some("budget"))
        );
        assert_eq!(derive_status(Some(&p), true, 1000, 3600).state, "ready");
        let p = record(WakeState::Ready, 990);
        assert_eq!(derive_status(Some(&p), true, 1000, 3600).state, "ready");
        // Down since: the session is gone.
        assert_eq!(derive_status(Some(&p), false, 1000, 3600).state, "asleep");
    }
}
