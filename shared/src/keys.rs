//! Every key of Steward's one table, spelled here and nowhere else.
//!
//! An item is `pk` / `sk`; a few items are also on the `gsi1` index (`gsi1pk` /
//! `gsi1sk`) for a listing their partition cannot give. Everything an account owns lives
//! in its partition, so one query lists it and nothing can read across accounts:
//!
//! | item | pk | sk | gsi1pk / gsi1sk |
//! |---|---|---|---|
//! | account | `ACCT#<a>` | `META` | |
//! | member | `ACCT#<a>` | `USER#<user>` | |
//! | account policy | `ACCT#<a>` | `POLICY` | |
//! | automation settings | `ACCT#<a>` | `AUTOMATION` | |
//! | template | `ACCT#<a>` | `TPL#<id>` | `TPLS#<a>#<module>` / `<lowercase name>#<id>` |
//! | run | `ACCT#<a>` | `RUN#<id>` | `RUNS_ACTIVE` / `<a>#<object>#<id>` while unfinished |
//! | run's progress | `ACCT#<a>` | `RUNSTATE#<id>` | |
//! | object lock | `ACCT#<a>` | `LOCK#<object>` | |
//! | schedule | `ACCT#<a>` | `SCHED#<id>` | |
//! | recipe | `ACCT#<a>` | `RECIPE#<id>` | |
//! | recipe run | `ACCT#<a>` | `RRUN#<id>` | |
//! | recipe's gathering run | `ACCT#<a>` | `RGATHER#<recipe>` | |
//! | CRM call claimed | `ACCT#<a>` | `HOOK#<sha256(crm:invocation)>` | |
//! | CRM call gathered | `ACCT#<a>` | `RCALL#<recipe run>#<sha256(crm:invocation)>` | |
//! | session | `SESSION#<sha256(cookie)>` | `META` | `SESSIONS#<a>#<user>` / created at |
//! | sign-in in progress | `OAUTH#<sha256(state)>` | `META` | |
//!
//! Ids are ULIDs, so a prefix query lists runs, templates and schedules oldest first.
//! Run and template keys take the typed ids (`RunId`, `TemplateId`), spelled as their
//! ULID text; member and session keys take a `MemberId`, spelled as its text. These strings are stored data: changing one orphans every item written with it
//! (the tests below pin each of them).

use std::fmt::Display;

use crate::crm::CrmKind;

/// The partition of everything an account owns.
pub fn account(account_id: &str) -> String {
    format!("{ACCOUNT}{account_id}")
}
const ACCOUNT: &str = "ACCT#";

/// The account id of an account partition key.
pub fn account_of(pk: &str) -> Option<&str> {
    pk.strip_prefix(ACCOUNT)
}

/// The sort key of a partition's one item: the account, a session, a sign-in.
pub const META: &str = "META";

pub fn member(user_id: impl Display) -> String {
    format!("{MEMBERS}{user_id}")
}
/// Every member of an account.
pub const MEMBERS: &str = "USER#";

pub const POLICY: &str = "POLICY";

pub const AUTOMATION: &str = "AUTOMATION";

pub fn template(id: impl Display) -> String {
    format!("{TEMPLATES}{id}")
}
/// Every template of an account.
pub const TEMPLATES: &str = "TPL#";

/// A module's templates (on gsi1), sorted by [`template_by_name`].
pub fn templates_of(account_id: &str, module: &str) -> String {
    format!("TPLS#{account_id}#{module}")
}

pub fn template_by_name(name: &str, id: impl Display) -> String {
    format!("{}#{id}", name.to_lowercase())
}

pub fn run(run_id: impl Display) -> String {
    format!("{RUNS}{run_id}")
}
/// Every run of an account.
pub const RUNS: &str = "RUN#";

/// The run id of a run's sort key.
pub fn run_of(sk: &str) -> Option<&str> {
    sk.strip_prefix(RUNS)
}

/// The gsi1 partition of every unfinished run, of every account (the stale-run sweep
/// and a released lock's waiters read it).
pub const RUNS_ACTIVE: &str = "RUNS_ACTIVE";

/// An unfinished run on [`RUNS_ACTIVE`]: an object's runs together, oldest first.
pub fn active_run(account_id: &str, object: &str, run_id: impl Display) -> String {
    format!("{}{run_id}", active_runs_on(account_id, object))
}

/// The prefix of [`active_run`] for every unfinished run on an object.
pub fn active_runs_on(account_id: &str, object: &str) -> String {
    format!("{account_id}#{object}#")
}

/// A run's progress (the worker's checkpoints; the stream ignores it).
pub fn run_state(run_id: impl Display) -> String {
    format!("RUNSTATE#{run_id}")
}

/// The lock an applying run holds on a CRM object.
pub fn lock(object: &str) -> String {
    format!("LOCK#{object}")
}

pub fn schedule(id: &str) -> String {
    format!("{SCHEDULES}{id}")
}
/// Every schedule of an account.
pub const SCHEDULES: &str = "SCHED#";

pub fn recipe(id: &str) -> String {
    format!("{RECIPES}{id}")
}
/// Every recipe of an account.
pub const RECIPES: &str = "RECIPE#";

pub fn recipe_run(id: &str) -> String {
    format!("{RECIPE_RUNS}{id}")
}
/// Every recipe run of an account.
pub const RECIPE_RUNS: &str = "RRUN#";

/// The recipe run a recipe is gathering calls into.
pub fn recipe_gathering(recipe_id: &str) -> String {
    format!("RGATHER#{recipe_id}")
}

/// A CRM automation call, claimed once whichever recipe run takes it.
pub fn call_claim(crm: CrmKind, invocation_id: &str) -> String {
    format!("HOOK#{}", call_digest(crm, invocation_id))
}

/// Every call gathered into a recipe run.
pub fn calls_of(recipe_run_id: &str) -> String {
    format!("RCALL#{recipe_run_id}#")
}

/// A call gathered into a recipe run.
pub fn call(recipe_run_id: &str, crm: CrmKind, invocation_id: &str) -> String {
    format!(
        "{}{}",
        calls_of(recipe_run_id),
        call_digest(crm, invocation_id)
    )
}

fn call_digest(crm: CrmKind, invocation_id: &str) -> String {
    // The CRM's name as these keys were first written (its Rust name).
    let crm = match crm {
        CrmKind::HubSpot => "HubSpot",
        CrmKind::Salesforce => "Salesforce",
        CrmKind::Csv => "Csv",
    };
    crate::crypto::sha256_hex(format!("{crm}:{invocation_id}").as_bytes())
}

/// A session's partition: the digest of its cookie, never the cookie itself.
pub fn session(cookie_digest: &str) -> String {
    format!("SESSION#{cookie_digest}")
}

/// A member's sessions (on gsi1), to end them all.
pub fn sessions_of(account_id: &str, user_id: impl Display) -> String {
    format!("SESSIONS#{account_id}#{user_id}")
}

/// A sign-in between the redirect to the CRM and its callback.
pub fn sign_in(state_digest: &str) -> String {
    format!("OAUTH#{state_digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored data: each key as items already in tables spell it.
    #[test]
    fn keys_are_spelled_as_stored() {
        assert_eq!(account("hubspot:1"), "ACCT#hubspot:1");
        assert_eq!(account_of("ACCT#hubspot:1"), Some("hubspot:1"));
        assert_eq!(account_of("SESSION#x"), None);
        assert_eq!(META, "META");
        assert_eq!(member("7"), "USER#7");
        assert_eq!((POLICY, AUTOMATION), ("POLICY", "AUTOMATION"));
        assert_eq!(template("01T"), "TPL#01T");
        assert_eq!(templates_of("hubspot:1", "merge"), "TPLS#hubspot:1#merge");
        assert_eq!(
            template_by_name("Dedupe Contacts", "01T"),
            "dedupe contacts#01T"
        );
        assert_eq!(run("01R"), "RUN#01R");
        assert_eq!(run_of("RUN#01R"), Some("01R"));
        assert_eq!(run_of("RUNSTATE#01R"), None);
        assert_eq!(RUNS_ACTIVE, "RUNS_ACTIVE");
        assert_eq!(
            active_run("hubspot:1", "contacts", "01R"),
            "hubspot:1#contacts#01R"
        );
        assert_eq!(run_state("01R"), "RUNSTATE#01R");
        assert_eq!(lock("contacts"), "LOCK#contacts");
        assert_eq!(schedule("01S"), "SCHED#01S");
        assert_eq!(recipe("01C"), "RECIPE#01C");
        assert_eq!(recipe_run("01D"), "RRUN#01D");
        assert_eq!(recipe_gathering("01C"), "RGATHER#01C");
        assert_eq!(session("ab"), "SESSION#ab");
        assert_eq!(sessions_of("hubspot:1", "7"), "SESSIONS#hubspot:1#7");
        assert_eq!(sign_in("cd"), "OAUTH#cd");
        let digest = crate::crypto::sha256_hex(b"HubSpot:inv-1");
        assert_eq!(
            call_claim(CrmKind::HubSpot, "inv-1"),
            format!("HOOK#{digest}")
        );
        assert_eq!(
            call("01D", CrmKind::HubSpot, "inv-1"),
            format!("RCALL#01D#{digest}")
        );
        assert!(call("01D", CrmKind::Salesforce, "inv-1").starts_with(&calls_of("01D")));
        assert_ne!(
            call_claim(CrmKind::Salesforce, "inv-1"),
            call_claim(CrmKind::HubSpot, "inv-1")
        );
    }

    /// The table's key strings are spelled in this module alone: anywhere else, a
    /// literal like `"TPL#"` is a second place a key can drift (tests excepted, which
    /// may pin what is stored).
    #[test]
    fn no_key_is_spelled_outside_this_module() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dirs = [
            "shared/src",
            "functions/auth/src",
            "functions/team/src",
            "functions/templates/src",
            "functions/runs/src",
            "functions/exports/src",
            "functions/web/src",
            "infra/steward/src",
        ];
        // Each as a string literal starts: `"TPL#`.
        let prefixes = [
            "ACCT#",
            "USER#",
            "TPL#",
            "TPLS#",
            "RUN#",
            "RUNSTATE#",
            "RUNS_ACTIVE",
            "LOCK#",
            "SCHED#",
            "RECIPE#",
            "RRUN#",
            "RGATHER#",
            "HOOK#",
            "RCALL#",
            "SESSION#",
            "SESSIONS#",
            "OAUTH#",
            "META\"",
            "POLICY\"",
            "AUTOMATION\"",
        ]
        .map(|k| format!("\"{k}"));
        let mut found = Vec::new();
        let mut files = 0;
        let mut stack: Vec<_> = dirs.iter().map(|d| root.join(d)).collect();
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") || p.ends_with("shared/src/keys.rs") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            // Product code only: a file's tests follow its `#[cfg(test)]` module.
            let code = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            let code = if p.ends_with("tests.rs") { "" } else { code };
            for (n, line) in code.lines().enumerate() {
                let comment = line.trim_start().starts_with("//");
                for k in &prefixes {
                    if !comment && line.contains(k.as_str()) {
                        found.push(format!("{}:{}: {k}", p.display(), n + 1));
                    }
                }
            }
        }
        assert!(files > 100, "walked only {files} files");
        assert!(
            found.is_empty(),
            "keys spelled outside keys.rs:\n{}",
            found.join("\n")
        );
    }
}
