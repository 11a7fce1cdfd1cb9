//! The records a merge runs over, held column by column in a few large buffers: a million
//! contacts with a dozen fields take a few hundred megabytes, where a `Record` each (a map
//! of owned strings) would take several times that.

use chrono::{DateTime, Utc};

use crate::crm::Record;

/// Strings of one column, end to end, with where each ends.
#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    bytes: String,
    ends: Vec<u32>,
}

impl Column {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            bytes: String::with_capacity(rows * 8),
            ends: Vec::with_capacity(rows),
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, row: usize) -> &str {
        let end = self.ends[row] as usize;
        let start = match row {
            0 => 0,
            _ => self.ends[row - 1] as usize,
        };
        &self.bytes[start..end]
    }

    /// The buffer to append the next value to; `end_row` closes it.
    pub fn buffer(&mut self) -> &mut String {
        &mut self.bytes
    }

    pub fn end_row(&mut self) {
        let end = u32::try_from(self.bytes.len()).expect("a merge column holds under 4 GiB");
        self.ends.push(end);
    }

    pub fn push(&mut self, v: &str) {
        self.bytes.push_str(v);
        self.end_row();
    }

    /// Room for `others`' rows after this column's.
    fn reserve_for<'a>(&mut self, others: impl Iterator<Item = &'a Column> + Clone) {
        self.bytes
            .reserve(others.clone().map(|c| c.bytes.len()).sum());
        self.ends.reserve(others.map(Column::len).sum());
    }

    /// Appends `other`'s rows after this column's.
    pub fn extend(&mut self, other: &Column) {
        let base = u32::try_from(self.bytes.len()).expect("a merge column holds under 4 GiB");
        self.bytes.push_str(&other.bytes);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }
}

/// Records to merge: ids, the values of the engine's fields, creation and modification
/// times, and (for Lead↔Contact matching) which records are Leads.
#[derive(Debug, Clone)]
pub struct MergeInput {
    fields: Vec<String>,
    pub(crate) ids: Column,
    pub(crate) values: Vec<Column>,
    /// Seconds since the epoch; `NO_TIME` when unknown.
    pub(crate) created: Vec<i64>,
    pub(crate) modified: Vec<i64>,
    pub(crate) lead: Vec<bool>,
}

pub(crate) const NO_TIME: i64 = i64::MIN;

fn secs(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(NO_TIME, |t| t.timestamp())
}

impl MergeInput {
    /// An empty input holding `fields` (use `MergeEngine::input` for the engine's).
    pub fn new(fields: Vec<String>) -> Self {
        let values = fields.iter().map(|_| Column::default()).collect();
        Self {
            fields,
            ids: Column::default(),
            values,
            created: Vec::new(),
            modified: Vec::new(),
            lead: Vec::new(),
        }
    }

    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.len() == 0
    }

    pub fn reserve(&mut self, rows: usize) {
        self.ids = Column::with_capacity(rows);
        for c in &mut self.values {
            *c = Column::with_capacity(rows);
        }
        self.created.reserve(rows);
        self.modified.reserve(rows);
        self.lead.reserve(rows);
    }

    /// Adds a record: `value(field)` gives its value of each of the input's fields
    /// (None or empty: no value).
    pub fn push<'v>(
        &mut self,
        id: &str,
        created: Option<DateTime<Utc>>,
        modified: Option<DateTime<Utc>>,
        value: impl FnMut(&str) -> Option<&'v str>,
    ) {
        self.push_as(id, created, modified, false, value);
    }

    /// Adds a Lead, for a config with `cross_object` (its values read under the Contact
    /// field names: see `MergeEngine::add_lead`).
    pub fn push_lead<'v>(
        &mut self,
        id: &str,
        created: Option<DateTime<Utc>>,
        modified: Option<DateTime<Utc>>,
        value: impl FnMut(&str) -> Option<&'v str>,
    ) {
        self.push_as(id, created, modified, true, value);
    }

    fn push_as<'v>(
        &mut self,
        id: &str,
        created: Option<DateTime<Utc>>,
        modified: Option<DateTime<Utc>>,
        lead: bool,
        mut value: impl FnMut(&str) -> Option<&'v str>,
    ) {
        self.ids.push(id);
        for (f, col) in self.fields.iter().zip(&mut self.values) {
            col.push(value(f).unwrap_or_default());
        }
        self.created.push(secs(created));
        self.modified.push(secs(modified));
        self.lead.push(lead);
    }

    /// Adds a record whose values are given by position: `value(k)` is its value of
    /// `fields()[k]` (empty: no value). For a reader that matched columns to fields once.
    pub fn push_row<'v>(
        &mut self,
        id: &str,
        created: Option<DateTime<Utc>>,
        modified: Option<DateTime<Utc>>,
        mut value: impl FnMut(usize) -> &'v str,
    ) {
        self.ids.push(id);
        for (k, col) in self.values.iter_mut().enumerate() {
            col.push(value(k));
        }
        self.created.push(secs(created));
        self.modified.push(secs(modified));
        self.lead.push(false);
    }

    /// Appends the records of `pieces`, which hold the same fields (one file read in
    /// pieces on several threads), in order.
    pub fn append(&mut self, pieces: &[MergeInput]) {
        assert!(
            pieces.iter().all(|p| p.fields == self.fields),
            "appending records of other fields"
        );
        let rows: usize = pieces.iter().map(MergeInput::len).sum();
        self.ids.reserve_for(pieces.iter().map(|p| &p.ids));
        for (k, col) in self.values.iter_mut().enumerate() {
            col.reserve_for(pieces.iter().map(|p| &p.values[k]));
        }
        self.created.reserve(rows);
        self.modified.reserve(rows);
        self.lead.reserve(rows);
        for p in pieces {
            self.ids.extend(&p.ids);
            for (col, piece) in self.values.iter_mut().zip(&p.values) {
                col.extend(piece);
            }
            self.created.extend(&p.created);
            self.modified.extend(&p.modified);
            self.lead.extend(&p.lead);
        }
    }

    /// Adds a CRM record (its `created_at`/`updated_at` as the times).
    pub fn push_record(&mut self, r: &Record) {
        self.push(&r.id, r.created_at, r.updated_at, |f| {
            r.properties.get(f).and_then(|v| v.as_deref())
        });
    }

    pub fn id(&self, row: usize) -> &str {
        self.ids.get(row)
    }

    /// A record's value of field `f` (index in `fields`); None when empty.
    pub fn value(&self, row: usize, f: usize) -> Option<&str> {
        let v = self.values[f].get(row);
        (!v.trim().is_empty()).then_some(v)
    }

    pub(crate) fn raw(&self, row: usize, f: usize) -> &str {
        self.values[f].get(row)
    }

    pub fn is_lead(&self, row: usize) -> bool {
        self.lead[row]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_keep_values_apart() {
        let mut c = Column::default();
        c.push("ab");
        c.push("");
        c.push("é");
        let mut d = Column::default();
        d.push("x");
        c.extend(&d);
        assert_eq!(
            (0..4).map(|i| c.get(i)).collect::<Vec<_>>(),
            ["ab", "", "é", "x"]
        );
    }

    #[test]
    fn records_are_read_by_field() {
        let mut input = MergeInput::new(vec!["email".into(), "phone".into()]);
        let record = Record {
            id: "7".into(),
            properties: [("email".to_string(), Some("a@b.co".to_string()))].into(),
            created_at: None,
            updated_at: None,
        };
        input.push_record(&record);
        assert_eq!(input.len(), 1);
        assert_eq!(input.id(0), "7");
        assert_eq!(input.value(0, 0), Some("a@b.co"));
        assert_eq!(input.value(0, 1), None);
        assert!(!input.is_lead(0));
    }

    #[test]
    fn pieces_appended_keep_their_records_in_order() {
        let fields = vec!["email".to_string(), "phone".to_string()];
        let mut whole = MergeInput::new(fields.clone());
        whole.push_row("1", None, None, |k| ["a@b.co", ""][k]);
        let mut piece = MergeInput::new(fields);
        piece.push_row("2", None, None, |k| ["", "555"][k]);
        whole.append(&[piece]);
        assert_eq!((whole.len(), whole.id(1)), (2, "2"));
        assert_eq!(
            (whole.value(0, 0), whole.value(0, 1), whole.value(1, 1)),
            (Some("a@b.co"), None, Some("555"))
        );
    }
}
