//! Configuration: `meetctl.toml`, `MEETCTL_*` environment, flags.
//!
//! Precedence is flags > `MEETCTL_*` env > file > the AWS SDK's own
//! environment (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`) > defaults.
//! The AWS variables rank below the file on purpose: a shell-wide
//! `AWS_REGION` must not silently move a project whose file pins its region.
//! Every value remembers where it came from so `config show` can tell.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Default,
    Derived,
    AwsEnv,
    File,
    Env,
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::Derived => "derived",
            Source::AwsEnv => "aws-env",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    List,
    Seconds,
    Millis,
    Whole,
    /// A span of time: `90s`, `15m`, `2h`, `1h30m`, `7d`, or whole seconds.
    Span,
    /// An amount in US dollars, e.g. 25 or 12.50.
    Usd,
}

struct KeySpec {
    name: &'static str,
    kind: Kind,
    help: &'static str,
}

const fn key(name: &'static str, kind: Kind, help: &'static str) -> KeySpec {
    KeySpec { name, kind, help }
}

/// Every key meetctl understands; anything else in the file or in a
/// `MEETCTL_*` variable is an error.
const KEYS: &[KeySpec] = &[
    key(
        "project",
        Kind::Text,
        "project name; tags and resource names derive from it",
    ),
    key(
        "domain",
        Kind::Text,
        "host name of the meeting site, e.g. meet.example.org",
    ),
    key("region", Kind::Text, "AWS region, e.g. us-east-1"),
    key("profile", Kind::Text, "AWS shared-config profile"),
    key(
        "endpoint_url",
        Kind::Text,
        "AWS endpoint override (a local emulator)",
    ),
    key("cluster", Kind::Text, "ECS cluster name"),
    key("service", Kind::Text, "ECS service name"),
    key(
        "subnet_ids",
        Kind::List,
        "public subnets; default: found by tag Project",
    ),
    key(
        "security_group_id",
        Kind::Text,
        "task security group; default: by tag Project (<project>-task if several)",
    ),
    key(
        "certificate_arn",
        Kind::Text,
        "ACM certificate for TLS 443 on the NLB",
    ),
    key(
        "hosted_zone_id",
        Kind::Text,
        "Route53 zone for the domain's alias record",
    ),
    key(
        "ingress",
        Kind::Text,
        "nlb (meetctl makes the NLB) or terraform (infra/ jvb-nlb module)",
    ),
    key(
        "terraform_dir",
        Kind::Text,
        "the infra/ directory, for ingress = terraform and config import-terraform",
    ),
    key(
        "terraform_vars",
        Kind::List,
        "extra `name=value` variables for terraform apply in ingress = terraform",
    ),
    key(
        "task_cpu",
        Kind::Whole,
        "Fargate task CPU units as in infra/ (1024 = 1 vCPU), for `cost`",
    ),
    key(
        "task_memory",
        Kind::Whole,
        "Fargate task memory in MiB as in infra/, for `cost`",
    ),
    key(
        "cpu_architecture",
        Kind::Text,
        "task CPU architecture as in infra/: ARM64 or X86_64",
    ),
    key(
        "capacity_provider",
        Kind::Text,
        "ECS capacity provider as in infra/: FARGATE or FARGATE_SPOT",
    ),
    key(
        "auth",
        Kind::Text,
        "who may open a room, as infra/'s `auth`: none (anyone) or internal (accounts from `meetctl users`)",
    ),
    key(
        "prices_file",
        Kind::Text,
        "TOML file whose prices override data/prices.toml",
    ),
    key(
        "nlb_active_timeout",
        Kind::Seconds,
        "seconds to wait for the NLB to become active",
    ),
    key(
        "task_running_timeout",
        Kind::Seconds,
        "seconds to wait for the task to run",
    ),
    key(
        "targets_healthy_timeout",
        Kind::Seconds,
        "seconds to wait for healthy targets",
    ),
    key(
        "task_stopped_timeout",
        Kind::Seconds,
        "seconds to wait for tasks to stop",
    ),
    key(
        "nlb_deleted_timeout",
        Kind::Seconds,
        "seconds to wait for the NLB and its address to go",
    ),
    key(
        "lock_ttl",
        Kind::Seconds,
        "seconds after which a dead run's lock is taken over",
    ),
    key(
        "poll_interval_ms",
        Kind::Millis,
        "first poll interval; it backs off from there",
    ),
    key(
        "check_resolver",
        Kind::Text,
        "DNS server `check` asks (ip or ip:port); default: the system resolver",
    ),
    key(
        "check_address",
        Kind::Text,
        "ip or ip:port `check` connects to for HTTPS instead of the domain's address",
    ),
    key(
        "check_turn_address",
        Kind::Text,
        "ip or ip:port `check` allocates a TURN relay on instead of the domain's TURN port (5349 with a certificate, 3478 without)",
    ),
    key(
        "check_ca_file",
        Kind::Text,
        "PEM file of extra trust roots for `check` (a private CA)",
    ),
    key(
        "check_timeout",
        Kind::Seconds,
        "seconds for each network step of `check`",
    ),
    key(
        "check_retry_timeout",
        Kind::Seconds,
        "seconds `test-platform` retries `check` until every check passes",
    ),
    key(
        "idle_timeout",
        Kind::Span,
        "the control plane runs `down` after nobody was connected this long (e.g. 15m)",
    ),
    key(
        "idle_grace",
        Kind::Span,
        "no idle shutdown this soon after `up` (people are still joining), e.g. 10m",
    ),
    key(
        "max_uptime",
        Kind::Span,
        "never up longer than this, even with people in it (e.g. 8h); default: no cap",
    ),
    key(
        "monthly_budget_usd",
        Kind::Usd,
        "`up` refuses and the control plane runs `down` when this month's running cost reaches it",
    ),
];

/// Environment variables with the `MEETCTL_` prefix that are not config keys.
const NON_KEY_ENV: &[&str] = &[
    "MEETCTL_CONFIG",
    "MEETCTL_LOG",
    "MEETCTL_VENV",
    "MEETCTL_TEST_PYTHON",
    "MEETCTL_BIN",
];

pub const DEFAULT_PROJECT: &str = "jitsi-video-platform";
pub const DEFAULT_REGION: &str = "us-east-1";

const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

#[derive(Clone, Debug, PartialEq)]
enum Raw {
    Text(String),
    List(Vec<String>),
    Int(i64),
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Text(s) => write!(f, "{s}"),
            Raw::List(items) => write!(f, "{}", items.join(",")),
            Raw::Int(i) => write!(f, "{i}"),
        }
    }
}

/// Values set on the command line, already named by key.
#[derive(Debug, Default, Clone)]
pub struct FlagValues {
    /// (key, value, the flag as typed, for error messages)
    values: Vec<(String, String, String)>,
}

impl FlagValues {
    /// A value given by the key's own flag (`--project` for `project`).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let flag = format!("--{}", key.replace('_', "-"));
        self.values.push((key.to_string(), value.into(), flag));
    }

    /// `--set key=value`, for keys without a dedicated flag.
    pub fn set_pair(&mut self, pair: &str) -> Result<()> {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Error::config(
                "--set",
                format!("`{pair}` is not KEY=VALUE"),
                "write it as --set nlb_active_timeout=600",
            )
        })?;
        let k = k.trim();
        self.values
            .push((k.to_string(), v.trim().to_string(), format!("--set {k}")));
        Ok(())
    }
}

/// An explicitly given but empty value (`--project ""`, `MEETCTL_REGION=`,
/// `domain = ""`) is a mistake, never a request for the default: falling back
/// silently would act on another project or region than the one meant.
fn reject_empty(place: &str, key: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::config(
            place,
            format!("is empty (it sets `{key}`)"),
            format!("give {key} a value, or remove {place} to use the next source (flags > MEETCTL_* > meetctl.toml > default)"),
        ));
    }
    Ok(())
}

/// Where the inputs of a configuration come from; tests build this directly.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    /// Path given by `--config`/`MEETCTL_CONFIG`; a missing explicit file is an error.
    pub explicit_path: Option<PathBuf>,
    pub default_path: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    pub flags: FlagValues,
}

impl Inputs {
    pub fn from_process(explicit_path: Option<PathBuf>, flags: FlagValues) -> Self {
        Inputs {
            explicit_path,
            default_path: Some(PathBuf::from("meetctl.toml")),
            env: std::env::vars().collect(),
            flags,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ingress {
    Nlb,
    Terraform,
}

/// CPU architecture of the Fargate task (`runtime_platform` in infra/).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CpuArchitecture {
    #[serde(rename = "ARM64")]
    Arm64,
    #[serde(rename = "X86_64")]
    X86_64,
}

/// Capacity provider of the ECS service (infra/ `capacity_provider`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CapacityProvider {
    #[serde(rename = "FARGATE")]
    Fargate,
    #[serde(rename = "FARGATE_SPOT")]
    FargateSpot,
}

/// Who may open a meeting room (infra/ `auth`): with `Internal`, prosody's
/// XMPP domain needs an account, made with `meetctl users add`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    None,
    Internal,
}

/// The task as infra/ defines it, for cost figures computed without AWS.
#[derive(Clone, Debug, Serialize)]
pub struct TaskShape {
    /// CPU units; 1024 = 1 vCPU.
    pub cpu: u32,
    /// MiB.
    pub memory: u32,
    pub architecture: CpuArchitecture,
    pub capacity_provider: CapacityProvider,
}

#[derive(Clone, Debug, Serialize)]
pub struct Timeouts {
    pub nlb_active: Duration,
    pub task_running: Duration,
    pub targets_healthy: Duration,
    pub task_stopped: Duration,
    pub nlb_deleted: Duration,
}

/// Where and how `check` probes; tests and private CAs point it elsewhere.
#[derive(Clone, Debug)]
pub struct CheckSettings {
    /// DNS server asked for the domain; None: the system resolver.
    pub resolver: Option<std::net::SocketAddr>,
    /// Where HTTPS connects instead of the domain's resolved address.
    pub address: Option<std::net::SocketAddr>,
    /// Where the TURN allocation connects instead of the domain's TURN port.
    pub turn_address: Option<std::net::SocketAddr>,
    /// Extra trust roots (PEM), added to the system's.
    pub ca_file: Option<PathBuf>,
    /// Limit of each network step.
    pub timeout: Duration,
    /// How long `test-platform` retries `check` until every check passes.
    pub retry_timeout: Duration,
}

/// When the platform goes down by itself (the control plane, issue 12).
#[derive(Clone, Debug, Serialize)]
pub struct ControlSettings {
    /// Nobody connected this long: `down`.
    pub idle_timeout: Duration,
    /// No idle shutdown this soon after `up`.
    pub idle_grace: Duration,
    /// Never up longer, even with people in it.
    pub max_uptime: Option<Duration>,
    /// This month's running cost may not pass it.
    pub monthly_budget_usd: Option<f64>,
}

/// The effective, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub project: String,
    pub domain: Option<String>,
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub cluster: String,
    pub service: String,
    pub subnet_ids: Option<Vec<String>>,
    pub security_group_id: Option<String>,
    pub certificate_arn: Option<String>,
    pub hosted_zone_id: Option<String>,
    pub ingress: Ingress,
    pub terraform_dir: PathBuf,
    /// `name=value` pairs passed as `-var` to terraform apply.
    pub terraform_vars: Vec<String>,
    pub task: TaskShape,
    pub auth: Auth,
    pub prices_file: Option<PathBuf>,
    pub timeouts: Timeouts,
    pub lock_ttl: Duration,
    pub poll_interval: Duration,
    pub check: CheckSettings,
    pub control: ControlSettings,
    pub config_file: Option<PathBuf>,
    /// (key, shown value, source) in key order, for `config show`.
    pub provenance: Vec<(&'static str, String, Source)>,
}

impl Config {
    /// The domain, or the error `up` needs when none is configured.
    pub fn require_domain(&self) -> Result<&str> {
        self.domain.as_deref().ok_or_else(|| {
            Error::config(
                "domain",
                "not set; `up` needs the host name people will open",
                "add `domain = \"meet.example.org\"` to meetctl.toml, or pass --domain / set MEETCTL_DOMAIN",
            )
        })
    }

    pub fn load(inputs: &Inputs) -> Result<Config> {
        let mut layers: BTreeMap<&'static str, (Raw, Source)> = BTreeMap::new();
        for (name, value) in aws_env_layer(&inputs.env) {
            layers.insert(name, (Raw::Text(value), Source::AwsEnv));
        }
        let config_file = config_file_path(inputs)?;
        if let Some(path) = &config_file {
            for (name, raw) in file_layer(path)? {
                layers.insert(name, (raw, Source::File));
            }
        }
        for (name, raw) in env_layer(&inputs.env)? {
            layers.insert(name, (raw, Source::Env));
        }
        for (name, value, flag) in &inputs.flags.values {
            let spec = spec_for(name).ok_or_else(|| unknown_key(name, "flag --set"))?;
            reject_empty(flag, spec.name, value)?;
            layers.insert(spec.name, (parse_text(spec, value, flag)?, Source::Flag));
        }
        build(layers, config_file)
    }
}

fn config_file_path(inputs: &Inputs) -> Result<Option<PathBuf>> {
    if let Some(value) = inputs.env.get("MEETCTL_CONFIG") {
        reject_empty("MEETCTL_CONFIG", "the configuration file", value)?;
    }
    let explicit = inputs
        .explicit_path
        .clone()
        .or_else(|| inputs.env.get("MEETCTL_CONFIG").map(PathBuf::from));
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path)),
        Some(path) => Err(Error::config(
            "--config",
            format!("{} does not exist or is not a file", path.display()),
            "pass the path of your meetctl.toml, or omit --config to use ./meetctl.toml",
        )),
        None => Ok(inputs.default_path.clone().filter(|p| p.is_file())),
    }
}

fn spec_for(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name == name)
}

/// Every configuration key with its one-line meaning, for `--help`.
pub fn key_help() -> Vec<(&'static str, &'static str)> {
    KEYS.iter().map(|k| (k.name, k.help)).collect()
}

fn valid_keys() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

fn unknown_key(name: &str, place: &str) -> Error {
    Error::config(
        name,
        format!("unknown key (in {place})"),
        format!("remove it or use one of: {}", valid_keys()),
    )
}

fn aws_env_layer(env: &BTreeMap<String, String>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| env.get(*n).filter(|v| !v.is_empty()).cloned())
    };
    if let Some(v) = first(&["AWS_REGION", "AWS_DEFAULT_REGION"]) {
        out.push(("region", v));
    }
    if let Some(v) = first(&["AWS_PROFILE"]) {
        out.push(("profile", v));
    }
    if let Some(v) = first(&["AWS_ENDPOINT_URL"]) {
        out.push(("endpoint_url", v));
    }
    out
}

fn file_layer(path: &Path) -> Result<Vec<(&'static str, Raw)>> {
    let file_key = format!("--config {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(
            &file_key,
            format!("cannot read: {e}"),
            "check the file's path and permissions",
        )
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::config(
            &file_key,
            format!("not valid TOML: {}", e.message()),
            "fix the syntax at the position shown; strings need quotes",
        )
    })?;
    let mut out = Vec::new();
    for (name, value) in table {
        let spec =
            spec_for(&name).ok_or_else(|| unknown_key(&name, &path.display().to_string()))?;
        let raw = match (spec.kind, value) {
            (Kind::Text, toml::Value::String(s)) => {
                reject_empty(
                    &format!("{} in {}", spec.name, path.display()),
                    spec.name,
                    &s,
                )?;
                Raw::Text(s)
            }
            (Kind::List, toml::Value::Array(items)) => {
                let mut list = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => list.push(s),
                        other => return Err(wrong_type(spec, &other.to_string())),
                    }
                }
                Raw::List(list)
            }
            (Kind::Seconds | Kind::Millis | Kind::Whole, toml::Value::Integer(i)) => Raw::Int(i),
            (Kind::Span, toml::Value::String(s)) => Raw::Text(s),
            (Kind::Span, toml::Value::Integer(i)) => Raw::Text(i.to_string()),
            (Kind::Usd, toml::Value::Integer(i)) => Raw::Text(i.to_string()),
            (Kind::Usd, toml::Value::Float(f)) => Raw::Text(f.to_string()),
            (_, other) => return Err(wrong_type(spec, &other.to_string())),
        };
        out.push((spec.name, raw));
    }
    Ok(out)
}

fn wrong_type(spec: &KeySpec, got: &str) -> Error {
    let want = match spec.kind {
        Kind::Text => format!("a string, e.g. {} = \"...\"", spec.name),
        Kind::List => format!(
            "a list of strings, e.g. {} = [\"subnet-0abc...\"]",
            spec.name
        ),
        Kind::Seconds => format!("a whole number of seconds, e.g. {} = 600", spec.name),
        Kind::Millis => format!("a whole number of milliseconds, e.g. {} = 2000", spec.name),
        Kind::Whole => format!("a whole number, e.g. {} = 2048", spec.name),
        Kind::Span => format!("a span of time, e.g. {} = \"15m\"", spec.name),
        Kind::Usd => format!("an amount in USD, e.g. {} = 25", spec.name),
    };
    Error::config(
        spec.name,
        format!("wrong type: got {got}"),
        format!("write {want}"),
    )
}

fn env_layer(env: &BTreeMap<String, String>) -> Result<Vec<(&'static str, Raw)>> {
    let mut out = Vec::new();
    for (var, value) in env {
        let Some(suffix) = var.strip_prefix("MEETCTL_") else {
            continue;
        };
        if NON_KEY_ENV.contains(&var.as_str()) {
            continue;
        }
        let name = suffix.to_ascii_lowercase();
        let spec = spec_for(&name).ok_or_else(|| unknown_key(var, "environment"))?;
        reject_empty(var, spec.name, value)?;
        out.push((spec.name, parse_text(spec, value, var)?));
    }
    Ok(out)
}

/// Parses a value given as text (env or flag) according to its key's kind.
fn parse_text(spec: &KeySpec, value: &str, place: &str) -> Result<Raw> {
    match spec.kind {
        Kind::Text | Kind::Span | Kind::Usd => Ok(Raw::Text(value.to_string())),
        Kind::List => Ok(Raw::List(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        )),
        Kind::Seconds | Kind::Millis | Kind::Whole => {
            value.trim().parse::<i64>().map(Raw::Int).map_err(|_| {
                Error::config(
                    spec.name,
                    format!("`{value}` from {place} is not a whole number"),
                    "give a positive integer, e.g. 600",
                )
            })
        }
    }
}

struct Builder {
    layers: BTreeMap<&'static str, (Raw, Source)>,
    provenance: Vec<(&'static str, String, Source)>,
}

impl Builder {
    fn text(&mut self, name: &'static str) -> Option<(String, Source)> {
        match self.layers.get(name) {
            Some((Raw::Text(s), src)) => Some((s.trim().to_string(), *src)),
            _ => None,
        }
    }

    fn record(&mut self, name: &'static str, shown: impl Into<String>, source: Source) {
        self.provenance.push((name, shown.into(), source));
    }

    fn optional(
        &mut self,
        name: &'static str,
        validate: impl Fn(&str) -> Result<String>,
    ) -> Result<Option<String>> {
        match self.text(name) {
            Some((v, src)) if v.is_empty() => {
                self.record(name, "(unset)", src);
                Ok(None)
            }
            Some((v, src)) => {
                let v = validate(&v)?;
                self.record(name, v.clone(), src);
                Ok(Some(v))
            }
            None => {
                self.record(name, "(unset)", Source::Default);
                Ok(None)
            }
        }
    }

    fn with_default(
        &mut self,
        name: &'static str,
        default: String,
        default_source: Source,
        validate: impl Fn(&str) -> Result<String>,
    ) -> Result<String> {
        let (value, source) = self
            .text(name)
            .filter(|(v, _)| !v.is_empty())
            .unwrap_or((default, default_source));
        let value = validate(&value)?;
        self.record(name, value.clone(), source);
        Ok(value)
    }

    fn whole(
        &mut self,
        name: &'static str,
        default: i64,
        validate: impl Fn(i64) -> Result<u32>,
    ) -> Result<u32> {
        let (value, source) = match self.layers.get(name) {
            Some((Raw::Int(i), src)) => (*i, *src),
            _ => (default, Source::Default),
        };
        let value = validate(value)?;
        self.record(name, value.to_string(), source);
        Ok(value)
    }

    /// A span key; `default` None means unset (shown as such).
    fn span(
        &mut self,
        name: &'static str,
        default: Option<u64>,
        range: (u64, u64),
    ) -> Result<Option<Duration>> {
        match (self.text(name), default) {
            (Some((v, src)), _) if !v.is_empty() => {
                let d = validate_span(name, &v, range)?;
                self.record(name, crate::output::human_duration(d), src);
                Ok(Some(d))
            }
            (_, Some(secs)) => {
                let d = Duration::from_secs(secs);
                self.record(name, crate::output::human_duration(d), Source::Default);
                Ok(Some(d))
            }
            (_, None) => {
                self.record(name, "(unset)", Source::Default);
                Ok(None)
            }
        }
    }

    fn duration(&mut self, name: &'static str, default: u64) -> Result<Duration> {
        let spec = spec_for(name).expect("duration keys are in KEYS");
        let (value, source) = match self.layers.get(name) {
            Some((Raw::Int(i), src)) => (*i, *src),
            _ => (default as i64, Source::Default),
        };
        let (unit, max) = match spec.kind {
            Kind::Millis => ("ms", 60_000),
            _ => ("s", 86_400),
        };
        if value <= 0 || value > max {
            return Err(Error::config(
                name,
                format!("{value}{unit} is out of range"),
                format!("give a value from 1 to {max} ({})", spec.help),
            ));
        }
        self.record(name, format!("{value}{unit}"), source);
        Ok(match spec.kind {
            Kind::Millis => Duration::from_millis(value as u64),
            _ => Duration::from_secs(value as u64),
        })
    }
}

fn build(
    layers: BTreeMap<&'static str, (Raw, Source)>,
    config_file: Option<PathBuf>,
) -> Result<Config> {
    let mut b = Builder {
        layers,
        provenance: Vec::new(),
    };
    let project = b.with_default(
        "project",
        DEFAULT_PROJECT.into(),
        Source::Default,
        validate_project,
    )?;
    let domain = b.optional("domain", validate_domain)?;
    let region = b.with_default(
        "region",
        DEFAULT_REGION.into(),
        Source::Default,
        validate_region,
    )?;
    let profile = b.optional("profile", |v| Ok(v.to_string()))?;
    let endpoint_url = b.optional("endpoint_url", validate_endpoint)?;
    let cluster = b.with_default(
        "cluster",
        format!("{project}-cluster"),
        Source::Derived,
        |v| validate_ecs_name("cluster", v),
    )?;
    let service = b.with_default(
        "service",
        format!("{project}-service"),
        Source::Derived,
        |v| validate_ecs_name("service", v),
    )?;
    let subnet_ids = match b.layers.get("subnet_ids").cloned() {
        Some((Raw::List(ids), source)) => {
            let ids = validate_subnets(&ids)?;
            b.record("subnet_ids", ids.join(","), source);
            Some(ids)
        }
        _ => {
            b.record(
                "subnet_ids",
                format!("(by tag Project={project})"),
                Source::Default,
            );
            None
        }
    };
    let security_group_id = match b.text("security_group_id") {
        Some((v, source)) if !v.is_empty() => {
            let v = validate_prefixed_id("security_group_id", &v, "sg-")?;
            b.record("security_group_id", v.clone(), source);
            Some(v)
        }
        _ => {
            b.record(
                "security_group_id",
                format!("(by tag Project={project})"),
                Source::Default,
            );
            None
        }
    };
    let certificate_arn =
        b.optional("certificate_arn", |v| validate_certificate_arn(v, &region))?;
    let hosted_zone_id = b.optional("hosted_zone_id", validate_zone_id)?;
    let ingress = match b
        .with_default("ingress", "nlb".into(), Source::Default, validate_ingress)?
        .as_str()
    {
        "terraform" => Ingress::Terraform,
        _ => Ingress::Nlb,
    };
    let terraform_dir = PathBuf::from(b.with_default(
        "terraform_dir",
        "infra".into(),
        Source::Default,
        |v| Ok(v.to_string()),
    )?);
    let terraform_vars = match b.layers.get("terraform_vars").cloned() {
        Some((Raw::List(vars), source)) => {
            let vars = validate_terraform_vars(&vars)?;
            b.record("terraform_vars", vars.join(","), source);
            vars
        }
        _ => {
            b.record("terraform_vars", "(none)", Source::Default);
            Vec::new()
        }
    };
    if ingress == Ingress::Terraform && !terraform_dir.join("nlb.tf").is_file() {
        return Err(Error::config(
            "terraform_dir",
            format!(
                "{} has no nlb.tf: it is not this project's infra/ directory",
                terraform_dir.display()
            ),
            "set terraform_dir to the infra/ directory you applied (the one with modules/jvb-nlb)",
        ));
    }
    let task = task_shape(&mut b)?;
    let auth = match b
        .with_default("auth", "none".into(), Source::Default, validate_auth)?
        .as_str()
    {
        "internal" => Auth::Internal,
        _ => Auth::None,
    };
    let prices_file = b
        .optional("prices_file", validate_prices_file)?
        .map(PathBuf::from);
    let timeouts = Timeouts {
        nlb_active: b.duration("nlb_active_timeout", 600)?,
        task_running: b.duration("task_running_timeout", 600)?,
        targets_healthy: b.duration("targets_healthy_timeout", 900)?,
        task_stopped: b.duration("task_stopped_timeout", 600)?,
        nlb_deleted: b.duration("nlb_deleted_timeout", 600)?,
    };
    let lock_ttl = b.duration("lock_ttl", 3600)?;
    let poll_interval = b.duration("poll_interval_ms", 2000)?;
    let check = check_settings(&mut b)?;
    let control = control_settings(&mut b)?;
    Ok(Config {
        project,
        domain,
        region,
        profile,
        endpoint_url,
        cluster,
        service,
        subnet_ids,
        security_group_id,
        certificate_arn,
        hosted_zone_id,
        ingress,
        terraform_dir,
        terraform_vars,
        task,
        auth,
        prices_file,
        timeouts,
        lock_ttl,
        poll_interval,
        check,
        control,
        config_file,
        provenance: b.provenance,
    })
}

fn task_shape(b: &mut Builder) -> Result<TaskShape> {
    let cpu = b.whole("task_cpu", 2048, validate_task_cpu)?;
    let memory = b.whole("task_memory", 4096, |m| validate_task_memory(cpu, m))?;
    // X86_64 by default, as in infra/: an aarch64 build of the native
    // jitsi-dcsctp library the pinned JVB's bridge channel loads could not be
    // confirmed (infra/README.md).
    let architecture = match b
        .with_default("cpu_architecture", "X86_64".into(), Source::Default, |v| {
            validate_choice(
                "cpu_architecture",
                v,
                &["ARM64", "X86_64"],
                "a Fargate CPU architecture",
            )
        })?
        .as_str()
    {
        "ARM64" => CpuArchitecture::Arm64,
        _ => CpuArchitecture::X86_64,
    };
    let capacity_provider = match b
        .with_default(
            "capacity_provider",
            "FARGATE".into(),
            Source::Default,
            |v| {
                validate_choice(
                    "capacity_provider",
                    v,
                    &["FARGATE", "FARGATE_SPOT"],
                    "a Fargate capacity provider",
                )
            },
        )?
        .as_str()
    {
        "FARGATE_SPOT" => CapacityProvider::FargateSpot,
        _ => CapacityProvider::Fargate,
    };
    if capacity_provider == CapacityProvider::FargateSpot && architecture != CpuArchitecture::X86_64
    {
        return Err(Error::config(
            "capacity_provider",
            "FARGATE_SPOT needs cpu_architecture = X86_64: Fargate Spot does not run ARM64 tasks",
            "set cpu_architecture = \"X86_64\" or capacity_provider = \"FARGATE\" (as in infra/)",
        ));
    }
    Ok(TaskShape {
        cpu,
        memory,
        architecture,
        capacity_provider,
    })
}

fn check_settings(b: &mut Builder) -> Result<CheckSettings> {
    let socket = |key: &'static str, default_port: u16| {
        move |v: &str| validate_socket_address(key, v, default_port).map(|a| a.to_string())
    };
    let parse = |v: Option<String>| v.map(|a| a.parse().expect("validated socket address"));
    Ok(CheckSettings {
        resolver: parse(b.optional("check_resolver", socket("check_resolver", 53))?),
        address: parse(b.optional("check_address", socket("check_address", 443))?),
        turn_address: parse(b.optional(
            "check_turn_address",
            socket("check_turn_address", crate::names::TURNS_PORT as u16),
        )?),
        ca_file: b
            .optional("check_ca_file", validate_ca_file)?
            .map(PathBuf::from),
        timeout: b.duration("check_timeout", 10)?,
        retry_timeout: b.duration("check_retry_timeout", 900)?,
    })
}

fn control_settings(b: &mut Builder) -> Result<ControlSettings> {
    const MINUTE: u64 = 60;
    const DAY: u64 = 86_400;
    let idle_timeout = b.span("idle_timeout", Some(15 * MINUTE), (MINUTE, DAY))?;
    let idle_grace = b.span("idle_grace", Some(10 * MINUTE), (0, DAY))?;
    let max_uptime = b.span("max_uptime", None, (5 * MINUTE, 31 * DAY))?;
    let monthly_budget_usd = b
        .optional("monthly_budget_usd", validate_budget)?
        .map(|v| v.parse().expect("validated amount"));
    Ok(ControlSettings {
        idle_timeout: idle_timeout.expect("has a default"),
        idle_grace: idle_grace.expect("has a default"),
        max_uptime,
        monthly_budget_usd,
    })
}

/// `90s`, `15m`, `2h`, `1h30m`, `7d`, or whole seconds; None when malformed.
pub fn parse_span(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: u64 = std::mem::take(&mut number).parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (number.is_empty() && !text.is_empty()).then(|| Duration::from_secs(total))
}

/// A span for `key` between `min` and `max` seconds, as an error naming the key.
pub fn validate_span(key: &str, text: &str, (min, max): (u64, u64)) -> Result<Duration> {
    let shown = |s: u64| crate::output::human_duration(Duration::from_secs(s));
    match parse_span(text) {
        Some(d) if (min..=max).contains(&d.as_secs()) => Ok(d),
        Some(_) => Err(Error::config(
            key,
            format!("`{text}` is out of range"),
            format!(
                "give a span from {} to {}, e.g. 15m or 2h",
                shown(min),
                shown(max)
            ),
        )),
        None => Err(Error::config(
            key,
            format!("`{text}` is not a span of time"),
            "write it as a number with a unit: 90s, 15m, 2h, 1h30m or 7d",
        )),
    }
}

fn validate_budget(v: &str) -> Result<String> {
    match v.parse::<f64>() {
        Ok(usd) if usd.is_finite() && usd > 0.0 => Ok(format!("{usd}")),
        _ => Err(Error::config(
            "monthly_budget_usd",
            format!("`{v}` is not a positive amount in USD"),
            "give an amount such as 25 or 12.50, or unset monthly_budget_usd for no budget",
        )),
    }
}

/// `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address; a missing port is `default_port`.
fn validate_socket_address(key: &str, v: &str, default_port: u16) -> Result<std::net::SocketAddr> {
    use std::net::{IpAddr, SocketAddr};
    v.parse::<SocketAddr>()
        .or_else(|_| v.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, default_port)))
        .map_err(|_| {
            Error::config(
                key,
                format!("`{v}` is not an IP address with an optional port"),
                format!("give an address such as 192.0.2.10 or 192.0.2.10:{default_port} ([2001:db8::1]:{default_port} for IPv6), or unset {key}"),
            )
        })
}

fn validate_ca_file(v: &str) -> Result<String> {
    match std::fs::read_to_string(v) {
        Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => Ok(v.to_string()),
        Ok(_) => Err(Error::config(
            "check_ca_file",
            format!("{v} holds no PEM certificate"),
            "give a PEM file with one or more -----BEGIN CERTIFICATE----- blocks",
        )),
        Err(e) => Err(Error::config(
            "check_ca_file",
            format!("cannot read {v}: {e}"),
            "give the path of a readable PEM file, or unset check_ca_file",
        )),
    }
}

fn validate_task_cpu(v: i64) -> Result<u32> {
    match v {
        1024 | 2048 | 4096 | 8192 | 16384 => Ok(v as u32),
        _ => Err(Error::config(
            "task_cpu",
            format!("{v} is not a Fargate task size infra/ accepts"),
            "use 1024, 2048, 4096, 8192 or 16384 (1024 = 1 vCPU), the task_cpu of infra/",
        )),
    }
}

/// Valid Fargate memory (MiB) for a CPU size, the same table as infra/variables.tf.
fn validate_task_memory(cpu: u32, v: i64) -> Result<u32> {
    let (min, max, step) = match cpu {
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        _ => (32768, 122880, 8192),
    };
    if (min..=max).contains(&v) && v % step == 0 {
        Ok(v as u32)
    } else {
        Err(Error::config(
            "task_memory",
            format!("{v} MiB is not a valid Fargate memory size for task_cpu {cpu}"),
            format!("use {min}..{max} MiB in steps of {step}, the task_memory of infra/"),
        ))
    }
}

/// One of `allowed` (upper case), as infra/ spells it.
fn validate_choice(key: &str, v: &str, allowed: &[&str], what: &str) -> Result<String> {
    let upper = v.to_ascii_uppercase();
    if allowed.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Error::config(
            key,
            format!("`{v}` is not {what}"),
            format!("use {}, the {key} of infra/", allowed.join(" or ")),
        ))
    }
}

fn validate_prices_file(v: &str) -> Result<String> {
    if Path::new(v).is_file() {
        Ok(v.to_string())
    } else {
        Err(Error::config(
            "prices_file",
            format!("{v} does not exist or is not a file"),
            "give the path of a TOML file shaped like data/prices.toml, or unset prices_file",
        ))
    }
}

fn validate_project(v: &str) -> Result<String> {
    // The NLB is named `<project>-nlb`, and CreateLoadBalancer rejects names
    // that "must not begin with \"internal-\"" (Elastic Load Balancing API
    // Reference, CreateLoadBalancer, request parameter Name): `internal`
    // itself would make `internal-nlb`.
    if v == "internal" || v.starts_with("internal-") {
        return Err(Error::config(
            "project",
            format!("`{v}` would name the load balancer `{v}-nlb`, and AWS rejects load balancer names that begin with `internal-`"),
            "choose a project name that does not begin with `internal-` (e.g. `meet-internal`)",
        ));
    }
    let ok = (3..=28).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && !v.ends_with('-')
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(v.to_string())
    } else {
        Err(Error::config(
            "project",
            format!("`{v}` is not a valid project name"),
            "use 3-28 lowercase letters, digits and hyphens, starting with a letter (the NLB name `<project>-nlb` must fit AWS's 32 characters)",
        ))
    }
}

fn validate_domain(v: &str) -> Result<String> {
    let fix = "give a bare host name such as meet.example.org (no scheme, port or path)";
    let bare = v.trim_start_matches('[').trim_end_matches(']');
    // The domain gets a DNS record, a certificate and Jitsi's PUBLIC_URL:
    // an address can have none of them. A name whose last label is all
    // digits parses as an IPv4 address in browsers (WHATWG URL) and is no
    // valid top-level domain either.
    let last_label = v.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    if bare.parse::<std::net::IpAddr>().is_ok()
        || (!last_label.is_empty() && last_label.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(Error::config(
            "domain",
            format!("`{v}` is an IP address, not a domain name"),
            "give the host name people will open, such as meet.example.org (it needs a DNS record and, for https, a certificate)",
        ));
    }
    if v.contains("://") || v.contains('/') || v.contains(':') {
        return Err(Error::config(
            "domain",
            format!("`{v}` is a URL, not a host name"),
            fix,
        ));
    }
    let host = v.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(Error::config(
            "domain",
            format!("`{v}` is not a valid host name"),
            fix,
        ));
    }
    Ok(host)
}

fn validate_region(v: &str) -> Result<String> {
    if KNOWN_REGIONS.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(Error::config(
            "region",
            format!("`{v}` is not an AWS region meetctl knows"),
            "use a region code such as us-east-1 or eu-central-1",
        ))
    }
}

fn validate_endpoint(v: &str) -> Result<String> {
    match url::Url::parse(v) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            Ok(v.trim_end_matches('/').to_string())
        }
        _ => Err(Error::config(
            "endpoint_url",
            format!("`{v}` is not an http(s) URL"),
            "give a URL such as http://127.0.0.1:5000, or unset it to use AWS",
        )),
    }
}

fn validate_ecs_name(key: &str, v: &str) -> Result<String> {
    if !v.is_empty()
        && v.len() <= 255
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(v.to_string())
    } else {
        Err(Error::config(
            key,
            format!("`{v}` is not a valid ECS name"),
            "use letters, digits, hyphens and underscores (the name Terraform gave it)",
        ))
    }
}

fn validate_prefixed_id(key: &str, v: &str, prefix: &str) -> Result<String> {
    let hex = v.strip_prefix(prefix).unwrap_or("");
    if (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(v.to_string())
    } else {
        Err(Error::config(
            key,
            format!("`{v}` is not a valid id"),
            format!("give an id like {prefix}0123456789abcdef0 (see `terraform output`)"),
        ))
    }
}

fn validate_subnets(ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Err(Error::config(
            "subnet_ids",
            "the list is empty",
            "list at least one public subnet id, or remove the key to find subnets by tag Project",
        ));
    }
    ids.iter()
        .map(|id| validate_prefixed_id("subnet_ids", id, "subnet-"))
        .collect()
}

fn validate_certificate_arn(v: &str, region: &str) -> Result<String> {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("certificate/")
            .is_some_and(|id| !id.is_empty());
    if !well_formed {
        return Err(Error::config(
            "certificate_arn",
            format!("`{v}` is not an ACM certificate ARN"),
            "copy the ARN from ACM: arn:aws:acm:<region>:<account>:certificate/<id>",
        ));
    }
    if parts[3] != region {
        return Err(Error::config(
            "certificate_arn",
            format!("the certificate is in {} but region is {region}", parts[3]),
            format!("a load balancer needs an ACM certificate from its own region: request or import one in {region}"),
        ));
    }
    Ok(v.to_string())
}

fn validate_zone_id(v: &str) -> Result<String> {
    let id = v.trim_start_matches("/hostedzone/");
    if (2..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Ok(id.to_string())
    } else {
        Err(Error::config(
            "hosted_zone_id",
            format!("`{v}` is not a Route53 hosted zone id"),
            "give the zone id such as Z0123456789ABCDEFGHIJ (Route53 console or `aws route53 list-hosted-zones`)",
        ))
    }
}

fn validate_ingress(v: &str) -> Result<String> {
    match v {
        "nlb" | "terraform" => Ok(v.to_string()),
        "direct" | "express" => Err(Error::config(
            "ingress",
            format!("`{v}` is planned but not available in this version"),
            "use ingress = \"nlb\" (or \"terraform\")",
        )),
        _ => Err(Error::config(
            "ingress",
            format!("`{v}` is not an ingress mode"),
            "use ingress = \"nlb\" or \"terraform\"",
        )),
    }
}

fn validate_auth(v: &str) -> Result<String> {
    match v {
        "none" | "internal" => Ok(v.to_string()),
        _ => Err(Error::config(
            "auth",
            format!("`{v}` is not an authentication mode"),
            "use auth = \"none\" (anyone opens a room) or \"internal\" (accounts from `meetctl users add`), the `auth` of infra/",
        )),
    }
}

fn validate_terraform_vars(vars: &[String]) -> Result<Vec<String>> {
    for v in vars {
        let name = v.split_once('=').map(|(n, _)| n).unwrap_or("");
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::config(
                "terraform_vars",
                format!("`{v}` is not name=value"),
                "write each as \"name=value\", e.g. \"domain_name=meet.example.org\"",
            ));
        }
        if name == "nlb_enabled" || name == "nlb_eip_allocation_id" {
            return Err(Error::config(
                "terraform_vars",
                format!("`{name}` is set by meetctl itself"),
                format!("remove {name} from terraform_vars"),
            ));
        }
    }
    Ok(vars.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(
        file: Option<&str>,
        env: &[(&str, &str)],
        flags: &[(&str, &str)],
    ) -> (Inputs, Option<tempfile::NamedTempFile>) {
        let tmp = file.map(|text| {
            let f = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(f.path(), text).unwrap();
            f
        });
        let mut fl = FlagValues::default();
        for (k, v) in flags {
            fl.set(k, *v);
        }
        let inputs = Inputs {
            explicit_path: tmp.as_ref().map(|f| f.path().to_path_buf()),
            default_path: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flags: fl,
        };
        (inputs, tmp)
    }

    fn load(file: Option<&str>, env: &[(&str, &str)], flags: &[(&str, &str)]) -> Result<Config> {
        let (i, _tmp) = inputs(file, env, flags);
        Config::load(&i)
    }

    /// The default of `variable "<name>"` in infra/variables.tf, as written there.
    fn infra_default(name: &str) -> String {
        let variables = include_str!("../infra/variables.tf");
        let block = variables
            .split(&format!("variable \"{name}\" {{"))
            .nth(1)
            .unwrap_or_else(|| panic!("infra/variables.tf has no variable {name}"));
        block
            .lines()
            .find_map(|l| l.trim().strip_prefix("default"))
            .and_then(|rest| rest.trim().strip_prefix('='))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("variable {name} in infra/variables.tf has no default"))
    }

    fn source_of(c: &Config, key: &str) -> Source {
        c.provenance.iter().find(|(k, _, _)| *k == key).unwrap().2
    }

    fn err_key(r: Result<Config>) -> String {
        match r {
            Err(Error::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_derive_from_project() {
        let c = load(None, &[], &[]).unwrap();
        assert_eq!(c.project, DEFAULT_PROJECT);
        assert_eq!(c.cluster, "jitsi-video-platform-cluster");
        assert_eq!(c.service, "jitsi-video-platform-service");
        assert_eq!(c.region, "us-east-1");
        assert_eq!(source_of(&c, "cluster"), Source::Derived);
        let c = load(Some("project = \"demo\""), &[], &[]).unwrap();
        assert_eq!(c.service, "demo-service");
    }

    #[test]
    fn precedence_flag_over_env_over_file_over_aws_env() {
        let file = "region = \"eu-west-1\"\ndomain = \"file.example.org\"\nproject = \"fromfile\"";
        let env = [
            ("MEETCTL_DOMAIN", "env.example.org"),
            ("AWS_REGION", "us-west-2"),
            ("MEETCTL_PROJECT", "fromenv"),
        ];
        let c = load(Some(file), &env, &[("project", "fromflag")]).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(source_of(&c, "region"), Source::File);
        assert_eq!(c.domain.as_deref(), Some("env.example.org"));
        assert_eq!(source_of(&c, "domain"), Source::Env);
        assert_eq!(c.project, "fromflag");
        assert_eq!(source_of(&c, "project"), Source::Flag);
        let c = load(None, &[("AWS_REGION", "us-west-2")], &[]).unwrap();
        assert_eq!(
            (c.region.as_str(), source_of(&c, "region")),
            ("us-west-2", Source::AwsEnv)
        );
    }

    #[test]
    fn lists_and_durations_from_each_layer() {
        let c = load(
            Some("subnet_ids = [\"subnet-0123456789abcdef0\"]\nnlb_active_timeout = 30"),
            &[("MEETCTL_POLL_INTERVAL_MS", "50")],
            &[],
        )
        .unwrap();
        assert_eq!(c.subnet_ids.unwrap(), vec!["subnet-0123456789abcdef0"]);
        assert_eq!(c.timeouts.nlb_active, Duration::from_secs(30));
        assert_eq!(c.poll_interval, Duration::from_millis(50));
        let c = load(
            None,
            &[(
                "MEETCTL_SUBNET_IDS",
                "subnet-0123456789abcdef0, subnet-abcdef01",
            )],
            &[],
        )
        .unwrap();
        assert_eq!(c.subnet_ids.unwrap().len(), 2);
    }

    #[test]
    fn bad_values_name_their_key() {
        assert_eq!(err_key(load(Some("colour = \"blue\""), &[], &[])), "colour");
        assert_eq!(
            err_key(load(None, &[("MEETCTL_COLOUR", "x")], &[])),
            "MEETCTL_COLOUR"
        );
        assert_eq!(
            err_key(load(None, &[], &[("domain", "https://meet.example.org")])),
            "domain"
        );
        assert_eq!(
            err_key(load(None, &[], &[("domain", "meet.example.org/path")])),
            "domain"
        );
        assert_eq!(
            err_key(load(None, &[], &[("domain", "localhost")])),
            "domain"
        );
        assert_eq!(err_key(load(None, &[], &[("region", "mars-1")])), "region");
        assert_eq!(
            err_key(load(Some("nlb_active_timeout = 0"), &[], &[])),
            "nlb_active_timeout"
        );
        assert_eq!(
            err_key(load(None, &[("MEETCTL_TASK_RUNNING_TIMEOUT", "-5")], &[])),
            "task_running_timeout"
        );
        assert_eq!(
            err_key(load(None, &[("MEETCTL_TASK_RUNNING_TIMEOUT", "ten")], &[])),
            "task_running_timeout"
        );
        assert_eq!(
            err_key(load(Some("nlb_active_timeout = \"10m\""), &[], &[])),
            "nlb_active_timeout"
        );
        assert_eq!(
            err_key(load(Some("subnet_ids = []"), &[], &[])),
            "subnet_ids"
        );
        assert_eq!(
            err_key(load(
                Some("subnet_ids = \"subnet-0123456789abcdef0\""),
                &[],
                &[]
            )),
            "subnet_ids"
        );
        assert_eq!(
            err_key(load(None, &[], &[("security_group_id", "0123")])),
            "security_group_id"
        );
        assert_eq!(
            err_key(load(
                None,
                &[],
                &[("certificate_arn", "arn:aws:acm:us-east-1:123:cert")]
            )),
            "certificate_arn"
        );
        assert_eq!(
            err_key(load(None, &[], &[("hosted_zone_id", "zone-1")])),
            "hosted_zone_id"
        );
        assert_eq!(
            err_key(load(None, &[], &[("ingress", "express")])),
            "ingress"
        );
        assert_eq!(
            err_key(load(None, &[], &[("project", "Jitsi_Prod")])),
            "project"
        );
        assert_eq!(
            err_key(load(None, &[], &[("endpoint_url", "localhost:5000")])),
            "endpoint_url"
        );
        assert_eq!(
            err_key(load(None, &[], &[("cluster", "bad name")])),
            "cluster"
        );
        assert!(err_key(load(Some("region = "), &[], &[])).starts_with("--config"));
    }

    #[test]
    fn an_ip_address_is_not_a_domain() {
        for ip in [
            "192.0.2.10",
            "10.0.0.1.",
            "2001:db8::1",
            "[2001:db8::1]",
            "203.0.113",
        ] {
            let err = load(None, &[], &[("domain", ip)]).unwrap_err().to_string();
            assert!(
                err.contains("`domain`") && err.contains("IP address"),
                "{ip}: {err}"
            );
        }
        let c = load(None, &[], &[("domain", "meet1.example.org")]).unwrap();
        assert_eq!(c.domain.as_deref(), Some("meet1.example.org"));
    }

    #[test]
    fn a_project_cannot_make_an_internal_load_balancer_name() {
        for project in ["internal-meet", "internal"] {
            let err = load(None, &[], &[("project", project)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`project`") && err.contains("internal-"),
                "{err}"
            );
        }
        assert_eq!(
            load(None, &[], &[("project", "meet-internal")])
                .unwrap()
                .project,
            "meet-internal"
        );
    }

    #[test]
    fn an_empty_value_is_an_error_naming_where_it_was_given() {
        assert_eq!(
            err_key(load(None, &[("MEETCTL_REGION", "")], &[])),
            "MEETCTL_REGION"
        );
        assert_eq!(
            err_key(load(None, &[("MEETCTL_PROJECT", "  ")], &[])),
            "MEETCTL_PROJECT"
        );
        assert_eq!(
            err_key(load(None, &[("MEETCTL_CONFIG", "")], &[])),
            "MEETCTL_CONFIG"
        );
        let mut flags = FlagValues::default();
        flags.set("project", "");
        let i = Inputs {
            flags,
            ..Default::default()
        };
        assert_eq!(err_key(Config::load(&i)), "--project");
        let mut flags = FlagValues::default();
        flags.set_pair("lock_ttl=").unwrap();
        let i = Inputs {
            flags,
            ..Default::default()
        };
        assert_eq!(err_key(Config::load(&i)), "--set lock_ttl");
        assert!(err_key(load(Some("region = \"\""), &[], &[])).starts_with("region in "));
        // The AWS SDK's own variables keep the SDK's meaning: empty is unset.
        assert_eq!(
            load(None, &[("AWS_REGION", "")], &[]).unwrap().region,
            "us-east-1"
        );
    }

    #[test]
    fn certificate_must_be_in_the_configured_region() {
        let arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123";
        let err = load(None, &[], &[("certificate_arn", arn)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("eu-west-1") && err.contains("us-east-1"),
            "{err}"
        );
        let c = load(
            None,
            &[],
            &[("certificate_arn", arn), ("region", "eu-west-1")],
        )
        .unwrap();
        assert_eq!(c.certificate_arn.as_deref(), Some(arn));
    }

    #[test]
    fn explicit_missing_config_file_is_an_error() {
        let i = Inputs {
            explicit_path: Some("/nonexistent/meetctl.toml".into()),
            ..Default::default()
        };
        assert_eq!(err_key(Config::load(&i)), "--config");
    }

    #[test]
    fn domain_is_normalised_and_required_for_up() {
        let c = load(None, &[], &[("domain", "Meet.Example.org.")]).unwrap();
        assert_eq!(c.require_domain().unwrap(), "meet.example.org");
        let c = load(None, &[], &[]).unwrap();
        assert!(matches!(c.require_domain(), Err(Error::Config { key, .. }) if key == "domain"));
    }

    #[test]
    fn task_shape_defaults_match_infra_and_layers_apply() {
        let c = load(None, &[], &[]).unwrap();
        assert_eq!((c.task.cpu, c.task.memory), (2048, 4096));
        assert_eq!(c.task.architecture, CpuArchitecture::X86_64);
        assert_eq!(c.task.capacity_provider, CapacityProvider::Fargate);
        assert_eq!(
            [
                infra_default("task_cpu"),
                infra_default("task_memory"),
                infra_default("cpu_architecture"),
                infra_default("capacity_provider"),
            ],
            ["2048", "4096", "\"X86_64\"", "\"FARGATE\""],
            "infra/variables.tf and meetctl's defaults must describe the same task"
        );
        assert!(c.prices_file.is_none());
        assert_eq!(source_of(&c, "task_cpu"), Source::Default);
        let file = "task_cpu = 4096\ntask_memory = 8192\ncpu_architecture = \"X86_64\"";
        let c = load(
            Some(file),
            &[("MEETCTL_CAPACITY_PROVIDER", "fargate_spot")],
            &[],
        )
        .unwrap();
        assert_eq!(
            (c.task.cpu, c.task.memory, c.task.architecture),
            (4096, 8192, CpuArchitecture::X86_64)
        );
        assert_eq!(c.task.capacity_provider, CapacityProvider::FargateSpot);
        assert_eq!(
            (
                source_of(&c, "task_cpu"),
                source_of(&c, "capacity_provider")
            ),
            (Source::File, Source::Env)
        );
        let prices = tempfile::NamedTempFile::new().unwrap();
        let c = load(
            None,
            &[],
            &[("prices_file", prices.path().to_str().unwrap())],
        )
        .unwrap();
        assert_eq!(c.prices_file.as_deref(), Some(prices.path()));
    }

    #[test]
    fn check_settings_default_and_validate() {
        let c = load(None, &[], &[]).unwrap();
        assert_eq!(c.check.timeout, Duration::from_secs(10));
        assert_eq!(c.check.retry_timeout, Duration::from_secs(900));
        assert!(c.check.resolver.is_none() && c.check.address.is_none());
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            ca.path(),
            "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let c = load(
            None,
            &[("MEETCTL_CHECK_RESOLVER", "127.0.0.1:5353")],
            &[
                ("check_address", "::1"),
                ("check_ca_file", ca.path().to_str().unwrap()),
                ("check_timeout", "3"),
            ],
        )
        .unwrap();
        assert_eq!(c.check.resolver.unwrap().to_string(), "127.0.0.1:5353");
        assert_eq!(c.check.address.unwrap().to_string(), "[::1]:443");
        assert_eq!(c.check.ca_file.as_deref(), Some(ca.path()));
        assert_eq!(c.check.timeout, Duration::from_secs(3));
        let c = load(None, &[], &[("check_resolver", "10.0.0.2")]).unwrap();
        assert_eq!(c.check.resolver.unwrap().port(), 53);
        for (key, value) in [
            ("check_resolver", "dns.example.org"),
            ("check_address", "127.0.0.1:99999"),
            ("check_ca_file", "/nonexistent/ca.pem"),
            ("check_timeout", "0"),
        ] {
            assert_eq!(err_key(load(None, &[], &[(key, value)])), key);
        }
        let not_pem = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(not_pem.path(), "hello").unwrap();
        assert_eq!(
            err_key(load(
                None,
                &[],
                &[("check_ca_file", not_pem.path().to_str().unwrap())]
            )),
            "check_ca_file"
        );
    }

    #[test]
    fn auth_defaults_to_none_and_accepts_only_known_modes() {
        let c = load(None, &[], &[]).unwrap();
        assert_eq!(c.auth, Auth::None);
        assert_eq!(source_of(&c, "auth"), Source::Default);
        let c = load(Some("auth = \"internal\""), &[], &[]).unwrap();
        assert_eq!(
            (c.auth, source_of(&c, "auth")),
            (Auth::Internal, Source::File)
        );
        for bad in ["jwt", "ldap", "Internal", "yes"] {
            assert_eq!(err_key(load(None, &[("MEETCTL_AUTH", bad)], &[])), "auth");
        }
    }

    #[test]
    fn control_caps_default_parse_and_validate() {
        let c = load(None, &[], &[]).unwrap();
        assert_eq!(c.control.idle_timeout, Duration::from_secs(900));
        assert_eq!(c.control.idle_grace, Duration::from_secs(600));
        assert!(c.control.max_uptime.is_none() && c.control.monthly_budget_usd.is_none());
        let c = load(
            Some("idle_timeout = \"20m\"\nmonthly_budget_usd = 12.5\nmax_uptime = 7200"),
            &[("MEETCTL_IDLE_GRACE", "1h30m")],
            &[("max_uptime", "8h")],
        )
        .unwrap();
        assert_eq!(c.control.idle_timeout, Duration::from_secs(1200));
        assert_eq!(c.control.idle_grace, Duration::from_secs(5400));
        assert_eq!(c.control.max_uptime, Some(Duration::from_secs(8 * 3600)));
        assert_eq!(c.control.monthly_budget_usd, Some(12.5));
        assert_eq!(source_of(&c, "max_uptime"), Source::Flag);
        let c = load(Some("monthly_budget_usd = 30"), &[], &[]).unwrap();
        assert_eq!(c.control.monthly_budget_usd, Some(30.0));
        for (key, value) in [
            ("idle_timeout", "fifteen"),
            ("idle_timeout", "10s"),
            ("idle_timeout", "15x"),
            ("idle_timeout", "m"),
            ("max_uptime", "60d"),
            ("monthly_budget_usd", "-3"),
            ("monthly_budget_usd", "ten"),
            ("monthly_budget_usd", "0"),
        ] {
            assert_eq!(
                err_key(load(None, &[], &[(key, value)])),
                key,
                "{key}={value}"
            );
        }
        assert_eq!(
            err_key(load(Some("monthly_budget_usd = \"lots\""), &[], &[])),
            "monthly_budget_usd"
        );
        assert_eq!(
            err_key(load(Some("idle_timeout = true"), &[], &[])),
            "idle_timeout"
        );
    }

    #[test]
    fn spans_read_like_people_write_them() {
        let s = |t: &str| parse_span(t).map(|d| d.as_secs());
        assert_eq!(s("90"), Some(90));
        assert_eq!(s("90s"), Some(90));
        assert_eq!(s("15m"), Some(900));
        assert_eq!(s("2h"), Some(7200));
        assert_eq!(s("1h30m"), Some(5400));
        assert_eq!(s("7d"), Some(604_800));
        for bad in ["", "h", "2h30", "2 h", "-5m", "1.5h"] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_task_shape_names_its_key() {
        assert_eq!(
            err_key(load(None, &[], &[("task_cpu", "3000")])),
            "task_cpu"
        );
        assert_eq!(err_key(load(None, &[], &[("task_cpu", "two")])), "task_cpu");
        assert_eq!(
            err_key(load(Some("task_cpu = \"2048\""), &[], &[])),
            "task_cpu"
        );
        assert_eq!(
            err_key(load(None, &[], &[("task_memory", "2048")])),
            "task_memory"
        );
        assert_eq!(
            err_key(load(None, &[], &[("task_memory", "4500")])),
            "task_memory"
        );
        assert_eq!(
            err_key(load(None, &[], &[("cpu_architecture", "riscv")])),
            "cpu_architecture"
        );
        assert_eq!(
            err_key(load(None, &[], &[("capacity_provider", "EC2")])),
            "capacity_provider"
        );
        assert_eq!(
            err_key(load(
                None,
                &[],
                &[
                    ("cpu_architecture", "ARM64"),
                    ("capacity_provider", "FARGATE_SPOT")
                ]
            )),
            "capacity_provider"
        );
        // The default architecture (X86_64) runs on Fargate Spot.
        assert!(load(None, &[], &[("capacity_provider", "FARGATE_SPOT")]).is_ok());
        assert_eq!(
            err_key(load(
                None,
                &[],
                &[("prices_file", "/nonexistent/prices.toml")]
            )),
            "prices_file"
        );
    }
}
