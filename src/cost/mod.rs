//! Cost: the price table (`prices`), the model built on it (`model`), its
//! chart (`chart`), and the real bill from Cost Explorer (`actual`).
//!
//! `up`, `down` and `status` use `running_rate`; `meetctl cost` uses the rest.

pub mod actual;
pub mod chart;
pub mod control_plane;
pub mod model;
pub mod prices;

use serde::Serialize;

use crate::aws::ecs::TaskSize;
use crate::config::Config;
use crate::error::Result;

pub use model::{Alternative, Model, Platform, Usage};
pub use prices::{Key, Prices};

#[derive(Clone, Debug, Serialize)]
pub struct RateLine {
    pub item: String,
    pub usd_per_hour: f64,
}

/// What the running platform costs per hour whatever the traffic: the
/// Fargate task (size and architecture of the task definition that runs,
/// Spot per `capacity_provider`), the NLB hour and the public IPv4
/// addresses, at the configured region's prices (with `prices_file`).
/// NLCUs, data out and logs come on top with traffic (`meetctl cost`).
pub fn running_rate(config: &Config, size: &TaskSize) -> Result<Vec<RateLine>> {
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
}
