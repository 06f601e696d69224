//! The DNS check: does the domain lead to the load balancer? Asks the
//! configured resolver (`check_resolver`, a plain DNS query over UDP that
//! also shows CNAMEs) or the system resolver, and compares the answer with
//! the NLB's name and public address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::aws::Platform;
use super::{within, CheckResult};

pub const DNS: &str = "dns";

/// What a resolver answered for the domain.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// Who answered: `ip:port`, or "the system resolver".
    pub server: String,
    /// CNAME targets on the way, without the trailing dot.
    pub cnames: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

/// Resolves `domain` with `server`, or the system resolver when None.
pub async fn resolve(
    domain: &str,
    server: Option<SocketAddr>,
    limit: Duration,
) -> Result<Resolution, String> {
    match server {
        Some(server) => {
            within(
                limit,
                &format!("DNS query to {server}"),
                query_a(domain, server),
            )
            .await
        }
        None => {
            within(limit, "the system resolver", async {
                let addresses = tokio::net::lookup_host((domain, 0))
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|a| a.ip())
                    .collect::<Vec<_>>();
                Ok(Resolution {
                    server: "the system resolver".into(),
                    cnames: Vec::new(),
                    addresses,
                })
            })
            .await
        }
    }
}

/// A recursive A query for `name`, one UDP datagram each way.
pub async fn query_a(name: &str, server: SocketAddr) -> Result<Resolution, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    let id: u16 = rand::random();
    let query = encode_query(id, name)?;
    socket
        .send_to(&query, server)
        .await
        .map_err(|e| format!("cannot send to {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, from) = socket
            .recv_from(&mut buf)
            .await
            .map_err(|e| format!("no answer from {server}: {e}"))?;
        if from != server || n < 2 || u16::from_be_bytes([buf[0], buf[1]]) != id {
            continue; // not our answer
        }
        let (cnames, addresses) = parse_answer(&buf[..n])?;
        return Ok(Resolution {
            server: server.to_string(),
            cnames,
            addresses,
        });
    }
}

fn encode_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{name}` is not a valid DNS name"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    Ok(q)
}

/// Reads a (possibly compressed) name at `pos`; returns it and the position after it.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), String> {
    let bad = || "malformed DNS answer".to_string();
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(pos).ok_or_else(bad)? as usize;
        if len == 0 {
            return Ok((labels.join("."), end.unwrap_or(pos + 1)));
        }
        if len & 0xC0 == 0xC0 {
            let low = *msg.get(pos + 1).ok_or_else(bad)? as usize;
            end.get_or_insert(pos + 2);
            pos = ((len & 0x3F) << 8) | low;
            continue;
        }
        let label = msg.get(pos + 1..pos + 1 + len).ok_or_else(bad)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += 1 + len;
    }
    Err(bad())
}

fn parse_answer(msg: &[u8]) -> Result<(Vec<String>, Vec<IpAddr>), String> {
    let bad = || "malformed DNS answer".to_string();
    if msg.len() < 12 || msg[2] & 0x80 == 0 {
        return Err(bad());
    }
    match msg[3] & 0x0F {
        0 => {}
        2 => return Err("SERVFAIL: the resolver could not get an answer".into()),
        3 => return Err("NXDOMAIN: no such name".into()),
        5 => return Err("REFUSED by the resolver".into()),
        code => return Err(format!("DNS error code {code}")),
    }
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    let (questions, answers) = (count(4), count(6));
    let mut pos = 12;
    for _ in 0..questions {
        pos = read_name(msg, pos)?.1 + 4;
    }
    let (mut cnames, mut addresses) = (Vec::new(), Vec::new());
    for _ in 0..answers {
        pos = read_name(msg, pos)?.1;
        let head = msg.get(pos..pos + 10).ok_or_else(bad)?;
        let rtype = u16::from_be_bytes([head[0], head[1]]);
        let len = u16::from_be_bytes([head[8], head[9]]) as usize;
        let data_at = pos + 10;
        let data = msg.get(data_at..data_at + len).ok_or_else(bad)?;
        match (rtype, len) {
            (1, 4) => addresses.push(IpAddr::from([data[0], data[1], data[2], data[3]])),
            (5, _) => cnames.push(read_name(msg, data_at)?.0),
            _ => {}
        }
        pos = data_at + len;
    }
    if addresses.is_empty() && cnames.is_empty() {
        return Err("no A record".into());
    }
    Ok((cnames, addresses))
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// Compares what the resolver said with the load balancer; a mismatch
/// names the record to fix.
pub fn check(
    domain: &str,
    resolution: &Result<Resolution, String>,
    platform: Option<&Platform>,
    hosted_zone: Option<&str>,
) -> CheckResult {
    let Some(p) = platform else {
        return CheckResult::skip(
            DNS,
            "the load balancer is unknown (none exists, or AWS could not be read): nothing to compare the answer with",
        );
    };
    let want = if p.public_ips.is_empty() {
        p.nlb_dns.clone()
    } else {
        format!("{} ({})", p.public_ips.join(", "), p.nlb_dns)
    };
    let saw = match resolution {
        Err(e) => format!("{domain} does not resolve: {e}; the load balancer is {want}"),
        Ok(r) => {
            let via_cname = r.cnames.iter().any(|c| same_name(c, &p.nlb_dns));
            let v4: Vec<String> = r
                .addresses
                .iter()
                .filter(|a| a.is_ipv4())
                .map(|a| a.to_string())
                .collect();
            let via_address = !v4.is_empty() && v4.iter().all(|a| p.public_ips.contains(a));
            let answer = r
                .cnames
                .iter()
                .map(|c| format!("CNAME {c}"))
                .chain(r.addresses.iter().map(|a| a.to_string()))
                .collect::<Vec<_>>()
                .join(", ");
            if via_cname || via_address {
                return CheckResult::pass(
                    DNS,
                    format!("{domain} → {answer} via {}: the load balancer", r.server),
                );
            }
            format!(
                "{domain} → {answer} via {}, but the load balancer is {want}",
                r.server
            )
        }
    };
    CheckResult::fail(DNS, saw, record_fix(domain, p, hosted_zone))
}

fn record_fix(domain: &str, p: &Platform, hosted_zone: Option<&str>) -> String {
    let Some(zone) = hosted_zone else {
        let a = p
            .public_ips
            .first()
            .map(|ip| format!(" or an A record → {ip}"))
            .unwrap_or_default();
        return format!(
            "at your DNS provider, point {domain} at the load balancer: a CNAME → {}{a}",
            p.nlb_dns
        );
    };
    match &p.route53_record {
        None => format!("the A alias record {domain} in hosted zone {zone} is missing: run `meetctl up` (it UPSERTs the alias to {})", p.nlb_dns),
        Some(r) if !same_name(&r.target_dns, &p.nlb_dns) => format!(
            "the A alias record {} in hosted zone {zone} points at {}: point it at {} (`meetctl up` does)",
            r.name, r.target_dns, p.nlb_dns
        ),
        Some(r) => format!(
            "the A alias record {} in hosted zone {zone} is right, so the resolver sees another zone or an old answer: check that the parent domain's NS records delegate to zone {zone}, and wait out the old record's TTL",
            r.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn platform() -> Platform {
        Platform {
            nlb_dns: "p-nlb-1.elb.us-east-1.amazonaws.com".into(),
            public_ips: vec!["203.0.113.9".into()],
            route53_record: None,
        }
    }

    fn answer(cnames: &[&str], addresses: &[&str]) -> Result<Resolution, String> {
        Ok(Resolution {
            server: "127.0.0.1:53".into(),
            cnames: cnames.iter().map(|s| s.to_string()).collect(),
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        })
    }

    #[test]
    fn query_names_the_domain_and_asks_for_a() {
        let q = encode_query(0x1234, "meet.example.org.").unwrap();
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..17], b"\x04meet");
        assert_eq!(&q[q.len() - 5..], &[0, 0, 1, 0, 1]);
        assert!(encode_query(1, "a..b").is_err());
    }

    #[test]
    fn answers_with_compression_parse() {
        // Header: id, QR|RD|RA, 1 question, 2 answers.
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x04meet\x07example\x03org\x00\x00\x01\x00\x01");
        // CNAME meet.example.org → lb.example.org (lb + pointer to "example.org" at 17)
        m.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 5]);
        m.extend_from_slice(&[2, b'l', b'b', 0xC0, 17]);
        // A lb.example.org → 203.0.113.9 (name: pointer to the CNAME's data)
        let at = (m.len() - 5) as u8;
        m.extend_from_slice(&[0xC0, at, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 9]);
        let (cnames, addresses) = parse_answer(&m).unwrap();
        assert_eq!(cnames, vec!["lb.example.org"]);
        assert_eq!(addresses, vec!["203.0.113.9".parse::<IpAddr>().unwrap()]);
        let mut nx = m[..12].to_vec();
        nx[3] = 0x83;
        nx[7] = 0;
        assert!(parse_answer(&nx).unwrap_err().contains("NXDOMAIN"));
    }

    #[test]
    fn the_load_balancers_address_or_name_passes() {
        let p = platform();
        let r = check(
            "meet.example.org",
            &answer(&[], &["203.0.113.9"]),
            Some(&p),
            None,
        );
        assert_eq!(r.status, Status::Pass, "{r:?}");
        let r = check(
            "meet.example.org",
            &answer(&["P-NLB-1.elb.us-east-1.amazonaws.com."], &["198.51.100.7"]),
            Some(&p),
            None,
        );
        assert_eq!(r.status, Status::Pass, "{r:?}");
    }

    #[test]
    fn elsewhere_fails_and_names_the_record() {
        let mut p = platform();
        let r = check(
            "meet.example.org",
            &answer(&[], &["198.51.100.7"]),
            Some(&p),
            None,
        );
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.saw.contains("198.51.100.7") && r.saw.contains("203.0.113.9"),
            "{r:?}"
        );
        assert!(r.fix.unwrap().contains("CNAME → p-nlb-1"));
        p.route53_record = Some(AliasRecord {
            name: "meet.example.org.".into(),
            target_dns: "old-nlb.elb.amazonaws.com".into(),
            target_zone: "Z1".into(),
        });
        let r = check(
            "meet.example.org",
            &answer(&[], &["198.51.100.7"]),
            Some(&p),
            Some("Z9"),
        );
        let fix = r.fix.unwrap();
        assert!(fix.contains("in hosted zone Z9 points at old-nlb"), "{fix}");
        let r = check(
            "meet.example.org",
            &Err("NXDOMAIN: no such name".into()),
            Some(&p),
            None,
        );
        assert_eq!(r.status, Status::Fail);
        assert!(r.saw.contains("does not resolve: NXDOMAIN"), "{r:?}");
        let r = check(
            "meet.example.org",
            &answer(&[], &["203.0.113.9"]),
            None,
            None,
        );
        assert_eq!(r.status, Status::Skip);
    }

    use crate::aws::route53::AliasRecord;
}
