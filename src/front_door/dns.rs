//! Where the meeting domain points. `up` UPSERTs its A alias to the NLB
//! (Route53 allows an UPSERT from one alias target to another); with the
//! front door deployed, `down` UPSERTs it back to the front door's custom
//! domain instead of deleting it. Without the front door (never deployed, or
//! destroyed since), an alias left pointing at a front door is deleted: it
//! would dangle.

use super::Deployment;
use crate::aws::route53::{self, AliasRecord};
use crate::error::Result;
use crate::Context;

/// True for an API Gateway custom domain's regional target:
/// `d-<id>.execute-api.<region>.amazonaws.com` (with or without the final dot).
pub fn is_front_door_target(target: &str) -> bool {
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    let Some(rest) = target.strip_prefix("d-") else {
        return false;
    };
    let Some((id, domain)) = rest.split_once('.') else {
        return false;
    };
    let Some(region) = domain.strip_prefix("execute-api.").and_then(|d| {
        d.strip_suffix(".amazonaws.com")
            .or_else(|| d.strip_suffix(".amazonaws.com.cn"))
    }) else {
        return false;
    };
    !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric())
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Where the domain's record points, for `status`.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Pointing {
    FrontDoor,
    /// An alias to something else (the NLB while up).
    Elsewhere(String),
    /// A front-door alias while no front door is deployed.
    DanglingFrontDoor(String),
    NoRecord,
    /// No hosted_zone_id / domain configured: DNS is the user's.
    Unmanaged,
}

pub async fn pointing(ctx: &Context, deployment: Option<&Deployment>) -> Result<Pointing> {
    let (Some(zone), Some(domain)) = (&ctx.config.hosted_zone_id, &ctx.config.domain) else {
        return Ok(Pointing::Unmanaged);
    };
    Ok(match route53::find_alias(&ctx.aws, zone, domain).await? {
        None => Pointing::NoRecord,
        Some(r) => match deployment {
            Some(d)
                if r.target_dns
                    .eq_ignore_ascii_case(d.target_domain_name.trim_end_matches('.')) =>
            {
                Pointing::FrontDoor
            }
            None if is_front_door_target(&r.target_dns) => {
                Pointing::DanglingFrontDoor(r.target_dns)
            }
            _ => Pointing::Elsewhere(r.target_dns),
        },
    })
}

/// Points the domain at the front door (UPSERT of the A alias).
pub async fn point_at_front_door(
    ctx: &Context,
    zone: &str,
    domain: &str,
    d: &Deployment,
) -> Result<()> {
    route53::upsert_alias(
        &ctx.aws,
        zone,
        domain,
        &d.target_domain_name,
        &d.hosted_zone_id,
    )
    .await
}

/// `down` with no alias of ours to the NLB: with the front door deployed,
/// make sure the domain leads to it (a record the user made is left alone);
/// without it, delete an alias that still points at a front door. None when
/// there is nothing to do with the front door either way.
pub async fn settle_idle(ctx: &Context, zone: &str, domain: &str) -> Result<Option<String>> {
    let deployment = super::deployment(ctx).await?;
    let current = route53::find_alias(&ctx.aws, zone, domain).await?;
    match (&deployment, &current) {
        (Some(d), None) => {
            // No alias at all; a plain A or CNAME record of the user's would
            // make the UPSERT fail, which is reported, never overwritten.
            if has_other_record(ctx, zone, domain).await? {
                return Ok(Some(format!(
                    "{domain} has a record meetctl did not make; left alone (the front door is not reachable at it)"
                )));
            }
            point_at_front_door(ctx, zone, domain, d).await?;
            Ok(Some(format!(
                "{domain} → front door {} (alias in {zone})",
                d.target_domain_name
            )))
        }
        (Some(d), Some(r))
            if r.target_dns
                .eq_ignore_ascii_case(d.target_domain_name.trim_end_matches('.')) =>
        {
            Ok(Some(format!(
                "{domain} already → front door {}",
                d.target_domain_name
            )))
        }
        (Some(d), Some(r)) if is_front_door_target(&r.target_dns) => {
            // A front door redeployed under a new target: follow it.
            point_at_front_door(ctx, zone, domain, d).await?;
            Ok(Some(format!(
                "{domain} → front door {} (was {})",
                d.target_domain_name, r.target_dns
            )))
        }
        (None, Some(r)) if is_front_door_target(&r.target_dns) => {
            let gone = route53::delete_alias(&ctx.aws, zone, r).await?;
            Ok(Some(if gone {
                format!(
                    "deleted {} (it pointed at a front door that is no longer deployed)",
                    r.name
                )
            } else {
                format!("{} changed meanwhile; left alone", r.name)
            }))
        }
        _ => Ok(None),
    }
}

async fn has_other_record(ctx: &Context, zone: &str, domain: &str) -> Result<bool> {
    let name = format!("{}.", domain.trim_end_matches('.'));
    let out = ctx
        .aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(&name)
        .max_items(4)
        .send()
        .await
        .map_err(crate::aws::aws_error(
            "route53:ListResourceRecordSets",
            &name,
        ))?;
    Ok(out.resource_record_sets().iter().any(|r| {
        r.name()
            .trim_end_matches('.')
            .eq_ignore_ascii_case(domain.trim_end_matches('.'))
            && matches!(r.r#type().as_str(), "A" | "AAAA" | "CNAME")
    }))
}

/// `down` with our alias to the NLB: switch it to the front door when one is
/// deployed (Some(message)), else None (the caller deletes it as before).
pub async fn replace_alias(
    ctx: &Context,
    zone: &str,
    domain: &str,
    record: &AliasRecord,
) -> Result<Option<String>> {
    let Some(d) = super::deployment(ctx).await? else {
        return Ok(None);
    };
    point_at_front_door(ctx, zone, domain, &d).await?;
    Ok(Some(format!(
        "{} → front door {} (was {})",
        record.name, d.target_domain_name, record.target_dns
    )))
}

#[cfg(test)]
mod tests {
    use super::is_front_door_target;

    #[test]
    fn front_door_targets_are_recognised() {
        assert!(is_front_door_target(
            "d-abc1234567.execute-api.us-east-1.amazonaws.com"
        ));
        assert!(is_front_door_target(
            "D-ABC1234567.execute-api.eu-central-1.amazonaws.com."
        ));
        for other in [
            "jitsi-video-platform-nlb-1.us-east-1.elb.amazonaws.com",
            "d-.execute-api.us-east-1.amazonaws.com",
            "x-abc.execute-api.us-east-1.amazonaws.com",
            "d-abc.execute-api.us-east-1.example.com",
            "abc.cloudfront.net",
        ] {
            assert!(!is_front_door_target(other), "{other}");
        }
    }
}
