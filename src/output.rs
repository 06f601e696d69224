//! What the user sees while commands run: one spinner per step with elapsed
//! time on a terminal, plain lines otherwise. Progress goes to stderr so that
//! stdout stays clean for summaries and `--output json`.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct StepTiming {
    pub step: String,
    pub seconds: f64,
    pub outcome: &'static str,
}

pub struct Reporter {
    bars: Option<MultiProgress>,
    color: bool,
    timings: Mutex<Vec<StepTiming>>,
    /// Told of every step's start, progress and end (the front door's
    /// progress record, src/front_door/progress.rs).
    observer: Option<StepObserver>,
}

/// What a step did, for an observer.
#[derive(Clone, Debug, Serialize)]
pub struct StepEvent {
    pub step: String,
    /// `started`, `progress`, `ok`, `skipped` or `failed`.
    pub state: &'static str,
    pub detail: String,
}

pub type StepObserver = Arc<dyn Fn(&StepEvent) + Send + Sync>;

impl Reporter {
    /// Spinners only when stderr is a terminal; colour unless `NO_COLOR` is set.
    pub fn new() -> Arc<Self> {
        let tty = std::io::stderr().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        let bars = tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Arc::new(Reporter {
            bars,
            color,
            timings: Mutex::new(Vec::new()),
            observer: None,
        })
    }

    /// Plain lines (no spinners), and every step event told to `observer`.
    pub fn observed(observer: StepObserver) -> Arc<Self> {
        Arc::new(Reporter {
            bars: None,
            color: false,
            timings: Mutex::new(Vec::new()),
            observer: Some(observer),
        })
    }

    fn tell(&self, step: &str, state: &'static str, detail: &str) {
        if let Some(observer) = &self.observer {
            observer(&StepEvent {
                step: step.to_string(),
                state,
                detail: detail.to_string(),
            });
        }
    }

    pub fn step(self: &Arc<Self>, name: &str) -> Step {
        let bar = self.bars.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            let template = if self.color {
                "{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:.dim}"
            } else {
                "{spinner} {prefix} {wide_msg} {elapsed}"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("static template"));
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            eprintln!("--> {name}");
        }
        self.tell(name, "started", "");
        Step {
            reporter: Arc::clone(self),
            name: name.to_string(),
            started: Instant::now(),
            bar,
            last_message: Mutex::new(String::new()),
            finished: false,
        }
    }

    /// A line of its own, printed above any running spinners.
    pub fn line(&self, text: &str) {
        match &self.bars {
            Some(multi) => multi.println(text).unwrap_or_else(|_| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    pub fn timings(&self) -> Vec<StepTiming> {
        self.timings.lock().expect("timings lock").clone()
    }

    fn mark(&self, ok: &str, failed: &str) -> String {
        let symbol = if failed.is_empty() { ok } else { failed };
        if !self.color {
            return symbol.to_string();
        }
        let style = if failed.is_empty() {
            console::Style::new().green()
        } else {
            console::Style::new().red()
        };
        style.apply_to(symbol).to_string()
    }
}

pub struct Step {
    reporter: Arc<Reporter>,
    name: String,
    started: Instant,
    bar: Option<ProgressBar>,
    last_message: Mutex<String>,
    finished: bool,
}

impl Step {
    /// Updates what the step is doing; plain output prints only changes.
    pub fn progress(&self, message: &str) {
        self.reporter.tell(&self.name, "progress", message);
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => {
                let mut last = self.last_message.lock().expect("message lock");
                if *last != message {
                    eprintln!(
                        "    {}: {message} ({})",
                        self.name,
                        human_duration(self.started.elapsed())
                    );
                    *last = message.to_string();
                }
            }
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn done(self, detail: &str) {
        self.finish("ok", detail);
    }

    pub fn skipped(self, why: &str) {
        self.finish("skipped", why);
    }

    pub fn failed(self, why: &str) {
        self.finish("failed", why);
    }

    fn finish(mut self, outcome: &'static str, detail: &str) {
        self.finished = true;
        let elapsed = self.started.elapsed();
        let mark = match outcome {
            "ok" => self.reporter.mark("ok", ""),
            "skipped" => self.reporter.mark("--", ""),
            _ => self.reporter.mark("", "FAILED"),
        };
        let line = format!(
            "[{mark}] {} — {detail} ({})",
            self.name,
            human_duration(elapsed)
        );
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.reporter.line(&line);
        self.reporter.tell(&self.name, outcome, detail);
        self.reporter
            .timings
            .lock()
            .expect("timings lock")
            .push(StepTiming {
                step: self.name.clone(),
                seconds: elapsed.as_secs_f64(),
                outcome,
            });
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.finished {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
        }
    }
}

pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = d.as_secs();
        if s < 60 {
            format!("{s}s")
        } else {
            format!("{}m{:02}s", s / 60, s % 60)
        }
    } else {
        let s = d.as_secs();
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(42)), "42s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(human_duration(Duration::from_secs(7260)), "2h01m");
    }
}
