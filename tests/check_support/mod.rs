//! Fixtures for the `check` tests: certificates made in the test (rcgen), a
//! Jitsi-like HTTPS site on loopback that speaks just enough WebSocket and
//! XMPP, and a tiny DNS responder. Each runs on its own thread and stops
//! when dropped. Loopback only.
#![allow(dead_code)]

pub mod coturn;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest, Sha1};
use time::OffsetDateTime;

pub const DOMAIN: &str = "meet.example.test";
pub const XMPP_DOMAIN: &str = "meet.jitsi";

/// A certificate authority made for one test.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    _dir: tempfile::TempDir,
    /// The CA's certificate as PEM, for `check_ca_file`.
    pub pem_file: PathBuf,
}

/// A leaf certificate and its key, with the chain the server sends.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Vec<u8>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem_file = dir.path().join("ca.pem");
        std::fs::write(&pem_file, cert.pem()).unwrap();
        Ca {
            cert,
            key,
            _dir: dir,
            pem_file,
        }
    }

    /// A leaf for `names`, valid from yesterday for `days` (negative: expired).
    pub fn leaf(&self, names: &[&str], days: i64) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        let now = OffsetDateTime::now_utc();
        if days < 0 {
            params.not_before = now - time::Duration::days(90);
            params.not_after = now + time::Duration::days(days);
        } else {
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(days) + time::Duration::hours(1);
        }
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            chain: vec![cert.der().clone(), self.cert.der().clone()],
            key: key.serialize_der(),
        }
    }
}

/// How the site behaves.
#[derive(Clone, Debug)]
pub struct SiteMode {
    /// Status of every HTTP answer (502: a broken backend).
    pub status: u16,
    /// Serve a page that is not Jitsi Meet.
    pub not_jitsi: bool,
    /// Answer the WebSocket upgrade (false: nginx without the location serves the index).
    pub websocket: bool,
    /// The XMPP domain prosody serves.
    pub xmpp_domain: String,
    /// The XMPP domain config.js names (None: the one prosody serves).
    pub config_domain: Option<String>,
    /// Accept TCP but never speak TLS.
    pub silent: bool,
}

impl Default for SiteMode {
    fn default() -> Self {
        SiteMode {
            status: 200,
            not_jitsi: false,
            websocket: true,
            xmpp_domain: XMPP_DOMAIN.into(),
            config_domain: None,
            silent: false,
        }
    }
}

/// The HTTPS site on 127.0.0.1; stops when dropped.
pub struct Site {
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
}

const JITSI_PAGE: &str = "<!DOCTYPE html><html><head><title>Jitsi Meet</title>\
<script src=\"config.js?v=1\"></script><script src=\"interface_config.js?v=1\"></script>\
<script src=\"libs/app.bundle.min.js?v=8\"></script></head><body><div id=\"react\"></div></body></html>";
const OTHER_PAGE: &str =
    "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>It works</body></html>";

impl Site {
    pub fn start(leaf: &Leaf, mode: SiteMode) -> Site {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                leaf.chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.clone())),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let (config, mode) = (Arc::clone(&config), mode.clone());
                        std::thread::spawn(move || serve(tcp, config, &mode));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Site { address, stop }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_head(s: &mut impl Read) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 || buf.len() > 65536 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn respond(s: &mut impl Write, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        502 => "Bad Gateway",
        _ => "Status",
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status} {reason}\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}

/// A server frame (unmasked, FIN).
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    if payload.len() < 126 {
        f.push(payload.len() as u8);
    } else {
        f.push(126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

/// Reads one masked client frame's payload.
fn read_client_frame(s: &mut impl Read) -> Option<Vec<u8>> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).ok()?;
    let mut len = (head[1] & 0x7F) as usize;
    if len == 126 {
        let mut l = [0u8; 2];
        s.read_exact(&mut l).ok()?;
        len = u16::from_be_bytes(l) as usize;
    }
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask).ok()?;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).ok()?;
    payload
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b ^= mask[i % 4]);
    Some(payload)
}

fn serve(tcp: std::net::TcpStream, config: Arc<rustls::ServerConfig>, mode: &SiteMode) {
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    if mode.silent {
        std::thread::sleep(Duration::from_secs(5));
        return;
    }
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let Some(head) = read_head(&mut tls) else {
        return; // the client rejected the certificate, or left
    };
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let upgrade = header(&head, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if mode.status != 200 {
        respond(&mut tls, mode.status, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>");
    } else if path == "/xmpp-websocket" && upgrade && mode.websocket {
        websocket(&mut tls, &head, mode);
    } else if path == "/" || path == "/xmpp-websocket" {
        respond(
            &mut tls,
            200,
            if mode.not_jitsi {
                OTHER_PAGE
            } else {
                JITSI_PAGE
            },
        );
    } else if path == "/config.js" && !mode.not_jitsi {
        let js = format!(
            "var config = {{}};\nconfig.hosts = {{}};\nconfig.hosts.domain = '{0}';\nconfig.hosts.muc = 'muc.{0}';\nconfig.bosh = '/http-bind';\nconfig.websocket = 'wss://{DOMAIN}/xmpp-websocket';\n",
            mode.config_domain.as_ref().unwrap_or(&mode.xmpp_domain)
        );
        respond(&mut tls, 200, &js);
    } else if path == "/http-bind" && !mode.not_jitsi {
        respond(
            &mut tls,
            200,
            "<html><body><p>It works! Now point your BOSH client to this URL to connect to Prosody.</p></body></html>",
        );
    } else {
        respond(&mut tls, 404, "not found");
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn websocket(tls: &mut (impl Read + Write), head: &str, mode: &SiteMode) {
    let key = header(head, "sec-websocket-key").unwrap_or_default();
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = aws_smithy_types::base64::encode(sha.finalize());
    let _ = write!(
        tls,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"
    );
    let _ = tls.flush();
    let Some(open) = read_client_frame(tls) else {
        return;
    };
    let open = String::from_utf8_lossy(&open).into_owned();
    if !open.contains("<open") {
        let _ = tls.write_all(&frame(8, &[0x03, 0xEA]));
        return;
    }
    let to = open
        .split("to=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default();
    let reply = format!(
        "<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" from=\"{}\" id=\"a1b2\" version=\"1.0\" xml:lang=\"en\"/>",
        mode.xmpp_domain
    );
    let _ = tls.write_all(&frame(1, reply.as_bytes()));
    let next = if to == mode.xmpp_domain {
        "<stream:features xmlns:stream=\"http://etherx.jabber.org/streams\"><mechanisms xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\"><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>".to_string()
    } else {
        "<stream:error xmlns:stream=\"http://etherx.jabber.org/streams\"><host-unknown xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/></stream:error>".to_string()
    };
    let _ = tls.write_all(&frame(1, next.as_bytes()));
    let _ = tls.flush();
    let _ = read_client_frame(tls); // the client's close
}

/// What the DNS responder answers for a name.
#[derive(Clone, Debug)]
pub enum Answer {
    A(Vec<Ipv4Addr>),
    Cname(String, Vec<Ipv4Addr>),
    NxDomain,
}

type Resolve = Arc<dyn Fn(&str) -> Answer + Send + Sync>;

/// A DNS responder on 127.0.0.1 (UDP) answering A queries; stops when dropped.
pub struct Dns {
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Dns {
    pub fn start(resolve: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Dns {
        let resolve: Resolve = Arc::new(resolve);
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let address = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stopped.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = answer(&buf[..n], resolve.as_ref()) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Dns { address, stop }
    }

    /// Always the same answer.
    pub fn fixed(answer: Answer) -> Dns {
        Dns::start(move |_| answer.clone())
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn answer(query: &[u8], resolve: &(dyn Fn(&str) -> Answer + Send + Sync)) -> Option<Vec<u8>> {
    // The question: labels from offset 12, then type and class.
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(pos..pos + len)?).into_owned());
        pos += len;
    }
    let question = query.get(12..pos + 4)?;
    let name = labels.join(".");
    let mut records: Vec<Vec<u8>> = Vec::new();
    let rr = |owner: Vec<u8>, rtype: u16, data: &[u8]| {
        let mut r = owner;
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(data);
        r
    };
    let rcode = match resolve(&name) {
        Answer::NxDomain => 3,
        Answer::A(ips) => {
            for ip in ips {
                records.push(rr(vec![0xC0, 12], 1, &ip.octets()));
            }
            0
        }
        Answer::Cname(target, ips) => {
            records.push(rr(vec![0xC0, 12], 5, &encode_name(&target)));
            for ip in ips {
                records.push(rr(encode_name(&target), 1, &ip.octets()));
            }
            0
        }
    };
    let mut reply = query[..2].to_vec();
    reply.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1]);
    reply.extend_from_slice(&(records.len() as u16).to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(question);
    for r in records {
        reply.extend_from_slice(&r);
    }
    Some(reply)
}

/// Environment for `meetctl` that points `check` at these fixtures.
pub fn check_env(site: &Site, dns: &Dns, ca: &Path) -> Vec<(String, String)> {
    vec![
        ("MEETCTL_CHECK_ADDRESS".into(), site.address.to_string()),
        ("MEETCTL_CHECK_RESOLVER".into(), dns.address.to_string()),
        ("MEETCTL_CHECK_CA_FILE".into(), ca.display().to_string()),
        ("MEETCTL_CHECK_TIMEOUT".into(), "5".into()),
    ]
}
