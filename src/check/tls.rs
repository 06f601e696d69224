//! TLS for `check`: a rustls client (aws-lc-rs, as the AWS SDK uses) that
//! trusts the system's roots plus `check_ca_file`, explains a certificate
//! rejection in words, and reads a certificate's expiry.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// A client configuration and a word on its trust store.
pub struct Client {
    connector: TlsConnector,
    /// e.g. "146 system roots + 1 from check_ca_file".
    pub trust: String,
}

impl Client {
    pub fn new(ca_file: Option<&Path>) -> Result<Client, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (system, _) = roots.add_parsable_certificates(native.certs);
        let mut trust = format!("{system} system roots");
        if let Some(path) = ca_file {
            let extra = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read check_ca_file {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(extra);
            trust.push_str(&format!(" + {added} from check_ca_file"));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client {
            connector: TlsConnector::from(Arc::new(config)),
            trust,
        })
    }

    /// TCP then TLS to the first address that answers, within `limit` each.
    pub async fn connect(
        &self,
        domain: &str,
        addresses: &[SocketAddr],
        limit: Duration,
    ) -> Result<(TlsStream<TcpStream>, SocketAddr), Failure> {
        let name = ServerName::try_from(domain.to_string()).map_err(|e| Failure {
            problem: format!("`{domain}` is not a valid server name: {e}"),
            fix: "set domain to a host name".into(),
            tls: false,
        })?;
        let mut last = None;
        for address in addresses {
            let tcp = match tokio::time::timeout(limit, TcpStream::connect(address)).await {
                Ok(Ok(tcp)) => tcp,
                Ok(Err(e)) => {
                    last = Some(format!("cannot connect to {address}: {e}"));
                    continue;
                }
                Err(_) => {
                    last = Some(format!(
                        "no TCP connection to {address} within {}s",
                        limit.as_secs_f64()
                    ));
                    continue;
                }
            };
            return match tokio::time::timeout(limit, self.connector.connect(name.clone(), tcp))
                .await
            {
                Ok(Ok(tls)) => Ok((tls, *address)),
                Ok(Err(e)) => Err(explain(domain, *address, &e, &self.trust)),
                Err(_) => Err(Failure {
                    problem: format!(
                        "TLS handshake with {address} did not finish within {}s",
                        limit.as_secs_f64()
                    ),
                    fix: "the listener on that address does not speak TLS: check lb.listeners (TLS 443 needs certificate_arn)".into(),
                    tls: true,
                }),
            };
        }
        Err(Failure {
            problem: last.unwrap_or_else(|| "no address to connect to".into()),
            fix: "the load balancer needs a TLS 443 listener (set certificate_arn and run `meetctl up`; without it the site is plain HTTP on port 80, where browsers refuse camera and microphone), and the domain or check_address must lead to it".into(),
            tls: false,
        })
    }
}

/// Why no HTTPS connection was made, and the fix.
#[derive(Debug)]
pub struct Failure {
    pub problem: String,
    pub fix: String,
    /// False when not even TCP connected.
    pub tls: bool,
}

fn date(t: UnixTime) -> String {
    OffsetDateTime::from_unix_timestamp(t.as_secs() as i64)
        .map(|d| d.date().to_string())
        .unwrap_or_else(|_| format!("{}s after 1970", t.as_secs()))
}

/// `DnsName("a.example")` (how rustls presents a name) → `a.example`.
fn bare_name(presented: &str) -> &str {
    presented
        .split_once('(')
        .map(|(_, inner)| inner.trim_end_matches(')').trim_matches('"'))
        .unwrap_or(presented)
}

/// Maps a handshake error to what a person can act on.
fn explain(domain: &str, address: SocketAddr, e: &io::Error, trust: &str) -> Failure {
    let renew = "renew or replace the certificate (ACM renews DNS-validated ones by itself while the validation CNAME exists; re-import an imported one), then run `meetctl up` to use it";
    let cert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::InvalidCertificate(c) => Some(c),
            _ => None,
        });
    let (problem, fix) = match cert {
        Some(CertificateError::ExpiredContext { not_after, .. }) => (
            format!("the certificate expired on {}", date(*not_after)),
            renew.to_string(),
        ),
        Some(CertificateError::Expired) => ("the certificate has expired".into(), renew.into()),
        Some(CertificateError::NotValidYetContext { not_before, .. }) => (
            format!("the certificate is not valid before {}", date(*not_before)),
            "check this machine's clock, or wait for the certificate's start date".into(),
        ),
        Some(CertificateError::NotValidForNameContext { presented, .. }) => (
            format!(
                "wrong host name: the certificate is for {}, not {domain}",
                if presented.is_empty() {
                    "no DNS name".to_string()
                } else {
                    presented
                        .iter()
                        .map(|n| bare_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            format!("use a certificate whose names include {domain} (certificate_arn), then run `meetctl up`"),
        ),
        Some(CertificateError::NotValidForName) => (
            format!("wrong host name: the certificate does not cover {domain}"),
            format!("use a certificate whose names include {domain} (certificate_arn), then run `meetctl up`"),
        ),
        Some(CertificateError::UnknownIssuer) => (
            format!("untrusted chain: the certificate's issuer is not in the trust store ({trust})"),
            "serve a certificate from a public CA with its full chain (ACM does); for a private CA, give its root in check_ca_file".into(),
        ),
        Some(other) => (
            format!("the certificate was rejected: {other}"),
            "replace the certificate (certificate_arn) with a valid one for the domain".into(),
        ),
        None => (
            format!("TLS handshake with {address} failed: {e}"),
            "check that the load balancer's TLS 443 listener has the certificate (lb.listeners)".into(),
        ),
    };
    Failure {
        problem,
        fix,
        tls: true,
    }
}

/// One DER element: (tag, contents, what follows).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn der_time(tag: u8, text: &[u8]) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let two = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let month = time::Month::try_from(two(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, two(2)?).ok()?;
    let at = time::Time::from_hms(two(4)?, two(6)?, two(8)?).ok()?;
    Some(date.with_time(at).assume_utc())
}

/// The `notAfter` of an X.509 certificate (a short walk of its DER).
pub fn not_after(cert: &[u8]) -> Option<OffsetDateTime> {
    let (_, certificate, _) = der(cert)?;
    let (_, tbs, _) = der(certificate)?;
    let (tag, _, mut rest) = der(tbs)?;
    if tag == 0xA0 {
        rest = der(rest)?.2; // version, then the serial number
    }
    let rest = der(rest)?.2; // signature algorithm
    let rest = der(rest)?.2; // issuer
    let (_, validity, _) = der(rest)?;
    let (_, _, after) = der(validity)?; // notBefore
    let (tag, text, _) = der(after)?;
    der_time(tag, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_read_bare() {
        assert_eq!(bare_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(bare_name("IpAddress(192.0.2.1)"), "192.0.2.1");
        assert_eq!(bare_name("b.example"), "b.example");
    }

    #[test]
    fn der_times_parse_in_both_forms() {
        let t = der_time(0x17, b"270131235959Z").unwrap();
        assert_eq!(t.to_string(), "2027-01-31 23:59:59.0 +00:00:00");
        let t = der_time(0x18, b"20990101000000Z").unwrap();
        assert_eq!(t.year(), 2099);
        assert!(der_time(0x17, b"2701312359").is_none());
    }

    #[test]
    fn long_lengths_and_truncation() {
        let mut long = vec![0x30, 0x81, 200];
        long.extend(std::iter::repeat_n(0u8, 200));
        let (tag, body, rest) = der(&long).unwrap();
        assert_eq!((tag, body.len(), rest.len()), (0x30, 200, 0));
        assert!(der(&long[..100]).is_none());
        assert!(not_after(b"\x30\x03\x02\x01").is_none());
    }
}
