//! `steward run` end to end: the real binary over CSV files, for each module.

use std::path::Path;
use std::process::Command;

fn steward(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .output()
        .expect("steward runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `steward run --template T --csv C --out O` and `extra` arguments.
fn run_template(template: &str, csv: &str, out: &str, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["run", "--template", template, "--csv", csv, "--out", out];
    args.extend_from_slice(extra);
    steward(&args)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut out = vec![r.headers().unwrap().iter().map(str::to_string).collect()];
    for row in r.records() {
        out.push(row.unwrap().iter().map(str::to_string).collect());
    }
    out
}

const CONTACTS: &str = "id,firstname,lastname,email,phone,country\n\
1,  JOHN ,o'brien,John@Example.COM,(415) 555-0132,USA\n\
2,Ann,Lee,ann@example.com,+14155550199,US\n\
3,=cmd|' /C calc'!A0,x,,not a phone,Deutschland\n";

const TRANSFORM: &str = r#"{"module": "transform", "name": "Tidy contacts", "config": {
  "object": "contacts",
  "steps": [
    {"field": "firstname", "fn": "trim"},
    {"field": "firstname", "fn": "title_case"},
    {"field": "lastname", "fn": "title_case"},
    {"field": "email", "fn": "email"},
    {"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"},
    {"field": "country", "fn": "country", "to": "alpha2"}
  ]}}"#;

#[test]
fn a_transform_previews_then_applies() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "contacts.csv", CONTACTS);
    let template = write(dir.path(), "t.json", TRANSFORM);
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("scanned 3 records"), "{stdout}");
    assert!(!out.join("result.csv").exists(), "preview writes no result");
    let preview = rows(&out.join("preview.csv"));
    let header = &preview[0];
    assert_eq!(
        &header[..5],
        &["record_id", "action", "group_id", "role", "note"]
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let one = preview
        .iter()
        .find(|r| r[0] == "1")
        .expect("record 1 changes");
    assert_eq!(one[1], "update");
    assert_eq!(one[col("firstname (after)")], "John");
    assert_eq!(one[col("lastname (after)")], "O'Brien");
    assert_eq!(one[col("email (after)")], "john@example.com");
    assert_eq!(one[col("phone (before)")], "(415) 555-0132");
    // A leading + is quoted like any formula start (docs/modules/plan-csv.md).
    assert_eq!(one[col("phone (after)")], "'+14155550132");
    assert_eq!(one[col("country (after)")], "US");
    // Formula-looking values are neutralized in the report.
    let three = preview
        .iter()
        .find(|r| r[0] == "3")
        .expect("record 3 changes");
    assert!(
        three[col("firstname (before)")].starts_with("'="),
        "{three:?}"
    );
    assert!(
        three[4].contains("phone"),
        "the bad phone is noted: {three:?}"
    );

    let (ok, _, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(ok, "{stderr}");
    let preview = rows(&out.join("preview.csv"));
    assert!(preview[0].ends_with(&[
        "outcome".into(),
        "error_code".into(),
        "error_message".into()
    ]));
    let result = rows(&out.join("result.csv"));
    assert_eq!(
        result[0],
        ["id", "firstname", "lastname", "email", "phone", "country"]
    );
    assert_eq!(
        result[1],
        [
            "1",
            "John",
            "O'Brien",
            "john@example.com",
            "+14155550132",
            "US"
        ]
    );
    assert_eq!(result[2][0], "2");
    assert_eq!(result.len(), 4);
    // Re-running on the result changes nothing: the transform is idempotent.
    let result_csv = out.join("result.csv");
    let out2 = dir.path().join("out2");
    let (ok, stdout, stderr) = run_template(
        &template,
        result_csv.to_str().unwrap(),
        out2.to_str().unwrap(),
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("0 updates"), "{stdout}");
}

#[test]
fn bulk_archives_and_validate_flags() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "contacts.csv", CONTACTS);
    let bulk = write(
        dir.path(),
        "bulk.json",
        r#"{"module": "bulk", "name": "Drop no-email", "config": {"object": "contacts",
            "filter": {"field": "email", "op": "is_empty"}, "actions": [{"archive": {}}]}}"#,
    );
    let out = dir.path().join("bulk");
    let (ok, stdout, stderr) = run_template(&bulk, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 archives"), "{stdout}");
    let result = rows(&out.join("result.csv"));
    assert_eq!(result.len(), 3, "record 3 is archived: {result:?}");

    let validate = write(
        dir.path(),
        "validate.json",
        r#"{"module": "validate", "name": "Emails", "config": {"object": "contacts",
            "rules": [{"rule": "required", "field": "email"}, {"rule": "email", "field": "email"}]}}"#,
    );
    let out = dir.path().join("validate");
    let (ok, stdout, stderr) = run_template(&validate, &csv, out.to_str().unwrap(), &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 flagged"), "{stdout}");
    let preview = rows(&out.join("preview.csv"));
    let three = preview.iter().find(|r| r[0] == "3").unwrap();
    assert_eq!(three[1], "flag");
    assert!(three[4].contains("required"), "{three:?}");
}

/// The cell of `row` under `column` in a CSV read by `rows` (header first).
fn cell<'a>(table: &'a [Vec<String>], row: &'a [String], column: &str) -> &'a str {
    let at = table[0].iter().position(|h| h == column);
    at.map_or_else(
        || panic!("no column {column:?} in {:?}", table[0]),
        |i| &row[i],
    )
}

#[test]
fn a_validate_apply_marks_flag_only_rows_skipped_as_the_server_does() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "contacts.csv", CONTACTS);
    // Record 1's phone is fixed (an update); record 3 has no email and no phone number,
    // which no fix mends (a flag: reported, nothing written).
    let validate = write(
        dir.path(),
        "validate.json",
        r#"{"module": "validate", "name": "Emails", "config": {"object": "contacts",
            "rules": [{"rule": "required", "field": "email"}, {"rule": "email", "field": "email"},
                      {"rule": "phone", "field": "phone", "region": "US", "format": "e164"}],
            "fix": [{"field": "phone", "fn": "phone", "format": "e164", "default_region": "US"}]}}"#,
    );
    let out = dir.path().join("validate");
    let (ok, stdout, stderr) = run_template(&validate, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(ok, "{stderr}");
    let preview = rows(&out.join("preview.csv"));
    let row = |id: &str| preview.iter().find(|r| r[0] == id).unwrap().clone();
    let (fixed, flagged) = (row("1"), row("3"));
    assert_eq!(cell(&preview, &fixed, "action"), "update", "{preview:?}");
    assert_eq!(cell(&preview, &fixed, "outcome"), "applied", "{preview:?}");
    assert_eq!(cell(&preview, &flagged, "action"), "flag", "{preview:?}");
    assert_eq!(
        cell(&preview, &flagged, "outcome"),
        "skipped",
        "a flag writes nothing, so it is not `applied`: {preview:?}\n{stdout}"
    );
}

#[test]
fn a_phone_step_with_region_field_reads_each_number_in_its_record_s_country() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "contacts.csv",
        "id,phone,country\n1,030 12345678,Germany\n2,020 7946 0958,UK\n3,(650) 253-0000,\n",
    );
    let template = write(
        dir.path(),
        "t.json",
        r#"{"module": "transform", "name": "Phones", "config": {"object": "contacts",
            "steps": [{"field": "phone", "fn": "phone", "format": "e164",
                       "default_region": "US", "region_field": "country"}]}}"#,
    );
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("3 updates"), "{stdout}");
    let result = rows(&out.join("result.csv"));
    let phones: Vec<&str> = result[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(phones, ["+493012345678", "+442079460958", "+16502530000"]);
}

#[test]
fn grid_edits_are_type_checked_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "contacts.csv", CONTACTS);
    let grid = write(
        dir.path(),
        "grid.json",
        r#"{"module": "grid", "name": "Fix by hand", "config": {"object": "contacts", "columns": ["firstname", "email"]}}"#,
    );
    let edits = write(
        dir.path(),
        "edits.json",
        r#"[{"id": "2", "field": "firstname", "value": "Annie"}]"#,
    );
    let out = dir.path().join("grid");
    let (ok, stdout, stderr) = run_template(
        &grid,
        &csv,
        out.to_str().unwrap(),
        &["--edits", &edits, "--apply"],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 updates"), "{stdout}");
    let result = rows(&out.join("result.csv"));
    let two = result.iter().find(|r| r[0] == "2").unwrap();
    assert_eq!(two[1], "Annie");

    let bad = write(
        dir.path(),
        "bad.json",
        r#"[{"id": "99", "field": "firstname", "value": "X"}]"#,
    );
    let (ok, _, stderr) = run_template(&grid, &csv, out.to_str().unwrap(), &["--edits", &bad]);
    assert!(!ok);
    assert!(stderr.contains("/0"), "{stderr}");
}

#[test]
fn a_grid_edit_of_a_number_column_to_the_same_number_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "deals.csv",
        "id,amount,zip\n1,12000.00,02139\n2,500,94105\n",
    );
    let grid = write(
        dir.path(),
        "grid.json",
        r#"{"module": "grid", "name": "Deals", "config": {"object": "deals", "columns": ["amount", "zip"]}}"#,
    );
    let edits = write(
        dir.path(),
        "edits.json",
        r#"[{"id": "1", "field": "amount", "value": "12000"},
            {"id": "2", "field": "amount", "value": "500.0"},
            {"id": "1", "field": "zip", "value": "2139"}]"#,
    );
    let out = dir.path().join("grid");
    let (ok, stdout, stderr) = run_template(
        &grid,
        &csv,
        out.to_str().unwrap(),
        &["--edits", &edits, "--apply"],
    );
    assert!(ok, "{stderr}");
    // 12000 is the 12000.00 the file holds, 500.0 its 500; a postcode is no number, so
    // 2139 is a change to 02139.
    assert!(stdout.contains("1 updates"), "{stdout}");
    let preview = rows(&out.join("preview.csv"));
    assert_eq!(preview.len(), 2, "{preview:?}");
    assert_eq!(cell(&preview, &preview[1], "zip (after)"), "2139");
    let result = rows(&out.join("result.csv"));
    assert_eq!(result[1], ["1", "12000.00", "2139"]);
}

#[test]
fn bad_input_fails_loudly_naming_the_place_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "contacts.csv", CONTACTS);
    let out = dir.path().join("out");
    for (template, needle) in [
        (
            r#"{"module": "sparkle", "name": "x", "config": {}}"#,
            "/module",
        ),
        (
            r#"{"module": "transform", "name": "x", "config": {"object": "contacts", "steps": [{"field": "a", "fn": "replace", "pattern": "(", "with": ""}]}}"#,
            "/config/steps/0/pattern",
        ),
        (
            r#"{"module": "transform", "name": "x", "config": {"object": "contacts", "steps": [{"field": "a", "fn": "sparkle"}]}}"#,
            "/config/steps/0",
        ),
        (r#"{"module": "bulk", "name": "x" "config": {}}"#, "t.json"),
    ] {
        let t = write(dir.path(), "t.json", template);
        let (ok, _, stderr) = run_template(&t, &csv, out.to_str().unwrap(), &[]);
        assert!(!ok, "{template}");
        assert!(stderr.contains(needle), "{needle} not in {stderr}");
        assert!(!out.join("preview.csv").exists());
    }
    // A ragged CSV row: the line is named; no partial output is left.
    let ragged = write(dir.path(), "ragged.csv", "id,firstname\n1,a\n2,b,c\n");
    let t = write(dir.path(), "t.json", TRANSFORM);
    let (ok, _, stderr) = run_template(&t, &ragged, out.to_str().unwrap(), &[]);
    assert!(!ok);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(
        !stderr.contains("CRM"),
        "a file's fault is not the CRM's: {stderr}"
    );
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing half-written"
    );
}

/// The transform's preview and result of `csv`, as `a_transform_previews_then_applies`
/// expects them of `CONTACTS`: record 1 tidied, the result in the template's columns.
fn tidies_contacts(csv_text: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "contacts.csv", csv_text);
    let template = write(dir.path(), "t.json", TRANSFORM);
    let out = dir.path().join("out");
    let mut args = vec!["--apply"];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &args);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("scanned 3 records"), "{stdout}");
    let preview = rows(&out.join("preview.csv"));
    let header = &preview[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let one = preview
        .iter()
        .find(|r| r[0] == "1")
        .expect("record 1 changes");
    assert_eq!(one[col("firstname (after)")], "John");
    assert_eq!(one[col("email (after)")], "john@example.com");
    let result = rows(&out.join("result.csv"));
    assert_eq!(
        result[0],
        ["id", "firstname", "lastname", "email", "phone", "country"]
    );
    assert_eq!(result[1][..4], ["1", "John", "O'Brien", "john@example.com"]);
}

#[test]
fn header_names_padded_with_spaces_are_read_trimmed() {
    let padded = CONTACTS.replacen(
        "id,firstname,lastname,email,phone,country",
        " id , firstname,lastname ,email, phone,country ",
        1,
    );
    tidies_contacts(&padded, &[]);
}

#[test]
fn a_semicolon_csv_is_sniffed_or_told() {
    let semicolons = "id;firstname;lastname;email;phone;country\n\
1;  JOHN ;o'brien;John@Example.COM;(415) 555-0132;USA\n\
2;Ann;Lee;ann@example.com;+14155550199;US\n\
3;\"Smith; Jr\";x;;not a phone;Deutschland\n";
    tidies_contacts(semicolons, &[]);
    tidies_contacts(semicolons, &["--delimiter", ";"]);
    let tabs = semicolons.replace(';', "\t");
    tidies_contacts(&tabs, &["--delimiter", "tab"]);
}

#[test]
fn a_csv_with_none_of_the_templates_fields_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "people.csv",
        "id,name,mail\n1,Ann,ann@example.com\n",
    );
    let template = write(dir.path(), "t.json", TRANSFORM);
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("the header has none of the fields"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`firstname`"),
        "the fields expected: {stderr}"
    );
    assert!(
        stderr.contains("`id`, `name`, `mail`"),
        "the header found: {stderr}"
    );
    assert!(!stderr.contains("CRM"), "{stderr}");
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "no file written"
    );
    // A wrong --delimiter reads one column: the hint says so only when sniffed.
    let (ok, _, stderr) = run_template(
        &template,
        &write(dir.path(), "c.csv", CONTACTS),
        out.to_str().unwrap(),
        &["--delimiter", "|"],
    );
    assert!(!ok);
    assert!(
        stderr.contains("the header has none of the fields"),
        "{stderr}"
    );
    let (ok, _, stderr) = run_template(
        &template,
        &csv,
        out.to_str().unwrap(),
        &["--delimiter", "colon"],
    );
    assert!(!ok);
    assert!(stderr.contains("is not a delimiter"), "{stderr}");
}

#[test]
fn merge_groups_duplicates_and_applies_them() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "people.csv",
        "id,firstname,lastname,email,phone,createdate\n\
         1,Ann,Lee,ann.lee@example.com,,2024-01-01T00:00:00Z\n\
         2,Anne,Lee,Ann.Lee@Example.com,+14155550100,2025-01-01T00:00:00Z\n\
         3,Bob,Stone,bob@example.com,,2024-06-01T00:00:00Z\n",
    );
    let template = write(
        dir.path(),
        "merge.json",
        r#"{"module": "merge", "name": "Same email", "config": {"object": "contacts",
            "rules": [{"all": [{"field": "email", "compare": "normalized", "as": "email"}]}],
            "master": {"rules": [{"rule": "oldest_created"}]},
            "survivorship": {"fields": {"phone": "master_unless_empty"}}}}"#,
    );
    let out = dir.path().join("merge");
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 merges of 1 duplicates"), "{stdout}");
    let preview = rows(&out.join("preview.csv"));
    let master = preview
        .iter()
        .find(|r| r[3] == "master")
        .expect("a master row");
    assert_eq!(master[0], "1", "the oldest record stays: {preview:?}");
    let dup = preview
        .iter()
        .find(|r| r[3] == "duplicate")
        .expect("a duplicate row");
    assert_eq!(dup[0], "2");
    assert_eq!(master[2], dup[2], "one group id");
    let result = rows(&out.join("result.csv"));
    assert_eq!(result.len(), 3, "the duplicate is gone: {result:?}");
    let ann = result.iter().find(|r| r[0] == "1").unwrap();
    assert_eq!(
        ann[4], "+14155550100",
        "the master takes the duplicate's phone it lacked"
    );
}

/// A template that upper-cases `name`: every row whose name has a lower-case letter changes.
const UPPER: &str = r#"{"module": "transform", "name": "Upper", "config": {
  "object": "contacts", "steps": [{"field": "name", "fn": "upper"}]}}"#;

/// Enough rows for many chunks on every planning thread: the preview lists the changed
/// rows and result.csv every row, both in the input's order, exactly once.
#[test]
fn a_file_of_many_chunks_comes_out_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let n = 60_000;
    let mut text = String::from("id,name,note\n");
    let mut expected_result = vec![vec!["id".to_string(), "name".into(), "note".into()]];
    let mut expected_changed = Vec::new();
    for i in 1..=n {
        // Every third name is upper case already; notes pad rows and contain quotes,
        // commas and line breaks, so rows vary in size and chunks end anywhere.
        let name = if i % 3 == 0 {
            format!("ROW {i}")
        } else {
            format!("row {i}")
        };
        let note = match i % 5 {
            0 => format!("\"a \"\"quoted\"\", note\nover two lines {i}\""),
            _ => "x".repeat(i % 97),
        };
        text.push_str(&format!("{i},{name},{note}\n"));
        let note_value = match i % 5 {
            0 => format!("a \"quoted\", note\nover two lines {i}"),
            _ => "x".repeat(i % 97),
        };
        expected_result.push(vec![i.to_string(), name.to_uppercase(), note_value]);
        if i % 3 != 0 {
            expected_changed.push((i.to_string(), name.clone(), name.to_uppercase()));
        }
    }
    assert!(text.len() > 2 << 20, "several megabytes: many chunks");
    let csv = write(dir.path(), "many.csv", &text);
    let template = write(dir.path(), "t.json", UPPER);
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &["--apply"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "scanned {n} records: {} updates",
            expected_changed.len()
        )),
        "{stdout}"
    );
    assert_eq!(rows(&out.join("result.csv")), expected_result);
    let preview = rows(&out.join("preview.csv"));
    let changed: Vec<(String, String, String)> = preview[1..]
        .iter()
        .map(|r| (r[0].clone(), r[5].clone(), r[6].clone()))
        .collect();
    assert_eq!(changed, expected_changed);
    assert!(preview[1..].iter().all(|r| r[7] == "applied"));
}

/// Errors found on planning threads (a cell that is not UTF-8, an empty id) and by the
/// reader (a ragged row): the first in the file is the one reported, with its line,
/// however the rows were split among threads; nothing is written.
#[test]
fn the_first_bad_row_of_a_large_file_is_reported_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "t.json", UPPER);
    let n = 40_000;
    let body = |bad: &[(usize, &[u8])]| {
        let mut bytes = b"id,name,note\n".to_vec();
        for i in 1..=n {
            match bad.iter().find(|(at, _)| *at == i) {
                Some((_, row)) => bytes.extend_from_slice(row),
                None => {
                    bytes.extend_from_slice(format!("{i},row {i},{}\n", "y".repeat(40)).as_bytes())
                }
            }
        }
        bytes
    };
    // (what, rows replaced: (row number, its bytes), what stderr must say)
    type Case<'a> = (&'a str, Vec<(usize, &'a [u8])>, &'a str);
    let cases: [Case; 4] = [
        (
            "not UTF-8",
            vec![(30_000, b"30000,caf\xe9,x\n"), (35_000, b"35000,a,b,c\n")],
            "line 30001: column 2 is not valid UTF-8",
        ),
        (
            "an empty id before a ragged row",
            vec![(12_345, b" ,a,b\n"), (39_000, b"39000,a\n")],
            "line 12346: the id cell is empty",
        ),
        (
            "a ragged row before an empty id",
            vec![(20_000, b"20000,a\n"), (39_000, b",a,b\n")],
            "line 20001",
        ),
        (
            "a character split between two cells",
            vec![(25_000, b"25000,a\xc3,\xa9b\n")],
            "line 25001: column 2 is not valid UTF-8",
        ),
    ];
    for (what, bad, needle) in cases {
        let csv = dir.path().join("bad.csv");
        std::fs::write(&csv, body(&bad)).unwrap();
        let out = dir.path().join("out");
        let (ok, _, stderr) = run_template(
            &template,
            csv.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--apply"],
        );
        assert!(!ok, "{what}");
        assert!(stderr.contains(needle), "{what}: {needle} not in {stderr}");
        assert!(
            std::fs::read_dir(&out).unwrap().next().is_none(),
            "{what}: nothing half-written"
        );
    }
}

/// The scored worked example of docs/modules/merge.md (its model given, so nothing is
/// learned): 3 and 6 are a pair to review; a decisions file settles it on the next run.
#[test]
fn a_scored_merge_lists_pairs_to_review_and_follows_a_decisions_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "people.csv",
        "id,firstname,lastname,email,date_of_birth,createdate\n\
         1,Robert,Okafor,bob.okafor@acme.com,1975-06-12,2020-01-01T00:00:00Z\n\
         2,Bob,Okafor,bob.okafor@acme.com,06/12/1975,2020-01-02T00:00:00Z\n\
         3,Ann,Smith,ann.smith@x.com,1980-03-04,2020-01-03T00:00:00Z\n\
         4,Ann,Smith,ann.smith@x.co,1980-04-03,2020-01-04T00:00:00Z\n\
         5,Peter,Smith,,1990-01-01,2020-01-05T00:00:00Z\n\
         6,Smith,Ann,,1981-03-04,2020-01-06T00:00:00Z\n",
    );
    let levels = |v: &[(&str, f64, f64)]| {
        serde_json::Value::Array(
            v.iter()
                .map(|(l, m, u)| serde_json::json!({"level": l, "m": m, "u": u}))
                .collect(),
        )
    };
    let name = levels(&[
        ("exact", 0.8, 0.02),
        ("nickname", 0.05, 0.005),
        ("similar", 0.06, 0.01),
        ("somewhat_similar", 0.03, 0.03),
        ("swapped", 0.02, 0.001),
        ("different", 0.04, 0.934),
    ]);
    let template = serde_json::json!({"module": "merge", "name": "Scored people", "config": {
        "object": "contacts",
        "score": {"fields": [
            {"field": "firstname", "compare": "name", "swap_with": "lastname"},
            {"field": "lastname", "compare": "name", "swap_with": "firstname"},
            {"field": "email", "compare": "email"},
            {"field": "date_of_birth", "compare": "date"}],
            "review_threshold": 0.5,
            "model": {"prior": 0.01, "fields": [
                {"field": "firstname", "levels": name},
                {"field": "lastname", "levels": name},
                {"field": "email", "levels": levels(&[
                    ("exact", 0.8, 0.0005), ("one_edit", 0.1, 0.001), ("different", 0.1, 0.9985)])},
                {"field": "date_of_birth", "levels": levels(&[
                    ("exact", 0.85, 0.003), ("day_month_swapped", 0.02, 0.0001),
                    ("year_off_by_one", 0.02, 0.002), ("one_part_off", 0.05, 0.03),
                    ("different", 0.06, 0.9649)])}]}},
        "master": {"rules": [{"rule": "oldest_created"}]}}});
    let template = write(dir.path(), "scored.json", &template.to_string());
    let group_of = |preview: &[Vec<String>], id: &str| {
        preview
            .iter()
            .find(|r| r[0] == id && r[1] == "merge")
            .map(|r| r[2].clone())
    };

    let out = dir.path().join("first");
    let (ok, stdout, stderr) = run_template(&template, &csv, out.to_str().unwrap(), &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 pair to review"), "{stdout}");
    let preview = rows(&out.join("preview.csv"));
    let review: Vec<&Vec<String>> = preview.iter().filter(|r| r[1] == "review").collect();
    assert_eq!(review.len(), 2, "{preview:?}");
    assert_eq!((review[0][0].as_str(), review[1][0].as_str()), ("3", "6"));
    assert!(review[0][4].contains("swapped"), "{:?}", review[0]);
    assert_eq!(group_of(&preview, "6"), None);

    // Accepted: 6 joins 3's group on the next run, and no pair is left to review.
    let decisions = write(
        dir.path(),
        "decisions.csv",
        "record_id,other_id,decision\n6,3,Accept\n",
    );
    let out = dir.path().join("accepted");
    let (ok, stdout, stderr) = run_template(
        &template,
        &csv,
        out.to_str().unwrap(),
        &["--decisions", &decisions, "--apply"],
    );
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("to review"), "{stdout}");
    let preview = rows(&out.join("preview.csv"));
    assert_eq!(group_of(&preview, "6"), group_of(&preview, "3"));
    assert!(group_of(&preview, "6").is_some(), "{preview:?}");
    let result = rows(&out.join("result.csv"));
    assert!(
        result.iter().all(|r| r[0] != "6"),
        "6 merged away: {result:?}"
    );

    // Rejected: 6 stays alone and is not asked about again.
    let decisions = write(
        dir.path(),
        "decisions.csv",
        "record_id,other_id,decision\n3,6,reject\n",
    );
    let out = dir.path().join("rejected");
    let (ok, stdout, stderr) = run_template(
        &template,
        &csv,
        out.to_str().unwrap(),
        &["--decisions", &decisions],
    );
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("to review"), "{stdout}");
    assert_eq!(group_of(&rows(&out.join("preview.csv")), "6"), None);

    // A decision that is neither, named with its row; nothing written.
    let bad = write(
        dir.path(),
        "bad.csv",
        "record_id,other_id,decision\n3,6,accept\n3,4,maybe\n",
    );
    let out = dir.path().join("bad");
    let (ok, _, stderr) = run_template(
        &template,
        &csv,
        out.to_str().unwrap(),
        &["--decisions", &bad],
    );
    assert!(!ok);
    assert!(
        stderr.contains("row 3") && stderr.contains("`maybe`"),
        "{stderr}"
    );
    assert!(!out.join("preview.csv").exists());
    let transform = write(dir.path(), "t.json", TRANSFORM);
    let (ok, _, stderr) = run_template(
        &transform,
        &csv,
        dir.path().join("t").to_str().unwrap(),
        &["--decisions", &bad],
    );
    assert!(!ok && stderr.contains("merge templates only"), "{stderr}");
}
