//! The control plane's AWS Lambda function (runtime `provided.al2023`,
//! x86_64; scripts/build-lambda.sh zips this binary as `bootstrap`). Each
//! invocation by the EventBridge Scheduler schedule runs one
//! `meetctl::control::tick`; its log lines (every automatic `down` with its
//! reason) go to the function's CloudWatch Logs group.
//!
//! Configuration comes from the function's environment exactly as for the
//! CLI (`MEETCTL_PROJECT`, `MEETCTL_IDLE_TIMEOUT`, ...; the region from the
//! `AWS_REGION` Lambda sets), so the CLI and the function decide alike.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use meetctl::config::{Config, FlagValues, Inputs};
use meetctl::{aws, control, output, Context};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("MEETCTL_LOG").unwrap_or_else(|_| "info".into()),
        ))
        .with_ansi(false)
        .without_time() // CloudWatch Logs stamps every line
        .init();
    let config = Config::load(&Inputs::from_process(None, FlagValues::default()))?;
    let aws = aws::Aws::connect(&config).await;
    let ctx = Arc::new(Context::new(config, aws, output::Reporter::new()));
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let ctx = Arc::clone(&ctx);
        async move {
            let report = control::tick(&ctx).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
