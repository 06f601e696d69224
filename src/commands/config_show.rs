//! `meetctl config show`: the effective configuration and where each value came from.

use crate::config::Config;

pub fn run(config: &Config, json: bool) {
    if json {
        let rows: Vec<serde_json::Value> = config
            .provenance
            .iter()
            .map(|(key, value, source)| serde_json::json!({ "key": key, "value": value, "source": source }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialise")
        );
        return;
    }
    match &config.config_file {
        Some(path) => println!("# config file: {}", path.display()),
        None => println!("# config file: none (./meetctl.toml not found)"),
    }
    let width = config
        .provenance
        .iter()
        .map(|(k, _, _)| k.len())
        .max()
        .unwrap_or(0);
    for (key, value, source) in &config.provenance {
        println!("{key:width$}  {value}  [{source}]");
    }
}
