//! Scans: the list endpoint when unfiltered, search when filtered (sorted by id, restarted
//! past the last id before the 10,000-result cap), with cursors that resume on their own.
//! Search's index lags writes by seconds, so it only says which records to read: their
//! values come from a batch read by id, as HubSpot holds them now.

use serde_json::{Value, json};

use super::{Call, HubSpot, figures, object_path, wire};
use crate::crm::transport::Lane;
use crate::crm::{Clause, CrmError, CrmResult, Filter, Op, ScanPage, ScanRequest};

/// Where a scan stands. Written into the page cursor, so a checkpointed cursor alone
/// (with the same request) continues the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// `l:<after>`: the list endpoint's own cursor.
    List { after: String },
    /// `s:<bound>:<offset>`: search results with `hs_object_id` above `bound` (none on the
    /// first stretch), from `offset`.
    Search { bound: Option<u64>, offset: usize },
}

impl Cursor {
    fn parse(raw: &str) -> CrmResult<Cursor> {
        let bad = || CrmError::Rejected(format!("'{raw}' is not a HubSpot scan cursor"));
        if let Some(after) = raw.strip_prefix("l:") {
            if after.is_empty() {
                return Err(bad());
            }
            return Ok(Cursor::List {
                after: after.to_string(),
            });
        }
        let rest = raw.strip_prefix("s:").ok_or_else(bad)?;
        let (bound, offset) = rest.split_once(':').ok_or_else(bad)?;
        let bound = match bound {
            "" => None,
            b => Some(b.parse::<u64>().map_err(|_| bad())?),
        };
        let offset = offset.parse::<usize>().map_err(|_| bad())?;
        Ok(Cursor::Search { bound, offset })
    }

    fn encode(&self) -> String {
        match self {
            Cursor::List { after } => format!("l:{after}"),
            Cursor::Search { bound, offset } => format!(
                "s:{}:{offset}",
                bound.map(|b| b.to_string()).unwrap_or_default()
            ),
        }
    }
}

/// A filter that matches everything (no groups, or an empty group) needs no search.
fn effective(filter: Option<&Filter>) -> Option<&Filter> {
    filter.filter(|f| !f.any_of.is_empty() && f.any_of.iter().all(|g| !g.is_empty()))
}

fn operator(op: Op) -> &'static str {
    match op {
        Op::Eq => "EQ",
        Op::Neq => "NEQ",
        Op::Lt => "LT",
        Op::Lte => "LTE",
        Op::Gt => "GT",
        Op::Gte => "GTE",
        Op::In => "IN",
        Op::NotIn => "NOT_IN",
        Op::HasProperty => "HAS_PROPERTY",
        Op::NotHasProperty => "NOT_HAS_PROPERTY",
    }
}

fn to_filter(c: &Clause) -> CrmResult<Value> {
    if c.property.trim().is_empty() {
        return Err(CrmError::Rejected(
            "a filter clause names no property".into(),
        ));
    }
    let op = operator(c.op);
    let wrong = |want: &str| {
        CrmError::Rejected(format!(
            "filter on {}: {op} takes {want}, got {} values",
            c.property,
            c.values.len()
        ))
    };
    Ok(match c.op {
        Op::Eq | Op::Neq | Op::Lt | Op::Lte | Op::Gt | Op::Gte => match c.values.as_slice() {
            [v] => json!({ "propertyName": c.property, "operator": op, "value": v }),
            _ => return Err(wrong("exactly one value")),
        },
        Op::In | Op::NotIn => {
            if c.values.is_empty() {
                return Err(wrong("at least one value"));
            }
            json!({ "propertyName": c.property, "operator": op, "values": c.values })
        }
        Op::HasProperty | Op::NotHasProperty => {
            if !c.values.is_empty() {
                return Err(wrong("no value"));
            }
            json!({ "propertyName": c.property, "operator": op })
        }
    })
}

/// Whether groups of these sizes fit HubSpot's search limits.
fn fits(groups: &[Vec<Value>]) -> bool {
    groups.len() <= figures::SEARCH_MAX_GROUPS
        && groups
            .iter()
            .all(|g| g.len() <= figures::SEARCH_MAX_FILTERS_PER_GROUP)
        && groups.iter().map(Vec::len).sum::<usize>() <= figures::SEARCH_MAX_FILTERS
}

/// `filter` as HubSpot filter groups (an OR of ANDs both ways), checked against the limits.
fn filter_groups(filter: &Filter) -> CrmResult<Vec<Vec<Value>>> {
    let groups = filter
        .any_of
        .iter()
        .map(|g| g.iter().map(to_filter).collect::<CrmResult<Vec<_>>>())
        .collect::<CrmResult<Vec<_>>>()?;
    if !fits(&groups) {
        return Err(CrmError::Rejected(format!(
            "the filter is too complex for HubSpot search: at most {} groups of {} conditions, {} in all",
            figures::SEARCH_MAX_GROUPS,
            figures::SEARCH_MAX_FILTERS_PER_GROUP,
            figures::SEARCH_MAX_FILTERS
        )));
    }
    Ok(groups)
}

/// The groups with `hs_object_id > bound` added to each (so search restarts past the
/// records already scanned), or `Rejected` when that would break the limits.
fn bounded(groups: &[Vec<Value>], bound: Option<u64>) -> CrmResult<Vec<Vec<Value>>> {
    let Some(bound) = bound else {
        return Ok(groups.to_vec());
    };
    let out: Vec<Vec<Value>> = groups
        .iter()
        .map(|g| {
            let mut g = g.clone();
            g.push(json!({ "propertyName": "hs_object_id", "operator": "GT", "value": bound.to_string() }));
            g
        })
        .collect();
    if !fits(&out) {
        return Err(too_complex_to_split());
    }
    Ok(out)
}

fn too_complex_to_split() -> CrmError {
    CrmError::Rejected(format!(
        "the filter matches more than {} records, and HubSpot search cannot page past that; \
         scanning further needs one more condition in every group, which would exceed \
         HubSpot's limits ({} groups of {} conditions, {} in all): simplify the filter",
        figures::SEARCH_RESULT_CAP,
        figures::SEARCH_MAX_GROUPS,
        figures::SEARCH_MAX_FILTERS_PER_GROUP,
        figures::SEARCH_MAX_FILTERS
    ))
}

/// The search body for one page: ids only, since search's values may be seconds old.
fn search_body(groups: &[Vec<Value>], offset: usize) -> Value {
    let filter_groups: Vec<Value> = groups.iter().map(|g| json!({ "filters": g })).collect();
    let mut body = json!({
        "filterGroups": filter_groups,
        "sorts": [{ "propertyName": "hs_object_id", "direction": "ASCENDING" }],
        "properties": ["hs_object_id"],
        "limit": figures::SEARCH_PAGE_MAX,
    });
    if offset > 0
        && let Some(o) = body.as_object_mut()
    {
        o.insert("after".into(), json!(offset.to_string()));
    }
    body
}

/// The cursor after a search page: the next offset, or a restart past `last_id` when the
/// next page would cross the cap.
fn next_search_cursor(
    groups: &[Vec<Value>],
    bound: Option<u64>,
    next_offset: Option<usize>,
    last_id: Option<u64>,
) -> CrmResult<Option<Cursor>> {
    let Some(next) = next_offset else {
        return Ok(None);
    };
    if next.saturating_add(figures::SEARCH_PAGE_MAX) <= figures::SEARCH_RESULT_CAP {
        return Ok(Some(Cursor::Search {
            bound,
            offset: next,
        }));
    }
    let last = last_id.ok_or_else(|| {
        CrmError::Protocol("HubSpot's search page is empty but says more follow".into())
    })?;
    if bound.is_some_and(|b| last <= b) {
        return Err(CrmError::Protocol(format!(
            "HubSpot's search is not advancing past record {last}"
        )));
    }
    bounded(groups, Some(last))?;
    Ok(Some(Cursor::Search {
        bound: Some(last),
        offset: 0,
    }))
}

impl HubSpot {
    pub(super) async fn scan(
        &self,
        request: &ScanRequest,
        cursor: Option<&str>,
    ) -> CrmResult<ScanPage> {
        let object = object_path(&request.object)?;
        let cursor = cursor.map(Cursor::parse).transpose()?;
        match effective(request.filter.as_ref()) {
            None => {
                let after = match cursor {
                    None => None,
                    Some(Cursor::List { after }) => Some(after),
                    Some(Cursor::Search { .. }) => {
                        return Err(CrmError::Rejected(
                            "a search cursor cannot continue an unfiltered scan".into(),
                        ));
                    }
                };
                self.list_page(object, &request.properties, after).await
            }
            Some(filter) => {
                let (bound, offset) = match cursor {
                    None => (None, 0),
                    Some(Cursor::Search { bound, offset }) => (bound, offset),
                    Some(Cursor::List { .. }) => {
                        return Err(CrmError::Rejected(
                            "a list cursor cannot continue a filtered scan".into(),
                        ));
                    }
                };
                self.search_page(object, filter, &request.properties, bound, offset)
                    .await
            }
        }
    }

    async fn list_page(
        &self,
        object: &str,
        properties: &[String],
        after: Option<String>,
    ) -> CrmResult<ScanPage> {
        let mut call = Call::get(format!("/crm/v3/objects/{object}"))
            .query("limit", figures::LIST_PAGE_MAX.to_string());
        if !properties.is_empty() {
            call = call.query("properties", properties.join(","));
        }
        if let Some(a) = &after {
            call = call.query("after", a.clone());
        }
        let reply = self.expect_ok(&call, &format!("list {object}")).await?;
        let page: wire::Page<wire::WireRecord> = reply.json()?;
        let next = page.after().map(str::to_string);
        if next.is_some() && next == after {
            return Err(CrmError::Protocol(format!(
                "HubSpot's {object} list returned the same page cursor twice"
            )));
        }
        let records = page
            .results
            .into_iter()
            .map(wire::WireRecord::into_record)
            .collect::<CrmResult<Vec<_>>>()?;
        Ok(ScanPage {
            records,
            cursor: next.map(|after| Cursor::List { after }.encode()),
        })
    }

    async fn search_page(
        &self,
        object: &str,
        filter: &Filter,
        properties: &[String],
        bound: Option<u64>,
        offset: usize,
    ) -> CrmResult<ScanPage> {
        let groups = filter_groups(filter)?;
        let body = search_body(&bounded(&groups, bound)?, offset);
        let call = Call::post(format!("/crm/v3/objects/{object}/search"), &body).lane(Lane::Search);
        let reply = self.expect_ok(&call, &format!("search {object}")).await?;
        let page: wire::Page<wire::WireRecord> = reply.json()?;
        // Fail before the caller works through 10,000 records of a scan that cannot finish.
        if bound.is_none()
            && offset == 0
            && page
                .total
                .is_some_and(|t| t > figures::SEARCH_RESULT_CAP as u64)
        {
            bounded(&groups, Some(0))?;
        }
        let next_offset = page
            .after()
            .map(|a| {
                a.parse::<usize>().map_err(|_| {
                    CrmError::Protocol(format!("HubSpot's search cursor '{a}' is not an offset"))
                })
            })
            .transpose()?;
        let last_id = page
            .results
            .last()
            .map(|r| {
                r.id.parse::<u64>().map_err(|_| {
                    CrmError::Protocol(format!("HubSpot record id '{}' is not a number", r.id))
                })
            })
            .transpose()?;
        let cursor = next_search_cursor(&groups, bound, next_offset, last_id)?;
        // Records archived since they were indexed are left out; merged ones come back as
        // the record that absorbed them.
        let ids: Vec<String> = page.results.into_iter().map(|r| r.id).collect();
        let records = if ids.is_empty() {
            Vec::new()
        } else {
            self.read_many(object, &ids, properties).await?
        };
        Ok(ScanPage {
            records,
            cursor: cursor.map(|c| c.encode()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(p: &str, op: Op, v: &[&str]) -> Clause {
        Clause::new(p, op, v)
    }

    #[test]
    fn cursors_round_trip() {
        for c in [
            Cursor::List {
                after: "1234".into(),
            },
            Cursor::List {
                after: "a:b".into(),
            },
            Cursor::Search {
                bound: None,
                offset: 0,
            },
            Cursor::Search {
                bound: Some(99),
                offset: 400,
            },
        ] {
            assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
        }
        for bad in ["", "l:", "x:1", "s:", "s:1", "s:a:1", "s:1:-2"] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_translate_to_groups() {
        let f = Filter {
            any_of: vec![
                vec![
                    clause("lifecyclestage", Op::In, &["lead", "subscriber"]),
                    clause("email", Op::HasProperty, &[]),
                ],
                vec![clause("createdate", Op::Gte, &["2024-01-01"])],
            ],
        };
        let g = filter_groups(&f).unwrap();
        assert_eq!(
            g[0][0],
            json!({"propertyName":"lifecyclestage","operator":"IN","values":["lead","subscriber"]})
        );
        assert_eq!(
            g[0][1],
            json!({"propertyName":"email","operator":"HAS_PROPERTY"})
        );
        assert_eq!(
            g[1][0],
            json!({"propertyName":"createdate","operator":"GTE","value":"2024-01-01"})
        );
        let b = bounded(&g, Some(77)).unwrap();
        assert!(b.iter().all(|grp| grp.last()
            == Some(&json!({"propertyName":"hs_object_id","operator":"GT","value":"77"}))));
        assert!(filter_groups(&Filter::all(vec![clause("a", Op::Eq, &[])])).is_err());
        assert!(filter_groups(&Filter::all(vec![clause("a", Op::In, &[])])).is_err());
        assert!(filter_groups(&Filter::all(vec![clause("a", Op::HasProperty, &["x"])])).is_err());
    }

    #[test]
    fn limits_are_checked_before_sending() {
        let group = |n: usize| {
            (0..n)
                .map(|i| clause(&format!("p{i}"), Op::Eq, &["x"]))
                .collect::<Vec<_>>()
        };
        assert!(
            filter_groups(&Filter {
                any_of: vec![group(1); 6]
            })
            .is_err()
        );
        assert!(
            filter_groups(&Filter {
                any_of: vec![group(7)]
            })
            .is_err()
        );
        assert!(
            filter_groups(&Filter {
                any_of: vec![group(4); 5]
            })
            .is_err()
        );
        // Room for the restart filter in one group of 5, none in a group of 6.
        let five = filter_groups(&Filter {
            any_of: vec![group(5)],
        })
        .unwrap();
        assert!(bounded(&five, Some(1)).is_ok());
        let six = filter_groups(&Filter {
            any_of: vec![group(6)],
        })
        .unwrap();
        assert!(
            matches!(bounded(&six, Some(1)), Err(CrmError::Rejected(m)) if m.contains("too complex") || m.contains("simplify"))
        );
        // 3 groups of 6 fit (18) but cannot take 3 more.
        let full = filter_groups(&Filter {
            any_of: vec![group(6); 3],
        })
        .unwrap();
        assert!(bounded(&full, Some(1)).is_err());
    }

    #[test]
    fn match_all_filters_use_the_list_endpoint() {
        assert!(effective(Some(&Filter::default())).is_none());
        assert!(
            effective(Some(&Filter {
                any_of: vec![vec![], vec![clause("a", Op::HasProperty, &[])]]
            }))
            .is_none()
        );
        assert!(effective(Some(&Filter::all(vec![clause("a", Op::HasProperty, &[])]))).is_some());
    }

    #[test]
    fn the_cap_restarts_past_the_last_id() {
        let g = vec![vec![json!({"propertyName":"a","operator":"HAS_PROPERTY"})]];
        assert_eq!(
            next_search_cursor(&g, None, Some(9800), Some(5)).unwrap(),
            Some(Cursor::Search {
                bound: None,
                offset: 9800
            })
        );
        assert_eq!(
            next_search_cursor(&g, None, Some(10_000), Some(12_345)).unwrap(),
            Some(Cursor::Search {
                bound: Some(12_345),
                offset: 0
            })
        );
        assert_eq!(
            next_search_cursor(&g, Some(3), None, Some(9)).unwrap(),
            None
        );
        assert!(next_search_cursor(&g, Some(50), Some(10_000), Some(40)).is_err());
        assert!(next_search_cursor(&g, None, Some(10_000), None).is_err());
    }

    #[test]
    fn search_bodies_sort_by_id() {
        let b = search_body(&[], 400);
        assert_eq!(b["sorts"][0]["propertyName"], "hs_object_id");
        assert_eq!(b["limit"], figures::SEARCH_PAGE_MAX);
        assert_eq!(b["after"], "400");
        assert_eq!(b["properties"], json!(["hs_object_id"]), "ids only");
        assert!(search_body(&[], 0).get("after").is_none());
    }
}
