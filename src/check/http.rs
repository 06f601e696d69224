//! The little HTTP/1.1 and WebSocket (RFC 6455) `check` needs: one request
//! per connection, a response read to its end, an upgrade, and frames.

use std::io;

use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_FRAME: usize = 1024 * 1024;
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// A request with `Host`, `Connection` and the given extra headers.
pub fn request(path: &str, host: &str, connection: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: meetctl-check/{}\r\nAccept: */*\r\nConnection: {connection}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (k, v) in extra {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// An HTTP/1 message's head as read off the wire.
pub struct Head {
    /// The request or status line.
    pub first_line: String,
    /// Header names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// Bytes read past the blank line ending the head.
    pub rest: Vec<u8>,
}

/// Reads up to the blank line that ends a message's head, at most
/// `max_bytes`. A `peer` ("server", "client") that closes first is
/// UnexpectedEof; a longer head is InvalidData.
pub async fn read_message_head<S: AsyncRead + Unpin>(
    s: &mut S,
    max_bytes: usize,
    peer: &str,
) -> io::Result<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > max_bytes {
            return Err(invalid(format!(
                "headers longer than {} KiB",
                max_bytes / 1024
            )));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            let when = if buf.is_empty() {
                "without answering"
            } else {
                "in the middle of its headers"
            };
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the {peer} closed the connection {when}"),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let first_line = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Head {
        first_line,
        headers,
        rest: buf[end + 4..].to_vec(),
    })
}

/// Reads the status line and headers; returns them and the bytes read past them.
pub async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> io::Result<(Response, Vec<u8>)> {
    let Head {
        first_line: status_line,
        headers,
        rest,
    } = read_message_head(s, MAX_HEAD, "server").await?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| invalid(format!("not an HTTP response: {status_line:?}")))?;
    Ok((
        Response {
            status,
            reason: parts.next().unwrap_or_default().to_string(),
            headers,
            body: Vec::new(),
        },
        rest,
    ))
}

/// Reads until EOF (or `limit` bytes); a TLS peer that closes without
/// close_notify still ends the body.
async fn read_to_end<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<()> {
    let mut chunk = [0u8; 8192];
    while buf.len() < limit {
        match s.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("truncated chunked body"))?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data
            .get(..size)
            .ok_or_else(|| invalid("truncated chunked body"))?;
        body.extend_from_slice(chunk);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// Sends one GET and reads the whole response (the server closes after it).
pub async fn get<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    host: &str,
    path: &str,
) -> io::Result<Response> {
    s.write_all(&request(path, host, "close", &[])).await?;
    s.flush().await?;
    let (mut response, mut body) = read_head(s).await?;
    let length = response
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    match length {
        Some(n) if !chunked => {
            if body.len() < n {
                let mut rest = vec![0u8; n.min(MAX_BODY) - body.len().min(n)];
                s.read_exact(&mut rest).await?;
                body.extend_from_slice(&rest);
            }
            body.truncate(n);
        }
        _ => {
            read_to_end(s, &mut body, MAX_BODY).await?;
            if chunked {
                body = dechunk(&body)?;
            }
        }
    }
    response.body = body;
    Ok(response)
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(WS_GUID.as_bytes());
    aws_smithy_types::base64::encode(sha.finalize())
}

/// A client frame: FIN set, masked as RFC 6455 requires of clients.
pub fn client_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0x80 | (opcode & 0x0F)];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// A frame as read: its opcode and (unmasked) payload.
#[derive(Debug)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Reads one frame; `pending` holds bytes already read past the handshake.
pub async fn read_frame<S: AsyncRead + Unpin>(
    s: &mut S,
    pending: &mut Vec<u8>,
) -> io::Result<Frame> {
    async fn need<S: AsyncRead + Unpin>(
        s: &mut S,
        pending: &mut Vec<u8>,
        n: usize,
    ) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        while pending.len() < n {
            let got = s.read(&mut chunk).await?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection without a WebSocket frame",
                ));
            }
            pending.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    }
    need(s, pending, 2).await?;
    let (b0, b1) = (pending[0], pending[1]);
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7F {
        126 => {
            need(s, pending, 4).await?;
            (u16::from_be_bytes([pending[2], pending[3]]) as usize, 4)
        }
        127 => {
            need(s, pending, 10).await?;
            let mut b = [0u8; 8];
            b.copy_from_slice(&pending[2..10]);
            (u64::from_be_bytes(b) as usize, 10)
        }
        n => (n as usize, 2),
    };
    if len > MAX_FRAME {
        return Err(invalid(format!(
            "a {len}-byte WebSocket frame (limit 1 MiB)"
        )));
    }
    let mask = if masked {
        need(s, pending, at + 4).await?;
        let m = [
            pending[at],
            pending[at + 1],
            pending[at + 2],
            pending[at + 3],
        ];
        at += 4;
        Some(m)
    } else {
        None
    };
    need(s, pending, at + len).await?;
    let mut payload: Vec<u8> = pending[at..at + len].to_vec();
    if let Some(m) = mask {
        payload
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b ^= m[i % 4]);
    }
    pending.drain(..at + len);
    Ok(Frame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0F,
        payload,
    })
}

/// Reads one whole message: continuation frames joined, pings skipped.
/// A close frame comes back as opcode 8 with its payload.
pub async fn read_message<S: AsyncRead + Unpin>(
    s: &mut S,
    pending: &mut Vec<u8>,
) -> io::Result<Frame> {
    let mut message: Option<Frame> = None;
    loop {
        let frame = read_frame(s, pending).await?;
        match frame.opcode {
            0x8 => return Ok(frame),
            0x9 | 0xA => continue,
            0x0 => {
                let Some(m) = message.as_mut() else {
                    return Err(invalid("a continuation frame without a first frame"));
                };
                m.payload.extend_from_slice(&frame.payload);
                m.fin = frame.fin;
            }
            _ => message = Some(frame),
        }
        if let Some(m) = message.take_if(|m| m.fin) {
            return Ok(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[tokio::test]
    async fn masked_frames_round_trip_and_fragments_join() {
        let long = vec![b'x'; 300];
        let mut wire = client_frame(1, &long, [1, 2, 3, 4]);
        assert_eq!(&wire[..4], &[0x81, 0x80 | 126, 1, 44]);
        // An unmasked server message in two fragments with a ping between them.
        wire.extend_from_slice(&[0x01, 3, b'<', b'o', b'p']);
        wire.extend_from_slice(&[0x89, 0]);
        wire.extend_from_slice(&[0x80, 3, b'e', b'n', b'>']);
        let mut reader = &wire[..];
        let mut pending = Vec::new();
        let first = read_message(&mut reader, &mut pending).await.unwrap();
        assert_eq!((first.opcode, first.payload), (1, long));
        let second = read_message(&mut reader, &mut pending).await.unwrap();
        assert_eq!(second.payload, b"<open>");
        assert!(read_frame(&mut reader, &mut pending).await.is_err());
    }

    #[tokio::test]
    async fn responses_by_length_chunks_or_close() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more".to_vec();
        let mut s = tokio_test_stream(wire);
        let r = get(&mut s, "h", "/").await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        let wire = b"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n".to_vec();
        let r = get(&mut tokio_test_stream(wire), "h", "/").await.unwrap();
        assert_eq!(
            (r.status_line(), r.body),
            ("502 Bad Gateway".to_string(), b"abcde".to_vec())
        );
        let r = get(
            &mut tokio_test_stream(b"HTTP/1.0 200 OK\r\n\r\nuntil close".to_vec()),
            "h",
            "/",
        )
        .await
        .unwrap();
        assert_eq!(r.body, b"until close");
        let err = get(
            &mut tokio_test_stream(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()),
            "h",
            "/",
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("not an HTTP response"), "{err}");
        let err = get(&mut tokio_test_stream(Vec::new()), "h", "/")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("without answering"), "{err}");
    }

    /// A duplex stream whose read side yields `wire` and whose writes are dropped.
    fn tokio_test_stream(
        wire: Vec<u8>,
    ) -> tokio::io::Join<std::io::Cursor<Vec<u8>>, tokio::io::Sink> {
        tokio::io::join(std::io::Cursor::new(wire), tokio::io::sink())
    }
}
