//! AWS clients, one module per service concern. Every client shares one
//! interceptor that counts API calls by operation and, in dry-run mode,
//! refuses anything that is not a read.

pub mod acm;
pub mod cloudwatch;
pub mod ec2;
pub mod ecs;
pub mod elb;
pub mod exec;
pub mod route53;
pub mod scheduler;
pub mod ssm;
pub mod sts;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::config::Config;
use crate::error::Error;

/// Counts calls per `Service.Operation` and guards dry runs.
#[derive(Clone, Debug, Default)]
pub struct CallLedger {
    inner: Arc<Mutex<LedgerState>>,
}

#[derive(Debug, Default)]
struct LedgerState {
    read_only: bool,
    attempts: u64,
    calls: BTreeMap<String, u64>,
}

/// Operations that only read state. Everything else mutates.
fn is_read_only(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl CallLedger {
    pub fn set_read_only(&self, on: bool) {
        self.inner.lock().expect("ledger").read_only = on;
    }

    /// Calls made (one per operation, retries not counted).
    pub fn total_calls(&self) -> u64 {
        self.inner.lock().expect("ledger").calls.values().sum()
    }

    /// HTTP attempts, including SDK retries.
    pub fn total_attempts(&self) -> u64 {
        self.inner.lock().expect("ledger").attempts
    }

    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.inner.lock().expect("ledger").calls.clone()
    }
}

impl Intercept for CallLedger {
    fn name(&self) -> &'static str {
        "meetctl::CallLedger"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_string(), m.name().to_string()))
            .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        let mut state = self.inner.lock().expect("ledger");
        if state.read_only && !is_read_only(&operation) {
            return Err(Box::new(Error::DryRunViolation { service, operation }));
        }
        *state
            .calls
            .entry(format!("{service}.{operation}"))
            .or_default() += 1;
        tracing::debug!(target: "meetctl::aws", "{service}.{operation}");
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.lock().expect("ledger").attempts += 1;
        Ok(())
    }
}

/// All clients meetctl uses, built from one SDK configuration.
#[derive(Clone, Debug)]
pub struct Aws {
    pub region: String,
    /// The endpoint override (a local emulator), when one is configured.
    pub endpoint_url: Option<String>,
    pub sts: aws_sdk_sts::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub route53: aws_sdk_route53::Client,
    pub acm: aws_sdk_acm::Client,
    pub ce: aws_sdk_costexplorer::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub ledger: CallLedger,
}

impl Aws {
    /// Standard credential chain, the configured region/profile/endpoint, and
    /// standard retries (exponential backoff with jitter). Not adaptive: its
    /// client-side rate limiter stalls a short polling loop for 8-18 s after
    /// one throttle (measured through harness/fault_proxy.py).
    pub async fn connect(config: &Config) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(6));
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &config.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        Self::from_sdk_config(&loader.load().await, &config.region)
    }

    pub fn from_sdk_config(sdk: &SdkConfig, region: &str) -> Aws {
        let ledger = CallLedger::default();
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(sdk)
                        .interceptor(ledger.clone())
                        .build(),
                )
            };
        }
        Aws {
            region: region.to_string(),
            endpoint_url: sdk.endpoint_url().map(str::to_string),
            sts: client!(aws_sdk_sts),
            ecs: client!(aws_sdk_ecs),
            ec2: client!(aws_sdk_ec2),
            elb: client!(aws_sdk_elasticloadbalancingv2),
            ssm: client!(aws_sdk_ssm),
            route53: client!(aws_sdk_route53),
            acm: client!(aws_sdk_acm),
            ce: client!(aws_sdk_costexplorer),
            cloudwatch: client!(aws_sdk_cloudwatch),
            scheduler: client!(aws_sdk_scheduler),
            ledger,
        }
    }
}

/// Whether the configured `endpoint_url` accepts a TCP connection, asked
/// once before the first call: an emulator that is not running (connection
/// refused) or a misspelt host (DNS) is bad input, reported at once and as
/// such. The SDK would retry such a call with backoff for seconds and then
/// fail in a way that reads like a credentials problem.
pub async fn check_endpoint_reachable(aws: &Aws) -> Result<(), Error> {
    let Some(endpoint) = &aws.endpoint_url else {
        return Ok(());
    };
    let unreachable = |problem: String| {
        Error::preflight(
            "endpoint_url",
            format!("cannot reach {endpoint}: {problem}"),
            "start the local AWS it points at, or correct endpoint_url (--endpoint-url, MEETCTL_ENDPOINT_URL, AWS_ENDPOINT_URL), or unset it to use AWS",
        )
    };
    let url = url::Url::parse(endpoint).map_err(|e| unreachable(format!("not a URL ({e})")))?;
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Err(unreachable("the URL names no host".into()));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| unreachable(format!("DNS lookup of {host} failed ({e})")))?
        .collect();
    let mut last = format!("DNS gave no address for {host}");
    for address in addresses {
        let connect = tokio::net::TcpStream::connect(address);
        match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection refused at {address} (nothing listens there)")
            }
            Ok(Err(e)) => last = format!("cannot connect to {address} ({e})"),
            Err(_) => last = format!("no answer from {address} within 5s"),
        }
    }
    Err(unreachable(last))
}

/// The service error code of an SDK error, if it is a modeled service error.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// Converts an SDK error into a library error naming the call and resource.
pub fn aws_error<E, R>(
    operation: &'static str,
    resource: impl Into<String>,
) -> impl FnOnce(SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + 'static,
{
    let resource = resource.into();
    move |err| {
        if let Some(violation) = dry_run_violation(&err) {
            return violation;
        }
        let message = match (err.code(), err.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_string(),
            _ => aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
        };
        Error::Aws {
            operation,
            resource,
            message,
        }
    }
}

/// The dry-run guard's refusal, if that is what stopped the call (it sits
/// somewhere down the SDK's chain of error sources).
fn dry_run_violation(err: &(dyn std::error::Error + 'static)) -> Option<Error> {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(Error::DryRunViolation { service, operation }) = e.downcast_ref::<Error>() {
            return Some(Error::DryRunViolation {
                service: service.clone(),
                operation: operation.clone(),
            });
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_aws() -> Aws {
        // Port 9 (discard): nothing answers, so a call that got past the guard would fail differently.
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::new("test", "test", None, None, "test"),
                ),
            )
            .build();
        Aws::from_sdk_config(&sdk, "us-east-1")
    }

    #[tokio::test]
    async fn dry_run_refuses_mutating_calls_before_sending_them() {
        let aws = offline_aws();
        aws.ledger.set_read_only(true);
        let err = aws
            .ssm
            .put_parameter()
            .name("/p/x")
            .value("v")
            .send()
            .await
            .map_err(aws_error("ssm:PutParameter", "/p/x"))
            .unwrap_err();
        match err {
            Error::DryRunViolation { service, operation } => {
                assert_eq!(operation, "PutParameter");
                assert_eq!(service.to_ascii_lowercase(), "ssm");
            }
            other => panic!("expected the dry-run guard, got {other:?}"),
        }
        assert_eq!(aws.ledger.total_attempts(), 0, "nothing was sent");
    }

    #[tokio::test]
    async fn reads_pass_the_guard_and_are_counted() {
        let aws = offline_aws();
        aws.ledger.set_read_only(true);
        // The read is allowed through the guard; it then fails to connect (nothing listens on port 9).
        let err = aws
            .ssm
            .get_parameter()
            .name("/p/x")
            .send()
            .await
            .map_err(aws_error("ssm:GetParameter", "/p/x"))
            .unwrap_err();
        assert!(matches!(err, Error::Aws { .. }), "{err:?}");
        assert_eq!(
            aws.ledger
                .calls()
                .get("SSM.GetParameter")
                .copied()
                .or_else(|| aws.ledger.calls().get("ssm.GetParameter").copied()),
            Some(1),
            "{:?}",
            aws.ledger.calls()
        );
        assert!(aws.ledger.total_attempts() >= 1);
    }

    fn problem_of(err: Error) -> String {
        match err {
            Error::Preflight { what, problem, .. } => {
                assert_eq!(what, "endpoint_url");
                problem
            }
            other => panic!("expected a preflight error naming endpoint_url, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_named_as_such() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut aws = offline_aws();
        aws.endpoint_url = Some(format!("http://127.0.0.1:{port}"));
        let problem = problem_of(check_endpoint_reachable(&aws).await.unwrap_err());
        assert!(problem.contains("connection refused"), "{problem}");
        // RFC 6761: `.invalid` never resolves.
        aws.endpoint_url = Some("http://no-such-emulator.invalid:5000".into());
        let problem = problem_of(check_endpoint_reachable(&aws).await.unwrap_err());
        assert!(problem.contains("DNS"), "{problem}");
        // A listening endpoint passes; no endpoint (AWS itself) is not probed.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        aws.endpoint_url = Some(format!("http://{}", listener.local_addr().unwrap()));
        check_endpoint_reachable(&aws).await.unwrap();
        aws.endpoint_url = None;
        check_endpoint_reachable(&aws).await.unwrap();
    }
}
