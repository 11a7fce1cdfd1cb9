//! Run reports by email: when a run with `notify` ends, one message through the `Mailer`
//! (SES `SendRawEmail` on AWS, an `.eml` in the outbox locally): the member's message, a
//! summary with the counts, the Run ID and a link to the run in the Activity Tracker, and
//! the audit CSV attached under its Run ID name, or, when attaching it would push the raw
//! message past SES's limit, an expiring download link instead. It goes only to the
//! recipients the account's policy allows when it is sent; the outcome (whom it went to,
//! whom not and why, when, attached or linked) is stored on the run; a redelivered trigger
//! never sends twice.

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::app::{UsesBlobs, UsesClock, UsesItems, UsesLinks, UsesMail, UsesRunQueue};
use crate::error::{Error, Result};
use crate::identity::policy::{self, AccountPolicy};
use crate::ports::mail::{Attachment, Email, MAX_RAW_MESSAGE_BYTES};
use crate::runs::{self, Notify, Run};

/// How long a download link in a report lives. On AWS a presigned URL also stops working
/// when the signing function's temporary credentials expire, which can be sooner.
pub const LINK_TTL: Duration = Duration::from_secs(24 * 3600);
/// Room kept for headers, text and MIME framing when deciding to attach.
const MIME_OVERHEAD: usize = 256 * 1024;
/// Sends tried while SES throttles.
const ATTEMPTS: u32 = 4;
/// A delivery left `sending` this long (its sender died) may be tried again.
const SENDING_STALE: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// The run ended; the report is to be sent.
    Pending,
    Sending,
    Sent,
    Failed,
}

/// The report's delivery, as the run shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Delivery {
    pub status: DeliveryStatus,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    /// True when the CSV is attached; false when the message links to it.
    #[serde(default)]
    pub attached: Option<bool>,
    /// When it was sent (or last tried).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attempts: u32,
    /// Whom it was sent to, as the message names them (an internationalized domain in its
    /// punycode form); empty until sent.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Recipients of the run's `notify` it was not sent to, each with why: the account's
    /// policy no longer allows their domain (it changed after the run or schedule was
    /// saved), or the address cannot be sent to.
    #[serde(default)]
    pub refused: Vec<RefusedRecipient>,
}

/// A recipient a report was not sent to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RefusedRecipient {
    pub address: String,
    pub reason: String,
}

impl Delivery {
    pub fn pending() -> Self {
        Delivery {
            status: DeliveryStatus::Pending,
            reason: None,
            message_id: None,
            attached: None,
            at: None,
            attempts: 0,
            recipients: Vec::new(),
            refused: Vec::new(),
        }
    }
}

/// Where the run is in the Activity Tracker.
pub fn run_link(s: &impl UsesLinks, run: &Run) -> String {
    format!("{}/activity?run={}", s.web_base_url(), run.id)
}

fn subject(run: &Run, notify: &Notify) -> String {
    match notify.subject.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!(
            "Steward: {} {} run {} ({})",
            run.module,
            run.mode.name(),
            run.status.name(),
            run.id
        ),
    }
}

fn summary(s: &impl UsesLinks, run: &Run, download: Option<&str>) -> String {
    let c = run.counts;
    let mut text = String::new();
    text.push_str(&format!("Run ID: {}\n", run.id));
    text.push_str(&format!(
        "Module: {} on {} ({})\n",
        run.module,
        run.object,
        match run.mode {
            runs::Mode::Preview => "preview: nothing was changed",
            runs::Mode::Apply => "apply",
        }
    ));
    if let Some(t) = &run.template_name {
        text.push_str(&format!("Template: {t}\n"));
    }
    text.push_str(&format!("Status: {}\n", run.status.name()));
    if let Some(e) = &run.error {
        text.push_str(&format!("Why: {e}\n"));
    }
    text.push_str(&format!(
        "Records: {} scanned, {} planned, {} applied, {} failed, {} skipped\n",
        c.scanned, c.planned, c.applied, c.failed, c.skipped
    ));
    text.push_str(&format!(
        "Started by {} ({})\n",
        run.started_by_email,
        run.trigger.name()
    ));
    text.push_str(&format!("In the Activity Tracker: {}\n", run_link(s, run)));
    match download {
        Some(url) => text.push_str(&format!(
            "\nThe CSV is too large to attach. Download it (the link works for 24 hours):\n{url}\n"
        )),
        None if run.csv.is_some() => text.push_str("\nThe run's CSV is attached.\n"),
        None => {}
    }
    text
}

/// The report message for an ended run: the CSV attached, or linked when too large.
pub async fn message(
    s: &(impl UsesBlobs + UsesLinks),
    run: &Run,
    notify: &Notify,
) -> Result<(Email, bool)> {
    let mut email = Email {
        to: notify.recipients.clone(),
        reply_to: None,
        subject: subject(run, notify),
        text: String::new(),
        html: None,
        attachments: Vec::new(),
    };
    let intro = notify
        .message
        .as_deref()
        .map(|m| format!("{}\n\n", m.trim_end()))
        .unwrap_or_default();
    let Some(csv) = &run.csv else {
        email.text = format!("{intro}{}", summary(s, run, None));
        return Ok((email, false));
    };
    let key = runs::csv_key(&run.account_id, run.id);
    // Base64 makes the attachment 4/3 its size (plus line breaks).
    let encoded = (csv.bytes as usize).div_ceil(3) * 4 * 78 / 76;
    if encoded + MIME_OVERHEAD <= MAX_RAW_MESSAGE_BYTES
        && let Some(blob) = s.blobs().get(&key).await?
    {
        email.text = format!("{intro}{}", summary(s, run, None));
        email.attachments.push(Attachment {
            filename: csv.file_name.clone(),
            content_type: "text/csv".into(),
            bytes: blob.bytes,
        });
        return Ok((email, true));
    }
    let url = s
        .blobs()
        .presigned_get(&key, LINK_TTL, Some(&csv.file_name))
        .await?;
    email.text = format!("{intro}{}", summary(s, run, Some(&url)));
    Ok((email, false))
}

/// Sends the ended run's report if one is due; returns the delivery as stored. Safe to
/// call again for the same run (a redelivered event): a sent report is not sent again.
pub async fn deliver(
    s: &(impl UsesItems + UsesBlobs + UsesMail + UsesClock + UsesLinks + UsesRunQueue),
    account_id: &AccountId,
    run_id: crate::ids::RunId,
) -> Result<Option<Delivery>> {
    let run = runs::load(s, account_id, run_id).await?;
    let (Some(notify), Some(delivery)) = (run.notify.clone(), run.delivery.clone()) else {
        return Ok(None);
    };
    if !run.status.is_final() {
        return Ok(Some(delivery));
    }
    let now = s.clock().now();
    let claimable = match delivery.status {
        DeliveryStatus::Pending => true,
        DeliveryStatus::Sending => delivery.at.is_none_or(|t| now - t >= SENDING_STALE),
        DeliveryStatus::Sent | DeliveryStatus::Failed => false,
    };
    if !claimable {
        return Ok(Some(delivery));
    }
    // Claim it (a version-checked write): of two deliverers, one sends.
    let mut claimed = run.clone();
    let mut sending = delivery.clone();
    sending.status = DeliveryStatus::Sending;
    sending.at = Some(now);
    claimed.delivery = Some(sending);
    match s
        .items()
        .put(
            claimed.to_item(false)?,
            crate::ports::items::Condition::Version(run.version),
        )
        .await
    {
        Ok(_) => {}
        Err(Error::Conflict(_)) => return Ok(Some(delivery)),
        Err(e) => return Err(e),
    }
    // The policy as it is now: it may have been tightened since the run (or its schedule)
    // was saved. A recipient it no longer allows is left out, and the run says so.
    let (allowed, refused) = recipients(&policy::load(s, account_id).await?, &notify);
    let (outcome, attempts) = if allowed.is_empty() {
        let why = "no recipient may receive it under the account's policy";
        (Err(why.to_string()), 0)
    } else {
        let to = Notify {
            recipients: allowed.clone(),
            ..notify.clone()
        };
        let (sent, attempts) = send(s, &run, &to).await;
        (sent.map_err(|e| e.to_string()), attempts)
    };
    let done = match outcome {
        Ok((message_id, attached)) => Delivery {
            status: DeliveryStatus::Sent,
            reason: (!refused.is_empty()).then(|| {
                format!(
                    "not sent to {} of {} recipients: see `refused`",
                    refused.len(),
                    notify.recipients.len()
                )
            }),
            message_id: Some(message_id),
            attached: Some(attached),
            at: Some(s.clock().now()),
            attempts,
            recipients: allowed,
            refused,
        },
        Err(why) => Delivery {
            status: DeliveryStatus::Failed,
            reason: Some(why),
            message_id: None,
            attached: None,
            at: Some(s.clock().now()),
            attempts,
            recipients: Vec::new(),
            refused,
        },
    };
    tracing::info!(%run_id, status = ?done.status, "run report delivered");
    let stored = done.clone();
    runs::update(s, account_id, run_id, false, move |r| {
        r.delivery = Some(stored.clone());
    })
    .await?;
    Ok(Some(done))
}

/// The recipients a report goes to now, in the form the message names them, and those the
/// account's `policy` refuses, with why.
fn recipients(policy: &AccountPolicy, notify: &Notify) -> (Vec<String>, Vec<RefusedRecipient>) {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for r in &notify.recipients {
        match policy.admit(r) {
            Ok(ascii) => allowed.push(ascii),
            Err(reason) => refused.push(RefusedRecipient {
                address: r.clone(),
                reason,
            }),
        }
    }
    (allowed, refused)
}

/// Builds and sends, retrying while SES throttles. Returns (message id, attached).
async fn send(
    s: &(impl UsesMail + UsesBlobs + UsesLinks),
    run: &Run,
    notify: &Notify,
) -> (Result<(String, bool)>, u32) {
    let (email, attached) = match message(s, run, notify).await {
        Ok(m) => m,
        Err(e) => return (Err(e), 0),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match s.mailer().send(&email).await {
            Ok(id) => return (Ok((id, attached)), attempt),
            Err(Error::Unavailable(m)) if attempt < ATTEMPTS => {
                tracing::warn!(run_id = %run.id, attempt, reason = %m, "mail throttled; retrying");
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            Err(e) => return (Err(e), attempt),
        }
    }
}
