//! The partner SOAP API at `/services/Soap/u/{ver}`: `merge` (Account, Contact, Lead) and
//! `convertLead`, with per-result errors and HTTP 500 faults as the partner WSDL defines them.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Duration as Days;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};
use std::sync::Arc;

use super::records::RecError;
use super::schema::{self, ACCOUNT, CONTACT, CONVERTED_STATUS, LEAD, OPPORTUNITY, USER};
use super::{Ctx, Denied, Row, Val, World, derive_name, get, set, with_limit_info};
use crate::server::AppState;
use crate::writes::Op;

const NS_SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const NS_PARTNER: &str = "urn:partner.soap.sforce.com";
const NS_SOBJECT: &str = "urn:sobject.partner.soap.sforce.com";
const NS_FAULT: &str = "urn:fault.partner.soap.sforce.com";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Merge requests per call and records merged into a master per request. [doc]
const MERGE_REQUESTS_MAX: usize = 200;
const MERGE_DUPLICATES_MAX: usize = 2;
/// LeadConvert entries per convertLead call. [doc]
const CONVERT_MAX: usize = 100;
/// Days after conversion a created Opportunity is expected to close.
const CONVERTED_OPPORTUNITY_CLOSE_DAYS: i64 = 30;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/services/Soap/u/{v}", post(partner))
        .route("/services/Soap/u/{v}/{org}", post(partner_with_org))
}

/// An element of a parsed envelope: local name, `xsi:nil`, text and children.
#[derive(Debug, Default)]
struct El {
    name: String,
    nil: bool,
    text: String,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> Option<&El> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of a child, if present and not empty.
    fn value(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }
}

fn start_el(e: &BytesStart<'_>) -> El {
    let nil = e.attributes().flatten().any(|a| {
        let key: &str = a.key.as_ref();
        key.rsplit(':').next() == Some("nil") && matches!(a.value.as_ref(), "true" | "1")
    });
    El {
        name: e.local_name().as_ref().to_string(),
        nil,
        ..El::default()
    }
}

fn parse_xml(src: &str) -> Result<El, String> {
    let mut reader = quick_xml::Reader::from_str(src);
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(start_el(&e)),
            Event::Empty(e) => {
                let el = start_el(&e);
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.xml10_content();
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("undeclared entity &{name};"))?
                            .to_string()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("Premature end of file.".into());
    }
    root.ok_or_else(|| "Premature end of file.".into())
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml;charset=UTF-8"),
        )],
        body,
    )
        .into_response()
}

/// A SOAP fault: HTTP 500 with `faultcode` (`sf:CODE` or `soapenv:Client`) and `faultstring`.
fn fault(code: &str, message: &str) -> Response {
    let detail = match code.strip_prefix("sf:") {
        Some(exception) => format!(
            "<detail><sf:UnexpectedErrorFault xsi:type=\"sf:UnexpectedErrorFault\">\
             <sf:exceptionCode>{exception}</sf:exceptionCode><sf:exceptionMessage>{}</sf:exceptionMessage>\
             </sf:UnexpectedErrorFault></detail>",
            escape(message)
        ),
        None => String::new(),
    };
    let faultstring = match code.strip_prefix("sf:") {
        Some(exception) => format!("{exception}: {message}"),
        None => message.to_string(),
    };
    xml_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{NS_SOAPENV}\" \
             xmlns:sf=\"{NS_FAULT}\" xmlns:xsi=\"{NS_XSI}\"><soapenv:Body><soapenv:Fault>\
             <faultcode>{code}</faultcode><faultstring>{}</faultstring>{detail}</soapenv:Fault></soapenv:Body>\
             </soapenv:Envelope>",
            escape(&faultstring)
        ),
    )
}

fn envelope(inner: &str, used: u64, max: u64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{NS_SOAPENV}\" \
         xmlns=\"{NS_PARTNER}\" xmlns:sf=\"{NS_SOBJECT}\" xmlns:xsi=\"{NS_XSI}\"><soapenv:Header><LimitInfoHeader>\
         <limitInfo><current>{used}</current><limit>{max}</limit><type>API REQUESTS</type></limitInfo>\
         </LimitInfoHeader></soapenv:Header><soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    )
}

fn version_ok(v: &str) -> bool {
    matches!(v.split_once('.'), Some((m, "0")) if m.parse::<u32>().is_ok_and(|m| (20..=68).contains(&m)))
}

async fn partner(State(s): State<Arc<AppState>>, Path(v): Path<String>, body: Bytes) -> Response {
    let resp = handle(&s, &v, &body);
    with_limit_info(&s, resp)
}

async fn partner_with_org(
    State(s): State<Arc<AppState>>,
    Path((v, _org)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let resp = handle(&s, &v, &body);
    with_limit_info(&s, resp)
}

fn handle(s: &AppState, v: &str, body: &[u8]) -> Response {
    if !version_ok(v) {
        return fault(
            "sf:UNSUPPORTED_API_VERSION",
            "Invalid Api version specified on URL",
        );
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return fault("soapenv:Client", "Invalid byte 1 of 1-byte UTF-8 sequence.");
    };
    let env = match parse_xml(text) {
        Ok(e) => e,
        Err(e) => return fault("soapenv:Client", &e),
    };
    if env.name != "Envelope" {
        return fault("soapenv:VersionMismatch", "Wrong Version");
    }
    let Some(op) = env.child("Body").and_then(|b| b.children.first()) else {
        return fault(
            "soapenv:Client",
            "Element {http://schemas.xmlsoap.org/soap/envelope/}Body not found",
        );
    };
    // The session first, as Salesforce does: a bad session is INVALID_SESSION_ID whatever
    // the operation.
    let session = env
        .child("Header")
        .and_then(|h| h.child("SessionHeader"))
        .and_then(|h| h.value("sessionId"));
    let config = s.config();
    let mut w = s.salesforce();
    let user = match w.gate(session, &config) {
        Ok(u) => u,
        Err(Denied::Session) => {
            return fault(
                "sf:INVALID_SESSION_ID",
                "Invalid Session ID found in SessionHeader: Illegal Session",
            );
        }
        Err(Denied::Limit) => {
            return fault("sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
        }
    };
    if op.name != "merge" && op.name != "convertLead" {
        return fault(
            "soapenv:Client",
            &format!(
                "No operation available for request {{{NS_PARTNER}}}{}, please check the WSDL for the service.",
                op.name
            ),
        );
    }
    let ctx = Ctx {
        user,
        now: w.tick(),
    };
    let inner = if op.name == "merge" {
        let requests: Vec<&El> = op
            .children
            .iter()
            .filter(|c| c.name == "request" || c.name == "mergeRequests")
            .collect();
        if requests.len() > MERGE_REQUESTS_MAX {
            return fault(
                "sf:EXCEEDED_ID_LIMIT",
                &format!(
                    "record limit reached. cannot submit more than {MERGE_REQUESTS_MAX} merge requests"
                ),
            );
        }
        let results: String = requests
            .iter()
            .map(|r| merge_result(merge_one(&mut w, r, &ctx)))
            .collect();
        format!("<mergeResponse>{results}</mergeResponse>")
    } else {
        let converts: Vec<&El> = op.all("leadConverts").collect();
        if converts.len() > CONVERT_MAX {
            return fault(
                "sf:EXCEEDED_ID_LIMIT",
                &format!(
                    "record limit reached. cannot submit more than {CONVERT_MAX} leadConverts"
                ),
            );
        }
        let results: String = converts
            .iter()
            .map(|c| {
                let lead = c.value("leadId").map(str::to_string);
                convert_result(lead, convert_one(&mut w, c, &ctx))
            })
            .collect();
        format!("<convertLeadResponse>{results}</convertLeadResponse>")
    };
    let used = w.api_used;
    drop(w);
    xml_response(
        StatusCode::OK,
        envelope(&inner, used, config.salesforce.daily),
    )
}

fn errors_xml(e: &RecError) -> String {
    let fields: String = e
        .fields
        .iter()
        .map(|f| format!("<fields>{}</fields>", escape(f.as_str())))
        .collect();
    format!(
        "<errors>{fields}<message>{}</message><statusCode>{}</statusCode></errors>",
        escape(e.message.as_str()),
        e.code
    )
}

fn opt_id(name: &str, v: Option<&str>) -> String {
    match v {
        Some(id) => format!("<{name}>{id}</{name}>"),
        None => format!("<{name} xsi:nil=\"true\"/>"),
    }
}

struct Merged {
    master: Arc<str>,
    merged: Vec<Arc<str>>,
    related: Vec<Arc<str>>,
}

fn merge_result(r: Result<Merged, RecError>) -> String {
    match r {
        Ok(m) => {
            let merged: String = m
                .merged
                .iter()
                .map(|i| format!("<mergedRecordIds>{i}</mergedRecordIds>"))
                .collect();
            let related: String = m
                .related
                .iter()
                .map(|i| format!("<updatedRelatedIds>{i}</updatedRelatedIds>"))
                .collect();
            format!(
                "<result><id>{}</id>{merged}<success>true</success>{related}</result>",
                m.master
            )
        }
        Err(e) => format!(
            "<result>{}<id xsi:nil=\"true\"/><success>false</success></result>",
            errors_xml(&e)
        ),
    }
}

/// The field overrides of a `masterRecord` sObject, as a JSON map the REST validation reads.
fn overrides(master: &El) -> Map<String, Value> {
    let mut out = Map::new();
    for c in &master.children {
        match c.name.as_str() {
            "type" | "Id" | "id" => {}
            "fieldsToNull" => {
                out.insert(c.text.trim().to_string(), Value::Null);
            }
            name => {
                let v = if c.nil {
                    Value::Null
                } else {
                    Value::String(c.text.clone())
                };
                out.insert(name.to_string(), v);
            }
        }
    }
    out
}

fn merge_one(w: &mut World, req: &El, ctx: &Ctx) -> Result<Merged, RecError> {
    let master = req
        .child("masterRecord")
        .ok_or_else(|| RecError::new("REQUIRED_FIELD_MISSING", "masterRecord is required"))?;
    let ty = master
        .value("type")
        .ok_or_else(|| RecError::new("REQUIRED_FIELD_MISSING", "masterRecord type is required"))?;
    let (t, def) = schema::object(ty).ok_or_else(|| {
        RecError::new(
            "INVALID_TYPE",
            format!("sObject type '{ty}' is not supported."),
        )
    })?;
    if !def.mergeable {
        return Err(RecError::new(
            "INVALID_TYPE",
            format!(
                "merge is not supported for {} (only Account, Contact and Lead)",
                def.name
            ),
        ));
    }
    let raw_master = master.value("Id").ok_or_else(|| {
        RecError::on(
            "REQUIRED_FIELD_MISSING",
            "masterRecord Id is required",
            vec!["Id".into()],
        )
    })?;
    let (_, master_id) = w.find(Some(t), raw_master)?;
    let raw_losers: Vec<&str> = req.all("recordToMergeIds").map(|e| e.text.trim()).collect();
    if raw_losers.is_empty() {
        return Err(RecError::on(
            "REQUIRED_FIELD_MISSING",
            "A merge request needs at least one recordToMergeIds",
            vec!["recordToMergeIds".into()],
        ));
    }
    if raw_losers.len() > MERGE_DUPLICATES_MAX {
        return Err(RecError::new(
            "LIMIT_EXCEEDED",
            format!(
                "A merge request can merge at most {MERGE_DUPLICATES_MAX} records into the master \
                 (3 records including the master)"
            ),
        ));
    }
    let mut losers: Vec<Arc<str>> = Vec::new();
    for raw in raw_losers {
        let (_, id) = w.find(Some(t), raw)?;
        if id == master_id || losers.contains(&id) {
            return Err(RecError::new(
                "INVALID_ID_FIELD",
                format!("Duplicate id in the merge request: {id}"),
            ));
        }
        losers.push(id);
    }
    for id in std::iter::once(&master_id).chain(&losers) {
        if t == LEAD
            && w.row(t, id)
                .is_some_and(|r| matches!(get(r, t, "IsConverted"), Val::Bool(true)))
        {
            return Err(RecError::new(
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
            ));
        }
    }
    let (_, _, master_row) = w.prepare_update(Some(t), &master_id, &overrides(master), ctx)?;
    w.write(t, master_id.clone(), master_row, Op::Merge);
    let mut related = Vec::new();
    for loser in &losers {
        w.delete(t, loser, Some(&master_id), ctx);
        if t == ACCOUNT {
            // Children follow the surviving account, as a real merge reparents them.
            for child in w.children_of(loser) {
                let Some((ct, key, row)) = w.locate(&child) else {
                    continue;
                };
                if matches!(get(row, ct, "IsDeleted"), Val::Bool(true)) {
                    continue;
                }
                let mut row = row.clone();
                set(&mut row, ct, "AccountId", Val::Str(master_id.clone()));
                w.touch(ct, &mut row, ctx);
                w.write(ct, key.clone(), row, Op::Reparent);
                related.push(key);
            }
        }
    }
    Ok(Merged {
        master: master_id,
        merged: losers,
        related,
    })
}

struct Converted {
    account: Arc<str>,
    contact: Arc<str>,
    lead: Arc<str>,
    opportunity: Option<Arc<str>>,
}

fn convert_result(lead: Option<String>, r: Result<Converted, RecError>) -> String {
    match r {
        Ok(c) => format!(
            "<result><accountId>{}</accountId><contactId>{}</contactId><leadId>{}</leadId>{}\
             <success>true</success></result>",
            c.account,
            c.contact,
            c.lead,
            opt_id("opportunityId", c.opportunity.as_deref())
        ),
        Err(e) => format!(
            "<result>{}{}{}{}{}<success>false</success></result>",
            opt_id("accountId", None),
            opt_id("contactId", None),
            errors_xml(&e),
            opt_id("leadId", lead.as_deref().map(escape).as_deref()),
            opt_id("opportunityId", None),
        ),
    }
}

/// A record the server creates on the caller's behalf (conversion), stamped like a create.
fn new_row(w: &World, t: usize, owner: &Arc<str>, ctx: &Ctx) -> Row {
    let mut row = w.blank(t);
    set(&mut row, t, "OwnerId", Val::Str(owner.clone()));
    set(&mut row, t, "CreatedById", Val::Str(ctx.user.clone()));
    set(&mut row, t, "LastModifiedById", Val::Str(ctx.user.clone()));
    for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        set(&mut row, t, f, Val::Time(ctx.now));
    }
    row
}

fn convert_one(w: &mut World, el: &El, ctx: &Ctx) -> Result<Converted, RecError> {
    let raw_lead = el.value("leadId").ok_or_else(|| {
        RecError::on(
            "REQUIRED_FIELD_MISSING",
            "leadId is required",
            vec!["leadId".into()],
        )
    })?;
    let (_, lead_id) = w.find(Some(LEAD), raw_lead)?;
    let lead = w.row(LEAD, &lead_id).cloned().unwrap_or_default();
    if matches!(get(&lead, LEAD, "IsConverted"), Val::Bool(true)) {
        return Err(RecError::new(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
        ));
    }
    match el.value("convertedStatus") {
        Some(s) if s == CONVERTED_STATUS => {}
        Some(s) => {
            return Err(RecError::on(
                "INVALID_STATUS",
                format!("invalid convertedStatus: {s}"),
                vec!["convertedStatus".into()],
            ));
        }
        None => {
            return Err(RecError::on(
                "REQUIRED_FIELD_MISSING",
                "convertedStatus is required",
                vec!["convertedStatus".into()],
            ));
        }
    }
    let owner: Arc<str> = match el.value("ownerId") {
        Some(raw) => {
            let (_, id) = w.find(Some(USER), raw)?;
            if !w.user_active(&id) {
                return Err(RecError::on(
                    "INACTIVE_OWNER_OR_USER",
                    format!("operation performed with inactive user [{id}] as owner of record"),
                    vec!["ownerId".into()],
                ));
            }
            id
        }
        None => match get(&lead, LEAD, "OwnerId") {
            Val::Str(o) => o.clone(),
            _ => ctx.user.clone(),
        },
    };
    let account = el
        .value("accountId")
        .map(|raw| w.find(Some(ACCOUNT), raw).map(|(_, id)| id))
        .transpose()?;
    let contact = match el.value("contactId") {
        Some(raw) => {
            let Some(acc) = &account else {
                return Err(RecError::on(
                    "REQUIRED_FIELD_MISSING",
                    "accountId must be specified if contactId is not null",
                    vec!["accountId".into()],
                ));
            };
            let (_, id) = w.find(Some(CONTACT), raw)?;
            let belongs = w
                .row(CONTACT, &id)
                .map(|r| get(r, CONTACT, "AccountId").as_str() == Some(acc.as_ref()));
            if belongs != Some(true) {
                return Err(RecError::on(
                    "INVALID_CROSS_REFERENCE_KEY",
                    "contactId must be associated with the accountId",
                    vec!["contactId".into()],
                ));
            }
            Some(id)
        }
        None => None,
    };
    let copy = |row: &mut Row, t: usize, pairs: &[(&str, &str)]| {
        for (to, from) in pairs {
            set(row, t, to, get(&lead, LEAD, from).clone());
        }
    };
    let account = match account {
        Some(a) => a,
        None => {
            let mut row = new_row(w, ACCOUNT, &owner, ctx);
            copy(
                &mut row,
                ACCOUNT,
                &[
                    ("Name", "Company"),
                    ("Website", "Website"),
                    ("Phone", "Phone"),
                    ("Industry", "Industry"),
                    ("BillingStreet", "Street"),
                    ("BillingCity", "City"),
                    ("BillingState", "State"),
                    ("BillingPostalCode", "PostalCode"),
                    ("BillingCountry", "Country"),
                ],
            );
            w.create(ACCOUNT, row)
        }
    };
    let contact = match contact {
        Some(c) => c,
        None => {
            let mut row = new_row(w, CONTACT, &owner, ctx);
            copy(
                &mut row,
                CONTACT,
                &[
                    ("FirstName", "FirstName"),
                    ("LastName", "LastName"),
                    ("Email", "Email"),
                    ("Phone", "Phone"),
                    ("MobilePhone", "MobilePhone"),
                    ("Title", "Title"),
                    ("LeadSource", "LeadSource"),
                    ("MailingStreet", "Street"),
                    ("MailingCity", "City"),
                    ("MailingState", "State"),
                    ("MailingPostalCode", "PostalCode"),
                    ("MailingCountry", "Country"),
                ],
            );
            set(&mut row, CONTACT, "AccountId", Val::Str(account.clone()));
            derive_name(CONTACT, &mut row);
            w.create(CONTACT, row)
        }
    };
    let today = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ctx.now)
        .unwrap_or_default()
        .date_naive();
    let no_opportunity = el
        .value("doNotCreateOpportunity")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let opportunity = if no_opportunity {
        None
    } else {
        let mut row = new_row(w, OPPORTUNITY, &owner, ctx);
        let company = get(&lead, LEAD, "Company")
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = el
            .value("opportunityName")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{company}-"));
        set(&mut row, OPPORTUNITY, "Name", Val::s(name));
        set(
            &mut row,
            OPPORTUNITY,
            "StageName",
            Val::s(schema::STAGES[0]),
        );
        let close = today + Days::days(CONVERTED_OPPORTUNITY_CLOSE_DAYS);
        set(
            &mut row,
            OPPORTUNITY,
            "CloseDate",
            Val::s(close.format("%Y-%m-%d").to_string()),
        );
        set(
            &mut row,
            OPPORTUNITY,
            "AccountId",
            Val::Str(account.clone()),
        );
        copy(&mut row, OPPORTUNITY, &[("LeadSource", "LeadSource")]);
        Some(w.create(OPPORTUNITY, row))
    };
    let mut lead_row = lead;
    set(&mut lead_row, LEAD, "IsConverted", Val::Bool(true));
    set(&mut lead_row, LEAD, "Status", Val::s(CONVERTED_STATUS));
    set(
        &mut lead_row,
        LEAD,
        "ConvertedDate",
        Val::s(today.format("%Y-%m-%d").to_string()),
    );
    set(
        &mut lead_row,
        LEAD,
        "ConvertedAccountId",
        Val::Str(account.clone()),
    );
    set(
        &mut lead_row,
        LEAD,
        "ConvertedContactId",
        Val::Str(contact.clone()),
    );
    set(
        &mut lead_row,
        LEAD,
        "ConvertedOpportunityId",
        opportunity.clone().map(Val::Str).unwrap_or(Val::Null),
    );
    w.touch(LEAD, &mut lead_row, ctx);
    w.write(LEAD, lead_id.clone(), lead_row, Op::Convert);
    Ok(Converted {
        account,
        contact,
        lead: lead_id,
        opportunity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelopes_with_prefixes_entities_and_nil() {
        let env = parse_xml(
            r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="x" xmlns:sf="y" xmlns:xsi="z">
            <soapenv:Header><sf:SessionHeader><sf:sessionId>abc!d&amp;e</sf:sessionId></sf:SessionHeader></soapenv:Header>
            <soapenv:Body><sf:merge><sf:request><sf:masterRecord><so:type>Account</so:type>
            <so:Phone xsi:nil="true"/><so:Name>A &lt;b&gt; &#233;</so:Name></sf:masterRecord>
            <sf:recordToMergeIds>001</sf:recordToMergeIds></sf:request></sf:merge></soapenv:Body></soapenv:Envelope>"#,
        )
        .unwrap();
        assert_eq!(env.name, "Envelope");
        let sid = env
            .child("Header")
            .and_then(|h| h.child("SessionHeader"))
            .and_then(|h| h.value("sessionId"));
        assert_eq!(sid, Some("abc!d&e"));
        let master = env.child("Body").unwrap().children[0]
            .child("request")
            .unwrap()
            .child("masterRecord")
            .unwrap();
        let o = overrides(master);
        assert_eq!(o.get("Phone"), Some(&Value::Null));
        assert_eq!(o.get("Name"), Some(&Value::String("A <b> é".into())));
        assert!(parse_xml("<a><b></a>").is_err());
        assert!(parse_xml("<a>").is_err());
    }
}
