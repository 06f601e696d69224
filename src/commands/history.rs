//! `meetctl history`: the last ups and downs, who or what triggered them,
//! how long the platform ran and what it cost, and this month's total
//! against the budget. Read from the SSM parameter `up` and `down` write.

use serde::Serialize;

use crate::control::record::{self, History};
use crate::control::utc;
use crate::error::Result;
use crate::Context;

#[derive(Serialize)]
struct Report<'a> {
    project: &'a str,
    parameter: String,
    month: String,
    month_hours: f64,
    month_usd: f64,
    monthly_budget_usd: Option<f64>,
    history: &'a History,
}

pub async fn run(ctx: &Context, json: bool) -> Result<()> {
    let history = record::read_history(&ctx.aws, &ctx.names).await?;
    let now = record::now_epoch();
    let budget = ctx.config.control.monthly_budget_usd;
    if json {
        let report = Report {
            project: &ctx.config.project,
            parameter: ctx.names.history_parameter(),
            month: record::month_of(now),
            month_hours: history.month_hours_at(now),
            month_usd: history.month_usd_at(now),
            monthly_budget_usd: budget,
            history: &history,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("history serialises")
        );
        return Ok(());
    }
    println!(
        "history of project {} ({})",
        ctx.config.project,
        ctx.names.history_parameter()
    );
    if history.events.is_empty() {
        println!("  no ups or downs recorded yet");
    }
    for e in &history.events {
        let ran = match (e.hours, e.usd) {
            (Some(h), Some(usd)) => format!("  ran {h:.2} h, ${usd:.2}"),
            (Some(h), None) => format!("  ran {h:.2} h"),
            _ => String::new(),
        };
        let why = e
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        println!("  {}  {:<4}  by {}{why}{ran}", utc(e.at), e.event, e.by);
    }
    let budget_text = budget
        .map(|b| format!(" of the ${b:.2} budget"))
        .unwrap_or_else(|| " (no monthly_budget_usd set)".into());
    println!(
        "  this month ({}): {:.2} h up, ${:.2}{budget_text}",
        record::month_of(now),
        history.month_hours_at(now),
        history.month_usd_at(now)
    );
    Ok(())
}
