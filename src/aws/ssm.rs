//! SSM parameters: the JVB's advertised address, the Jitsi secrets, and the
//! lifecycle lock. Secret values never leave this module except into SSM.

use aws_sdk_ssm::types::{ParameterType, Tag};

use super::{aws_error, Aws};
use crate::error::Result;
use crate::names::Names;

/// The parameter's value, or None when it does not exist.
pub async fn get(aws: &Aws, name: &str) -> Result<Option<String>> {
    match aws.ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out
            .parameter()
            .map(|p| p.value().unwrap_or_default().to_string())),
        Err(e) if super::error_code(&e) == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(aws_error("ssm:GetParameter", name)(e)),
    }
}

/// A SecureString's plain value (real SSM returns the ciphertext without
/// `WithDecryption`, GetParameter API reference), or None when absent.
pub async fn get_decrypted(aws: &Aws, name: &str) -> Result<Option<String>> {
    match aws
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .parameter()
            .map(|p| p.value().unwrap_or_default().to_string())),
        Err(e) if super::error_code(&e) == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(aws_error("ssm:GetParameter", name)(e)),
    }
}

/// Whether a parameter exists, without reading (or decrypting) its value.
/// Every page is read: DescribeParameters filters after it pages, so a page
/// may hold none of the matches and still carry a NextToken
/// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html:
/// "The number of items returned, however, can be between zero and the value
/// of MaxResults ... returns the matching values up to that point and a NextToken").
pub async fn exists(aws: &Aws, name: &str) -> Result<bool> {
    let mut pages = aws
        .ssm
        .describe_parameters()
        .parameter_filters(
            aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .values(name)
                .build()
                .expect("static filter"),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error("ssm:DescribeParameters", name))?;
        if page.parameters().iter().any(|p| p.name() == Some(name)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates the parameter only if absent. Returns false when it already existed.
pub async fn create(
    aws: &Aws,
    names: &Names,
    name: &str,
    value: &str,
    kind: ParameterType,
) -> Result<bool> {
    let tags: Vec<Tag> = names
        .tags(name)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value set")
        })
        .collect();
    match aws
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(false)
        .set_tags(Some(tags))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if super::error_code(&e) == Some("ParameterAlreadyExists") => Ok(false),
        Err(e) => Err(aws_error("ssm:PutParameter", name)(e)),
    }
}

pub async fn overwrite(aws: &Aws, name: &str, value: &str) -> Result<()> {
    aws.ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(aws_error("ssm:PutParameter", name))?;
    Ok(())
}

/// Deletes the parameter; a missing one is already the goal.
pub async fn delete(aws: &Aws, name: &str) -> Result<bool> {
    match aws.ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if super::error_code(&e) == Some("ParameterNotFound") => Ok(false),
        Err(e) => Err(aws_error("ssm:DeleteParameter", name)(e)),
    }
}

/// Sets the advertise parameter to `ip`; reports whether it changed.
pub async fn set_advertise_address(aws: &Aws, names: &Names, ip: &str) -> Result<bool> {
    let name = names.advertise_parameter();
    if create(aws, names, &name, ip, ParameterType::String).await? {
        return Ok(true);
    }
    match get(aws, &name).await? {
        Some(value) if value == ip => Ok(false),
        _ => overwrite(aws, &name, ip).await.map(|_| true),
    }
}

/// The Jitsi secrets that do not exist yet.
pub async fn missing_secrets(aws: &Aws, names: &Names) -> Result<Vec<String>> {
    let names = names.secret_parameters();
    let found = futures::future::try_join_all(names.iter().map(|name| exists(aws, name))).await?;
    Ok(names
        .into_iter()
        .zip(found)
        .filter_map(|(name, exists)| (!exists).then_some(name))
        .collect())
}

/// Creates each missing secret with 32 random bytes from the OS CSPRNG.
/// Never overwrites: a concurrent creator wins and its value stays.
pub async fn create_secrets(aws: &Aws, names: &Names, missing: &[String]) -> Result<()> {
    use rand::RngCore;
    for name in missing {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        create(
            aws,
            names,
            name,
            &hex::encode(bytes),
            ParameterType::SecureString,
        )
        .await?;
    }
    Ok(())
}

/// When the parameter was last written (epoch seconds), if it exists.
pub async fn last_modified(aws: &Aws, name: &str) -> Result<Option<i64>> {
    match aws.ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out
            .parameter()
            .and_then(|p| p.last_modified_date())
            .map(|d| d.secs())),
        Err(e) if super::error_code(&e) == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(aws_error("ssm:GetParameter", name)(e)),
    }
}
