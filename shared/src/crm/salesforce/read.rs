//! Reading: identity, users, describe, records by id, and SOQL scans whose cursor holds the
//! query locator and the last id seen, so an expired locator is re-queried from that id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

use super::super::limits::salesforce as figures;
use super::super::{
    CrmError, CrmKind, CrmResult, CrmUser, Field, FieldType, Filter, Identity, ObjectSchema,
    Record, ScanPage, ScanRequest,
};
use super::{Req, Salesforce, rest_error_of, rest_failure, soql};

/// Page of a `query`/`queryAll` answer.
#[derive(Deserialize)]
pub(super) struct QueryPage {
    pub done: bool,
    #[serde(rename = "nextRecordsUrl")]
    pub next: Option<String>,
    pub records: Vec<Value>,
}

/// What a scan cursor holds. Nothing in memory backs it: a checkpointed cursor alone resumes.
#[derive(Serialize, Deserialize)]
struct Cursor {
    /// Fingerprint of the scan (object, fields, filter) it belongs to.
    #[serde(rename = "s")]
    scan: String,
    /// `nextRecordsUrl`, usable until the locator expires.
    #[serde(rename = "l")]
    locator: Option<String>,
    /// The last id returned: the scan goes on from `Id > after` once the locator is gone.
    #[serde(rename = "a")]
    after: Option<String>,
    /// When the locator was issued (Unix seconds).
    #[serde(rename = "t")]
    issued: i64,
}

const CURSOR_PREFIX: &str = "sf1.";
/// A locator this close to expiring is not tried: re-querying costs the same one call.
const LOCATOR_MARGIN: Duration = Duration::from_secs(60);
/// Timestamps every record carries (kept out of `properties` unless asked for).
const SYSTEM_FIELDS: [&str; 3] = ["Id", "CreatedDate", "LastModifiedDate"];

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{CURSOR_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    fn decode(s: &str) -> CrmResult<Self> {
        let bad = || CrmError::Rejected("the scan cursor is not one this connector issued".into());
        let raw = s.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
        let json = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        serde_json::from_slice(&json).map_err(|_| bad())
    }

    fn locator_fresh(&self, now: i64) -> bool {
        let idle = figures::QUERY_LOCATOR_IDLE.saturating_sub(LOCATOR_MARGIN);
        let age = now.saturating_sub(self.issued);
        (0..i64::try_from(idle.as_secs()).unwrap_or(i64::MAX)).contains(&age)
    }
}

fn fingerprint(object: &str, fields: &[String], filter: &Option<Filter>) -> String {
    let key = serde_json::json!([object, fields, filter]).to_string();
    crate::crypto::sha256_hex(key.as_bytes())
        .chars()
        .take(16)
        .collect()
}

/// A `nextRecordsUrl` as the CRM gives it: an absolute path to a query resource. Anything
/// else in a cursor is refused, so a forged cursor cannot send the session elsewhere.
fn locator_path(locator: &str) -> CrmResult<&str> {
    let ok = locator.starts_with('/')
        && !locator.contains("..")
        && !locator.contains("//")
        && locator.contains("/query")
        && locator
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_'));
    if ok {
        Ok(locator)
    } else {
        Err(CrmError::Protocol(format!(
            "{locator:?} is not a query locator path"
        )))
    }
}

/// What a scan of `object` returns when no properties are asked for.
fn default_properties(object: &str) -> &'static [&'static str] {
    match object {
        "Contact" => &["FirstName", "LastName", "Email", "Phone", "AccountId"],
        "Lead" => &[
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "Company",
            "Status",
        ],
        "Account" => &["Name", "Website", "Phone"],
        "Opportunity" => &["Name", "StageName", "Amount", "CloseDate", "AccountId"],
        _ => &[],
    }
}

/// The SELECT list (system fields first, no repeats) and the properties to report.
fn select_fields(object: &str, requested: &[String]) -> CrmResult<(Vec<String>, Vec<String>)> {
    let props: Vec<String> = if requested.is_empty() {
        default_properties(object)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        requested.to_vec()
    };
    let mut select: Vec<String> = SYSTEM_FIELDS.iter().map(|s| s.to_string()).collect();
    for p in &props {
        soql::field_path(p)?;
        if !select.iter().any(|s| s.eq_ignore_ascii_case(p)) {
            select.push(p.clone());
        }
    }
    Ok((select, props))
}

/// A property value as a string: Salesforce's numbers and booleans are JSON literals.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        // Compound fields (addresses, geolocations) as their JSON.
        other => Some(other.to_string()),
    }
}

/// A field or relationship path in a record, matched case-insensitively (SOQL is, and the
/// answer uses the describe's casing).
fn lookup<'a>(rec: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = rec;
    for seg in path.split('.') {
        let obj = cur.as_object()?;
        cur = obj.get(seg).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                .map(|(_, v)| v)
        })?;
    }
    Some(cur)
}

fn instant(rec: &Value, field: &str, id: &str) -> CrmResult<Option<DateTime<Utc>>> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => soql::parse_instant(s).map(Some).ok_or_else(|| {
            CrmError::Protocol(format!(
                "{field} {s:?} of {id} is not a Salesforce datetime"
            ))
        }),
        Some(other) => Err(CrmError::Protocol(format!(
            "{field} of {id} is {other}, not a datetime string"
        ))),
    }
}

pub(super) fn record(rec: &Value, props: &[String]) -> CrmResult<Record> {
    let id = rec
        .get("Id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CrmError::Protocol("a record in the answer has no Id".into()))?;
    Ok(Record {
        id: id.to_string(),
        created_at: instant(rec, "CreatedDate", id)?,
        updated_at: instant(rec, "LastModifiedDate", id)?,
        properties: props
            .iter()
            .map(|p| (p.clone(), lookup(rec, p).and_then(text)))
            .collect(),
    })
}

fn field_type(sf_type: &str) -> FieldType {
    match sf_type {
        "string" | "textarea" | "encryptedstring" | "combobox" => FieldType::Text,
        "int" | "double" | "currency" | "percent" | "long" => FieldType::Number,
        "boolean" => FieldType::Bool,
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "picklist" | "multipicklist" => FieldType::Enumeration,
        "email" => FieldType::Email,
        "phone" => FieldType::Phone,
        "url" => FieldType::Url,
        "reference" => FieldType::Reference,
        "id" => FieldType::Id,
        _ => FieldType::Other,
    }
}

#[derive(Deserialize)]
struct Describe {
    name: String,
    fields: Vec<DescribeField>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeField {
    name: String,
    label: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    updateable: bool,
    #[serde(default)]
    calculated: bool,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    picklist_values: Option<Vec<PicklistValue>>,
}

#[derive(Deserialize)]
struct PicklistValue {
    value: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct IdentityAnswer {
    organization_id: Option<String>,
    user_id: Option<String>,
    email: Option<String>,
    display_name: Option<String>,
    name: Option<String>,
    active: Option<bool>,
}

impl Salesforce {
    fn query_url(&self, soql: &str, all: bool) -> String {
        let resource = if all { "/queryAll" } else { "/query" };
        self.data_url(&format!("{resource}?q={}", urlencoding::encode(soql)))
    }

    fn query_req(&self, url: String) -> Req {
        let mut req = Req::get(url);
        req.query_options = true;
        req
    }

    /// The first page of `soql` (`queryAll` includes deleted and merged records).
    pub(super) async fn query_page(&self, soql: &str, all: bool) -> CrmResult<QueryPage> {
        self.rest(&self.query_req(self.query_url(soql, all)))
            .await?
            .json()
    }

    /// The page at `locator`, or None when Salesforce says the locator has expired.
    async fn next_page(&self, locator: &str) -> CrmResult<Option<QueryPage>> {
        let url = self.instance_path_url(locator_path(locator)?);
        let reply = self.send(&self.query_req(url)).await?;
        if (200..300).contains(&reply.status) {
            return reply.json().map(Some);
        }
        let code = rest_error_of(&reply.body).map(|(c, _)| c);
        let expired = matches!(reply.status, 400 | 404)
            && (reply.status == 404 || code.as_deref() == Some("INVALID_QUERY_LOCATOR"));
        if expired {
            tracing::info!("query locator expired; re-querying after the last id");
            Ok(None)
        } else {
            Err(rest_failure(&reply))
        }
    }

    /// Every row of a (small) query, page after page.
    pub(super) async fn query_rows(&self, soql: &str, all: bool) -> CrmResult<Vec<Value>> {
        let mut page = self.query_page(soql, all).await?;
        let mut rows = Vec::new();
        loop {
            rows.append(&mut page.records);
            if page.done {
                return Ok(rows);
            }
            let next = page.next.as_deref().ok_or_else(|| {
                CrmError::Protocol("a query page is not done but has no nextRecordsUrl".into())
            })?;
            page = self.next_page(next).await?.ok_or_else(|| {
                CrmError::Unavailable("Salesforce dropped the query locator mid-read".into())
            })?;
        }
    }

    /// Field types of `object`, from its describe (cached for this connection).
    pub(super) async fn field_types(&self, object: &str) -> CrmResult<Arc<soql::FieldTypes>> {
        let cached = self
            .field_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(object)
            .cloned();
        match cached {
            Some(t) => Ok(t),
            None => {
                self.get_schema(object).await?;
                Ok(self
                    .field_types
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(object)
                    .cloned()
                    .unwrap_or_default())
            }
        }
    }

    async fn condition(&self, object: &str, filter: Option<&Filter>) -> CrmResult<Option<String>> {
        let Some(filter) = filter else {
            return Ok(None);
        };
        let types = if soql::needs_types(filter) {
            self.field_types(object).await?
        } else {
            Arc::default()
        };
        soql::condition(filter, &types)
    }

    pub(super) async fn scan(
        &self,
        request: &ScanRequest,
        cursor: Option<&str>,
    ) -> CrmResult<ScanPage> {
        let object = soql::identifier("object", &request.object)?;
        let (select, props) = select_fields(object, &request.properties)?;
        let scan = fingerprint(object, &select, &request.filter);
        let resume = cursor.map(Cursor::decode).transpose()?;
        if resume.as_ref().is_some_and(|c| c.scan != scan) {
            return Err(CrmError::Rejected(
                "the scan cursor belongs to a different scan (object, properties or filter)".into(),
            ));
        }
        let now = Utc::now().timestamp();
        let after = resume.as_ref().and_then(|c| c.after.clone());
        let mut page = None;
        if let Some(c) = &resume
            && let Some(locator) = &c.locator
            && c.locator_fresh(now)
        {
            page = self.next_page(locator).await?;
        }
        let page = match page {
            Some(p) => p,
            None => {
                let condition = self.condition(object, request.filter.as_ref()).await?;
                let q = soql::scan_query(object, &select, condition.as_deref(), after.as_deref())?;
                self.query_page(&q, false).await?
            }
        };
        let records = page
            .records
            .iter()
            .map(|r| record(r, &props))
            .collect::<CrmResult<Vec<_>>>()?;
        let cursor = if page.done {
            None
        } else {
            let locator = page.next.ok_or_else(|| {
                CrmError::Protocol("a query page is not done but has no nextRecordsUrl".into())
            })?;
            locator_path(&locator)?;
            Some(
                Cursor {
                    scan,
                    locator: Some(locator),
                    after: records.last().map(|r| r.id.clone()).or(after),
                    issued: now,
                }
                .encode(),
            )
        };
        Ok(ScanPage { records, cursor })
    }

    pub(super) async fn read_by_ids(
        &self,
        object: &str,
        ids: &[String],
        properties: &[String],
    ) -> CrmResult<Vec<Record>> {
        let object = soql::identifier("object", object)?;
        let (select, props) = select_fields(object, properties)?;
        // Ids that cannot exist are "missing"; sending them would fail the whole chunk.
        let mut wanted: Vec<&str> = Vec::new();
        for id in ids {
            if soql::is_id(id) && !wanted.contains(&id.as_str()) {
                wanted.push(id);
            }
        }
        let mut out = Vec::new();
        for chunk in wanted.chunks(figures::RETRIEVE_MAX) {
            let url = self.data_url(&format!(
                "/composite/sobjects/{object}?ids={}&fields={}",
                chunk.join(","),
                select.join(",")
            ));
            let rows = self.rest_json(&Req::get(url)).await?;
            let rows = rows.as_array().ok_or_else(|| {
                CrmError::Protocol("a collection retrieve answer is not an array".into())
            })?;
            for row in rows.iter().filter(|r| !r.is_null()) {
                out.push(record(row, &props)?);
            }
        }
        Ok(out)
    }

    pub(super) async fn get_schema(&self, object: &str) -> CrmResult<ObjectSchema> {
        let object = soql::identifier("object", object)?;
        let d: Describe = self
            .rest(&Req::get(
                self.data_url(&format!("/sobjects/{object}/describe")),
            ))
            .await?
            .json()?;
        let fields: Vec<Field> = d
            .fields
            .into_iter()
            .map(|f| Field {
                field_type: field_type(&f.kind),
                writable: f.updateable && !f.calculated,
                options: f
                    .picklist_values
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p.active)
                    .map(|p| p.value)
                    .collect(),
                unique: f.unique,
                label: f.label.unwrap_or_else(|| f.name.clone()),
                name: f.name,
            })
            .collect();
        let types: soql::FieldTypes = fields
            .iter()
            .map(|f| (f.name.to_ascii_lowercase(), f.field_type.clone()))
            .collect();
        self.field_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(object.to_string(), Arc::new(types));
        Ok(ObjectSchema {
            object: d.name,
            fields,
        })
    }

    pub(super) async fn get_users(&self) -> CrmResult<Vec<CrmUser>> {
        let rows = self
            .query_rows(
                "SELECT Id, Email, FirstName, LastName, IsActive FROM User ORDER BY Id ASC",
                false,
            )
            .await?;
        rows.iter()
            .map(|r| {
                let s = |f: &str| r.get(f).and_then(Value::as_str).map(str::to_string);
                Ok(CrmUser {
                    id: s("Id").ok_or_else(|| CrmError::Protocol("a User row has no Id".into()))?,
                    email: s("Email").unwrap_or_default(),
                    first_name: s("FirstName"),
                    last_name: s("LastName"),
                    active: r.get("IsActive").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect()
    }

    pub(super) async fn get_identity(&self) -> CrmResult<Identity> {
        let url = self
            .identity_url
            .clone()
            .unwrap_or_else(|| format!("{}/services/oauth2/userinfo", self.instance_url));
        let a: IdentityAnswer = self.rest(&Req::get(url)).await?.json()?;
        let missing = |f: &str| CrmError::Protocol(format!("the identity answer has no {f}"));
        Ok(Identity {
            crm: CrmKind::Salesforce,
            org_id: a
                .organization_id
                .ok_or_else(|| missing("organization_id"))?,
            user_id: a.user_id.ok_or_else(|| missing("user_id"))?,
            email: a.email.ok_or_else(|| missing("email"))?,
            name: a.display_name.or(a.name),
            active: a.active.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let c = Cursor {
            scan: "abc".into(),
            locator: Some("/services/data/v66.0/query/01g-2000".into()),
            after: Some("003000000000001AAA".into()),
            issued: 1_000,
        };
        let back = Cursor::decode(&c.encode()).unwrap();
        assert_eq!(back.locator, c.locator);
        assert_eq!(back.after, c.after);
        assert!(back.locator_fresh(1_000 + 13 * 60));
        assert!(!back.locator_fresh(1_000 + 15 * 60));
        assert!(Cursor::decode("garbage").is_err());
        assert!(Cursor::decode("sf1.!!!").is_err());
        for bad in [
            "https://evil.example/services/data/v66.0/query/x",
            "//evil.example/query/x",
            "/services/data/v66.0/query/../../x",
            "/services/data/v66.0/sobjects/x",
            "/services/data/v66.0/query/x?y=1",
        ] {
            assert!(locator_path(bad).is_err(), "{bad}");
        }
        assert!(
            locator_path("/salesforce/services/data/v66.0/query/01gRO0000016PIAYA2-2000").is_ok()
        );
    }

    #[test]
    fn records_parse() {
        let row = json!({
            "attributes": {"type": "Contact", "url": "/x"},
            "Id": "003000000000001AAA",
            "CreatedDate": "2026-11-23T10:00:00.000+0000",
            "LastModifiedDate": "2026-11-24T10:00:00.000+0000",
            "Email": "a@b.c",
            "NumberOfEmployees": 12,
            "AnnualRevenue": 1.5,
            "DoNotCall": false,
            "Phone": null,
            "Account": {"attributes": {}, "Name": "Acme"}
        });
        let props: Vec<String> = [
            "email",
            "NumberOfEmployees",
            "AnnualRevenue",
            "DoNotCall",
            "Phone",
            "Account.Name",
            "Missing",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = record(&row, &props).unwrap();
        assert_eq!(r.id, "003000000000001AAA");
        assert_eq!(
            r.created_at.unwrap().to_rfc3339(),
            "2026-11-23T10:00:00+00:00"
        );
        let p = |k: &str| r.properties.get(k).cloned().flatten();
        assert_eq!(p("email").as_deref(), Some("a@b.c"));
        assert_eq!(p("NumberOfEmployees").as_deref(), Some("12"));
        assert_eq!(p("AnnualRevenue").as_deref(), Some("1.5"));
        assert_eq!(p("DoNotCall").as_deref(), Some("false"));
        assert_eq!(p("Phone"), None);
        assert_eq!(p("Account.Name").as_deref(), Some("Acme"));
        assert!(r.properties.contains_key("Missing"));
        assert!(matches!(
            record(&json!({"Name": "x"}), &[]),
            Err(CrmError::Protocol(_))
        ));
        assert!(matches!(
            record(&json!({"Id": "x", "CreatedDate": "yesterday"}), &[]),
            Err(CrmError::Protocol(_))
        ));
    }

    #[test]
    fn select_lists_validate_and_dedupe() {
        let (select, props) =
            select_fields("Contact", &["Email".into(), "id".into(), "Email".into()]).unwrap();
        assert_eq!(select, ["Id", "CreatedDate", "LastModifiedDate", "Email"]);
        assert_eq!(props, ["Email", "id", "Email"]);
        let (_, props) = select_fields("Contact", &[]).unwrap();
        assert!(props.contains(&"Email".to_string()));
        assert!(matches!(
            select_fields("Contact", &["Email FROM User".into()]),
            Err(CrmError::Rejected(_))
        ));
    }

    #[test]
    fn describe_types_map() {
        assert_eq!(field_type("currency"), FieldType::Number);
        assert_eq!(field_type("multipicklist"), FieldType::Enumeration);
        assert_eq!(field_type("address"), FieldType::Other);
        assert_eq!(field_type("id"), FieldType::Id);
    }
}
