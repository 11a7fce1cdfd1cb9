//! Transform: config parsing and checking, every function, the engine's changes, and
//! property tests (a plan depends on its record alone; functions are idempotent).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn config(steps: Value) -> TransformConfig {
    serde_json::from_value(json!({"object": "contacts", "steps": steps, "flag_problems": true}))
        .expect("a valid config shape")
}

fn engine(steps: Value) -> TransformEngine {
    config(steps).compile().expect("a valid config")
}

fn record(props: &[(&str, &str)]) -> Record {
    Record {
        id: "1".into(),
        properties: props
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect(),
        created_at: None,
        updated_at: None,
    }
}

/// `step` applied to field `f` holding `input`: the new value ("" when cleared), the
/// input when unchanged, or `!` and the note when the function reported a problem.
fn fx(step: Value, input: &str) -> String {
    let mut step = step;
    step["field"] = json!("f");
    let e = engine(json!([step]));
    match e.plan(&record(&[("f", input)])) {
        None => input.to_string(),
        Some(c) => match c.fields.first() {
            Some(f) => f.after.clone().unwrap_or_default(),
            None => format!("!{}", c.note.unwrap_or_default()),
        },
    }
}

/// The value a step leaves (a problem leaves the input).
fn value_after(e: &TransformEngine, input: &str) -> String {
    match e.plan(&record(&[("f", input)])) {
        Some(c) if c.action == Action::Update => c.fields[0].after.clone().unwrap_or_default(),
        _ => input.to_string(),
    }
}

fn errors(c: Value) -> Vec<String> {
    let c: TransformConfig = serde_json::from_value(c).expect("a valid config shape");
    c.check()
        .into_iter()
        .map(|e| format!("{}: {}", e.pointer, e.detail))
        .collect()
}

fn shape_error(c: Value) -> String {
    serde_json::from_value::<TransformConfig>(c)
        .expect_err("a shape error")
        .to_string()
}

// ---- config shape ----

#[test]
fn a_config_round_trips_through_json() {
    let c = config(json!([
        {"field": "firstname", "fn": "title_case"},
        {"field": "lastname", "fn": "title_case", "mac": true, "particles": false},
        {"field": "phone", "fn": "phone", "format": "national", "default_region": "US"},
        {"field": "email", "fn": "email"},
        {"field": "notes", "fn": "trim", "collapse": false},
        {"field": "country", "fn": "country", "to": "alpha2"},
        {"field": "state", "fn": "state", "to": "code", "country": "CA"},
        {"field": "name", "fn": "split_name", "first": "firstname", "last": "lastname"},
        {"field": "address", "fn": "join", "from": ["street", "city"], "separator": ", "},
        {"field": "phone2", "fn": "copy", "from": "phone"},
        {"field": "zip", "fn": "replace", "pattern": "\\s", "with": "", "ignore_case": true},
        {"field": "zip", "fn": "remove", "chars": "-", "classes": ["letters"]},
        {"field": "born", "fn": "date", "from": ["%d.%m.%Y"], "to": "%Y-%m-%d"},
        {"field": "source", "fn": "default", "value": "import"},
        {"field": "website", "fn": "domain"},
        {"field": "city", "fn": "upper"},
        {"field": "tag", "fn": "lower"},
    ]));
    let text = serde_json::to_value(&c).expect("serializes");
    assert_eq!(
        text["steps"][0],
        json!({"field": "firstname", "fn": "title_case"})
    );
    assert_eq!(
        text["steps"][2],
        json!({"field": "phone", "fn": "phone", "format": "national", "default_region": "US"})
    );
    let back: TransformConfig = serde_json::from_value(text).expect("parses back");
    assert_eq!(back, c);
    assert!(c.check().is_empty(), "{:?}", c.check());
}

#[test]
fn an_unknown_function_is_refused_with_the_known_ones() {
    let e = shape_error(json!({"object": "c", "steps": [{"field": "a", "fn": "titlecase"}]}));
    assert!(e.contains("fn: unknown variant `titlecase`"), "{e}");
    assert!(
        e.contains("`title_case`") && e.contains("`phone`") && e.contains("`domain`"),
        "{e}"
    );
}

#[test]
fn shape_errors_name_the_key() {
    let step = |s: Value| shape_error(json!({"object": "c", "steps": [s]}));
    let e = step(json!({"field": "p", "fn": "phone", "format": "e165"}));
    assert!(e.starts_with("format: unknown variant `e165`"), "{e}");
    let e = step(json!({"field": "p", "fn": "phone", "formt": "e164"}));
    assert!(e.contains("unknown field `formt`"), "{e}");
    let e = step(json!({"field": "p", "fn": "upper", "to": "x"}));
    assert!(e.contains("unknown field `to`"), "{e}");
    let e = step(json!({"field": 3, "fn": "upper"}));
    assert!(e.starts_with("field: invalid type: integer `3`"), "{e}");
    let e = step(json!({"fn": "upper"}));
    assert!(e.contains("missing field `field`"), "{e}");
    let e = step(json!({"field": "a"}));
    assert!(e.contains("missing field `fn`"), "{e}");
    let e = step(json!({"field": "a", "fn": "join", "from": ["x", 2]}));
    assert!(e.starts_with("from[1]: invalid type: integer `2`"), "{e}");
    let e = step(json!({"field": "a", "fn": "country"}));
    assert!(e.contains("missing field `to`"), "{e}");
    let e = step(json!("trim"));
    assert!(e.contains("expected an object like"), "{e}");
    let e = shape_error(json!({"object": "c", "steps": [], "extra": 1}));
    assert!(e.contains("unknown field `extra`"), "{e}");
}

// ---- check ----

#[test]
fn check_points_at_every_wrong_field() {
    let e = errors(json!({"object": " ", "steps": []}));
    assert_eq!(
        e,
        [
            "/config/object: must not be empty",
            "/config/steps: needs at least one step"
        ]
    );

    let e = errors(json!({"object": "c", "steps": [
        {"field": "", "fn": "trim"},
        {"field": "a", "fn": "phone", "default_region": "XX"},
        {"field": "a", "fn": "replace", "pattern": "(abc", "with": "x"},
        {"field": "a", "fn": "replace", "pattern": "(a)(b)", "with": "$3"},
        {"field": "a", "fn": "replace", "pattern": "(a)", "with": "$1a"},
        {"field": "a", "fn": "remove"},
        {"field": "a", "fn": "date", "to": "%Y-%Q"},
        {"field": "a", "fn": "date", "from": ["%H:%M"], "to": "%Y"},
        {"field": "a", "fn": "date", "to": "no date here"},
        {"field": "a", "fn": "default", "value": "  "},
        {"field": "n", "fn": "split_name", "first": "x", "last": "x"},
        {"field": "a", "fn": "join", "from": []},
        {"field": "a", "fn": "join", "from": ["b", "a"]},
        {"field": "a", "fn": "copy", "from": "a"},
        {"field": "a", "fn": "phone", "format": "national"},
        {"field": "a", "fn": "replace", "pattern": ""},
        {"field": "a ", "fn": "copy", "from": " b"},
    ]}));
    let expected = [
        "/config/steps/0/field: the field name is empty",
        "/config/steps/1/default_region: \"XX\" is not a region known to libphonenumber",
        "/config/steps/2/pattern: regex parse error: unclosed group",
        "/config/steps/3/with: `$3` refers to no group of the pattern, which has 2",
        "/config/steps/4/with: `$1a` refers to no group",
        "/config/steps/5: needs `chars`, `classes` or both",
        "/config/steps/6/to: \"%Y-%Q\" is not a valid chrono format",
        "/config/steps/7/from/0: \"%H:%M\" cannot read a whole date",
        "/config/steps/8/to: \"no date here\" has no date field",
        "/config/steps/9/value: must not be empty",
        "/config/steps/10/last: must differ from `first`",
        "/config/steps/11/from: needs at least one field",
        "/config/steps/12/from/1: \"a\" is the field being written",
        "/config/steps/13/from: is the field being written",
        "/config/steps/14/default_region: is needed with the national format",
        "/config/steps/15/pattern: must not be empty",
        "/config/steps/16/field: the field name \"a \" has spaces around it",
        "/config/steps/16/from: the field name \" b\" has spaces around it",
    ];
    assert_eq!(e.len(), expected.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expected) {
        assert!(got.starts_with(want), "{got}\n  should start with\n{want}");
    }
    assert!(e[4].contains("write `${1}a`"), "{}", e[4]);
}

#[test]
fn engine_refuses_a_bad_config_with_the_same_errors() {
    let c = config(json!([{"field": "a", "fn": "replace", "pattern": "["}]));
    let Err(e) = c.engine() else {
        panic!("a bad regex must not build an engine")
    };
    assert_eq!(e, c.check());
    assert_eq!(c.object(), "contacts");
}

// ---- functions ----

#[test]
fn trim_strips_and_collapses_whitespace() {
    let trim = || json!({"fn": "trim"});
    assert_eq!(fx(trim(), "  John \t  Smith \n"), "John Smith");
    assert_eq!(fx(trim(), "John Smith"), "John Smith");
    assert_eq!(fx(trim(), "\u{a0}Zoë\u{a0}"), "Zoë");
    assert_eq!(fx(trim(), "   "), "");
    assert_eq!(
        fx(json!({"fn": "trim", "collapse": false}), " a  b "),
        "a  b"
    );
}

#[test]
fn upper_and_lower_handle_unicode() {
    assert_eq!(fx(json!({"fn": "upper"}), "straße émile"), "STRASSE ÉMILE");
    assert_eq!(fx(json!({"fn": "lower"}), "ÉMILE ZOË"), "émile zoë");
    assert_eq!(fx(json!({"fn": "lower"}), "ACME Inc"), "acme inc");
    assert_eq!(fx(json!({"fn": "lower"}), "already"), "already");
}

#[test]
fn title_case_knows_names() {
    let tc = |v: &str| fx(json!({"fn": "title_case"}), v);
    assert_eq!(tc("JOHN smith"), "John Smith");
    assert_eq!(tc("ÉMILE zoë"), "Émile Zoë");
    assert_eq!(tc("mcdonald"), "McDonald");
    assert_eq!(tc("RONALD MCDONALD"), "Ronald McDonald");
    assert_eq!(tc("o'brien"), "O'Brien");
    assert_eq!(tc("D’ANGELO"), "D’Angelo");
    assert_eq!(tc("john's"), "John's");
    assert_eq!(tc("smith-jones"), "Smith-Jones");
    assert_eq!(tc("jean-luc picard"), "Jean-Luc Picard");
    assert_eq!(tc("van der berg"), "van der Berg");
    assert_eq!(tc("maria DE LA CRUZ"), "Maria de la Cruz");
    assert_eq!(tc("VAN"), "Van");
    assert_eq!(tc("john smith iii"), "John Smith III");
    assert_eq!(tc("3rd street"), "3rd Street");
    assert_eq!(tc("(john)"), "(John)");
    assert_eq!(tc("macleod"), "Macleod");
    assert_eq!(tc("ßtraße"), "ßtraße");
    // A decomposed é (e + U+0301) is one letter: the m after it stays lowercase.
    assert_eq!(tc("e\u{301}mile"), "E\u{301}mile");
    let mac = |v: &str| fx(json!({"fn": "title_case", "mac": true}), v);
    assert_eq!(mac("macleod"), "MacLeod");
    assert_eq!(mac("MACDONALD"), "MacDonald");
    assert_eq!(mac("machado"), "Machado");
    assert_eq!(mac("mack"), "Mack");
    assert_eq!(mac("macias"), "Macias");
    let plain = |v: &str| fx(json!({"fn": "title_case", "particles": false}), v);
    assert_eq!(plain("van der berg"), "Van Der Berg");
}

#[test]
fn phone_formats_valid_numbers_and_reports_the_rest() {
    let us = |format: &str, v: &str| {
        fx(
            json!({"fn": "phone", "format": format, "default_region": "US"}),
            v,
        )
    };
    assert_eq!(us("e164", "(650) 253-0000"), "+16502530000");
    assert_eq!(us("e164", "650.253.0000"), "+16502530000");
    assert_eq!(us("e164", "1-650-253-0000"), "+16502530000");
    assert_eq!(us("e164", "+44 20 7946 0958"), "+442079460958");
    assert_eq!(us("national", "+1 650 253 0000"), "(650) 253-0000");
    assert_eq!(us("international", "6502530000"), "+1 650-253-0000");
    // Another country's number keeps its country code in the "national" format.
    assert_eq!(us("national", "+44 20 7946 0958"), "+44 20 7946 0958");
    assert_eq!(us("e164", "n/a"), "!f: \"n/a\" is not a phone number");
    assert_eq!(
        us("e164", "555-1234"),
        "!f: \"555-1234\" is not a valid phone number for US"
    );
    assert_eq!(
        us("e164", "650-253-0000 ext. 12"),
        "!f: \"650-253-0000 ext. 12\" has an extension, which E.164 cannot hold"
    );
    assert_eq!(
        us("national", "650-253-0000 ext. 12"),
        "(650) 253-0000 ext. 12"
    );
    assert_eq!(us("e164", "+16502530000"), "+16502530000");
    assert_eq!(us("e164", ""), "");
    let gb = |v: &str| {
        fx(
            json!({"fn": "phone", "format": "national", "default_region": "gb"}),
            v,
        )
    };
    assert_eq!(gb("+442079460958"), "020 7946 0958");
    assert_eq!(gb("+44 (0)20 7946 0958"), "020 7946 0958");
    let none = |v: &str| fx(json!({"fn": "phone"}), v);
    assert_eq!(none("+49 30 12345678"), "+493012345678");
    assert_eq!(
        none("030 12345678"),
        "!f: \"030 12345678\" is not a phone number"
    );
}

#[test]
fn phone_reads_each_record_s_number_in_the_country_of_its_region_field() {
    let e = engine(json!([{"field": "phone", "fn": "phone", "format": "e164",
        "default_region": "US", "region_field": "country"}]));
    assert_eq!(
        e.reads(),
        ["phone", "country"],
        "the scan fetches the country"
    );
    let after = |phone: &str, country: &str| match e
        .plan(&record(&[("phone", phone), ("country", country)]))
    {
        None => phone.to_string(),
        Some(c) => c.fields.first().map_or_else(
            || format!("!{}", c.note.unwrap_or_default()),
            |f| f.after.clone().unwrap_or_default(),
        ),
    };
    // National numbers in the record's own country, however the country is written.
    assert_eq!(after("020 7946 0958", "United Kingdom"), "+442079460958");
    assert_eq!(after("030 12345678", "DE"), "+493012345678");
    assert_eq!(after("030 12345678", "DEU"), "+493012345678");
    assert_eq!(after("01 23 45 67 89", "France"), "+33123456789");
    // No country, or none known: the default region.
    assert_eq!(after("(650) 253-0000", ""), "+16502530000");
    assert_eq!(after("(650) 253-0000", "Narnia"), "+16502530000");
    // A number with its country code keeps it, whatever the record's country.
    assert_eq!(after("+44 20 7946 0958", "DE"), "+442079460958");
    // Without region_field, the German number is read as American and refused.
    assert_eq!(
        fx(
            json!({"fn": "phone", "format": "e164", "default_region": "US"}),
            "030 12345678"
        ),
        "!f: \"030 12345678\" is not a valid phone number for US"
    );

    // The national format writes each number as its own country dials it.
    let national = engine(
        json!([{"field": "phone", "fn": "phone", "format": "national",
        "region_field": "country"}]),
    );
    let c = national
        .plan(&record(&[("phone", "+442079460958"), ("country", "GB")]))
        .expect("a change");
    assert_eq!(c.fields[0].after.as_deref(), Some("020 7946 0958"));

    assert_eq!(
        errors(json!({"object": "contacts", "steps": [
            {"field": "phone", "fn": "phone", "region_field": "phone"},
            {"field": "phone", "fn": "phone", "region_field": " country"}
        ]})),
        [
            "/config/steps/0/region_field: is the phone field itself: name the field holding \
             the record's country",
            "/config/steps/1/region_field: the field name \" country\" has spaces around it"
        ]
    );
}

#[test]
fn email_is_trimmed_lowercased_and_checked() {
    let em = |v: &str| fx(json!({"fn": "email"}), v);
    assert_eq!(em("  Bob.Smith@Example.COM "), "bob.smith@example.com");
    assert_eq!(em("mailto:BOB@x.io"), "bob@x.io");
    assert_eq!(em("<bob@x.io>"), "bob@x.io");
    assert_eq!(em("ÉMILE@Bücher.DE"), "émile@bücher.de");
    assert_eq!(
        em("bob+tag@mail.example.co.uk"),
        "bob+tag@mail.example.co.uk"
    );
    for bad in [
        "bob@",
        "@x.com",
        "bob",
        "bob@x",
        "bo b@x.com",
        "bob@@x.com",
        "bob@x..com",
        ".bob@x.com",
        "bob@-x.com",
        "bob@x.c",
        "bob@1.2.3.4",
    ] {
        assert_eq!(
            em(bad),
            format!("!f: {bad:?} is not a valid email"),
            "{bad}"
        );
    }
}

#[test]
fn country_accepts_names_codes_and_aliases() {
    let name = |v: &str| fx(json!({"fn": "country", "to": "name"}), v);
    let a2 = |v: &str| fx(json!({"fn": "country", "to": "alpha2"}), v);
    let a3 = |v: &str| fx(json!({"fn": "country", "to": "alpha3"}), v);
    for v in [
        "USA",
        "usa",
        "U.S.",
        "U.S.A.",
        "us",
        "United States of America",
        "united states",
        " America ",
    ] {
        assert_eq!(a2(v), "US", "{v}");
    }
    for v in [
        "UK",
        "U.K.",
        "GB",
        "Great Britain",
        "England",
        "united kingdom",
        "GBR",
    ] {
        assert_eq!(name(v), "United Kingdom", "{v}");
    }
    for v in ["Deutschland", "GER", "DEU", "germany", "DE"] {
        assert_eq!(a3(v), "DEU", "{v}");
    }
    assert_eq!(a2("République française"), "FR");
    assert_eq!(a2("Cote d'Ivoire"), "CI");
    assert_eq!(a2("CÔTE D’IVOIRE"), "CI");
    assert_eq!(name("Trinidad & Tobago"), "Trinidad and Tobago");
    assert_eq!(name("St Lucia"), "Saint Lucia");
    assert_eq!(name("Turkey"), "Türkiye");
    assert_eq!(name("Korea, Republic of"), "South Korea");
    assert_eq!(name("AND"), "Andorra");
    assert_eq!(a2("Aus"), "AU");
    assert_eq!(name("Narnia"), "!f: \"Narnia\" is not a country");
}

#[test]
fn state_accepts_codes_names_and_abbreviations() {
    let code = |v: &str| fx(json!({"fn": "state", "to": "code"}), v);
    let name = |v: &str| fx(json!({"fn": "state", "to": "name"}), v);
    assert_eq!(code("California"), "CA");
    assert_eq!(code("Calif."), "CA");
    assert_eq!(code("ca"), "CA");
    assert_eq!(code("Québec"), "QC");
    assert_eq!(code("Washington, D.C."), "DC");
    assert_eq!(code("new york"), "NY");
    assert_eq!(name("ON"), "Ontario");
    assert_eq!(name("mass."), "Massachusetts");
    assert_eq!(name("P.E.I."), "Prince Edward Island");
    assert_eq!(
        code("Bavaria"),
        "!f: \"Bavaria\" is not a US state or Canadian province"
    );
    let us_only = |v: &str| fx(json!({"fn": "state", "to": "code", "country": "US"}), v);
    assert_eq!(us_only("Texas"), "TX");
    assert_eq!(us_only("Ontario"), "!f: \"Ontario\" is not a US state");
}

#[test]
fn split_name_fills_first_and_last() {
    let e = engine(
        json!([{"field": "name", "fn": "split_name", "first": "firstname", "last": "lastname"}]),
    );
    let split = |v: &str| {
        let c = e.plan(&record(&[("name", v)]));
        let get = |f: &str| {
            c.as_ref()
                .and_then(|c| c.fields.iter().find(|x| x.field == f))
                .and_then(|x| x.after.clone())
        };
        (get("firstname"), get("lastname"))
    };
    let some = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
    assert_eq!(split("John Smith"), some("John", "Smith"));
    assert_eq!(split("  Mary Ann   Smith "), some("Mary Ann", "Smith"));
    assert_eq!(split("Smith, John"), some("John", "Smith"));
    assert_eq!(split("Dr. Maria de la Cruz"), some("Maria", "de la Cruz"));
    assert_eq!(
        split("Ludwig van Beethoven"),
        some("Ludwig", "van Beethoven")
    );
    assert_eq!(split("John Smith, Jr."), some("John", "Smith Jr."));
    assert_eq!(
        split("Martin Luther King Jr"),
        some("Martin Luther", "King Jr")
    );
    assert_eq!(split("Émile Zoë"), some("Émile", "Zoë"));
    assert_eq!(split("Madonna"), (Some("Madonna".into()), None));
    assert_eq!(split(""), (None, None));
    assert_eq!(e.reads(), ["name", "firstname", "lastname"]);
    assert_eq!(e.columns(), ["firstname", "lastname"]);
}

#[test]
fn join_skips_empty_values_and_leaves_the_target_when_all_are_empty() {
    let e = engine(
        json!([{"field": "address", "fn": "join", "from": ["street", "city", "zip"], "separator": ", "}]),
    );
    let c = e
        .plan(&record(&[
            ("street", " 1 Main St "),
            ("city", ""),
            ("zip", "02139"),
        ]))
        .expect("a change");
    assert_eq!(c.fields[0].after.as_deref(), Some("1 Main St, 02139"));
    assert_eq!(e.plan(&record(&[("address", "kept")])), None);
    assert_eq!(e.reads(), ["address", "street", "city", "zip"]);
    assert_eq!(e.columns(), ["address"]);
}

#[test]
fn copy_writes_the_source_value_unless_it_is_empty() {
    let e = engine(json!([{"field": "mobile", "fn": "copy", "from": "phone"}]));
    let c = e
        .plan(&record(&[("phone", "+1 650"), ("mobile", "old")]))
        .expect("a change");
    assert_eq!(c.fields[0].before.as_deref(), Some("old"));
    assert_eq!(c.fields[0].after.as_deref(), Some("+1 650"));
    assert_eq!(e.plan(&record(&[("phone", ""), ("mobile", "old")])), None);
}

#[test]
fn replace_uses_the_regex_and_groups() {
    let r = |p: &str, w: &str, v: &str| fx(json!({"fn": "replace", "pattern": p, "with": w}), v);
    assert_eq!(r(r"(\d{3})(\d{4})", "$1-$2", "5551234"), "555-1234");
    assert_eq!(r(r"(?P<y>\d{4})", "Y${y}", "in 2024"), "in Y2024");
    assert_eq!(r("inc\\.?$", "Inc.", "Acme inc"), "Acme Inc.");
    assert_eq!(r("x", "$$", "axb"), "a$b");
    assert_eq!(
        fx(
            json!({"fn": "replace", "pattern": "ACME", "with": "Acme", "ignore_case": true}),
            "acme Ltd"
        ),
        "Acme Ltd"
    );
    assert_eq!(r("^.*$", "", "gone"), "");
}

#[test]
fn remove_drops_characters_and_classes() {
    let rm = |step: Value, v: &str| fx(step, v);
    assert_eq!(
        rm(json!({"fn": "remove", "chars": "()-. "}), "(650) 253-0000"),
        "6502530000"
    );
    assert_eq!(
        rm(json!({"fn": "remove", "chars": "]^\\"}), "a]b^c\\d"),
        "abcd"
    );
    assert_eq!(
        rm(json!({"fn": "remove", "classes": ["digits"]}), "R2-D2 ٣"),
        "R-D "
    );
    assert_eq!(
        rm(
            json!({"fn": "remove", "classes": ["punctuation"]}),
            "¡Hola, señor!"
        ),
        "Hola señor"
    );
    assert_eq!(
        rm(
            json!({"fn": "remove", "classes": ["non_printable"]}),
            "a\u{200b}b\u{feff}\tc"
        ),
        "ab\tc"
    );
    assert_eq!(
        rm(json!({"fn": "remove", "classes": ["non_ascii"]}), "Zoë 😀"),
        "Zo "
    );
    assert_eq!(
        rm(
            json!({"fn": "remove", "classes": ["letters", "whitespace"]}),
            "Émile 42"
        ),
        "42"
    );
    assert_eq!(
        rm(json!({"fn": "remove", "classes": ["symbols"]}), "$5 + €3"),
        "5  3"
    );
}

#[test]
fn date_reads_common_layouts() {
    let iso = |v: &str| fx(json!({"fn": "date", "to": "%Y-%m-%d"}), v);
    for v in [
        "2024-03-05",
        "2024-3-5",
        "3/5/2024",
        "03/05/24",
        "3-5-2024",
        "05.03.2024",
        "March 5, 2024",
        "Mar 5 2024",
        "5 March 2024",
        "05-Mar-2024",
        "2024-03-05T10:00:00Z",
        "2024-03-05 10:00",
        "2024/03/05",
        "20240305",
        "Tuesday, March 5, 2024",
        "3/5/2024 10:30 AM",
        "Tue, 5 Mar 2024 10:00:00 +0000",
        "1709596800000",
        "1709596800",
    ] {
        assert_eq!(iso(v), "2024-03-05", "{v}");
    }
    // The time zone's wall date is kept, not converted.
    assert_eq!(iso("2024-03-05T23:30:00-05:00"), "2024-03-05");
    // Month-first unless told otherwise; a day over 12 can only be day-first.
    assert_eq!(iso("13/05/2024"), "2024-05-13");
    assert_eq!(
        fx(
            json!({"fn": "date", "to": "%Y-%m-%d", "day_first": true}),
            "03/05/2024"
        ),
        "2024-05-03"
    );
    assert_eq!(iso("next tuesday"), "!f: \"next tuesday\" is not a date");
    assert_eq!(iso("2024-02-30"), "!f: \"2024-02-30\" is not a date");
    let long = |v: &str| fx(json!({"fn": "date", "to": "%-d %B %Y"}), v);
    assert_eq!(long("2024-03-05"), "5 March 2024");
    let stamp = |v: &str| fx(json!({"fn": "date", "to": "%Y-%m-%dT%H:%M:%S%:z"}), v);
    assert_eq!(stamp("3/5/2024 2:07 PM"), "2024-03-05T14:07:00+00:00");
    assert_eq!(
        stamp("2024-03-05T14:07:00+01:00"),
        "2024-03-05T14:07:00+01:00"
    );
    let given = |v: &str| {
        fx(
            json!({"fn": "date", "from": ["%d/%m/%Y"], "to": "%Y-%m-%d"}),
            v,
        )
    };
    assert_eq!(given("05/03/2024"), "2024-03-05");
    assert_eq!(given("2024-03-05"), "2024-03-05");
    assert_eq!(
        given("March 5, 2024"),
        "!f: \"March 5, 2024\" is not a date in any of the `from` formats"
    );
}

#[test]
fn default_fills_empty_values_only() {
    let d = |v: &str| fx(json!({"fn": "default", "value": "Unknown"}), v);
    assert_eq!(d(""), "Unknown");
    assert_eq!(d("  "), "Unknown");
    assert_eq!(d("Acme"), "Acme");
    let e = engine(json!([{"field": "source", "fn": "default", "value": "import"}]));
    let c = e.plan(&record(&[])).expect("a missing field is empty");
    assert_eq!(c.fields[0].before, None);
    assert_eq!(c.fields[0].after.as_deref(), Some("import"));
}

#[test]
fn domain_reduces_urls_and_emails() {
    let d = |v: &str| fx(json!({"fn": "domain"}), v);
    assert_eq!(d("https://www.Acme.com:8080/about?x=1#top"), "acme.com");
    assert_eq!(d("http://user:pw@shop.acme.co.uk/"), "shop.acme.co.uk");
    assert_eq!(d("www.acme.com"), "acme.com");
    assert_eq!(d("acme.com."), "acme.com");
    assert_eq!(d("bob@acme.com"), "acme.com");
    assert_eq!(d("//cdn.acme.io/x.js"), "cdn.acme.io");
    assert_eq!(d("www.com"), "www.com");
    assert_eq!(d("https://BÜCHER.de"), "bücher.de");
    assert_eq!(d("xn--bcher-kva.de"), "xn--bcher-kva.de");
    assert_eq!(d("n/a"), "!f: \"n/a\" is not a web address");
    assert_eq!(
        d("http://localhost:3000"),
        "!f: \"http://localhost:3000\" is not a web address"
    );
    assert_eq!(d("192.168.0.1"), "!f: \"192.168.0.1\" is not a web address");
}

// ---- the engine ----

#[test]
fn steps_chain_and_only_changed_fields_are_listed() {
    let e = engine(json!([
        {"field": "firstname", "fn": "trim"},
        {"field": "firstname", "fn": "title_case"},
        {"field": "email", "fn": "email"},
        {"field": "phone", "fn": "phone", "default_region": "US"},
        {"field": "fullname", "fn": "join", "from": ["firstname", "lastname"]},
    ]));
    assert_eq!(
        e.reads(),
        ["firstname", "email", "phone", "fullname", "lastname"]
    );
    assert_eq!(e.columns(), ["firstname", "email", "phone", "fullname"]);
    let c = e
        .plan(&record(&[
            ("firstname", "  JOHN "),
            ("lastname", "Smith"),
            ("email", "john@acme.com"),
            ("phone", "call me"),
        ]))
        .expect("a change");
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.id.as_deref(), Some("1"));
    assert_eq!(
        c.fields,
        vec![
            FieldChange {
                field: "firstname".into(),
                before: Some("  JOHN ".into()),
                after: Some("John".into())
            },
            FieldChange {
                field: "fullname".into(),
                before: None,
                after: Some("John Smith".into())
            },
        ]
    );
    assert_eq!(
        c.note.as_deref(),
        Some("phone: \"call me\" is not a phone number")
    );
}

#[test]
fn nothing_to_change_is_no_change() {
    let e = config(json!([{"field": "email", "fn": "email"}]));
    let e = TransformConfig {
        flag_problems: false,
        ..e
    }
    .compile()
    .expect("valid");
    assert_eq!(e.plan(&record(&[("email", "bob@acme.com")])), None);
    assert_eq!(e.plan(&record(&[])), None);
    // A problem alone is no change unless flag_problems is set.
    assert_eq!(e.plan(&record(&[("email", "bob@")])), None);
    let flagged = engine(json!([{"field": "email", "fn": "email"}]))
        .plan(&record(&[("email", "bob@")]))
        .expect("flagged");
    assert_eq!(flagged.action, Action::Flag);
    assert!(flagged.fields.is_empty());
    assert_eq!(
        flagged.note.as_deref(),
        Some("email: \"bob@\" is not a valid email")
    );
}

#[test]
fn a_value_cleared_to_empty_is_written_as_empty_and_empty_equals_missing() {
    let e = engine(json!([{"field": "x", "fn": "trim"}]));
    let c = e.plan(&record(&[("x", "   ")])).expect("a change");
    assert_eq!(c.fields[0].after, None);
    assert_eq!(e.plan(&record(&[("x", "")])), None);
    let mut r = record(&[]);
    r.properties.insert("x".into(), None);
    assert_eq!(e.plan(&r), None);
}

#[test]
fn notes_quote_long_values_briefly() {
    let long = "x".repeat(500);
    let note = fx(json!({"fn": "email"}), &long);
    assert!(note.len() < 120, "{note}");
    assert!(note.contains("…"), "{note}");
}

#[test]
fn a_compiled_step_applies_to_one_value() {
    let e = engine(json!([
        {"field": "phone", "fn": "phone", "default_region": "US"},
        {"field": "full", "fn": "join", "from": ["first", "last"]},
    ]));
    let r = record(&[("first", "Ada"), ("last", "Lovelace")]);
    let phone = &e.steps()[0];
    assert_eq!(phone.field(), "phone");
    assert_eq!(
        phone.apply(Some("650 253 0000"), &r).writes,
        [("phone".to_string(), Some("+16502530000".to_string()))]
    );
    assert_eq!(phone.apply(Some("+16502530000"), &r), StepResult::default());
    assert_eq!(
        phone.apply(Some("x"), &r).problem.as_deref(),
        Some("\"x\" is not a phone number")
    );
    assert_eq!(
        e.steps()[1].apply(None, &r).writes,
        [("full".to_string(), Some("Ada Lovelace".to_string()))]
    );
}

#[test]
fn country_and_state_tables_are_consistent() {
    let mut seen = std::collections::HashMap::new();
    for (i, (a2, a3, name, aliases)) in places::COUNTRIES.iter().enumerate() {
        assert_eq!(a2.len(), 2, "{a2}");
        assert_eq!(a3.len(), 3, "{a3}");
        for spelling in [*a2, *a3, *name].into_iter().chain(aliases.iter().copied()) {
            assert_eq!(places::country(spelling), Some(i), "{spelling} -> {name}");
            if let Some(j) = seen.insert(places::key(spelling), i) {
                assert_eq!(i, j, "{spelling} names two countries");
            }
        }
    }
    // ISO 3166-1's 249 countries, and Kosovo.
    assert_eq!(places::COUNTRIES.len(), 250);
    for (i, (country, code, name, aliases)) in places::STATES.iter().enumerate() {
        for spelling in [*code, *name].into_iter().chain(aliases.iter().copied()) {
            assert_eq!(
                places::state(spelling, &["US", "CA"]),
                Some(i),
                "{spelling}"
            );
            assert_eq!(places::state(spelling, &[country]), Some(i), "{spelling}");
        }
    }
}

// ---- properties ----

/// Names as people type them: mixed case, particles, prefixes, apostrophes, hyphens.
fn names() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-zA-Z]{1,8}",
        "[a-zà-ÿA-ZÀ-Þ]{1,8}",
        Just("mc".to_string()),
        Just("MAC".to_string()),
        Just("macleod".to_string()),
        Just("o'".to_string()),
        Just("d’".to_string()),
        Just("van".to_string()),
        Just("DE".to_string()),
        Just("la".to_string()),
        Just("iii".to_string()),
        Just("ß".to_string()),
        Just("İ".to_string()),
        Just("ǅ".to_string()),
        Just("ſ".to_string()),
        Just("ς".to_string()),
        Just("ΟΔΟΣ".to_string()),
        Just("e\u{301}".to_string()),
        Just("-".to_string()),
        Just("'".to_string()),
    ];
    let sep = prop_oneof![Just(" "), Just("  "), Just("-"), Just(""), Just("\t")];
    prop::collection::vec((word, sep), 0..6)
        .prop_map(|parts| parts.into_iter().map(|(w, s)| w + s).collect())
}

fn emails() -> impl Strategy<Value = String> {
    "[ ]?[a-zA-Z0-9._%+'-]{0,8}@?[a-zA-Z0-9.-]{0,8}(\\.[a-zA-Z]{1,4})?[ ]?"
}

fn phones() -> impl Strategy<Value = String> {
    prop_oneof![
        "[+]?[0-9 ().-]{0,16}",
        "(\\+1 ?)?\\(?[2-9][0-9]{2}\\)?[ .-]?[2-9][0-9]{2}[ .-]?[0-9]{4}( (ext\\.?|x) ?[0-9]{1,4})?",
        "\\+44 ?(\\(0\\))?[1-9][0-9 ]{8,11}",
        "0[1-9][0-9 ]{8,11}",
    ]
}

fn countries() -> impl Strategy<Value = String> {
    let spellings: Vec<String> = places::COUNTRIES
        .iter()
        .flat_map(|(a2, a3, name, aliases)| {
            [*a2, *a3, *name]
                .into_iter()
                .chain(aliases.iter().copied())
                .map(str::to_string)
        })
        .chain(places::STATES.iter().flat_map(|(_, code, name, aliases)| {
            [*code, *name]
                .into_iter()
                .chain(aliases.iter().copied())
                .map(str::to_string)
        }))
        .collect();
    prop_oneof![
        prop::sample::select(spellings.clone()),
        prop::sample::select(spellings).prop_map(|s| s.to_uppercase()),
        "[a-zA-Z .']{0,12}",
    ]
}

fn dates() -> impl Strategy<Value = String> {
    let layouts = prop::sample::select(vec![
        "%Y-%m-%d",
        "%-m/%-d/%Y",
        "%m/%d/%y",
        "%d.%m.%Y",
        "%B %-d, %Y",
        "%-d %b %Y",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S%:z",
        "%d-%b-%Y",
        "%Y%m%d",
        "%m/%d/%Y %I:%M %p",
        "%A, %B %-d, %Y",
        "%s",
    ]);
    let formatted = (0i64..40_000, 0u32..86_400, layouts).prop_map(|(days, secs, layout)| {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
            + chrono::Duration::days(days)
            + chrono::Duration::seconds(secs.into());
        at.format(layout).to_string()
    });
    prop_oneof![4 => formatted, 1 => "[0-9/.: a-zA-Z-]{0,14}"]
}

fn urls() -> impl Strategy<Value = String> {
    "[ ]?((https?|ftp)://)?([a-z]{1,4}(:[a-z]{1,3})?@)?(www\\.|WWW\\.){0,2}[a-zA-Z0-9ü-]{1,8}(\\.[a-zA-Z]{1,4}){1,2}\\.?(:[0-9]{1,4})?(/[a-z?=#.]{0,6})?"
}

/// Inputs for the functions: each case draws one of each kind.
#[derive(Debug, Clone)]
struct Inputs {
    any: String,
    name: String,
    email: String,
    phone: String,
    place: String,
    date: String,
    url: String,
}

fn inputs() -> impl Strategy<Value = Inputs> {
    (
        any::<String>(),
        names(),
        emails(),
        phones(),
        countries(),
        dates(),
        urls(),
    )
        .prop_map(|(any, name, email, phone, place, date, url)| Inputs {
            any,
            name,
            email,
            phone,
            place,
            date,
            url,
        })
}

/// Which of the inputs exercises a function.
type Pick = fn(&Inputs) -> &str;

/// Every single-value function with its parameters, and which input exercises it.
fn function_cases() -> Vec<(Value, Pick)> {
    vec![
        (json!({"fn": "trim"}), |i| &i.any),
        (json!({"fn": "trim", "collapse": false}), |i| &i.any),
        (json!({"fn": "upper"}), |i| &i.any),
        (json!({"fn": "upper"}), |i| &i.name),
        (json!({"fn": "lower"}), |i| &i.any),
        (json!({"fn": "lower"}), |i| &i.name),
        (json!({"fn": "title_case"}), |i| &i.name),
        (json!({"fn": "title_case"}), |i| &i.any),
        (
            json!({"fn": "title_case", "mac": true, "particles": false}),
            |i| &i.name,
        ),
        (json!({"fn": "title_case", "mac": true}), |i| &i.any),
        (json!({"fn": "phone", "default_region": "US"}), |i| &i.phone),
        (
            json!({"fn": "phone", "format": "national", "default_region": "US"}),
            |i| &i.phone,
        ),
        (
            json!({"fn": "phone", "format": "international", "default_region": "GB"}),
            |i| &i.phone,
        ),
        (
            json!({"fn": "phone", "format": "national", "default_region": "GB"}),
            |i| &i.phone,
        ),
        (
            json!({"fn": "phone", "format": "national", "default_region": "FR"}),
            |i| &i.phone,
        ),
        (json!({"fn": "phone"}), |i| &i.phone),
        (json!({"fn": "phone", "default_region": "DE"}), |i| &i.any),
        (json!({"fn": "email"}), |i| &i.email),
        (json!({"fn": "email"}), |i| &i.any),
        (json!({"fn": "country", "to": "name"}), |i| &i.place),
        (json!({"fn": "country", "to": "alpha2"}), |i| &i.place),
        (json!({"fn": "country", "to": "alpha3"}), |i| &i.any),
        (json!({"fn": "state", "to": "code"}), |i| &i.place),
        (json!({"fn": "state", "to": "name"}), |i| &i.place),
        (
            json!({"fn": "remove", "chars": "()-", "classes": ["non_printable", "symbols"]}),
            |i| &i.any,
        ),
        (
            json!({"fn": "remove", "classes": ["letters", "digits"]}),
            |i| &i.any,
        ),
        (
            json!({"fn": "replace", "pattern": "\\s+", "with": " "}),
            |i| &i.any,
        ),
        (json!({"fn": "date", "to": "%Y-%m-%d"}), |i| &i.date),
        (json!({"fn": "date", "to": "%-d %B %Y"}), |i| &i.date),
        (
            json!({"fn": "date", "to": "%m/%d/%Y", "day_first": true}),
            |i| &i.date,
        ),
        (json!({"fn": "date", "to": "%Y-%m-%dT%H:%M:%S%:z"}), |i| {
            &i.date
        }),
        (json!({"fn": "date", "to": "%d.%m.%Y"}), |i| &i.any),
        (json!({"fn": "default", "value": "n/a"}), |i| &i.any),
        (json!({"fn": "domain"}), |i| &i.url),
        (json!({"fn": "domain"}), |i| &i.email),
        (json!({"fn": "domain"}), |i| &i.any),
    ]
}

/// The engines of `function_cases`, compiled once.
fn function_engines() -> &'static [(Value, Pick, TransformEngine)] {
    static ENGINES: std::sync::LazyLock<Vec<(Value, Pick, TransformEngine)>> =
        std::sync::LazyLock::new(|| {
            function_cases()
                .into_iter()
                .map(|(mut step, pick)| {
                    step["field"] = json!("f");
                    let e = engine(json!([step.clone()]));
                    (step, pick, e)
                })
                .collect()
        });
    &ENGINES
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Our validity check is phonenumber's, to the number: same metadata, same rule.
    #[test]
    fn phone_validity_matches_phonenumber(
        region in prop::sample::select(vec!["US", "CA", "GB", "DE", "FR", "AU", "IT", "BR", "IN", "JP"]),
        text in prop_oneof![
            phones(),
            "\\+[1-9][0-9]{6,13}",
            "\\+(1|44|49|33|61|39|800|979|7|86|91|81)[0-9]{5,11}",
            "0?[1-9][0-9]{5,10}",
        ],
    ) {
        let id: phonenumber::country::Id = region.parse().expect("a region");
        if let Ok(n) = phonenumber::parse(Some(id), &text) {
            prop_assert_eq!(phone::is_valid(&n), n.is_valid(), "{} in {}", text, region);
        }
    }

    /// Digits that cannot be a North American number are not, says libphonenumber too.
    #[test]
    fn surely_invalid_north_american_numbers_are(
        region in prop::sample::select(vec!["US", "CA"]),
        text in prop_oneof![
            "[0-9]{1,16}",
            "0[0-9]{2,4}[ /-][0-9]{3,9}",
            "\\(?[0-9]{3}\\)? ?[0-9]{3}[-. ][0-9]{3,5}",
            "1[ -]?[0-9]{3}[ -][0-9]{3}[ -][0-9]{3,6}",
        ],
    ) {
        let r = phone::Region::parse(region).expect("a region");
        if phone::surely_invalid_nanp(&text, Some(r)) {
            let id: phonenumber::country::Id = region.parse().expect("an id");
            let valid = phonenumber::parse(Some(id), &text).ok().filter(phonenumber::is_valid);
            prop_assert!(valid.is_none(), "{} is valid in {}", text, region);
        }
    }

    /// Where the E.164 shortcut answers, libphonenumber's parse says the same: a valid
    /// number with the same calling code and national number. (Where it does not answer,
    /// the value takes the parse.)
    #[test]
    fn the_e164_shortcut_agrees_with_phonenumber(
        text in prop_oneof![
            "\\+[1-9][0-9]{6,13}",
            "\\+(1|44|49|33|61|39|55|91|81|86|7|800|979|352|1242)[0-9]{5,11}",
        ],
    ) {
        let parsed = phonenumber::parse(None, &text).ok().filter(phonenumber::is_valid);
        match phone::e164_shortcut(&text) {
            phone::Shortcut::Valid(code, national) => prop_assert_eq!(
                Some((code, national.to_string())),
                parsed.map(|n| (n.code().value(), n.national().to_string())),
                "{}", text
            ),
            phone::Shortcut::Invalid => prop_assert!(parsed.is_none(), "{} is valid", text),
            phone::Shortcut::Unsure => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// f(f(x)) == f(x) for every single-value function: a second run changes nothing.
    /// (`replace` is idempotent only for some patterns, `join` only when its target is
    /// not a source, which `check` enforces: both are covered by the chain below.)
    #[test]
    fn every_function_is_idempotent(input in inputs()) {
        for (step, pick, e) in function_engines() {
            let x = pick(&input);
            let once = value_after(e, x);
            let twice = value_after(e, &once);
            prop_assert_eq!(&twice, &once, "step {} on {:?}", step, x);
        }
    }

    /// A realistic chain, applied to its own output, changes nothing more.
    #[test]
    fn a_chain_is_idempotent(
        first in names(),
        last in names(),
        email in emails(),
        phone in phones(),
        country in countries(),
        state in countries(),
        website in urls(),
        born in dates(),
    ) {
        let e = engine(json!([
            {"field": "firstname", "fn": "trim"},
            {"field": "firstname", "fn": "title_case"},
            {"field": "lastname", "fn": "trim"},
            {"field": "lastname", "fn": "title_case", "mac": true},
            {"field": "fullname", "fn": "join", "from": ["firstname", "lastname"]},
            {"field": "fullname", "fn": "split_name", "first": "first2", "last": "last2"},
            {"field": "email", "fn": "email"},
            {"field": "phone", "fn": "phone", "format": "national", "default_region": "US"},
            {"field": "country", "fn": "country", "to": "alpha2"},
            {"field": "state", "fn": "state", "to": "name"},
            {"field": "website", "fn": "domain"},
            {"field": "born", "fn": "date", "to": "%Y-%m-%d"},
            {"field": "source", "fn": "default", "value": "import"},
        ]));
        let r = record(&[
            ("firstname", &first), ("lastname", &last), ("email", &email), ("phone", &phone),
            ("country", &country), ("state", &state), ("website", &website), ("born", &born),
        ]);
        let mut fixed = r.clone();
        if let Some(c) = e.plan(&r) {
            for f in c.fields {
                fixed.properties.insert(f.field, f.after);
            }
        }
        let again = e.plan(&fixed);
        prop_assert!(
            again.as_ref().is_none_or(|c| c.fields.is_empty()),
            "second run changed {:?}", again
        );
    }

    /// A record's plan depends on that record alone: an engine that has planned other
    /// records first (a run plans millions through one engine) plans it as a fresh one
    /// does.
    #[test]
    fn a_plan_depends_on_its_record_alone(
        first in names(),
        email in emails(),
        phone in phones(),
        country in countries(),
        born in dates(),
        others in prop::collection::vec((names(), emails(), phones(), countries(), dates()), 1..4),
    ) {
        let steps = json!([
            {"field": "firstname", "fn": "title_case"},
            {"field": "firstname", "fn": "split_name", "first": "a", "last": "b"},
            {"field": "email", "fn": "email"},
            {"field": "phone", "fn": "phone", "default_region": "US"},
            {"field": "country", "fn": "country", "to": "name"},
            {"field": "born", "fn": "date", "to": "%d %B %Y"},
        ]);
        let as_record = |(first, email, phone, country, born): (&str, &str, &str, &str, &str)| {
            record(&[
                ("firstname", first), ("email", email), ("phone", phone),
                ("country", country), ("born", born),
            ])
        };
        let r = as_record((&first, &email, &phone, &country, &born));
        let busy = engine(steps.clone());
        for (f, e, p, c, b) in &others {
            busy.plan(&as_record((f, e, p, c, b)));
        }
        prop_assert_eq!(busy.plan(&r), engine(steps).plan(&r));
    }

}

/// No function but `default` invents a value for a missing field.
#[test]
fn missing_values_stay_missing() {
    for (step, _, e) in function_engines() {
        let is_default = step["fn"] == "default";
        assert_eq!(e.plan(&record(&[])).is_some(), is_default, "{step}");
    }
}

/// The worked example of `docs/modules/transform.md`.
#[test]
fn the_documented_example_holds() {
    let template = json!({
        "module": "transform",
        "name": "Clean contact basics",
        "config": {
            "object": "contacts",
            "steps": [
                {"field": "firstname", "fn": "trim"},
                {"field": "firstname", "fn": "title_case"},
                {"field": "lastname", "fn": "title_case"},
                {"field": "email", "fn": "email"},
                {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"},
                {"field": "country", "fn": "country", "to": "alpha2"},
                {"field": "website", "fn": "domain"}
            ]
        }
    });
    let config: TransformConfig =
        serde_json::from_value(template["config"].clone()).expect("the documented config");
    let e = config.engine().expect("valid");
    let input = [
        (
            "201",
            [
                " JOHN ",
                "mcdonald",
                "John.McDonald@Example.COM",
                "(650) 253-0000",
                "USA",
                "https://www.example.com/about",
            ],
        ),
        (
            "202",
            ["Maria", "de la cruz", "maria@", "n/a", "Deutschland", ""],
        ),
        (
            "203",
            [
                "Ada",
                "Lovelace",
                "ada@example.org",
                "+442079460958",
                "GB",
                "example.org",
            ],
        ),
    ];
    let fields = [
        "firstname",
        "lastname",
        "email",
        "phone",
        "country",
        "website",
    ];
    let mut w =
        crate::modules::csv::AuditWriter::new(Vec::new(), &e.columns(), false).expect("a writer");
    for (id, values) in input {
        let mut r = record(&fields.iter().copied().zip(values).collect::<Vec<_>>());
        r.id = id.into();
        if let Some(c) = e.plan(&r) {
            w.write_change(&c, None).expect("written");
        }
    }
    let csv = String::from_utf8(w.finish().expect("finished")).expect("utf-8");
    assert_eq!(
        csv,
        "record_id,action,group_id,role,note,firstname (before),firstname (after),lastname (before),lastname (after),email (before),email (after),phone (before),phone (after),country (before),country (after),website (before),website (after)\r\n\
         201,update,,,, JOHN ,John,mcdonald,McDonald,John.McDonald@Example.COM,john.mcdonald@example.com,(650) 253-0000,'+16502530000,USA,US,https://www.example.com/about,example.com\r\n\
         202,update,,,\"email: \"\"maria@\"\" is not a valid email; phone: \"\"n/a\"\" is not a phone number\",,,de la cruz,de la Cruz,,,,,Deutschland,DE,,\r\n",
        "{csv}"
    );
    assert_eq!(
        e.reads(),
        [
            "firstname",
            "lastname",
            "email",
            "phone",
            "country",
            "website"
        ]
    );
}

/// What a template author sees through the templates API's parser.
#[test]
fn template_errors_point_at_the_step_and_name_the_key() {
    use crate::modules::{Module, ModuleConfig};
    let refused = |config: Value| match ModuleConfig::parse(Module::Transform, &config) {
        Err(crate::Error::Invalid { errors, .. }) => errors
            .into_iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect::<Vec<_>>(),
        other => panic!("expected Invalid, got {other:?}"),
    };
    let e = refused(json!({"object": "c", "steps": [
        {"field": "a", "fn": "trim"},
        {"field": "p", "fn": "phone", "format": "e165"},
    ]}));
    assert_eq!(
        e,
        [
            "/config/steps/1: format: unknown variant `e165`, expected one of `e164`, `national`, `international`"
        ]
    );
    let e = refused(json!({"object": "c", "steps": [
        {"field": "a", "fn": "replace", "pattern": "(x"},
        {"field": "b", "fn": "phone", "default_region": "XX"},
    ]}));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("/config/steps/0/pattern: regex parse error"),
        "{e:?}"
    );
}

#[test]
fn the_e164_shortcut_answers_for_common_numbers() {
    for (text, code, national) in [
        ("+14155550132", 1, "4155550132"),
        ("+442079460958", 44, "2079460958"),
        ("+4930123456", 49, "30123456"),
        ("+33142685300", 33, "142685300"),
        ("+61291234567", 61, "291234567"),
    ] {
        assert_eq!(phone::valid_e164(text), Some((code, national)), "{text}");
    }
    assert_eq!(phone::valid_e164("+1415555013"), None, "too short");
}
