//! Command-line parsing and dispatch. Kept apart from the commands so the
//! commands can be driven from tests without a process.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::config::{Config, FlagValues, Inputs};
use crate::error::{exit, Error};
use crate::state::Verdict;
use crate::{aws, output, Context};

fn after_help() -> String {
    let width = crate::config::key_help()
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    let keys: Vec<String> = crate::config::key_help()
        .iter()
        .map(|(k, help)| format!("  {k:width$}  {help}"))
        .collect();
    format!(
        "Configuration: flags > MEETCTL_<KEY> environment > meetctl.toml > AWS_REGION/AWS_PROFILE/AWS_ENDPOINT_URL > defaults; \
         an empty value (--project \"\", MEETCTL_REGION=) is an error, never the default. \
         `meetctl config show` prints each value and its source. Keys:\n{}\n\n\
         Typical use:\n  \
         meetctl up --domain meet.example.org   bring a meeting site online (minutes)\n  \
         meetctl status                         what runs, what it costs so far\n  \
         meetctl check                          prove a meeting can happen, link by link\n  \
         meetctl test-platform                  up → check → down as one self-test, with a report\n  \
         meetctl down                           remove every billable piece\n  \
         meetctl history                        the last ups and downs, who or what triggered them, their cost\n  \
         meetctl cost                           idle, hourly and monthly cost against the alternatives\n  \
         meetctl users add alice                an account for the secure domain (auth = \"internal\")\n\n\
         Exit codes:\n  \
         0  ok\n  \
         1  failed (the message says what exists and how to converge)\n  \
         2  bad input or failed preflight (nothing created)\n  \
         3  status DEGRADED\n  \
         4  another run holds the lifecycle lock",
        keys.join("\n")
    )
}

/// On-demand, scale-to-zero Jitsi Meet on AWS.
///
/// Terraform (infra/) keeps what is free while idle; meetctl creates what bills by the
/// hour (Elastic IP, network load balancer, running task, DNS record) on `up` and removes
/// all of it on `down`.
#[derive(Parser, Debug)]
#[command(name = "meetctl", version, after_help = after_help())]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// Configuration file [default: ./meetctl.toml; env MEETCTL_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More logs on stderr: -v meetctl's debug log, -vv also the AWS SDK's
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Project name; resource names and tags derive from it; not `internal-…` (AWS
    /// refuses such load balancer names) [default: jitsi-video-platform]
    #[arg(long, global = true)]
    pub project: Option<String>,
    /// Host name of the meeting site, e.g. meet.example.org (required by `up`)
    #[arg(long, global = true)]
    pub domain: Option<String>,
    /// AWS region; prices known for us-east-1, us-east-2, us-west-2, eu-west-1,
    /// eu-central-1, ap-southeast-2 (elsewhere: "price unknown", add a prices_file)
    /// [default: us-east-1]
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS shared-config profile
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS endpoint override, e.g. a local emulator at http://127.0.0.1:5000
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// ECS cluster [default: <project>-cluster]
    #[arg(long, global = true)]
    pub cluster: Option<String>,
    /// ECS service [default: <project>-service]
    #[arg(long, global = true)]
    pub service: Option<String>,
    /// Comma-separated public subnet ids [default: found by tag Project=<project>]
    #[arg(long, global = true, value_name = "IDS")]
    pub subnet_ids: Option<String>,
    /// Task security group [default: tagged Project=<project>; named <project>-task if several are]
    #[arg(long, global = true, value_name = "ID")]
    pub security_group_id: Option<String>,
    /// ACM certificate for TLS 443 on the load balancer (without it: plain TCP 80 and
    /// http://, where browsers refuse camera and microphone)
    #[arg(long, global = true, value_name = "ARN")]
    pub certificate_arn: Option<String>,
    /// Route53 hosted zone for the domain's alias record (without it: DNS is yours)
    #[arg(long, global = true, value_name = "ID")]
    pub hosted_zone_id: Option<String>,
    /// How traffic reaches the task: nlb (meetctl creates the NLB) or terraform (infra/ jvb-nlb module)
    #[arg(long, global = true, value_name = "MODE")]
    pub ingress: Option<String>,
    /// Set any configuration key, e.g. --set targets_healthy_timeout=1200
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Bring the meeting site online: address, load balancer, task (ECS keeps it registered
    /// in the target groups), DNS
    Up {
        /// Print the ordered plan; make no change (only read calls)
        #[arg(long)]
        dry_run: bool,
        /// A one-off cap: the control plane takes the platform down this long
        /// after `up`, even with people in it (e.g. 2h, 90m, 1h30m)
        #[arg(long = "for", value_name = "SPAN")]
        for_span: Option<String>,
    },
    /// Remove every billable piece and prove nothing tagged for the project remains
    Down {
        /// Print the ordered plan; make no change (only read calls)
        #[arg(long)]
        dry_run: bool,
    },
    /// Show what runs and its health: ACTIVE, IDLE, TRANSITIONAL or DEGRADED (exit 3)
    Status {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Repair: register the running task's IP in every target group (JVB, web, TURN) and
    /// deregister stale IPs (ECS normally registers the service's tasks itself)
    RegisterTargets {
        /// Do not wait for the targets to become healthy
        #[arg(long)]
        no_wait: bool,
    },
    /// Prove a meeting can happen: ECS, load balancer, media wiring, DNS, a real TURN
    /// allocation (the fallback when UDP is blocked), HTTPS, XMPP WebSocket and BOSH,
    /// each PASS/WARN/FAIL/SKIP with the fix (exit 1 on any FAIL)
    Check {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// The whole lifecycle as a test: preflight, up, check until it passes, down, and
    /// proof nothing billable remains; down runs on failure and on SIGINT/SIGTERM
    TestPlatform(commands::test_platform::TestPlatformArgs),
    /// Cost: idle per month, per hour up, monthly scenarios and break-even against the
    /// alternatives (offline); --actual: the month's bill from Cost Explorer next to the model
    Cost(commands::cost::CostArgs),
    /// Print the least-privilege IAM policy (JSON) for running meetctl on this project:
    /// writes scoped to its names and tags, tagging only while creating
    /// (e.g. `meetctl iam-policy > meetctl-operator.json`)
    IamPolicy,
    /// Accounts of the secure domain (auth = "internal"): who may open a room. Runs
    /// prosodyctl in the running task's prosody container through ECS Exec (needs
    /// session-manager-plugin on PATH); guests join open rooms without an account
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The last ups and downs: when, who or what triggered them (a person, the
    /// control plane and why), how long the platform ran and what it cost;
    /// this month's hours against monthly_budget_usd
    History {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Wake on visit: the front door that serves "This meeting server is asleep. Start it"
    /// on the meeting domain while the platform is down (infra/ front_door_enabled)
    FrontDoor {
        #[command(subcommand)]
        command: commands::front_door::FrontDoorCommand,
    },
    /// Inspect the configuration
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create an account. The password is asked twice on the terminal (no echo), or
    /// read from the first line of stdin when stdin is not a terminal; there is no
    /// password flag. It reaches prosodyctl only through the session's stdin
    Add {
        /// User name: lowercase letters, digits, `.`, `_`, `-` (logs in as USER)
        user: String,
    },
    /// Delete an account
    Remove {
        /// User name
        user: String,
    },
    /// Print the accounts, one per line
    List,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration and where each value came from
    Show {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
    },
    /// Print a meetctl.toml made from `terraform output -json` of the applied infra/
    /// (e.g. `meetctl config import-terraform infra > meetctl.toml`)
    ImportTerraform {
        /// The infra/ directory you applied
        #[arg(default_value = "infra")]
        dir: PathBuf,
    },
}

fn flag_values(g: &GlobalArgs) -> Result<FlagValues, Error> {
    let mut flags = FlagValues::default();
    for pair in &g.set {
        flags.set_pair(pair)?;
    }
    let named = [
        ("project", &g.project),
        ("domain", &g.domain),
        ("region", &g.region),
        ("profile", &g.profile),
        ("endpoint_url", &g.endpoint_url),
        ("cluster", &g.cluster),
        ("service", &g.service),
        ("subnet_ids", &g.subnet_ids),
        ("security_group_id", &g.security_group_id),
        ("certificate_arn", &g.certificate_arn),
        ("hosted_zone_id", &g.hosted_zone_id),
        ("ingress", &g.ingress),
    ];
    for (key, value) in named {
        if let Some(v) = value {
            flags.set(key, v.clone());
        }
    }
    Ok(flags)
}

fn init_logging(verbose: u8) {
    // -vv stops at debug for the SDK: trace would log raw HTTP bodies.
    let filter = match verbose {
        0 => "warn",
        1 => "warn,meetctl=debug",
        _ => "info,meetctl=debug,aws_smithy_runtime=debug,aws_config=debug",
    };
    let filter = std::env::var("MEETCTL_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
        .try_init();
}

/// The whole program: parse, configure, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = err
                .downcast_ref::<Error>()
                .map(Error::exit_code)
                .unwrap_or(exit::FAILED);
            eprintln!("error: {err:#}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let flags = flag_values(&cli.global)?;
    if let Command::Config {
        command: ConfigCommand::ImportTerraform { dir },
    } = &cli.command
    {
        // Needs no configuration: it is how a first meetctl.toml is made.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        print!(
            "{}",
            runtime.block_on(commands::config_import::render(dir))?
        );
        return Ok(exit::OK);
    }
    let config = Config::load(&Inputs::from_process(cli.global.config.clone(), flags))?;
    if let Command::Config {
        command: ConfigCommand::Show { output },
    } = &cli.command
    {
        commands::config_show::run(&config, *output == OutputFormat::Json);
        return Ok(exit::OK);
    }
    if let Command::IamPolicy = &cli.command {
        commands::iam_policy::run(&config);
        return Ok(exit::OK);
    }
    if let Command::Cost(args) = &cli.command {
        if !args.actual {
            commands::cost::run_model(&config, args)?;
            return Ok(exit::OK);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let aws = aws::Aws::connect(&config).await;
        let ctx = Context::new(config, aws, output::Reporter::new());
        let result = dispatch(&ctx, &cli.command).await;
        tracing::debug!("AWS calls: {:?}", ctx.aws.ledger.calls());
        result
    })
}

async fn dispatch(ctx: &Context, command: &Command) -> anyhow::Result<u8> {
    // Before any command's first AWS calls, which run concurrently and would
    // each retry an endpoint that is down with backoff for seconds.
    aws::check_endpoint_reachable(&ctx.aws).await?;
    match command {
        Command::Up { dry_run, for_span } => {
            let for_seconds = match for_span {
                Some(span) => Some(
                    crate::config::validate_span("--for", span, (5 * 60, 31 * 86_400))?.as_secs(),
                ),
                None => None,
            };
            let opts = commands::up::UpOptions {
                dry_run: *dry_run,
                for_seconds,
            };
            commands::up::run(ctx, &opts).await?
        }
        Command::Down { dry_run } => {
            commands::down::run(ctx, &commands::down::DownOptions::cli(*dry_run)).await?
        }
        Command::History { output } => {
            commands::history::run(ctx, *output == OutputFormat::Json).await?
        }
        Command::Status { output } => {
            let verdict = commands::status::run(ctx, *output == OutputFormat::Json).await?;
            return Ok(if verdict == Verdict::Degraded {
                exit::DEGRADED
            } else {
                exit::OK
            });
        }
        Command::RegisterTargets { no_wait } => {
            commands::register_targets::run(ctx, !*no_wait).await?
        }
        Command::Check { output } => {
            return Ok(commands::check::run(ctx, *output == OutputFormat::Json).await?)
        }
        Command::TestPlatform(args) => return Ok(commands::test_platform::run(ctx, args).await?),
        Command::Cost(args) => commands::cost::run_actual(ctx, args).await?,
        Command::Users { command } => {
            let action = match command {
                UsersCommand::Add { user } => commands::users::Action::Add(user.clone()),
                UsersCommand::Remove { user } => commands::users::Action::Remove(user.clone()),
                UsersCommand::List => commands::users::Action::List,
            };
            commands::users::run(ctx, &action, commands::users::Options::from_process()).await?
        }
        Command::FrontDoor { command } => commands::front_door::run(ctx, command).await?,
        Command::Config { .. } | Command::IamPolicy => {
            unreachable!("handled before the runtime starts")
        }
    }
    Ok(exit::OK)
}
