//! Running Terraform for the `terraform` ingress mode and for
//! `config import-terraform`: the NLB then comes from `infra/modules/jvb-nlb`,
//! toggled with `-var nlb_enabled=...` on `-target=module.jvb_nlb`.

use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// `terraform apply` limited to the NLB module. Terraform's own error text is
/// kept in the error so the user sees what Terraform said.
pub async fn apply_nlb(
    dir: &Path,
    enabled: bool,
    eip_allocation_id: Option<&str>,
    extra_vars: &[String],
) -> Result<()> {
    let mut args: Vec<String> = [
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-target=module.jvb_nlb",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("-var=nlb_enabled={enabled}"));
    if let Some(id) = eip_allocation_id {
        args.push(format!("-var=nlb_eip_allocation_id={id}"));
    }
    args.extend(extra_vars.iter().map(|v| format!("-var={v}")));
    run(dir, &args).await.map(|_| ())
}

/// `terraform output -json`, as name → value.
pub async fn outputs(dir: &Path) -> Result<serde_json::Map<String, Value>> {
    let stdout = run(dir, &["output".into(), "-json".into(), "-no-color".into()]).await?;
    let parsed: serde_json::Map<String, Value> =
        serde_json::from_str(&stdout).map_err(|e| Error::Unexpected {
            what: format!("terraform output in {}", dir.display()),
            problem: format!("not JSON: {e}"),
            fix: "run `terraform output -json` there yourself to see what it prints".into(),
        })?;
    Ok(parsed
        .into_iter()
        .map(|(k, v)| (k, v.get("value").cloned().unwrap_or(Value::Null)))
        .collect())
}

/// A string output, or an error naming it when missing or null.
pub fn output_str(
    outputs: &serde_json::Map<String, Value>,
    name: &str,
    dir: &Path,
) -> Result<String> {
    outputs.get(name).and_then(Value::as_str).map(String::from).ok_or_else(|| Error::Unexpected {
        what: format!("terraform output `{name}` in {}", dir.display()),
        problem: "missing or null".into(),
        fix: "apply infra/ first (terraform apply), and make sure the NLB module is enabled for this output".into(),
    })
}

async fn run(dir: &Path, args: &[String]) -> Result<String> {
    tracing::debug!("terraform {} (in {})", args.join(" "), dir.display());
    let output = tokio::process::Command::new("terraform").args(args).current_dir(dir).env("TF_IN_AUTOMATION", "1").output().await.map_err(|e| {
        Error::preflight(
            "terraform",
            format!("cannot run terraform in {}: {e}", dir.display()),
            "install Terraform >= 1.5 and put it on PATH, or use ingress = \"nlb\" (meetctl creates the NLB itself)",
        )
    })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    Err(Error::Unexpected {
        what: format!(
            "terraform {} in {}",
            args.first().map(String::as_str).unwrap_or(""),
            dir.display()
        ),
        problem: format!(
            "exited with {}; terraform said:\n    {}",
            output.status,
            said[said.len().saturating_sub(15)..].join("\n    ")
        ),
        fix: "fix what terraform reports, then re-run the same meetctl command (it converges)"
            .into(),
    })
}
