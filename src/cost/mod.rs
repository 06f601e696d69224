//! Cost: the price table (`prices`), the model built on it (`model`), its
//! chart (`chart`), and the real bill from Cost Explorer (`actual`).
//!
//! `up`, `down`, `status` and `test-platform` use `running_rate`; `meetctl
//! cost` uses the rest.

pub mod actual;
pub mod chart;
pub mod control_plane;
pub mod front_door;
pub mod model;
pub mod prices;

use serde::Serialize;

use crate::aws::ecs::TaskSize;
use crate::config::Config;
use crate::error::Error;

pub use model::{Alternative, Model, Platform, Usage};
pub use prices::{Key, Prices};

#[derive(Clone, Debug, Serialize)]
pub struct RateLine {
    pub item: String,
    pub usd_per_hour: f64,
}

/// Why a lifecycle command shows "price unknown" instead of a rate: the
/// region has no prices, or the prices_file is unusable. A price is a
/// courtesy of `up`, `down`, `status` and `test-platform`, never a reason for
/// them to fail; only `meetctl cost` fails on it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceUnknown {
    pub problem: String,
    pub fix: String,
}

impl std::fmt::Display for PriceUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "price unknown ({}); fix: {}", self.problem, self.fix)
    }
}

impl From<Error> for PriceUnknown {
    fn from(e: Error) -> Self {
        match e {
            Error::Config { problem, fix, .. } | Error::Unexpected { problem, fix, .. } => {
                PriceUnknown { problem, fix }
            }
            other => PriceUnknown {
                problem: other.to_string(),
                fix: "set prices_file to a TOML file shaped like data/prices.toml".into(),
            },
        }
    }
}

/// What the running platform costs per hour whatever the traffic: the
/// Fargate task (size and architecture of the task definition that runs,
/// Spot per `capacity_provider`), the NLB hour and the public IPv4
/// addresses, at the configured region's prices (with `prices_file`).
/// NLCUs, data out and logs come on top with traffic (`meetctl cost`).
pub fn running_rate(config: &Config, size: &TaskSize) -> Result<Vec<RateLine>, PriceUnknown> {
    let prices = Prices::for_config(config)?;
    let platform = Platform::from_config(config).with_task(size);
    Ok(model::running_lines(&prices, &platform)
        .into_iter()
        .map(|l| RateLine {
            item: format!("{} ({})", l.item, l.basis),
            usd_per_hour: l.usd,
        })
        .collect())
}

pub fn total(lines: &[RateLine]) -> f64 {
    lines.iter().map(|l| l.usd_per_hour).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FlagValues, Inputs};

    fn config(flags: &[(&str, &str)]) -> Config {
        let mut f = FlagValues::default();
        for (k, v) in flags {
            f.set(k, *v);
        }
        Config::load(&Inputs {
            flags: f,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn running_rate_uses_the_running_task_and_the_configured_prices() {
        let arm = TaskSize {
            vcpu: 2.0,
            memory_gb: 4.0,
            arm64: true,
        };
        let lines = running_rate(&config(&[]), &arm).unwrap();
        assert!((total(&lines) - 0.1115).abs() < 1e-9, "{lines:?}");
        assert!(lines[0].item.contains("ARM64"), "{lines:?}");
        let x86 = TaskSize {
            vcpu: 4.0,
            memory_gb: 8.0,
            arm64: false,
        };
        let spot = config(&[
            ("cpu_architecture", "X86_64"),
            ("capacity_provider", "FARGATE_SPOT"),
        ]);
        let lines = running_rate(&spot, &x86).unwrap();
        assert!(lines[0].item.contains("Spot"), "{lines:?}");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "[regions.us-east-1]\nnlb_hour = 0.1\n").unwrap();
        let lines = running_rate(
            &config(&[("prices_file", file.path().to_str().unwrap())]),
            &arm,
        )
        .unwrap();
        assert!(
            (total(&lines) - (0.1115 - 0.0225 + 0.1)).abs() < 1e-9,
            "{lines:?}"
        );
    }

    #[test]
    fn a_region_without_prices_is_a_price_unknown_with_the_fix() {
        let size = TaskSize {
            vcpu: 2.0,
            memory_gb: 4.0,
            arm64: true,
        };
        let unknown = running_rate(&config(&[("region", "eu-west-3")]), &size).unwrap_err();
        assert!(
            unknown.problem.contains("no prices for eu-west-3"),
            "{unknown}"
        );
        assert!(
            unknown.fix.contains("[regions.eu-west-3]") && unknown.fix.contains("prices_file"),
            "{unknown}"
        );
        assert!(unknown.to_string().starts_with("price unknown"));
        for region in [
            "us-east-2",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "ap-southeast-2",
        ] {
            let lines = running_rate(&config(&[("region", region)]), &size).unwrap();
            assert!(total(&lines) > 0.1, "{region}: {lines:?}");
        }
    }
}
