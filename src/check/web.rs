//! The site half of `check`: certificate, `GET /`, that the page is Jitsi
//! Meet, `/xmpp-websocket` (upgrade and an XMPP stream open, as the browser
//! client does it) and `/http-bind` (BOSH).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::http::{self, Response};
use super::tls::{self, Client};
use super::{within, CheckResult};

pub const CERTIFICATE: &str = "https.certificate";
pub const STATUS: &str = "https.status";
pub const PAGE: &str = "jitsi.page";
pub const WEBSOCKET: &str = "jitsi.xmpp-websocket";
pub const HTTP_BIND: &str = "jitsi.http-bind";

const ALL: &[&str] = &[CERTIFICATE, STATUS, PAGE, WEBSOCKET, HTTP_BIND];

/// Days before expiry below which the certificate is a WARN.
pub const EXPIRY_WARN_DAYS: i64 = 14;

/// Strings only a Jitsi Meet index page carries.
const JITSI_MARKERS: &[&str] = &["app.bundle.min.js", "interface_config.js", "JitsiMeetJS"];

/// docker-jitsi-meet's XMPP domain (`XMPP_DOMAIN`), used when config.js does not say.
pub const DEFAULT_XMPP_DOMAIN: &str = "meet.jitsi";

/// Where and how to reach the site.
#[derive(Clone, Debug)]
pub struct Target {
    /// Host name: TLS server name and HTTP `Host`.
    pub domain: String,
    /// Addresses to connect to, first that answers wins.
    pub addresses: Vec<SocketAddr>,
    /// Where the addresses came from, for the messages.
    pub source: String,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

/// Every site check as a SKIP with `reason`.
pub fn skipped(reason: &str) -> Vec<CheckResult> {
    ALL.iter().map(|n| CheckResult::skip(n, reason)).collect()
}

type Stream = TlsStream<TcpStream>;

async fn open(client: &Client, t: &Target) -> Result<(Stream, SocketAddr), String> {
    client
        .connect(&t.domain, &t.addresses, t.timeout)
        .await
        .map_err(|f| f.problem)
}

async fn fetch(client: &Client, t: &Target, path: &str) -> Result<Response, String> {
    let (mut stream, _) = open(client, t).await?;
    within(t.timeout, &format!("GET {path}"), async {
        http::get(&mut stream, &t.domain, path)
            .await
            .map_err(|e| format!("GET {path}: {e}"))
    })
    .await
}

pub async fn run(t: &Target) -> Vec<CheckResult> {
    let client = match Client::new(t.ca_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            let mut out = vec![CheckResult::fail(
                CERTIFICATE,
                e,
                "fix or unset check_ca_file",
            )];
            out.extend(skipped("no TLS client").into_iter().skip(1));
            return out;
        }
    };
    let (mut stream, address) = match client.connect(&t.domain, &t.addresses, t.timeout).await {
        Ok(ok) => ok,
        Err(f) => {
            let why = if f.tls {
                "the certificate or TLS handshake failed; nothing is sent to an unverified server"
            } else {
                "no connection to the site"
            };
            let mut out = vec![CheckResult::fail(
                CERTIFICATE,
                format!("{} ({})", f.problem, t.source),
                f.fix,
            )];
            out.extend(skipped(why).into_iter().skip(1));
            return out;
        }
    };
    let mut out = vec![certificate(t, &stream, address, &client.trust)];
    let page = within(t.timeout, "GET /", async {
        http::get(&mut stream, &t.domain, "/")
            .await
            .map_err(|e| format!("GET /: {e}"))
    })
    .await;
    out.push(status(t, &page));
    // The client reads its settings, the XMPP domain among them, from config.js.
    let config_js = match &page {
        Ok(r) if r.status == 200 => Some(fetch(&client, t, "/config.js").await),
        _ => None,
    };
    out.push(jitsi_page(&page, config_js.as_ref()));
    let xmpp_domain = xmpp_domain(config_js.as_ref());
    out.push(websocket(&client, t, &xmpp_domain).await);
    out.push(http_bind(&client, t).await);
    out
}

fn certificate(t: &Target, stream: &Stream, address: SocketAddr, trust: &str) -> CheckResult {
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first());
    let Some(expiry) = leaf.and_then(|c| tls::not_after(c)) else {
        return CheckResult::fail(
            CERTIFICATE,
            format!("the certificate from {address} was accepted but its expiry could not be read"),
            "replace the certificate with a well-formed X.509 one",
        );
    };
    let days = (expiry - OffsetDateTime::now_utc()).whole_days();
    let saw = format!(
        "valid for {}, chain trusted ({trust}), expires {} (in {days} days); {address} ({})",
        t.domain,
        expiry.date(),
        t.source
    );
    if days < EXPIRY_WARN_DAYS {
        CheckResult::warn(
            CERTIFICATE,
            saw,
            format!("renew the certificate within {days} days: ACM renews DNS-validated ones by itself while the validation CNAME exists; re-import an imported one"),
        )
    } else {
        CheckResult::pass(CERTIFICATE, saw)
    }
}

fn status(t: &Target, page: &Result<Response, String>) -> CheckResult {
    let url = format!("https://{}/", t.domain);
    match page {
        Err(e) => CheckResult::fail(
            STATUS,
            format!("{url}: {e}"),
            "the listener answers TLS but nothing serves HTTP behind it: check lb.targets.web and ecs.health",
        ),
        Ok(r) if r.status == 200 => CheckResult::pass(
            STATUS,
            format!("{url} → {} ({} bytes)", r.status_line(), r.body.len()),
        ),
        Ok(r) if (300..400).contains(&r.status) => CheckResult::fail(
            STATUS,
            format!(
                "{url} → {} to {}",
                r.status_line(),
                r.header("location").unwrap_or("?")
            ),
            "the web container redirects: keep ENABLE_HTTP_REDIRECT=0 and PUBLIC_URL = https://<domain> in infra/ (TLS ends at the load balancer)",
        ),
        Ok(r) if (500..600).contains(&r.status) => CheckResult::fail(
            STATUS,
            format!("{url} → {}", r.status_line()),
            "the server behind the load balancer failed: check lb.targets.web and ecs.health, and the web container's log (nginx cannot reach its upstream)",
        ),
        Ok(r) => CheckResult::fail(
            STATUS,
            format!("{url} → {}", r.status_line()),
            "the web container should answer 200 on /: check that the domain leads to this platform (dns) and the web container's log",
        ),
    }
}

fn title(body: &str) -> Option<&str> {
    let start = body.find("<title>")? + "<title>".len();
    let end = body[start..].find("</title>")?;
    Some(body[start..start + end].trim())
}

fn jitsi_page(
    page: &Result<Response, String>,
    config_js: Option<&Result<Response, String>>,
) -> CheckResult {
    let body = match page {
        Ok(r) if r.status == 200 => String::from_utf8_lossy(&r.body).into_owned(),
        Ok(r) => {
            return CheckResult::skip(PAGE, format!("the page did not load ({})", r.status_line()))
        }
        Err(e) => return CheckResult::skip(PAGE, format!("the page did not load: {e}")),
    };
    if let Some(marker) = JITSI_MARKERS.iter().find(|m| body.contains(**m)) {
        // A site without config.js cannot start a meeting.
        return match config_js {
            None => CheckResult::skip(PAGE, "config.js was not fetched"),
            Some(Ok(r))
                if r.status == 200 && String::from_utf8_lossy(&r.body).contains("config") =>
            {
                CheckResult::pass(
                    PAGE,
                    format!("Jitsi Meet (page loads `{marker}`; /config.js served)"),
                )
            }
            Some(Ok(r)) => CheckResult::fail(
                PAGE,
                format!(
                    "the page is Jitsi Meet (`{marker}`) but /config.js → {}",
                    r.status_line()
                ),
                "the web container generates config.js at start: read its log",
            ),
            Some(Err(e)) => CheckResult::fail(
                PAGE,
                format!("the page is Jitsi Meet (`{marker}`) but /config.js failed: {e}"),
                "the web container generates config.js at start: read its log",
            ),
        };
    }
    CheckResult::fail(
        PAGE,
        format!(
            "the page is not Jitsi Meet (title {:?}; none of {})",
            title(&body).unwrap_or("none"),
            JITSI_MARKERS.join(", ")
        ),
        "the domain or check_address leads to another site: check dns and lb.targets.web, and that the task runs the jitsi/web image",
    )
}

/// The XMPP domain from config.js (`hosts.domain`), as the browser client reads it.
pub fn config_xmpp_domain(config_js: &str) -> Option<String> {
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim_start();
        let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let rest = &s[1..];
        Some(rest[..rest.find(q)?].to_string())
    };
    if let Some(i) = config_js.find("hosts.domain") {
        let rest = &config_js[i + "hosts.domain".len()..];
        return quoted(rest.trim_start().strip_prefix('=')?);
    }
    let hosts = config_js.find("hosts")?;
    let rest = &config_js[hosts..];
    let i = rest.find("domain")?;
    let rest = rest[i + "domain".len()..].trim_start();
    let rest = rest.strip_prefix(['\'', '"']).unwrap_or(rest).trim_start();
    quoted(rest.strip_prefix(':')?)
}

fn xmpp_domain(config_js: Option<&Result<Response, String>>) -> (String, &'static str) {
    match config_js {
        Some(Ok(r)) if r.status == 200 => {
            match config_xmpp_domain(&String::from_utf8_lossy(&r.body)) {
                Some(d) => (d, "from config.js"),
                None => (
                    DEFAULT_XMPP_DOMAIN.into(),
                    "default: config.js names no hosts.domain",
                ),
            }
        }
        _ => (
            DEFAULT_XMPP_DOMAIN.into(),
            "default: config.js did not load",
        ),
    }
}

/// The reply to an XMPP stream open, or why there was none.
async fn xmpp_over_websocket(
    client: &Client,
    t: &Target,
    xmpp_domain: &str,
) -> Result<String, (String, String)> {
    let upgrade_fix = "nginx in the web container must proxy /xmpp-websocket to prosody with the upgrade headers: keep ENABLE_XMPP_WEBSOCKET=1 in infra/ (web and prosody)";
    let (mut s, _) = open(client, t)
        .await
        .map_err(|e| (e, "see https.certificate".to_string()))?;
    let key = aws_smithy_types::base64::encode(rand::random::<[u8; 16]>());
    let origin = format!("https://{}", t.domain);
    let request = http::request(
        "/xmpp-websocket",
        &t.domain,
        "Upgrade",
        &[
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", &key),
            ("Sec-WebSocket-Protocol", "xmpp"),
            ("Origin", &origin),
        ],
    );
    let step = |what: &'static str| {
        move |e: std::io::Error| (format!("{what}: {e}"), upgrade_fix.to_string())
    };
    let (head, mut pending) = within(t.timeout, "the WebSocket upgrade", async {
        s.write_all(&request).await.map_err(|e| e.to_string())?;
        http::read_head(&mut s).await.map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| (e, upgrade_fix.to_string()))?;
    if head.status != 101 {
        return Err((
            format!(
                "no upgrade: /xmpp-websocket answered {} instead of 101 Switching Protocols",
                head.status_line()
            ),
            upgrade_fix.into(),
        ));
    }
    if !head
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    {
        return Err((
            "101 without `Upgrade: websocket`".into(),
            upgrade_fix.into(),
        ));
    }
    if head.header("sec-websocket-accept") != Some(http::accept_key(&key).as_str()) {
        return Err((
            format!("Sec-WebSocket-Accept {:?} does not match the key sent", head.header("sec-websocket-accept").unwrap_or("missing")),
            "something between the client and prosody answers the upgrade wrongly: check the proxies in front of the web container".into(),
        ));
    }
    let open_frame = format!(
        "<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" to=\"{xmpp_domain}\" version=\"1.0\"/>"
    );
    let mask = rand::random::<[u8; 4]>();
    let reply = within(t.timeout, "the XMPP stream open", async {
        s.write_all(&http::client_frame(1, open_frame.as_bytes(), mask))
            .await
            .map_err(|e| e.to_string())?;
        http::read_message(&mut s, &mut pending)
            .await
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| {
        (
            e,
            "prosody does not answer on the WebSocket: read the prosody container's log"
                .to_string(),
        )
    })?;
    let text = String::from_utf8_lossy(&reply.payload).into_owned();
    if reply.opcode == 8 || !text.contains("<open") {
        return Err((
            format!(
                "the stream open was answered with {}",
                if reply.opcode == 8 {
                    "a close frame".to_string()
                } else {
                    format!("{text:?}")
                }
            ),
            "prosody must answer an XMPP stream open: read the prosody container's log".into(),
        ));
    }
    // Prosody follows the open with its features, or a stream error.
    let next = tokio::time::timeout(
        t.timeout.min(Duration::from_secs(3)),
        http::read_message(&mut s, &mut pending),
    )
    .await;
    let _ = s
        .write_all(&http::client_frame(8, &[0x03, 0xE8], mask))
        .await;
    match next {
        Ok(Ok(frame)) if String::from_utf8_lossy(&frame.payload).contains("stream:error") => Err((
            format!("stream error after the open: {}", String::from_utf8_lossy(&frame.payload)),
            format!("prosody does not serve the XMPP domain {xmpp_domain}: XMPP_DOMAIN of prosody and hosts.domain in config.js must agree"),
        )),
        Ok(Err(e)) => Err(step("after the stream open")(e)),
        _ => Ok(text),
    }
}

async fn websocket(
    client: &Client,
    t: &Target,
    (xmpp_domain, whence): &(String, &'static str),
) -> CheckResult {
    match xmpp_over_websocket(client, t, xmpp_domain).await {
        Ok(reply) => {
            let from = reply
                .split("from=")
                .nth(1)
                .and_then(|r| r.get(1..))
                .and_then(|r| r.split(['"', '\'']).next())
                .map(|f| format!(" from {f}"))
                .unwrap_or_default();
            CheckResult::pass(
                WEBSOCKET,
                format!("upgraded to WebSocket (xmpp); stream open to {xmpp_domain} ({whence}) answered with <open{from}>"),
            )
        }
        Err((saw, fix)) => CheckResult::fail(
            WEBSOCKET,
            format!("{saw} (XMPP domain {xmpp_domain}, {whence})"),
            fix,
        ),
    }
}

async fn http_bind(client: &Client, t: &Target) -> CheckResult {
    match fetch(client, t, "/http-bind").await {
        Ok(r) if r.status == 200 => CheckResult::pass(HTTP_BIND, format!("/http-bind → {} (BOSH answers)", r.status_line())),
        Ok(r) => CheckResult::fail(
            HTTP_BIND,
            format!("/http-bind → {}", r.status_line()),
            "nginx in the web container must proxy /http-bind to prosody's BOSH (XMPP_BOSH_URL_BASE in infra/); read the prosody container's log",
        ),
        Err(e) => CheckResult::fail(HTTP_BIND, e, "read the web and prosody containers' logs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmpp_domain_from_either_config_style() {
        let docker = "var config = {};\nconfig.hosts = {};\nconfig.hosts.domain = 'meet.jitsi';\nconfig.hosts.muc = 'muc.meet.jitsi';";
        assert_eq!(config_xmpp_domain(docker).as_deref(), Some("meet.jitsi"));
        let upstream = "var config = {\n    hosts: {\n        domain: \"jitsi.example.com\",\n        muc: 'conference.jitsi.example.com'\n    },";
        assert_eq!(
            config_xmpp_domain(upstream).as_deref(),
            Some("jitsi.example.com")
        );
        let quoted_key = "var config = { 'hosts': { 'domain': 'x.test' } }";
        assert_eq!(config_xmpp_domain(quoted_key).as_deref(), Some("x.test"));
        assert!(config_xmpp_domain("var config = {};").is_none());
    }

    #[test]
    fn titles() {
        assert_eq!(title("<html><title> It works </title>"), Some("It works"));
        assert_eq!(title("<html>"), None);
    }
}
