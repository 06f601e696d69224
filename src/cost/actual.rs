//! The real bill: Cost Explorer `GetCostAndUsage` for one month, filtered by
//! the `Project` cost-allocation tag, next to what the model predicts for the
//! hours that actually ran.

use std::collections::BTreeMap;

use aws_sdk_costexplorer::types::{
    DateInterval, Expression, Granularity, GroupDefinition, GroupDefinitionType, TagValues,
};
use serde::Serialize;
use time::{Date, Month};

use super::model::{self, Model};
use super::prices::{Key, Prices};
use crate::aws::{aws_error, error_code, Aws};
use crate::error::{Error, Result};

/// The cost-allocation tag meetctl and infra/ put on everything they create.
pub const TAG: &str = "Project";

const ACTIVATE_TAG: &str = "activate `Project` as a cost allocation tag (Billing and Cost Management → Cost allocation tags → Project → Activate); AWS applies it from activation on and shows tagged costs within 24 hours. If it is active, nothing tagged for the project ran that month";
const GRANT: &str = "grant this identity ce:GetCostAndUsage (IAM: {\"Effect\": \"Allow\", \"Action\": \"ce:GetCostAndUsage\", \"Resource\": \"*\"}); in an AWS Organizations member account the management account must also let members see their costs";

/// The days of one month that Cost Explorer is asked about.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    /// YYYY-MM.
    pub month: String,
    /// First day, inclusive (YYYY-MM-DD).
    pub start: String,
    /// Last day, exclusive (YYYY-MM-DD): the next month's first day, or tomorrow for the current month.
    pub end: String,
    /// Days covered ÷ days in the month; the model's idle costs are scaled by it.
    pub fraction_of_month: f64,
}

fn month_error(value: &str, problem: &str) -> Error {
    Error::config(
        "--month",
        format!("`{value}` {problem}"),
        "give a past or the current month as YYYY-MM, e.g. --month 2026-10",
    )
}

impl Period {
    /// `month` (YYYY-MM; default: the month of `today`), up to `today` included.
    pub fn new(month: Option<&str>, today: Date) -> Result<Period> {
        let first = match month {
            None => today.replace_day(1).expect("day 1 exists"),
            Some(text) => {
                let (y, m) = text
                    .trim()
                    .split_once('-')
                    .ok_or_else(|| month_error(text, "is not YYYY-MM"))?;
                let year = y
                    .parse::<i32>()
                    .ok()
                    .filter(|year| (2000..=9999).contains(year) && y.len() == 4)
                    .ok_or_else(|| month_error(text, "has no valid year"))?;
                let month = m
                    .parse::<u8>()
                    .ok()
                    .and_then(|m| Month::try_from(m).ok())
                    .filter(|_| m.len() == 2)
                    .ok_or_else(|| month_error(text, "has no month 01-12"))?;
                Date::from_calendar_date(year, month, 1)
                    .map_err(|_| month_error(text, "is not a date"))?
            }
        };
        if first > today {
            return Err(month_error(
                &first.to_string()[..7],
                "is in the future: Cost Explorer has no costs for it yet",
            ));
        }
        let days = first.month().length(first.year());
        let next_month = first
            .replace_day(days)
            .expect("last day exists")
            .next_day()
            .expect("dates do not run out");
        let end = next_month.min(today.next_day().expect("dates do not run out"));
        Ok(Period {
            month: first.to_string()[..7].to_string(),
            start: first.to_string(),
            end: end.to_string(),
            fraction_of_month: (end - first).whole_days() as f64 / f64::from(days),
        })
    }
}

/// One row of the bill: a service and usage type with its cost and usage.
#[derive(Clone, Debug, Serialize)]
pub struct UsageRow {
    pub service: String,
    pub usage_type: String,
    pub usd: f64,
    pub quantity: f64,
    pub unit: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Bill {
    pub rows: Vec<UsageRow>,
    /// Cost Explorer marks figures of a month not yet closed as estimated.
    pub estimated: bool,
    /// Requests (pages) made; Cost Explorer bills each.
    pub requests: u32,
}

/// Asks Cost Explorer for the month's unblended cost and usage tagged
/// `Project=<project>`, grouped by service and usage type (all pages).
pub async fn fetch(aws: &Aws, project: &str, period: &Period) -> Result<Bill> {
    let interval = DateInterval::builder()
        .start(&period.start)
        .end(&period.end)
        .build()
        .map_err(|e| Error::Unexpected {
            what: "Cost Explorer request".into(),
            problem: e.to_string(),
            fix: "report this as a bug".into(),
        })?;
    let filter = Expression::builder()
        .tags(TagValues::builder().key(TAG).values(project).build())
        .build();
    let group = |key: &str| {
        GroupDefinition::builder()
            .r#type(GroupDefinitionType::Dimension)
            .key(key)
            .build()
    };
    let mut bill = Bill {
        rows: Vec::new(),
        estimated: false,
        requests: 0,
    };
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .ce
            .get_cost_and_usage()
            .time_period(interval.clone())
            .granularity(Granularity::Monthly)
            .metrics("UnblendedCost")
            .metrics("UsageQuantity")
            .filter(filter.clone())
            .group_by(group("SERVICE"))
            .group_by(group("USAGE_TYPE"))
            .set_next_page_token(token.take())
            .send()
            .await
            .map_err(|e| match classify(error_code(&e), project, period) {
                Some(err) => err,
                None => aws_error(
                    "ce:GetCostAndUsage",
                    format!("{TAG}={project} {}", period.month),
                )(e),
            })?;
        bill.requests += 1;
        for result in out.results_by_time() {
            bill.estimated |= result.estimated();
            for g in result.groups() {
                let metric = |name: &str| g.metrics().and_then(|m| m.get(name));
                let amount = |name: &str| {
                    metric(name)
                        .and_then(|v| v.amount())
                        .and_then(|a| a.parse::<f64>().ok())
                        .unwrap_or(0.0)
                };
                bill.rows.push(UsageRow {
                    service: g.keys().first().cloned().unwrap_or_default(),
                    usage_type: g.keys().get(1).cloned().unwrap_or_default(),
                    usd: amount("UnblendedCost"),
                    quantity: amount("UsageQuantity"),
                    unit: metric("UsageQuantity")
                        .and_then(|v| v.unit())
                        .unwrap_or_default()
                        .to_string(),
                });
            }
        }
        token = out
            .next_page_token()
            .filter(|t| !t.is_empty())
            .map(String::from);
        if token.is_none() {
            return Ok(bill);
        }
    }
}

/// The errors a user can act on, with what to do.
fn classify(code: Option<&str>, project: &str, period: &Period) -> Option<Error> {
    match code? {
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            Some(Error::preflight("Cost Explorer", format!("not allowed to read costs for {TAG}={project}"), GRANT))
        }
        "DataUnavailableException" => Some(Error::Unexpected {
            what: format!("Cost Explorer data for {}", period.month),
            problem: "Cost Explorer has no data for this account and month (DataUnavailableException)".into(),
            fix: "enable Cost Explorer in the Billing console (the first time takes up to 24 hours), or pick a month after it was enabled".into(),
        }),
        _ => None,
    }
}

/// How many hours the platform ran, from the bill itself.
#[derive(Clone, Debug, Serialize)]
pub struct HoursRun {
    pub hours: f64,
    pub fargate_vcpu_hours: f64,
    pub vcpu_per_task: f64,
    pub method: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceCost {
    pub service: String,
    pub actual_usd: f64,
    pub model_usd: f64,
    pub difference_usd: f64,
}

/// The bill next to the model.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub project: String,
    pub tag: String,
    pub period: Period,
    pub estimated: bool,
    pub hours_run: HoursRun,
    pub services: Vec<ServiceCost>,
    pub actual_total_usd: f64,
    pub model_total_usd: f64,
    pub model_note: String,
    pub rows: Vec<UsageRow>,
    pub cost_explorer_requests: u32,
    /// What this report's requests cost (Cost Explorer bills each API request).
    pub cost_explorer_usd: f64,
}

/// Fargate bills vCPU-hours ("...Fargate-vCPU-Hours:perCPU", with ARM and
/// Spot variants); the task's vCPU count turns them into hours up.
fn is_fargate_vcpu(row: &UsageRow) -> bool {
    row.service == model::service::ECS && row.usage_type.to_ascii_lowercase().contains("vcpu-hours")
}

/// Sets the bill next to the model at the hours the bill shows; a bill with
/// nothing tagged is an error (never a silent zero).
pub fn compare(
    bill: &Bill,
    model: &Model,
    prices: &Prices,
    project: &str,
    period: &Period,
) -> Result<Comparison> {
    if bill.rows.iter().all(|r| r.usd == 0.0 && r.quantity == 0.0) {
        return Err(Error::Unexpected {
            what: format!(
                "the Cost Explorer bill for {TAG}={project} in {}",
                period.month
            ),
            problem: format!(
                "it holds no cost with that tag ({})",
                if bill.rows.is_empty() {
                    "no cost groups"
                } else {
                    "only zeros"
                }
            ),
            fix: ACTIVATE_TAG.into(),
        });
    }
    let vcpu_hours: f64 = bill
        .rows
        .iter()
        .filter(|r| is_fargate_vcpu(r))
        .map(|r| r.quantity)
        .sum();
    let vcpu = model.platform.vcpu;
    let hours = vcpu_hours / vcpu;
    let method = if vcpu_hours > 0.0 {
        format!(
            "{} Fargate vCPU-hours billed ÷ {} vCPU per task (task_cpu) = {} h up",
            model::qty(vcpu_hours),
            model::qty(vcpu),
            model::qty(hours)
        )
    } else {
        "no Fargate vCPU-hours in the bill: the task did not run; the model counts 0 h up"
            .to_string()
    };
    let predicted = model.by_service(hours, period.fraction_of_month);
    let mut actual: BTreeMap<String, f64> = BTreeMap::new();
    for r in &bill.rows {
        *actual.entry(r.service.clone()).or_default() += r.usd;
    }
    let mut names: Vec<String> = actual.keys().cloned().collect();
    names.extend(
        predicted
            .iter()
            .filter(|(s, usd)| **usd > 0.0 && !actual.contains_key(**s))
            .map(|(s, _)| s.to_string()),
    );
    let services: Vec<ServiceCost> = names
        .into_iter()
        .map(|service| {
            let actual_usd = actual.get(&service).copied().unwrap_or(0.0);
            let model_usd = predicted.get(service.as_str()).copied().unwrap_or(0.0);
            ServiceCost {
                service,
                actual_usd,
                model_usd,
                difference_usd: actual_usd - model_usd,
            }
        })
        .collect();
    let u = &model.usage;
    Ok(Comparison {
        project: project.to_string(),
        tag: format!("{TAG}={project}"),
        period: period.clone(),
        estimated: bill.estimated,
        hours_run: HoursRun { hours, fargate_vcpu_hours: vcpu_hours, vcpu_per_task: vcpu, method },
        actual_total_usd: services.iter().map(|s| s.actual_usd).sum(),
        model_total_usd: predicted.values().sum(),
        model_note: format!(
            "model: meetctl at {} h with {} participants at {} Mbit/s, {} GB recordings, {} GB logs kept, {} MB logs/hour; idle costs for {:.0}% of the month",
            model::qty(hours),
            u.participants,
            model::qty(u.bitrate_mbps),
            model::qty(u.s3_gb),
            model::qty(u.log_gb),
            model::qty(u.log_mb_per_hour),
            period.fraction_of_month * 100.0
        ),
        services,
        rows: bill.rows.clone(),
        cost_explorer_requests: bill.requests,
        cost_explorer_usd: f64::from(bill.requests) * prices.usd(Key::CostExplorerRequest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CapacityProvider, CpuArchitecture, Ingress};
    use crate::cost::model::{Platform, Usage};
    use time::macros::date;

    fn us_east_1() -> Prices {
        Prices::for_region("us-east-1").unwrap()
    }

    fn model() -> Model {
        let platform = Platform {
            vcpu: 2.0,
            memory_gb: 4.0,
            architecture: CpuArchitecture::Arm64,
            capacity_provider: CapacityProvider::Fargate,
            ingress: Ingress::Nlb,
            public_ipv4_up: 2,
            public_ipv4_idle: 0,
            hosted_zone: true,
        };
        let usage = Usage {
            participants: 0,
            bitrate_mbps: 0.0,
            s3_gb: 0.0,
            efs_gb: 0.0,
            log_gb: 0.0,
            log_mb_per_hour: 0.0,
        };
        Model::new(&us_east_1(), platform, usage)
    }

    fn row(service: &str, usage_type: &str, usd: f64, quantity: f64) -> UsageRow {
        UsageRow {
            service: service.into(),
            usage_type: usage_type.into(),
            usd,
            quantity,
            unit: "Hrs".into(),
        }
    }

    #[test]
    fn period_of_a_past_and_the_current_month() {
        let p = Period::new(Some("2026-10"), date!(2026 - 11 - 23)).unwrap();
        assert_eq!(
            (p.start.as_str(), p.end.as_str(), p.fraction_of_month),
            ("2026-10-01", "2026-11-01", 1.0)
        );
        let p = Period::new(None, date!(2026 - 11 - 23)).unwrap();
        assert_eq!(
            (p.month.as_str(), p.end.as_str()),
            ("2026-11", "2026-11-24")
        );
        assert!((p.fraction_of_month - 23.0 / 30.0).abs() < 1e-12);
        let p = Period::new(Some("2026-12"), date!(2026 - 12 - 31)).unwrap();
        assert_eq!(p.end, "2027-01-01");
    }

    #[test]
    fn bad_months_are_input_errors() {
        for bad in [
            "2026-13", "2026-1", "26-10", "2026/10", "october", "2027-01",
        ] {
            match Period::new(Some(bad), date!(2026 - 11 - 23)) {
                Err(Error::Config { key, .. }) => assert_eq!(key, "--month", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn hours_come_from_fargate_vcpu_hours_and_services_are_compared() {
        let period = Period::new(Some("2026-10"), date!(2026 - 11 - 23)).unwrap();
        let bill = Bill {
            rows: vec![
                row(
                    model::service::ECS,
                    "USE1-Fargate-ARM-vCPU-Hours:perCPU",
                    0.6476,
                    20.0,
                ),
                row(
                    model::service::ECS,
                    "USE1-Fargate-ARM-GB-Hours",
                    0.1424,
                    40.0,
                ),
                row(model::service::ELB, "USE1-LoadBalancerUsage", 0.225, 10.0),
                row(model::service::ROUTE53, "HostedZone", 0.5, 1.0),
            ],
            estimated: false,
            requests: 1,
        };
        let c = compare(&bill, &model(), &us_east_1(), "demo", &period).unwrap();
        assert_eq!(c.hours_run.hours, 10.0);
        assert_eq!(c.cost_explorer_usd, 0.01);
        let ecs = c
            .services
            .iter()
            .find(|s| s.service == model::service::ECS)
            .unwrap();
        assert!(
            (ecs.actual_usd - 0.79).abs() < 1e-9 && (ecs.model_usd - 0.79).abs() < 1e-9,
            "{ecs:?}"
        );
        // The model expects public IPv4 charges the bill does not show: listed, actual 0.
        let vpc = c
            .services
            .iter()
            .find(|s| s.service == model::service::VPC)
            .unwrap();
        assert!((vpc.model_usd - 0.1).abs() < 1e-9 && vpc.actual_usd == 0.0);
        assert!((c.actual_total_usd - 1.515).abs() < 1e-9);
        assert!((c.model_total_usd - (0.5 + 10.0 * 0.1115)).abs() < 1e-9);
    }

    #[test]
    fn an_empty_bill_is_an_error_naming_the_tag() {
        let period = Period::new(Some("2026-10"), date!(2026 - 11 - 23)).unwrap();
        let err = compare(
            &Bill {
                rows: vec![],
                estimated: false,
                requests: 1,
            },
            &model(),
            &us_east_1(),
            "demo",
            &period,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("Project=demo") && err.contains("cost allocation tag"),
            "{err}"
        );
    }

    #[test]
    fn access_denied_names_the_permission() {
        let period = Period::new(Some("2026-10"), date!(2026 - 11 - 23)).unwrap();
        let err = classify(Some("AccessDeniedException"), "demo", &period).unwrap();
        assert_eq!(err.exit_code(), crate::error::exit::BAD_INPUT);
        assert!(err.to_string().contains("ce:GetCostAndUsage"));
        assert!(classify(Some("DataUnavailableException"), "demo", &period).is_some());
        assert!(classify(Some("ThrottlingException"), "demo", &period).is_none());
    }
}
