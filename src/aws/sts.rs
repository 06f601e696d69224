//! Who we are: the first call of every command, so bad credentials fail fast.

use super::Aws;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

pub async fn caller_identity(aws: &Aws) -> Result<Identity> {
    let out = aws.sts.get_caller_identity().send().await.map_err(|e| {
        Error::preflight(
            "credentials",
            aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
            "configure AWS credentials (aws configure, AWS_PROFILE, or SSO login), or set endpoint_url for a local emulator",
        )
    })?;
    Ok(Identity {
        account: out.account().unwrap_or_default().to_string(),
        arn: out.arn().unwrap_or_default().to_string(),
    })
}
