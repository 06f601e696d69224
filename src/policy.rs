//! The least-privilege IAM policy for the person (or CI role) who runs
//! meetctl: every action its commands call, scoped to the project's names
//! and tags wherever the service supports resource-level permissions.
//! `meetctl iam-policy` prints it; docs/iam-policy.json is its rendering for
//! the default project, and tests/operator_policy.rs proves that every AWS
//! operation meetctl makes during up/status/check/down/cost is allowed by it.
//!
//! Sources: the Service Authorization Reference (actions, resource types and
//! condition keys of ec2, ecs, elasticloadbalancing, ssm, route53, acm, ce,
//! iam) and the tag-on-create pages cited per statement below.

use serde_json::{json, Value};

use crate::config::Config;
use crate::names::{Names, LIFECYCLE, TAG_LIFECYCLE, TAG_MANAGED_BY, TAG_PROJECT};

/// What the policy is scoped to. Built from the configuration so that a
/// non-default project, region, cluster or domain gets its own policy.
pub struct Scope {
    pub project: String,
    pub region: String,
    pub cluster: String,
    pub service: String,
    pub domain: Option<String>,
    pub hosted_zone_id: Option<String>,
}

impl Scope {
    pub fn from_config(config: &Config) -> Self {
        Scope {
            project: config.project.clone(),
            region: config.region.clone(),
            cluster: config.cluster.clone(),
            service: config.service.clone(),
            domain: config.domain.clone(),
            hosted_zone_id: config.hosted_zone_id.clone(),
        }
    }
}

/// Creating operations whose tags need a second authorization on the
/// service's tagging action (elasticloadbalancing:AddTags, ec2:CreateTags),
/// allowed only as part of that create (the `CreateAction` condition keys).
/// Source: "ELB API permissions to tag resources during creation" (ELB user
/// guide) and "Grant permission to tag Amazon EC2 resources during creation"
/// (EC2 user guide).
pub const ELB_TAGGED_CREATES: [&str; 3] =
    ["CreateLoadBalancer", "CreateTargetGroup", "CreateListener"];
pub const EC2_TAGGED_CREATES: [&str; 1] = ["AllocateAddress"];

fn statement(
    sid: &str,
    actions: &[&str],
    resources: Vec<String>,
    condition: Option<Value>,
) -> Value {
    let mut s = json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    });
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    s
}

/// The policy document (IAM JSON).
pub fn document(scope: &Scope) -> Value {
    let names = Names::new(&scope.project);
    let region = &scope.region;
    let project = &scope.project;
    let elb = |path: String| format!("arn:aws:elasticloadbalancing:{region}:*:{path}");
    let nlb = names.nlb();
    let on_demand_tags = json!({
        "StringEquals": {
            format!("aws:ResourceTag/{TAG_PROJECT}"): project,
            format!("aws:ResourceTag/{TAG_LIFECYCLE}"): LIFECYCLE,
        }
    });
    let request_tags = json!({
        "StringEquals": {
            format!("aws:RequestTag/{TAG_PROJECT}"): project,
            format!("aws:RequestTag/{TAG_MANAGED_BY}"): crate::names::MANAGED_BY,
            format!("aws:RequestTag/{TAG_LIFECYCLE}"): LIFECYCLE,
        }
    });
    let load_balancer_arns = vec![
        elb(format!("loadbalancer/net/{nlb}/*")),
        elb(format!("listener/net/{nlb}/*/*")),
        elb(format!("targetgroup/{project}-*/*")),
    ];
    let zone = scope.hosted_zone_id.as_deref().unwrap_or("*");
    // Only the domain's own A record, when the domain is known. Source:
    // Route53 developer guide, "Using IAM policy conditions for fine-grained
    // access control" (route53:ChangeResourceRecordSets* condition keys).
    let dns_condition = scope.domain.as_ref().map(|domain| {
        json!({
            "ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": [domain.trim_end_matches('.').to_ascii_lowercase()],
                "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                "route53:ChangeResourceRecordSetsActions": ["UPSERT", "DELETE"],
            }
        })
    });
    let statements = vec![
        // Describe/List/Get calls of these services take no resource-level
        // permissions (Resource "*" only) or are read-only lookups by id.
        statement(
            "ReadWhatExists",
            &[
                "ec2:DescribeAddresses",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "ecs:DescribeClusters",
                "ecs:DescribeServices",
                "ecs:DescribeTaskDefinition",
                "ecs:DescribeTasks",
                "ecs:ListTasks",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "ssm:DescribeParameters",
                "acm:DescribeCertificate",
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
                "route53:GetChange",
                "ce:GetCostAndUsage",
                // `status` shows the control plane's idle clock from the
                // NLB's metrics (no resource-level permissions).
                "cloudwatch:GetMetricStatistics",
            ],
            vec!["*".into()],
            None,
        ),
        // New load balancer, target groups and listeners only with our
        // name and our tags in the request.
        statement(
            "CreateOnDemandIngressTagged",
            &[
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:CreateListener",
            ],
            load_balancer_arns.clone(),
            Some(request_tags.clone()),
        ),
        statement(
            "TagIngressOnlyWhileCreatingIt",
            &["elasticloadbalancing:AddTags"],
            load_balancer_arns.clone(),
            Some(json!({
                "StringEquals": { "elasticloadbalancing:CreateAction": ELB_TAGGED_CREATES }
            })),
        ),
        // Changes and deletes only on resources that carry the project's
        // on-demand tags (meetctl's, or the Terraform jvb-nlb module's).
        statement(
            "ChangeOnlyOnDemandIngress",
            &[
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
            ],
            load_balancer_arns,
            Some(on_demand_tags.clone()),
        ),
        statement(
            "AllocateTaggedAddress",
            &["ec2:AllocateAddress"],
            vec![format!("arn:aws:ec2:{region}:*:elastic-ip/*")],
            Some(request_tags),
        ),
        statement(
            "TagAddressOnlyWhileAllocatingIt",
            &["ec2:CreateTags"],
            vec![format!("arn:aws:ec2:{region}:*:elastic-ip/*")],
            Some(json!({ "StringEquals": { "ec2:CreateAction": EC2_TAGGED_CREATES } })),
        ),
        statement(
            "ReleaseOnlyOnDemandAddress",
            &["ec2:ReleaseAddress"],
            vec![format!("arn:aws:ec2:{region}:*:elastic-ip/*")],
            Some(on_demand_tags),
        ),
        statement(
            "ScaleTheService",
            &["ecs:UpdateService"],
            vec![format!(
                "arn:aws:ecs:{region}:*:service/{}/{}",
                scope.cluster, scope.service
            )],
            None,
        ),
        // `meetctl users`: a shell in the prosody container only (ECS
        // developer guide, "Using IAM policies with ECS Exec": the
        // ecs:container-name condition key).
        statement(
            "UsersThroughEcsExecInProsodyOnly",
            &["ecs:ExecuteCommand"],
            vec![
                format!("arn:aws:ecs:{region}:*:cluster/{}", scope.cluster),
                format!("arn:aws:ecs:{region}:*:task/{}/*", scope.cluster),
            ],
            Some(json!({ "StringEquals": { "ecs:container-name": "prosody" } })),
        ),
        // PutParameter with Tags also needs ssm:AddTagsToResource (SSM user
        // guide, "Tagging Systems Manager parameters"). SecureStrings use the
        // AWS managed key aws/ssm, whose key policy already lets every
        // principal of the account use it through SSM: no kms:* needed.
        statement(
            "OwnParametersOnly",
            &[
                "ssm:GetParameter",
                "ssm:PutParameter",
                "ssm:DeleteParameter",
                "ssm:AddTagsToResource",
            ],
            vec![format!("arn:aws:ssm:{region}:*:parameter/{project}/*")],
            None,
        ),
        // `up` enables and `down` disables the control plane's schedule
        // (infra/ control_plane module). UpdateSchedule sends the schedule's
        // target role back, which needs iam:PassRole on that role for
        // Scheduler only (EventBridge Scheduler user guide, "Set up the
        // execution role").
        statement(
            "ControlPlaneScheduleOnly",
            &["scheduler:GetSchedule", "scheduler:UpdateSchedule"],
            vec![format!(
                "arn:aws:scheduler:{region}:*:schedule/default/{}",
                names.control_schedule()
            )],
            None,
        ),
        statement(
            "PassTheScheduleRoleToSchedulerOnly",
            &["iam:PassRole"],
            vec![format!(
                "arn:aws:iam::*:role/{}-scheduler",
                names.control_schedule()
            )],
            Some(json!({ "StringEquals": { "iam:PassedToService": "scheduler.amazonaws.com" } })),
        ),
        statement(
            "OwnDnsRecordOnly",
            &["route53:ChangeResourceRecordSets"],
            vec![format!("arn:aws:route53:::hostedzone/{zone}")],
            dns_condition,
        ),
        // The first load balancer of an account creates ELB's service-linked
        // role (ELB user guide, "Service-linked role for Elastic Load
        // Balancing"); ECS's is needed for services with load balancers.
        statement(
            "FirstLoadBalancerOfTheAccount",
            &["iam:CreateServiceLinkedRole"],
            vec!["arn:aws:iam::*:role/aws-service-role/*".into()],
            Some(json!({
                "StringEquals": {
                    "iam:AWSServiceName": ["elasticloadbalancing.amazonaws.com", "ecs.amazonaws.com"]
                }
            })),
        ),
    ];
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Whether `action` (e.g. `ec2:AllocateAddress`) matches an IAM action
/// pattern, which may hold `*` and `?` wildcards; the service prefix is case
/// insensitive, as in IAM.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn glob(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => glob(&p[1..], a) || (!a.is_empty() && glob(p, &a[1..])),
            (Some(b'?'), Some(_)) => glob(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => glob(&p[1..], &a[1..]),
            _ => false,
        }
    }
    glob(pattern.as_bytes(), action.as_bytes())
}

/// The statements of `policy` that allow `action`.
pub fn statements_allowing<'a>(policy: &'a Value, action: &str) -> Vec<&'a Value> {
    policy["Statement"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|s| s["Effect"] == "Allow")
                .filter(|s| match &s["Action"] {
                    Value::String(one) => action_matches(one, action),
                    Value::Array(many) => many
                        .iter()
                        .filter_map(Value::as_str)
                        .any(|p| action_matches(p, action)),
                    _ => false,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            project: "demo".into(),
            region: "eu-central-1".into(),
            cluster: "demo-cluster".into(),
            service: "demo-service".into(),
            domain: Some("Meet.Example.org".into()),
            hosted_zone_id: Some("Z123".into()),
        }
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(action_matches("ec2:Describe*", "ec2:DescribeAddresses"));
        assert!(action_matches(
            "EC2:describeaddresses",
            "ec2:DescribeAddresses"
        ));
        assert!(!action_matches("ec2:Describe*", "ec2:AllocateAddress"));
        assert!(action_matches("ssm:?etParameter", "ssm:GetParameter"));
        assert!(!action_matches("ssm:GetParameter", "ssm:GetParameters"));
    }

    #[test]
    fn writes_are_scoped_to_the_project_and_tags_only_on_create() {
        let policy = document(&scope());
        let text = policy.to_string();
        assert!(!text.contains("\"*:*\""), "no blanket action");
        let params = statements_allowing(&policy, "ssm:PutParameter");
        assert_eq!(
            params[0]["Resource"][0],
            "arn:aws:ssm:eu-central-1:*:parameter/demo/*"
        );
        let add_tags = statements_allowing(&policy, "elasticloadbalancing:AddTags");
        assert_eq!(add_tags.len(), 1);
        assert_eq!(
            add_tags[0]["Condition"]["StringEquals"]["elasticloadbalancing:CreateAction"],
            json!(ELB_TAGGED_CREATES)
        );
        let delete = statements_allowing(&policy, "elasticloadbalancing:DeleteLoadBalancer");
        assert_eq!(
            delete[0]["Condition"]["StringEquals"]["aws:ResourceTag/Project"],
            "demo"
        );
        let dns = statements_allowing(&policy, "route53:ChangeResourceRecordSets");
        assert_eq!(dns[0]["Resource"][0], "arn:aws:route53:::hostedzone/Z123");
        assert_eq!(
            dns[0]["Condition"]["ForAllValues:StringEquals"]
                ["route53:ChangeResourceRecordSetsNormalizedRecordNames"][0],
            "meet.example.org"
        );
        assert!(
            statements_allowing(&policy, "iam:CreateServiceLinkedRole")[0]["Condition"]
                .to_string()
                .contains("elasticloadbalancing.amazonaws.com")
        );
        let exec = statements_allowing(&policy, "ecs:ExecuteCommand");
        assert_eq!(
            exec[0]["Condition"]["StringEquals"]["ecs:container-name"],
            "prosody"
        );
        assert!(statements_allowing(&policy, "ec2:TerminateInstances").is_empty());
    }
}
