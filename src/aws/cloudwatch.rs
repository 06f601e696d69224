//! The NLB's CloudWatch metrics, the control plane's only view of whether
//! anybody is in a meeting: it never enters the VPC.
//!
//! Read with GetMetricStatistics, not GetMetricData: the former counts as a
//! standard API request (1 million a month free), the latter bills per metric
//! requested (https://aws.amazon.com/cloudwatch/pricing/).
//!
//! Elastic Load Balancing publishes NLB metrics in 60-second periods and only
//! while traffic flows: "If there are no requests flowing through the load
//! balancer or no data for a metric, the metric is not reported"
//! (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-cloudwatch-metrics.html).
//! A minute without a data point therefore means zero.

use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_smithy_types::DateTime;

use super::{aws_error, Aws};
use crate::error::Result;

pub const NAMESPACE: &str = "AWS/NetworkELB";
/// Every participant holds the XMPP WebSocket through the TLS listener.
pub const TLS_FLOWS: &str = "ActiveFlowCount_TLS";
/// Media: one flow per participant sending to the JVB.
pub const UDP_FLOWS: &str = "ActiveFlowCount_UDP";
pub const UDP_BYTES: &str = "ProcessedBytes_UDP";
/// The metrics' period; ELB publishes per minute.
pub const PERIOD_SECONDS: i64 = 60;
/// GetMetricStatistics returns at most 1,440 data points per call
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html).
pub const MAX_WINDOW_SECONDS: i64 = 1440 * PERIOD_SECONDS;

/// One minute of load-balancer activity; a minute absent from the answer
/// had none.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Minute {
    /// Start of the period, epoch seconds.
    pub start: i64,
    pub tls_flows: f64,
    pub udp_flows: f64,
    pub udp_bytes: f64,
}

/// The `LoadBalancer` dimension of an NLB: its ARN's final portion,
/// `net/<name>/<id>` ("LoadBalancer: ... the final portion of the load
/// balancer ARN", NLB CloudWatch metrics page above). The local emulator
/// writes `app/` there even for network load balancers; the portion is
/// taken as it stands.
pub fn load_balancer_dimension(arn: &str) -> Option<String> {
    arn.split_once(":loadbalancer/")
        .map(|(_, tail)| tail.to_string())
        .filter(|tail| tail.split('/').count() == 3)
}

/// The load balancer's activity per minute from `start` to `end` (epoch
/// seconds), minutes with data only, oldest first.
pub async fn nlb_activity(aws: &Aws, dimension: &str, start: i64, end: i64) -> Result<Vec<Minute>> {
    let (start, end) = query_window(start, end);
    let (tls, udp, bytes) = tokio::try_join!(
        statistic(aws, dimension, TLS_FLOWS, Statistic::Maximum, start, end),
        statistic(aws, dimension, UDP_FLOWS, Statistic::Maximum, start, end),
        statistic(aws, dimension, UDP_BYTES, Statistic::Sum, start, end),
    )?;
    let mut minutes: std::collections::BTreeMap<i64, Minute> = Default::default();
    let mut merge = |points: Vec<(i64, f64)>, set: fn(&mut Minute, f64)| {
        for (at, value) in points {
            let minute = minutes.entry(at).or_insert_with(|| Minute {
                start: at,
                ..Default::default()
            });
            set(minute, value);
        }
    };
    merge(tls, |m, v| m.tls_flows = v);
    merge(udp, |m, v| m.udp_flows = v);
    merge(bytes, |m, v| m.udp_bytes = v);
    Ok(minutes.into_values().collect())
}

/// The window one GetMetricStatistics call may ask for: its last
/// [`MAX_WINDOW_SECONDS`] (the emulator does not enforce the 1,440-point
/// limit, so it is kept here), on whole minutes.
pub fn query_window(start: i64, end: i64) -> (i64, i64) {
    let end = end - end.rem_euclid(PERIOD_SECONDS) + PERIOD_SECONDS;
    let start = start.max(end - MAX_WINDOW_SECONDS);
    (start - start.rem_euclid(PERIOD_SECONDS), end)
}

async fn statistic(
    aws: &Aws,
    dimension: &str,
    metric: &str,
    statistic: Statistic,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, f64)>> {
    if end <= start {
        return Ok(Vec::new());
    }
    let out = aws
        .cloudwatch
        .get_metric_statistics()
        .namespace(NAMESPACE)
        .metric_name(metric)
        .dimensions(
            Dimension::builder()
                .name("LoadBalancer")
                .value(dimension)
                .build(),
        )
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .period(PERIOD_SECONDS as i32)
        .statistics(statistic.clone())
        .send()
        .await
        .map_err(aws_error(
            "cloudwatch:GetMetricStatistics",
            format!("{metric} of {dimension}"),
        ))?;
    Ok(out
        .datapoints()
        .iter()
        .filter_map(|p| {
            let value = match statistic {
                Statistic::Sum => p.sum(),
                _ => p.maximum(),
            }?;
            Some((p.timestamp()?.secs(), value))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_never_asks_for_more_than_1440_points() {
        let (start, end) = query_window(0, 10 * 86_400 + 30);
        assert_eq!(end, 10 * 86_400 + 60, "the current minute is included");
        assert_eq!((end - start) / PERIOD_SECONDS, 1440);
        let (start, end) = query_window(1_000, 4_000);
        assert_eq!((start, end), (960, 4_020));
    }

    #[test]
    fn dimension_is_the_arn_final_portion() {
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/demo-nlb/50dc6c495c0c9188"
            )
            .as_deref(),
            Some("net/demo-nlb/50dc6c495c0c9188")
        );
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo-nlb/abc"
            )
            .as_deref(),
            Some("app/demo-nlb/abc")
        );
        assert_eq!(
            load_balancer_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo/abc"
            ),
            None
        );
    }
}
