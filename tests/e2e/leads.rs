//! Salesforce Lead→Contact merges over HTTP: what Salesforce will refuse at apply is found
//! by the preview.

use serde_json::json;
use std::collections::BTreeMap;

use crate::browser::{Browser, app_router};
use crate::runs::{csv_rows, drain_all, queue, run_json, sized, start};
use crate::{OWNER, world};
use steward_shared::modules::csv::{AuditRow, Role, RowAction, Status as RowStatus};

/// Salesforce converts a Lead into an existing Contact only with that Contact's Account.
/// Contacts of Lead groups lose their Account first (all of a group's, or only its
/// master's); the preview must then choose masters that have one or flag the group, so
/// that the apply fails no `convert_lead`.
#[tokio::test]
async fn a_lead_merge_preview_flags_groups_whose_contacts_have_no_account_and_apply_fails_none() {
    let sb = sized(120).await;
    let w = world(&sb);
    let mut rx = queue(&w);
    let router = app_router();
    let s = w.services();
    let owner = Browser::signed_in(s, &router, "salesforce", OWNER).await;

    let merge = json!({"module": "merge", "config": {"object": "Contact",
        "rules": [{"name": "same email", "all": [
            {"field": "Email", "compare": "normalized", "as": "email"}]}],
        "master": {"rules": [{"rule": "oldest_created"}]},
        "cross_object": {}}});
    let groups = |rows: &[AuditRow]| {
        // Group id -> (master, other Contacts, Leads) of the groups that convert Leads.
        let mut out: BTreeMap<String, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for r in rows {
            let (Some(g), Some(id)) = (r.group_id.clone(), r.record_id.clone()) else {
                continue;
            };
            let e = out.entry(g).or_default();
            match (r.action, r.role) {
                (RowAction::ConvertLead, _) => e.2.push(id),
                (RowAction::Merge, Some(Role::Master)) => e.0 = id,
                (RowAction::Merge, _) => e.1.push(id),
                _ => {}
            }
        }
        out.retain(|_, (_, _, leads)| !leads.is_empty());
        out
    };
    let mut body = merge.clone();
    body["mode"] = json!("preview");
    let probe = start(&owner, body).await;
    drain_all(s, &mut rx).await;
    let (_, rows) = csv_rows(&owner, s, &probe).await;
    let before = groups(&rows);
    let with_others: Vec<_> = before.iter().filter(|(_, g)| !g.1.is_empty()).collect();
    assert!(
        before.len() >= 2 && !with_others.is_empty(),
        "the sandbox has Leads matching Contacts, some with two Contacts: {before:?}"
    );
    // One group with two Contacts loses its master's Account only (another Contact has
    // one); every other group loses all its Contacts' Accounts.
    let (moved_group, (moved_master, _, _)) = with_others[0];
    let mut edits = vec![json!({"id": moved_master, "field": "AccountId", "value": ""})];
    for (g, (master, others, _)) in &before {
        if g != moved_group {
            for id in std::iter::once(master).chain(others) {
                edits.push(json!({"id": id, "field": "AccountId", "value": ""}));
            }
        }
    }
    let clear = start(
        &owner,
        json!({"module": "grid", "mode": "apply", "edits": edits,
            "config": {"object": "Contact", "columns": ["AccountId"]}}),
    )
    .await;
    drain_all(s, &mut rx).await;
    let cleared = run_json(&owner, &clear).await;
    assert_eq!(cleared["status"], "succeeded", "{cleared}");

    let mut body = merge.clone();
    body["mode"] = json!("preview");
    let preview = start(&owner, body).await;
    drain_all(s, &mut rx).await;
    assert_eq!(run_json(&owner, &preview).await["status"], "succeeded");
    let (_, rows) = csv_rows(&owner, s, &preview).await;
    let no_account = rows
        .iter()
        .filter(|r| {
            r.action == RowAction::Flag
                && r.note.as_deref().is_some_and(|n| {
                    n.contains("converts a Lead only into a Contact with an Account")
                })
        })
        .count();
    let converts = rows
        .iter()
        .filter(|r| r.action == RowAction::ConvertLead)
        .count();
    assert!(
        no_account > 0,
        "some groups with Leads have only Contacts without an Account: {rows:#?}"
    );
    // The group whose master lost its Account converts into its other Contact.
    let after = groups(&rows);
    let (master, _, _) = after
        .values()
        .find(|g| g.2 == before[moved_group].2)
        .expect("the group with an Account left still converts its Leads");
    assert_ne!(master, moved_master, "{after:?}");
    assert!(before[moved_group].1.contains(master), "{after:?}");

    let mut body = merge;
    body["mode"] = json!("apply");
    let apply = start(&owner, body).await;
    drain_all(s, &mut rx).await;
    let run = run_json(&owner, &apply).await;
    let (_, rows) = csv_rows(&owner, s, &apply).await;
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.outcome
                .as_ref()
                .is_some_and(|o| o.status == RowStatus::Failed)
        })
        .collect();
    assert!(failed.is_empty(), "{run}\n{failed:#?}");
    assert_eq!(run["status"], "succeeded", "{run}");
    let converted = rows
        .iter()
        .filter(|r| {
            r.action == RowAction::ConvertLead
                && r.outcome
                    .as_ref()
                    .is_some_and(|o| o.status == RowStatus::Applied)
        })
        .count();
    assert_eq!(
        converted, converts,
        "every Lead the preview converts is converted"
    );
}
