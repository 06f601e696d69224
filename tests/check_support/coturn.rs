//! A real coturn (`turnserver` from the Debian package `coturn`) on
//! loopback for the TURN tests: TLS with a certificate made by the test,
//! coturn's TURN REST API (`use-auth-secret`). scripts/test.sh installs the
//! package where it is missing.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

use super::Leaf;

/// coturn's static-auth-secret in these tests.
pub const SECRET: &str = "4f1c0ffee0ddba11a5ecre7f0r7e57s0nly";

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A loopback port that is free now, with the next one free too (coturn
/// opens an "alternative" listener on port + 1).
fn free_port_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `turnserver` as a child process, TLS on 127.0.0.1 only; killed on drop.
pub struct Coturn {
    child: Child,
    pub tls: SocketAddr,
    pub plain: SocketAddr,
    dir: tempfile::TempDir,
}

impl Coturn {
    pub fn start(leaf: &Leaf) -> Coturn {
        let turnserver = which("turnserver").unwrap_or_else(|| {
            panic!("`turnserver` is not installed: run `apt-get install -y coturn` (scripts/test.sh does it)")
        });
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let chain: String = leaf.chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        std::fs::write(&cert, chain).unwrap();
        std::fs::write(&key, pem("PRIVATE KEY", &leaf.key)).unwrap();
        let tls_port = free_port_pair();
        let plain_port = free_port_pair();
        // The options of turnserver(1). The production settings are in
        // infra/ecs.tf; here, relays on loopback are allowed because the
        // test's only address is loopback (relay-ip), never in production.
        let config = format!(
            "listening-ip=127.0.0.1\n\
             relay-ip=127.0.0.1\n\
             listening-port={plain_port}\n\
             tls-listening-port={tls_port}\n\
             min-port=49152\nmax-port=65535\n\
             cert={}\npkey={}\n\
             use-auth-secret\nstatic-auth-secret={SECRET}\n\
             realm=meetctl.test\n\
             fingerprint\nno-udp\nno-dtls\nno-tlsv1\nno-tlsv1_1\nno-cli\nno-multicast-peers\n\
             userdb={}\npidfile={}\nlog-file={}\nsimple-log\nno-stdout-log\n",
            cert.display(),
            key.display(),
            dir.path().join("turndb").display(),
            dir.path().join("turnserver.pid").display(),
            dir.path().join("turnserver.log").display(),
        );
        let conf = dir.path().join("turnserver.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(turnserver)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver starts");
        let mut coturn = Coturn {
            child,
            tls: SocketAddr::from(([127, 0, 0, 1], tls_port)),
            plain: SocketAddr::from(([127, 0, 0, 1], plain_port)),
            dir,
        };
        coturn.wait_listening();
        coturn
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("turnserver.log")).unwrap_or_default()
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("turnserver exited ({status}); its log:\n{}", self.log());
            }
            if TcpStream::connect_timeout(&self.tls, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "turnserver did not listen on {} within 15s; its log:\n{}",
            self.tls,
            self.log()
        );
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/bin", "/usr/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}
