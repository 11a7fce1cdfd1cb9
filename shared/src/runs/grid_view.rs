//! The grid view (`POST /grid/records`): a page of an object's records with chosen
//! columns and a filter, the records Grid Edit edits, read from the CRM a scan page at a
//! time with the member's own connection.
//!
//! The filter is bulk's (`modules::filter`): pushed down to the CRM where it can be and
//! checked again on each record, as bulk runs do. The cursor names the CRM scan page the
//! next record is on and how many of its records came before it, so a page may end in the
//! middle of a CRM page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::app::UsesCrm;
use crate::crm::{Crm, ScanRequest};
use crate::error::{Error, FieldError, Result};
use crate::identity::{Grant, Permission, Principal};
use crate::modules::config::ModuleConfig;
use crate::modules::filter::Filter;
use crate::modules::grid::GridConfig;
use crate::modules::{Module, fields};

pub const LIMIT_DEFAULT: u32 = 50;
pub const LIMIT_MAX: u32 = 200;
pub const MAX_COLUMNS: usize = 100;
/// CRM scan pages read per request at most, so a filter that matches little still
/// answers quickly; the cursor continues the search.
const SCAN_PAGES_MAX: usize = 10;

fn default_limit() -> u32 {
    LIMIT_DEFAULT
}

/// What `POST /grid/records` takes.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GridRecordsRequest {
    /// The CRM object: `contacts`, `companies`, `deals` on HubSpot; `Contact`, `Account`,
    /// `Lead`, ... on Salesforce.
    pub object: String,
    /// The fields to show, in order (API names; 1 to 100, no repeats).
    #[schemars(length(min = 1, max = 100), extend("uniqueItems" = true))]
    pub columns: Vec<String>,
    /// Which records to show: the filter of the bulk module (`{"field", "op", "value"}`
    /// conditions in `all`/`any` groups). Absent: every record.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Records per page, 1 to 200.
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1, max = 200))]
    pub limit: u32,
    /// The previous page's `cursor`, with the same object, columns and filter.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One page of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GridRecordsPage {
    /// The records, in the CRM's scan order.
    pub records: Vec<GridRecord>,
    /// Pass back as `cursor` for the next page; null on the last. With a filter, a page
    /// may hold fewer than `limit` records before the end.
    pub cursor: Option<String>,
}

/// One record: exactly the requested columns.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GridRecord {
    /// The record's CRM id.
    pub id: String,
    /// Each requested column's value; null when the record has none (an empty value is
    /// no value, as in the CRMs).
    pub properties: BTreeMap<String, Option<String>>,
}

/// Where the next page starts: the CRM page `crm` opens (None: the first), after `skip`
/// of its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "c")]
    crm: Option<String>,
    #[serde(rename = "s")]
    skip: usize,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(s: &str) -> Result<Cursor> {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| Error::invalid("/cursor", "is not a cursor this grid returned"))
    }
}

/// The grid config the request amounts to (the grid module's checks apply to it).
fn config_of(req: &GridRecordsRequest) -> GridConfig {
    GridConfig {
        object: req.object.clone(),
        columns: req.columns.clone(),
        filter: req.filter.clone(),
        page_size: req.limit,
        sort: None,
    }
}

/// A grid config's problem, pointed into the request's body (`/config/columns/2` is
/// `/columns/2`).
fn from_config(e: FieldError) -> FieldError {
    FieldError {
        pointer: e
            .pointer
            .strip_prefix("/config")
            .unwrap_or(&e.pointer)
            .to_string(),
        detail: e.detail,
    }
}

/// Every problem of the request's shape, with pointers into the body.
fn check_shape(req: &GridRecordsRequest) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = config_of(req)
        .check()
        .into_iter()
        .filter(|e| e.pointer != "/config/page_size")
        .map(from_config)
        .collect();
    if req.columns.len() > MAX_COLUMNS {
        errors.push(FieldError::new(
            "/columns",
            format!("at most {MAX_COLUMNS} columns"),
        ));
    }
    if !(1..=LIMIT_MAX).contains(&req.limit) {
        errors.push(FieldError::new(
            "/limit",
            format!("must be between 1 and {LIMIT_MAX}, got {}", req.limit),
        ));
    }
    errors
}

fn invalid(errors: Vec<FieldError>) -> Result<()> {
    match errors.first() {
        None => Ok(()),
        Some(first) => Err(Error::Invalid {
            detail: format!("{}: {}", first.pointer, first.detail),
            errors,
        }),
    }
}

/// `POST /grid/records`: read on the grid module.
pub async fn records(
    s: &impl UsesCrm,
    who: &Principal,
    grant: Grant,
    req: GridRecordsRequest,
) -> Result<GridRecordsPage> {
    grant.covers(Module::Grid, Permission::Read)?;
    invalid(check_shape(&req))?;
    let start = req.cursor.as_deref().map(Cursor::decode).transpose()?;
    let crm = crate::crm_schema::crm_of(s, who).await?;
    page(crm.as_ref(), &req, start).await
}

async fn page(
    crm: &dyn Crm,
    req: &GridRecordsRequest,
    start: Option<Cursor>,
) -> Result<GridRecordsPage> {
    // The object first (a describe of an object the CRM lacks would fail), then its fields:
    // the same check, with suggestions, that templates and runs get at the door.
    let unknown_object = fields::check_object(&req.object, crm.objects());
    invalid(unknown_object.into_iter().map(from_config).collect())?;
    let schema = crm.describe(&req.object).await?;
    let grid = ModuleConfig::Grid(config_of(req));
    invalid(
        grid.check_schema(crm.objects(), &schema)
            .into_iter()
            .map(from_config)
            .collect(),
    )?;
    let config = config_of(req);
    let grid = config.compile().map_err(|errors| Error::Invalid {
        detail: "the grid is invalid".into(),
        errors,
    })?;
    let request = ScanRequest {
        object: req.object.clone(),
        properties: config.reads(),
        filter: grid.crm_filter(),
    };
    let limit = req.limit as usize;
    let mut at = start.unwrap_or(Cursor { crm: None, skip: 0 });
    let mut records = Vec::new();
    for _ in 0..SCAN_PAGES_MAX {
        let scanned = crm.scan_page(&request, at.crm.as_deref()).await?;
        for (i, r) in scanned.records.iter().enumerate().skip(at.skip) {
            // The grid keeps what its filter matches, with exactly its columns.
            let Some(shown) = grid.view(std::slice::from_ref(r)).pop() else {
                continue;
            };
            records.push(GridRecord {
                id: shown.id,
                properties: shown
                    .properties
                    .into_iter()
                    .map(|(k, v)| (k, v.filter(|v| !v.is_empty())))
                    .collect(),
            });
            if records.len() == limit {
                let cursor = if i + 1 < scanned.records.len() {
                    Some(Cursor {
                        crm: at.crm.clone(),
                        skip: i + 1,
                    })
                } else {
                    scanned.cursor.map(|c| Cursor {
                        crm: Some(c),
                        skip: 0,
                    })
                };
                return Ok(GridRecordsPage {
                    records,
                    cursor: cursor.map(|c| c.encode()),
                });
            }
        }
        match scanned.cursor {
            None => {
                return Ok(GridRecordsPage {
                    records,
                    cursor: None,
                });
            }
            Some(c) => {
                at = Cursor {
                    crm: Some(c),
                    skip: 0,
                }
            }
        }
    }
    Ok(GridRecordsPage {
        records,
        cursor: Some(at.encode()),
    })
}
