//! Runs parsed SOQL against the org: resolves fields (INVALID_FIELD), type-checks literals,
//! scans by Id range where it can, and keeps query cursors for `nextRecordsUrl` paging.

use chrono::{Duration as Days, NaiveDate, NaiveTime};
use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::schema::{self, FieldDef, FieldType};
use super::soql::{self, Cond, LikeTok, Lit, Op, RelDate, Select};
use super::{J, Row, Val, World, ids};

/// Where a selected or filtered value comes from: the record, or a parent via a lookup.
#[derive(Debug, Clone, Copy)]
pub enum FieldRef {
    Own(usize),
    Rel {
        via: usize,
        table: usize,
        field: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Sel {
    pub r: FieldRef,
    /// Canonical field name (in the parent, for relationship fields).
    pub name: &'static str,
    /// Relationship name (`Account`, `Owner`…) for parent fields.
    pub rel: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum CLit {
    Null,
    /// Lowercased: text comparisons are case-insensitive.
    Text(String),
    /// Canonical 18-character id: compared exactly.
    Id(String),
    Num(f64),
    Bool(bool),
    /// `YYYY-MM-DD`.
    Date(String),
    Time(i64),
    /// A relative date literal: `[from, to)` as date strings and as epoch milliseconds.
    Days {
        from: String,
        to: String,
        from_ms: i64,
        to_ms: i64,
    },
}

#[derive(Debug, Clone)]
enum CCond {
    And(Vec<CCond>),
    Or(Vec<CCond>),
    Not(Box<CCond>),
    Cmp {
        r: FieldRef,
        op: Op,
        v: CLit,
    },
    In {
        r: FieldRef,
        negated: bool,
        vs: Vec<CLit>,
    },
    Like {
        r: FieldRef,
        pattern: Vec<LikeTok>,
    },
}

#[derive(Debug, Clone)]
struct Order {
    r: FieldRef,
    ty: FieldType,
    desc: bool,
    nulls_last: bool,
}

#[derive(Debug, Clone)]
pub struct Compiled {
    pub table: usize,
    pub count: bool,
    pub sels: Vec<Sel>,
    cond: Option<CCond>,
    order: Vec<Order>,
    limit: Option<usize>,
    offset: usize,
}

/// A query error as Salesforce reports it (`errorCode` + message).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        code,
        message: message.into(),
    }
}

/// Salesforce's OFFSET ceiling.
const MAX_OFFSET: u64 = 2000;

pub fn compile(src: &str, today: NaiveDate) -> Result<Compiled, QueryError> {
    let q = soql::parse(src).map_err(|e| err("MALFORMED_QUERY", e.0))?;
    let (table, _) = schema::object(&q.from).ok_or_else(|| {
        err(
            "INVALID_TYPE",
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to \
                 append the '__c' after the entity name. Please reference your WSDL or the describe call for \
                 the appropriate names.",
                q.from
            ),
        )
    })?;
    let (count, sels) = match &q.select {
        Select::Count => (true, Vec::new()),
        Select::Fields(names) => {
            let mut sels = Vec::with_capacity(names.len());
            for n in names {
                let (r, f, rel) = resolve(table, n)?;
                sels.push(Sel {
                    r,
                    name: f.name,
                    rel,
                });
            }
            (false, sels)
        }
    };
    if count && !q.order.is_empty() {
        return Err(err(
            "MALFORMED_QUERY",
            "ORDER BY is not allowed with COUNT()",
        ));
    }
    let cond = q
        .cond
        .as_ref()
        .map(|c| compile_cond(table, c, today))
        .transpose()?;
    let mut order = Vec::new();
    for o in &q.order {
        let (r, f, _) = resolve(table, &o.field)?;
        if f.ty == FieldType::TextArea && f.length > 255 {
            return Err(err(
                "INVALID_FIELD",
                format!("field '{}' can not be sorted in a query call", f.name),
            ));
        }
        order.push(Order {
            r,
            ty: f.ty,
            desc: o.desc,
            nulls_last: o.nulls_last,
        });
    }
    if let Some(off) = q.offset
        && off > MAX_OFFSET
    {
        return Err(err(
            "NUMBER_OUTSIDE_VALID_RANGE",
            format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
        ));
    }
    Ok(Compiled {
        table,
        count,
        sels,
        cond,
        order,
        limit: q.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        offset: q.offset.map(|o| o as usize).unwrap_or(0),
    })
}

/// Resolves `Field`, `Object.Field` or `Relationship.Field` on `table`.
pub fn resolve(
    table: usize,
    path: &str,
) -> Result<(FieldRef, &'static FieldDef, Option<&'static str>), QueryError> {
    let def = schema::def(table);
    let no_column = |name: &str| {
        err(
            "INVALID_FIELD",
            format!(
                "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to \
                 append the '__c' after the custom field name. Please reference your WSDL or the describe call \
                 for the appropriate names.",
                def.name
            ),
        )
    };
    let mut parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 1 && parts[0].eq_ignore_ascii_case(def.name) {
        parts.remove(0);
    }
    match parts.as_slice() {
        [name] => {
            let i = def.index(name).ok_or_else(|| no_column(name))?;
            Ok((FieldRef::Own(i), &def.fields[i], None))
        }
        [rel, name] => {
            let via = def
                .fields
                .iter()
                .position(|f| f.relationship.is_some_and(|r| r.eq_ignore_ascii_case(rel)))
                .ok_or_else(|| {
                    err(
                        "INVALID_FIELD",
                        format!(
                            "Didn't understand relationship '{rel}' in field path. If you are attempting to use a \
                             custom relationship, be sure to append the '__r' after the custom relationship name. \
                             Please reference your WSDL or the describe call for the appropriate names."
                        ),
                    )
                })?;
            let vf = &def.fields[via];
            let (t, tdef) = vf
                .reference_to
                .first()
                .and_then(|n| schema::object(n))
                .ok_or_else(|| no_column(path))?;
            let i = tdef.index(name).ok_or_else(|| {
                err(
                    "INVALID_FIELD",
                    format!("No such column '{name}' on entity '{}'.", tdef.name),
                )
            })?;
            Ok((
                FieldRef::Rel {
                    via,
                    table: t,
                    field: i,
                },
                &tdef.fields[i],
                vf.relationship,
            ))
        }
        _ => Err(no_column(path)),
    }
}

fn compile_cond(table: usize, c: &Cond, today: NaiveDate) -> Result<CCond, QueryError> {
    Ok(match c {
        Cond::And(v) => CCond::And(
            v.iter()
                .map(|c| compile_cond(table, c, today))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Or(v) => CCond::Or(
            v.iter()
                .map(|c| compile_cond(table, c, today))
                .collect::<Result<_, _>>()?,
        ),
        Cond::Not(c) => CCond::Not(Box::new(compile_cond(table, c, today)?)),
        Cond::Cmp { field, op, value } => {
            let (r, f, _) = resolve(table, field)?;
            CCond::Cmp {
                r,
                op: *op,
                v: literal(f, value, today)?,
            }
        }
        Cond::In {
            field,
            negated,
            values,
        } => {
            let (r, f, _) = resolve(table, field)?;
            CCond::In {
                r,
                negated: *negated,
                vs: values
                    .iter()
                    .map(|v| literal(f, v, today))
                    .collect::<Result<_, _>>()?,
            }
        }
        Cond::Like { field, pattern } => {
            let (r, f, _) = resolve(table, field)?;
            if !f.ty.is_text() {
                return Err(err(
                    "INVALID_FIELD",
                    format!("invalid operator on {} field: {}", f.ty.as_str(), f.name),
                ));
            }
            CCond::Like {
                r,
                pattern: pattern.clone(),
            }
        }
    })
}

fn day_ms(d: NaiveDate) -> i64 {
    d.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

fn literal(f: &FieldDef, lit: &Lit, today: NaiveDate) -> Result<CLit, QueryError> {
    let wrong = |kind: &str, quoted: bool| {
        err(
            "INVALID_FIELD",
            format!(
                "value of filter criterion for field '{}' must be of type {kind} and should {}be enclosed in quotes",
                f.name,
                if quoted { "" } else { "not " }
            ),
        )
    };
    if *lit == Lit::Null {
        return Ok(CLit::Null);
    }
    let days = |r: &RelDate| {
        let (from, to) = match *r {
            RelDate::Today => (today, today + Days::days(1)),
            RelDate::Yesterday => (today - Days::days(1), today),
            RelDate::Tomorrow => (today + Days::days(1), today + Days::days(2)),
            RelDate::LastNDays(n) => (today - Days::days(i64::from(n)), today + Days::days(1)),
            RelDate::NextNDays(n) => (today + Days::days(1), today + Days::days(1 + i64::from(n))),
        };
        CLit::Days {
            from: from.format("%Y-%m-%d").to_string(),
            to: to.format("%Y-%m-%d").to_string(),
            from_ms: day_ms(from),
            to_ms: day_ms(to),
        }
    };
    Ok(match f.ty {
        FieldType::Id | FieldType::Reference => match lit {
            Lit::Str(s) => CLit::Id(ids::to18(s).ok_or_else(|| {
                err(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid ID field: {s}"),
                )
            })?),
            _ => return Err(wrong("id", true)),
        },
        ty if ty.is_text() => match lit {
            Lit::Str(s) => CLit::Text(s.to_lowercase()),
            _ => return Err(wrong("string", true)),
        },
        FieldType::Currency | FieldType::Double => match lit {
            Lit::Num(n) => CLit::Num(*n),
            _ => return Err(wrong("double", false)),
        },
        FieldType::Boolean => match lit {
            Lit::Bool(b) => CLit::Bool(*b),
            _ => return Err(wrong("boolean", false)),
        },
        FieldType::Date => match lit {
            Lit::Date(d) => CLit::Date(d.format("%Y-%m-%d").to_string()),
            Lit::Rel(r) => days(r),
            _ => return Err(wrong("date", false)),
        },
        _ => match lit {
            Lit::DateTime(d) => CLit::Time(d.timestamp_millis()),
            Lit::Rel(r) => days(r),
            _ => return Err(wrong("dateTime", false)),
        },
    })
}

/// The value a field reference reads from a row (a parent's field through a lookup).
pub fn value<'a>(w: &'a World, row: &'a Row, r: FieldRef) -> &'a Val {
    match r {
        FieldRef::Own(i) => row.get(i).unwrap_or(&Val::Null),
        FieldRef::Rel { via, table, field } => match row.get(via) {
            Some(Val::Str(id)) => w
                .row(table, id)
                .and_then(|p| p.get(field))
                .unwrap_or(&Val::Null),
            _ => &Val::Null,
        },
    }
}

/// Case-insensitive order of `a` against an already lowercased `b`.
fn ci_cmp_lower(a: &str, b_lower: &str) -> Ordering {
    a.chars().flat_map(char::to_lowercase).cmp(b_lower.chars())
}

fn cmp_lit(v: &Val, l: &CLit) -> Option<Ordering> {
    match (v, l) {
        (Val::Str(s), CLit::Text(t)) => Some(ci_cmp_lower(s, t)),
        (Val::Str(s), CLit::Id(t)) | (Val::Str(s), CLit::Date(t)) => {
            Some(s.as_ref().cmp(t.as_str()))
        }
        (Val::Num(a), CLit::Num(b)) => a.partial_cmp(b),
        (Val::Bool(a), CLit::Bool(b)) => Some(a.cmp(b)),
        (Val::Time(a), CLit::Time(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// Where a value falls against a `[from, to)` day range: Less, Equal (inside) or Greater.
fn in_days(v: &Val, l: &CLit) -> Option<Ordering> {
    let CLit::Days {
        from,
        to,
        from_ms,
        to_ms,
    } = l
    else {
        return None;
    };
    match v {
        Val::Time(t) => Some(if t < from_ms {
            Ordering::Less
        } else if t < to_ms {
            Ordering::Equal
        } else {
            Ordering::Greater
        }),
        Val::Str(s) => {
            let s = s.as_ref();
            Some(if s < from.as_str() {
                Ordering::Less
            } else if s < to.as_str() {
                Ordering::Equal
            } else {
                Ordering::Greater
            })
        }
        _ => None,
    }
}

fn equals(v: &Val, l: &CLit) -> bool {
    match l {
        CLit::Null => matches!(v, Val::Null),
        CLit::Days { .. } => in_days(v, l) == Some(Ordering::Equal),
        _ => cmp_lit(v, l) == Some(Ordering::Equal),
    }
}

fn compare(v: &Val, op: Op, l: &CLit) -> bool {
    match op {
        Op::Eq => equals(v, l),
        Op::Ne => !equals(v, l),
        _ => {
            if let CLit::Days { .. } = l {
                // Against a day range: `<` is before it, `<=` up to its end, `>` after it.
                return match (op, in_days(v, l)) {
                    (Op::Lt, Some(o)) => o == Ordering::Less,
                    (Op::Le, Some(o)) => o != Ordering::Greater,
                    (Op::Gt, Some(o)) => o == Ordering::Greater,
                    (Op::Ge, Some(o)) => o != Ordering::Less,
                    _ => false,
                };
            }
            match cmp_lit(v, l) {
                Some(o) => match op {
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
                None => false,
            }
        }
    }
}

fn eval(w: &World, row: &Row, c: &CCond) -> bool {
    match c {
        CCond::And(v) => v.iter().all(|c| eval(w, row, c)),
        CCond::Or(v) => v.iter().any(|c| eval(w, row, c)),
        CCond::Not(c) => !eval(w, row, c),
        CCond::Cmp { r, op, v } => compare(value(w, row, *r), *op, v),
        CCond::In { r, negated, vs } => {
            let x = value(w, row, *r);
            vs.iter().any(|l| equals(x, l)) != *negated
        }
        CCond::Like { r, pattern } => match value(w, row, *r) {
            Val::Str(s) => soql::like_matches(pattern, s),
            _ => false,
        },
    }
}

/// Id bounds implied by the top-level AND of a condition, so a scan can seek instead of
/// reading every record (the connector pages with `Id > '…' ORDER BY Id`).
struct Seek {
    lo: Bound<String>,
    hi: Bound<String>,
    exact: Option<Vec<String>>,
}

fn seek(cond: Option<&CCond>) -> Seek {
    let mut s = Seek {
        lo: Bound::Unbounded,
        hi: Bound::Unbounded,
        exact: None,
    };
    let items: Vec<&CCond> = match cond {
        Some(CCond::And(v)) => v.iter().collect(),
        Some(c) => vec![c],
        None => Vec::new(),
    };
    for c in items {
        match c {
            CCond::Cmp {
                r: FieldRef::Own(0),
                op,
                v: CLit::Id(id),
            } => match op {
                Op::Gt => s.lo = tighter_lo(s.lo, Bound::Excluded(id.clone())),
                Op::Ge => s.lo = tighter_lo(s.lo, Bound::Included(id.clone())),
                Op::Lt => s.hi = tighter_hi(s.hi, Bound::Excluded(id.clone())),
                Op::Le => s.hi = tighter_hi(s.hi, Bound::Included(id.clone())),
                Op::Eq => s.exact = Some(vec![id.clone()]),
                Op::Ne => {}
            },
            CCond::In {
                r: FieldRef::Own(0),
                negated: false,
                vs,
            } => {
                let mut ids: Vec<String> = vs
                    .iter()
                    .filter_map(|v| match v {
                        CLit::Id(id) => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                ids.sort();
                ids.dedup();
                s.exact = Some(ids);
            }
            _ => {}
        }
    }
    s
}

fn bound_key(b: &Bound<String>) -> Option<&str> {
    match b {
        Bound::Included(s) | Bound::Excluded(s) => Some(s),
        Bound::Unbounded => None,
    }
}

fn tighter_lo(a: Bound<String>, b: Bound<String>) -> Bound<String> {
    match (bound_key(&a), bound_key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if y > x || (y == x && matches!(b, Bound::Excluded(_))) => b,
        _ => a,
    }
}

fn tighter_hi(a: Bound<String>, b: Bound<String>) -> Bound<String> {
    match (bound_key(&a), bound_key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) if y < x || (y == x && matches!(b, Bound::Excluded(_))) => b,
        _ => a,
    }
}

/// `BTreeMap::range` panics on an empty or inverted range; this says whether one is usable.
fn range_ok(lo: &Bound<String>, hi: &Bound<String>) -> bool {
    match (bound_key(lo), bound_key(hi)) {
        (Some(a), Some(b)) => {
            a < b
                || (a == b && matches!(lo, Bound::Included(_)) && matches!(hi, Bound::Included(_)))
        }
        _ => true,
    }
}

/// The ids a query selects, in result order, after OFFSET and LIMIT. `all` includes deleted
/// and merged records (queryAll).
pub fn execute(w: &World, c: &Compiled, all: bool) -> Vec<Arc<str>> {
    let table = &w.tables[c.table];
    let soft = schema::def(c.table).soft_deletes();
    let deleted_ix = schema::def(c.table).index("IsDeleted");
    let visible = |row: &Row| {
        (all || !soft || !matches!(deleted_ix.and_then(|i| row.get(i)), Some(Val::Bool(true))))
            && c.cond.as_ref().is_none_or(|cond| eval(w, row, cond))
    };
    let s = seek(c.cond.as_ref());
    let by_id = match c.order.as_slice() {
        [] => Some(false),
        [o] if matches!(o.r, FieldRef::Own(0)) => Some(o.desc),
        _ => None,
    };
    let limit = c.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    if let Some(desc) = by_id {
        let mut push = |id: &Arc<str>, row: &Row, skipped: &mut usize| -> bool {
            if visible(row) {
                if *skipped < c.offset {
                    *skipped += 1;
                } else {
                    out.push(id.clone());
                }
            }
            out.len() < limit
        };
        let mut skipped = 0;
        if limit == 0 {
            return out;
        }
        if let Some(exact) = &s.exact {
            let iter: Box<dyn Iterator<Item = &String>> = if desc {
                Box::new(exact.iter().rev())
            } else {
                Box::new(exact.iter())
            };
            for id in iter {
                if let Some((k, row)) = table.rows.get_key_value(id.as_str())
                    && !push(k, row, &mut skipped)
                {
                    break;
                }
            }
        } else if range_ok(&s.lo, &s.hi) {
            let range = table.rows.range::<str, _>((
                s.lo.as_ref().map(String::as_str),
                s.hi.as_ref().map(String::as_str),
            ));
            if desc {
                for (k, row) in range.rev() {
                    if !push(k, row, &mut skipped) {
                        break;
                    }
                }
            } else {
                for (k, row) in range {
                    if !push(k, row, &mut skipped) {
                        break;
                    }
                }
            }
        }
        return out;
    }
    // Sort keys are computed once per record (text lowercased), not once per comparison.
    let mut hits: Vec<(Vec<SortKey>, &Arc<str>)> = table
        .rows
        .iter()
        .filter(|(_, row)| visible(row))
        .map(|(id, row)| {
            (
                c.order
                    .iter()
                    .map(|o| SortKey::of(value(w, row, o.r), o.ty))
                    .collect(),
                id,
            )
        })
        .collect();
    hits.sort_by(|(ka, ia), (kb, ib)| {
        for (o, (a, b)) in c.order.iter().zip(ka.iter().zip(kb)) {
            let ord = match (a, b) {
                (SortKey::Null, SortKey::Null) => Ordering::Equal,
                (SortKey::Null, _) => {
                    if o.nulls_last {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (_, SortKey::Null) => {
                    if o.nulls_last {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                _ => {
                    let ord = a.cmp_same(b);
                    if o.desc { ord.reverse() } else { ord }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        ia.cmp(ib)
    });
    hits.into_iter()
        .skip(c.offset)
        .take(limit)
        .map(|(_, id)| id.clone())
        .collect()
}

/// A field value prepared for ORDER BY.
enum SortKey {
    Null,
    Text(String),
    Num(f64),
    Bool(bool),
    Time(i64),
}

impl SortKey {
    fn of(v: &Val, ty: FieldType) -> SortKey {
        match v {
            Val::Null => SortKey::Null,
            Val::Str(s) if ty.is_text() => SortKey::Text(s.to_lowercase()),
            Val::Str(s) => SortKey::Text(s.to_string()),
            Val::Num(n) => SortKey::Num(*n),
            Val::Bool(b) => SortKey::Bool(*b),
            Val::Time(t) => SortKey::Time(*t),
        }
    }

    fn cmp_same(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Num(a), SortKey::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Time(a), SortKey::Time(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

/// One record as the REST API renders it: `attributes` first, then the selected fields in
/// select order, parents as nested objects (or null when the lookup is empty).
pub fn render(w: &World, table: usize, id: &str, row: &Row, sels: &[Sel], version: &str) -> J {
    let def = schema::def(table);
    let mut fields: Vec<(String, J)> =
        vec![("attributes".into(), attributes(def.name, id, version))];
    for s in sels {
        match (s.r, s.rel) {
            (FieldRef::Rel { via, table: pt, .. }, Some(rel)) => {
                let parent = match row.get(via) {
                    Some(Val::Str(pid)) => w.row(pt, pid).map(|p| (pid.clone(), p)),
                    _ => None,
                };
                let pos = fields.iter().position(|(k, _)| k == rel);
                match (parent, pos) {
                    (None, None) => fields.push((rel.to_string(), J::Null)),
                    (None, Some(_)) => {}
                    (Some((pid, _)), None) => {
                        let v = value(w, row, s.r).to_j();
                        let obj = J::Obj(vec![
                            (
                                "attributes".into(),
                                attributes(schema::def(pt).name, &pid, version),
                            ),
                            (s.name.to_string(), v),
                        ]);
                        fields.push((rel.to_string(), obj));
                    }
                    (Some(_), Some(p)) => {
                        let v = value(w, row, s.r).to_j();
                        if let Some((_, J::Obj(o))) = fields.get_mut(p) {
                            o.push((s.name.to_string(), v));
                        }
                    }
                }
            }
            _ => fields.push((s.name.to_string(), value(w, row, s.r).to_j())),
        }
    }
    J::Obj(fields)
}

pub fn attributes(object: &str, id: &str, version: &str) -> J {
    J::obj([
        ("type", J::from(object)),
        (
            "url",
            J::from(format!("/services/data/{version}/sobjects/{object}/{id}")),
        ),
    ])
}

/// Every field of `table`, as `GET /sobjects/{Type}/{id}` returns without `fields=`.
pub fn all_fields(table: usize) -> Vec<Sel> {
    schema::def(table)
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| Sel {
            r: FieldRef::Own(i),
            name: f.name,
            rel: None,
        })
        .collect()
}

/// A `fields=a,b` list (own fields only), or INVALID_FIELD.
pub fn field_list(table: usize, list: &str) -> Result<Vec<Sel>, QueryError> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (r, f, rel) = resolve(table, name)?;
        out.push(Sel {
            r,
            name: f.name,
            rel,
        });
    }
    Ok(out)
}

/// A query's remaining results, kept for `nextRecordsUrl`.
pub struct Cursor {
    pub table: usize,
    pub sels: Vec<Sel>,
    pub ids: Vec<Arc<str>>,
    pub batch: usize,
}

/// Open cursors, oldest evicted first (Salesforce also caps open query cursors per user).
#[derive(Default)]
pub struct Cursors {
    map: HashMap<String, Cursor>,
    order: VecDeque<String>,
    next: u64,
}

/// Open cursors kept at once; a locator evicted since gets INVALID_QUERY_LOCATOR.
const MAX_CURSORS: usize = 50;

impl Cursors {
    pub fn open(&mut self, cursor: Cursor) -> String {
        self.next += 1;
        let locator = ids::make("01g", self.next);
        if self.order.len() >= MAX_CURSORS
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.map.insert(locator.clone(), cursor);
        self.order.push_back(locator.clone());
        locator
    }

    pub fn get(&self, locator: &str) -> Option<&Cursor> {
        self.map.get(locator)
    }
}
