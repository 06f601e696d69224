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

/// The A record set for the domain exactly as Route53 holds it, if any.
async fn find_a_record(
    aws: &Aws,
    zone_id: &str,
    domain: &str,
) -> Result<Option<ResourceRecordSet>> {
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
        .cloned())
}

fn to_alias(name: &str, record: &ResourceRecordSet) -> Option<AliasRecord> {
    record.alias_target().map(|a| AliasRecord {
        name: fqdn(name),
        target_dns: a.dns_name().trim_end_matches('.').to_string(),
        target_zone: a.hosted_zone_id().to_string(),
    })
}

/// The A alias record for the domain, if any.
pub async fn find_alias(aws: &Aws, zone_id: &str, domain: &str) -> Result<Option<AliasRecord>> {
    Ok(find_a_record(aws, zone_id, domain)
        .await?
        .and_then(|r| to_alias(domain, &r)))
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

/// Deletes the alias `record` if it is still there and still points where
/// it did. The DELETE carries the record set exactly as just read (alias
/// target, EvaluateTargetHealth, any routing fields): Route53 rejects a DELETE
/// whose values differ from the current ones with InvalidChangeBatch
/// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html:
/// "To delete a resource record set, you must specify all the same values
/// that you specified when you created it"). Returns false when there was
/// nothing (left) to delete.
pub async fn delete_alias(aws: &Aws, zone_id: &str, record: &AliasRecord) -> Result<bool> {
    let Some(current) = find_a_record(aws, zone_id, &record.name).await? else {
        return Ok(false);
    };
    let unchanged = to_alias(&record.name, &current).is_some_and(|now| {
        now.target_dns.eq_ignore_ascii_case(&record.target_dns)
            && now.target_zone == record.target_zone
    });
    if !unchanged {
        return Ok(false);
    }
    let delete = Change::builder()
        .action(ChangeAction::Delete)
        .resource_record_set(current)
        .build()
        .map_err(|e| Error::Unexpected {
            what: "Route53 change".into(),
            problem: e.to_string(),
            fix: "report this as a bug".into(),
        })?;
    change(aws, zone_id, delete, &format!("DELETE {}", record.name)).await?;
    Ok(true)
}
