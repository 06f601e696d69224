//! The cost model: what the platform costs while idle (per month), while up
//! (per hour), and per month at a number of hours up, next to the
//! alternatives it replaces. Every figure comes from `Prices`; this module
//! holds no price.

use std::collections::BTreeMap;

use serde::Serialize;

use super::prices::{Key, Prices};
use crate::aws::ecs::TaskSize;
use crate::config::{CapacityProvider, Config, CpuArchitecture, Ingress};

/// AWS prices a month as 730 hours (365 × 24 / 12); so does the model.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// Service names as Cost Explorer reports them, to set the model next to the bill.
pub mod service {
    pub const ECS: &str = "Amazon Elastic Container Service";
    pub const ELB: &str = "Amazon Elastic Load Balancing";
    pub const VPC: &str = "Amazon Virtual Private Cloud";
    pub const ROUTE53: &str = "Amazon Route 53";
    pub const S3: &str = "Amazon Simple Storage Service";
    pub const EFS: &str = "Amazon Elastic File System";
    pub const CLOUDWATCH: &str = "AmazonCloudWatch";
    pub const SSM: &str = "AWS Systems Manager";
    pub const DATA_TRANSFER: &str = "AWS Data Transfer";
}

/// The platform's shape, from the same configuration `up` uses.
#[derive(Clone, Debug, Serialize)]
pub struct Platform {
    pub vcpu: f64,
    pub memory_gb: f64,
    pub architecture: CpuArchitecture,
    pub capacity_provider: CapacityProvider,
    pub ingress: Ingress,
    /// Public IPv4 addresses while up: the NLB's Elastic IP and the task's own
    /// (infra/ gives the task a public IP to pull its images).
    pub public_ipv4_up: u32,
    /// Public IPv4 addresses left allocated while idle (`down` releases the Elastic IP).
    pub public_ipv4_idle: u32,
    /// Whether a Route53 hosted zone is counted (`hosted_zone_id` is set).
    pub hosted_zone: bool,
}

impl Platform {
    pub fn from_config(config: &Config) -> Platform {
        // Both modes run the same NLB with an EIP, plus the task's own address.
        let (public_ipv4_up, public_ipv4_idle) = match config.ingress {
            Ingress::Nlb | Ingress::Terraform => (2, 0),
        };
        Platform {
            vcpu: f64::from(config.task.cpu) / 1024.0,
            memory_gb: f64::from(config.task.memory) / 1024.0,
            architecture: config.task.architecture,
            capacity_provider: config.task.capacity_provider,
            ingress: config.ingress,
            public_ipv4_up,
            public_ipv4_idle,
            hosted_zone: config.hosted_zone_id.is_some(),
        }
    }

    /// The same platform with the size of the task definition that actually runs.
    pub fn with_task(mut self, size: &TaskSize) -> Platform {
        self.vcpu = size.vcpu;
        self.memory_gb = size.memory_gb;
        self.architecture = if size.arm64 {
            CpuArchitecture::Arm64
        } else {
            CpuArchitecture::X86_64
        };
        self
    }

    /// Fargate Spot runs only x86_64 tasks; anything else bills on-demand.
    fn spot(&self) -> bool {
        self.capacity_provider == CapacityProvider::FargateSpot
            && self.architecture == CpuArchitecture::X86_64
    }

    fn arch_name(&self) -> &'static str {
        match self.architecture {
            CpuArchitecture::Arm64 => "ARM64",
            CpuArchitecture::X86_64 => "X86_64",
        }
    }
}

/// What a meeting uses; stated with every figure that depends on it.
#[derive(Clone, Debug, Serialize)]
pub struct Usage {
    /// People in a meeting at once.
    pub participants: u32,
    /// Video each participant receives, and sends, in Mbit/s.
    pub bitrate_mbps: f64,
    /// Recordings kept in S3.
    pub s3_gb: f64,
    /// Prosody's data kept on EFS (accounts, rosters; infra/efs.tf).
    pub efs_gb: f64,
    /// Logs kept in CloudWatch Logs.
    pub log_gb: f64,
    /// Logs written while up.
    pub log_mb_per_hour: f64,
}

impl Usage {
    /// GB (10^9 bytes) one participant receives in an hour at the stated bitrate.
    pub fn gb_per_participant_hour(&self) -> f64 {
        self.bitrate_mbps * 1e6 * 3600.0 / 8.0 / 1e9
    }
}

/// One resource's cost: per month in `idle`, per hour in `running`/`traffic`.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub item: String,
    /// How the figure is computed, with the prices used.
    pub basis: String,
    pub usd: f64,
    /// The Cost Explorer service that bills it.
    pub service: &'static str,
}

fn line(
    item: impl Into<String>,
    basis: impl Into<String>,
    usd: f64,
    service: &'static str,
) -> Line {
    Line {
        item: item.into(),
        basis: basis.into(),
        usd,
        service,
    }
}

/// One of something billed by the hour at the price `key`.
fn hourly(prices: &Prices, item: &str, key: Key, note: &str, service: &'static str) -> Line {
    let usd = prices.usd(key);
    line(item, format!("1 × {}/h{note}", price(usd)), usd, service)
}

pub fn sum(lines: &[Line]) -> f64 {
    lines.iter().map(|l| l.usd).sum()
}

/// A price for display: as many decimals as it has, at least two.
pub fn price(usd: f64) -> String {
    let s = format!("{usd:.7}");
    let trimmed = s.trim_end_matches('0');
    let decimals = trimmed.split('.').nth(1).map_or(0, str::len);
    if decimals < 2 {
        format!("${usd:.2}")
    } else {
        format!("${trimmed}")
    }
}

/// A quantity for display without needless decimals.
pub fn qty(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What runs while the platform is up and bills by the hour, whatever the traffic.
pub fn running_lines(prices: &Prices, p: &Platform) -> Vec<Line> {
    let arch = p.arch_name();
    let (vcpu_key, gb_key, kind) = match (p.spot(), p.architecture) {
        (true, _) => (
            Key::FargateSpotX86VcpuHour,
            Key::FargateSpotX86GbHour,
            "Fargate Spot",
        ),
        (false, CpuArchitecture::Arm64) => {
            (Key::FargateArmVcpuHour, Key::FargateArmGbHour, "Fargate")
        }
        (false, CpuArchitecture::X86_64) => {
            (Key::FargateX86VcpuHour, Key::FargateX86GbHour, "Fargate")
        }
    };
    let (vcpu, gb) = (prices.usd(vcpu_key), prices.usd(gb_key));
    let ipv4 = prices.usd(Key::PublicIpv4Hour);
    let mut lines = vec![
        line(
            format!("{kind} vCPU, {arch}"),
            format!("{} vCPU × {}/vCPU-h", qty(p.vcpu), price(vcpu)),
            p.vcpu * vcpu,
            service::ECS,
        ),
        line(
            format!("{kind} memory, {arch}"),
            format!("{} GB × {}/GB-h", qty(p.memory_gb), price(gb)),
            p.memory_gb * gb,
            service::ECS,
        ),
    ];
    match p.ingress {
        Ingress::Nlb | Ingress::Terraform => {
            lines.push(hourly(
                prices,
                "Network Load Balancer",
                Key::NlbHour,
                " (NLCUs under traffic)",
                service::ELB,
            ));
            // ELB pricing bills the load balancer-hour and NLCUs, never a
            // listener: the TURN listener is free in itself. Relayed media
            // counts in the NLCU estimate like UDP media (1 GB processed per
            // NLCU); a meeting stays far below a TLS NLCU's 50 new / 3,000
            // active connections.
            lines.push(line(
                "TURN listener (TLS 5349)",
                "no charge of its own; relayed media is in the NLCU estimate",
                0.0,
                service::ELB,
            ));
        }
    }
    lines.push(line(
        "Public IPv4 addresses",
        format!(
            "{} × {}/h (the NLB's Elastic IP, the task's own)",
            p.public_ipv4_up,
            price(ipv4)
        ),
        f64::from(p.public_ipv4_up) * ipv4,
        service::VPC,
    ));
    lines
}

/// Alternatives to compare with, in the order they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    Meetctl,
    AlwaysOn,
    KeepLoadBalancer,
    ExpressMode,
}

impl Alternative {
    pub const ALL: [Alternative; 4] = [
        Alternative::Meetctl,
        Alternative::AlwaysOn,
        Alternative::KeepLoadBalancer,
        Alternative::ExpressMode,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Alternative::Meetctl => "meetctl",
            Alternative::AlwaysOn => "always_on",
            Alternative::KeepLoadBalancer => "keep_load_balancer",
            Alternative::ExpressMode => "express_mode",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Alternative::Meetctl => "meetctl (on-demand NLB)",
            Alternative::AlwaysOn => "always-on",
            Alternative::KeepLoadBalancer => "scale-to-zero, NLB kept",
            Alternative::ExpressMode => "ECS Express Mode",
        }
    }
}

/// How one alternative bills: what runs all month, what runs only while up.
#[derive(Clone, Debug, Serialize)]
pub struct Shape {
    pub alternative: Alternative,
    pub label: &'static str,
    pub description: &'static str,
    /// Per hour, billed all 730 hours of the month.
    pub all_month: Vec<Line>,
    /// Per hour, billed only while up.
    pub while_up: Vec<Line>,
}

/// Monthly cost of every alternative at one number of hours up.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub hours: f64,
    /// USD per month, keyed by alternative.
    pub usd: BTreeMap<&'static str, f64>,
}

/// Where an alternative becomes as cheap as meetctl.
#[derive(Clone, Debug, Serialize)]
pub struct BreakEven {
    pub alternative: Alternative,
    pub label: &'static str,
    /// Hours up per month at which both cost the same; None: never.
    pub hours: Option<f64>,
    pub explanation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DataOut {
    pub gb_per_participant_hour: f64,
    pub usd_per_participant_hour: f64,
    pub free_gb_per_month: f64,
    pub usd_per_gb: f64,
}

/// The whole model for one configuration and one usage.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub region: String,
    pub platform: Platform,
    pub usage: Usage,
    /// USD per month while nobody meets.
    pub idle: Vec<Line>,
    /// USD per hour while up, whatever the traffic.
    pub running: Vec<Line>,
    /// USD per hour while up that depend on the usage (data out before its free allowance).
    pub traffic: Vec<Line>,
    pub data_out: DataOut,
    pub alternatives: Vec<Shape>,
}

impl Model {
    pub fn new(prices: &Prices, platform: Platform, usage: Usage) -> Model {
        let ipv4 = prices.usd(Key::PublicIpv4Hour);
        let zone = prices.usd(Key::Route53HostedZoneMonth);
        let stored = |item: &str, gb: f64, key: Key, service: &'static str| {
            let usd = prices.usd(key);
            line(
                item,
                format!("{} GB × {}/GB-month", qty(gb), price(usd)),
                gb * usd,
                service,
            )
        };
        let idle = vec![
            if platform.hosted_zone {
                line(
                    "Route53 hosted zone",
                    format!("1 × {}/month", price(zone)),
                    zone,
                    service::ROUTE53,
                )
            } else {
                line(
                    "Route53 hosted zone",
                    "not counted: no hosted_zone_id (DNS is yours)",
                    0.0,
                    service::ROUTE53,
                )
            },
            stored("S3 recordings", usage.s3_gb, Key::S3GbMonth, service::S3),
            stored(
                "EFS Prosody data",
                usage.efs_gb,
                Key::EfsStandardGbMonth,
                service::EFS,
            ),
            stored(
                "CloudWatch Logs storage",
                usage.log_gb,
                Key::CloudwatchLogsGbMonth,
                service::CLOUDWATCH,
            ),
            line(
                "SSM parameters (standard)",
                format!(
                    "{}/parameter-month",
                    price(prices.usd(Key::SsmStandardParameterMonth))
                ),
                0.0,
                service::SSM,
            ),
            line(
                "Public IPv4 left allocated",
                format!(
                    "{} × {}/h × {} h (`down` releases the Elastic IP)",
                    platform.public_ipv4_idle,
                    price(ipv4),
                    HOURS_PER_MONTH
                ),
                f64::from(platform.public_ipv4_idle) * ipv4 * HOURS_PER_MONTH,
                service::VPC,
            ),
        ];
        let running = running_lines(prices, &platform);
        let gb_pph = usage.gb_per_participant_hour();
        let people = f64::from(usage.participants);
        // Media crosses the NLB both ways: each participant sends about what it receives.
        let processed = 2.0 * people * gb_pph;
        let nlcu = processed / prices.quantity(Key::NlcuProcessedGb);
        let traffic = vec![
            line(
                "NLB capacity units (estimate)",
                format!(
                    "{} participants × {} Mbit/s × 2 directions = {} GB/h ÷ {} GB per NLCU × {}",
                    usage.participants,
                    qty(usage.bitrate_mbps),
                    qty(processed),
                    qty(prices.quantity(Key::NlcuProcessedGb)),
                    price(prices.usd(Key::NlcuHour))
                ),
                nlcu * prices.usd(Key::NlcuHour),
                service::ELB,
            ),
            line(
                "CloudWatch Logs ingestion",
                format!(
                    "{} MB/h × {}/GB",
                    qty(usage.log_mb_per_hour),
                    price(prices.usd(Key::CloudwatchLogsIngestGb))
                ),
                usage.log_mb_per_hour / 1000.0 * prices.usd(Key::CloudwatchLogsIngestGb),
                service::CLOUDWATCH,
            ),
            line(
                "Data out to the internet",
                format!(
                    "{} participants × {} GB/participant-hour × {}/GB, first {} GB/month free",
                    usage.participants,
                    qty(gb_pph),
                    price(prices.usd(Key::DataOutGb)),
                    qty(prices.quantity(Key::DataOutFreeGbMonth))
                ),
                people * gb_pph * prices.usd(Key::DataOutGb),
                service::DATA_TRANSFER,
            ),
        ];
        let data_out = DataOut {
            gb_per_participant_hour: gb_pph,
            usd_per_participant_hour: gb_pph * prices.usd(Key::DataOutGb),
            free_gb_per_month: prices.quantity(Key::DataOutFreeGbMonth),
            usd_per_gb: prices.usd(Key::DataOutGb),
        };
        let alternatives = shapes(prices, &running);
        Model {
            region: prices.region.clone(),
            platform,
            usage,
            idle,
            running,
            traffic,
            data_out,
            alternatives,
        }
    }

    pub fn idle_month(&self) -> f64 {
        sum(&self.idle)
    }

    pub fn running_hour(&self) -> f64 {
        sum(&self.running)
    }

    /// Usage-dependent cost of `hours` up in a month, with the free data-out allowance.
    pub fn traffic_month(&self, hours: f64) -> f64 {
        let hourly: f64 = self
            .traffic
            .iter()
            .filter(|l| l.service != service::DATA_TRANSFER)
            .map(|l| l.usd)
            .sum();
        hours * hourly + self.data_out_month(hours)
    }

    /// Data out billed for `hours` up in a month, after the free allowance.
    pub fn data_out_month(&self, hours: f64) -> f64 {
        let gb = hours * f64::from(self.usage.participants) * self.data_out.gb_per_participant_hour;
        (gb - self.data_out.free_gb_per_month).max(0.0) * self.data_out.usd_per_gb
    }

    /// meetctl's cost for `hours` up, per Cost Explorer service, with the
    /// idle costs scaled by `idle_fraction` (the part of the month covered).
    pub fn by_service(&self, hours: f64, idle_fraction: f64) -> BTreeMap<&'static str, f64> {
        let mut out: BTreeMap<&'static str, f64> = BTreeMap::new();
        let hourly = self.running.iter().chain(
            self.traffic
                .iter()
                .filter(|l| l.service != service::DATA_TRANSFER),
        );
        for (service, usd) in self
            .idle
            .iter()
            .map(|l| (l.service, l.usd * idle_fraction))
            .chain(hourly.map(|l| (l.service, l.usd * hours)))
        {
            *out.entry(service).or_default() += usd;
        }
        *out.entry(service::DATA_TRANSFER).or_default() += self.data_out_month(hours);
        out
    }

    pub fn shape(&self, alternative: Alternative) -> &Shape {
        self.alternatives
            .iter()
            .find(|s| s.alternative == alternative)
            .expect("every alternative has a shape")
    }

    /// USD for a month with `hours` up (idle costs and traffic included).
    pub fn monthly(&self, alternative: Alternative, hours: f64) -> f64 {
        let s = self.shape(alternative);
        self.idle_month()
            + HOURS_PER_MONTH * sum(&s.all_month)
            + hours * sum(&s.while_up)
            + self.traffic_month(hours)
    }

    pub fn scenarios(&self, hours: &[f64]) -> Vec<Scenario> {
        hours
            .iter()
            .map(|&h| Scenario {
                hours: h,
                usd: Alternative::ALL
                    .iter()
                    .map(|&a| (a.key(), self.monthly(a, h)))
                    .collect(),
            })
            .collect()
    }

    /// Hours up per month at which each alternative costs what meetctl costs.
    /// Idle and traffic costs are the same for all, so only the hourly and
    /// all-month parts decide.
    pub fn break_even(&self) -> Vec<BreakEven> {
        let me = self.shape(Alternative::Meetctl);
        let (my_fixed, my_rate) = (HOURS_PER_MONTH * sum(&me.all_month), sum(&me.while_up));
        Alternative::ALL[1..]
            .iter()
            .map(|&a| {
                let s = self.shape(a);
                let extra_fixed = HOURS_PER_MONTH * sum(&s.all_month) - my_fixed;
                let rate_gap = my_rate - sum(&s.while_up);
                let hours = (rate_gap > 1e-12).then(|| extra_fixed / rate_gap).filter(|h| *h >= 0.0);
                let explanation = match hours {
                    Some(h) if h >= HOURS_PER_MONTH - 0.05 => {
                        format!("only at {} h (never stopping); below that meetctl saves {} per hour not up", qty(h), price(rate_gap))
                    }
                    Some(h) => format!("above {} h/month it is cheaper than meetctl", qty(h)),
                    None => format!("never: it costs ${:.2}/month more at any number of hours", extra_fixed),
                };
                BreakEven { alternative: a, label: a.label(), hours: hours.map(|h| (h * 10.0).round() / 10.0), explanation }
            })
            .collect()
    }
}

fn shapes(prices: &Prices, running: &[Line]) -> Vec<Shape> {
    let ipv4 = prices.usd(Key::PublicIpv4Hour);
    let fargate: Vec<Line> = running
        .iter()
        .filter(|l| l.service == service::ECS)
        .cloned()
        .collect();
    let nlb = hourly(
        prices,
        "Network Load Balancer",
        Key::NlbHour,
        "",
        service::ELB,
    );
    let address = |what: &str| {
        hourly(
            prices,
            &format!("Public IPv4 ({what})"),
            Key::PublicIpv4Hour,
            "",
            service::VPC,
        )
    };
    let alb = hourly(
        prices,
        "Application Load Balancer",
        Key::AlbHour,
        " (LCUs for signalling not counted)",
        service::ELB,
    );
    let alb_addresses = line(
        "Public IPv4 (the ALB's, two AZs)",
        format!("2 × {}/h", price(ipv4)),
        2.0 * ipv4,
        service::VPC,
    );
    vec![
        Shape {
            alternative: Alternative::Meetctl,
            label: Alternative::Meetctl.label(),
            description: "everything that bills by the hour exists only between `up` and `down`",
            all_month: vec![],
            while_up: running.to_vec(),
        },
        Shape {
            alternative: Alternative::AlwaysOn,
            label: Alternative::AlwaysOn.label(),
            description: "the same task, NLB and addresses running all 730 hours",
            all_month: running.to_vec(),
            while_up: vec![],
        },
        Shape {
            alternative: Alternative::KeepLoadBalancer,
            label: Alternative::KeepLoadBalancer.label(),
            description: "the task scales to zero, the NLB and its address stay (the older approach, ingress terraform)",
            all_month: vec![nlb.clone(), address("the NLB's")],
            while_up: [fargate.clone(), vec![address("the task's")]].concat(),
        },
        Shape {
            alternative: Alternative::ExpressMode,
            label: Alternative::ExpressMode.label(),
            description: "its ALB and the ALB's addresses stay while tasks are at zero; UDP media still needs the on-demand NLB",
            all_month: vec![alb, alb_addresses],
            while_up: running.to_vec(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Ingress;

    fn platform(
        vcpu: f64,
        gb: f64,
        arch: CpuArchitecture,
        capacity_provider: CapacityProvider,
        hosted_zone: bool,
    ) -> Platform {
        Platform {
            vcpu,
            memory_gb: gb,
            architecture: arch,
            capacity_provider,
            ingress: Ingress::Nlb,
            public_ipv4_up: 2,
            public_ipv4_idle: 0,
            hosted_zone,
        }
    }

    fn usage(
        participants: u32,
        bitrate_mbps: f64,
        s3_gb: f64,
        log_gb: f64,
        log_mb_per_hour: f64,
    ) -> Usage {
        Usage {
            participants,
            bitrate_mbps,
            s3_gb,
            efs_gb: 0.0,
            log_gb,
            log_mb_per_hour,
        }
    }

    fn quiet() -> Usage {
        usage(0, 0.0, 0.0, 0.0, 0.0)
    }

    fn model(
        vcpu: f64,
        gb: f64,
        arch: CpuArchitecture,
        capacity_provider: CapacityProvider,
        usage: Usage,
    ) -> Model {
        Model::new(
            &Prices::for_region("us-east-1").unwrap(),
            platform(vcpu, gb, arch, capacity_provider, false),
            usage,
        )
    }

    /// An ARM64 2 vCPU / 4 GB task on demand (the figures below are for it).
    fn arm_platform(hosted_zone: bool, usage: Usage) -> Model {
        let p = platform(
            2.0,
            4.0,
            CpuArchitecture::Arm64,
            CapacityProvider::Fargate,
            hosted_zone,
        );
        Model::new(&Prices::for_region("us-east-1").unwrap(), p, usage)
    }

    fn close(a: f64, b: f64, tolerance: f64) {
        assert!((a - b).abs() < tolerance, "{a} != {b}");
    }

    fn fargate(m: &Model) -> f64 {
        m.running
            .iter()
            .filter(|l| l.service == service::ECS)
            .map(|l| l.usd)
            .sum()
    }

    #[test]
    fn fargate_rates_match_hand_computed_figures() {
        // 4 × 0.04048 + 8 × 0.004445 = 0.19748
        close(
            fargate(&model(
                4.0,
                8.0,
                CpuArchitecture::X86_64,
                CapacityProvider::Fargate,
                quiet(),
            )),
            0.198,
            1e-3,
        );
        // 2 × 0.03238 + 4 × 0.00356 = 0.07900
        let arm = arm_platform(false, quiet());
        close(fargate(&arm), 0.0790, 1e-4);
        // + NLB 0.0225 + 2 × 0.005 public IPv4
        close(arm.running_hour(), 0.1115, 1e-4);
        // Spot: 4 × 0.012144 + 8 × 0.0013335
        close(
            fargate(&model(
                4.0,
                8.0,
                CpuArchitecture::X86_64,
                CapacityProvider::FargateSpot,
                quiet(),
            )),
            0.059244,
            1e-6,
        );
    }

    #[test]
    fn prosody_data_on_efs_bills_by_the_gb_month_while_idle() {
        let m = arm_platform(
            false,
            Usage {
                efs_gb: 0.5,
                ..quiet()
            },
        );
        // 0.5 GB × $0.30 EFS Standard
        let efs = m.idle.iter().find(|l| l.service == service::EFS).unwrap();
        close(efs.usd, 0.15, 1e-12);
        assert_eq!(efs.basis, "0.5 GB × $0.30/GB-month");
        close(m.idle_month(), 0.15, 1e-12);
        close(m.by_service(0.0, 1.0)[service::EFS], 0.15, 1e-12);
    }

    #[test]
    fn the_turn_listener_is_listed_and_adds_nothing_per_hour() {
        let m = arm_platform(false, quiet());
        let turn = m
            .running
            .iter()
            .find(|l| l.item.starts_with("TURN listener"))
            .expect("a TURN line");
        assert_eq!((turn.usd, turn.service), (0.0, service::ELB));
        assert!(turn.basis.contains("NLCU"), "{}", turn.basis);
        close(m.running_hour(), 0.1115, 1e-4);
    }

    #[test]
    fn idle_month_with_only_a_hosted_zone_is_fifty_cents() {
        close(arm_platform(true, quiet()).idle_month(), 0.50, 1e-9);
        close(arm_platform(false, quiet()).idle_month(), 0.0, 1e-9);
    }

    #[test]
    fn traffic_follows_the_stated_bitrate_and_free_allowance() {
        let m = arm_platform(false, usage(4, 2.0, 0.0, 0.0, 0.0));
        // 2 Mbit/s for an hour = 0.9 GB; × $0.09 = $0.081 per participant-hour
        close(m.data_out.gb_per_participant_hour, 0.9, 1e-12);
        close(m.data_out.usd_per_participant_hour, 0.081, 1e-12);
        // 4 × 0.9 × 2 = 7.2 GB/h through the NLB = 7.2 NLCU × $0.006
        close(m.traffic[0].usd, 0.0432, 1e-9);
        // 10 h: 36 GB out, inside the 100 GB free
        close(m.traffic_month(10.0), 0.432, 1e-9);
        // 50 h: 180 GB out, 80 GB billed
        close(m.traffic_month(50.0), 50.0 * 0.0432 + 80.0 * 0.09, 1e-9);
    }

    #[test]
    fn scenarios_and_break_even() {
        let m = arm_platform(false, quiet());
        let s = &m.scenarios(&[10.0])[0];
        close(s.usd["meetctl"], 1.115, 1e-9);
        close(s.usd["always_on"], 730.0 * 0.1115, 1e-9);
        // NLB + its address all month, task + its address 10 h
        close(
            s.usd["keep_load_balancer"],
            730.0 * 0.0275 + 10.0 * 0.084,
            1e-9,
        );
        // ALB + 2 addresses all month + everything meetctl runs
        close(s.usd["express_mode"], 730.0 * 0.0325 + 1.115, 1e-9);
        let be = m.break_even();
        assert_eq!(be[0].hours, Some(730.0));
        assert_eq!(be[1].hours, Some(730.0));
        assert_eq!(be[2].hours, None);
        assert!(be[2].explanation.contains("23.73"), "{}", be[2].explanation);
    }

    #[test]
    fn by_service_adds_up_to_the_month() {
        let m = arm_platform(true, usage(4, 2.0, 3.0, 1.0, 10.0));
        let split = m.by_service(50.0, 1.0);
        close(
            split.values().sum(),
            m.monthly(Alternative::Meetctl, 50.0),
            1e-9,
        );
        close(split[service::ROUTE53], 0.5, 1e-12);
        close(split[service::ECS], 50.0 * 0.079, 1e-9);
        close(m.by_service(0.0, 0.5)[service::ROUTE53], 0.25, 1e-12);
    }

    #[test]
    fn prices_display_with_their_precision() {
        assert_eq!(price(0.03238), "$0.03238");
        assert_eq!(price(0.5), "$0.50");
        assert_eq!(price(0.0), "$0.00");
        assert_eq!(qty(4.0), "4");
        assert_eq!(qty(0.9), "0.9");
    }
}
