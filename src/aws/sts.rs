//! Who we are: the first call of every command, so bad credentials fail fast.

use aws_smithy_runtime_api::client::result::SdkError;

use super::Aws;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// Who the credentials belong to. An endpoint that cannot be reached is
/// reported as a network problem, never as bad credentials (callers probe a
/// configured endpoint_url first with `aws::check_endpoint_reachable`).
pub async fn caller_identity(aws: &Aws) -> Result<Identity> {
    let out = aws.sts.get_caller_identity().send().await.map_err(|e| {
        let detail = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
        match e {
            // The request never got an answer: connection, DNS or timeout.
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Error::preflight(
                "network",
                format!("cannot reach AWS STS in {}: {detail}", aws.region),
                "check the network, proxy and DNS of this machine (or endpoint_url, if you meant a local emulator)",
            ),
            _ => Error::preflight(
                "credentials",
                detail,
                "configure AWS credentials (aws configure, AWS_PROFILE, or SSO login), or set endpoint_url for a local emulator",
            ),
        }
    })?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
    })
}
