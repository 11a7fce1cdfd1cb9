//! Typed configuration, read once from the environment at cold start. Every problem is
//! reported at once (all missing and malformed variables), so a bad deploy fails fast.

use std::fmt;

/// Where the AWS adapters find their resources. Lambda sets `AWS_REGION`; SAM sets the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    /// Only for tests and local emulators; unset in production.
    pub endpoint: Option<String>,
    pub table: String,
    pub bucket: String,
    pub mail_from: String,
    pub schedule_group: String,
    pub scheduler_role_arn: String,
    pub schedule_target_arn: String,
    /// SQS queue Scheduler sends a fire to when it cannot deliver it.
    pub schedule_dead_letter_arn: String,
    pub secrets_prefix: String,
    /// The Secrets Manager secret holding the CRM apps' client secrets (read at cold start
    /// by the functions whose wiring asks for the apps); unset off AWS.
    pub crm_apps_secret: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where people open Steward; links in mail and share links start with it.
    pub web_base_url: String,
    pub aws: AwsSettings,
    pub log_json: bool,
    /// OAuth apps with the CRMs (`identity::apps::VARIABLES`); a CRM without one cannot
    /// be signed in with.
    pub crm: crate::identity::CrmApps,
}

/// Every variable `Config::from_env` reads, with what it is for (README lists the same).
pub const VARIABLES: &[(&str, bool, &str)] = &[
    (
        "STEWARD_WEB_BASE_URL",
        true,
        "https URL people open Steward at",
    ),
    ("AWS_REGION", true, "AWS region (Lambda sets it)"),
    (
        "STEWARD_AWS_ENDPOINT",
        false,
        "endpoint override for every AWS client (tests, emulators)",
    ),
    ("STEWARD_TABLE", true, "DynamoDB table name"),
    ("STEWARD_BUCKET", true, "S3 bucket for audit CSVs"),
    ("STEWARD_MAIL_FROM", true, "verified SES sender address"),
    (
        "STEWARD_SCHEDULE_GROUP",
        true,
        "EventBridge Scheduler group",
    ),
    (
        "STEWARD_SCHEDULER_ROLE_ARN",
        true,
        "role EventBridge Scheduler invokes the target with",
    ),
    (
        "STEWARD_SCHEDULE_TARGET_ARN",
        true,
        "ARN of the exports function (schedule target)",
    ),
    (
        "STEWARD_SCHEDULE_DLQ_ARN",
        true,
        "SQS queue for schedule fires Scheduler could not deliver",
    ),
    (
        "STEWARD_SECRETS_PREFIX",
        true,
        "Secrets Manager name prefix for CRM tokens",
    ),
    (
        "STEWARD_LOG_FORMAT",
        false,
        "`json` for JSON logs (Lambda), else text",
    ),
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ConfigError {
    pub missing: Vec<&'static str>,
    pub invalid: Vec<(&'static str, String)>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration is incomplete")?;
        if !self.missing.is_empty() {
            write!(f, "; missing: {}", self.missing.join(", "))?;
        }
        for (var, why) in &self.invalid {
            write!(f, "; {var} {why}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut err = ConfigError::default();
        let mut need = |name: &'static str| match get(name).map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => v,
            _ => {
                err.missing.push(name);
                String::new()
            }
        };
        let web_base_url = need("STEWARD_WEB_BASE_URL");
        let region = need("AWS_REGION");
        let table = need("STEWARD_TABLE");
        let bucket = need("STEWARD_BUCKET");
        let mail_from = need("STEWARD_MAIL_FROM");
        let schedule_group = need("STEWARD_SCHEDULE_GROUP");
        let scheduler_role_arn = need("STEWARD_SCHEDULER_ROLE_ARN");
        let schedule_target_arn = need("STEWARD_SCHEDULE_TARGET_ARN");
        let schedule_dead_letter_arn = need("STEWARD_SCHEDULE_DLQ_ARN");
        let secrets_prefix = need("STEWARD_SECRETS_PREFIX");
        let endpoint = get("STEWARD_AWS_ENDPOINT").filter(|v| !v.trim().is_empty());
        let crm_apps_secret = get(crate::identity::apps::APPS_SECRET_VARIABLE)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if let Some(arn) = &crm_apps_secret
            && !arn.starts_with("arn:")
        {
            err.invalid.push((
                crate::identity::apps::APPS_SECRET_VARIABLE,
                "must be an ARN (arn:...)".into(),
            ));
        }
        let log_json = get("STEWARD_LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json"));

        if !web_base_url.is_empty() && !is_http_url(&web_base_url) {
            err.invalid
                .push(("STEWARD_WEB_BASE_URL", "must be an http(s) URL".into()));
        }
        if let Some(ep) = &endpoint
            && !is_http_url(ep)
        {
            err.invalid
                .push(("STEWARD_AWS_ENDPOINT", "must be an http(s) URL".into()));
        }
        if !mail_from.is_empty() && crate::ports::mail::ascii_address(&mail_from).is_err() {
            err.invalid
                .push(("STEWARD_MAIL_FROM", "must be an email address".into()));
        }
        for (name, arn) in [
            ("STEWARD_SCHEDULER_ROLE_ARN", &scheduler_role_arn),
            ("STEWARD_SCHEDULE_TARGET_ARN", &schedule_target_arn),
            ("STEWARD_SCHEDULE_DLQ_ARN", &schedule_dead_letter_arn),
        ] {
            if !arn.is_empty() && !arn.starts_with("arn:") {
                err.invalid.push((name, "must be an ARN (arn:...)".into()));
            }
        }
        let crm = match crate::identity::CrmApps::from_lookup(&get) {
            Ok(apps) => apps,
            Err(problems) => {
                for p in problems {
                    err.invalid.push(("CRM apps", p));
                }
                Default::default()
            }
        };
        if !err.missing.is_empty() || !err.invalid.is_empty() {
            return Err(err);
        }
        Ok(Config {
            web_base_url: web_base_url.trim_end_matches('/').to_string(),
            aws: AwsSettings {
                region,
                endpoint,
                table,
                bucket,
                mail_from,
                schedule_group,
                scheduler_role_arn,
                schedule_target_arn,
                schedule_dead_letter_arn,
                secrets_prefix,
                crm_apps_secret,
            },
            log_json,
            crm,
        })
    }
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && s.len() > "https://".len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn full() -> HashMap<&'static str, String> {
        VARIABLES
            .iter()
            .map(|(k, _, _)| (*k, String::new()))
            .chain([
                (
                    "STEWARD_WEB_BASE_URL",
                    "https://steward.example.com/".into(),
                ),
                ("AWS_REGION", "eu-west-1".into()),
                ("STEWARD_TABLE", "t".into()),
                ("STEWARD_BUCKET", "b".into()),
                ("STEWARD_MAIL_FROM", "steward@example.com".into()),
                ("STEWARD_SCHEDULE_GROUP", "g".into()),
                ("STEWARD_SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/r".into()),
                (
                    "STEWARD_SCHEDULE_TARGET_ARN",
                    "arn:aws:lambda:eu-west-1:1:function:f".into(),
                ),
                (
                    "STEWARD_SCHEDULE_DLQ_ARN",
                    "arn:aws:sqs:eu-west-1:1:steward-schedule-dlq".into(),
                ),
                ("STEWARD_SECRETS_PREFIX", "steward/".into()),
                ("STEWARD_LOG_FORMAT", "json".into()),
            ])
            .collect()
    }

    #[test]
    fn a_complete_environment_loads() {
        let env = full();
        let c = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(c.web_base_url, "https://steward.example.com");
        assert_eq!(c.aws.endpoint, None);
        assert!(c.log_json);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut env = full();
        env.remove("STEWARD_TABLE");
        env.remove("AWS_REGION");
        env.insert("STEWARD_MAIL_FROM", "not an address".into());
        let e = Config::from_lookup(|k| env.get(k).cloned()).unwrap_err();
        assert_eq!(e.missing, vec!["AWS_REGION", "STEWARD_TABLE"]);
        assert_eq!(e.invalid.len(), 1);
        let msg = e.to_string();
        assert!(
            msg.contains("STEWARD_TABLE") && msg.contains("STEWARD_MAIL_FROM"),
            "{msg}"
        );
    }
}
