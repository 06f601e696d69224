//! The control plane's AWS Lambda function (runtime `provided.al2023`,
//! x86_64; scripts/build-lambda.sh zips this binary as `bootstrap`). Each
//! invocation by the EventBridge Scheduler schedule runs one
//! `meetctl::control::tick`; its log lines (every automatic `down` with its
//! reason) go to the function's CloudWatch Logs group.
//!
//! Configuration comes from the function's environment exactly as for the
//! CLI (`MEETCTL_PROJECT`, `MEETCTL_IDLE_TIMEOUT`, ...; the region from the
//! `AWS_REGION` Lambda sets), so the CLI and the function decide alike.
//!
//! Wake on visit (issue 13): an API Gateway HTTP API event
//! (`requestContext.http`) is a request to the front door, answered by
//! `meetctl::front_door::handle`; the event `{"meetctl": "wake"}` (the front
//! door's asynchronous invoke of this function) runs `up` and records its
//! progress; anything else is the schedule's tick.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use meetctl::config::{Config, FlagValues, Inputs};
use meetctl::{aws, control, front_door, output, Context};

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
    // Wake on visit (infra/modules/front-door): the same binary answers the
    // front door's API Gateway requests and runs the `up` they start.
    let starter: Arc<dyn front_door::Starter> = Arc::new(front_door::lambda::SelfInvoke {
        function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        region: config.region.clone(),
        credentials: aws_config::load_defaults(aws_config::BehaviorVersion::latest())
            .await
            .credentials_provider()
            .ok_or("no AWS credentials provider")?,
    });
    let ctx = Arc::new(Context::new(config, aws, output::Reporter::new()));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (ctx, starter) = (Arc::clone(&ctx), Arc::clone(&starter));
        async move {
            let event = event.payload;
            if front_door::lambda::is_http_event(&event) {
                let request = front_door::lambda::request_from_event(&event);
                let response = front_door::handle(&ctx, starter.as_ref(), &request).await;
                return Ok(front_door::lambda::response_to_event(&response));
            }
            if let Some(room) = front_door::lambda::wake_room(&event) {
                let outcome = front_door::wake::run(&ctx, &room).await;
                return Ok(serde_json::json!({
                    "action": "wake",
                    "ok": outcome.is_ok(),
                    "error": outcome.err().map(|e| e.to_string()),
                }));
            }
            let report = control::tick(&ctx).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
