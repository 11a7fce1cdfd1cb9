//! `steward seed-runs` (hidden): writes many finished runs straight into a stopped server's
//! data directory, as the account's Owner, so the Activity Tracker can be measured at scale
//! without starting and working each run. A benchmark's fixture, not a way to run modules.

use chrono::{DateTime, Duration, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use steward_shared::clock::SystemClock;
use steward_shared::crm::CrmKind;
use steward_shared::identity::store;
use steward_shared::identity::{Account, Member, crm_name, crm_title};
use steward_shared::ids::RunId;
use steward_shared::modules::grid::CellEdit;
use steward_shared::modules::{Module, ModuleConfig};
use steward_shared::ports::ItemStore;
use steward_shared::ports::items::WriteOp;
use steward_shared::ports::items::embedded::EmbeddedItemStore;
use steward_shared::runs::{Acting, Counts, Mode, Run, Scope, Status, Trigger};

/// Runs are created over this many days before now.
const SPAN_DAYS: i64 = 90;
/// Runs per write transaction.
const BATCH: usize = 1_000;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SeedCrm {
    Hubspot,
    Salesforce,
}

impl From<SeedCrm> for CrmKind {
    fn from(c: SeedCrm) -> Self {
        match c {
            SeedCrm::Hubspot => CrmKind::HubSpot,
            SeedCrm::Salesforce => CrmKind::Salesforce,
        }
    }
}

#[derive(clap::Args)]
pub struct SeedArgs {
    /// The data directory of a stopped `steward serve --demo` that was signed in to once.
    #[arg(long)]
    data_dir: PathBuf,
    /// How many runs to write.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
    /// Whose account: the one signing in to this CRM created.
    #[arg(long, value_enum, default_value = "hubspot")]
    crm: SeedCrm,
}

pub async fn run(args: SeedArgs) -> Result<(), Box<dyn std::error::Error>> {
    let crm = CrmKind::from(args.crm);
    let dir = &args.data_dir;
    let sign_in_first = || {
        format!(
            "start `steward serve --demo --data-dir {d}`, sign in once first with {crm} (as the \
             sandbox's first user, who becomes the Owner), stop the server, then seed",
            d = dir.display(),
            crm = crm_title(crm),
        )
    };
    let db = dir.join("steward.redb");
    if !db.is_file() {
        return Err(format!("no Steward data in {}: {}", dir.display(), sign_in_first()).into());
    }
    let items = EmbeddedItemStore::open(&db, Arc::new(SystemClock)).map_err(|e| {
        format!(
            "cannot open {} (is `steward serve` still running on it? stop it first): {}",
            db.display(),
            chain(&e)
        )
    })?;
    let (account, owner) = find_owner(&items, crm, dir).await?.ok_or_else(|| {
        format!(
            "no {} account in {} yet: {}",
            crm_title(crm),
            dir.display(),
            sign_in_first()
        )
    })?;

    let began = std::time::Instant::now();
    let runs = runs(&account, &owner, args.count as usize, Utc::now())?;
    write(&items, &runs).await?;
    println!(
        "seeded {} finished runs into account {} as {} in {:.1}s",
        runs.len(),
        account.id,
        owner.email,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The account signing in to `crm` created, and its Owner; `None` before any sign-in.
async fn find_owner(
    items: &EmbeddedItemStore,
    crm: CrmKind,
    dir: &Path,
) -> Result<Option<(Account, Member)>, Box<dyn std::error::Error>> {
    // Account ids are `<crm>:<org>`, so this prefix holds exactly that CRM's accounts.
    let prefix = steward_shared::keys::account(&Account::id_for(crm, ""));
    let found = items
        .scan_sort_key(&prefix, steward_shared::keys::META)
        .await?;
    let account: Account = match found.as_slice() {
        [] => return Ok(None),
        [item] => store::from_item(item)?,
        many => {
            let ids: Vec<&str> = many
                .iter()
                .filter_map(|i| steward_shared::keys::account_of(&i.pk))
                .collect();
            return Err(format!(
                "{} has {} {} accounts ({}); seed-runs writes into the only one",
                dir.display(),
                many.len(),
                crm_name(crm),
                ids.join(", ")
            )
            .into());
        }
    };
    let owner = store::get_member(items, &account.id, &account.owner_user_id)
        .await?
        .ok_or_else(|| {
            format!(
                "account {} names {} as its Owner, who is not among its members",
                account.id, account.owner_user_id
            )
        })?;
    Ok(Some((account, owner)))
}

/// Stores the runs as `runs::create` and the worker leave them: one item each, final (so
/// not on `gsi1`'s `RUNS_ACTIVE`), written without `wake` (so nothing works them).
async fn write(items: &dyn ItemStore, runs: &[Run]) -> steward_shared::Result<()> {
    for chunk in runs.chunks(BATCH) {
        let ops = chunk
            .iter()
            .map(|r| r.to_item(false).map(WriteOp::Put))
            .collect::<steward_shared::Result<Vec<_>>>()?;
        items.batch_write(ops).await?;
    }
    Ok(())
}

/// splitmix64: varied but repeatable numbers without a dependency.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The config a member would save for each module, in the CRM's own object and field names.
fn config(crm: CrmKind, module: Module) -> Value {
    let sf = crm == CrmKind::Salesforce;
    let f = |hubspot: &'static str, salesforce: &'static str| if sf { salesforce } else { hubspot };
    let object = f("contacts", "Contact");
    let (first, email, phone) = (
        f("firstname", "FirstName"),
        f("email", "Email"),
        f("phone", "Phone"),
    );
    match module {
        Module::Merge => json!({"object": object,
            "rules": [{"all": [{"field": email, "compare": "normalized", "as": "email"}]}],
            "master": {"rules": [{"rule": "oldest_created"}]},
            "survivorship": {"fields": {phone: "master_unless_empty"}}}),
        Module::Bulk => json!({"object": object,
            "filter": {"field": email, "op": "is_empty"}, "actions": [{"archive": {}}]}),
        Module::Transform => json!({"object": object, "steps": [
            {"field": first, "fn": "trim"},
            {"field": first, "fn": "title_case"},
            {"field": email, "fn": "email"},
            {"field": phone, "fn": "phone", "format": "e164", "default_region": "US"}]}),
        Module::Validate => json!({"object": object,
            "rules": [{"rule": "required", "field": email}, {"rule": "email", "field": email}]}),
        Module::Grid => json!({"object": object, "columns": [first, email]}),
    }
}

const MODULES: [Module; 5] = [
    Module::Merge,
    Module::Bulk,
    Module::Transform,
    Module::Validate,
    Module::Grid,
];

const FAILURES: [&str; 4] = [
    "the CRM refused the connection's token (401): sign in again",
    "the CRM was unavailable for too long (503 after 8 tries); try again later",
    "the CRM's daily API limit is used up; the run stopped where it was",
    "a field the config names is no longer on the object: correct the template",
];

/// `count` finished runs of `account`, started by `owner`, created over the last
/// `SPAN_DAYS` days (ids from their creation times, so they list newest first).
fn runs(
    account: &Account,
    owner: &Member,
    count: usize,
    now: DateTime<Utc>,
) -> steward_shared::Result<Vec<Run>> {
    let configs = MODULES
        .iter()
        .map(|&m| {
            let json = config(account.crm, m);
            let object = ModuleConfig::parse(m, &json)?.object().to_string();
            Ok((m, json, object))
        })
        .collect::<steward_shared::Result<Vec<_>>>()?;
    // Ends well before now: nothing seeded is still going.
    let newest = (now - Duration::hours(1))
        .duration_trunc(TimeDelta::milliseconds(1))
        .unwrap_or(now);
    let span_ms = Duration::days(SPAN_DAYS).num_milliseconds() as u64;
    let mut dice = Dice(0x5EED ^ count as u64);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (module, config, object) = configs[i % configs.len()].clone();
        // Each module's runs alternate preview, apply.
        let mode = if (i / configs.len()) % 2 == 0 {
            Mode::Preview
        } else {
            Mode::Apply
        };
        // Evenly spread, jittered inside each run's own slot so ids stay distinct.
        let slot = span_ms / count as u64;
        let ago = slot * i as u64 + dice.between(0, slot.saturating_sub(1));
        let created_at = newest - Duration::milliseconds(ago as i64);
        let roll = dice.between(0, 99);
        let status = match (mode, roll) {
            (_, 0..=7) => Status::Failed,
            // Validate only flags, and a flag cannot fail.
            (Mode::Apply, 8..=24) if module != Module::Validate => Status::Partial,
            _ => Status::Succeeded,
        };
        let edits: Vec<CellEdit> = match module {
            Module::Grid => (0..dice.between(1, 40))
                .map(|n| CellEdit {
                    id: (9_100_000 + dice.between(0, 50_000) * 7 + n).to_string(),
                    field: config["columns"][(n % 2) as usize]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    value: Some(format!("Edited {n}")),
                })
                .collect(),
            _ => Vec::new(),
        };
        let counts = counts(&mut dice, module, mode, status, edits.len() as u64);
        let started_at = created_at + Duration::milliseconds(dice.between(150, 4_000) as i64);
        // A few thousand records a minute, as the sandbox CRM answers.
        let working_ms = 2_000 + counts.scanned * dice.between(8, 30);
        let finished_at = started_at + Duration::milliseconds(working_ms as i64);
        out.push(Run {
            id: RunId::at(created_at),
            account_id: account.id.clone(),
            module,
            object,
            mode,
            trigger: Trigger::Manual,
            template_id: None,
            template_name: None,
            schedule_id: None,
            recipe: None,
            config,
            scope: Scope::All,
            edits,
            stamp_property: None,
            notify: None,
            started_by: owner.user_id.clone(),
            started_by_email: owner.email.clone(),
            acting: Acting::Member {
                user_id: owner.user_id.clone(),
            },
            status,
            counts,
            created_at,
            started_at: Some(started_at),
            finished_at: Some(finished_at),
            error: (status == Status::Failed)
                .then(|| FAILURES[dice.between(0, FAILURES.len() as u64 - 1) as usize].into()),
            waiting_for: None,
            cancel_requested: false,
            revert_of: None,
            reverted_by: None,
            // No audit CSV is written for a seeded run, and revert reads its before-values
            // from that CSV: neither is offered.
            revertible: None,
            from_preview: None,
            applied_by: None,
            exclude_groups: Vec::new(),
            exclude_records: Vec::new(),
            decisions: Default::default(),
            score_model: None,
            csv: None,
            delivery: None,
            continuations: 0,
            // What a first `put_if_absent` stores, so later updates find the version.
            version: 1,
        });
    }
    Ok(out)
}

/// Counts that add up as the worker's do: a preview plans, an apply also applies, fails
/// (partial) or skips (flags); a failed run stopped part-way.
fn counts(dice: &mut Dice, module: Module, mode: Mode, status: Status, edits: u64) -> Counts {
    let scanned = match module {
        Module::Grid => edits,
        // Mostly hundreds to thousands of records, now and then a whole large portal.
        _ if dice.chance(10) => dice.between(20_000, 120_000),
        _ => dice.between(40, 8_000),
    };
    let percent = match module {
        Module::Merge => dice.between(2, 15),
        Module::Bulk => dice.between(5, 60),
        Module::Transform => dice.between(10, 70),
        Module::Validate => dice.between(1, 20),
        Module::Grid => 100,
    };
    let mut c = Counts {
        scanned,
        planned: scanned * percent / 100,
        ..Counts::default()
    };
    if status == Status::Failed {
        c.scanned = scanned * dice.between(0, 90) / 100;
        c.planned = c.scanned * percent / 100;
    }
    if mode == Mode::Preview {
        return c;
    }
    // Validate only flags; flags are planned, never applied.
    let flags = match module {
        Module::Validate => c.planned,
        _ => 0,
    };
    let doable = c.planned - flags;
    match status {
        Status::Succeeded => c.applied = doable,
        Status::Partial => {
            // At least one record failed.
            c.planned = c.planned.max(1);
            let doable = c.planned;
            c.failed = 1 + doable / dice.between(8, 40);
            c.failed = c.failed.min(doable);
            c.applied = doable - c.failed;
        }
        _ => {
            // Stopped part-way: the rest was skipped.
            c.applied = doable * dice.between(0, 80) / 100;
        }
    }
    c.skipped = c.planned - c.applied - c.failed;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner_of(crm: CrmKind) -> (Account, Member) {
        let now = Utc::now();
        let account = Account {
            id: Account::id_for(crm, "42"),
            crm,
            org_id: "42".into(),
            owner_user_id: "u1".parse().unwrap(),
            created_at: now,
            integration: None,
            version: 1,
        };
        let member = Member {
            version: 1,
            ..Member::founder("u1".parse().unwrap(), "owner@example.com".into(), None, now)
        };
        (account, member)
    }

    #[test]
    fn seeded_runs_are_final_varied_and_their_ids_carry_their_creation_time() {
        for crm in [CrmKind::HubSpot, CrmKind::Salesforce] {
            let (account, owner) = owner_of(crm);
            let now = Utc::now();
            let runs = runs(&account, &owner, 500, now).unwrap();
            assert_eq!(runs.len(), 500);
            for r in &runs {
                assert!(r.status.is_final(), "{:?}", r.status);
                let id: RunId = r.id;
                let made_at = RunId::floor(r.created_at);
                let next_ms = RunId::floor(r.created_at + Duration::milliseconds(1));
                assert!(
                    made_at <= id && id < next_ms,
                    "{id} was not made at its created_at"
                );
                assert!(r.created_at > now - Duration::days(SPAN_DAYS + 1));
                let (started, finished) = (r.started_at.unwrap(), r.finished_at.unwrap());
                assert!(r.created_at < started && started < finished && finished < now);
                let c = r.counts;
                assert!(c.planned <= c.scanned, "{c:?}");
                assert_eq!(
                    c.applied + c.failed + c.skipped,
                    match r.mode {
                        Mode::Apply => c.planned,
                        Mode::Preview => 0,
                    },
                    "{c:?}"
                );
                assert_eq!(r.status == Status::Failed, r.error.is_some());
                if r.status == Status::Partial {
                    assert!(c.failed >= 1 && r.module != Module::Validate, "{c:?}");
                }
                let item = r.to_item(false).unwrap();
                assert_eq!(item.gsi1, None, "final runs are not RUNS_ACTIVE");
                assert_eq!(item.data["wake"], Value::Bool(false));
            }
            let mut ids: Vec<RunId> = runs.iter().map(|r| r.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 500, "ids are distinct");
            for m in MODULES {
                for mode in [Mode::Preview, Mode::Apply] {
                    assert!(
                        runs.iter().any(|r| r.module == m && r.mode == mode),
                        "{m} {mode:?}"
                    );
                }
            }
            for s in [Status::Succeeded, Status::Partial, Status::Failed] {
                assert!(runs.iter().any(|r| r.status == s), "{s:?}");
            }
        }
    }

    #[test]
    fn configs_parse_for_both_crms() {
        for crm in [CrmKind::HubSpot, CrmKind::Salesforce] {
            for m in MODULES {
                let c = ModuleConfig::parse(m, &config(crm, m)).unwrap();
                assert!(c.check().is_empty(), "{crm:?} {m}: {:?}", c.check());
            }
        }
    }
}
