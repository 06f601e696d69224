//! The front door inside AWS Lambda: API Gateway HTTP API events (payload
//! format 2.0) in and out, and the asynchronous start.
//!
//! A POST cannot run `up` within API Gateway's 30 s, so [`SelfInvoke`]
//! invokes the function itself with InvocationType=Event and the event
//! `{"meetctl": "wake", "room": ...}`; that invocation runs `up` for up to
//! the function's timeout and records its progress. The call is one signed
//! HTTPS request (SigV4 with the aws-sigv4 and rustls the SDK already
//! builds): the Lambda SDK crate would switch on event-stream features in
//! the shared SDK runtime and so recompile every AWS crate meetctl uses.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{BoxFuture, Request, Response, Starter};
use crate::error::{Error, Result};

/// Whether a Lambda event is an API Gateway HTTP API request.
pub fn is_http_event(event: &Value) -> bool {
    event.pointer("/requestContext/http").is_some()
}

/// The room of a "wake" event (the self-invoke's payload), if it is one.
pub fn wake_room(event: &Value) -> Option<String> {
    (event.get("meetctl").and_then(Value::as_str) == Some("wake"))
        .then(|| super::clean_room(event.get("room").and_then(Value::as_str).unwrap_or("/")))
}

/// API Gateway HTTP API payload 2.0 → request.
pub fn request_from_event(event: &Value) -> Request {
    let text = |p: &str| event.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let body = event
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let body = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let headers = event
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Request {
        method: text("/requestContext/http/method").to_string(),
        path: match text("/rawPath") {
            "" => text("/requestContext/http/path").to_string(),
            p => p.to_string(),
        },
        query: text("/rawQueryString").to_string(),
        headers,
        body,
        source_ip: text("/requestContext/http/sourceIp").to_string(),
    }
}

/// Response → API Gateway HTTP API payload 2.0.
pub fn response_to_event(response: &Response) -> Value {
    let headers: serde_json::Map<String, Value> = response
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "statusCode": response.status,
        "headers": headers,
        "body": response.body,
        "isBase64Encoded": false,
    })
}

/// Starts `up` by invoking this very function asynchronously.
pub struct SelfInvoke {
    /// `AWS_LAMBDA_FUNCTION_NAME`, set by Lambda.
    pub function: String,
    pub region: String,
    pub credentials: SharedCredentialsProvider,
}

impl SelfInvoke {
    async fn invoke(&self, room: &str) -> Result<()> {
        let failed = |problem: String| {
            Error::Unexpected {
            what: format!("lambda:InvokeFunction {}", self.function),
            problem,
            fix: "check that the front-door function's role may invoke the function itself (infra/modules/front-door)".into(),
        }
        };
        let host = format!("lambda.{}.amazonaws.com", self.region);
        let path = format!("/2015-03-31/functions/{}/invocations", self.function);
        let url = format!("https://{host}{path}");
        let body = json!({ "meetctl": "wake", "room": room }).to_string();
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| failed(format!("no credentials: {e}")))?;
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .map_err(|e| failed(e.to_string()))?
            .into();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "Event"),
        ];
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| failed(e.to_string()))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .map_err(|e| failed(e.to_string()))?
            .into_parts();
        let mut request = format!("POST {path} HTTP/1.1\r\n");
        for (k, v) in headers.iter().copied().chain(instructions.headers()) {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ));
        let client = crate::check::tls::Client::new(None).map_err(failed)?;
        let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 443))
            .await
            .map_err(|e| failed(format!("DNS lookup of {host}: {e}")))?
            .collect();
        let (mut tls, _) = client
            .connect(&host, &addresses, Duration::from_secs(10))
            .await
            .map_err(|f| failed(f.problem))?;
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| failed(e.to_string()))?;
        let (response, _) = crate::check::http::read_head(&mut tls)
            .await
            .map_err(|e| failed(e.to_string()))?;
        // 202 Accepted: queued for an asynchronous run.
        if response.status != 202 {
            return Err(failed(format!(
                "Lambda answered {}",
                response.status_line()
            )));
        }
        Ok(())
    }
}

impl Starter for SelfInvoke {
    fn start<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.invoke(room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_gateway_events_convert_both_ways() {
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/_meetctl/start",
            "rawQueryString": "a=1",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "requestContext": {"http": {"method": "POST", "path": "/_meetctl/start", "sourceIp": "198.51.100.7"}},
            "body": "cm9vbT0lMkZUZWFtJnBhc3Njb2RlPXg=",
            "isBase64Encoded": true
        });
        assert!(is_http_event(&event));
        assert_eq!(wake_room(&event), None);
        let r = request_from_event(&event);
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("POST", "/_meetctl/start", "a=1")
        );
        assert_eq!(r.source_ip, "198.51.100.7");
        assert_eq!(r.form("room").as_deref(), Some("/Team"));
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let out =
            response_to_event(&Response::html(429, "x".into()).with_header("retry-after", "60"));
        assert_eq!(out["statusCode"], 429);
        assert_eq!(out["headers"]["retry-after"], "60");
        assert!(!is_http_event(&json!({})), "a scheduled tick");
        assert_eq!(
            wake_room(&json!({"meetctl": "wake", "room": "/Team"})).as_deref(),
            Some("/Team")
        );
    }
}
