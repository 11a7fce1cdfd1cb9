//! A run's plan/audit rows as JSON pages (`GET /runs/{id}/rows`), read from its stored CSV
//! (docs/modules/plan-csv.md), so a console shows a preview without downloading a file.
//!
//! The cursor carries the byte offset of the next row and how many rows came before it:
//! a page parses only its own rows, never the file before the cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

use super::{csv_key, get};
use crate::app::Services;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::modules::csv::{Role, RowAction, Status, read_audit};

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

/// `GET /runs/{id}/rows`: read on the run's module; 409 while the run has no CSV yet.
pub async fn page(
    s: &Services,
    who: &Principal,
    run_id: &str,
    q: &RowsQuery,
) -> Result<RunRowsPage> {
    let run = get(s, who, run_id).await?;
    if run.csv.is_none() {
        return Err(Error::Conflict(format!(
            "run {run_id} is {}: its rows are written when it ends",
            run.status.name()
        )));
    }
    let blob = s
        .blobs
        .get(&csv_key(&run.account_id, &run.id))
        .await?
        .ok_or_else(|| Error::unexpected(format!("the CSV of run {run_id} is missing")))?;
    let mut page = read_page(&blob.bytes, q)?;
    page.run_id = run.id;
    Ok(page)
}

/// A page of rows of an audit CSV's bytes (`run_id` left empty).
pub fn read_page(bytes: &[u8], q: &RowsQuery) -> Result<RunRowsPage> {
    let head = read_audit(bytes).map_err(Error::from)?;
    let (columns, with_outcome) = (head.columns().to_vec(), head.with_outcome());
    let header_end = head.byte_position() as usize;
    let start = match &q.cursor {
        None => Cursor {
            offset: header_end as u64,
            rows: 0,
        },
        Some(c) => {
            let c = Cursor::decode(c)?;
            let at = c.offset as usize;
            // A row starts after the header, at a line end (the reader stops between
            // a row's `\r` and `\n`).
            let ok = at >= header_end
                && at <= bytes.len()
                && matches!(bytes[at - 1], b'\n' | b'\r');
            if !ok {
                return Err(bad_cursor());
            }
            c
        }
    };
    let at = start.offset as usize;
    // The header again, then the rows from the cursor on: the reader checks the layout
    // and parses only this page.
    let input = (&bytes[..header_end]).chain(&bytes[at..]);
    let mut rows = read_audit(input).map_err(Error::from)?;
    let mut out = Vec::new();
    let mut read = 0u64;
    let mut end = at;
    while out.len() < q.limit {
        let Some(row) = rows.next() else { break };
        let row = row.map_err(|e| {
            if q.cursor.is_some() {
                bad_cursor()
            } else {
                Error::from(e)
            }
        })?;
        read += 1;
        end = at + (rows.byte_position() as usize - header_end);
        let outcome = row.outcome.as_ref().map(|o| o.status);
        let wanted = q.action.is_none_or(|a| a == row.action)
            && q.outcome.is_none_or(|o| outcome == Some(o));
        if !wanted {
            continue;
        }
        let error = row.outcome.and_then(|o| o.error);
        out.push(RunRow {
            row: row.row + start.rows,
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
        });
    }
    let more = bytes[end.min(bytes.len())..]
        .iter()
        .any(|b| !b.is_ascii_whitespace());
    Ok(RunRowsPage {
        run_id: String::new(),
        columns,
        with_outcome,
        rows: out,
        cursor: more.then(|| {
            Cursor {
                offset: end as u64,
                rows: start.rows + read,
            }
            .encode()
        }),
    })
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

    fn all_pages(q: RowsQuery) -> Vec<Vec<RunRow>> {
        let mut pages = Vec::new();
        let mut q = q;
        loop {
            let p = read_page(AUDIT.as_bytes(), &q).unwrap();
            pages.push(p.rows);
            match p.cursor {
                Some(c) => q.cursor = Some(c),
                None => return pages,
            }
        }
    }

    #[test]
    fn pages_cover_every_row_once_in_order_with_their_csv_row_numbers() {
        let pages = all_pages(RowsQuery {
            limit: 2,
            ..Default::default()
        });
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        let rows: Vec<RunRow> = pages.into_iter().flatten().collect();
        let ids: Vec<_> = rows.iter().map(|r| r.record_id.clone().unwrap()).collect();
        assert_eq!(ids, ["101", "102", "103", "10", "11"]);
        // A cell spanning lines is one row, as a spreadsheet shows it.
        assert_eq!(
            rows.iter().map(|r| r.row).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6]
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

    #[test]
    fn filters_select_exactly_the_matching_rows() {
        let failed: Vec<RunRow> = all_pages(RowsQuery {
            limit: 1,
            outcome: Some(Status::Failed),
            ..Default::default()
        })
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].record_id.as_deref(), Some("102"));
        let merges: Vec<RunRow> = all_pages(RowsQuery {
            limit: 10,
            action: Some(RowAction::Merge),
            outcome: Some(Status::Applied),
            ..Default::default()
        })
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(merges.len(), 2);
    }

    #[test]
    fn a_forged_cursor_is_a_400() {
        for c in [
            "nope",
            &Cursor { offset: 3, rows: 0 }.encode(),
            &Cursor {
                offset: 10_000,
                rows: 0,
            }
            .encode(),
        ] {
            let q = RowsQuery {
                limit: 2,
                cursor: Some(c.to_string()),
                ..Default::default()
            };
            let e = read_page(AUDIT.as_bytes(), &q).unwrap_err();
            assert_eq!(e.status(), 400, "{c}");
        }
    }
}
