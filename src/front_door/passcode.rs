//! The optional passcode of the front door. SSM holds only a salted, slow
//! hash of it (PBKDF2-HMAC-SHA256, 100 000 iterations, 16-byte random salt;
//! a SecureString), set by `meetctl front-door passcode set`. Checking
//! compares in constant time (aws-lc-rs `pbkdf2::verify`).

use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use base64::Engine;

use super::Parameters;
use crate::aws::ssm;
use crate::error::{Error, Result};
use crate::Context;

const ALGORITHM: &str = "pbkdf2-sha256";
/// Slow enough to make guessing offline costly, fast enough for a 256 MB
/// Lambda (about a tenth of a second per check there).
pub const ITERATIONS: u32 = 100_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
pub const MIN_LEN: usize = 6;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD_NO_PAD
}

/// `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64) with a fresh salt.
pub fn hash(passcode: &str) -> String {
    use rand::RngCore;
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    hash_with(passcode, &salt, ITERATIONS)
}

fn hash_with(passcode: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; HASH_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(iterations).expect("iterations > 0"),
        salt,
        passcode.as_bytes(),
        &mut out,
    );
    format!(
        "{ALGORITHM}${iterations}${}${}",
        b64().encode(salt),
        b64().encode(out)
    )
}

/// Whether `passcode` matches `stored`; a malformed record matches nothing.
pub fn verify(stored: &str, passcode: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [ALGORITHM, iterations, salt, expected] = parts.as_slice() else {
        return false;
    };
    let (Some(iterations), Ok(salt), Ok(expected)) = (
        iterations.parse::<u32>().ok().and_then(NonZeroU32::new),
        b64().decode(salt),
        b64().decode(expected),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        passcode.as_bytes(),
        &expected,
    )
    .is_ok()
}

/// Whether a passcode is set (the page then asks for it).
pub async fn is_set(ctx: &Context) -> Result<bool> {
    Ok(stored(ctx).await?.is_some())
}

async fn stored(ctx: &Context) -> Result<Option<String>> {
    ssm::get_decrypted(&ctx.aws, &Parameters::passcode(&ctx.config.project)).await
}

/// True when no passcode is set or `given` is it.
pub async fn check(ctx: &Context, given: &str) -> Result<bool> {
    Ok(match stored(ctx).await? {
        None => true,
        Some(stored) => verify(&stored, given),
    })
}

/// Stores the hash of `passcode` (SecureString, replacing any earlier one).
pub async fn set(ctx: &Context, passcode: &str) -> Result<()> {
    if passcode.chars().count() < MIN_LEN {
        return Err(Error::input(
            "passcode",
            format!("is shorter than {MIN_LEN} characters"),
            "choose a longer passcode",
        ));
    }
    let name = Parameters::passcode(&ctx.config.project);
    ctx.aws
        .ssm
        .put_parameter()
        .name(&name)
        .value(hash(passcode))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map_err(crate::aws::aws_error("ssm:PutParameter", &name))?;
    Ok(())
}

/// Removes the passcode: anyone with the link can start the platform.
pub async fn clear(ctx: &Context) -> Result<bool> {
    ssm::delete(&ctx.aws, &Parameters::passcode(&ctx.config.project)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_passcode_only() {
        let stored = hash_with("correct horse", b"0123456789abcdef", 1000);
        assert!(stored.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify(&stored, "correct horse"));
        assert!(!verify(&stored, "correct hors"));
        assert!(!verify(&stored, ""));
        assert!(!verify("garbage", "correct horse"));
        assert!(!verify("pbkdf2-sha256$0$AA$AA", ""));
        // Salted: the same passcode hashes differently each time.
        assert_ne!(hash("same passcode"), hash("same passcode"));
        assert!(verify(&hash("same passcode"), "same passcode"));
    }
}
