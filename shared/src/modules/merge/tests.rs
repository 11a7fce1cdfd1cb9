//! Merge: config parsing and checking, every comparison, master rule and survivorship
//! rule through the engine, the audit rows of a plan, and property tests (groups are
//! disjoint, linked by matching pairs, found whatever the input order, and equal to the
//! connected components of an all-pairs comparison).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::crm::Record;
use crate::modules::Action;
use crate::modules::csv::AuditWriter;

fn config(v: Value) -> MergeConfig {
    serde_json::from_value(v).expect("a valid config shape")
}

fn engine(v: Value) -> MergeEngine {
    config(v).engine().expect("a valid config")
}

/// A config over contacts with these rule sets (each a list of comparisons).
fn rules(sets: Value) -> Value {
    let sets: Vec<Value> = sets
        .as_array()
        .expect("a list of rule sets")
        .iter()
        .map(|all| json!({"all": all}))
        .collect();
    json!({"object": "contacts", "rules": sets})
}

fn day(d: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(1_700_000_000 + d * 86_400, 0).single()
}

fn rec(id: &str, created: i64, props: &[(&str, &str)]) -> Record {
    Record {
        id: id.into(),
        properties: props
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect(),
        created_at: day(created),
        updated_at: day(created),
    }
}

/// The groups found, as sorted lists of ids.
fn groups(e: &MergeEngine, records: &[Record]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = e
        .plan_records(records)
        .groups
        .into_iter()
        .map(|g| {
            let mut ids = g.ids;
            ids.sort();
            ids
        })
        .collect();
    out.sort();
    out
}

/// Whether two records with these values of `f` are found as one group by `comparison`.
fn same(comparison: Value, a: &str, b: &str) -> bool {
    let mut c = comparison;
    c["field"] = json!("f");
    let e = engine(rules(json!([[c]])));
    !groups(&e, &[rec("1", 0, &[("f", a)]), rec("2", 1, &[("f", b)])]).is_empty()
}

fn errors(v: Value) -> Vec<String> {
    config(v)
        .check()
        .into_iter()
        .map(|e| format!("{}: {}", e.pointer, e.detail))
        .collect()
}

// ------------------------------------------------------------------------------------
// Config.

#[test]
fn a_full_config_parses_and_round_trips() {
    let v = json!({
        "object": "contacts",
        "rules": [
            {"name": "same email", "all": [
                {"fields": ["email", "work_email"], "compare": "normalized", "as": "email",
                 "ignore_dots": true, "ignore_plus": true}
            ]},
            {"all": [
                {"field": "phone", "compare": "normalized", "as": "phone",
                 "default_region": "US", "region_field": "country"},
                {"field": "lastname", "compare": "similar", "method": "levenshtein",
                 "threshold": 0.8},
                {"field": "firstname", "compare": "first_chars", "n": 1, "allow_empty": true}
            ]}
        ],
        "master": {"mode": "absolute", "rules": [
            {"rule": "priority", "field": "lifecyclestage", "values": ["customer", "lead"]},
            {"rule": "max", "field": "num_deals"},
            {"rule": "oldest_created"}
        ]},
        "survivorship": {
            "default": "newest",
            "fields": {"notes": {"rule": "concatenate", "separator": "\n"}, "tags": "union"}
        },
        "read_only": ["owner"],
        "max_group_size": 5
    });
    let c = config(v.clone());
    assert!(c.check().is_empty(), "{:?}", c.check());
    assert_eq!(serde_json::to_value(&c).unwrap(), v);
    let e = c.engine().unwrap();
    assert_eq!(
        e.reads(),
        [
            "email",
            "work_email",
            "phone",
            "country",
            "lastname",
            "firstname",
            "lifecyclestage",
            "num_deals",
            "notes",
            "tags"
        ]
    );
    assert_eq!(e.columns(), e.reads(), "all are writable");
}

#[test]
fn defaults_are_oldest_then_most_complete_and_master_unless_empty() {
    let c = config(rules(json!([[{"field": "email", "compare": "exact"}]])));
    assert_eq!(
        c.master.rules,
        [MasterRule::OldestCreated, MasterRule::MostComplete]
    );
    assert_eq!(c.master.mode, MasterMode::ByPriority);
    assert_eq!(c.survivorship.default, FieldRule::MasterUnlessEmpty);
    assert_eq!(c.max_group_size, DEFAULT_MAX_GROUP_SIZE);
}

#[test]
fn shape_errors_name_the_key() {
    let bad = |v: Value| {
        serde_json::from_value::<MergeConfig>(v)
            .unwrap_err()
            .to_string()
    };
    assert!(
        bad(json!({"object": "c", "rules": [], "surprise": 1}))
            .contains("unknown field `surprise`")
    );
    assert!(
        bad(json!({"object": "c", "rules": [{"all": [{"field": "a", "compare": "fuzzy"}]}]}))
            .contains("unknown variant `fuzzy`")
    );
    assert!(
        bad(json!({"object": "c", "rules": [{"all": [{"field": "a", "compare": "normalized", "as": "zip"}]}]}))
            .contains("unknown variant `zip`")
    );
    assert!(
        bad(json!({"object": "c", "rules": [], "master": {"rules": [{"rule": "random"}]}}))
            .contains("unknown variant `random`")
    );
    assert!(
        bad(json!({"object": "c", "rules": [], "master": {"rules": [{"rule": "max"}]}}))
            .contains("missing field `field`")
    );
    assert!(
        bad(json!({"object": "c", "rules": [], "survivorship": {"default": "latest"}}))
            .contains("unknown field rule `latest`")
    );
    assert!(
        bad(json!({"object": "c", "rules": [], "survivorship": {"fields": {"a": {"rule": "max", "separator": ","}}}}))
            .contains("unknown field `separator` for the `max` rule")
    );
}

#[test]
fn semantic_errors_point_into_the_config() {
    let e = errors(json!({
        "object": " ",
        "rules": [
            {"all": []},
            {"all": [
                {"field": "a", "compare": "similar"},
                {"field": "a", "compare": "similar", "threshold": 1.5},
                {"field": "a", "compare": "normalized", "threshold": 0.5, "method": "levenshtein"},
                {"field": "a", "compare": "first_words"},
                {"field": "a", "compare": "exact", "as": "email"},
                {"field": "a", "fields": ["b"], "compare": "exact"},
                {"compare": "exact"},
                {"field": "a", "compare": "normalized", "ignore_dots": true},
                {"field": "a", "compare": "normalized", "as": "phone", "default_region": "XX"},
                {"field": "a", "compare": "exact", "n": 2},
                {"fields": ["a", " b"], "compare": "exact"}
            ]}
        ],
        "master": {"rules": [{"rule": "priority", "field": "stage", "values": []}]},
        "survivorship": {"fields": {"hs_object_id": "newest", "owner": "max"}},
        "read_only": ["owner"],
        "max_group_size": 1,
        "cross_object": {"lead_object": " ", "converted_status": ""}
    }));
    let expected = [
        "/config/object: must not be empty",
        "/config/rules/0/all: needs at least one comparison",
        "/config/rules/1/all/0/threshold: `similar` needs a threshold between 0 and 1 (0.9 is a good start)",
        "/config/rules/1/all/1/threshold: 1.5 is not between 0 and 1",
        "/config/rules/1/all/2/threshold: only `similar` takes `threshold`",
        "/config/rules/1/all/2/method: only `similar` takes `method`",
        "/config/rules/1/all/3/n: `first_words` needs `n`, a count of at least 1",
        "/config/rules/1/all/4/as: `exact` compares values as stored; use `normalized` to normalize them",
        "/config/rules/1/all/5/fields: give `field` or `fields`, not both",
        "/config/rules/1/all/6: needs `field` (one field) or `fields` (several compared as one)",
        "/config/rules/1/all/7/ignore_dots: only `as: email` takes `ignore_dots`",
        "/config/rules/1/all/8/default_region: \"XX\" is not a region known to libphonenumber (an ISO 3166 alpha-2 code such as US or GB)",
        "/config/rules/1/all/9/n: only `first_words` or `first_chars` takes `n`",
        "/config/rules/1/all/10/fields/1: the field name \" b\" has spaces around it",
        "/config/master/rules/0/values: needs the values in order of preference",
        "/config/survivorship/fields/hs_object_id: `hs_object_id` is read-only: it is never written, so it has no rule",
        "/config/survivorship/fields/owner: `owner` is read-only: it is never written, so it has no rule",
        "/config/max_group_size: must be at least 2",
        "/config/cross_object/lead_object: must not be empty",
        "/config/cross_object/converted_status: must not be empty",
    ];
    assert_eq!(e, expected);
    assert_eq!(
        errors(json!({"object": "c", "rules": [], "master": {"rules": []}})),
        [
            "/config/rules: needs at least one rule set: {\"all\": [comparisons]}",
            "/config/master/rules: needs at least one rule, such as {\"rule\": \"oldest_created\"}"
        ]
    );
    assert_eq!(
        errors(
            json!({"object": "Contact", "rules": [{"all": [{"field": "Email", "compare": "exact"}]}],
            "cross_object": {"lead_object": "Contact"}})
        ),
        ["/config/cross_object/lead_object: must differ from `object` (the Contact object)"]
    );
}

// ------------------------------------------------------------------------------------
// Comparisons.

#[test]
fn exact_compares_values_as_stored() {
    let c = json!({"compare": "exact"});
    assert!(same(c.clone(), "a@x.co", "a@x.co"));
    assert!(!same(c.clone(), "a@x.co", "A@x.co"));
    assert!(!same(c, "", ""), "empty matches nothing by default");
    assert!(same(
        json!({"compare": "exact", "allow_empty": true}),
        "",
        ""
    ));
}

#[test]
fn normalized_text_and_compact() {
    let text = json!({"compare": "normalized"});
    assert!(same(text.clone(), "  Zoë O'Brien ", "ZOE OBRIEN"));
    assert!(!same(text, "Mc Donald", "McDonald"));
    assert!(same(
        json!({"compare": "normalized", "as": "compact"}),
        "Mc Donald",
        "McDonald"
    ));
    assert!(same(
        json!({"compare": "normalized", "as": "name"}),
        "Dr. John A. Smith",
        "john smith"
    ));
}

#[test]
fn normalized_companies_emails_phones_domains_countries() {
    assert!(same(
        json!({"compare": "normalized", "as": "company"}),
        "ACME, Inc.",
        "The Acme Company"
    ));
    assert!(!same(
        json!({"compare": "normalized", "as": "company"}),
        "Acme Labs",
        "Acme"
    ));
    let email = json!({"compare": "normalized", "as": "email"});
    assert!(same(email.clone(), "Bob@Acme.com", " bob@acme.com"));
    assert!(!same(email, "b.ob@gmail.com", "bob@gmail.com"));
    let folded =
        json!({"compare": "normalized", "as": "email", "ignore_dots": true, "ignore_plus": true});
    assert!(same(
        folded.clone(),
        "b.ob+x@googlemail.com",
        "bob@gmail.com"
    ));
    assert!(!same(folded, "b.ob@acme.com", "bob@acme.com"));
    let phone = json!({"compare": "normalized", "as": "phone", "default_region": "US"});
    assert!(same(phone.clone(), "(650) 253-0000", "+1 650.253.0000"));
    assert!(!same(phone, "(650) 253-0000", "(650) 253-0001"));
    let domain = json!({"compare": "normalized", "as": "domain"});
    assert!(same(
        domain.clone(),
        "https://www.acme.com/about",
        "jo@ACME.com"
    ));
    assert!(!same(domain, "acme.com", "acme.co.uk"));
    let country = json!({"compare": "normalized", "as": "country"});
    assert!(same(country.clone(), "United Kingdom", "GB"));
    assert!(!same(country, "Austria", "Australia"));
}

#[test]
fn phones_read_with_each_records_country() {
    let e = engine(rules(
        json!([[{"field": "phone", "compare": "normalized", "as": "phone",
        "default_region": "US", "region_field": "country"}]]),
    ));
    let found = groups(
        &e,
        &[
            rec("1", 0, &[("phone", "020 7946 0958"), ("country", "UK")]),
            rec("2", 1, &[("phone", "+44 20 7946 0958"), ("country", "")]),
            rec("3", 2, &[("phone", "(020) 7946 0958"), ("country", "USA")]),
        ],
    );
    assert_eq!(found, [["1", "2"]]);
}

#[test]
fn similar_by_jaro_winkler_and_levenshtein() {
    let jw = |t: f64| json!({"compare": "similar", "threshold": t});
    assert!(same(jw(0.9), "Jonathan", "Jonathon"));
    assert!(same(jw(0.9), "MARTHA", "marhta"), "on normalized values");
    assert!(!same(jw(0.9), "Jonathan", "Joan"));
    let lev = |t: f64| json!({"compare": "similar", "method": "levenshtein", "threshold": t});
    assert!(same(lev(0.75), "Jon", "John"));
    assert!(!same(lev(0.8), "Jon", "John"));
    assert!(same(
        json!({"compare": "similar", "as": "company", "threshold": 0.9}),
        "Blue Harbour Ltd",
        "Blue Harbor Inc."
    ));
}

#[test]
fn first_words_and_first_chars() {
    let words = json!({"compare": "first_words", "n": 1});
    assert!(same(words.clone(), "John A.", "john"));
    assert!(!same(words, "Mary Ann", "Ann Mary"));
    let chars = json!({"compare": "first_chars", "n": 3});
    assert!(same(chars.clone(), "Smith", "SMITHE"));
    assert!(!same(chars, "Smith", "Snith"));
}

#[test]
fn related_fields_are_compared_as_one() {
    let e = engine(rules(
        json!([[{"fields": ["email", "work_email"], "compare": "normalized", "as": "email"}]]),
    ));
    let found = groups(
        &e,
        &[
            rec("1", 0, &[("email", "jo@home.net")]),
            rec(
                "2",
                1,
                &[("work_email", "JO@home.net"), ("email", "jo@acme.com")],
            ),
            rec("3", 2, &[("work_email", "jo@acme.com")]),
            rec("4", 3, &[("work_email", "someone@else.com")]),
        ],
    );
    assert_eq!(found, [["1", "2", "3"]]);
}

#[test]
fn rule_sets_are_or_and_comparisons_are_and() {
    let e = engine(rules(json!([
        [{"field": "email", "compare": "normalized", "as": "email"}],
        [{"field": "lastname", "compare": "normalized"}, {"field": "firstname", "compare": "similar", "threshold": 0.85}]
    ])));
    let found = groups(
        &e,
        &[
            rec(
                "1",
                0,
                &[
                    ("email", "a@x.co"),
                    ("firstname", "Jon"),
                    ("lastname", "Smith"),
                ],
            ),
            rec(
                "2",
                1,
                &[
                    ("email", "A@X.CO"),
                    ("firstname", "Zed"),
                    ("lastname", "Other"),
                ],
            ),
            rec("3", 2, &[("firstname", "John"), ("lastname", "SMITH")]),
            rec("4", 3, &[("firstname", "Peter"), ("lastname", "Smith")]),
        ],
    );
    assert_eq!(found, [["1", "2", "3"]]);
}

#[test]
fn large_blocks_are_split_without_losing_pairs() {
    // 1,200 people in one city: the city block is far above MAX_BLOCK, so the engine
    // splits it by the names' first and last letters. Half the names also share those
    // (`ab…yz`), a part too large again, compared by sorted neighbourhood.
    let e = engine(rules(json!([[
        {"field": "city", "compare": "normalized"},
        {"field": "lastname", "compare": "similar", "threshold": 0.9}
    ]])));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut letter = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char::from(b'a' + (x % 26) as u8)
    };
    let mut records = Vec::new();
    for i in 0..600 {
        let middle: String = (0..6).map(|_| letter()).collect();
        let name = if i % 2 == 0 {
            format!("ab{middle}yz")
        } else {
            format!("{}{middle}{}", letter(), letter())
        };
        // Its duplicate has two letters in the middle swapped.
        let mut typo: Vec<char> = name.chars().collect();
        typo.swap(4, 5);
        let typo: String = typo.into_iter().collect();
        records.push(rec(
            &format!("a{i}"),
            0,
            &[("city", "Springfield"), ("lastname", &name)],
        ));
        records.push(rec(
            &format!("b{i}"),
            1,
            &[("city", "springfield"), ("lastname", &typo)],
        ));
    }
    let plan = e.plan_records(&records);
    let together = |a: &str, b: &str| {
        plan.groups
            .iter()
            .any(|g| g.ids.iter().any(|i| i == a) && g.ids.iter().any(|i| i == b))
    };
    let found = (0..600)
        .filter(|i| together(&format!("a{i}"), &format!("b{i}")))
        .count();
    assert_eq!(found, 600, "every typo pair is found: {:?}", plan.stats);
    assert!(
        plan.stats.compared_pairs < 1200 * 1199 / 2 / 20,
        "far fewer comparisons than all pairs: {:?}",
        plan.stats
    );
}

// ------------------------------------------------------------------------------------
// Master rules.

fn master_of(master: Value, records: &[Record]) -> Result<String, String> {
    let mut v = rules(json!([[{"field": "email", "compare": "normalized", "as": "email"}]]));
    v["master"] = master;
    // Read (so that most_complete counts them) and written like any field.
    v["survivorship"] = json!({"fields": {"phone": "newest", "stage": "newest", "deals": "max"}});
    let plan = engine(v).plan_records(records);
    assert_eq!(plan.groups.len(), 1, "{:?}", plan.groups);
    let g = &plan.groups[0];
    match (&g.master, &g.skipped) {
        (Some(m), None) => Ok(m.clone()),
        (None, Some(reason)) => Err(reason.clone()),
        other => panic!("{other:?}"),
    }
}

fn people() -> Vec<Record> {
    vec![
        rec(
            "1",
            5,
            &[("email", "a@x.co"), ("stage", "lead"), ("deals", "3")],
        ),
        rec(
            "2",
            1,
            &[
                ("email", "a@x.co"),
                ("stage", "customer"),
                ("deals", "10"),
                ("phone", "1"),
            ],
        ),
        rec(
            "3",
            9,
            &[("email", "A@x.co"), ("stage", "customer"), ("deals", "9")],
        ),
    ]
}

#[test]
fn each_master_rule() {
    let one = |rule: Value| master_of(json!({"rules": [rule]}), &people());
    assert_eq!(one(json!({"rule": "oldest_created"})), Ok("2".into()));
    assert_eq!(one(json!({"rule": "newest_created"})), Ok("3".into()));
    let mut modified = people();
    modified[0].updated_at = day(20);
    assert_eq!(
        master_of(json!({"rules": [{"rule": "last_modified"}]}), &modified),
        Ok("1".into())
    );
    assert_eq!(one(json!({"rule": "most_complete"})), Ok("2".into()));
    assert_eq!(
        one(json!({"rule": "max", "field": "deals"})),
        Ok("2".into()),
        "as numbers: 10 > 9"
    );
    assert_eq!(
        one(json!({"rule": "min", "field": "deals"})),
        Ok("1".into())
    );
    assert_eq!(
        one(json!({"rule": "priority", "field": "stage", "values": ["Lead"]})),
        Ok("1".into())
    );
}

#[test]
fn by_priority_breaks_ties_in_order_and_reports_what_it_cannot() {
    let r = master_of(
        json!({"rules": [
            {"rule": "priority", "field": "stage", "values": ["customer", "lead"]},
            {"rule": "newest_created"}
        ]}),
        &people(),
    );
    assert_eq!(r, Ok("3".into()), "customers 2 and 3 tie; 3 is newer");
    let r = master_of(
        json!({"rules": [{"rule": "priority", "field": "stage", "values": ["customer"]}]}),
        &people(),
    );
    assert_eq!(r, Err("the master rules cannot choose between 2, 3".into()));
    let mut undated = people();
    for r in &mut undated {
        r.created_at = None;
    }
    assert_eq!(
        master_of(json!({"rules": [{"rule": "oldest_created"}]}), &undated),
        Err("the master rules cannot choose between 1, 2, 3".into()),
        "no dates: never a guess"
    );
}

#[test]
fn absolute_needs_every_rule_to_agree() {
    let r = master_of(
        json!({"mode": "absolute", "rules": [
            {"rule": "oldest_created"},
            {"rule": "max", "field": "deals"}
        ]}),
        &people(),
    );
    assert_eq!(r, Ok("2".into()));
    let r = master_of(
        json!({"mode": "absolute", "rules": [
            {"rule": "oldest_created"},
            {"rule": "newest_created"}
        ]}),
        &people(),
    );
    assert_eq!(
        r,
        Err("the master rules disagree: oldest_created picks 2; newest_created picks 3".into())
    );
    // A rule that cannot tell the records apart agrees with anything.
    let r = master_of(
        json!({"mode": "absolute", "rules": [
            {"rule": "max", "field": "missing"},
            {"rule": "newest_created"}
        ]}),
        &people(),
    );
    assert_eq!(r, Ok("3".into()));
}

#[test]
fn an_undecided_group_is_flagged_never_merged() {
    let mut v = rules(json!([[{"field": "email", "compare": "exact"}]]));
    v["master"] =
        json!({"rules": [{"rule": "priority", "field": "stage", "values": ["customer"]}]});
    let records = [
        rec("7", 0, &[("email", "a@x.co"), ("stage", "customer")]),
        rec("8", 1, &[("email", "a@x.co"), ("stage", "customer")]),
    ];
    let plan = engine(v).plan_records(&records);
    assert_eq!(plan.stats.skipped_groups, 1);
    assert_eq!(plan.plan.changes.len(), 2);
    for (c, id) in plan.plan.changes.iter().zip(["7", "8"]) {
        assert_eq!(c.action, Action::Flag);
        assert_eq!(c.id.as_deref(), Some(id));
        assert_eq!(
            c.note.as_deref(),
            Some(
                "group g1 (2 records: 7, 8) not merged: the master rules cannot choose between 7, 8"
            )
        );
    }
}

// ------------------------------------------------------------------------------------
// Survivorship.

/// The master's values after survivorship with `rule` for field `f`, over records whose
/// `f` values are given (record 1 oldest and master; a value "" is empty).
fn survives(rule: Value, values: &[&str]) -> Option<String> {
    let mut v = rules(json!([[{"field": "key", "compare": "exact"}]]));
    v["survivorship"] = json!({"fields": {"f": rule}});
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut props = vec![("key", "k")];
            if !f.is_empty() {
                props.push(("f", f));
            }
            rec(&(i + 1).to_string(), i as i64, &props)
        })
        .collect();
    let plan = engine(v).plan_records(&records);
    let merge = plan.plan.changes.last().expect("a merge");
    assert_eq!(merge.id.as_deref(), Some("1"), "the oldest is master");
    match merge.fields.iter().find(|c| c.field == "f") {
        Some(c) => c.after.clone(),
        None => values
            .first()
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string()),
    }
}

#[test]
fn each_survivorship_rule() {
    let s = |rule: Value, values: &[&str]| survives(rule, values);
    assert_eq!(s(json!("keep_master"), &["", "b", "c"]), None);
    assert_eq!(
        s(json!("master_unless_empty"), &["a", "b", "c"]),
        Some("a".into())
    );
    assert_eq!(
        s(json!("master_unless_empty"), &["", "b", "c", ""]),
        Some("c".into()),
        "newest non-empty"
    );
    assert_eq!(s(json!("newest"), &["a", "b", ""]), Some("b".into()));
    assert_eq!(s(json!("oldest"), &["", "b", "c"]), Some("b".into()));
    assert_eq!(s(json!("most_common"), &["a", "b", "b"]), Some("b".into()));
    assert_eq!(
        s(json!("most_common"), &["a", "b", "c"]),
        Some("a".into()),
        "a tie keeps the master's"
    );
    assert_eq!(
        s(json!("concatenate"), &["Call back", "call back ", "VIP"]),
        Some("Call back; VIP".into())
    );
    assert_eq!(
        s(
            json!({"rule": "concatenate", "separator": " | "}),
            &["a", "", "b"]
        ),
        Some("a | b".into())
    );
    assert_eq!(
        s(json!("union"), &["red;blue", "blue; green", ""]),
        Some("red;blue;green".into())
    );
    assert_eq!(s(json!("max"), &["9", "10", "2"]), Some("10".into()));
    assert_eq!(s(json!("min"), &["9", "10", ""]), Some("9".into()));
    assert_eq!(
        s(json!("max"), &["2024-01-31", "2023-12-01", ""]),
        Some("2024-01-31".into())
    );
    assert_eq!(s(json!("max"), &["beta", "Alpha"]), Some("beta".into()));
}

#[test]
fn read_only_fields_are_never_written() {
    let mut v = rules(json!([[{"field": "email", "compare": "exact"}]]));
    v["read_only"] = json!(["owner"]);
    v["survivorship"] = json!({"default": "newest"});
    v["master"] =
        json!({"rules": [{"rule": "max", "field": "hs_object_id"}, {"rule": "oldest_created"}]});
    let e = engine(v);
    assert_eq!(e.reads(), ["email", "hs_object_id"]);
    assert_eq!(e.columns(), ["email"]);
    let plan = e.plan_records(&[
        rec(
            "1",
            0,
            &[("email", "a@x.co"), ("owner", "u1"), ("hs_object_id", "1")],
        ),
        rec(
            "2",
            1,
            &[("email", "a@x.co"), ("owner", "u2"), ("hs_object_id", "2")],
        ),
    ]);
    let merge = &plan.plan.changes[0];
    assert_eq!(merge.id.as_deref(), Some("2"));
    assert!(merge.fields.is_empty(), "{:?}", merge.fields);
}

// ------------------------------------------------------------------------------------
// Plans.

#[test]
fn a_merge_plan_and_its_audit_rows() {
    let mut v = rules(json!([[{"field": "email", "compare": "normalized", "as": "email"}]]));
    v["rules"][0]["name"] = json!("same email");
    v["survivorship"] = json!({"fields": {"tags": "union"}});
    let e = engine(v);
    let records = [
        rec(
            "12",
            3,
            &[("email", "JO@acme.com"), ("phone", "555"), ("tags", "b")],
        ),
        rec("10", 0, &[("email", "jo@acme.com"), ("tags", "a")]),
        rec("11", 1, &[("email", "jo@acme.com "), ("phone", "556")]),
        rec("13", 2, &[("email", "other@acme.com")]),
    ];
    let plan = e.plan_records(&records);
    assert_eq!(plan.stats.groups, 1);
    assert_eq!(plan.stats.merged_groups, 1);
    assert_eq!(
        plan.groups[0],
        Group {
            group_id: "g1".into(),
            ids: vec!["10".into(), "11".into(), "12".into()],
            master: Some("10".into()),
            leads: vec![],
            rules: vec!["same email".into()],
            skipped: None,
        }
    );
    assert_eq!(e.columns(), ["email", "tags"]);
    let mut w = AuditWriter::new(Vec::new(), &e.columns(), false).unwrap();
    for c in &plan.plan.changes {
        w.write_change(c, None).unwrap();
    }
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    assert_eq!(
        text,
        "record_id,action,group_id,role,note,email (before),email (after),tags (before),tags (after)\r\n\
         10,merge,g1,master,matched by same email,,,a,a;b\r\n\
         11,merge,g1,duplicate,,,,,\r\n\
         12,merge,g1,duplicate,,,,,\r\n"
    );
}

#[test]
fn oversized_groups_are_reported_not_merged() {
    let mut v = rules(json!([[{"field": "company", "compare": "normalized", "as": "company"}]]));
    v["max_group_size"] = json!(3);
    let records: Vec<Record> = (1..=4)
        .map(|i| rec(&i.to_string(), i, &[("company", "Acme Inc")]))
        .chain([
            rec("5", 0, &[("company", "Globex")]),
            rec("6", 1, &[("company", "GLOBEX LLC")]),
        ])
        .collect();
    let plan = engine(v).plan_records(&records);
    assert_eq!(plan.stats.groups, 2);
    assert_eq!(plan.stats.skipped_groups, 1);
    assert_eq!(
        plan.groups[0].skipped.as_deref(),
        Some(
            "4 records are more than max_group_size (3): check the rules that linked them, or raise the limit"
        )
    );
    assert_eq!(plan.groups[1].master.as_deref(), Some("5"));
    let actions: Vec<(&str, &Action)> = plan
        .plan
        .changes
        .iter()
        .map(|c| (c.id.as_deref().unwrap(), &c.action))
        .collect();
    assert_eq!(actions.len(), 5);
    assert!(actions[..4].iter().all(|(_, a)| **a == Action::Flag));
    assert_eq!(
        actions[4],
        (
            "5",
            &Action::Merge {
                group_id: "g2".into(),
                duplicate_ids: vec!["6".into()]
            }
        )
    );
}

#[test]
fn leads_are_converted_into_the_master_contact_then_contacts_merged() {
    let e = engine(json!({
        "object": "Contact",
        "rules": [{"all": [{"field": "Email", "compare": "normalized", "as": "email"}]}],
        "survivorship": {"fields": {"Title": "newest"}},
        "cross_object": {"lead_fields": {"Title": "Lead_Title__c"}}
    }));
    assert_eq!(e.reads(), ["Email", "Title", "AccountId"]);
    assert_eq!(e.lead_reads(), ["Email", "Lead_Title__c"]);
    assert_eq!(e.columns(), ["Email", "Title"]);
    let mut input = e.input();
    input.push_record(&rec(
        "003A",
        0,
        &[("Email", "jo@acme.com"), ("AccountId", "001X")],
    ));
    input.push_record(&rec(
        "003B",
        2,
        &[("Email", "JO@acme.com"), ("Title", "CTO")],
    ));
    e.add_lead(
        &mut input,
        &rec(
            "00QA",
            5,
            &[
                ("Email", "jo@acme.com"),
                ("Lead_Title__c", "Chief Technology Officer"),
            ],
        ),
    );
    // Leads alone are not merged here.
    e.add_lead(&mut input, &rec("00QB", 1, &[("Email", "x@y.co")]));
    e.add_lead(&mut input, &rec("00QC", 1, &[("Email", "x@y.co")]));
    let plan = e.plan(&input);
    assert_eq!(plan.groups.len(), 2);
    let g = &plan.groups[0];
    assert_eq!(g.ids, ["003A", "003B", "00QA"]);
    assert_eq!(g.leads, ["00QA"]);
    assert_eq!(
        plan.groups[1].skipped.as_deref(),
        Some("only Lead records matched; merge them with a template on that object")
    );
    let c = &plan.plan.changes;
    assert_eq!(
        c[0].action,
        Action::ConvertLead {
            group_id: "g1".into(),
            contact_id: "003A".into(),
            account_id: Some("001X".into()),
            converted_status: "Closed - Converted".into()
        }
    );
    assert_eq!(c[0].id.as_deref(), Some("00QA"));
    assert_eq!(
        c[1].action,
        Action::Merge {
            group_id: "g1".into(),
            duplicate_ids: vec!["003B".into()]
        }
    );
    assert_eq!(
        c[1].fields,
        [field_change(
            "Title",
            None,
            Some("Chief Technology Officer")
        )]
    );
    let mut w = AuditWriter::new(Vec::new(), &e.columns(), false).unwrap();
    for ch in &c[..2] {
        w.write_change(ch, None).unwrap();
    }
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    // As docs/modules/merge.md shows it.
    assert_eq!(
        text,
        "record_id,action,group_id,role,note,Email (before),Email (after),Title (before),Title (after)\r\n\
         00QA,convert_lead,g1,duplicate,convert into Contact 003A,,,,\r\n\
         003A,merge,g1,master,matched by rule 1,,,,Chief Technology Officer\r\n\
         003B,merge,g1,duplicate,,,,,\r\n"
    );
    let rows = crate::modules::csv::read_audit(text.as_bytes())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(rows[0].action, crate::modules::csv::RowAction::ConvertLead);
    assert_eq!(rows[0].role, Some(crate::modules::csv::Role::Duplicate));
    assert_eq!(rows[0].group_id.as_deref(), Some("g1"));
    assert_eq!(rows[1].role, Some(crate::modules::csv::Role::Master));
}

#[test]
fn leads_convert_only_into_a_master_contact_that_has_an_account() {
    let e = engine(json!({
        "object": "Contact",
        "rules": [{"name": "same email", "all": [{"field": "Email", "compare": "normalized", "as": "email"}]}],
        "master": {"rules": [{"rule": "oldest_created"}]},
        "cross_object": {}
    }));
    let mut input = e.input();
    // Group 1: the oldest Contact has no Account; the master is the one that has.
    input.push_record(&rec("003OLD", 0, &[("Email", "jo@acme.com")]));
    input.push_record(&rec(
        "003ACC",
        3,
        &[("Email", "jo@acme.com"), ("AccountId", "001X")],
    ));
    e.add_lead(&mut input, &rec("00QJ", 5, &[("Email", "jo@acme.com")]));
    // Group 2: no Contact has an Account: reported in the plan, nothing converted.
    input.push_record(&rec("003NOA", 0, &[("Email", "al@beta.com")]));
    input.push_record(&rec(
        "003NOB",
        1,
        &[("Email", "al@beta.com"), ("AccountId", " ")],
    ));
    e.add_lead(&mut input, &rec("00QA", 2, &[("Email", "al@beta.com")]));
    // Group 3: Contacts only: the master rules alone decide, Account or not.
    input.push_record(&rec("003C1", 0, &[("Email", "cy@gamma.com")]));
    input.push_record(&rec(
        "003C2",
        1,
        &[("Email", "cy@gamma.com"), ("AccountId", "001Y")],
    ));
    let plan = e.plan(&input);
    let by_first = |id: &str| {
        plan.groups
            .iter()
            .find(|g| g.ids.iter().any(|i| i == id))
            .unwrap()
    };

    let one = by_first("00QJ");
    assert_eq!(one.master.as_deref(), Some("003ACC"), "{one:?}");
    let convert = plan
        .plan
        .changes
        .iter()
        .find(|c| c.id.as_deref() == Some("00QJ"))
        .unwrap();
    assert!(
        matches!(&convert.action, Action::ConvertLead { contact_id, account_id, .. }
            if contact_id == "003ACC" && account_id.as_deref() == Some("001X")),
        "{convert:?}"
    );
    let merge = plan
        .plan
        .changes
        .iter()
        .find(|c| c.id.as_deref() == Some("003ACC"))
        .unwrap();
    assert_eq!(
        merge.note.as_deref(),
        Some(
            "matched by same email; master chosen among the Contacts with an Account (Leads \
             convert only into one)"
        )
    );

    let two = by_first("00QA");
    assert_eq!(two.master, None);
    assert_eq!(
        two.skipped.as_deref(),
        Some(
            "Salesforce converts a Lead only into a Contact with an Account, and no Contact of \
             this group has one (AccountId is empty): set the Account on the Contact that \
             should remain, then run the template again"
        )
    );
    for id in ["003NOA", "003NOB", "00QA"] {
        let rows: Vec<_> = plan
            .plan
            .changes
            .iter()
            .filter(|c| c.id.as_deref() == Some(id))
            .collect();
        assert_eq!(rows.len(), 1, "{id}: {rows:?}");
        assert_eq!(
            rows[0].action,
            Action::Flag,
            "{id}: reported, not converted"
        );
    }

    assert_eq!(by_first("003C1").master.as_deref(), Some("003C1"));
}

/// The worked example of docs/modules/merge.md, row for row.
#[test]
fn the_documented_example_holds() {
    let e = engine(json!({
        "object": "contacts",
        "rules": [
            {"name": "same email", "all": [
                {"fields": ["email", "work_email"], "compare": "normalized", "as": "email",
                 "ignore_dots": true, "ignore_plus": true}
            ]},
            {"name": "same phone, similar last name", "all": [
                {"field": "phone", "compare": "normalized", "as": "phone",
                 "default_region": "US", "region_field": "country"},
                {"field": "lastname", "compare": "similar", "as": "name", "threshold": 0.85}
            ]},
            {"name": "same company, similar name", "all": [
                {"field": "company", "compare": "normalized", "as": "company"},
                {"field": "lastname", "compare": "similar", "as": "name", "threshold": 0.9},
                {"field": "firstname", "compare": "first_chars", "n": 1}
            ]}
        ],
        "master": {"mode": "by_priority", "rules": [
            {"rule": "priority", "field": "lifecyclestage", "values": ["customer", "opportunity", "lead"]},
            {"rule": "oldest_created"}
        ]},
        "survivorship": {
            "default": "master_unless_empty",
            "fields": {"hs_tags": "union", "jobtitle": "newest"}
        },
        "read_only": ["lifecyclestage"],
        "max_group_size": 10
    }));
    let table = [
        "101|Ann|Lee|ann.lee@gmail.com|||US|||lead|webinar|2023-01-10T09:00:00Z",
        "102|Ann|Lee||annlee+crm@gmail.com|(415) 555-0134|US|Acme Inc.|CTO|customer|vip;webinar|2024-03-02T12:00:00Z",
        "103|Bob|Martinez|||020 7946 0958|United Kingdom|||lead||2022-06-01T08:00:00Z",
        "104|Robert|Martínez|bob@globex.co.uk||+44 20 7946 0958||Globex Ltd|Head of Sales|lead||2023-09-15T10:30:00Z",
        "105|Carla|Gómez|cgomez@initech.com||||Initech LLC||opportunity||2021-11-20T00:00:00Z",
        "106|Carla|Gomez|carla@initech.com||||Initech, LLC|VP Finance|opportunity||2021-11-20T00:00:00Z",
        "107|Dan|Wu|dan@hooli.com||||||||2020-05-05T00:00:00Z",
    ];
    let columns = [
        "firstname",
        "lastname",
        "email",
        "work_email",
        "phone",
        "country",
        "company",
        "jobtitle",
        "lifecyclestage",
        "hs_tags",
    ];
    let records: Vec<Record> = table
        .iter()
        .map(|line| {
            let cells: Vec<&str> = line.split('|').collect();
            let created = DateTime::parse_from_rfc3339(cells[11]).unwrap().to_utc();
            Record {
                id: cells[0].into(),
                properties: columns
                    .iter()
                    .zip(&cells[1..11])
                    .map(|(c, v)| (c.to_string(), Some(v.to_string()).filter(|v| !v.is_empty())))
                    .collect(),
                created_at: Some(created),
                updated_at: None,
            }
        })
        .collect();
    let plan = e.plan_records(&records);
    let mut w = AuditWriter::new(Vec::new(), &e.columns(), false).unwrap();
    for c in &plan.plan.changes {
        w.write_change(c, None).unwrap();
    }
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    let doc = include_str!("../../../../docs/modules/merge.md");
    let start = doc
        .find("```csv\nrecord_id,action,group_id,role,note,email")
        .unwrap()
        + 7;
    let expected = &doc[start..start + doc[start..].find("```").unwrap()];
    assert_eq!(text.replace("\r\n", "\n"), expected);
}

fn field_change(f: &str, before: Option<&str>, after: Option<&str>) -> crate::modules::FieldChange {
    crate::modules::FieldChange {
        field: f.into(),
        before: before.map(str::to_string),
        after: after.map(str::to_string),
    }
}

#[test]
fn an_input_laid_out_differently_is_realigned() {
    let e = engine(rules(json!([[{"field": "email", "compare": "exact"}]])));
    let mut input = MergeInput::new(vec!["phone".into(), "email".into()]);
    for id in ["1", "2"] {
        input.push(id, day(0), None, |f| (f == "email").then_some("a@x.co"));
    }
    assert_eq!(e.plan(&input).groups.len(), 1);
}

// ------------------------------------------------------------------------------------
// Properties.

/// Small records over few values, so that matches, chains and ties are common.
fn records() -> impl Strategy<Value = Vec<Record>> {
    let value = |choices: &'static [&'static str]| prop::sample::select(choices.to_vec());
    prop::collection::vec(
        (
            value(&["", "a@x.co", "A@x.co ", "b@x.co", "c@y.co", "b@X.co"]),
            value(&["", "Smith", "Smyth", "smith", "Jones", "Jonas", "Brown"]),
            value(&["", "Ann", "Anne", "Bob", "Rob", "Robert"]),
            value(&["", "Boston", "boston ", "Austin"]),
            0i64..4,
        ),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (email, last, first, city, created))| {
                rec(
                    &format!("{}", i + 1),
                    created,
                    &[
                        ("email", email),
                        ("last", last),
                        ("first", first),
                        ("city", city),
                    ],
                )
            })
            .collect()
    })
}

fn property_engine() -> MergeEngine {
    engine(json!({
        "object": "contacts",
        "rules": [
            {"all": [{"field": "email", "compare": "normalized", "as": "email"}]},
            {"all": [
                {"field": "city", "compare": "normalized"},
                {"field": "last", "compare": "similar", "threshold": 0.85},
                {"field": "first", "compare": "first_chars", "n": 1, "allow_empty": true}
            ]},
            {"all": [
                {"field": "last", "compare": "exact"},
                {"field": "first", "compare": "similar", "method": "levenshtein", "threshold": 0.6}
            ]}
        ],
        "max_group_size": 6
    }))
}

/// Connected components of the all-pairs match graph, as sorted id lists.
fn brute_force(e: &MergeEngine, records: &[Record]) -> Vec<Vec<String>> {
    let mut input = e.input();
    for r in records {
        input.push_record(r);
    }
    let rows = input.len();
    let derived = matching::derive(&input, e_parts(e).0, 1);
    let mut uf = matching::UnionFind::new(rows);
    for a in 0..rows {
        for b in a + 1..rows {
            if e_parts(e).1.iter().any(|r| r.matches(&derived, a, b)) {
                uf.union(a as u32, b as u32);
            }
        }
    }
    let roots = uf.roots();
    let mut by_root: HashMap<u32, Vec<String>> = HashMap::new();
    for (row, root) in roots.iter().enumerate() {
        by_root
            .entry(*root)
            .or_default()
            .push(input.id(row).to_string());
    }
    let mut out: Vec<Vec<String>> = by_root
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    out.sort();
    out
}

fn e_parts(e: &MergeEngine) -> (&[Derivation], &[Rule]) {
    e.internals()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn groups_are_disjoint_and_linked_by_matching_pairs(records in records()) {
        let e = property_engine();
        let plan = e.plan_records(&records);
        let mut seen = BTreeSet::new();
        let by_id: HashMap<&str, usize> = records.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        let mut input = e.input();
        for r in &records {
            input.push_record(r);
        }
        let (derivs, rule_sets) = e_parts(&e);
        let derived = matching::derive(&input, derivs, 1);
        for g in &plan.groups {
            prop_assert!(g.ids.len() > 1);
            for id in &g.ids {
                prop_assert!(seen.insert(id.clone()), "{} is in two groups", id);
            }
            // Every record reaches every other through pairs that match a rule set.
            let rows: Vec<usize> = g.ids.iter().map(|id| by_id[id.as_str()]).collect();
            let mut reached = vec![rows[0]];
            let mut frontier = vec![rows[0]];
            while let Some(a) = frontier.pop() {
                for &b in &rows {
                    if !reached.contains(&b) && rule_sets.iter().any(|r| r.matches(&derived, a, b)) {
                        reached.push(b);
                        frontier.push(b);
                    }
                }
            }
            prop_assert_eq!(reached.len(), rows.len(), "group {:?} is not connected", g.ids);
        }
    }

    #[test]
    fn groups_are_the_components_of_all_pairs(records in records()) {
        let e = property_engine();
        prop_assert_eq!(groups(&e, &records), brute_force(&e, &records));
    }

    #[test]
    fn the_input_order_does_not_matter(records in records(), seed in any::<u64>()) {
        let e = property_engine();
        let mut shuffled = records.clone();
        // A seeded Fisher-Yates, so a failure reproduces.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = e.plan_records(&records);
        let b = e.plan_records(&shuffled);
        prop_assert_eq!(a.plan, b.plan);
        prop_assert_eq!(a.groups, b.groups);
    }
}

#[test]
fn every_field_rule_reads_from_its_name_and_an_unknown_one_lists_them_all() {
    let names = [
        "keep_master",
        "master_unless_empty",
        "newest",
        "oldest",
        "most_common",
        "concatenate",
        "union",
        "max",
        "min",
    ];
    for n in names {
        let rule: FieldRule = serde_json::from_value(json!(n)).unwrap();
        assert_eq!(rule.name(), n);
        assert_eq!(serde_json::to_value(&rule).unwrap(), json!(n), "{rule:?}");
    }
    assert_eq!(
        serde_json::from_value::<FieldRule>(json!("concatenate")).unwrap(),
        FieldRule::Concatenate {
            separator: "; ".into()
        }
    );
    let listed = names.map(|n| format!("`{n}`")).join(", ");
    assert_eq!(
        serde_json::from_value::<FieldRule>(json!("latest"))
            .unwrap_err()
            .to_string(),
        format!("unknown field rule `latest`, expected one of {listed}")
    );
}
