//! The front door's handler on a loopback HTTP/1.1 server (one request per
//! connection, `Connection: close`), for the tests and a local demo. In AWS
//! API Gateway does this part ([`super::lambda`]).
//!
//! The client address is the peer's, or the first `X-Forwarded-For` entry
//! when present: a stand-in for API Gateway's `requestContext.http.sourceIp`,
//! which API Gateway computes itself (clients cannot set it there).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{handle, BoxFuture, Request, Response, Starter};
use crate::check::http::read_message_head;
use crate::error::Result;
use crate::Context;

const MAX_HEAD: usize = 32 * 1024;
const MAX_BODY: usize = 64 * 1024;

/// Starts `up` as a task of this process: on loopback this stands in for
/// the function's asynchronous invoke of itself (Lambda `Invoke` with
/// InvocationType=Event), which the emulator cannot run.
pub struct InProcess {
    pub ctx: Arc<Context>,
}

impl Starter for InProcess {
    fn start<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<()>> {
        let ctx = Arc::clone(&self.ctx);
        let room = room.to_string();
        Box::pin(async move {
            // `up`'s future is deep in a debug build; the CLI polls it on the
            // main thread. Here a thread of its own, with the CLI's stack,
            // drives it on this runtime.
            let runtime = tokio::runtime::Handle::current();
            std::thread::Builder::new()
                .name("front-door-wake".into())
                .stack_size(16 << 20)
                .spawn(move || {
                    runtime.block_on(async move {
                        if let Err(e) = super::wake::run(&ctx, &room).await {
                            tracing::warn!("front door: the start failed: {e}");
                        }
                    })
                })
                .map_err(|e| crate::Error::Unexpected {
                    what: "the front door's start".into(),
                    problem: format!("cannot start a thread: {e}"),
                    fix: "retry".into(),
                })?;
            Ok(())
        })
    }
}

/// Serves until the listener fails (or the task is dropped).
pub async fn serve(listener: TcpListener, ctx: Arc<Context>, starter: Arc<dyn Starter>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            return;
        };
        let (ctx, starter) = (Arc::clone(&ctx), Arc::clone(&starter));
        tokio::spawn(async move {
            let _ = connection(stream, peer, &ctx, starter.as_ref()).await;
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    ctx: &Context,
    starter: &dyn Starter,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream, peer).await? else {
        return write_response(
            &mut stream,
            &Response::html(400, "bad request".into()),
            false,
        )
        .await;
    };
    let response = Box::pin(handle(ctx, starter, &request)).await;
    write_response(&mut stream, &response, request.method == "HEAD").await
}

async fn read_request(
    stream: &mut TcpStream,
    peer: SocketAddr,
) -> std::io::Result<Option<Request>> {
    let head = match read_message_head(stream, MAX_HEAD, "client").await {
        Ok(head) => head,
        Err(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::InvalidData) => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let mut body = head.rest;
    let mut chunk = [0u8; 4096];
    let mut first = head.first_line.split(' ');
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Ok(None);
    };
    let headers: Vec<(String, String)> = head
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return Ok(None);
    }
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let source_ip = headers
        .iter()
        .find(|(k, _)| k == "x-forwarded-for")
        .and_then(|(_, v)| v.split(',').next())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| peer.ip().to_string());
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
        source_ip,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    }
}

async fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (k, v) in &response.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        response.body.len()
    ));
    stream.write_all(out.as_bytes()).await?;
    if !head_only {
        stream.write_all(response.body.as_bytes()).await?;
    }
    stream.flush().await?;
    stream.shutdown().await
}
