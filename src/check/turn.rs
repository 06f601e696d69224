//! TURN over TLS for `check`: a real TURN Allocate (RFC 8656) with the
//! long-term credential mechanism (RFC 8489 §9.2) and coturn's TURN REST API
//! credentials, over TLS to the domain's TURNS port. A granted
//! XOR-RELAYED-ADDRESS proves that a participant whose network blocks UDP can
//! still reach the bridge: the relay is what lib-jitsi-meet falls back to.
//!
//! The exchange, as RFC 8489 §9.2.3 and RFC 8656 §6 prescribe:
//! 1. Allocate with REQUESTED-TRANSPORT (UDP) and no credentials → the server
//!    answers 401 with its REALM and a NONCE;
//! 2. Allocate again with USERNAME, REALM, NONCE, MESSAGE-INTEGRITY (HMAC-SHA1
//!    keyed with MD5(username ":" realm ":" password)) and FINGERPRINT →
//!    success with XOR-RELAYED-ADDRESS, or 401 again when the password is wrong;
//! 3. Refresh with LIFETIME 0 frees the relay at once (RFC 8656 §7).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{tls, CheckResult};

/// The check's name in the report.
pub const CHECK: &str = "turn.allocate";

/// How long the REST-API username `check` makes stays valid. Short: it only
/// needs to outlive one allocation.
const CREDENTIAL_TTL_SECS: u64 = 600;
/// The user part of the REST-API username, so coturn's log tells who asked.
const CHECK_USER: &str = "meetctl-check";

const MAGIC_COOKIE: u32 = 0x2112_A442;
const HEADER_LEN: usize = 20;
/// Far above any answer to an Allocate; a larger length means the peer does
/// not speak STUN.
const MAX_BODY: usize = 4096;

const ALLOCATE: u16 = 0x0003;
const REFRESH: u16 = 0x0004;
const CLASS_SUCCESS: u16 = 0x0100;
const CLASS_ERROR: u16 = 0x0110;

const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR_CODE: u16 = 0x0009;
const ATTR_LIFETIME: u16 = 0x000D;
const ATTR_REALM: u16 = 0x0014;
const ATTR_NONCE: u16 = 0x0015;
const ATTR_XOR_RELAYED_ADDRESS: u16 = 0x0016;
const ATTR_REQUESTED_TRANSPORT: u16 = 0x0019;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_FINGERPRINT: u16 = 0x8028;
/// RFC 8489 §14.7: the CRC-32 is XORed with this ("STUN").
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// RFC 8656 §18.7: the protocol number of UDP.
const TRANSPORT_UDP: u8 = 17;

/// coturn's TURN REST API credentials (`use-auth-secret`): the username is
/// "<expiry unix time>:<user>" and the password base64(HMAC-SHA1(secret,
/// username)) — coturn's README.turnserver / turnserver(1), option
/// `--use-auth-secret`; the same derivation prosody's mod_external_services
/// hands to browsers (`algorithm = "turn"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    pub fn rest_api(secret: &str, user: &str, expires_unix: u64) -> Credentials {
        let username = format!("{expires_unix}:{user}");
        let password = base64::engine::general_purpose::STANDARD
            .encode(hmac_sha1(secret.as_bytes(), username.as_bytes()));
        Credentials { username, password }
    }

    /// RFC 8489 §9.2.2: key = MD5(username ":" realm ":" password) (the
    /// SASLprep of these ASCII strings is the identity).
    fn long_term_key(&self, realm: &str) -> [u8; 16] {
        let mut md5 = Md5::new();
        md5.update(format!("{}:{realm}:{}", self.username, self.password));
        md5.finalize().into()
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = aws_lc_rs::hmac::sign(&key, data);
    tag.as_ref().try_into().expect("HMAC-SHA1 is 20 bytes")
}

/// A STUN message to send: type, transaction id, attributes in order.
struct Request {
    kind: u16,
    transaction: [u8; 12],
    attributes: Vec<(u16, Vec<u8>)>,
}

impl Request {
    fn new(kind: u16) -> Request {
        Request {
            kind,
            transaction: rand::random(),
            attributes: Vec::new(),
        }
    }

    fn with(mut self, kind: u16, value: impl Into<Vec<u8>>) -> Request {
        self.attributes.push((kind, value.into()));
        self
    }

    /// The wire form; with `key`, MESSAGE-INTEGRITY (RFC 8489 §14.5: HMAC
    /// over the message up to it, its length field already counting it),
    /// then always FINGERPRINT (§14.7: CRC-32 of everything before it).
    fn encode(&self, key: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&self.kind.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&self.transaction);
        for (kind, value) in &self.attributes {
            put_attribute(&mut out, *kind, value);
        }
        if let Some(key) = key {
            set_length(&mut out, 24);
            let mac = hmac_sha1(key, &out);
            put_attribute(&mut out, ATTR_MESSAGE_INTEGRITY, &mac);
        }
        set_length(&mut out, 8);
        let crc = crc32fast::hash(&out) ^ FINGERPRINT_XOR;
        put_attribute(&mut out, ATTR_FINGERPRINT, &crc.to_be_bytes());
        out
    }
}

fn put_attribute(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - value.len() % 4) % 4, 0);
}

/// Sets the header's length to the body so far plus `more` bytes to come.
fn set_length(message: &mut [u8], more: usize) {
    let length = (message.len() - HEADER_LEN + more) as u16;
    message[2..4].copy_from_slice(&length.to_be_bytes());
}

/// A STUN message received, with where each attribute starts (for checking
/// MESSAGE-INTEGRITY over the bytes before it).
#[derive(Debug)]
struct Response {
    kind: u16,
    transaction: [u8; 12],
    raw: Vec<u8>,
    /// (type, offset of the attribute header in `raw`, value)
    attributes: Vec<(u16, usize, Vec<u8>)>,
}

impl Response {
    fn parse(raw: Vec<u8>) -> Result<Response, String> {
        if raw.len() < HEADER_LEN || raw[0] & 0xC0 != 0 {
            return Err("the answer is not a STUN message".into());
        }
        let cookie = u32::from_be_bytes(raw[4..8].try_into().expect("4 bytes"));
        if cookie != MAGIC_COOKIE {
            return Err("the answer is not a STUN message (no magic cookie)".into());
        }
        let kind = u16::from_be_bytes([raw[0], raw[1]]);
        let transaction: [u8; 12] = raw[8..20].try_into().expect("12 bytes");
        let mut attributes = Vec::new();
        let mut at = HEADER_LEN;
        while at + 4 <= raw.len() {
            let kind = u16::from_be_bytes([raw[at], raw[at + 1]]);
            let len = u16::from_be_bytes([raw[at + 2], raw[at + 3]]) as usize;
            let value = raw
                .get(at + 4..at + 4 + len)
                .ok_or("a STUN attribute runs past the message")?
                .to_vec();
            attributes.push((kind, at, value));
            at += 4 + len + (4 - len % 4) % 4;
        }
        Ok(Response {
            kind,
            transaction,
            raw,
            attributes,
        })
    }

    fn attribute(&self, kind: u16) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, _, v)| v.as_slice())
    }

    fn text(&self, kind: u16) -> Option<String> {
        self.attribute(kind)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// (code, reason) of an error response.
    fn error(&self) -> Option<(u16, String)> {
        if self.kind & CLASS_ERROR != CLASS_ERROR {
            return None;
        }
        let v = self.attribute(ATTR_ERROR_CODE)?;
        if v.len() < 4 {
            return None;
        }
        let code = (v[2] & 0x07) as u16 * 100 + v[3] as u16;
        Some((code, String::from_utf8_lossy(&v[4..]).trim().to_string()))
    }

    fn xor_address(&self, kind: u16) -> Option<SocketAddr> {
        let v = self.attribute(kind)?;
        let port = u16::from_be_bytes([*v.get(2)?, *v.get(3)?]) ^ (MAGIC_COOKIE >> 16) as u16;
        let ip = match v.get(1)? {
            0x01 => {
                let raw = u32::from_be_bytes(v.get(4..8)?.try_into().ok()?);
                IpAddr::V4(Ipv4Addr::from(raw ^ MAGIC_COOKIE))
            }
            0x02 => {
                let mut mask = [0u8; 16];
                mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
                mask[4..].copy_from_slice(&self.transaction);
                let raw: [u8; 16] = v.get(4..20)?.try_into().ok()?;
                let mut ip = [0u8; 16];
                for i in 0..16 {
                    ip[i] = raw[i] ^ mask[i];
                }
                IpAddr::V6(Ipv6Addr::from(ip))
            }
            _ => return None,
        };
        Some(SocketAddr::new(ip, port))
    }

    /// Whether MESSAGE-INTEGRITY is present and made with `key`: the
    /// server's proof that it holds the same secret.
    fn integrity_matches(&self, key: &[u8]) -> bool {
        let Some((_, at, mac)) = self
            .attributes
            .iter()
            .find(|(k, _, _)| *k == ATTR_MESSAGE_INTEGRITY)
        else {
            return false;
        };
        let mut signed = self.raw[..*at].to_vec();
        set_length(&mut signed, 24);
        hmac_sha1(key, &signed).as_slice() == mac.as_slice()
    }
}

/// Where and with what to try an allocation.
pub struct Target {
    /// The TLS server name (the meeting domain).
    pub domain: String,
    pub addresses: Vec<SocketAddr>,
    /// coturn's `static-auth-secret`.
    pub secret: String,
    pub ca_file: Option<PathBuf>,
    /// TURN over TLS (TURNS); false: plain TCP (no certificate configured).
    pub tls: bool,
    /// Limit for each network step.
    pub timeout: Duration,
}

/// A granted allocation.
#[derive(Debug)]
pub struct Allocation {
    pub server: SocketAddr,
    pub relayed: SocketAddr,
    pub mapped: Option<SocketAddr>,
    pub lifetime_secs: Option<u32>,
    pub realm: String,
}

/// Why no relay was granted, and the fix.
#[derive(Debug)]
pub struct Failure {
    pub problem: String,
    pub fix: String,
}

fn failure(problem: impl Into<String>, fix: impl Into<String>) -> Failure {
    Failure {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Reads one STUN message (header, then the length it announces).
async fn read_message(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> Result<Response, String> {
    let read = async {
        let mut header = [0u8; HEADER_LEN];
        stream
            .read_exact(&mut header)
            .await
            .map_err(|e| format!("the connection ended before an answer: {e}"))?;
        let length = u16::from_be_bytes([header[2], header[3]]) as usize;
        if length > MAX_BODY || length % 4 != 0 {
            return Err("the answer is not a STUN message".into());
        }
        let mut raw = header.to_vec();
        raw.resize(HEADER_LEN + length, 0);
        stream
            .read_exact(&mut raw[HEADER_LEN..])
            .await
            .map_err(|e| format!("the connection ended inside an answer: {e}"))?;
        Ok(raw)
    };
    let raw = super::within(limit, "waiting for the TURN server's answer", read).await?;
    Response::parse(raw)
}

/// Sends `request` and returns the answer with its transaction id (other
/// messages, such as indications, are skipped).
async fn exchange(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    request: &Request,
    key: Option<&[u8]>,
    limit: Duration,
) -> Result<Response, String> {
    super::within(limit, "sending to the TURN server", async {
        stream
            .write_all(&request.encode(key))
            .await
            .map_err(|e| format!("cannot send to the TURN server: {e}"))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("cannot send to the TURN server: {e}"))
    })
    .await?;
    loop {
        let response = read_message(stream, limit).await?;
        if response.transaction == request.transaction {
            return Ok(response);
        }
    }
}

fn allocate_request() -> Request {
    Request::new(ALLOCATE).with(ATTR_REQUESTED_TRANSPORT, [TRANSPORT_UDP, 0, 0, 0])
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// TLS (or plain TCP) to the TURN port, then the two-step authenticated
/// Allocate, then a Refresh with LIFETIME 0 so the relay does not outlive the
/// check.
pub async fn allocate(target: &Target) -> Result<Allocation, Failure> {
    if target.tls {
        let client = tls::Client::new(target.ca_file.as_deref())
            .map_err(|e| failure(e, "fix check_ca_file"))?;
        let (stream, server) = client
            .connect(&target.domain, &target.addresses, target.timeout)
            .await
            .map_err(|f| connect_failure(target, f))?;
        negotiate(stream, server, target).await
    } else {
        let (stream, server) = connect_tcp(target).await?;
        negotiate(stream, server, target).await
    }
}

async fn connect_tcp(target: &Target) -> Result<(TcpStream, SocketAddr), Failure> {
    let mut last = "no address to connect to".to_string();
    for address in &target.addresses {
        match tokio::time::timeout(target.timeout, TcpStream::connect(address)).await {
            Ok(Ok(tcp)) => return Ok((tcp, *address)),
            Ok(Err(e)) => last = format!("cannot connect to {address}: {e}"),
            Err(_) => {
                last = format!(
                    "no TCP connection to {address} within {}s",
                    target.timeout.as_secs_f64()
                )
            }
        }
    }
    Err(connect_failure(
        target,
        tls::Failure {
            problem: last,
            fix: String::new(),
            tls: false,
        },
    ))
}

async fn negotiate(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    server: SocketAddr,
    target: &Target,
) -> Result<Allocation, Failure> {
    let limit = target.timeout;
    let not_turn = |e: String| {
        failure(
            format!("{server}: {e}"),
            format!("port {} must lead to coturn: check the NLB's TURN listener and its target group (lb.listeners, lb.targets)", server.port()),
        )
    };

    let first = exchange(&mut stream, &allocate_request(), None, limit)
        .await
        .map_err(not_turn)?;
    if first.kind == ALLOCATE | CLASS_SUCCESS {
        return Err(failure(
            format!("{server} granted a relay without credentials: an open relay anyone can use"),
            "run coturn with use-auth-secret and static-auth-secret (infra/turn.tf's coturn container)",
        ));
    }
    let challenge = match first.error() {
        Some((401, _)) => first,
        Some((code, reason)) => {
            return Err(failure(
                format!("{server} refused an Allocate with {code} {reason}"),
                "check coturn's log in CloudWatch (stream coturn)",
            ))
        }
        None => {
            return Err(not_turn(
                "the answer is neither a relay nor a challenge".into(),
            ))
        }
    };
    let (Some(realm), Some(mut nonce)) = (
        challenge.text(ATTR_REALM),
        challenge.attribute(ATTR_NONCE).map(<[u8]>::to_vec),
    ) else {
        return Err(not_turn("its 401 carries no REALM and NONCE".into()));
    };

    let credentials =
        Credentials::rest_api(&target.secret, CHECK_USER, unix_now() + CREDENTIAL_TTL_SECS);
    let key = credentials.long_term_key(&realm);
    let authenticated = |nonce: &[u8], kind: u16| {
        Request::new(kind)
            .with(ATTR_USERNAME, credentials.username.as_bytes())
            .with(ATTR_REALM, realm.as_bytes())
            .with(ATTR_NONCE, nonce)
    };
    // A nonce may go stale between the two requests (438): one more try with
    // the fresh nonce the server sends along (RFC 8489 §9.2.5).
    let mut granted = None;
    for _ in 0..2 {
        let mut request = authenticated(&nonce, ALLOCATE);
        request
            .attributes
            .insert(0, (ATTR_REQUESTED_TRANSPORT, vec![TRANSPORT_UDP, 0, 0, 0]));
        let answer = exchange(&mut stream, &request, Some(&key), limit)
            .await
            .map_err(not_turn)?;
        match answer.error() {
            None if answer.kind == ALLOCATE | CLASS_SUCCESS => {
                granted = Some(answer);
                break;
            }
            Some((438, _)) => {
                nonce = answer
                    .attribute(ATTR_NONCE)
                    .map(<[u8]>::to_vec)
                    .unwrap_or(nonce);
            }
            Some((401, _)) => {
                return Err(failure(
                    format!("{server} rejected the credentials derived from the TURN secret (401 after authenticating, realm {realm})"),
                    "coturn's static-auth-secret must be the SSM parameter's value: the task reads it at start, so after changing the parameter run `meetctl down` and `meetctl up`",
                ))
            }
            Some((code, reason)) => {
                return Err(failure(
                    format!("{server} refused the authenticated Allocate: {code} {reason}"),
                    match code {
                        486 => "the allocation quota is used up: raise coturn's user-quota/total-quota or wait for old allocations to expire",
                        508 => "coturn has no relay port free: widen its min-port/max-port range",
                        _ => "check coturn's log in CloudWatch (stream coturn)",
                    },
                ))
            }
            None => return Err(not_turn(format!("unexpected answer type {:#06x}", answer.kind))),
        }
    }
    let Some(granted) = granted else {
        return Err(failure(
            format!("{server} answered 438 Stale Nonce twice"),
            "check the clocks of coturn's task (its nonces expire at once)",
        ));
    };
    if !granted.integrity_matches(&key) {
        return Err(failure(
            format!("{server} granted a relay without proving it holds the secret (MESSAGE-INTEGRITY missing or wrong)"),
            "the TURNS port must lead to this project's coturn; check lb.listeners",
        ));
    }
    let Some(relayed) = granted.xor_address(ATTR_XOR_RELAYED_ADDRESS) else {
        return Err(not_turn(
            "the success answer has no XOR-RELAYED-ADDRESS".into(),
        ));
    };
    let allocation = Allocation {
        server,
        relayed,
        mapped: granted.xor_address(ATTR_XOR_MAPPED_ADDRESS),
        lifetime_secs: granted
            .attribute(ATTR_LIFETIME)
            .and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))),
        realm: realm.clone(),
    };
    // Best effort: an unreleased relay expires by itself after its lifetime.
    let release = authenticated(&nonce, REFRESH).with(ATTR_LIFETIME, 0u32.to_be_bytes());
    let _ = exchange(&mut stream, &release, Some(&key), limit).await;
    let _ = tokio::time::timeout(limit, stream.shutdown()).await;
    Ok(allocation)
}

fn connect_failure(target: &Target, f: tls::Failure) -> Failure {
    let port = target
        .addresses
        .first()
        .map(|a| a.port())
        .unwrap_or_default();
    if !f.tls {
        let listener = if target.tls { "TLS" } else { "TCP" };
        return failure(
            f.problem,
            format!("nothing accepts TURN on port {port}: the NLB needs its {listener} {port} listener to coturn (run `meetctl up`)"),
        );
    }
    if f.problem.contains("did not finish") {
        return failure(
            f.problem,
            format!("the listener on {port} does not speak TLS: it must be the NLB's TLS listener with the ACM certificate (lb.listeners)"),
        );
    }
    failure(
        f.problem,
        format!(
            "{} (the TURNS listener on {port} serves the same certificate as the site, {})",
            f.fix, target.domain
        ),
    )
}

/// The `turn.allocate` line.
pub async fn check(target: &Target) -> CheckResult {
    match allocate(target).await {
        Ok(a) => CheckResult::pass(
            CHECK,
            format!(
                "relay {} granted by {} over {} (realm {}{}{}): participants whose network blocks UDP reach the bridge through it",
                a.relayed,
                a.server,
                if target.tls { "TLS" } else { "TCP" },
                a.realm,
                a.mapped.map(|m| format!(", seen from {m}")).unwrap_or_default(),
                a.lifetime_secs.map(|l| format!(", lifetime {l}s")).unwrap_or_default(),
            ),
        ),
        Err(f) => CheckResult::fail(CHECK, f.problem, f.fix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        // RFC 2202 §3, test case 2.
        assert_eq!(
            hex::encode(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn rest_api_password_is_base64_hmac_of_the_username() {
        // Computed independently: python3 -c "import hmac,hashlib,base64;
        // print(base64.b64encode(hmac.new(b'north', b'1700000000:alice', hashlib.sha1).digest()))"
        let c = Credentials::rest_api("north", "alice", 1_700_000_000);
        assert_eq!(c.username, "1700000000:alice");
        assert_eq!(c.password, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
    }

    /// RFC 5769 §2.4 (long-term credentials, test vector): the key and the
    /// MESSAGE-INTEGRITY of the sample request, byte for byte.
    #[test]
    fn message_integrity_matches_rfc_5769() {
        let sample = hex::decode(concat!(
            "000100602112a44278ad3433c6ad72c029da412e",
            "00060012e3839ee38388e383aae38383e382afe382b90000",
            "0015001c662f2f3439396b39353464364f4c33346f4c39465354767936347341",
            "0014000b6578616d706c652e6f726700",
            "00080014f67024656dd64a3e02b8e0712e85c9a28ca89666",
        ))
        .unwrap();
        let response = Response::parse(sample).unwrap();
        let c = Credentials {
            username: "\u{30de}\u{30c8}\u{30ea}\u{30c3}\u{30af}\u{30b9}".into(),
            password: "TheMatrIX".into(),
        };
        let key = c.long_term_key("example.org");
        assert!(response.integrity_matches(&key));
        assert!(!response.integrity_matches(&[0u8; 16]));
    }

    #[test]
    fn encoded_requests_parse_back_with_valid_integrity_and_fingerprint() {
        let key = [7u8; 16];
        let request = allocate_request().with(ATTR_USERNAME, "1:u");
        let bytes = request.encode(Some(&key));
        assert_eq!(bytes.len() % 4, 0);
        let parsed = Response::parse(bytes.clone()).unwrap();
        assert_eq!(parsed.kind, ALLOCATE);
        assert_eq!(parsed.text(ATTR_USERNAME).as_deref(), Some("1:u"));
        assert!(parsed.integrity_matches(&key));
        let (_, at, fingerprint) = parsed.attributes.last().unwrap();
        let crc = crc32fast::hash(&bytes[..*at]) ^ FINGERPRINT_XOR;
        assert_eq!(fingerprint.as_slice(), crc.to_be_bytes());
        assert_eq!(
            u16::from_be_bytes([bytes[2], bytes[3]]) as usize,
            bytes.len() - HEADER_LEN
        );
    }

    #[test]
    fn xor_addresses_decode_for_both_families() {
        // RFC 5769 §2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
        let mut v4 = allocate_request();
        v4.transaction = [
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ];
        let v4 = v4.with(
            ATTR_XOR_MAPPED_ADDRESS,
            hex::decode("0001a147e112a643").unwrap(),
        );
        let parsed = Response::parse(v4.encode(None)).unwrap();
        assert_eq!(
            parsed.xor_address(ATTR_XOR_MAPPED_ADDRESS),
            Some("192.0.2.1:32853".parse().unwrap())
        );
        // RFC 5769 §2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
        let mut v6 = allocate_request();
        v6.transaction = [
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ];
        let v6 = v6.with(
            ATTR_XOR_MAPPED_ADDRESS,
            hex::decode("0002a1470113a9faa5d3f179bc25f4b5bed2b9d9").unwrap(),
        );
        let parsed = Response::parse(v6.encode(None)).unwrap();
        assert_eq!(
            parsed.xor_address(ATTR_XOR_MAPPED_ADDRESS),
            Some(
                "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
                    .parse()
                    .unwrap()
            )
        );
    }

    #[test]
    fn non_stun_bytes_are_refused() {
        assert!(Response::parse(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()).is_err());
        let mut truncated = allocate_request().encode(None);
        truncated[3] += 4; // announces more than it carries: the parse stops cleanly
        let parsed = Response::parse(truncated[..HEADER_LEN + 8].to_vec()).unwrap();
        assert_eq!(parsed.kind, ALLOCATE);
    }
}
