//! The TLS certificate: must exist, be issued, and cover the domain.

use super::{aws_error, Aws};
use crate::error::{Error, Result};

pub async fn check_certificate(aws: &Aws, arn: &str, domain: &str) -> Result<()> {
    let out = aws
        .acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| match super::error_code(&e) {
            Some("ResourceNotFoundException") => Error::preflight(
                "certificate_arn",
                format!("{arn} does not exist in {}", aws.region),
                "request or import the certificate in ACM in this region, then set certificate_arn to its ARN",
            ),
            _ => aws_error("acm:DescribeCertificate", arn)(e),
        })?;
    let cert = out.certificate().ok_or_else(|| {
        Error::preflight(
            "certificate_arn",
            "ACM returned no certificate",
            "check the ARN",
        )
    })?;
    let status = cert
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if status != "ISSUED" {
        return Err(Error::preflight(
            "certificate_arn",
            format!("certificate status is {status}, not ISSUED"),
            "complete its DNS validation (the CNAME ACM asks for) and wait until ACM shows it as Issued",
        ));
    }
    let names: Vec<&str> = std::iter::once(cert.domain_name().unwrap_or_default())
        .chain(cert.subject_alternative_names().iter().map(String::as_str))
        .collect();
    if !names.iter().any(|n| covers(n, domain)) {
        return Err(Error::preflight(
            "certificate_arn",
            format!("certificate covers {} but not {domain}", names.join(", ")),
            "use a certificate whose name or SANs include the domain (a wildcard *.parent works)",
        ));
    }
    Ok(())
}

/// Whether a certificate name (possibly `*.example.org`) covers a host name.
fn covers(name: &str, domain: &str) -> bool {
    let name = name.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(parent) => domain
            .split_once('.')
            .is_some_and(|(_, rest)| rest == parent),
        None => name == domain,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wildcards_cover_one_label() {
        assert!(super::covers("meet.example.org", "meet.example.org"));
        assert!(super::covers("*.example.org", "meet.example.org"));
        assert!(!super::covers("*.example.org", "a.meet.example.org"));
        assert!(!super::covers("other.example.org", "meet.example.org"));
    }
}
