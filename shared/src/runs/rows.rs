//! A run's plan/audit rows as JSON pages (`GET /runs/{id}/rows`), read from its stored CSV
//! (docs/modules/plan-csv.md), so a console shows a preview without downloading a file.
//!
//! The cursor carries the byte offset of the next row and how many rows came before it:
//! a page parses only its own rows, never the file before the cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

use super::{csv_key, get};
use crate::app::{UsesBlobs, UsesItems};
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::modules::csv::{AuditRow, Role, RowAction, Status, read_audit};
use crate::ports::blobs::BlobStore;

pub const LIMIT_DEFAULT: usize = 100;
pub const LIMIT_MAX: usize = 500;

/// What `GET /runs/{id}/rows` takes (its query parameters).
#[derive(Debug, Clone, Default)]
pub struct RowsQuery {
    /// 1 to `LIMIT_MAX` rows per page.
    pub limit: usize,
    pub cursor: Option<String>,
    /// Only rows of this action.
    pub action: Option<RowAction>,
    /// Only rows with this outcome (a preview's rows have none, so match none).
    pub outcome: Option<Status>,
}

/// One page of a run's rows.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RunRowsPage {
    /// The run the rows are of.
    pub run_id: String,
    /// The fields the run may change, in the CSV's order: the keys of each row's `fields`.
    pub columns: Vec<String>,
    /// Whether rows carry an outcome (an apply run's audit) or not (a preview).
    pub with_outcome: bool,
    /// The page's rows, in the CSV's order.
    pub rows: Vec<RunRow>,
    /// Pass back as `cursor` (with the same filters) for the next page; null on the last.
    /// With a filter, a page may hold fewer than `limit` rows, even none, before the end.
    pub cursor: Option<String>,
}

/// One row of the plan or audit: one record's change (a merge writes one per record of
/// its group).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RunRow {
    /// The row's number in the CSV as a spreadsheet shows it (the header is row 1).
    pub row: u64,
    /// The record's CRM id; null for a create in a preview.
    pub record_id: Option<String>,
    /// What the row does to the record.
    pub action: RowAction,
    /// Merges: the duplicate group the row belongs to.
    pub group_id: Option<String>,
    /// Merges: `master` (the record that stays) or `duplicate` (merged into it).
    pub role: Option<Role>,
    /// Why, when there is more to say (a failed rule, a skipped group).
    pub note: Option<String>,
    /// Before and after values by field (a name from `columns`); a field the row does not
    /// touch is absent.
    pub fields: BTreeMap<String, FieldValues>,
    /// Apply runs: what the CRM did with the row; null in a preview.
    pub outcome: Option<Status>,
    /// On failures: the CRM's error code or Steward's (`QUOTA`, `AUTH`, ...).
    pub error_code: Option<String>,
    /// On failures: the CRM's message.
    pub error_message: Option<String>,
}

/// A field's values in a row; null is no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FieldValues {
    /// As read from the CRM.
    pub before: Option<String>,
    /// As written (or to be written); null when cleared or not written.
    pub after: Option<String>,
}

/// Where the next page starts: past `offset` bytes of the file, after `rows` data rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "o")]
    offset: u64,
    #[serde(rename = "r")]
    rows: u64,
}

impl Cursor {
    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self).unwrap_or_default())
    }

    fn decode(s: &str) -> Result<Cursor> {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(bad_cursor)
    }
}

fn bad_cursor() -> Error {
    Error::invalid("cursor", "is not a cursor of this run's rows")
}

/// Bytes read per range: a page of typical rows; a longer row doubles it.
pub const CHUNK_BYTES: u64 = 256 * 1024;

/// `GET /runs/{id}/rows`: read on the run's module; 409 while the run has no CSV yet.
pub async fn page(
    s: &(impl UsesItems + UsesBlobs),
    who: &Principal,
    run_id: crate::ids::RunId,
    q: &RowsQuery,
) -> Result<RunRowsPage> {
    let run = get(s, who, run_id).await?.into_inner();
    if run.csv.is_none() {
        return Err(Error::Conflict(format!(
            "run {run_id} is {}: its rows are written when it ends",
            run.status.name()
        )));
    }
    let blob = Blob {
        store: s.blobs(),
        key: csv_key(&run.account_id, run.id),
    };
    let mut page = read_page(&blob, q, CHUNK_BYTES).await?;
    page.run_id = run.id.to_string();
    Ok(page)
}

/// Where a page's bytes come from: ranges of one file.
trait Ranges {
    /// Up to `len` bytes from `start` (fewer at the end).
    async fn range(&self, start: u64, len: u64) -> Result<Bytes>;
}

struct Blob<'a> {
    store: &'a dyn BlobStore,
    key: String,
}

impl Ranges for Blob<'_> {
    async fn range(&self, start: u64, len: u64) -> Result<Bytes> {
        self.store
            .get_range(&self.key, start, len)
            .await?
            .ok_or_else(|| Error::unexpected(format!("the CSV {} is missing", self.key)))
    }
}

/// A page of rows of an audit CSV (`run_id` left empty), read a range at a time: the
/// header, then from the cursor on until the page is full.
async fn read_page(file: &impl Ranges, q: &RowsQuery, chunk: u64) -> Result<RunRowsPage> {
    // The header is one line (field API names hold no line breaks).
    let mut size = chunk;
    let header = loop {
        let bytes = file.range(0, size).await?;
        let eof = (bytes.len() as u64) < size;
        match bytes.iter().position(|b| *b == b'\n') {
            Some(nl) => break bytes.slice(..=nl),
            None if eof => break bytes,
            None => size *= 2,
        }
    };
    let head = read_audit(header.as_ref()).map_err(Error::from)?;
    let (columns, with_outcome) = (head.columns().to_vec(), head.with_outcome());
    let header_end = header.len() as u64;
    let start = match &q.cursor {
        None => Cursor {
            offset: header_end,
            rows: 0,
        },
        Some(c) => {
            let c = Cursor::decode(c)?;
            if c.offset < header_end {
                return Err(bad_cursor());
            }
            c
        }
    };
    let (mut at, mut before) = (start.offset, start.rows);
    let mut out = Vec::new();
    let mut size = chunk;
    let more = loop {
        // One byte before `at` too: a row starts at a line end (the reader stops between
        // a row's `\r` and `\n`), which is how a forged cursor is told.
        let bytes = file.range(at - 1, size + 1).await?;
        if !bytes.first().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
            return Err(bad_cursor());
        }
        let data = bytes.slice(1..);
        let eof = (data.len() as u64) < size;
        let mut rows = read_audit(header.as_ref().chain(data.as_ref())).map_err(Error::from)?;
        let mut taken = 0u64;
        let mut used = 0u64;
        while out.len() < q.limit {
            let Some(row) = rows.next() else { break };
            let end = rows.byte_position() - header_end;
            let row = match row {
                // A row the range's end may have cut is read again from its start (an
                // error too: the rest of the file may complete it).
                _ if !eof && end >= data.len() as u64 => break,
                Err(_) if !eof => break,
                Ok(row) => row,
                Err(e) if q.cursor.is_some() => {
                    tracing::debug!(error = %e, "a cursor not at a row");
                    return Err(bad_cursor());
                }
                Err(e) => return Err(e.into()),
            };
            let outcome = row.outcome.as_ref().map(|o| o.status);
            let wanted = q.action.is_none_or(|a| a == row.action)
                && q.outcome.is_none_or(|o| outcome == Some(o));
            if wanted {
                out.push(typed(row, before));
            }
            taken += 1;
            used = end;
        }
        at += used;
        before += taken;
        let rest = &data[used as usize..];
        if out.len() >= q.limit {
            break !eof || rest.iter().any(|b| !b.is_ascii_whitespace());
        }
        if eof {
            break false;
        }
        size = if taken == 0 { size * 2 } else { chunk };
    };
    Ok(RunRowsPage {
        run_id: String::new(),
        columns,
        with_outcome,
        rows: out,
        cursor: more.then(|| {
            Cursor {
                offset: at,
                rows: before,
            }
            .encode()
        }),
    })
}

/// A row read back as the API shows it; `before` data rows came before its range.
fn typed(row: AuditRow, before: u64) -> RunRow {
    let outcome = row.outcome.as_ref().map(|o| o.status);
    let error = row.outcome.and_then(|o| o.error);
    RunRow {
        row: row.row + before,
        record_id: row.record_id,
        action: row.action,
        group_id: row.group_id,
        role: row.role,
        note: row.note,
        fields: row
            .fields
            .into_iter()
            .map(|f| {
                (
                    f.field,
                    FieldValues {
                        before: f.before,
                        after: f.after,
                    },
                )
            })
            .collect(),
        outcome,
        error_code: error
            .as_ref()
            .map(|e| e.code.clone())
            .filter(|c| !c.is_empty()),
        error_message: error.map(|e| e.message).filter(|m| !m.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIT: &str = "record_id,action,group_id,role,note,phone (before),phone (after),outcome,error_code,error_message\r\n\
        101,update,,,,555-0100,'+1 555 0100,applied,,\r\n\
        102,update,,,\"two\r\nlines\",555 0101,'+1 555 0101,failed,INVALID_PHONE,The phone number is not valid\r\n\
        103,archive,,,,,,skipped,,\r\n\
        10,merge,g1,master,same email,,555-0100,applied,,\r\n\
        11,merge,g1,duplicate,,,,applied,,\r\n";

    impl Ranges for &[u8] {
        async fn range(&self, start: u64, len: u64) -> Result<Bytes> {
            let from = (start as usize).min(self.len());
            let to = (start + len).min(self.len() as u64) as usize;
            Ok(Bytes::copy_from_slice(&self[from..to]))
        }
    }

    /// Every page, read in ranges of `chunk` bytes.
    async fn all_pages(q: RowsQuery, chunk: u64) -> Vec<Vec<RunRow>> {
        let mut pages = Vec::new();
        let mut q = q;
        loop {
            let p = read_page(&AUDIT.as_bytes(), &q, chunk).await.unwrap();
            pages.push(p.rows);
            match p.cursor {
                Some(c) => q.cursor = Some(c),
                None => return pages,
            }
        }
    }

    #[tokio::test]
    async fn pages_cover_every_row_once_in_order_with_their_csv_row_numbers() {
        // Ranges smaller than a row, cutting rows anywhere, and the whole file.
        for chunk in [1, 7, 16, 40, 64, 1 << 20] {
            let pages = all_pages(
                RowsQuery {
                    limit: 2,
                    ..Default::default()
                },
                chunk,
            )
            .await;
            assert_eq!(
                pages.iter().map(Vec::len).collect::<Vec<_>>(),
                [2, 2, 1],
                "chunk {chunk}"
            );
            let rows: Vec<RunRow> = pages.into_iter().flatten().collect();
            let ids: Vec<_> = rows.iter().map(|r| r.record_id.clone().unwrap()).collect();
            assert_eq!(ids, ["101", "102", "103", "10", "11"]);
            // A cell spanning lines is one row, as a spreadsheet shows it.
            assert_eq!(
                rows.iter().map(|r| r.row).collect::<Vec<_>>(),
                [2, 3, 4, 5, 6],
                "chunk {chunk}"
            );
            assert_eq!(
                rows[0].fields["phone"].after.as_deref(),
                Some("+1 555 0100")
            );
            assert_eq!(rows[1].note.as_deref(), Some("two\r\nlines"));
            assert_eq!(rows[1].error_code.as_deref(), Some("INVALID_PHONE"));
            assert_eq!(rows[3].role, Some(Role::Master));
            assert!(rows[2].fields.is_empty());
        }
    }

    #[tokio::test]
    async fn filters_select_exactly_the_matching_rows() {
        let failed: Vec<RunRow> = all_pages(
            RowsQuery {
                limit: 1,
                outcome: Some(Status::Failed),
                ..Default::default()
            },
            16,
        )
        .await
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].record_id.as_deref(), Some("102"));
        assert_eq!(failed[0].row, 3);
        let merges: Vec<RunRow> = all_pages(
            RowsQuery {
                limit: 10,
                action: Some(RowAction::Merge),
                outcome: Some(Status::Applied),
                ..Default::default()
            },
            16,
        )
        .await
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(merges.iter().map(|r| r.row).collect::<Vec<_>>(), [5, 6]);
    }

    #[tokio::test]
    async fn a_forged_cursor_is_a_400() {
        for c in [
            "nope".to_string(),
            Cursor { offset: 3, rows: 0 }.encode(),
            // Inside the first row.
            Cursor {
                offset: AUDIT.find('\n').unwrap() as u64 + 3,
                rows: 0,
            }
            .encode(),
            Cursor {
                offset: 10_000,
                rows: 0,
            }
            .encode(),
        ] {
            let q = RowsQuery {
                limit: 2,
                cursor: Some(c.clone()),
                ..Default::default()
            };
            let e = read_page(&AUDIT.as_bytes(), &q, 64).await.unwrap_err();
            assert_eq!(e.status(), 400, "{c}");
        }
    }
}
