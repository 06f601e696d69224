//! The price table: `data/prices.toml` (compiled in), overridden entry by
//! entry by the user's `prices_file`. Every price keeps its source and date.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};

const BUILT_IN: &str = include_str!("../../data/prices.toml");
/// The name of the built-in price file, as prices name where they came from.
pub const BUILT_IN_NAME: &str = "data/prices.toml";

/// What an entry holds: a price in USD or a billing quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holds {
    Usd,
    Quantity,
}

macro_rules! price_keys {
    ($($variant:ident => $name:literal, $holds:ident;)*) => {
        /// Every entry the model reads; the price files may hold no other.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Key { $($variant),* }

        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Key::$variant => $name),* }
            }

            fn holds(self) -> Holds {
                match self { $(Key::$variant => Holds::$holds),* }
            }
        }
    };
}

price_keys! {
    FargateX86VcpuHour => "fargate_x86_vcpu_hour", Usd;
    FargateX86GbHour => "fargate_x86_gb_hour", Usd;
    FargateArmVcpuHour => "fargate_arm_vcpu_hour", Usd;
    FargateArmGbHour => "fargate_arm_gb_hour", Usd;
    FargateSpotX86VcpuHour => "fargate_spot_x86_vcpu_hour", Usd;
    FargateSpotX86GbHour => "fargate_spot_x86_gb_hour", Usd;
    NlbHour => "nlb_hour", Usd;
    NlcuHour => "nlcu_hour", Usd;
    NlcuProcessedGb => "nlcu_processed_gb", Quantity;
    AlbHour => "alb_hour", Usd;
    LcuHour => "lcu_hour", Usd;
    PublicIpv4Hour => "public_ipv4_hour", Usd;
    Route53HostedZoneMonth => "route53_hosted_zone_month", Usd;
    S3GbMonth => "s3_gb_month", Usd;
    EfsStandardGbMonth => "efs_standard_gb_month", Usd;
    CloudwatchLogsGbMonth => "cloudwatch_logs_gb_month", Usd;
    CloudwatchLogsIngestGb => "cloudwatch_logs_ingest_gb", Usd;
    SsmStandardParameterMonth => "ssm_standard_parameter_month", Usd;
    DataOutGb => "data_out_gb", Usd;
    DataOutFreeGbMonth => "data_out_free_gb_month", Quantity;
    CostExplorerRequest => "cost_explorer_request", Usd;
    LambdaRequest => "lambda_request", Usd;
    LambdaX86GbSecond => "lambda_x86_gb_second", Usd;
    LambdaFreeRequestsMonth => "lambda_free_requests_month", Quantity;
    LambdaFreeGbSecondsMonth => "lambda_free_gb_seconds_month", Quantity;
    SchedulerInvocation => "scheduler_invocation", Usd;
    SchedulerFreeInvocationsMonth => "scheduler_free_invocations_month", Quantity;
    CloudwatchApiRequest => "cloudwatch_api_request", Usd;
    CloudwatchFreeApiRequestsMonth => "cloudwatch_free_api_requests_month", Quantity;
    ApiGatewayHttpRequest => "apigateway_http_request", Usd;
    ApiGatewayFreeHttpRequestsMonth => "apigateway_free_http_requests_month", Quantity;
}

fn key_named(name: &str) -> Option<Key> {
    Key::ALL.iter().copied().find(|k| k.name() == name)
}

/// One entry of a price file.
#[derive(Clone, Debug, Serialize)]
pub struct Price {
    pub key: &'static str,
    /// USD, or the quantity for entries that hold one.
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub source: String,
    pub as_of: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The file it came from: data/prices.toml or the user's prices_file.
    pub file: String,
}

/// The complete price table of one region.
#[derive(Clone, Debug)]
pub struct Prices {
    pub region: String,
    table: BTreeMap<Key, Price>,
}

type Regions = BTreeMap<String, BTreeMap<Key, Price>>;

/// Where a problem in a price file is reported: the built-in file is a bug
/// of the build, the user's file is bad input (exit 2).
struct Origin<'a> {
    name: &'a str,
    user: bool,
}

impl Origin<'_> {
    fn error(&self, problem: impl Into<String>, fix: impl Into<String>) -> Error {
        let problem = format!("{}: {}", self.name, problem.into());
        if self.user {
            Error::config("prices_file", problem, fix)
        } else {
            Error::Unexpected {
                what: BUILT_IN_NAME.into(),
                problem,
                fix: fix.into(),
            }
        }
    }
}

impl Prices {
    /// The built-in prices of `region`, without any user override.
    pub fn for_region(region: &str) -> Result<Prices> {
        Self::resolve(region, None)
    }

    /// The prices `config` asks for: its region, with its `prices_file` applied.
    pub fn for_config(config: &Config) -> Result<Prices> {
        Self::resolve(&config.region, config.prices_file.as_deref())
    }

    fn resolve(region: &str, user_file: Option<&Path>) -> Result<Prices> {
        let mut regions = parse(
            BUILT_IN,
            &Origin {
                name: BUILT_IN_NAME,
                user: false,
            },
        )?;
        if let Some(path) = user_file {
            let name = path.display().to_string();
            let origin = Origin {
                name: &name,
                user: true,
            };
            let text = std::fs::read_to_string(path).map_err(|e| {
                origin.error(
                    format!("cannot read: {e}"),
                    "check the path and permissions of prices_file",
                )
            })?;
            for (region, entries) in parse(&text, &origin)? {
                regions.entry(region).or_default().extend(entries);
            }
        }
        let known: Vec<String> = regions.keys().cloned().collect();
        let table = regions.remove(region).ok_or_else(|| {
            Error::config(
                "region",
                format!("no prices for {region} (prices exist for: {})", known.join(", ")),
                format!("use one of those regions, or add [regions.{region}] with every entry of {BUILT_IN_NAME} to a prices_file"),
            )
        })?;
        let missing: Vec<&str> = Key::ALL
            .iter()
            .filter(|k| !table.contains_key(k))
            .map(|k| k.name())
            .collect();
        if !missing.is_empty() {
            return Err(Error::config(
                "prices_file",
                format!("[regions.{region}] lacks {}", missing.join(", ")),
                format!("give every entry of {BUILT_IN_NAME} for {region}, each with its source and date"),
            ));
        }
        Ok(Prices {
            region: region.to_string(),
            table,
        })
    }

    fn entry(&self, key: Key) -> &Price {
        // resolve() refuses a table that lacks any key.
        &self.table[&key]
    }

    /// A price in USD.
    pub fn usd(&self, key: Key) -> f64 {
        debug_assert_eq!(key.holds(), Holds::Usd);
        self.entry(key).value
    }

    /// A billing quantity (e.g. GB of free data out per month).
    pub fn quantity(&self, key: Key) -> f64 {
        debug_assert_eq!(key.holds(), Holds::Quantity);
        self.entry(key).value
    }

    /// Every entry, in key order, with source, date and file.
    pub fn entries(&self) -> impl Iterator<Item = &Price> {
        self.table.values()
    }

    /// The distinct `as_of` dates of the built-in prices in use, oldest first.
    pub fn dates(&self) -> Vec<String> {
        let mut dates: Vec<String> = self
            .table
            .values()
            .filter(|p| p.file == BUILT_IN_NAME)
            .map(|p| p.as_of.clone())
            .collect();
        dates.sort();
        dates.dedup();
        dates
    }

    /// Entries that the user's prices_file replaced.
    pub fn overridden(&self) -> Vec<&Price> {
        self.table
            .values()
            .filter(|p| p.file != BUILT_IN_NAME)
            .collect()
    }
}

fn parse(text: &str, origin: &Origin) -> Result<Regions> {
    let shape = "write [regions.<region>] tables of entries like nlb_hour = { usd = 0.0225, source = \"https://...\", as_of = \"2026-11-01\" }";
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        origin.error(format!("not valid TOML: {}", e.message().trim()), shape)
    })?;
    let mut regions = Regions::new();
    for (top, value) in doc {
        let (true, toml::Value::Table(table)) = (top == "regions", value) else {
            return Err(origin.error(format!("unexpected top-level `{top}`"), shape));
        };
        for (region, entries) in table {
            let toml::Value::Table(entries) = entries else {
                return Err(origin.error(format!("regions.{region} is not a table"), shape));
            };
            let mut parsed = BTreeMap::new();
            for (name, value) in entries {
                let key = key_named(&name).ok_or_else(|| {
                    let names: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
                    origin.error(
                        format!("unknown entry `{name}` in [regions.{region}]"),
                        format!("use one of: {}", names.join(", ")),
                    )
                })?;
                parsed.insert(key, entry(key, &region, value, origin)?);
            }
            regions.insert(region, parsed);
        }
    }
    Ok(regions)
}

fn entry(key: Key, region: &str, value: toml::Value, origin: &Origin) -> Result<Price> {
    let at = format!("regions.{region}.{}", key.name());
    let field = match key.holds() {
        Holds::Usd => "usd",
        Holds::Quantity => "quantity",
    };
    let fix = format!(
        "write {} = {{ {field} = <number>, source = \"<page>\", as_of = \"YYYY-MM-DD\" }}",
        key.name()
    );
    let number = |v: &toml::Value| match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    };
    let checked = |v: Option<f64>| match v {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        Some(n) => Err(origin.error(
            format!("{at} is {n}; prices and quantities cannot be negative"),
            fix.clone(),
        )),
        None => Err(origin.error(format!("{at}.{field} is not a number"), fix.clone())),
    };
    let mut price = Price {
        key: key.name(),
        value: 0.0,
        unit: None,
        source: String::new(),
        as_of: String::new(),
        note: None,
        file: origin.name.to_string(),
    };
    match value {
        // A bare number: only in the user's file, where the file is the source.
        v @ (toml::Value::Float(_) | toml::Value::Integer(_)) if origin.user => {
            price.value = checked(number(&v))?;
            price.source = "no source given".into();
            price.as_of = "undated".into();
        }
        toml::Value::Table(mut t) => {
            price.value = checked(t.remove(field).as_ref().and_then(number))?;
            let mut text = |name: &str, required: bool| -> Result<Option<String>> {
                match t.remove(name) {
                    Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s)),
                    None if !required => Ok(None),
                    _ => Err(origin.error(
                        format!("{at}.{name} is missing or not a string"),
                        fix.clone(),
                    )),
                }
            };
            price.source = text("source", true)?.unwrap_or_default();
            price.as_of = text("as_of", true)?.unwrap_or_default();
            price.note = text("note", false)?;
            price.unit = text("unit", key.holds() == Holds::Quantity)?;
            if let Some(extra) = t.keys().next() {
                return Err(origin.error(format!("{at} has an unknown field `{extra}`"), fix));
            }
        }
        other => return Err(origin.error(format!("{at} is {other}, not an entry"), fix)),
    }
    Ok(price)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_user_file(text: &str, region: &str) -> Result<Prices> {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        Prices::resolve(region, Some(f.path()))
    }

    fn config_problem(r: Result<Prices>) -> (String, String) {
        match r {
            Err(Error::Config { key, problem, .. }) => (key, problem),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn built_in_file_is_complete_and_sourced() {
        let p = Prices::for_region("us-east-1").unwrap();
        assert_eq!(p.entries().count(), Key::ALL.len());
        for e in p.entries() {
            assert!(e.source.starts_with("https://aws.amazon.com/"), "{e:?}");
            assert_eq!(e.as_of.len(), 10, "{e:?}");
        }
        assert_eq!(p.usd(Key::FargateArmVcpuHour), 0.03238);
        assert_eq!(p.quantity(Key::DataOutFreeGbMonth), 100.0);
        assert!(p.overridden().is_empty());
    }

    #[test]
    fn user_file_overrides_entry_by_entry() {
        let text = "[regions.us-east-1]\nnlb_hour = 0.03\nnlcu_hour = { usd = 0.007, source = \"quote 42\", as_of = \"2026-12-01\" }\n";
        let p = with_user_file(text, "us-east-1").unwrap();
        assert_eq!(p.usd(Key::NlbHour), 0.03);
        assert_eq!(p.usd(Key::NlcuHour), 0.007);
        assert_eq!(p.usd(Key::AlbHour), 0.0225);
        assert_eq!(p.overridden().len(), 2);
        assert_eq!(p.dates(), vec!["2026-11-01", "2026-12-06"]);
        let bare = &p.overridden()[0];
        assert_eq!(
            (bare.source.as_str(), bare.as_of.as_str()),
            ("no source given", "undated")
        );
    }

    #[test]
    fn every_built_in_region_is_complete_sourced_and_dated() {
        let regions = parse(
            BUILT_IN,
            &Origin {
                name: BUILT_IN_NAME,
                user: false,
            },
        )
        .unwrap();
        let names: Vec<&str> = regions.keys().map(String::as_str).collect();
        for region in [
            "us-east-1",
            "us-east-2",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "ap-southeast-2",
        ] {
            assert!(names.contains(&region), "{region} missing from {names:?}");
        }
        for region in names {
            let p = Prices::for_region(region).unwrap();
            assert_eq!(p.entries().count(), Key::ALL.len(), "{region}");
            for e in p.entries() {
                assert!(e.source.starts_with("https://aws.amazon.com/"), "{e:?}");
                assert_eq!(e.as_of.len(), 10, "{e:?}");
            }
            assert!(p.usd(Key::EfsStandardGbMonth) > 0.0, "{region}");
            // Spot is modelled as 70% off this region's own on-demand price.
            let spot = p.usd(Key::FargateSpotX86VcpuHour) / p.usd(Key::FargateX86VcpuHour);
            assert!((spot - 0.3).abs() < 1e-6, "{region}: {spot}");
        }
        assert_eq!(
            Prices::for_region("eu-central-1")
                .unwrap()
                .usd(Key::FargateX86VcpuHour),
            0.04656
        );
    }

    #[test]
    fn unknown_region_is_a_region_error() {
        assert_eq!(config_problem(Prices::for_region("eu-west-3")).0, "region");
    }

    #[test]
    fn partial_new_region_names_what_is_missing() {
        let (key, problem) = config_problem(with_user_file(
            "[regions.eu-west-3]\nnlb_hour = 0.0252\n",
            "eu-west-3",
        ));
        assert_eq!(key, "prices_file");
        assert!(problem.contains("fargate_arm_vcpu_hour"), "{problem}");
    }

    #[test]
    fn malformed_user_files_are_config_errors() {
        for bad in [
            "[regions.us-east-1\nnlb_hour = 1",
            "[regions.us-east-1]\nnlb_hours = 0.02",
            "[regions.us-east-1]\nnlb_hour = -0.02",
            "[regions.us-east-1]\nnlb_hour = \"cheap\"",
            "[regions.us-east-1]\nnlb_hour = { usd = 0.02 }",
            "[regions.us-east-1]\nnlb_hour = { usd = 0.02, source = \"x\", as_of = \"y\", colour = \"red\" }",
            "[prices]\nnlb_hour = 0.02",
        ] {
            let (key, problem) = config_problem(with_user_file(bad, "us-east-1"));
            assert_eq!(key, "prices_file", "{bad}");
            assert!(!problem.is_empty());
        }
    }
}
