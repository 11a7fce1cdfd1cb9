//! `POST /crm/v3/objects/{type}/search`: filter groups (ANDed filters, ORed groups) with
//! every HubSpot operator, one sort, free-text `query`, offset paging and the 10k cap,
//! over the search index (writes reach it only after the search lag, as in HubSpot).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::sync::Arc;
use steward_shared::crm::limits::hubspot as figures;

use super::api::{Api, HsError, HsResult, Principal, parse_json};
use super::objects::{Record, Selection, respond};
use super::schema::{ObjectType, parse_instant};
use crate::server::AppState;

/// Longest free-text `query` HubSpot accepts. [doc]
const QUERY_MAX_CHARS: usize = 3000;
/// Page size when the request names none. [doc]
const DEFAULT_LIMIT: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    Has,
    NotHas,
    ContainsToken,
    NotContainsToken,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "EQ" => Op::Eq,
            "NEQ" => Op::Neq,
            "LT" => Op::Lt,
            "LTE" => Op::Lte,
            "GT" => Op::Gt,
            "GTE" => Op::Gte,
            "BETWEEN" => Op::Between,
            "IN" => Op::In,
            "NOT_IN" => Op::NotIn,
            "HAS_PROPERTY" => Op::Has,
            "NOT_HAS_PROPERTY" => Op::NotHas,
            "CONTAINS_TOKEN" => Op::ContainsToken,
            "NOT_CONTAINS_TOKEN" => Op::NotContainsToken,
            _ => return None,
        })
    }
}

/// A filter value as search compares it: numerically when it reads as a number (ids,
/// amounts, epoch milliseconds) or as a date (ISO instants become epoch milliseconds),
/// otherwise as case-insensitive text, which is how HubSpot's index holds strings. The
/// text is kept trimmed and lower-cased.
#[derive(Debug, Clone)]
enum Cv {
    Num(f64, String),
    Text(String),
}

impl Cv {
    fn of(s: &str) -> Cv {
        let lower = s.trim().to_lowercase();
        match number_of(&lower) {
            Some(n) => Cv::Num(n, lower),
            None => Cv::Text(lower),
        }
    }
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit)
}

/// A value's number: itself, or a date's epoch milliseconds.
fn number_of(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<f64>()
        && n.is_finite()
    {
        return Some(n);
    }
    if looks_like_date(t) {
        return parse_instant(t).map(|x| x.timestamp_millis() as f64);
    }
    None
}

/// Case-insensitive order of `a` against the already lower-cased `b`. Search touches
/// every record, so this compares without allocating.
fn lower_cmp(a: &str, b_lower: &str) -> Ordering {
    a.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .cmp(b_lower.chars())
}

/// A record's value as search reads it: derived properties as numbers, stored ones as
/// the stored text.
#[derive(Debug, Clone, Copy)]
enum Have<'a> {
    Num(f64),
    Str(&'a str),
}

impl Have<'_> {
    fn of<'a>(rec: &'a Record, ty: ObjectType, prop: &str) -> Option<Have<'a>> {
        match prop {
            "hs_object_id" => Some(Have::Num(rec.id as f64)),
            "createdate" => Some(Have::Num(rec.created.timestamp_millis() as f64)),
            p if p == ty.modified_prop() => Some(Have::Num(rec.updated.timestamp_millis() as f64)),
            p => rec.props.get(p).map(|v| Have::Str(v)),
        }
    }

    fn cmp(self, v: &Cv) -> Ordering {
        let num = |a: f64, b: f64| a.partial_cmp(&b).unwrap_or(Ordering::Equal);
        match (self, v) {
            (Have::Num(a), Cv::Num(b, _)) => num(a, *b),
            (Have::Num(a), Cv::Text(t)) => lower_cmp(&a.to_string(), t),
            (Have::Str(s), Cv::Num(b, text)) => match number_of(s) {
                Some(a) => num(a, *b),
                None => lower_cmp(s, text),
            },
            (Have::Str(s), Cv::Text(t)) => lower_cmp(s, t),
        }
    }
}

/// A sort key: stored text that reads as a number (or date) sorts as one.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Num(f64),
    Text(&'a str),
}

impl<'a> Key<'a> {
    fn of(h: Have<'a>) -> Self {
        match h {
            Have::Num(n) => Key::Num(n),
            Have::Str(s) => number_of(s).map_or(Key::Text(s), Key::Num),
        }
    }

    /// Numbers numerically and before text; text case-insensitively.
    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Num(x), Key::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
            (Key::Text(x), Key::Text(y)) => x
                .trim()
                .chars()
                .flat_map(char::to_lowercase)
                .cmp(y.trim().chars().flat_map(char::to_lowercase)),
            (Key::Num(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Num(_)) => Ordering::Greater,
        }
    }
}

/// Whether `pattern` (a `*` wildcard) matches all of `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// A CONTAINS_TOKEN value, prepared once per request.
struct Needle {
    lower: String,
    tokens: Vec<String>,
}

impl Needle {
    fn new(value: &str) -> Self {
        let lower = value.trim().to_lowercase();
        let tokens = tokens(&lower).map(str::to_string).collect();
        Needle { lower, tokens }
    }

    /// The value's tokens appear in order among the property's tokens, or the value
    /// (with `*` wildcards) matches the whole property or one of its words.
    fn found_in(&self, text: &str) -> bool {
        if self.lower.contains('*') {
            let text = text.to_lowercase();
            return glob(&self.lower, &text)
                || text.split_whitespace().any(|w| glob(&self.lower, w));
        }
        if lower_cmp(text, &self.lower).is_eq() {
            return true;
        }
        if self.tokens.is_empty() {
            return false;
        }
        let hay: Vec<&str> = tokens(text).collect();
        hay.windows(self.tokens.len()).any(|w| {
            w.iter()
                .zip(&self.tokens)
                .all(|(h, n)| h.chars().flat_map(char::to_lowercase).eq(n.chars()))
        })
    }
}

struct Filter {
    prop: String,
    op: Op,
    value: Option<Cv>,
    needle: Needle,
    high: Option<Cv>,
    values: Vec<Cv>,
}

impl Filter {
    fn matches(&self, rec: &Record, ty: ObjectType) -> bool {
        let have = Have::of(rec, ty, &self.prop);
        let eq = |v: &Cv| have.is_some_and(|h| h.cmp(v).is_eq());
        let ord = |f: fn(Ordering) -> bool| {
            have.zip(self.value.as_ref())
                .is_some_and(|(h, v)| f(h.cmp(v)))
        };
        let contains = || {
            rec.value(ty, &self.prop)
                .is_some_and(|t| self.needle.found_in(&t))
        };
        match self.op {
            Op::Eq => self.value.as_ref().is_some_and(eq),
            // Negative operators also match records without the property, as in HubSpot.
            Op::Neq => !self.value.as_ref().is_some_and(eq),
            Op::Lt => ord(Ordering::is_lt),
            Op::Lte => ord(Ordering::is_le),
            Op::Gt => ord(Ordering::is_gt),
            Op::Gte => ord(Ordering::is_ge),
            Op::Between => match (have, &self.value, &self.high) {
                (Some(h), Some(lo), Some(hi)) => h.cmp(lo).is_ge() && h.cmp(hi).is_le(),
                _ => false,
            },
            Op::In => self.values.iter().any(eq),
            Op::NotIn => !self.values.iter().any(eq),
            Op::Has => have.is_some(),
            Op::NotHas => have.is_none(),
            Op::ContainsToken => contains(),
            Op::NotContainsToken => !contains(),
        }
    }
}

/// A filter value, sent as a string, number or boolean.
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn known_prop(ty: ObjectType, name: &str) -> HsResult<()> {
    if ty.prop(name).is_some() {
        Ok(())
    } else {
        Err(HsError::validation(format!(
            "Property \"{name}\" does not exist on {}",
            ty.name()
        )))
    }
}

fn parse_filter(ty: ObjectType, f: &Value) -> HsResult<Filter> {
    let prop = f
        .get("propertyName")
        .and_then(Value::as_str)
        .ok_or_else(|| HsError::validation("Each filter needs a propertyName"))?
        .to_string();
    known_prop(ty, &prop)?;
    let op_name = f.get("operator").and_then(Value::as_str).unwrap_or("EQ");
    let op = Op::parse(op_name)
        .ok_or_else(|| HsError::validation(format!("Unknown filter operator: {op_name}")))?;
    let raw_value = scalar(f.get("value"));
    let high = scalar(f.get("highValue"));
    let values: Vec<Cv> = f
        .get("values")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| scalar(Some(v)))
                .map(|v| Cv::of(&v))
                .collect()
        })
        .unwrap_or_default();
    let needs_value = !matches!(op, Op::Has | Op::NotHas | Op::In | Op::NotIn);
    if needs_value && raw_value.is_none() {
        return Err(HsError::validation(format!(
            "Operator {op_name} on {prop} requires a value"
        )));
    }
    if op == Op::Between && high.is_none() {
        return Err(HsError::validation(format!(
            "Operator BETWEEN on {prop} requires a highValue"
        )));
    }
    if matches!(op, Op::In | Op::NotIn) && values.is_empty() {
        return Err(HsError::validation(format!(
            "Operator {op_name} on {prop} requires values"
        )));
    }
    Ok(Filter {
        prop,
        op,
        value: raw_value.as_deref().map(Cv::of),
        needle: Needle::new(raw_value.as_deref().unwrap_or("")),
        high: high.as_deref().map(Cv::of),
        values,
    })
}

fn parse_groups(ty: ObjectType, body: &Value) -> HsResult<Vec<Vec<Filter>>> {
    let groups = match body.get("filterGroups") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(g)) => g,
        Some(_) => return Err(HsError::validation("filterGroups must be an array")),
    };
    if groups.len() > figures::SEARCH_MAX_GROUPS {
        return Err(HsError::validation(format!(
            "Too many filter groups: {} (at most {} are allowed)",
            groups.len(),
            figures::SEARCH_MAX_GROUPS
        )));
    }
    let mut total = 0;
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let filters = g
            .get("filters")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if filters.len() > figures::SEARCH_MAX_FILTERS_PER_GROUP {
            return Err(HsError::validation(format!(
                "Too many filters in a filter group: {} (at most {} are allowed)",
                filters.len(),
                figures::SEARCH_MAX_FILTERS_PER_GROUP
            )));
        }
        total += filters.len();
        out.push(
            filters
                .iter()
                .map(|f| parse_filter(ty, f))
                .collect::<HsResult<Vec<_>>>()?,
        );
    }
    if total > figures::SEARCH_MAX_FILTERS {
        return Err(HsError::validation(format!(
            "Too many filters: {total} (at most {} are allowed across all filter groups)",
            figures::SEARCH_MAX_FILTERS
        )));
    }
    Ok(out)
}

/// The first sort (HubSpot honours only one): object form `{propertyName, direction}` or
/// string form `"prop"` / `"-prop"`. Without one, results are ascending by `hs_object_id`.
fn parse_sort(ty: ObjectType, body: &Value) -> HsResult<(String, bool)> {
    let first = body
        .get("sorts")
        .and_then(Value::as_array)
        .and_then(|a| a.first());
    let (prop, descending) = match first {
        None => return Ok(("hs_object_id".into(), false)),
        Some(Value::String(s)) => match s.strip_prefix('-') {
            Some(p) => (p.to_string(), true),
            None => (s.clone(), false),
        },
        Some(Value::Object(o)) => {
            let p = o
                .get("propertyName")
                .and_then(Value::as_str)
                .ok_or_else(|| HsError::validation("Each sort needs a propertyName"))?;
            let dir = o
                .get("direction")
                .and_then(Value::as_str)
                .unwrap_or("ASCENDING");
            (p.to_string(), dir.eq_ignore_ascii_case("DESCENDING"))
        }
        Some(_) => return Err(HsError::validation("sorts must be strings or objects")),
    };
    known_prop(ty, &prop)?;
    Ok((prop, descending))
}

fn page_number(body: &Value, key: &str, default: usize) -> HsResult<usize> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| HsError::validation(format!("{key} must be a non-negative integer"))),
        Some(Value::String(s)) if s.is_empty() => Ok(default),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| HsError::validation(format!("{key}: '{s}' is not a valid offset"))),
        Some(_) => Err(HsError::validation(format!("{key} must be a number"))),
    }
}

pub(super) async fn search(
    api: Api,
    State(s): State<Arc<AppState>>,
    Path(ty): Path<String>,
    body: Bytes,
) -> Response {
    let r = search_inner(&api.who, &s, &ty, &body);
    api.finish(r)
}

fn search_inner(who: &Principal, s: &AppState, ty: &str, body: &Bytes) -> HsResult<Response> {
    let ty = ObjectType::from_path(ty)?;
    who.require(&ty.read_scopes())?;
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_json(body)?
    };
    let groups = parse_groups(ty, &body)?;
    let (sort_prop, descending) = parse_sort(ty, &body)?;
    let query = body.get("query").and_then(Value::as_str).unwrap_or("");
    if query.chars().count() > QUERY_MAX_CHARS {
        return Err(HsError::validation(format!(
            "query must be at most {QUERY_MAX_CHARS} characters"
        )));
    }
    let query_tokens: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let limit = page_number(&body, "limit", DEFAULT_LIMIT)?;
    if limit > figures::SEARCH_PAGE_MAX {
        return Err(HsError::validation(format!(
            "limit: must be less than or equal to {}, but was {limit}",
            figures::SEARCH_PAGE_MAX
        )));
    }
    let after = page_number(&body, "after", 0)?;
    if after.saturating_add(limit) > figures::SEARCH_RESULT_CAP {
        return Err(HsError::validation(format!(
            "Search results are capped at {} records; after={after} with limit={limit} pages past the cap",
            figures::SEARCH_RESULT_CAP
        )));
    }
    let requested = string_list(body.get("properties"));
    let sel = Selection::from_request(&requested);

    let mut world = s.hubspot();
    // Search reads the index, which writes reach only after the search lag.
    world
        .store_mut(ty)
        .index
        .catch_up(std::time::Instant::now());
    let store = world.store(ty);
    let matches_query = |rec: &Record| {
        query_tokens.iter().all(|t| {
            ty.query_props().iter().any(|p| {
                rec.props
                    .get(*p)
                    .is_some_and(|v| v.to_lowercase().contains(t.as_str()))
            })
        })
    };
    let mut hits: Vec<(&Record, Option<Key>)> = store
        .index
        .view(store.live.values())
        .into_iter()
        .filter(|rec| {
            groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| f.matches(rec, ty)))
        })
        .filter(|rec| matches_query(rec))
        .map(|rec| (rec, Have::of(rec, ty, &sort_prop).map(Key::of)))
        .collect();
    // Records without the sort property go last either way; ties stay in id order.
    hits.sort_by(|(_, a), (_, b)| match (a, b) {
        (Some(a), Some(b)) if descending => b.cmp(a),
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    let total = hits.len();
    let results: Vec<Value> = hits
        .iter()
        .skip(after)
        .take(limit)
        .map(|(r, _)| r.json(ty, &sel))
        .collect();
    let mut out = json!({ "total": total, "results": results });
    let next = after + limit;
    if limit > 0
        && next < total
        && let Some(o) = out.as_object_mut()
    {
        o.insert(
            "paging".into(),
            json!({ "next": { "after": next.to_string() } }),
        );
    }
    Ok(respond(StatusCode::OK, out))
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod unit {
    use super::*;

    fn contains_token(text: &str, value: &str) -> bool {
        Needle::new(value).found_in(text)
    }

    fn cmp(have: &str, value: &str) -> Ordering {
        Have::Str(have).cmp(&Cv::of(value))
    }

    #[test]
    fn tokens_and_wildcards() {
        assert!(contains_token("ada@example.com", "example.com"));
        assert!(contains_token("ada@example.com", "*@example.com"));
        assert!(contains_token("Ada Lovelace", "lovelace"));
        assert!(contains_token("Ada Lovelace", "ADA LOVELACE"));
        assert!(!contains_token("Ada Lovelace", "love"));
        assert!(contains_token("Ada Lovelace", "love*"));
    }

    #[test]
    fn comparisons() {
        assert_eq!(cmp("100", "99.5"), Ordering::Greater);
        assert_eq!(
            cmp("2024-01-01T00:00:00.000Z", "1704067200000"),
            Ordering::Equal
        );
        assert_eq!(cmp("2024-01-02", "2024-01-01T12:00:00Z"), Ordering::Greater);
        assert_eq!(cmp("Apple", "apple"), Ordering::Equal);
        assert_eq!(cmp(" Nan", "nan"), Ordering::Equal);
        assert_eq!(cmp("Émile", "émile"), Ordering::Equal);
        let (nine, ten) = (Key::of(Have::Str("9")), Key::of(Have::Str("10")));
        assert_eq!(nine.cmp(&ten), Ordering::Less);
        assert_eq!(
            Key::of(Have::Str("b")).cmp(&Key::of(Have::Str("A"))),
            Ordering::Greater
        );
    }
}
