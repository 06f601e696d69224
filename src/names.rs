//! Names and tags of everything meetctl creates. They derive from the
//! project alone so that a re-run finds what a crashed run left behind.

pub const TAG_PROJECT: &str = "Project";
pub const TAG_MANAGED_BY: &str = "ManagedBy";
pub const TAG_LIFECYCLE: &str = "Lifecycle";
pub const MANAGED_BY: &str = "meetctl";
pub const LIFECYCLE: &str = "on-demand";

pub const JVB_PORT: i32 = 10000;
pub const JVB_HEALTH_PORT: &str = "8080";
pub const WEB_PORT: i32 = 80;
pub const TLS_PORT: i32 = 443;
/// The containers of the task definition (infra/ecs.tf) the target groups
/// send to: media to the JVB, the site to nginx in jitsi/web.
pub const JVB_CONTAINER: &str = "jvb";
pub const WEB_CONTAINER: &str = "web";
/// coturn, TURN over TCP behind the NLB's TLS listener (infra/turn.tf).
pub const TURN_CONTAINER: &str = "coturn";
/// TURN over TLS (RFC 8656 §3.1 default for TURNS) on the NLB; 443 is the site's.
pub const TURNS_PORT: i32 = 5349;
/// coturn's plain TCP listener in the task (TLS ends at the NLB; infra/turn.tf),
/// and the NLB's TURN port when no certificate is configured.
pub const TURN_PORT: i32 = 3478;

#[derive(Clone, Debug)]
pub struct Names {
    pub project: String,
}

impl Names {
    pub fn new(project: &str) -> Self {
        Names {
            project: project.to_string(),
        }
    }

    pub fn nlb(&self) -> String {
        format!("{}-nlb", self.project)
    }

    pub fn jvb_target_group(&self) -> String {
        format!("{}-jvb", self.project)
    }

    pub fn web_target_group(&self) -> String {
        format!("{}-web", self.project)
    }

    /// TURN (TLS 5349, or TCP 3478 without a certificate) → coturn's TCP 3478.
    pub fn turn_target_group(&self) -> String {
        format!("{}-turn", self.project)
    }

    pub fn eip(&self) -> String {
        format!("{}-eip", self.project)
    }

    /// The parameter the JVB container reads as `JVB_ADVERTISE_IPS`.
    pub fn advertise_parameter(&self) -> String {
        format!("/{}/jvb_advertise_ips", self.project)
    }

    pub fn lock_parameter(&self) -> String {
        format!("/{}/meetctl/lock", self.project)
    }

    /// coturn's `static-auth-secret`, also prosody's `TURN_CREDENTIALS`.
    pub fn turn_secret_parameter(&self) -> String {
        format!("/{}/turn_static_auth_secret", self.project)
    }

    /// When the platform came up and its one-off cap (`up --for`), written
    /// by `up`, deleted by `down`; the control plane reads it.
    pub fn session_parameter(&self) -> String {
        format!("/{}/meetctl/session", self.project)
    }

    /// The last ups and downs and this month's running hours (`meetctl history`).
    pub fn history_parameter(&self) -> String {
        format!("/{}/meetctl/history", self.project)
    }

    /// The EventBridge Scheduler schedule of the control plane (infra/ control_plane module).
    pub fn control_schedule(&self) -> String {
        format!("{}-control", self.project)
    }

    /// Jitsi component passwords and the TURN secret the task definition
    /// reads from SSM.
    pub fn secret_parameters(&self) -> Vec<String> {
        [
            "jicofo_auth_password",
            "jvb_auth_password",
            "turn_static_auth_secret",
        ]
        .iter()
        .map(|s| format!("/{}/{s}", self.project))
        .collect()
    }

    /// The ECS task group of the service's tasks (`ListTasks` in the emulator
    /// ignores `serviceName`, so tasks are matched by group everywhere).
    pub fn task_group(service: &str) -> String {
        format!("service:{service}")
    }

    /// Tags on every resource meetctl creates, plus a Name.
    pub fn tags(&self, name: &str) -> Vec<(String, String)> {
        vec![
            (TAG_PROJECT.into(), self.project.clone()),
            (TAG_MANAGED_BY.into(), MANAGED_BY.into()),
            (TAG_LIFECYCLE.into(), LIFECYCLE.into()),
            ("Name".into(), name.into()),
        ]
    }

    /// True when a resource's tags say meetctl made it for this project
    /// (`Project=<project>` and `ManagedBy=meetctl`): only such a resource
    /// found by name is adopted.
    pub fn is_made_by_meetctl<'a>(
        &self,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> bool {
        let mut project = false;
        let mut meetctl = false;
        for (k, v) in tags {
            project |= k == TAG_PROJECT && v == self.project;
            meetctl |= k == TAG_MANAGED_BY && v == MANAGED_BY;
        }
        project && meetctl
    }

    /// True when a resource's tags mark it as this project's on-demand
    /// (billable) part: created by meetctl, or by the Terraform module in
    /// the `terraform` ingress mode (which tags `ManagedBy=terraform`).
    pub fn is_on_demand<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let mut project = false;
        let mut on_demand = false;
        for (k, v) in tags {
            project |= k == TAG_PROJECT && v == self.project;
            on_demand |= k == TAG_LIFECYCLE && v == LIFECYCLE;
        }
        project && on_demand
    }
}
