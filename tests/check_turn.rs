//! `check`'s TURN allocation against a real coturn (Debian package `coturn`,
//! `turnserver`) on loopback, with a certificate made here and coturn's TURN
//! REST API (`use-auth-secret`): a granted relay, a wrong secret, nothing
//! listening, and servers that never answer. scripts/test.sh installs coturn
//! where it is missing.

mod check_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use check_support::coturn::{Coturn, SECRET};
use check_support::Ca;
use meetctl::check::turn::{self, Target};
use meetctl::check::Status;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

const TURN_DOMAIN: &str = check_support::DOMAIN;

fn target(address: SocketAddr, ca: &Ca, secret: &str, timeout: Duration) -> Target {
    Target {
        domain: TURN_DOMAIN.into(),
        addresses: vec![address],
        secret: secret.into(),
        ca_file: Some(ca.pem_file.clone()),
        tls: true,
        timeout,
    }
}

#[tokio::test]
async fn a_real_coturn_grants_a_relay_over_tls() {
    let ca = Ca::new("meetctl turn test CA");
    let coturn = Coturn::start(&ca.leaf(&[TURN_DOMAIN], 30));
    let allocation = turn::allocate(&target(coturn.tls, &ca, SECRET, Duration::from_secs(5)))
        .await
        .unwrap_or_else(|f| panic!("{} / {}\ncoturn log:\n{}", f.problem, f.fix, coturn.log()));
    // relay-ip is 127.0.0.1 and relay ports come from min-port..max-port.
    assert_eq!(allocation.relayed.ip().to_string(), "127.0.0.1");
    assert!(allocation.relayed.port() >= 49152, "{allocation:?}");
    assert_eq!(allocation.realm, "meetctl.test");
    assert_eq!(allocation.server, coturn.tls);
    // The server saw the client's own loopback address (XOR-MAPPED-ADDRESS).
    assert_eq!(
        allocation.mapped.map(|m| m.ip().to_string()).as_deref(),
        Some("127.0.0.1")
    );

    let line = turn::check(&target(coturn.tls, &ca, SECRET, Duration::from_secs(5))).await;
    assert_eq!(line.status, Status::Pass, "{line:?}");
    assert_eq!(line.name, "turn.allocate");
    assert!(line.saw.contains("relay 127.0.0.1:"), "{line:?}");
}

/// Without a certificate the NLB forwards plain TCP to coturn: the same
/// allocation without TLS.
#[tokio::test]
async fn plain_tcp_turn_grants_a_relay_too() {
    let ca = Ca::new("meetctl turn test CA");
    let coturn = Coturn::start(&ca.leaf(&[TURN_DOMAIN], 30));
    let mut plain = target(coturn.plain, &ca, SECRET, Duration::from_secs(5));
    plain.tls = false;
    let line = turn::check(&plain).await;
    assert_eq!(line.status, Status::Pass, "{line:?}\n{}", coturn.log());
    assert!(line.saw.contains("over TCP"), "{line:?}");
}

#[tokio::test]
async fn a_wrong_secret_fails_with_the_fix() {
    let ca = Ca::new("meetctl turn test CA");
    let coturn = Coturn::start(&ca.leaf(&[TURN_DOMAIN], 30));
    let line = turn::check(&target(
        coturn.tls,
        &ca,
        "not-the-secret",
        Duration::from_secs(5),
    ))
    .await;
    assert_eq!(line.status, Status::Fail, "{line:?}");
    assert!(line.saw.contains("rejected the credentials"), "{line:?}");
    assert!(line.saw.contains("401"), "{line:?}");
    let fix = line.fix.unwrap();
    assert!(
        fix.contains("static-auth-secret") && fix.contains("SSM"),
        "{fix}"
    );
}

#[tokio::test]
async fn nothing_listening_fails_with_the_fix() {
    let ca = Ca::new("meetctl turn test CA");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let line = turn::check(&target(closed, &ca, SECRET, Duration::from_secs(2))).await;
    assert_eq!(line.status, Status::Fail, "{line:?}");
    assert!(line.saw.contains("cannot connect"), "{line:?}");
    let fix = line.fix.unwrap();
    assert!(
        fix.contains(&format!("TLS {} listener", closed.port())),
        "{fix}"
    );
}

/// Accepts TCP and never sends a byte (a listener that is not TLS, or a
/// black hole): the TLS handshake must time out, not hang.
#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let ca = Ca::new("meetctl turn test CA");
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let held = std::thread::spawn(move || silent.accept().map(|(s, _)| s));
    let started = Instant::now();
    let line = turn::check(&target(address, &ca, SECRET, Duration::from_secs(1))).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(line.status, Status::Fail, "{line:?}");
    assert!(line.saw.contains("did not finish within 1s"), "{line:?}");
    assert!(line.fix.unwrap().contains("does not speak TLS"));
    drop(held);
}

/// Completes TLS, reads the Allocate and never answers it: the read of the
/// answer must time out with the step named.
#[tokio::test]
async fn a_tls_server_that_never_answers_the_allocate_times_out() {
    let ca = Ca::new("meetctl turn test CA");
    let leaf = ca.leaf(&[TURN_DOMAIN], 30);
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
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let received = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let connection = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut buf = [0u8; 20];
        let read = tls.read_exact(&mut buf).is_ok();
        let _ = tls.flush();
        // Hold the connection open, silent, until the client gives up.
        while matches!(tls.read(&mut [0u8; 512]), Ok(n) if n > 0) {}
        read.then_some(buf)
    });
    let started = Instant::now();
    let line = turn::check(&target(address, &ca, SECRET, Duration::from_secs(1))).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(line.status, Status::Fail, "{line:?}");
    assert!(
        line.saw
            .contains("waiting for the TURN server's answer: no answer within 1s"),
        "{line:?}"
    );
    let header = received.join().unwrap().expect("the server got a request");
    // What arrived was a STUN Allocate request (type 0x0003, magic cookie).
    assert_eq!(&header[..2], &[0x00, 0x03]);
    assert_eq!(&header[4..8], &[0x21, 0x12, 0xA4, 0x42]);
}
