//! The alias record that points the meeting domain at the NLB.

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType,
};

use super::{aws_error, Aws};
use crate::error::{Error, Result};

#[derive(Clone, Debug, serde::Serialize)]
pub struct AliasRecord {
    pub name: String,
    pub target_dns: String,
    pub target_zone: String,
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// Checks the zone exists and can hold the domain.
pub async fn check_zone(aws: &Aws, zone_id: &str, domain: &str) -> Result<()> {
    let out = aws.route53.get_hosted_zone().id(zone_id).send().await.map_err(|e| match super::error_code(&e) {
        Some("NoSuchHostedZone") => Error::preflight("hosted_zone_id", format!("zone {zone_id} does not exist"), "use the id of the public zone that holds the domain, or unset hosted_zone_id to manage DNS yourself"),
        _ => aws_error("route53:GetHostedZone", zone_id)(e),
    })?;
    let zone_name = out
        .hosted_zone()
        .map(|z| z.name().trim_end_matches('.').to_string())
        .unwrap_or_default();
    if domain != zone_name && !domain.ends_with(&format!(".{zone_name}")) {
        return Err(Error::preflight(
            "hosted_zone_id",
            format!("zone {zone_id} is {zone_name}, which cannot hold {domain}"),
            "set hosted_zone_id to the zone of the domain's parent",
        ));
    }
    Ok(())
}

/// The A alias record for the domain, if any.
pub async fn find_alias(aws: &Aws, zone_id: &str, domain: &str) -> Result<Option<AliasRecord>> {
    let name = fqdn(domain);
    let out = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(&name)
        .start_record_type(RrType::A)
        .max_items(1)
        .send()
        .await
        .map_err(aws_error("route53:ListResourceRecordSets", &name))?;
    Ok(out
        .resource_record_sets()
        .iter()
        .find(|r| fqdn(r.name()) == name && *r.r#type() == RrType::A)
        .and_then(|r| r.alias_target())
        .map(|a| AliasRecord {
            name: name.clone(),
            target_dns: a.dns_name().trim_end_matches('.').to_string(),
            target_zone: a.hosted_zone_id().to_string(),
        }))
}

fn alias_change(
    action: ChangeAction,
    domain: &str,
    target_dns: &str,
    target_zone: &str,
) -> Result<Change> {
    let build_err = |e: aws_sdk_route53::error::BuildError| Error::Unexpected {
        what: "Route53 change".into(),
        problem: e.to_string(),
        fix: "report this as a bug".into(),
    };
    let alias = AliasTarget::builder()
        .hosted_zone_id(target_zone)
        .dns_name(target_dns)
        .evaluate_target_health(true)
        .build()
        .map_err(build_err)?;
    let record = ResourceRecordSet::builder()
        .name(fqdn(domain))
        .r#type(RrType::A)
        .alias_target(alias)
        .build()
        .map_err(build_err)?;
    Change::builder()
        .action(action)
        .resource_record_set(record)
        .build()
        .map_err(build_err)
}

async fn change(aws: &Aws, zone_id: &str, change: Change, what: &str) -> Result<()> {
    let batch = ChangeBatch::builder()
        .comment(format!("meetctl: {what}"))
        .changes(change)
        .build()
        .map_err(|e| Error::Unexpected {
            what: "Route53 change batch".into(),
            problem: e.to_string(),
            fix: "report this as a bug".into(),
        })?;
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(aws_error("route53:ChangeResourceRecordSets", what))?;
    Ok(())
}

pub async fn upsert_alias(
    aws: &Aws,
    zone_id: &str,
    domain: &str,
    target_dns: &str,
    target_zone: &str,
) -> Result<()> {
    change(
        aws,
        zone_id,
        alias_change(ChangeAction::Upsert, domain, target_dns, target_zone)?,
        &format!("UPSERT {domain}"),
    )
    .await
}

/// Deletes the record exactly as it is (Route53 wants the current values).
pub async fn delete_alias(aws: &Aws, zone_id: &str, record: &AliasRecord) -> Result<()> {
    change(
        aws,
        zone_id,
        alias_change(
            ChangeAction::Delete,
            &record.name,
            &record.target_dns,
            &record.target_zone,
        )?,
        &format!("DELETE {}", record.name),
    )
    .await
}
