//! The site and DNS checks against a loopback HTTPS server with
//! certificates made here (no AWS): the passing path, and each way a site
//! can fail a meeting.

mod check_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use check_support::*;
use meetctl::check::aws::Platform;
use meetctl::check::{dns, web, CheckResult, Status};

fn target(address: SocketAddr, ca: Option<&Ca>) -> web::Target {
    web::Target {
        domain: DOMAIN.into(),
        addresses: vec![address],
        source: "check_address".into(),
        ca_file: ca.map(|c| c.pem_file.clone()),
        timeout: Duration::from_secs(3),
    }
}

async fn run_site(
    leaf_names: &[&str],
    days: i64,
    mode: SiteMode,
    trusted: bool,
) -> Vec<CheckResult> {
    let ca = Ca::new("meetctl test CA");
    let site = Site::start(&ca.leaf(leaf_names, days), mode);
    web::run(&target(site.address, trusted.then_some(&ca))).await
}

/// A site with a good certificate behaving as `mode` says.
async fn run_mode(mode: SiteMode) -> Vec<CheckResult> {
    run_site(&[DOMAIN], 90, mode, true).await
}

fn by_name<'a>(results: &'a [CheckResult], name: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {results:#?}"))
}

#[track_caller]
fn expect(results: &[CheckResult], name: &str, status: Status, saw: &str) {
    let c = by_name(results, name);
    assert_eq!(c.status, status, "{name}: {c:#?}");
    assert!(c.saw.contains(saw), "{name}: expected {saw:?} in {c:#?}");
    match status {
        Status::Fail | Status::Warn => assert!(c.fix.is_some(), "{name} has no fix: {c:#?}"),
        Status::Skip => assert!(!c.saw.is_empty(), "a SKIP says why"),
        Status::Pass => {}
    }
}

#[tokio::test]
async fn a_working_site_passes_every_check() {
    let r = run_site(&[DOMAIN], 90, SiteMode::default(), true).await;
    assert_eq!(r.len(), 5, "{r:#?}");
    expect(
        &r,
        web::CERTIFICATE,
        Status::Pass,
        "valid for meet.example.test, chain trusted",
    );
    expect(&r, web::CERTIFICATE, Status::Pass, "(in 90 days)");
    expect(&r, web::STATUS, Status::Pass, "200 OK");
    expect(&r, web::PAGE, Status::Pass, "Jitsi Meet");
    expect(
        &r,
        web::WEBSOCKET,
        Status::Pass,
        "stream open to meet.jitsi (from config.js) answered with <open from meet.jitsi>",
    );
    expect(&r, web::HTTP_BIND, Status::Pass, "200 OK");
}

#[tokio::test]
async fn a_certificate_near_its_end_warns() {
    let r = run_site(&[DOMAIN], 5, SiteMode::default(), true).await;
    expect(&r, web::CERTIFICATE, Status::Warn, "(in 5 days)");
    assert!(by_name(&r, web::CERTIFICATE)
        .fix
        .as_ref()
        .unwrap()
        .contains("renew"));
    expect(&r, web::STATUS, Status::Pass, "200");
}

#[tokio::test]
async fn an_expired_certificate_fails_and_nothing_is_sent() {
    let r = run_site(&[DOMAIN], -3, SiteMode::default(), true).await;
    expect(
        &r,
        web::CERTIFICATE,
        Status::Fail,
        "the certificate expired on",
    );
    for name in [web::STATUS, web::PAGE, web::WEBSOCKET, web::HTTP_BIND] {
        expect(
            &r,
            name,
            Status::Skip,
            "nothing is sent to an unverified server",
        );
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_fails() {
    let r = run_site(&["other.example.test"], 90, SiteMode::default(), true).await;
    expect(
        &r,
        web::CERTIFICATE,
        Status::Fail,
        "wrong host name: the certificate is for other.example.test, not meet.example.test",
    );
}

#[tokio::test]
async fn an_untrusted_chain_fails() {
    let r = run_site(&[DOMAIN], 90, SiteMode::default(), false).await;
    expect(&r, web::CERTIFICATE, Status::Fail, "untrusted chain");
    assert!(by_name(&r, web::CERTIFICATE)
        .fix
        .as_ref()
        .unwrap()
        .contains("check_ca_file"));
}

#[tokio::test]
async fn a_502_fails_status_and_bosh_and_skips_the_page() {
    let r = run_mode(SiteMode {
        status: 502,
        ..Default::default()
    })
    .await;
    expect(&r, web::CERTIFICATE, Status::Pass, "chain trusted");
    expect(&r, web::STATUS, Status::Fail, "502 Bad Gateway");
    expect(
        &r,
        web::PAGE,
        Status::Skip,
        "the page did not load (502 Bad Gateway)",
    );
    expect(&r, web::WEBSOCKET, Status::Fail, "no upgrade");
    expect(&r, web::HTTP_BIND, Status::Fail, "502");
}

#[tokio::test]
async fn a_websocket_that_does_not_upgrade_fails() {
    let r = run_mode(SiteMode {
        websocket: false,
        ..Default::default()
    })
    .await;
    expect(
        &r,
        web::WEBSOCKET,
        Status::Fail,
        "no upgrade: /xmpp-websocket answered 200 OK instead of 101",
    );
    expect(&r, web::PAGE, Status::Pass, "Jitsi Meet");
}

#[tokio::test]
async fn a_page_that_is_not_jitsi_fails() {
    let r = run_mode(SiteMode {
        not_jitsi: true,
        ..Default::default()
    })
    .await;
    expect(&r, web::STATUS, Status::Pass, "200");
    expect(
        &r,
        web::PAGE,
        Status::Fail,
        "not Jitsi Meet (title \"Welcome to nginx!\"",
    );
    expect(&r, web::HTTP_BIND, Status::Fail, "404");
}

#[tokio::test]
async fn prosody_refusing_the_xmpp_domain_fails() {
    // config.js names one XMPP domain, prosody serves another.
    let r = run_mode(SiteMode {
        config_domain: Some("wrong.jitsi".into()),
        ..Default::default()
    })
    .await;
    expect(
        &r,
        web::WEBSOCKET,
        Status::Fail,
        "stream error after the open",
    );
    expect(&r, web::WEBSOCKET, Status::Fail, "host-unknown");
    assert!(by_name(&r, web::WEBSOCKET)
        .fix
        .as_ref()
        .unwrap()
        .contains("wrong.jitsi"));
}

#[tokio::test]
async fn nothing_listening_and_a_silent_server_fail_within_the_timeout() {
    // A port that was free a moment ago: nothing listens on it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let r = web::run(&target(closed, None)).await;
    expect(
        &r,
        web::CERTIFICATE,
        Status::Fail,
        "cannot connect to 127.0.0.1",
    );
    assert!(by_name(&r, web::CERTIFICATE)
        .fix
        .as_ref()
        .unwrap()
        .contains("certificate_arn"));
    expect(&r, web::STATUS, Status::Skip, "no connection to the site");

    let ca = Ca::new("meetctl test CA");
    let mode = SiteMode {
        silent: true,
        ..Default::default()
    };
    let site = Site::start(&ca.leaf(&[DOMAIN], 90), mode);
    let mut t = target(site.address, Some(&ca));
    t.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let r = web::run(&t).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    expect(
        &r,
        web::CERTIFICATE,
        Status::Fail,
        "TLS handshake with 127.0.0.1",
    );
    expect(
        &r,
        web::CERTIFICATE,
        Status::Fail,
        "did not finish within 0.5s",
    );
}

fn platform() -> Platform {
    Platform {
        nlb_dns: "jitsi-video-platform-nlb-1.elb.us-east-1.amazonaws.com".into(),
        public_ips: vec!["203.0.113.9".into()],
        route53_record: None,
    }
}

#[tokio::test]
async fn dns_pointing_at_the_load_balancer_passes() {
    let server = Dns::fixed(Answer::A(vec!["203.0.113.9".parse().unwrap()]));
    let res = dns::resolve(DOMAIN, Some(server.address), Duration::from_secs(2)).await;
    let r = dns::check(DOMAIN, &res, Some(&platform()), None);
    assert_eq!(r.status, Status::Pass, "{r:#?}");
    assert!(r.saw.contains("meet.example.test → 203.0.113.9"), "{r:#?}");

    let server = Dns::fixed(Answer::Cname(
        "jitsi-video-platform-nlb-1.elb.us-east-1.amazonaws.com".into(),
        vec!["198.51.100.1".parse().unwrap()],
    ));
    let res = dns::resolve(DOMAIN, Some(server.address), Duration::from_secs(2)).await;
    let r = dns::check(DOMAIN, &res, Some(&platform()), None);
    assert_eq!(r.status, Status::Pass, "{r:#?}");
    assert!(r.saw.contains("CNAME jitsi-video-platform-nlb-1"), "{r:#?}");
}

#[tokio::test]
async fn dns_pointing_elsewhere_fails_and_names_the_record() {
    let server = Dns::fixed(Answer::A(vec!["198.51.100.7".parse().unwrap()]));
    let res = dns::resolve(DOMAIN, Some(server.address), Duration::from_secs(2)).await;
    let r = dns::check(DOMAIN, &res, Some(&platform()), None);
    assert_eq!(r.status, Status::Fail, "{r:#?}");
    assert!(
        r.saw.contains("→ 198.51.100.7") && r.saw.contains("the load balancer is 203.0.113.9"),
        "{r:#?}"
    );
    let fix = r.fix.unwrap();
    assert!(
        fix.contains("point meet.example.test at the load balancer"),
        "{fix}"
    );

    let server = Dns::fixed(Answer::NxDomain);
    let res = dns::resolve(DOMAIN, Some(server.address), Duration::from_secs(2)).await;
    let r = dns::check(DOMAIN, &res, Some(&platform()), Some("Z0123456789"));
    assert_eq!(r.status, Status::Fail);
    assert!(r.saw.contains("NXDOMAIN"), "{r:#?}");
    assert!(r
        .fix
        .unwrap()
        .contains("hosted zone Z0123456789 is missing"));
}

#[tokio::test]
async fn a_resolver_that_does_not_answer_times_out() {
    // A bound UDP socket that never answers.
    let mute = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let started = Instant::now();
    let res = dns::resolve(
        DOMAIN,
        Some(mute.local_addr().unwrap()),
        Duration::from_millis(300),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = res.unwrap_err();
    assert!(err.contains("no answer within 0.3s"), "{err}");
    let r = dns::check(DOMAIN, &Err(err), Some(&platform()), None);
    assert_eq!(r.status, Status::Fail);
}
