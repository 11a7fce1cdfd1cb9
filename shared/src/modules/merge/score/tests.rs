//! Scored matching through the engine: term frequencies, decisions, the docs' worked
//! example, config checking, and properties (symmetric scores, order-independent and
//! disjoint groups, review pairs never inside a group).

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::super::{MergeConfig, MergeEngine, MergeInput, MergePlan};
use crate::modules::csv::AuditWriter;
use crate::modules::{Action, Decisions};

const FIELDS: [&str; 4] = ["firstname", "lastname", "email", "date_of_birth"];

fn score_fields() -> Value {
    json!([
        {"field": "firstname", "compare": "name", "swap_with": "lastname"},
        {"field": "lastname", "compare": "name", "swap_with": "firstname"},
        {"field": "email", "compare": "email"},
        {"field": "date_of_birth", "compare": "date"}
    ])
}

fn levels(v: &[(&str, f64, f64)]) -> Value {
    Value::Array(
        v.iter()
            .map(|(l, m, u)| json!({"level": l, "m": m, "u": u}))
            .collect(),
    )
}

/// The worked example's model (docs/modules/merge.md, "Scored matching").
fn example_model() -> Value {
    let name = levels(&[
        ("exact", 0.8, 0.02),
        ("nickname", 0.05, 0.005),
        ("similar", 0.06, 0.01),
        ("somewhat_similar", 0.03, 0.03),
        ("swapped", 0.02, 0.001),
        ("different", 0.04, 0.934),
    ]);
    json!({"prior": 0.01, "fields": [
        {"field": "firstname", "levels": name},
        {"field": "lastname", "levels": name},
        {"field": "email", "levels": levels(&[
            ("exact", 0.8, 0.0005), ("one_edit", 0.1, 0.001), ("different", 0.1, 0.9985)])},
        {"field": "date_of_birth", "levels": levels(&[
            ("exact", 0.85, 0.003), ("day_month_swapped", 0.02, 0.0001),
            ("year_off_by_one", 0.02, 0.002), ("one_part_off", 0.05, 0.03),
            ("different", 0.06, 0.9649)])}
    ]})
}

fn engine(score: Value) -> MergeEngine {
    let c: MergeConfig =
        serde_json::from_value(json!({"object": "contacts", "score": score})).unwrap();
    c.engine().unwrap_or_else(|e| panic!("{e:?}"))
}

fn input(e: &MergeEngine, records: &[[&str; 5]]) -> MergeInput {
    let mut input = e.input();
    for (i, r) in records.iter().enumerate() {
        // Created one day apart, in the listed order: the first created is the master.
        let created = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 86_400, 0);
        input.push(r[0], created, created, |f| {
            FIELDS.iter().position(|x| *x == f).map(|i| r[i + 1])
        });
    }
    input
}

fn csv(e: &MergeEngine, plan: &MergePlan) -> String {
    let mut w = AuditWriter::new(Vec::new(), &e.columns(), false).unwrap();
    for c in &plan.plan.changes {
        w.write_change(c, None).unwrap();
    }
    String::from_utf8(w.finish().unwrap())
        .unwrap()
        .replace("\r\n", "\n")
}

const EXAMPLE: [[&str; 5]; 6] = [
    ["1", "Robert", "Okafor", "bob.okafor@acme.com", "1975-06-12"],
    ["2", "Bob", "Okafor", "bob.okafor@acme.com", "06/12/1975"],
    ["3", "Ann", "Smith", "ann.smith@x.com", "1980-03-04"],
    ["4", "Ann", "Smith", "ann.smith@x.co", "1980-04-03"],
    ["5", "Peter", "Smith", "", "1990-01-01"],
    ["6", "Smith", "Ann", "", "1981-03-04"],
];

#[test]
fn the_docs_worked_example() {
    let e = engine(json!({"fields": score_fields(), "review_threshold": 0.5,
                          "model": example_model()}));
    let plan = e.plan(&input(&e, &EXAMPLE));
    let text = csv(&e, &plan);
    let doc = include_str!("../../../../../docs/modules/merge.md");
    let start = doc
        .find("```csv\nrecord_id,action,group_id,role,note,firstname")
        .expect("the worked example's CSV in the docs")
        + 7;
    let expected = &doc[start..start + doc[start..].find("```").unwrap()];
    assert_eq!(text, expected);
    assert_eq!(plan.stats.review_pairs, 1);
    assert_eq!(plan.model.as_ref().map(|m| m.prior), Some(0.01));
}

#[test]
fn a_rare_surname_agreeing_weighs_more_than_a_common_one() {
    let e = engine(json!({"fields": score_fields(), "model": example_model()}));
    let mut records: Vec<[&str; 5]> = vec![
        ["1", "", "Okafor", "", ""],
        ["2", "", "Okafor", "", ""],
        ["3", "", "Smith", "", ""],
        ["4", "", "Smith", "", ""],
    ];
    let ids: Vec<String> = (5..25).map(|i| i.to_string()).collect();
    let names: Vec<String> = (5..25)
        .map(|i| format!("Name{}", (b'a' + i as u8) as char))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let last = if i < 8 { "Smith" } else { names[i].as_str() };
        records.push([id, "", last, "", ""]);
    }
    let input = input(&e, &records);
    let scorer = e.scorer.as_ref().unwrap();
    let out = scorer.run(&input, 1);
    let weight = |a, b| scorer.explained(&out, a, b).0[1].2;
    assert!(
        weight(0, 1) > weight(2, 3) + 2.0,
        "{} {}",
        weight(0, 1),
        weight(2, 3)
    );
    assert!(weight(2, 3) > 0.0);
}

#[test]
fn a_very_rare_value_weighs_no_more_than_one_at_the_floor() {
    // lastname: m exact 0.8, u exact 0.02, so the floor is a share of 0.3 * 0.02.
    let e = engine(json!({"fields": score_fields(), "model": example_model()}));
    let ids: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let names: Vec<String> = (0..1000).map(|i| format!("Unique{i}")).collect();
    let records: Vec<[&str; 5]> = (0..1000)
        .map(|i| {
            let last = match i {
                0 | 1 => "Okafor", // 2 in 1000: rarer than the floor
                2..=9 => "Smith",  // 8 in 1000: above it
                _ => names[i].as_str(),
            };
            [ids[i].as_str(), "", last, "", ""]
        })
        .collect();
    let input = input(&e, &records);
    let scorer = e.scorer.as_ref().unwrap();
    let out = scorer.run(&input, 1);
    let weight = |a, b| scorer.explained(&out, a, b).0[1].2;
    let floored = (0.8f64 / (0.3 * 0.02)).log2() as f32;
    assert!((weight(0, 1) - floored).abs() < 1e-4, "{}", weight(0, 1));
    let smith = (0.8f64 / 0.008).log2() as f32;
    assert!((weight(2, 3) - smith).abs() < 1e-4, "{}", weight(2, 3));
    assert!(weight(0, 1) > weight(2, 3));
}

#[test]
fn accepted_pairs_merge_and_rejected_ones_are_never_linked_or_shown() {
    let e = engine(json!({"fields": score_fields(), "review_threshold": 0.5,
                          "model": example_model()}));
    let input = input(&e, &EXAMPLE);
    let plan = e.plan(&input);
    let review: Vec<(String, String)> = plan
        .plan
        .changes
        .iter()
        .filter_map(|c| match &c.action {
            Action::Review { other_id, .. } => Some((c.id.clone().unwrap(), other_id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(review, [("3".to_string(), "6".to_string())]);
    let pair = |a: &str, b: &str| [a.to_string(), b.to_string()];
    let groups = |p: &MergePlan| -> Vec<Vec<String>> {
        p.groups
            .iter()
            .map(|g| {
                let mut ids = g.ids.clone();
                ids.sort();
                ids
            })
            .collect()
    };
    // Accepted (in either order): merged with its group, and noted.
    let accepted = e.plan_with(
        &input,
        &Decisions {
            accept: vec![pair("6", "3")],
            reject: vec![],
        },
    );
    assert!(groups(&accepted).contains(&vec!["3".into(), "4".into(), "6".into()]));
    assert_eq!(accepted.stats.review_pairs, 0);
    let note = accepted
        .plan
        .changes
        .iter()
        .find_map(|c| match &c.action {
            Action::Merge { group_id, .. } if group_id == "g2" => c.note.clone(),
            _ => None,
        })
        .unwrap();
    assert!(note.contains("3 + 6 accepted by a person"), "{note}");
    // Rejected: the review pair is gone; a rejected merge pair is not linked either.
    let rejected = e.plan_with(
        &input,
        &Decisions {
            accept: vec![],
            reject: vec![pair("3", "6"), pair("2", "1")],
        },
    );
    assert_eq!(rejected.stats.review_pairs, 0);
    assert_eq!(groups(&rejected), [vec!["3".to_string(), "4".to_string()]]);
    // Unknown ids change nothing.
    let unknown = e.plan_with(
        &input,
        &Decisions {
            accept: vec![pair("1", "99")],
            reject: vec![pair("98", "99")],
        },
    );
    assert_eq!(unknown, plan);
}

#[test]
fn rules_or_a_score_link_groups_together() {
    let c: MergeConfig = serde_json::from_value(json!({
        "object": "contacts",
        "rules": [{"all": [{"field": "lastname", "compare": "exact"},
                           {"field": "date_of_birth", "compare": "exact"}]},
                  {"all": [{"field": "firstname", "compare": "exact"},
                           {"field": "lastname", "compare": "exact"}]}],
        "score": {"fields": score_fields(), "model": example_model()}
    }))
    .unwrap();
    let e = c.engine().unwrap();
    let plan = e.plan(&input(&e, &EXAMPLE));
    let g: Vec<Vec<String>> = plan.groups.iter().map(|g| g.ids.clone()).collect();
    // 3 and 4 share both names (rule 2); 1 and 2 score high enough (no rule links them).
    assert_eq!(g, [vec!["1", "2"], vec!["3", "4"]]);
    assert_eq!(plan.groups[0].rules, ["score"]);
    assert_eq!(plan.groups[1].rules, ["rule 2"]);
}

#[test]
fn a_model_is_learned_when_none_is_given_and_reused_as_given() {
    let e = engine(json!({"fields": score_fields()}));
    let input = input(&e, &EXAMPLE);
    let plan = e.plan(&input);
    let model = plan.model.clone().expect("the learned model");
    assert_eq!(model.fields.len(), 4);
    assert_eq!(model.fields[3].levels[1].level, "day_month_swapped");
    assert!(plan.stats.training_u_pairs > 0);
    let again = engine(json!({"fields": score_fields(),
                              "model": serde_json::to_value(&model).unwrap()}));
    let replay = again.plan(&input);
    assert_eq!(replay.groups, plan.groups);
    assert_eq!(replay.stats.training_u_pairs, 0);
}

#[test]
fn score_config_errors_have_pointers() {
    let errors = |score: Value| -> Vec<String> {
        let c: MergeConfig =
            serde_json::from_value(json!({"object": "contacts", "score": score})).unwrap();
        c.check()
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect()
    };
    assert_eq!(
        errors(json!({"fields": [], "merge_threshold": 1.0, "review_threshold": 0.0})),
        [
            "/config/score/fields: needs at least one field: {\"field\": \"email\", \"compare\": \"email\"}",
            "/config/score/merge_threshold: 1 is not a probability between 0 and 1 (exclusive); 0.99 is a good start",
            "/config/score/review_threshold: 0 is not a probability between 0 and 1 (exclusive)",
        ]
    );
    assert_eq!(
        errors(json!({
            "fields": [
                {"field": "first", "compare": "name", "swap_with": "email"},
                {"field": "first", "compare": "text"},
                {"field": "email", "compare": "email", "default_region": "US"},
                {"field": "phone", "compare": "phone", "default_region": "XX", "swap_with": "first"},
                {"field": "zip", "compare": "code", "region_field": "country"}
            ],
            "merge_threshold": 0.9,
            "review_threshold": 0.95,
            "blocking": [["email", "email"], [], ["city"]]
        })),
        [
            "/config/score/fields/0/swap_with: `email` is not a `compare: name` field of this list",
            "/config/score/fields/1/field: `first` is listed twice: compare each field once",
            "/config/score/fields/2/default_region: only `compare: phone` takes `default_region`",
            "/config/score/fields/3/swap_with: only `compare: name` takes `swap_with`",
            "/config/score/fields/3/default_region: \"XX\" is not a region known to libphonenumber (an ISO 3166 alpha-2 code such as US or GB)",
            "/config/score/fields/4/region_field: only `compare: phone` takes `region_field`",
            "/config/score/review_threshold: 0.95 is above merge_threshold (0.9): it must be at most that",
            "/config/score/blocking/0/1: `email` is in this key twice",
            "/config/score/blocking/1: needs at least one field",
            "/config/score/blocking/2/0: `city` is not one of the score's fields",
        ]
    );
    let mut model = example_model();
    model["prior"] = json!(0);
    model["fields"][1]["field"] = json!("surname");
    model["fields"][2]["levels"][0]["m"] = json!(1.5);
    model["fields"][3]["levels"] = json!([]);
    model["given"] = json!([
        {"field": "phone", "share": 1.5, "fields": [
            {"field": "lastname", "u": [0.5]},
            {"field": "email", "u": [0.1, 0.1, 0.0]}]},
        {"field": "email", "share": 0.5, "fields": [{"field": "email", "u": [0.1, 0.1, 0.8]}]}
    ]);
    assert_eq!(
        errors(json!({"fields": score_fields(), "model": model})),
        [
            "/config/score/model/prior: 0 is not a probability between 0 and 1 (exclusive)",
            "/config/score/model/fields/1/field: is `surname` where the score's field 1 is `lastname`",
            "/config/score/model/fields/2/levels/0/m: 1.5 is not a probability above 0 and at most 1",
            "/config/score/model/fields/3/levels: `compare: date` has 5 levels (exact, day_month_swapped, year_off_by_one, one_part_off, different), not 0",
            "/config/score/model/given/0/field: `phone` is not one of the score's fields",
            "/config/score/model/given/0/share: 1.5 is not a probability above 0 and at most 1",
            "/config/score/model/given/0/fields/0/u: `compare: name` has 6 levels (exact, nickname, similar, somewhat_similar, swapped, different), not 1",
            "/config/score/model/given/0/fields/1/u/2: 0 is not a probability above 0 and at most 1",
            "/config/score/model/given/1/fields/0/field: `email` is not one of the score's other fields (than `email`)",
        ]
    );
    // A score alone is enough; neither rules nor a score is not.
    assert!(errors(json!({"fields": score_fields()})).is_empty());
    let none: MergeConfig = serde_json::from_value(json!({"object": "contacts"})).unwrap();
    assert_eq!(none.check()[0].pointer, "/config/rules");
}

#[test]
fn derived_blocking_keys() {
    let e = engine(json!({"fields": [
        {"field": "firstname", "compare": "name"},
        {"field": "lastname", "compare": "name"},
        {"field": "email", "compare": "email"},
        {"field": "phone", "compare": "phone"},
        {"field": "dob", "compare": "date"},
        {"field": "zip", "compare": "code"},
        {"field": "city", "compare": "text"},
        {"field": "ssn", "compare": "code"}
    ]}));
    let keys: Vec<(Vec<usize>, Vec<usize>)> = e
        .scorer
        .as_ref()
        .unwrap()
        .keys
        .iter()
        .map(|k| (k.fields.clone(), k.prefixes.clone()))
        .collect();
    // The area names are the place names from `city` on.
    assert_eq!(super::AREA_NAMES[0], "city");
    // The birth date with either name's first two letters; the id alone; the postcode (in the address
    // group) only with a name; the city (an area) in no key.
    assert_eq!(
        keys,
        [
            (vec![2], vec![]),
            (vec![3], vec![]),
            (vec![0, 1], vec![]),
            (vec![4], vec![0, 1]),
            (vec![7], vec![]),
            (vec![5, 0], vec![]),
            (vec![5, 1], vec![])
        ]
    );
}

#[test]
fn a_small_file_is_blocked_more_widely_a_large_one_keeps_its_tight_keys() {
    let fields = ["firstname", "lastname", "dob", "zip", "address"];
    let kinds = ["name", "name", "date", "code", "text"];
    let e = engine(json!({"fields": compared(&fields, &kinds)}));
    let s = e.scorer.as_ref().unwrap();
    let keys_for = |records: &[Vec<String>]| {
        let input = input_of(&e, &fields, records);
        let data = super::compare::derive(&input, &s.specs, 1);
        super::block::loosened(&s.keys, &s.specs, &data, input.len())
            .into_iter()
            .map(|k| (k.fields, !k.prefixes.is_empty(), k.loose))
            .collect::<Vec<_>>()
    };
    // Derived: the names; the birth date with a name's first letters; the postcode and
    // the street each with each name.
    assert_eq!(s.keys.len(), 6);
    // A few hundred records: the date, the postcode and the street alone, and each name
    // alone too (none of them trains the model).
    let small = keys_for(&filler(&fields));
    assert_eq!(
        small,
        [
            (vec![0, 1], false, false),
            (vec![2], false, true),
            (vec![3], false, true),
            (vec![4], false, true),
            (vec![0], false, true),
            (vec![1], false, true),
        ]
    );
    // 14,000 records born on one day: the date alone would compare 300,000 pairs, so it
    // keeps the names' letters; the other loosenings still fit.
    let large: Vec<Vec<String>> = (0..14_000)
        .map(|i| {
            vec![
                format!("F{i}"),
                format!("L{i}"),
                "1980-01-01".to_string(),
                format!("{}", 100_000 + i),
                format!("{i} Main St"),
            ]
        })
        .collect();
    let tight = keys_for(&large);
    assert_eq!(tight[1], (vec![2], true, false));
    assert_eq!(tight.len(), 6);
}

#[test]
fn place_fields_form_a_group_by_default_or_as_configured() {
    let e = engine(json!({"fields": [
        {"field": "lastname", "compare": "name"},
        {"field": "Street", "compare": "text"},
        {"field": "zip", "compare": "code"},
        {"field": "city", "compare": "text"},
        {"field": "MailingPostalCode", "compare": "code"},
        {"field": "MailingStreet", "compare": "text"},
        {"field": "mailing_city", "compare": "text"},
        {"field": "state", "compare": "date"},
        {"field": "country", "compare": "text", "group": ""},
        {"field": "home_phone", "compare": "phone"},
        {"field": "MobilePhone", "compare": "phone"},
        {"field": "region", "compare": "text", "group": "address"}
    ]}));
    let s = e.scorer.as_ref().unwrap();
    assert_eq!(s.group_names, ["address", "mailingaddress"]);
    // Areas (city, mailing_city) count on their own unless put in a group.
    assert_eq!(s.groups, [vec![1, 2, 9, 11], vec![4, 5]]);
    let c: MergeConfig = serde_json::from_value(json!({"object": "contacts", "score": {
        "fields": [{"field": "city", "compare": "text", "group": "a place"}]}}))
    .unwrap();
    let errors: Vec<String> = c.check().into_iter().map(|e| e.pointer).collect();
    assert_eq!(errors, ["/config/score/fields/0/group"]);
}

/// 200 records that share nothing with each other or the pairs the tests add.
fn filler(fields: &[&str]) -> Vec<Vec<String>> {
    let word = |i: usize| -> String {
        let mut s = String::new();
        let mut n = i + 30;
        while n > 0 {
            s.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
        }
        format!("Q{s}")
    };
    (0..200)
        .map(|i| {
            fields
                .iter()
                .map(|&f| match f {
                    "dob" => format!("{}-{:02}-{:02}", 1900 + i / 2, 1 + i % 12, 1 + i % 28),
                    "ssn" | "zip" => format!("{}", 900_000 + i * 7),
                    "address" => format!("{} {} Road", i + 1, word(i)),
                    _ => word(i * 3 + f.len()),
                })
                .collect()
        })
        .collect()
}

/// Score fields: each of `fields` compared as the `kinds` at its position.
fn compared(fields: &[&str], kinds: &[&str]) -> Vec<Value> {
    fields
        .iter()
        .zip(kinds)
        .map(|(f, k)| json!({"field": f, "compare": k}))
        .collect()
}

/// Records (values in `fields` order) as input, ids their positions, created a day apart.
fn input_of(e: &MergeEngine, fields: &[&str], records: &[Vec<String>]) -> MergeInput {
    let mut input = e.input();
    for (i, r) in records.iter().enumerate() {
        let created = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 86_400, 0);
        input.push(&format!("{i}"), created, created, |f| {
            fields.iter().position(|x| *x == f).map(|i| r[i].as_str())
        });
    }
    input
}

/// A plan's groups as sorted id lists.
fn sorted_groups(plan: &MergePlan) -> Vec<Vec<String>> {
    plan.groups
        .iter()
        .map(|g| {
            let mut ids = g.ids.clone();
            ids.sort();
            ids
        })
        .collect()
}

fn plan_of(e: &MergeEngine, fields: &[&str], records: &[Vec<String>]) -> Vec<Vec<String>> {
    sorted_groups(&e.plan(&input_of(e, fields, records)))
}

fn model_for(fields: &[(&str, &str)]) -> Value {
    let of = |kind: &str| match kind {
        "name" => levels(&[
            ("exact", 0.8, 0.02),
            ("nickname", 0.05, 0.005),
            ("similar", 0.06, 0.01),
            ("somewhat_similar", 0.03, 0.03),
            ("swapped", 0.02, 0.001),
            ("different", 0.04, 0.934),
        ]),
        "text" => levels(&[
            ("exact", 0.85, 0.01),
            ("similar", 0.07, 0.005),
            ("somewhat_similar", 0.03, 0.03),
            ("different", 0.05, 0.955),
        ]),
        "code" => levels(&[
            ("exact", 0.85, 0.01),
            ("transposed", 0.04, 0.0002),
            ("one_edit", 0.05, 0.002),
            ("different", 0.06, 0.9878),
        ]),
        _ => levels(&[
            ("exact", 0.85, 0.003),
            ("day_month_swapped", 0.02, 0.0001),
            ("year_off_by_one", 0.02, 0.002),
            ("one_part_off", 0.05, 0.03),
            ("different", 0.06, 0.9649),
        ]),
    };
    let fields: Vec<Value> = fields
        .iter()
        .map(|(f, k)| json!({"field": f, "levels": of(k)}))
        .collect();
    json!({"prior": 0.01, "fields": fields})
}

#[test]
fn two_people_of_one_household_are_not_merged_a_person_twice_is() {
    let kinds = [
        ("firstname", "name"),
        ("lastname", "name"),
        ("dob", "date"),
        ("address", "text"),
        ("zip", "code"),
        ("city", "text"),
    ];
    let fields: Vec<&str> = kinds.iter().map(|k| k.0).collect();
    let mut records = filler(&fields);
    let row = |v: [&str; 6]| v.map(String::from).to_vec();
    records.push(row([
        "Maria",
        "Okafor",
        "1971-02-03",
        "12 Elm St",
        "02139",
        "Cambridge",
    ]));
    records.push(row([
        "Daniel",
        "Okafor",
        "1968-11-20",
        "12 Elm St",
        "02139",
        "Cambridge",
    ]));
    records.push(row([
        "Lena",
        "Brandt",
        "1985-07-09",
        "4 Oak Ave",
        "60614",
        "Chicago",
    ]));
    records.push(row([
        "Lena",
        "Brandt",
        "1985-07-09",
        "4 Oak Av",
        "60614",
        "Chicago",
    ]));
    let score = |group: Option<&str>| {
        let fs: Vec<Value> = kinds
            .iter()
            .map(|(f, k)| match group {
                Some(g) => json!({"field": f, "compare": k, "group": g}),
                None => json!({"field": f, "compare": k}),
            })
            .collect();
        json!({"fields": fs, "model": model_for(&kinds)})
    };
    let brandt = vec!["202".to_string(), "203".to_string()];
    let okafor = vec!["200".to_string(), "201".to_string()];
    // The address, postcode and city count once: the different first names and birth
    // dates keep the household apart; the person entered twice is merged.
    let grouped = plan_of(&engine(score(None)), &fields, &records);
    assert_eq!(grouped, std::slice::from_ref(&brandt));
    // Counted as independent evidence (no groups), the same place outweighs them.
    let independent = plan_of(&engine(score(Some(""))), &fields, &records);
    assert!(independent.contains(&okafor), "{independent:?}");
    assert!(independent.contains(&brandt), "{independent:?}");
}

type Pair = [String; 2];

/// Records of people at one address: `households` pairs of different people (one
/// surname each, different first names and birth dates) and `twice` people entered twice,
/// after the filler. Returns the records and
/// the household pairs' and the duplicates' ids.
fn households(households: usize, twice: usize) -> (Vec<Vec<String>>, Vec<Pair>, Vec<Pair>) {
    let fields = ["firstname", "lastname", "dob", "address", "zip"];
    let mut records = filler(&fields);
    let name = |i: usize, salt: usize| {
        let mut s = String::from("N");
        let mut n = i * 7 + salt;
        for _ in 0..4 {
            s.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
        }
        s
    };
    let (mut home, mut dup) = (Vec::new(), Vec::new());
    for i in 0..households + twice {
        let at = [
            format!("{} Elm Row {}", i + 1, name(i, 3)),
            format!("{}", 700_000 + i),
        ];
        let n = records.len();
        let last = name(i, 5);
        let person = |first: String, dob: String| {
            vec![first, last.clone(), dob, at[0].clone(), at[1].clone()]
        };
        if i < households {
            records.push(person(name(i, 11), format!("{}-03-04", 1950 + i % 40)));
            records.push(person(name(i, 17), format!("{}-08-09", 1960 + i % 40)));
            home.push([n.to_string(), (n + 1).to_string()]);
        } else {
            let dob = format!("{}-05-06", 1950 + i % 40);
            records.push(person(name(i, 11), dob.clone()));
            records.push(person(name(i, 11), dob));
            dup.push([n.to_string(), (n + 1).to_string()]);
        }
    }
    (records, home, dup)
}

#[test]
fn people_at_one_address_are_weighed_as_the_model_learned_such_pairs() {
    let kinds = [
        ("firstname", "name"),
        ("lastname", "name"),
        ("dob", "date"),
        ("address", "text"),
        ("zip", "code"),
    ];
    let fields: Vec<&str> = kinds.iter().map(|k| k.0).collect();
    // One household and one person twice, both with no birth date and one first name
    // missing: the shared surname and address are all there is.
    let (mut records, _, _) = households(0, 0);
    let row = |v: [&str; 5]| v.map(String::from).to_vec();
    records.push(row(["Maria", "Okafor", "", "12 Elm St", "02139"]));
    records.push(row(["", "Okafor", "", "12 Elm St", "02139"]));
    records.push(row(["Lena", "Brandt", "", "4 Oak Ave", "60614"]));
    records.push(row(["Lena", "Brandt", "", "4 Oak Ave", "60614"]));
    // Near one place: the street written two ways (Jaro–Winkler ≥ 0.92).
    records.push(row(["Ama", "Mensah", "", "7 Birch Lane", "02140"]));
    records.push(row(["", "Mensah", "", "7 Birch Ln", "02140"]));
    let okafor = vec!["200".to_string(), "201".to_string()];
    let brandt = vec!["202".to_string(), "203".to_string()];
    let mensah = vec!["204".to_string(), "205".to_string()];
    let mut model = model_for(&kinds);
    let score = |model: &Value| {
        json!({"fields": kinds.iter().map(|(f, k)| json!({"field": f, "compare": k}))
                   .collect::<Vec<_>>(),
               "merge_threshold": 0.95, "model": model})
    };
    // Without what pairs at one address are like, the rare surname and the address,
    // independent evidence, merge the household.
    let plain = plan_of(&engine(score(&model)), &fields, &records);
    assert!(plain.contains(&okafor), "{plain:?}");
    assert!(plain.contains(&mensah), "{plain:?}");
    // Half the pairs at one address are one person; the others mostly share the surname
    // (and the postcode): at that address, or near it, the surname says little, the first
    // name much.
    let name_u = [0.01, 0.01, 0.01, 0.03, 0.001, 0.949];
    let others = [
        ("firstname", name_u.to_vec()),
        ("lastname", vec![0.9, 0.01, 0.01, 0.01, 0.001, 0.069]),
        ("dob", vec![0.003, 0.0001, 0.002, 0.03, 0.9649]),
        ("zip", vec![0.95, 0.001, 0.01, 0.039]),
    ];
    model["given"] = json!([{"field": "address", "share": 0.5, "fields": others
        .iter()
        .map(|(f, u)| json!({"field": f, "u": u}))
        .collect::<Vec<_>>()}]);
    let given = plan_of(&engine(score(&model)), &fields, &records);
    assert_eq!(given, std::slice::from_ref(&brandt));
}

#[test]
fn what_pairs_at_one_address_are_like_is_learned_from_the_records() {
    let (records, home, dup) = households(150, 150);
    let fields = ["firstname", "lastname", "dob", "address", "zip"];
    let kinds = ["name", "name", "date", "text", "code"];
    let e = engine(json!({"fields": compared(&fields, &kinds)}));
    let plan = e.plan(&input_of(&e, &fields, &records));
    let model = plan.model.clone().expect("a learned model");
    let at = model
        .given
        .iter()
        .find(|g| g.field == "address")
        .expect("pairs at one address learned");
    // Half the pairs sharing an address are one person; between the others (a household)
    // the surname agrees, unlike between random records.
    assert!((at.share - 0.5).abs() < 0.1, "share {}", at.share);
    let surname = at.fields.iter().find(|f| f.field == "lastname").unwrap();
    assert!(surname.u[0] > 0.8, "{:?}", surname.u);
    assert!(model.fields[1].levels[0].u < 0.01);
    let merged = sorted_groups(&plan);
    for pair in &dup {
        assert!(merged.contains(&pair.to_vec()), "{pair:?} not merged");
    }
    for pair in &home {
        assert!(
            !merged.contains(&pair.to_vec()),
            "household {pair:?} merged"
        );
    }
}

#[test]
fn a_pair_sharing_only_an_id_and_a_birth_date_is_compared() {
    let kinds = [
        ("firstname", "name"),
        ("lastname", "name"),
        ("dob", "date"),
        ("ssn", "code"),
    ];
    let fields: Vec<&str> = kinds.iter().map(|k| k.0).collect();
    let mut records = filler(&fields);
    let row = |v: [&str; 4]| v.map(String::from).to_vec();
    // A first name typo and the last name missing on one side: no name key holds both.
    records.push(row(["Katherine", "Delacroix", "1979-05-17", "8127364"]));
    records.push(row(["Kathryn", "", "1979-05-17", "8127364"]));
    let fs: Vec<Value> = kinds
        .iter()
        .map(|(f, k)| json!({"field": f, "compare": k}))
        .collect();
    let e = engine(json!({"fields": fs, "model": model_for(&kinds)}));
    let groups = plan_of(&e, &fields, &records);
    assert_eq!(groups, [vec!["200".to_string(), "201".to_string()]]);
}

#[test]
fn a_shared_birth_date_finds_names_swapped_and_mistyped() {
    let kinds = [("firstname", "name"), ("lastname", "name"), ("dob", "date")];
    let fields: Vec<&str> = kinds.iter().map(|k| k.0).collect();
    let mut records = filler(&fields);
    let row = |v: [&str; 3]| v.map(String::from).to_vec();
    // Neither name agrees with either of the other's; the birth date and a name's first
    // two letters (crosswise) do.
    records.push(row(["Madeline", "Mason", "1979-05-17"]));
    records.push(row(["Masno", "Madelin", "1979-05-17"]));
    // A stranger born the same day stays apart.
    records.push(row(["Tobias", "Quint", "1979-05-17"]));
    let fs = json!([
        {"field": "firstname", "compare": "name", "swap_with": "lastname"},
        {"field": "lastname", "compare": "name", "swap_with": "firstname"},
        {"field": "dob", "compare": "date"}
    ]);
    let e = engine(json!({"fields": fs, "model": model_for(&kinds)}));
    let groups = plan_of(&e, &fields, &records);
    assert_eq!(groups, [vec!["200".to_string(), "201".to_string()]]);
}

// ------------------------------------------------------------------------------------
// Properties.

fn record() -> impl Strategy<Value = [String; 4]> {
    let pick = |v: &'static [&'static str]| prop::sample::select(v).prop_map(String::from);
    (
        pick(&["Ann", "Anne", "Bob", "Robert", "Smith", ""]),
        pick(&["Smith", "Smyth", "Jones", "Ann", ""]),
        pick(&["a@x.com", "a@x.co", "b@x.com", ""]),
        pick(&["1980-03-04", "1980-04-03", "1981-03-04", ""]),
    )
        .prop_map(|(a, b, c, d)| [a, b, c, d])
}

fn build(e: &MergeEngine, records: &[[String; 4]], order: &[usize]) -> MergeInput {
    let mut input = e.input();
    for &i in order {
        let r = &records[i];
        input.push(&i.to_string(), None, None, |f| {
            FIELDS.iter().position(|x| *x == f).map(|k| r[k].as_str())
        });
    }
    input
}

/// Groups as sorted id sets, and review pairs as sorted id pairs.
fn outcome(plan: &MergePlan) -> (BTreeSet<Vec<String>>, BTreeSet<(String, String)>) {
    let groups = sorted_groups(plan).into_iter().collect();
    let review = plan
        .plan
        .changes
        .iter()
        .filter_map(|c| match &c.action {
            Action::Review { other_id, .. } => {
                let a = c.id.clone().unwrap();
                Some((a.clone().min(other_id.clone()), a.max(other_id.clone())))
            }
            _ => None,
        })
        .collect();
    (groups, review)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scores_are_symmetric(records in prop::collection::vec(record(), 2..12)) {
        let e = engine(json!({"fields": score_fields(), "model": example_model()}));
        let order: Vec<usize> = (0..records.len()).collect();
        let input = build(&e, &records, &order);
        let scorer = e.scorer.as_ref().unwrap();
        let out = scorer.run(&input, 1);
        for a in 0..records.len() {
            for b in 0..records.len() {
                let x = out.weights.score(&scorer.specs, &out.data, a, b, f32::MIN);
                let y = out.weights.score(&scorer.specs, &out.data, b, a, f32::MIN);
                prop_assert_eq!(x, y);
            }
        }
    }

    #[test]
    fn groups_do_not_depend_on_order_are_disjoint_and_hold_no_review_pair(
        records in prop::collection::vec(record(), 2..16),
        seed in any::<u64>(),
        trained in any::<bool>(),
    ) {
        let score = if trained {
            json!({"fields": score_fields(), "review_threshold": 0.3})
        } else {
            json!({"fields": score_fields(), "review_threshold": 0.3, "model": example_model()})
        };
        let e = engine(score);
        let order: Vec<usize> = (0..records.len()).collect();
        let mut shuffled = order.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = super::super::matching::mix(s.wrapping_add(i as u64));
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let plan = e.plan(&build(&e, &records, &order));
        let again = e.plan(&build(&e, &records, &shuffled));
        let (groups, review) = outcome(&plan);
        prop_assert_eq!(&(groups.clone(), review.clone()), &outcome(&again));
        let mut seen = BTreeSet::new();
        for g in &groups {
            for id in g {
                prop_assert!(seen.insert(id.clone()), "{} in two groups", id);
            }
        }
        for (a, b) in &review {
            prop_assert!(!groups.iter().any(|g| g.contains(a) && g.contains(b)));
        }
    }
}

#[test]
fn a_group_that_would_join_a_rejected_pair_is_reported_never_merged() {
    let e = engine(json!({"fields": score_fields(), "review_threshold": 0.5,
                          "model": example_model()}));
    let input = input(&e, &EXAMPLE);
    let pair = |a: &str, b: &str| [a.to_string(), b.to_string()];
    // 3 and 4 merge by their score; accepting 6 with 3 and rejecting 6 with 4 contradict.
    let plan = e.plan_with(
        &input,
        &Decisions {
            accept: vec![pair("3", "6")],
            reject: vec![pair("4", "6")],
        },
    );
    let group = plan
        .groups
        .iter()
        .find(|g| g.ids.contains(&"6".to_string()))
        .expect("6 is in a group");
    let reason = group.skipped.as_deref().expect("the group is not merged");
    assert!(
        reason.contains("4 and 6, a pair a person rejected"),
        "{reason}"
    );
    assert!(
        plan.plan
            .changes
            .iter()
            .all(|c| !matches!(c.action, Action::Merge { .. })
                || !c
                    .id
                    .iter()
                    .chain(match &c.action {
                        Action::Merge { duplicate_ids, .. } => duplicate_ids.iter(),
                        _ => [].iter(),
                    })
                    .any(|id| id == "6")),
        "6 is merged nowhere"
    );
    // Without the contradiction the same group merges.
    let plan = e.plan_with(
        &input,
        &Decisions {
            accept: vec![pair("3", "6")],
            reject: vec![],
        },
    );
    assert!(
        plan.groups
            .iter()
            .any(|g| g.ids.contains(&"6".to_string()) && g.skipped.is_none())
    );
}
