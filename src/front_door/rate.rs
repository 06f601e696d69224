//! At most [`MAX_POSTS`] start attempts (right or wrong passcode) per source
//! address in [`WINDOW_SECONDS`]. Lambda instances share no memory, so the
//! recent attempts live in an SSM parameter (read, prune, append, write).
//! Two instances writing at the same instant can lose one attempt's entry:
//! the limit is approximate under a burst, and API Gateway's stage throttle
//! (infra/modules/front-door) caps the burst itself.

use std::collections::BTreeMap;

use super::Parameters;
use crate::aws::ssm;
use crate::error::Result;
use crate::Context;

pub const MAX_POSTS: usize = 5;
pub const WINDOW_SECONDS: i64 = 600;
/// Sources kept at most (the oldest go first): the record stays small.
const MAX_SOURCES: usize = 200;

type Attempts = BTreeMap<String, Vec<i64>>;

/// Records an attempt from `source`; Some(seconds until the next is
/// allowed) when over the limit.
pub async fn admit(ctx: &Context, source: &str) -> Result<Option<u64>> {
    let name = Parameters::rate(&ctx.config.project);
    let now = crate::control::record::now_epoch();
    let mut attempts: Attempts = ssm::get(&ctx.aws, &name)
        .await?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let verdict = decide(&mut attempts, source, now);
    let value = serde_json::to_string(&attempts).expect("serializable");
    super::put(ctx, &name, &value).await?;
    Ok(verdict)
}

fn decide(attempts: &mut Attempts, source: &str, now: i64) -> Option<u64> {
    for times in attempts.values_mut() {
        times.retain(|t| now - t < WINDOW_SECONDS);
    }
    attempts.retain(|_, times| !times.is_empty());
    while attempts.len() >= MAX_SOURCES {
        let oldest = attempts
            .iter()
            .min_by_key(|(_, t)| t.last().copied().unwrap_or(0))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => attempts.remove(&k),
            None => break,
        };
    }
    let times = attempts.entry(source.to_string()).or_default();
    if times.len() >= MAX_POSTS {
        let oldest = times.first().copied().unwrap_or(now);
        return Some((oldest + WINDOW_SECONDS - now).max(1) as u64);
    }
    times.push(now);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_limited_and_others_are_not() {
        let mut a = Attempts::new();
        for i in 0..MAX_POSTS as i64 {
            assert_eq!(decide(&mut a, "1.2.3.4", 100 + i), None);
        }
        assert_eq!(decide(&mut a, "1.2.3.4", 110), Some(590));
        assert_eq!(decide(&mut a, "5.6.7.8", 110), None);
        // The window passes.
        assert_eq!(decide(&mut a, "1.2.3.4", 100 + WINDOW_SECONDS + 5), None);
    }
}
