//! The audit CSV: the one layout a plan is previewed in and an applied run is recorded in
//! (apply adds outcome columns), written as a stream and read back for revert and tests.
//!
//! Layout (docs/modules/plan-csv.md): `record_id,action,group_id,role,note`, then
//! `<field> (before),<field> (after)` per field column, then, when applied,
//! `outcome,error_code,error_message`. Every cell, headers included, is neutralized against
//! spreadsheet formulas: one starting with `= + - @ ' \t \r` gets a leading `'`, and the
//! reader strips exactly that one, so values round-trip. Empty cells are empty/null values.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Read, Write};

use super::{Action, Change, FieldChange};
use crate::crm::{Outcome, RecordError};

/// The first five columns, in order.
pub const FIXED_COLUMNS: [&str; 5] = ["record_id", "action", "group_id", "role", "note"];
/// The columns an applied run adds at the end.
pub const OUTCOME_COLUMNS: [&str; 3] = ["outcome", "error_code", "error_message"];

/// csv's write buffer: room for many rows, so nearly every row takes its fast path.
pub const WRITE_BUFFER: usize = 64 * 1024;

const BEFORE: &str = " (before)";
const AFTER: &str = " (after)";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// A file that is not an audit CSV, or a row that breaks the layout. Rows are
    /// counted as a spreadsheet shows them: the header is row 1.
    #[error("audit CSV row {row}: {detail}")]
    Format { row: u64, detail: String },
    /// The writer was used against its own layout (a field it has no column for).
    #[error("audit layout: {0}")]
    Layout(String),
}

impl From<AuditError> for crate::Error {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Format { .. } => crate::Error::invalid("/audit", e.to_string()),
            AuditError::Csv(ref c) if !c.is_io_error() => {
                crate::Error::invalid("/audit", e.to_string())
            }
            other => crate::Error::internal("writing or reading the audit CSV", other),
        }
    }
}

/// `'` before a cell a spreadsheet would run as a formula (or that starts with `'`).
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Undoes `neutralize`: strips one leading `'`.
pub fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// The CSV rows `write_change` writes for a change: a merge's master and duplicates, a
/// review pair's two records, one row for the rest.
pub fn rows_of(change: &Change) -> u64 {
    match &change.action {
        Action::Merge { duplicate_ids, .. } => 1 + duplicate_ids.len() as u64,
        Action::Review { .. } => 2,
        _ => 1,
    }
}

/// Writes changes as audit rows, one at a time: memory does not grow with the rows.
pub struct AuditWriter<W: Write> {
    csv: ::csv::Writer<W>,
    index: HashMap<String, usize>,
    with_outcome: bool,
    /// One row's cells, reused.
    row: Vec<String>,
    /// The row as csv writes it fastest (`write_byte_record`), reused.
    record: ::csv::ByteRecord,
}

impl<W: Write> AuditWriter<W> {
    /// Writes the header for `columns` (the engine's `columns()`); `with_outcome` for apply.
    pub fn new(w: W, columns: &[String], with_outcome: bool) -> Result<Self, AuditError> {
        Self::build(w, columns, with_outcome, true)
    }

    /// Rows only, no header: a piece of a file whose header another writer wrote (a
    /// run writes its audit CSV in pieces, one per applied batch, and joins them).
    pub fn continuing(w: W, columns: &[String], with_outcome: bool) -> Result<Self, AuditError> {
        Self::build(w, columns, with_outcome, false)
    }

    fn build(
        w: W,
        columns: &[String],
        with_outcome: bool,
        with_header: bool,
    ) -> Result<Self, AuditError> {
        let mut index = HashMap::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                return Err(AuditError::Layout(format!("field column {i} has no name")));
            }
            if index.insert(c.clone(), i).is_some() {
                return Err(AuditError::Layout(format!(
                    "field column `{c}` appears twice"
                )));
            }
        }
        let mut csv = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .buffer_capacity(WRITE_BUFFER)
            .from_writer(w);
        let mut header: Vec<String> = FIXED_COLUMNS.iter().map(|c| c.to_string()).collect();
        for c in columns {
            header.push(neutralize(&format!("{c}{BEFORE}")).into_owned());
            header.push(neutralize(&format!("{c}{AFTER}")).into_owned());
        }
        if with_outcome {
            header.extend(OUTCOME_COLUMNS.iter().map(|c| c.to_string()));
        }
        if with_header {
            csv.write_record(&header)?;
        }
        let width = header.len();
        Ok(Self {
            csv,
            index,
            with_outcome,
            row: vec![String::new(); width],
            record: ::csv::ByteRecord::new(),
        })
    }

    /// The row(s) for one change: one, or for a merge the master's then each duplicate's.
    /// `outcome` is what applying it gave (None: not applied, `skipped`); only an
    /// applying writer takes one.
    pub fn write_change(
        &mut self,
        change: &Change,
        outcome: Option<&Outcome>,
    ) -> Result<(), AuditError> {
        if outcome.is_some() && !self.with_outcome {
            return Err(AuditError::Layout(
                "an outcome was given to a preview writer, which has no outcome columns".into(),
            ));
        }
        for cell in &mut self.row {
            cell.clear();
        }
        let fields_end = self.row.len() - if self.with_outcome { 3 } else { 0 };
        // A merge's master row names the record that remains (HubSpot gives a merged
        // record a new id); the note keeps the master's id as planned.
        let survivor = match &change.action {
            Action::Merge { .. } => outcome
                .and_then(|o| o.id.as_deref())
                .filter(|s| change.id.as_deref() != Some(*s)),
            _ => None,
        };
        let id = survivor
            .or(change.id.as_deref())
            .or_else(|| outcome.and_then(|o| o.id.as_deref()));
        set(&mut self.row[0], id.unwrap_or_default());
        set(&mut self.row[1], change.action.name());
        match &change.action {
            Action::Merge { group_id, .. } => {
                set(&mut self.row[2], group_id);
                set(&mut self.row[3], "master");
            }
            // A Lead converted into its group's master: a duplicate of the group.
            Action::ConvertLead { group_id, .. } => {
                set(&mut self.row[2], group_id);
                set(&mut self.row[3], "duplicate");
            }
            Action::Review { pair_id, .. } => {
                set(&mut self.row[2], pair_id);
                set(&mut self.row[3], "candidate");
            }
            _ => {}
        }
        match (survivor, &change.id) {
            (Some(_), Some(master)) => {
                let moved = format!("the merged record has a new id; the master was {master}");
                let note = match change.note.as_deref() {
                    Some(n) if !n.is_empty() => format!("{n}; {moved}"),
                    _ => moved,
                };
                set(&mut self.row[4], &note);
            }
            _ => set(&mut self.row[4], change.note.as_deref().unwrap_or_default()),
        }
        for f in &change.fields {
            let Some(&k) = self.index.get(&f.field) else {
                return Err(AuditError::Layout(format!(
                    "the change to record {} sets `{}`, which has no column",
                    id.unwrap_or("(new)"),
                    f.field
                )));
            };
            set(
                &mut self.row[5 + 2 * k],
                f.before.as_deref().unwrap_or_default(),
            );
            set(
                &mut self.row[6 + 2 * k],
                f.after.as_deref().unwrap_or_default(),
            );
        }
        if self.with_outcome {
            let (status, error) = match outcome {
                None => ("skipped", None),
                Some(Outcome { error: None, .. }) => ("applied", None),
                Some(Outcome { error: Some(e), .. }) => ("failed", Some(e)),
            };
            set(&mut self.row[fields_end], status);
            if let Some(e) = error {
                set(&mut self.row[fields_end + 1], &e.code);
                set(&mut self.row[fields_end + 2], &e.message);
            }
        }
        self.write_row()?;
        if let Action::Merge { duplicate_ids, .. } = &change.action {
            // Same group, role and outcome; no field values (the plan has none for them).
            for cell in &mut self.row[4..fields_end] {
                cell.clear();
            }
            set(&mut self.row[3], "duplicate");
            for dup in duplicate_ids {
                set(&mut self.row[0], dup);
                self.write_row()?;
            }
        }
        if let Action::Review { other_id, .. } = &change.action {
            // The pair's other record: same pair id, role and outcome.
            for cell in &mut self.row[4..fields_end] {
                cell.clear();
            }
            set(&mut self.row[0], other_id);
            self.write_row()?;
        }
        Ok(())
    }

    /// The row's cells as one record: csv's `write_byte_record` copies a record that fits
    /// its buffer in one pass, where `write_record` goes field by field through its state
    /// machine (the same bytes either way).
    fn write_row(&mut self) -> Result<(), AuditError> {
        self.record.clear();
        for cell in &self.row {
            self.record.push_field(cell.as_bytes());
        }
        Ok(self.csv.write_byte_record(&self.record)?)
    }

    /// Flushes, and gives the writer back.
    pub fn finish(self) -> Result<W, AuditError> {
        self.csv
            .into_inner()
            .map_err(|e| AuditError::Csv(::csv::Error::from(e.into_error())))
    }
}

fn set(cell: &mut String, value: &str) {
    cell.clear();
    cell.push_str(&neutralize(value));
}

/// A row's action, as the `action` column names it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RowAction {
    Update,
    Archive,
    Create,
    Merge,
    ConvertLead,
    Flag,
    /// A scored pair for a person to accept or reject; nothing is written.
    Review,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Master,
    Duplicate,
    /// One of a review pair's two records.
    Candidate,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    schemars::JsonSchema,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schemars(rename = "RowStatus")]
pub enum Status {
    Applied,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    pub status: Status,
    pub error: Option<RecordError>,
}

/// One row read back. Empty cells are None; `fields` lists, in column order, the field
/// columns with a value before or after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The row as a spreadsheet numbers it (the header is row 1; a cell spanning lines
    /// is still one row).
    pub row: u64,
    pub record_id: Option<String>,
    pub action: RowAction,
    pub group_id: Option<String>,
    pub role: Option<Role>,
    pub note: Option<String>,
    pub fields: Vec<FieldChange>,
    /// Present when the file has outcome columns.
    pub outcome: Option<RowOutcome>,
}

/// Rows of an audit CSV, parsed one at a time.
pub struct AuditRows<R: Read> {
    records: ::csv::StringRecordsIntoIter<R>,
    columns: Vec<String>,
    with_outcome: bool,
}

impl<R: Read> AuditRows<R> {
    /// The field columns, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether the file records an applied run.
    pub fn with_outcome(&self) -> bool {
        self.with_outcome
    }

    /// Bytes of the input read so far: just past the header after `read_audit`, just past
    /// the last row after each `next` (a place to resume reading from).
    pub fn byte_position(&self) -> u64 {
        self.records.reader().position().byte()
    }
}

impl RowAction {
    pub const ALL: &[RowAction] = <RowAction as strum::VariantArray>::VARIANTS;

    /// As the `action` column writes it.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

impl Status {
    pub const ALL: &[Status] = <Status as strum::VariantArray>::VARIANTS;

    /// As the `outcome` column writes it.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The value `cell` names, or what is wrong: `<what> "<cell>" is not one of <names>`.
fn one_of<T: Copy + Into<&'static str>>(
    what: &str,
    all: &[T],
    cell: Option<&str>,
) -> Result<T, String> {
    let cell = cell.unwrap_or_default();
    all.iter()
        .copied()
        .find(|v| (*v).into() == cell)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| (*v).into()).collect();
            format!("{what} {cell:?} is not one of {}", names.join(", "))
        })
}

/// Opens an audit CSV: checks its header and returns its rows.
pub fn read_audit<R: Read>(reader: R) -> Result<AuditRows<R>, AuditError> {
    let mut csv = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = csv
        .headers()?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.trim_start_matches('\u{feff}')
            } else {
                h
            };
            restore(h).to_string()
        })
        .collect();
    let bad = |detail: String| AuditError::Format { row: 1, detail };
    if header.len() < FIXED_COLUMNS.len() || header[..5] != FIXED_COLUMNS {
        return Err(bad(format!(
            "the header must start with {}",
            FIXED_COLUMNS.join(",")
        )));
    }
    let with_outcome = header.len() >= 8 && header[header.len() - 3..] == OUTCOME_COLUMNS;
    let fields_end = header.len() - if with_outcome { 3 } else { 0 };
    let pairs = &header[5..fields_end];
    if !pairs.len().is_multiple_of(2) {
        return Err(bad(
            "field columns come in pairs: `<field> (before)`, `<field> (after)`".into(),
        ));
    }
    let mut columns = Vec::with_capacity(pairs.len() / 2);
    for (k, pair) in pairs.chunks(2).enumerate() {
        let before = pair[0].strip_suffix(BEFORE);
        let after = pair[1].strip_suffix(AFTER);
        match (before, after) {
            (Some(b), Some(a)) if a == b && !b.is_empty() => {
                if columns.iter().any(|c| c == b) {
                    return Err(bad(format!("field `{b}` has two pairs of columns")));
                }
                columns.push(b.to_string());
            }
            _ => {
                return Err(bad(format!(
                    "columns {} and {} should be `<field> (before)` and `<field> (after)`, not {:?} and {:?}",
                    6 + 2 * k,
                    7 + 2 * k,
                    pair[0],
                    pair[1]
                )));
            }
        }
    }
    Ok(AuditRows {
        records: csv.into_records(),
        columns,
        with_outcome,
    })
}

impl<R: Read> Iterator for AuditRows<R> {
    type Item = Result<AuditRow, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = match self.records.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e.into())),
        };
        Some(self.parse(&record))
    }
}

impl<R: Read> AuditRows<R> {
    fn parse(&self, record: &::csv::StringRecord) -> Result<AuditRow, AuditError> {
        let row = record.position().map_or(0, |p| p.record() + 1);
        let bad = |detail: String| AuditError::Format { row, detail };
        let cell = |i: usize| -> Option<String> {
            record
                .get(i)
                .map(restore)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let action = one_of("action", RowAction::ALL, cell(1).as_deref()).map_err(bad)?;
        let role = match (cell(3).as_deref(), action) {
            (Some("master"), RowAction::Merge) => Some(Role::Master),
            (Some("duplicate"), RowAction::Merge | RowAction::ConvertLead) => Some(Role::Duplicate),
            (None, RowAction::Merge) => return Err(bad("a merge row needs a role".into())),
            (None, RowAction::ConvertLead) => {
                return Err(bad("a convert_lead row needs a role".into()));
            }
            (Some(r), RowAction::ConvertLead) => {
                return Err(bad(format!(
                    "role {r:?} of a convert_lead row is not duplicate"
                )));
            }
            (Some("candidate"), RowAction::Review) => Some(Role::Candidate),
            (None, RowAction::Review) => return Err(bad("a review row needs a role".into())),
            (Some(r), RowAction::Review) => {
                return Err(bad(format!("role {r:?} of a review row is not candidate")));
            }
            (None, _) => None,
            (Some(r), RowAction::Merge) => {
                return Err(bad(format!("role {r:?} is not master or duplicate")));
            }
            (Some(_), _) => {
                return Err(bad(
                    "only merge, convert_lead and review rows have a role".into()
                ));
            }
        };
        let fields = self
            .columns
            .iter()
            .enumerate()
            .filter_map(|(k, field)| {
                let (before, after) = (cell(5 + 2 * k), cell(6 + 2 * k));
                (before.is_some() || after.is_some()).then(|| FieldChange {
                    field: field.clone(),
                    before,
                    after,
                })
            })
            .collect();
        let outcome = if self.with_outcome {
            let at = 5 + 2 * self.columns.len();
            let status = one_of("outcome", Status::ALL, cell(at).as_deref()).map_err(bad)?;
            let (code, message) = (cell(at + 1), cell(at + 2));
            let error = (code.is_some() || message.is_some()).then(|| RecordError {
                code: code.unwrap_or_default(),
                message: message.unwrap_or_default(),
            });
            Some(RowOutcome { status, error })
        } else {
            None
        };
        Ok(AuditRow {
            row,
            record_id: cell(0),
            action,
            group_id: cell(2),
            role,
            note: cell(4),
            fields,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fc(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange {
            field: field.into(),
            before: before.map(str::to_string),
            after: after.map(str::to_string),
        }
    }

    fn update(id: &str, fields: Vec<FieldChange>) -> Change {
        Change {
            id: Some(id.into()),
            action: Action::Update,
            fields,
            note: None,
        }
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn written(columns: &[&str], with_outcome: bool, rows: &[(Change, Option<Outcome>)]) -> String {
        let mut w = AuditWriter::new(Vec::new(), &cols(columns), with_outcome).unwrap();
        for (c, o) in rows {
            w.write_change(c, o.as_ref()).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    fn read(text: &str) -> Vec<AuditRow> {
        read_audit(text.as_bytes())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    #[test]
    fn preview_layout_column_by_column() {
        let text = written(
            &["email", "phone"],
            false,
            &[(
                update(
                    "101",
                    vec![
                        fc("phone", Some("555"), Some("+1 555")),
                        fc("email", None, Some("a@b.co")),
                    ],
                ),
                None,
            )],
        );
        assert_eq!(
            text,
            "record_id,action,group_id,role,note,email (before),email (after),phone (before),phone (after)\r\n\
             101,update,,,,,a@b.co,555,'+1 555\r\n"
        );
    }

    #[test]
    fn apply_adds_outcomes() {
        let text = written(
            &["stage"],
            true,
            &[
                (
                    update("1", vec![fc("stage", None, Some("lead"))]),
                    Some(Outcome::ok("1")),
                ),
                (
                    update("2", vec![fc("stage", None, Some("lead"))]),
                    Some(Outcome::failed(
                        Some("2".into()),
                        "INVALID",
                        "bad, \"very\" bad",
                    )),
                ),
                (update("3", vec![fc("stage", None, Some("lead"))]), None),
                (
                    Change {
                        id: None,
                        action: Action::Create,
                        fields: vec![fc("stage", None, Some("new"))],
                        note: None,
                    },
                    Some(Outcome::ok("900")),
                ),
            ],
        );
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "record_id,action,group_id,role,note,stage (before),stage (after),outcome,error_code,error_message"
        );
        assert_eq!(lines[1], "1,update,,,,,lead,applied,,");
        assert_eq!(
            lines[2],
            "2,update,,,,,lead,failed,INVALID,\"bad, \"\"very\"\" bad\""
        );
        assert_eq!(lines[3], "3,update,,,,,lead,skipped,,");
        assert_eq!(lines[4], "900,create,,,,,new,applied,,");
        let rows = read(&text);
        assert_eq!(rows[1].outcome.as_ref().unwrap().status, Status::Failed);
        assert_eq!(
            rows[1].outcome.as_ref().unwrap().error,
            Some(RecordError {
                code: "INVALID".into(),
                message: "bad, \"very\" bad".into()
            })
        );
        assert_eq!(rows[2].outcome.as_ref().unwrap().status, Status::Skipped);
    }

    #[test]
    fn merges_write_a_row_per_record_of_the_group() {
        let merge = Change {
            id: Some("10".into()),
            action: Action::Merge {
                group_id: "g1".into(),
                duplicate_ids: vec!["11".into(), "12".into()],
            },
            fields: vec![fc("phone", None, Some("555"))],
            note: Some("same email".into()),
        };
        let text = written(&["phone"], true, &[(merge, Some(Outcome::ok("10")))]);
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(
            &lines[1..],
            [
                "10,merge,g1,master,same email,,555,applied,,",
                "11,merge,g1,duplicate,,,,applied,,",
                "12,merge,g1,duplicate,,,,applied,,",
            ]
        );
        let rows = read(&text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].role, Some(Role::Master));
        assert_eq!(rows[2].role, Some(Role::Duplicate));
        assert_eq!(rows[2].record_id.as_deref(), Some("12"));
        assert_eq!(rows[2].group_id.as_deref(), Some("g1"));
        assert_eq!(rows[2].row, 4);
    }

    fn review_change() -> Change {
        Change {
            id: Some("20".into()),
            action: Action::Review {
                pair_id: "r1".into(),
                other_id: "21".into(),
            },
            fields: Vec::new(),
            note: Some("match 0.93".into()),
        }
    }

    #[test]
    fn a_review_pair_is_two_candidate_rows_that_an_apply_skips() {
        let text = written(&["phone"], true, &[(review_change(), None)]);
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(
            &lines[1..],
            [
                "20,review,r1,candidate,match 0.93,,,skipped,,",
                "21,review,r1,candidate,,,,skipped,,",
            ]
        );
        let rows = read(&text);
        assert_eq!(rows.len() as u64, rows_of(&review_change()));
        assert_eq!(rows[1].action, RowAction::Review);
        assert_eq!(rows[1].role, Some(Role::Candidate));
        assert_eq!(rows[1].group_id.as_deref(), Some("r1"));
        let bad = "record_id,action,group_id,role,note\r\n20,review,r1,master,\r\n";
        let err = read_audit(bad.as_bytes())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(err.to_string().contains("not candidate"), "{err}");
    }

    #[test]
    fn a_merge_master_row_names_the_record_that_remains() {
        let merge = Change {
            id: Some("10".into()),
            action: Action::Merge {
                group_id: "g1".into(),
                duplicate_ids: vec!["11".into()],
            },
            fields: Vec::new(),
            note: None,
        };
        // HubSpot answered the merge with a new record, 99.
        let text = written(&["phone"], true, &[(merge, Some(Outcome::ok("99")))]);
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(
            &lines[1..],
            [
                "99,merge,g1,master,the merged record has a new id; the master was 10,,,applied,,",
                "11,merge,g1,duplicate,,,,applied,,",
            ]
        );
    }

    #[test]
    fn formulas_are_neutralized_in_cells_and_headers() {
        let text = written(
            &["=HYPERLINK(\"x\")"],
            false,
            &[(
                Change {
                    id: Some("-5".into()),
                    action: Action::Flag,
                    fields: vec![fc("=HYPERLINK(\"x\")", Some("+1 555"), Some("@SUM(A1)"))],
                    note: Some("\tcmd".into()),
                },
                None,
            )],
        );
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "record_id,action,group_id,role,note,\"'=HYPERLINK(\"\"x\"\") (before)\",\"'=HYPERLINK(\"\"x\"\") (after)\""
        );
        assert_eq!(lines[1], "'-5,flag,,,'\tcmd,'+1 555,'@SUM(A1)");
        let rows = read(&text);
        assert_eq!(rows[0].record_id.as_deref(), Some("-5"));
        assert_eq!(rows[0].note.as_deref(), Some("\tcmd"));
        assert_eq!(
            rows[0].fields,
            vec![fc("=HYPERLINK(\"x\")", Some("+1 555"), Some("@SUM(A1)"))]
        );
        for (raw, safe) in [
            ("=1+1", "'=1+1"),
            ("-5", "'-5"),
            ("+33", "'+33"),
            ("@x", "'@x"),
            ("\rx", "'\rx"),
            ("'quoted", "''quoted"),
            ("plain -5", "plain -5"),
            ("", ""),
        ] {
            assert_eq!(neutralize(raw), safe);
            assert_eq!(restore(&neutralize(raw)), raw);
        }
    }

    #[test]
    fn the_writer_refuses_what_its_layout_cannot_hold() {
        assert!(AuditWriter::new(Vec::new(), &cols(&["a", "a"]), false).is_err());
        assert!(AuditWriter::new(Vec::new(), &cols(&[""]), false).is_err());
        let mut w = AuditWriter::new(Vec::new(), &cols(&["a"]), false).unwrap();
        let err = w
            .write_change(&update("1", vec![fc("b", None, Some("x"))]), None)
            .unwrap_err();
        assert!(
            err.to_string().contains("`b`, which has no column"),
            "{err}"
        );
        assert!(
            w.write_change(&update("1", vec![]), Some(&Outcome::ok("1")))
                .is_err()
        );
    }

    #[test]
    fn rows_stream_to_the_writer_before_finish() {
        struct Shared(std::rc::Rc<std::cell::RefCell<usize>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                *self.0.borrow_mut() += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let seen = std::rc::Rc::new(std::cell::RefCell::new(0));
        let mut w = AuditWriter::new(Shared(seen.clone()), &cols(&["a"]), false).unwrap();
        for i in 0..5_000 {
            w.write_change(
                &update(&i.to_string(), vec![fc("a", None, Some("value"))]),
                None,
            )
            .unwrap();
        }
        assert!(
            *seen.borrow() > 50_000,
            "rows reach the writer as they are written"
        );
        w.finish().unwrap();
    }

    #[test]
    fn the_reader_names_what_is_wrong() {
        let err = |text: &str| match read_audit(text.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(rows) => rows
                .map(|r| r.map(|_| ()))
                .collect::<Result<Vec<_>, _>>()
                .expect_err("a bad row")
                .to_string(),
        };
        assert_eq!(
            err("id,action\n1,update\n"),
            "audit CSV row 1: the header must start with record_id,action,group_id,role,note"
        );
        assert!(err("record_id,action,group_id,role,note,a (before)\n").contains("come in pairs"));
        assert!(
            err("record_id,action,group_id,role,note,a (before),b (after)\n")
                .contains("should be `<field> (before)` and `<field> (after)`")
        );
        assert_eq!(
            err("record_id,action,group_id,role,note\n1,upsert,,,\n"),
            "audit CSV row 2: action \"upsert\" is not one of update, archive, create, merge, convert_lead, flag, review"
        );
        assert_eq!(
            err("record_id,action,group_id,role,note\n1,update,,,\"two\nlines\"\n2,upsert,,,\n"),
            "audit CSV row 3: action \"upsert\" is not one of update, archive, create, merge, convert_lead, flag, review",
            "a cell spanning lines is one row"
        );
        assert_eq!(
            err("record_id,action,group_id,role,note\n1,merge,g,,\n"),
            "audit CSV row 2: a merge row needs a role"
        );
        assert_eq!(
            err("record_id,action,group_id,role,note\n1,convert_lead,g,,\n"),
            "audit CSV row 2: a convert_lead row needs a role"
        );
        assert_eq!(
            err("record_id,action,group_id,role,note\n1,convert_lead,g,master,\n"),
            "audit CSV row 2: role \"master\" of a convert_lead row is not duplicate"
        );
        assert_eq!(
            err(
                "record_id,action,group_id,role,note,outcome,error_code,error_message\n1,update,,,,done,,\n"
            ),
            "audit CSV row 2: outcome \"done\" is not one of applied, failed, skipped"
        );
        assert!(err("record_id,action,group_id,role,note\n1,update\n").starts_with("audit CSV: "));
        // A byte-order mark from a spreadsheet's "save as CSV" is fine.
        assert_eq!(
            read("\u{feff}record_id,action,group_id,role,note\n1,update,,,\n").len(),
            1
        );
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[=+\\-@'\t\r\n\", ]{0,3}[a-zA-Zë0-9 ,\"\n]{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn any_text_round_trips(
            id in text(),
            note in text(),
            names in prop::collection::btree_set(text().prop_filter("named", |s| !s.is_empty()), 1..4),
            values in prop::collection::vec((text(), text()), 4),
            code in text(),
        ) {
            let columns: Vec<String> = names.into_iter().collect();
            let fields: Vec<FieldChange> = columns
                .iter()
                .zip(&values)
                .map(|(c, (b, a))| FieldChange {
                    field: c.clone(),
                    before: Some(b.clone()).filter(|s| !s.is_empty()),
                    after: Some(a.clone()).filter(|s| !s.is_empty()),
                })
                .collect();
            let change = Change {
                id: Some(id.clone()).filter(|s| !s.is_empty()),
                action: Action::Update,
                fields: fields.clone(),
                note: Some(note.clone()).filter(|s| !s.is_empty()),
            };
            let outcome = Outcome::failed(None, &code, note.clone());
            let mut w = AuditWriter::new(Vec::new(), &columns, true).unwrap();
            w.write_change(&change, Some(&outcome)).unwrap();
            let bytes = w.finish().unwrap();
            let rows = read_audit(bytes.as_slice()).unwrap();
            prop_assert_eq!(rows.columns(), columns.as_slice());
            let rows: Vec<AuditRow> = rows.collect::<Result<_, _>>().unwrap();
            prop_assert_eq!(rows.len(), 1);
            let row = &rows[0];
            prop_assert_eq!(&row.record_id, &change.id);
            prop_assert_eq!(&row.note, &change.note);
            let kept: Vec<FieldChange> = fields
                .into_iter()
                .filter(|f| f.before.is_some() || f.after.is_some())
                .collect();
            prop_assert_eq!(&row.fields, &kept);
            let out = row.outcome.clone().unwrap();
            prop_assert_eq!(out.status, Status::Failed);
            let err = out.error.unwrap_or(RecordError { code: String::new(), message: String::new() });
            prop_assert_eq!(err.code, code);
            prop_assert_eq!(err.message, note);
        }
    }
}
