//! The account's policy on what leaves it, set by its owner and admins: the domains run
//! reports may be sent to (none listed: any address), and how often a schedule may fire.
//! One item per account (`ACCT#<a>` / `POLICY`), versioned like a template; an account
//! that never set one has the defaults.

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Need, Principal, authorize};
use crate::app::{UsesClock, UsesItems};
use crate::error::{Error, FieldError, Result};
use crate::ports::items::{Condition, Item};
use crate::ports::mail::{ascii_address, ascii_domain};
use crate::schedule_expr::ScheduleExpression;

/// Schedules fire at most this often unless an owner or admin says otherwise.
pub const DEFAULT_MIN_SCHEDULE_MINUTES: u32 = 15;
/// EventBridge Scheduler's own floor: `rate(1 minute)`.
pub const MIN_SCHEDULE_MINUTES_FLOOR: u32 = 1;
/// The most an admin may ask: a week.
pub const MIN_SCHEDULE_MINUTES_CEILING: u32 = 7 * 24 * 60;
pub const MAX_ALLOWED_DOMAINS: usize = 100;

/// `GET /account/policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountPolicy {
    /// Report recipients must be at one of these domains or a subdomain of one (`example.com`
    /// also allows `eu.example.com`); empty: any address. Lower-cased, an internationalized
    /// domain in its punycode (`xn--`) form.
    pub allowed_recipient_domains: Vec<String>,
    /// The least time between two fires of a schedule, in minutes (default 15; 1 is
    /// EventBridge Scheduler's floor). A schedule whose expression fires more often is
    /// refused when saved and skipped when it fires.
    pub min_schedule_interval_minutes: u32,
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last changed it (email).
    pub updated_by: Option<String>,
    /// Send it back as `If-Match` (also the ETag); 0 until the policy is first changed.
    #[serde(default)]
    pub version: u64,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        AccountPolicy {
            allowed_recipient_domains: Vec::new(),
            min_schedule_interval_minutes: DEFAULT_MIN_SCHEDULE_MINUTES,
            updated_at: None,
            updated_by: None,
            version: 0,
        }
    }
}

/// `PUT /account/policy`: the whole policy.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Domains report recipients must be at (a subdomain counts); empty: any address.
    /// Unicode domains are stored in their punycode form.
    #[schemars(length(max = 100), inner(length(min = 1, max = 253)))]
    pub allowed_recipient_domains: Vec<String>,
    /// Minutes, 1 (EventBridge Scheduler's floor) to 10080 (a week).
    #[schemars(range(min = 1, max = 10080))]
    pub min_schedule_interval_minutes: u32,
}

impl AccountPolicy {
    /// The address as a report is sent to it (`ascii_address`: an internationalized domain
    /// in punycode), or why a report may not go there: it cannot be sent to at all, or its
    /// domain is not one the policy lists.
    pub fn admit(&self, address: &str) -> Result<String, String> {
        let ascii = ascii_address(address).map_err(|e| e.to_string())?;
        let domain = ascii.rsplit_once('@').map_or("", |(_, d)| d);
        if self.allows_domain(domain) {
            return Ok(ascii);
        }
        Err(format!(
            "`{}` is outside the domains this account's owner or admins allow reports to go to: {}",
            address.escape_debug(),
            self.allowed_recipient_domains.join(", ")
        ))
    }

    /// `domain` (ASCII, lower-cased) is listed or under a listed domain; anything is when
    /// none is listed.
    fn allows_domain(&self, domain: &str) -> bool {
        self.allowed_recipient_domains.is_empty()
            || self.allowed_recipient_domains.iter().any(|d| {
                domain == d
                    || domain
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
    }

    /// Each recipient that may not receive reports, at `<at>/<index>`.
    pub fn check_recipients(&self, recipients: &[String], at: &str) -> Vec<FieldError> {
        recipients
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                self.admit(r)
                    .err()
                    .map(|why| FieldError::new(format!("{at}/{i}"), why))
            })
            .collect()
    }

    /// Why `expression` fires too often for this account, or `None`.
    pub fn interval_refusal(&self, expression: &ScheduleExpression) -> Option<String> {
        let least = chrono::Duration::minutes(i64::from(self.min_schedule_interval_minutes));
        let gap = expression.shortest_gap()?;
        (gap < least).then(|| {
            format!(
                "fires every {} at its closest; this account's schedules may fire at most every {} (its owner or admins can change that in Settings → CRM account)",
                minutes(gap.num_minutes()),
                minutes(i64::from(self.min_schedule_interval_minutes)),
            )
        })
    }
}

fn minutes(n: i64) -> String {
    match n {
        1 => "minute".to_string(),
        n if n % (24 * 60) == 0 && n > 0 => match n / (24 * 60) {
            1 => "day".into(),
            d => format!("{d} days"),
        },
        n if n % 60 == 0 && n > 0 => match n / 60 {
            1 => "hour".into(),
            h => format!("{h} hours"),
        },
        n => format!("{n} minutes"),
    }
}

fn from_item(item: &Item) -> Result<AccountPolicy> {
    let mut p: AccountPolicy = item.decode("account policy")?;
    p.version = item.version;
    Ok(p)
}

/// The account's policy: the defaults when none was set.
pub async fn load(s: &impl UsesItems, account_id: &AccountId) -> Result<AccountPolicy> {
    match s
        .items()
        .get(&crate::keys::account(account_id), crate::keys::POLICY)
        .await?
    {
        Some(item) => from_item(&item),
        None => Ok(AccountPolicy::default()),
    }
}

/// `GET /account/policy`: any member may read it (the console shows it where it applies).
pub async fn get(s: &impl UsesItems, who: &Principal) -> Result<AccountPolicy> {
    load(s, &who.account_id).await
}

/// The input checked and normalized: domains in ASCII, lower-cased, without repeats.
fn normalized(input: PolicyInput) -> Result<(Vec<String>, u32)> {
    let mut errors = Vec::new();
    let mut domains: Vec<String> = Vec::new();
    if input.allowed_recipient_domains.len() > MAX_ALLOWED_DOMAINS {
        errors.push(FieldError::new(
            "/allowed_recipient_domains",
            format!("must list at most {MAX_ALLOWED_DOMAINS} domains"),
        ));
    }
    for (i, d) in input.allowed_recipient_domains.iter().enumerate() {
        let at = format!("/allowed_recipient_domains/{i}");
        let given = d.trim().trim_start_matches('@');
        if given.contains('@') {
            errors.push(FieldError::new(
                at,
                format!("`{}` is an address: give its domain", d.escape_debug()),
            ));
            continue;
        }
        match ascii_domain(given) {
            Ok(a) if !domains.contains(&a) => domains.push(a),
            Ok(_) => {}
            Err(why) => errors.push(FieldError::new(at, format!("`{}` {why}", d.escape_debug()))),
        }
    }
    let m = input.min_schedule_interval_minutes;
    if !(MIN_SCHEDULE_MINUTES_FLOOR..=MIN_SCHEDULE_MINUTES_CEILING).contains(&m) {
        errors.push(FieldError::new(
            "/min_schedule_interval_minutes",
            format!(
                "must be {MIN_SCHEDULE_MINUTES_FLOOR} (EventBridge Scheduler's floor) to {MIN_SCHEDULE_MINUTES_CEILING} minutes"
            ),
        ));
    }
    if errors.is_empty() {
        Ok((domains, m))
    } else {
        Err(Error::invalid_all(errors))
    }
}

/// `PUT /account/policy`: owners and admins; `version` is the one read (409 when stale).
pub async fn put(
    s: &(impl UsesItems + UsesClock),
    who: &Principal,
    version: u64,
    input: PolicyInput,
) -> Result<AccountPolicy> {
    authorize(who, Need::Admin)?;
    let (domains, minutes) = normalized(input)?;
    let current = load(s, &who.account_id).await?;
    if current.version != version {
        return Err(stale());
    }
    let mut next = AccountPolicy {
        allowed_recipient_domains: domains,
        min_schedule_interval_minutes: minutes,
        updated_at: Some(s.clock().now()),
        updated_by: Some(who.email.clone()),
        version,
    };
    let item = Item::of(
        crate::keys::account(&who.account_id),
        crate::keys::POLICY,
        version,
        &next,
    )?;
    let cond = match version {
        0 => Condition::Absent,
        v => Condition::Version(v),
    };
    next.version = s.items().put(item, cond).await.map_err(|e| match e {
        Error::Conflict(_) => stale(),
        e => e,
    })?;
    tracing::info!(account = %who.account_id, by = %who.user_id, "account policy changed");
    Ok(next)
}

fn stale() -> Error {
    Error::Conflict(
        "the account policy changed since you read it; read it again and redo your change".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(domains: &[&str], minutes: u32) -> AccountPolicy {
        AccountPolicy {
            allowed_recipient_domains: domains.iter().map(|d| d.to_string()).collect(),
            min_schedule_interval_minutes: minutes,
            ..AccountPolicy::default()
        }
    }

    #[test]
    fn listed_domains_and_their_subdomains_may_receive_reports() {
        let p = policy(&["example.com", "xn--bcher-kva.example"], 15);
        for ok in [
            "ops@example.com",
            "ops@EU.Example.com",
            "ops@bücher.example",
        ] {
            assert!(p.admit(ok).is_ok(), "{ok}");
        }
        for out in [
            "ops@gmail.com",
            "ops@notexample.com",
            "ops@example.com.evil.io",
        ] {
            let why = p.admit(out).expect_err(out);
            assert!(why.contains("example.com, xn--bcher-kva.example"), "{why}");
        }
        assert_eq!(
            policy(&[], 15).admit("anyone@Bücher.example").as_deref(),
            Ok("anyone@xn--bcher-kva.example")
        );
        assert!(policy(&[], 15).admit("jösé@example.com").is_err());
    }

    #[test]
    fn a_schedule_faster_than_the_minimum_is_refused_saying_both_intervals() {
        let p = AccountPolicy::default();
        let every5 = ScheduleExpression::parse("cron(0/5 * * * ? *)").unwrap();
        let why = p
            .interval_refusal(&every5)
            .expect("every 5 minutes refused");
        assert!(
            why.contains("every 5 minutes") && why.contains("every 15 minutes"),
            "{why}"
        );
        let rate = ScheduleExpression::parse("rate(10 minutes)").unwrap();
        assert!(p.interval_refusal(&rate).is_some());
        for ok in [
            "rate(15 minutes)",
            "cron(0 9 ? * MON-FRI *)",
            "at(2030-01-01T00:00:00)",
        ] {
            let e = ScheduleExpression::parse(ok).unwrap();
            assert_eq!(p.interval_refusal(&e), None, "{ok}");
        }
        assert_eq!(policy(&[], 5).interval_refusal(&every5), None);
        let hourly = policy(&[], 120);
        let why = hourly
            .interval_refusal(&ScheduleExpression::parse("rate(1 hour)").unwrap())
            .unwrap();
        assert!(
            why.contains("every hour") && why.contains("every 2 hours"),
            "{why}"
        );
    }

    #[test]
    fn domains_are_stored_lower_cased_in_punycode_and_wrong_ones_named() {
        let (d, m) = normalized(PolicyInput {
            allowed_recipient_domains: vec![
                "Example.COM".into(),
                "@bücher.example".into(),
                "example.com".into(),
            ],
            min_schedule_interval_minutes: 1,
        })
        .unwrap();
        assert_eq!(d, ["example.com", "xn--bcher-kva.example"]);
        assert_eq!(m, 1);
        let err = normalized(PolicyInput {
            allowed_recipient_domains: vec!["ok.io".into(), "ops@x.io".into(), "nodot".into()],
            min_schedule_interval_minutes: 0,
        })
        .unwrap_err();
        let Error::Invalid { errors, .. } = err else {
            panic!("{err}")
        };
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/allowed_recipient_domains/1",
                "/allowed_recipient_domains/2",
                "/min_schedule_interval_minutes"
            ]
        );
    }
}
