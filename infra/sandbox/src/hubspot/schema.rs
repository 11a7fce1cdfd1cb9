//! The three CRM object types and their property definitions: what exists, what is
//! read-only, and how written values are checked and normalised the way HubSpot does.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::PORTAL_ID;
use super::api::{HsError, HsResult, iso};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ObjectType {
    Contacts,
    Companies,
    Deals,
}

impl ObjectType {
    pub const ALL: [ObjectType; 3] = [
        ObjectType::Contacts,
        ObjectType::Companies,
        ObjectType::Deals,
    ];

    /// A path's `{objectType}`: the plural name or the type id (`0-1`, `0-2`, `0-3`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(ObjectType::Contacts),
            "companies" | "company" | "0-2" => Some(ObjectType::Companies),
            "deals" | "deal" | "0-3" => Some(ObjectType::Deals),
            _ => None,
        }
    }

    /// `parse`, or HubSpot's 400 for a type it does not know.
    pub fn from_path(s: &str) -> HsResult<Self> {
        Self::parse(s)
            .ok_or_else(|| HsError::validation(format!("Unable to infer object type from: {s}")))
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contacts",
            ObjectType::Companies => "companies",
            ObjectType::Deals => "deals",
        }
    }

    /// The singular upper-case name HubSpot uses in batch error messages.
    pub fn label(self) -> &'static str {
        match self {
            ObjectType::Contacts => "CONTACT",
            ObjectType::Companies => "COMPANY",
            ObjectType::Deals => "DEAL",
        }
    }

    /// First id handed out. Distinct ranges per type make a connector that mixes up
    /// types fail loudly (HubSpot's own ids are per-type sequences too).
    pub fn first_id(self) -> u64 {
        match self {
            ObjectType::Contacts => 1001,
            ObjectType::Companies => 30_000_001,
            ObjectType::Deals => 70_000_001,
        }
    }

    /// The last-modified property (contacts use the legacy name).
    pub fn modified_prop(self) -> &'static str {
        match self {
            ObjectType::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    /// Properties returned when a request names none (crm-wire §2).
    pub fn default_props(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            ObjectType::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            ObjectType::Deals => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
        }
    }

    /// Properties HubSpot returns on every record even when others were requested.
    pub fn always_props(self) -> [&'static str; 3] {
        ["createdate", "hs_object_id", self.modified_prop()]
    }

    /// Fields a search `query` matches (HubSpot's default searchable properties, reduced
    /// to the ones this sandbox models).
    pub fn query_props(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &[
                "firstname",
                "lastname",
                "email",
                "phone",
                "company",
                "hs_additional_emails",
            ],
            ObjectType::Companies => &["name", "domain", "phone"],
            ObjectType::Deals => &["dealname"],
        }
    }

    pub fn read_scopes(self) -> [&'static str; 2] {
        match self {
            ObjectType::Contacts => ["crm.objects.contacts.read", "crm.objects.contacts.write"],
            ObjectType::Companies => ["crm.objects.companies.read", "crm.objects.companies.write"],
            ObjectType::Deals => ["crm.objects.deals.read", "crm.objects.deals.write"],
        }
    }

    pub fn write_scope(self) -> &'static str {
        match self {
            ObjectType::Contacts => "crm.objects.contacts.write",
            ObjectType::Companies => "crm.objects.companies.write",
            ObjectType::Deals => "crm.objects.deals.write",
        }
    }

    /// Scopes accepted for `/crm/v3/properties/{type}`.
    pub fn schema_scopes(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &["crm.schemas.contacts.read"],
            ObjectType::Companies => &["crm.schemas.companies.read", "crm.objects.companies.read"],
            ObjectType::Deals => &["crm.schemas.deals.read", "crm.objects.deals.read"],
        }
    }

    pub fn props(self) -> &'static [PropDef] {
        match self {
            ObjectType::Contacts => CONTACT_PROPS,
            ObjectType::Companies => COMPANY_PROPS,
            ObjectType::Deals => DEAL_PROPS,
        }
    }

    pub fn prop(self, name: &str) -> Option<&'static PropDef> {
        self.props().iter().find(|p| p.name == name)
    }

    /// Whether merge gives the surviving record a new id (contacts and companies do).
    pub fn merge_makes_new_id(self) -> bool {
        !matches!(self, ObjectType::Deals)
    }
}

/// How a property's values are checked and stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Text,
    Email,
    Phone,
    Number,
    DateTime,
    Select(&'static [(&'static str, &'static str)]),
    /// Options are the portal's owners.
    Owner,
    /// Semicolon-separated multi-value (HubSpot's checkbox enumerations).
    MultiSelect,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PropDef {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub group: &'static str,
    pub read_only: bool,
    pub unique: bool,
    pub calculated: bool,
}

const fn p(name: &'static str, label: &'static str, kind: Kind, group: &'static str) -> PropDef {
    PropDef {
        name,
        label,
        kind,
        group,
        read_only: false,
        unique: false,
        calculated: false,
    }
}

const fn ro(name: &'static str, label: &'static str, kind: Kind, group: &'static str) -> PropDef {
    PropDef {
        name,
        label,
        kind,
        group,
        read_only: true,
        unique: false,
        calculated: false,
    }
}

/// The default sales pipeline's stages, in order (value, label).
pub(crate) const DEAL_STAGES: &[(&str, &str)] = &[
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
];
pub(crate) const PIPELINES: &[(&str, &str)] = &[("default", "Sales Pipeline")];

const CONTACT_PROPS: &[PropDef] = &[
    p("firstname", "First Name", Kind::Text, "contactinformation"),
    p("lastname", "Last Name", Kind::Text, "contactinformation"),
    PropDef {
        unique: true,
        ..p("email", "Email", Kind::Email, "contactinformation")
    },
    p("phone", "Phone Number", Kind::Phone, "contactinformation"),
    p("company", "Company Name", Kind::Text, "contactinformation"),
    p("jobtitle", "Job Title", Kind::Text, "contactinformation"),
    p("city", "City", Kind::Text, "contactinformation"),
    p("state", "State/Region", Kind::Text, "contactinformation"),
    p(
        "country",
        "Country/Region",
        Kind::Text,
        "contactinformation",
    ),
    p(
        "address",
        "Street Address",
        Kind::Text,
        "contactinformation",
    ),
    p("zip", "Postal Code", Kind::Text, "contactinformation"),
    // HubSpot's own "Date of birth" is a single-line text property, not a date.
    p(
        "date_of_birth",
        "Date of birth",
        Kind::Text,
        "contactinformation",
    ),
    p(
        "hubspot_owner_id",
        "Contact owner",
        Kind::Owner,
        "sales_properties",
    ),
    ro(
        "createdate",
        "Create Date",
        Kind::DateTime,
        "contactinformation",
    ),
    ro(
        "lastmodifieddate",
        "Last Modified Date",
        Kind::DateTime,
        "contactinformation",
    ),
    ro(
        "hs_object_id",
        "Record ID",
        Kind::Number,
        "contactinformation",
    ),
    ro(
        "hs_merged_object_ids",
        "Merged Contact IDs",
        Kind::MultiSelect,
        "contactinformation",
    ),
    ro(
        "hs_additional_emails",
        "Additional email addresses",
        Kind::MultiSelect,
        "contactinformation",
    ),
];

const COMPANY_PROPS: &[PropDef] = &[
    p("name", "Company name", Kind::Text, "companyinformation"),
    p(
        "domain",
        "Company Domain Name",
        Kind::Text,
        "companyinformation",
    ),
    p("phone", "Phone Number", Kind::Phone, "companyinformation"),
    p("city", "City", Kind::Text, "companyinformation"),
    p("state", "State/Region", Kind::Text, "companyinformation"),
    p(
        "country",
        "Country/Region",
        Kind::Text,
        "companyinformation",
    ),
    p("industry", "Industry", Kind::Text, "companyinformation"),
    p(
        "hubspot_owner_id",
        "Company owner",
        Kind::Owner,
        "companyinformation",
    ),
    ro(
        "createdate",
        "Create Date",
        Kind::DateTime,
        "companyinformation",
    ),
    ro(
        "hs_lastmodifieddate",
        "Last Modified Date",
        Kind::DateTime,
        "companyinformation",
    ),
    ro(
        "hs_object_id",
        "Record ID",
        Kind::Number,
        "companyinformation",
    ),
    ro(
        "hs_merged_object_ids",
        "Merged Company IDs",
        Kind::MultiSelect,
        "companyinformation",
    ),
];

const DEAL_PROPS: &[PropDef] = &[
    p("dealname", "Deal Name", Kind::Text, "dealinformation"),
    p("amount", "Amount", Kind::Number, "dealinformation"),
    p(
        "dealstage",
        "Deal Stage",
        Kind::Select(DEAL_STAGES),
        "dealinformation",
    ),
    p(
        "pipeline",
        "Pipeline",
        Kind::Select(PIPELINES),
        "dealinformation",
    ),
    p("closedate", "Close Date", Kind::DateTime, "dealinformation"),
    p(
        "hubspot_owner_id",
        "Deal owner",
        Kind::Owner,
        "dealinformation",
    ),
    ro(
        "createdate",
        "Create Date",
        Kind::DateTime,
        "dealinformation",
    ),
    ro(
        "hs_lastmodifieddate",
        "Last Modified Date",
        Kind::DateTime,
        "dealinformation",
    ),
    ro("hs_object_id", "Record ID", Kind::Number, "dealinformation"),
    ro(
        "hs_merged_object_ids",
        "Merged Deal IDs",
        Kind::MultiSelect,
        "dealinformation",
    ),
];

/// A property definition as `/crm/v3/properties/{type}` returns it. `owners` are the
/// (id, label) options of `hubspot_owner_id`.
pub(crate) fn prop_json(
    def: &PropDef,
    owners: &[(String, String)],
    defined_at: DateTime<Utc>,
) -> Value {
    let (ty, field_type) = match def.kind {
        Kind::Text | Kind::Email => ("string", "text"),
        Kind::Phone => ("string", "phonenumber"),
        Kind::Number => ("number", "number"),
        Kind::DateTime => ("datetime", "date"),
        Kind::Select(_) | Kind::Owner => ("enumeration", "select"),
        Kind::MultiSelect => ("enumeration", "checkbox"),
    };
    let option = |i: usize, value: &str, label: &str| json!({ "label": label, "value": value, "displayOrder": i, "hidden": false });
    let options: Vec<Value> = match def.kind {
        Kind::Select(opts) => opts
            .iter()
            .enumerate()
            .map(|(i, (v, l))| option(i, v, l))
            .collect(),
        Kind::Owner => owners
            .iter()
            .enumerate()
            .map(|(i, (v, l))| option(i, v, l))
            .collect(),
        _ => Vec::new(),
    };
    let mut v = json!({
        "name": def.name,
        "label": def.label,
        "type": ty,
        "fieldType": field_type,
        "description": "",
        "groupName": def.group,
        "options": options,
        "displayOrder": -1,
        "calculated": def.calculated,
        "externalOptions": matches!(def.kind, Kind::Owner),
        "hasUniqueValue": def.unique,
        "hidden": false,
        "hubspotDefined": true,
        "modificationMetadata": {
            "archivable": false,
            "readOnlyDefinition": true,
            "readOnlyValue": def.read_only,
        },
        "formField": !def.read_only,
        "createdAt": iso(defined_at),
        "updatedAt": iso(defined_at),
        "archived": false,
    });
    if matches!(def.kind, Kind::Owner)
        && let Some(o) = v.as_object_mut()
    {
        o.insert("referencedObjectType".into(), json!("OWNER"));
    }
    v
}

/// One property that failed validation, as HubSpot lists them in the 400's message.
struct Invalid {
    name: String,
    error: &'static str,
    message: String,
}

/// A property write after validation: `None` clears the value.
pub(crate) type Change = (&'static str, Option<String>);

/// Checks a write's `properties` object and normalises the values (dates to ISO, JSON
/// numbers and booleans to strings, "" and null to a clear). `owner_exists` says whether
/// an owner id may be assigned. Errors are HubSpot's 400 with the per-property list.
pub(crate) fn validate(
    ty: ObjectType,
    props: &Map<String, Value>,
    owner_exists: &dyn Fn(&str) -> bool,
) -> HsResult<Vec<Change>> {
    let mut out = Vec::with_capacity(props.len());
    let mut bad = Vec::new();
    for (name, raw) in props {
        let Some(def) = ty.prop(name) else {
            bad.push(Invalid {
                name: name.clone(),
                error: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{name}\" does not exist"),
            });
            continue;
        };
        if def.read_only {
            bad.push(Invalid {
                name: name.clone(),
                error: "READ_ONLY_VALUE",
                message: format!("\"{name}\" is a read only property; its value cannot be set."),
            });
            continue;
        }
        let value = match raw {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                bad.push(Invalid {
                    name: name.clone(),
                    error: "INVALID_TYPE",
                    message: format!("Property \"{name}\" must be a string"),
                });
                continue;
            }
        };
        let Some(value) = value else {
            out.push((def.name, None));
            continue;
        };
        match check(def, &value, owner_exists) {
            Ok(v) => out.push((def.name, Some(v))),
            Err((error, message)) => bad.push(Invalid {
                name: name.clone(),
                error,
                message,
            }),
        }
    }
    if bad.is_empty() {
        return Ok(out);
    }
    let listed: Vec<Value> = bad
        .iter()
        .map(|b| {
            json!({
                "isValid": false,
                "message": b.message,
                "error": b.error,
                "name": b.name,
                "localizedErrorMessage": b.message,
                "portalId": PORTAL_ID,
            })
        })
        .collect();
    let errors: Vec<Value> = bad
        .iter()
        .map(|b| json!({ "message": b.message, "code": b.error, "context": { "propertyName": [b.name] } }))
        .collect();
    let sub = if bad.iter().all(|b| b.error == "PROPERTY_DOESNT_EXIST") {
        "PROPERTY_DOESNT_EXIST"
    } else {
        "INVALID_PROPERTY_VALUE"
    };
    Err(HsError::validation(format!(
        "Property values were not valid: {}",
        Value::Array(listed)
    ))
    .with("errors", Value::Array(errors))
    .with("subCategory", json!(sub)))
}

fn check(
    def: &PropDef,
    value: &str,
    owner_exists: &dyn Fn(&str) -> bool,
) -> Result<String, (&'static str, String)> {
    let strict = !matches!(def.kind, Kind::Text | Kind::Phone);
    if strict && value.trim() != value {
        return Err((
            "LEADING_TRAILING_WHITESPACE",
            format!("\"{value}\" includes leading or trailing whitespace."),
        ));
    }
    match def.kind {
        Kind::Text | Kind::Phone | Kind::MultiSelect => Ok(value.to_string()),
        Kind::Email => {
            if looks_like_email(value) {
                Ok(value.to_string())
            } else {
                Err(("INVALID_EMAIL", format!("Email address {value} is invalid")))
            }
        }
        Kind::Number => match value.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(value.to_string()),
            _ => Err(("INVALID_FLOAT", format!("{value} was not a valid number."))),
        },
        Kind::DateTime => parse_instant(value).map(iso).ok_or((
            "INVALID_DATE",
            format!("{value} was not a valid date or datetime."),
        )),
        Kind::Select(opts) => {
            if opts.iter().any(|(v, _)| *v == value) {
                Ok(value.to_string())
            } else {
                let allowed: Vec<&str> = opts.iter().map(|(v, _)| *v).collect();
                Err((
                    "INVALID_OPTION",
                    format!(
                        "{value} was not one of the allowed options: [{}]",
                        allowed.join(", ")
                    ),
                ))
            }
        }
        Kind::Owner => {
            if owner_exists(value) {
                Ok(value.to_string())
            } else {
                Err((
                    "INVALID_OWNER_ID",
                    format!("{value} is not a valid owner id"),
                ))
            }
        }
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// A date value as HubSpot accepts it: epoch milliseconds, `YYYY-MM-DD` (midnight UTC) or
/// an RFC 3339 datetime.
pub(crate) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// Maps a generator's stage name (HubSpot ids, labels or Salesforce stage names) onto
/// the default pipeline's stage ids.
pub(crate) fn deal_stage(raw: &str) -> &'static str {
    let normal = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    let key = normal(raw);
    let same = |label: &str| {
        label
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .eq(key.chars())
    };
    if let Some((value, _)) = DEAL_STAGES.iter().find(|(v, l)| *v == key || same(l)) {
        return value;
    }
    match key.as_str() {
        "prospecting" => "appointmentscheduled",
        "qualification" | "needsanalysis" => "qualifiedtobuy",
        "valueproposition" => "presentationscheduled",
        "iddecisionmakers" | "perceptionanalysis" => "decisionmakerboughtin",
        "proposalpricequote" | "negotiationreview" => "contractsent",
        k if k.contains("won") => "closedwon",
        k if k.contains("lost") => "closedlost",
        _ => "appointmentscheduled",
    }
}
