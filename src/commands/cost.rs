//! `meetctl cost`: the cost model for the configured platform (offline: idle
//! per month, running per hour, monthly scenarios against the alternatives,
//! break-even, an SVG chart), or with `--actual` the month's real bill from
//! Cost Explorer next to the model.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::config::{CapacityProvider, Config};
use crate::cost::actual::{self, Comparison, Period};
use crate::cost::chart;
use crate::cost::model::{
    self, qty, Alternative, BreakEven, Line, Model, Platform, Scenario, Shape, Usage,
    HOURS_PER_MONTH,
};
use crate::cost::prices::{Price, Prices, BUILT_IN_NAME};
use crate::error::{Error, Result};
use crate::Context;

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Cost options")]
pub struct CostArgs {
    /// Hours up per month for the scenarios, comma-separated, each 0-730
    #[arg(
        long,
        value_name = "LIST",
        default_value = "4,10,50,200,730",
        allow_hyphen_values = true
    )]
    pub hours: String,
    /// Assumption: people in a meeting at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub participants: u32,
    /// Assumption: video each participant receives (and sends), Mbit/s
    #[arg(
        long,
        value_name = "MBPS",
        default_value_t = 2.0,
        allow_negative_numbers = true
    )]
    pub bitrate_mbps: f64,
    /// Assumption: recordings kept in S3, GB
    #[arg(
        long,
        value_name = "GB",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub s3_gb: f64,
    /// Assumption: Prosody's data kept on EFS (accounts, rosters), GB
    #[arg(
        long,
        value_name = "GB",
        default_value_t = 0.01,
        allow_negative_numbers = true
    )]
    pub efs_gb: f64,
    /// Assumption: logs kept in CloudWatch Logs, GB
    #[arg(
        long,
        value_name = "GB",
        default_value_t = 0.1,
        allow_negative_numbers = true
    )]
    pub log_gb: f64,
    /// Assumption: logs written while up, MB per hour
    #[arg(
        long,
        value_name = "MB",
        default_value_t = 10.0,
        allow_negative_numbers = true
    )]
    pub log_mb_per_hour: f64,
    /// Tables, or one JSON document
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Draw monthly cost against hours up for every alternative to FILE (SVG)
    #[arg(long, value_name = "FILE.svg", conflicts_with = "actual")]
    pub chart: Option<PathBuf>,
    /// The real bill from Cost Explorer (tag Project), next to the model; needs AWS,
    /// and Cost Explorer bills each request (see data/prices.toml)
    #[arg(long)]
    pub actual: bool,
    /// Month for --actual [default: the current month]
    #[arg(long, value_name = "YYYY-MM", requires = "actual")]
    pub month: Option<String>,
}

/// `--hours`: a comma-separated list of hours up per month, each 0-730.
pub fn parse_hours(text: &str) -> Result<Vec<f64>> {
    let fix =
        "give hours up per month from 0 to 730, comma-separated, e.g. --hours 4,10,50,200,730";
    let mut hours = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let h: f64 = part
            .parse()
            .map_err(|_| Error::config("--hours", format!("`{part}` is not a number"), fix))?;
        if !h.is_finite() {
            return Err(Error::config(
                "--hours",
                format!("`{part}` is not a finite number"),
                fix,
            ));
        }
        if h < 0.0 {
            return Err(Error::config(
                "--hours",
                format!("`{part}` is negative"),
                fix,
            ));
        }
        if h > HOURS_PER_MONTH {
            return Err(Error::config(
                "--hours",
                format!(
                    "`{part}` is more than a month ({HOURS_PER_MONTH} h, the month AWS prices by)"
                ),
                fix,
            ));
        }
        hours.push(h);
    }
    if hours.is_empty() {
        return Err(Error::config("--hours", "the list is empty", fix));
    }
    Ok(hours)
}

impl CostArgs {
    fn usage(&self) -> Result<Usage> {
        let non_negative = |flag: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(Error::config(
                    flag,
                    format!("{v} is not a non-negative number"),
                    format!("give {flag} 0 or more"),
                ))
            }
        };
        Ok(Usage {
            participants: self.participants,
            bitrate_mbps: non_negative("--bitrate-mbps", self.bitrate_mbps)?,
            s3_gb: non_negative("--s3-gb", self.s3_gb)?,
            efs_gb: non_negative("--efs-gb", self.efs_gb)?,
            log_gb: non_negative("--log-gb", self.log_gb)?,
            log_mb_per_hour: non_negative("--log-mb-per-hour", self.log_mb_per_hour)?,
        })
    }
}

fn build_model(config: &Config, args: &CostArgs) -> Result<(Prices, Model)> {
    let prices = Prices::for_config(config)?;
    let model = Model::new(&prices, Platform::from_config(config), args.usage()?);
    Ok((prices, model))
}

#[derive(Serialize)]
struct Section<'a> {
    lines: &'a [Line],
    total_usd: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    project: &'a str,
    region: &'a str,
    platform: &'a Platform,
    usage: &'a Usage,
    hours_per_month: f64,
    idle_per_month: Section<'a>,
    running_per_hour: Section<'a>,
    traffic_per_hour: Section<'a>,
    data_out: &'a model::DataOut,
    scenarios: Vec<Scenario>,
    break_even: Vec<BreakEven>,
    alternatives: &'a [Shape],
    prices: Vec<&'a Price>,
    /// The optional control plane (infra/ control_plane_enabled) at 0 hours
    /// up and at each scenario's hours: nothing at idle.
    control_plane: ControlPlaneReport,
    /// The optional front door (infra/ front_door_enabled): nothing without visits.
    front_door: FrontDoorReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart: Option<String>,
}

#[derive(Serialize)]
struct FrontDoorReport {
    assumptions: crate::cost::front_door::Assumptions,
    months: Vec<crate::cost::front_door::Month>,
}

fn front_door_report(prices: &Prices) -> FrontDoorReport {
    let assumptions = crate::cost::front_door::Assumptions::default();
    let months = [(0.0, false), (0.0, true), (10.0, true), (30.0, true)]
        .iter()
        .map(|(starts, stray)| {
            crate::cost::front_door::month(prices, &assumptions, *starts, *stray)
        })
        .collect();
    FrontDoorReport {
        assumptions,
        months,
    }
}

fn print_front_door(report: &FrontDoorReport) {
    let a = &report.assumptions;
    println!("Front door (optional, infra/ front_door_enabled: wake on visit, the asleep page on the domain)");
    println!("  idle: $0.00 per month without visits: API Gateway (HTTP API) and Lambda bill per request;");
    println!("  the custom domain, the API and the function cost nothing to exist.");
    print_usage_table(
        ["starts", "requests"],
        report.months.iter().map(|m| {
            [
                m.starts,
                m.requests,
                m.gb_seconds,
                m.list_usd,
                m.after_free_tier_usd,
            ]
        }),
    );
    println!(
        "  assumes {} requests per start (page, POST, progress, a poll every 1.5 s), {} stray requests a month (rows 2-4), {} s of `up` per start and {} s per request at {} GB",
        qty(a.requests_per_start),
        qty(a.stray_requests_month),
        qty(a.seconds_per_start),
        qty(a.seconds_per_request),
        qty(a.memory_gb)
    );
    println!();
}

#[derive(Serialize)]
struct ControlPlaneReport {
    assumptions: crate::cost::control_plane::Assumptions,
    months: Vec<crate::cost::control_plane::Month>,
}

/// The model; needs no AWS account.
pub fn run_model(config: &Config, args: &CostArgs) -> Result<()> {
    let hours = parse_hours(&args.hours)?;
    let (prices, model) = build_model(config, args)?;
    if let Some(path) = &args.chart {
        let max = hours.iter().copied().fold(0.0, f64::max);
        chart::write_svg(path, &model, if max > 0.0 { max } else { HOURS_PER_MONTH })?;
    }
    let report = Report {
        project: &config.project,
        region: &config.region,
        platform: &model.platform,
        usage: &model.usage,
        hours_per_month: HOURS_PER_MONTH,
        idle_per_month: Section {
            lines: &model.idle,
            total_usd: model.idle_month(),
        },
        running_per_hour: Section {
            lines: &model.running,
            total_usd: model.running_hour(),
        },
        traffic_per_hour: Section {
            lines: &model.traffic,
            total_usd: model::sum(&model.traffic),
        },
        data_out: &model.data_out,
        scenarios: model.scenarios(&hours),
        break_even: model.break_even(),
        alternatives: &model.alternatives,
        prices: prices.entries().collect(),
        control_plane: control_plane_report(&prices, &hours),
        front_door: front_door_report(&prices),
        chart: args.chart.as_ref().map(|p| p.display().to_string()),
    };
    if args.output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("cost report serialises")
        );
    } else {
        print_model(config, &prices, &model, &report);
    }
    Ok(())
}

fn control_plane_report(prices: &Prices, hours: &[f64]) -> ControlPlaneReport {
    let assumptions = crate::cost::control_plane::Assumptions::default();
    let mut all = vec![0.0];
    all.extend(hours.iter().copied().filter(|h| *h > 0.0));
    let months = all
        .iter()
        .map(|h| crate::cost::control_plane::month(prices, &assumptions, *h))
        .collect();
    ControlPlaneReport {
        assumptions,
        months,
    }
}

fn print_control_plane(report: &ControlPlaneReport) {
    let a = &report.assumptions;
    println!("Control plane (optional, infra/ control_plane_enabled: idle auto-shutdown, max_uptime, budget)");
    println!("  idle: $0.00 per month. `down` disables its schedule, so nothing invokes the function while");
    println!("  the platform is down; the function, its role and its empty log group cost nothing to exist.");
    print_usage_table(
        ["hours up", "invocations"],
        report.months.iter().map(|m| {
            [
                m.hours_up,
                m.invocations,
                m.gb_seconds,
                m.list_usd,
                m.after_free_tier_usd,
            ]
        }),
    );
    println!(
        "  assumes a tick every {} min while up ({} s at {} GB), one automatic down per {} h meeting ({} s), {} metric reads and {} KB of log per tick",
        qty(a.rate_minutes),
        qty(a.seconds_per_tick),
        qty(a.memory_gb),
        qty(a.hours_per_meeting),
        qty(a.seconds_per_down),
        qty(a.metric_requests_per_tick),
        qty(a.log_bytes_per_tick / 1024.0)
    );
    println!();
}

/// A pay-per-request add-on by month: what drives it, its billed units,
/// GB-seconds, the list price and the price after the monthly free tiers.
fn print_usage_table(driver: [&str; 2], months: impl Iterator<Item = [f64; 5]>) {
    let mut rows = vec![vec![
        driver[0].to_string(),
        driver[1].to_string(),
        "GB-s".into(),
        "list USD".into(),
        "after free tier".into(),
    ]];
    for [by, units, gb_seconds, list_usd, after_free_usd] in months {
        rows.push(vec![
            qty(by),
            qty(units),
            qty(gb_seconds),
            format!("${list_usd:.4}"),
            format!("${after_free_usd:.4}"),
        ]);
    }
    for line in table(&rows, &[0, 1, 2, 3, 4]) {
        println!("  {line}");
    }
}

/// Rows as aligned columns; numbers (columns in `right`) aligned right.
fn table(rows: &[Vec<String>], right: &[usize]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    if right.contains(&c) {
                        format!("{s:>w$}", w = widths[c])
                    } else {
                        format!("{s:<w$}", w = widths[c])
                    }
                })
                .collect();
            format!("  {}", cells.join("  ").trim_end())
        })
        .collect()
}

fn lines_table(heading: &str, unit: &str, lines: &[Line], total: f64) {
    println!("{heading}");
    let mut rows = vec![vec![
        "resource".to_string(),
        "basis".to_string(),
        unit.to_string(),
    ]];
    rows.extend(
        lines
            .iter()
            .map(|l| vec![l.item.clone(), l.basis.clone(), format!("{:.4}", l.usd)]),
    );
    rows.push(vec!["total".into(), String::new(), format!("{total:.4}")]);
    table(&rows, &[2]).iter().for_each(|l| println!("{l}"));
    println!();
}

fn print_model(config: &Config, prices: &Prices, m: &Model, report: &Report) {
    let p = &m.platform;
    let u = &m.usage;
    println!(
        "meetctl cost: project {}, {}; every figure in USD",
        config.project, m.region
    );
    println!(
        "  task     {} vCPU / {} GB {} on {} (task_cpu {}, task_memory {})",
        qty(p.vcpu),
        qty(p.memory_gb),
        match p.architecture {
            crate::config::CpuArchitecture::Arm64 => "ARM64",
            crate::config::CpuArchitecture::X86_64 => "X86_64",
        },
        match p.capacity_provider {
            CapacityProvider::Fargate => "FARGATE",
            CapacityProvider::FargateSpot => "FARGATE_SPOT",
        },
        config.task.cpu,
        config.task.memory
    );
    println!(
        "  ingress  nlb: {} public IPv4 addresses while up, {} while idle; hosted zone {}",
        p.public_ipv4_up,
        p.public_ipv4_idle,
        if p.hosted_zone {
            "counted"
        } else {
            "not counted (no hosted_zone_id)"
        }
    );
    println!(
        "  usage    {} participants at {} Mbit/s each way; {} GB recordings, {} GB Prosody data, {} GB logs kept, {} MB logs per hour up",
        u.participants,
        qty(u.bitrate_mbps),
        qty(u.s3_gb),
        qty(u.efs_gb),
        qty(u.log_gb),
        qty(u.log_mb_per_hour)
    );
    println!("           (assumptions: --participants, --bitrate-mbps, --s3-gb, --efs-gb, --log-gb, --log-mb-per-hour)");
    println!();
    lines_table(
        "Idle, per month (nobody meets)",
        "USD/month",
        &m.idle,
        m.idle_month(),
    );
    lines_table(
        "Running, per hour up, whatever the traffic",
        "USD/hour",
        &m.running,
        m.running_hour(),
    );
    lines_table(
        &format!(
            "Traffic, per hour up with {} participants (data out before its free allowance)",
            u.participants
        ),
        "USD/hour",
        &m.traffic,
        model::sum(&m.traffic),
    );
    println!(
        "Data out per participant-hour: {} GB = ${:.4}; the first {} GB each month are free",
        qty(m.data_out.gb_per_participant_hour),
        m.data_out.usd_per_participant_hour,
        qty(m.data_out.free_gb_per_month)
    );
    println!();
    println!("Monthly cost by hours up (idle, traffic and the free data out included)");
    let mut rows = vec![std::iter::once("hours".to_string())
        .chain(Alternative::ALL.iter().map(|a| a.label().to_string()))
        .collect::<Vec<_>>()];
    for s in &report.scenarios {
        rows.push(
            std::iter::once(qty(s.hours))
                .chain(
                    Alternative::ALL
                        .iter()
                        .map(|a| format!("{:.2}", s.usd[a.key()])),
                )
                .collect(),
        );
    }
    table(&rows, &[0, 1, 2, 3, 4])
        .iter()
        .for_each(|l| println!("{l}"));
    println!();
    println!("Break-even against meetctl (hours up per month)");
    let rows: Vec<Vec<String>> = report
        .break_even
        .iter()
        .map(|b| vec![b.label.to_string(), b.explanation.clone()])
        .collect();
    table(&rows, &[]).iter().for_each(|l| println!("{l}"));
    println!();
    println!("Alternatives");
    for s in &m.alternatives {
        println!("  {:<24}  {}", s.label, s.description);
    }
    println!();
    println!("Hours up: from `up` to `down`, start-up and idle time included; a month is {HOURS_PER_MONTH} h.");
    println!();
    print_control_plane(&report.control_plane);
    print_front_door(&report.front_door);
    print_sources(prices, p.capacity_provider == CapacityProvider::FargateSpot);
    if let Some(path) = &report.chart {
        println!("chart written to {path}");
    }
}

fn print_sources(prices: &Prices, spot: bool) {
    println!(
        "Prices for {} ({BUILT_IN_NAME}, as of {}):",
        prices.region,
        prices.dates().join(", ")
    );
    let mut by_source: Vec<(String, Vec<&str>)> = Vec::new();
    for e in prices.entries().filter(|e| e.file == BUILT_IN_NAME) {
        let source = e.source.clone();
        match by_source.iter_mut().find(|(s, _)| *s == source) {
            Some((_, keys)) => keys.push(e.key),
            None => by_source.push((source, vec![e.key])),
        }
    }
    for (source, keys) in by_source {
        println!("  {source}: {}", keys.join(", "));
    }
    for e in prices.overridden() {
        println!(
            "  {} = {} from prices_file {} ({}, {})",
            e.key,
            qty(e.value),
            e.file,
            e.source,
            e.as_of
        );
    }
    let shown = |e: &&Price| spot || !e.key.starts_with("fargate_spot");
    for e in prices.entries().filter(shown).filter(|e| {
        e.note
            .as_deref()
            .is_some_and(|n| n.starts_with("assumption"))
    }) {
        println!("  {}: {}", e.key, e.note.as_deref().unwrap_or_default());
    }
}

/// `--actual`: the month's bill from Cost Explorer next to the model.
pub async fn run_actual(ctx: &Context, args: &CostArgs) -> Result<()> {
    let config = &ctx.config;
    let (prices, model) = build_model(config, args)?;
    let today = time::OffsetDateTime::now_utc().date();
    let period = Period::new(args.month.as_deref(), today)?;
    let bill = actual::fetch(&ctx.aws, &config.project, &period).await?;
    let comparison = actual::compare(&bill, &model, &prices, &config.project, &period)?;
    if args.output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&comparison).expect("comparison serialises")
        );
    } else {
        print_actual(&comparison);
    }
    Ok(())
}

fn print_actual(c: &Comparison) {
    println!(
        "meetctl cost --actual: {} ({} to {}), unblended cost tagged {} from Cost Explorer{}",
        c.period.month,
        c.period.start,
        c.period.end,
        c.tag,
        if c.estimated {
            "; estimated: the month is not closed"
        } else {
            ""
        }
    );
    println!("  hours up  {}", c.hours_run.method);
    println!();
    let mut rows = vec![vec![
        "service".to_string(),
        "actual USD".into(),
        "model USD".into(),
        "difference".into(),
    ]];
    for s in &c.services {
        rows.push(vec![
            s.service.clone(),
            format!("{:.4}", s.actual_usd),
            format!("{:.4}", s.model_usd),
            format!("{:+.4}", s.difference_usd),
        ]);
    }
    rows.push(vec![
        "total".into(),
        format!("{:.4}", c.actual_total_usd),
        format!("{:.4}", c.model_total_usd),
        format!("{:+.4}", c.actual_total_usd - c.model_total_usd),
    ]);
    table(&rows, &[1, 2, 3])
        .iter()
        .for_each(|l| println!("{l}"));
    println!();
    println!("  {}", c.model_note);
    println!(
        "  this report made {} Cost Explorer request(s): ${:.2} on next month's bill",
        c.cost_explorer_requests, c.cost_explorer_usd
    );
    println!("  the model's services are where AWS usually bills each item; data transfer may appear under the service that sent it");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(r: Result<Vec<f64>>) -> String {
        match r {
            Err(Error::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn hours_lists() {
        assert_eq!(
            parse_hours("4,10, 50,200,730").unwrap(),
            vec![4.0, 10.0, 50.0, 200.0, 730.0]
        );
        assert_eq!(parse_hours("0,2.5").unwrap(), vec![0.0, 2.5]);
        for bad in ["-3", "", ",", "ten", "4,-1", "731", "NaN", "inf"] {
            assert_eq!(key_of(parse_hours(bad)), "--hours", "{bad}");
        }
    }

    #[test]
    fn tables_align_numbers_right() {
        let rows = vec![
            vec!["a".to_string(), "1.5".into()],
            vec!["bbb".into(), "10.25".into()],
        ];
        assert_eq!(table(&rows, &[1]), vec!["  a      1.5", "  bbb  10.25"]);
    }
}
