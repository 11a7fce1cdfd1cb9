//! A world for the worker's unit tests: an embedded store, a clock that moves when told,
//! runs stored as the API would store them, and a CRM in memory.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::state::State;
use super::{Worker, parts::plan_part_key, state_sk};
use crate::app::Services;
use crate::clock::ManualClock;
use crate::crm::{
    ApiUsage, Crm, CrmError, CrmKind, CrmResult, CrmUser, Field, FieldType, Identity, LeadConvert,
    LeadConvertOutcome, MergeGroup, MergeOutcome, ObjectSchema, Outcome, Properties, Record,
    ScanPage, ScanRequest, Update,
};
use crate::modules::csv::read_audit;
use crate::modules::{Change, Module};
use crate::ports::items::{Condition, Item};
use crate::runs::{Acting, Counts, Mode, Run, Scope, Status, Trigger};
use crate::testing::TestWorld;

pub(super) const ACCOUNT: &str = "hubspot:1001";

pub(super) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

/// An embedded world whose clock stands at `start()` until moved.
pub(super) fn world() -> (TestWorld, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    (TestWorld::with_clock(clock.clone()), clock)
}

/// A queued run on `contacts`, stored.
pub(super) async fn stored_run(s: &Services, mode: Mode, cancel_requested: bool) -> Run {
    let mut run = Run {
        id: crate::ids::RunId::new(),
        account_id: ACCOUNT.parse().unwrap(),
        module: Module::Bulk,
        object: "contacts".into(),
        mode,
        trigger: Trigger::Manual,
        template_id: None,
        template_name: None,
        schedule_id: None,
        recipe: None,
        config: serde_json::json!({}),
        scope: Scope::All,
        edits: Vec::new(),
        stamp_property: None,
        notify: None,
        started_by: "u1".parse().unwrap(),
        started_by_email: "u1@steward.test".into(),
        acting: Acting::Member {
            user_id: "u1".parse().unwrap(),
        },
        status: Status::Queued,
        counts: Counts::default(),
        created_at: s.clock.now(),
        started_at: None,
        finished_at: None,
        error: None,
        waiting_for: None,
        cancel_requested,
        revert_of: None,
        reverted_by: None,
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
        version: 0,
    };
    run.version = s
        .items
        .put(run.to_item(false).unwrap(), Condition::Absent)
        .await
        .unwrap();
    run
}

/// Stores `st` as the run's checkpoint, as a worker that stopped left it.
pub(super) async fn store_state(s: &Services, run: &Run, st: &State) {
    let item = Item::of(crate::keys::account(ACCOUNT), state_sk(run.id), 0, st).unwrap();
    s.items.put(item, Condition::Absent).await.unwrap();
}

/// The run's checkpoint as stored, if it is there: what the next worker starts from.
pub(super) async fn stored_state(s: &Services, run: &Run) -> Option<State> {
    let item = s
        .items
        .get(&crate::keys::account(ACCOUNT), &state_sk(run.id))
        .await
        .unwrap()?;
    let mut st: State = item.decode("run state").unwrap();
    st.version = item.version;
    Some(st)
}

/// Writes `changes` as the run's first plan part.
pub(super) async fn store_plan(s: &Services, run: &Run, changes: &[Change]) {
    let mut body = Vec::new();
    for c in changes {
        serde_json::to_writer(&mut body, c).unwrap();
        body.push(b'\n');
    }
    s.blobs
        .put(&plan_part_key(run, 0), body.into(), "application/x-ndjson")
        .await
        .unwrap();
}

/// A worker holding the run, with `crm` open and an hour to go.
pub(super) fn worker<'a>(
    s: &'a Services,
    run: Run,
    st: State,
    crm: Arc<dyn Crm>,
) -> Worker<'a, Services> {
    Worker {
        s,
        run,
        st,
        deadline: s.clock.now() + chrono::Duration::hours(1),
        crm: Some(crm),
        window: None,
        last_progress: None,
    }
}

/// The ended run's audit CSV as a member reads it: each row's record id, outcome and
/// error code.
pub(super) async fn audit(s: &Services, run: &Run) -> Vec<(String, String, Option<String>)> {
    let blob = s
        .blobs
        .get(&crate::runs::csv_key(ACCOUNT, run.id))
        .await
        .unwrap()
        .expect("the run's CSV is written");
    read_audit(&blob.bytes[..])
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            let outcome = row.outcome.expect("an applied run's CSV has outcomes");
            (
                row.record_id.unwrap_or_default(),
                outcome.status.name().to_string(),
                outcome.error.map(|e| e.code),
            )
        })
        .collect()
}

/// HubSpot's `contacts` in memory, with a text `city`: it keeps what it is sent, records
/// each update call's ids, and its reads can be made to fail.
#[derive(Default)]
pub(super) struct FakeCrm {
    records: Mutex<HashMap<String, Record>>,
    updates: Mutex<Vec<Vec<String>>>,
    read_error: Mutex<Option<CrmError>>,
}

impl FakeCrm {
    pub(super) fn holding(records: Vec<Record>) -> Arc<FakeCrm> {
        let crm = FakeCrm::default();
        *crm.records.lock().unwrap() = records.into_iter().map(|r| (r.id.clone(), r)).collect();
        Arc::new(crm)
    }

    /// Every read from now on fails with `e`.
    pub(super) fn fail_reads(&self, e: CrmError) {
        *self.read_error.lock().unwrap() = Some(e);
    }

    /// The ids of each `batch_update` call, in order.
    pub(super) fn updates(&self) -> Vec<Vec<String>> {
        self.updates.lock().unwrap().clone()
    }

    pub(super) fn value(&self, id: &str, field: &str) -> Option<String> {
        let records = self.records.lock().unwrap();
        records.get(id)?.properties.get(field).cloned().flatten()
    }
}

fn unused(what: &str) -> CrmError {
    CrmError::Unsupported(format!("the worker's tests do not call {what}"))
}

#[async_trait]
impl Crm for FakeCrm {
    fn kind(&self) -> CrmKind {
        CrmKind::HubSpot
    }

    fn objects(&self) -> &'static [&'static str] {
        &["contacts"]
    }

    async fn identity(&self) -> CrmResult<Identity> {
        Err(unused("identity"))
    }

    async fn list_users(&self) -> CrmResult<Vec<CrmUser>> {
        Err(unused("list_users"))
    }

    async fn describe(&self, object: &str) -> CrmResult<ObjectSchema> {
        Ok(ObjectSchema {
            object: object.to_string(),
            fields: vec![Field {
                name: "city".into(),
                label: "City".into(),
                field_type: FieldType::Text,
                writable: true,
                options: Vec::new(),
                unique: false,
            }],
        })
    }

    async fn scan_page(&self, _: &ScanRequest, _: Option<&str>) -> CrmResult<ScanPage> {
        Err(unused("scan_page"))
    }

    async fn batch_read(&self, _: &str, ids: &[String], _: &[String]) -> CrmResult<Vec<Record>> {
        if let Some(e) = self.read_error.lock().unwrap().clone() {
            return Err(e);
        }
        let records = self.records.lock().unwrap();
        Ok(ids
            .iter()
            .filter_map(|id| records.get(id).cloned())
            .collect())
    }

    async fn batch_create(&self, _: &str, _: &[Properties]) -> CrmResult<Vec<Outcome>> {
        Err(unused("batch_create"))
    }

    async fn batch_update(&self, _: &str, updates: &[Update]) -> CrmResult<Vec<Outcome>> {
        self.updates
            .lock()
            .unwrap()
            .push(updates.iter().map(|u| u.id.clone()).collect());
        let mut records = self.records.lock().unwrap();
        Ok(updates
            .iter()
            .map(|u| match records.get_mut(&u.id) {
                Some(r) => {
                    r.properties.extend(u.properties.clone());
                    Outcome::ok(u.id.clone())
                }
                None => Outcome::failed(Some(u.id.clone()), "NOT_FOUND", "no such record"),
            })
            .collect())
    }

    async fn batch_archive(&self, _: &str, _: &[String]) -> CrmResult<Vec<Outcome>> {
        Err(unused("batch_archive"))
    }

    async fn merge(&self, _: &str, _: &[MergeGroup]) -> CrmResult<Vec<MergeOutcome>> {
        Err(unused("merge"))
    }

    async fn convert_leads(&self, _: &[LeadConvert]) -> CrmResult<Vec<LeadConvertOutcome>> {
        Err(unused("convert_leads"))
    }

    fn api_usage(&self) -> ApiUsage {
        ApiUsage {
            calls: 0,
            used_today: None,
            daily_limit: None,
            burst_limit: 100,
            burst_window: std::time::Duration::from_secs(10),
            retries: 0,
            throttled: 0,
        }
    }
}
