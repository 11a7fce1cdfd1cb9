//! The merge engine: records in, a plan out (one merge per group, Lead conversions before
//! it, flags for the groups it will not merge), with the groups and counts for reports.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::input::MergeInput;
use super::master::{self, Compiled};
use super::matching::{self, Derivation, Rule, UnionFind};
use super::score::{Scorer, probability};
use super::survive::survive;
use super::values::id_order;
use super::{FieldRule, MAX_REVIEW_PAIRS, MergeConfig, ScoreModel};
use crate::crm::Record;
use crate::modules::{Action, Change, FieldChange, Plan};

/// Everything `MergeConfig::engine` compiled.
pub(crate) struct Parts {
    pub config: MergeConfig,
    pub fields: Vec<String>,
    pub derivations: Vec<Derivation>,
    pub rules: Vec<Rule>,
    pub scorer: Option<Scorer>,
    pub master: Vec<Compiled>,
    pub columns: Vec<(usize, FieldRule)>,
    pub account_field: Option<usize>,
}

/// A checked merge config, compiled: `plan` runs it over records.
pub struct MergeEngine {
    config: MergeConfig,
    fields: Vec<String>,
    derivations: Vec<Derivation>,
    rules: Vec<Rule>,
    pub(crate) scorer: Option<Scorer>,
    master: Vec<Compiled>,
    /// Fields the plan may write (input index) and their survivorship rule.
    columns: Vec<(usize, FieldRule)>,
    account_field: Option<usize>,
}

/// A duplicate group as the engine saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `g1`, `g2`, ...: groups numbered in the order of their smallest record id.
    pub group_id: String,
    /// Every record of the group: the master first when there is one, then the others in
    /// id order.
    pub ids: Vec<String>,
    pub master: Option<String>,
    /// Leads of the group (cross-object only), converted into the master.
    pub leads: Vec<String>,
    /// Names of the rule sets that linked its records.
    pub rules: Vec<String>,
    /// Why the group is not merged (too large, master rules undecided, only Leads).
    pub skipped: Option<String>,
}

/// What a run did, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchStats {
    pub records: usize,
    /// Pairs blocking put together (a pair met in several blocks counts each time).
    pub candidate_pairs: u64,
    /// Pairs whose rules were evaluated (pairs already linked are not compared again).
    pub compared_pairs: u64,
    /// Pairs that matched and linked two records.
    pub matched_pairs: u64,
    pub groups: usize,
    pub merged_groups: usize,
    pub skipped_groups: usize,
    /// Scored pairs between the review and merge thresholds shown for review.
    pub review_pairs: usize,
    /// Review pairs left out past `MAX_REVIEW_PAIRS` (the least likely).
    pub review_pairs_left_out: usize,
    /// Random record pairs that estimated u (0 when the model was given).
    pub training_u_pairs: u64,
    /// Candidate pairs EM trained m on, over every blocking key (0 when given).
    pub training_em_pairs: u64,
}

/// A merge's plan, with its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    /// Per merged group: `ConvertLead` changes for its Leads, then one `Merge`; per
    /// skipped group: a `Flag` for each record. Groups in `groups`' order.
    pub plan: Plan,
    pub groups: Vec<Group>,
    pub stats: MatchStats,
    /// Scored matching: the model used (learned by this run, or the config's).
    pub model: Option<ScoreModel>,
}

/// What linked a group's records: the rule sets, the scored and accepted links' reasons,
/// and why it must not be merged whatever they say (a pair a person rejected inside it).
struct Linked {
    rules: Vec<String>,
    reasons: Vec<String>,
    refused: Option<String>,
}

/// A merged group's note: the rules that matched it, and when the Account requirement
/// chose another master than the master rules would have.
fn merge_note(rules: &[String], reasons: &[String], among_accounts: bool) -> Option<String> {
    let mut parts = Vec::new();
    let named: Vec<&str> = rules
        .iter()
        .map(String::as_str)
        .filter(|r| !matches!(*r, "score" | "accepted"))
        .collect();
    if !named.is_empty() {
        parts.push(format!("matched by {}", named.join("; ")));
    }
    parts.extend(reasons.iter().cloned());
    if among_accounts {
        parts.push(
            "master chosen among the Contacts with an Account (Leads convert only into one)"
                .to_string(),
        );
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Ids listed in a skipped group's note, at most.
const NOTE_IDS: usize = 10;
/// Links (scored or accepted pairs) a merged group's note explains, at most.
const NOTE_LINKS: usize = 3;

/// Why two records of a group are linked.
#[derive(Debug, Clone, Copy)]
enum Link {
    /// Their score (log2 odds) reached the merge threshold.
    Scored(f32),
    /// A person accepted the pair.
    Accepted,
}

impl MergeEngine {
    pub(crate) fn new(p: Parts) -> Self {
        Self {
            config: p.config,
            fields: p.fields,
            derivations: p.derivations,
            rules: p.rules,
            scorer: p.scorer,
            master: p.master,
            columns: p.columns,
            account_field: p.account_field,
        }
    }

    #[cfg(test)]
    pub(crate) fn internals(&self) -> (&[Derivation], &[Rule]) {
        (&self.derivations, &self.rules)
    }

    pub fn config(&self) -> &MergeConfig {
        &self.config
    }

    pub fn object(&self) -> &str {
        &self.config.object
    }

    /// The Lead object, when the config matches Leads against Contacts.
    pub fn lead_object(&self) -> Option<&str> {
        self.config
            .cross_object
            .as_ref()
            .map(|x| x.lead_object.as_str())
    }

    /// Properties a scan of `object` must fetch (besides ids and timestamps), in order.
    pub fn reads(&self) -> Vec<String> {
        self.fields.clone()
    }

    /// Properties a scan of the Lead object must fetch (cross-object only), in `reads`'
    /// order, under the Lead's names; the account field is the Contact's alone.
    pub fn lead_reads(&self) -> Vec<String> {
        self.fields
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.account_field)
            .map(|(_, f)| self.lead_field(f).to_string())
            .collect()
    }

    fn lead_field<'a>(&'a self, contact_field: &'a str) -> &'a str {
        self.config
            .cross_object
            .as_ref()
            .and_then(|x| x.lead_fields.get(contact_field))
            .map_or(contact_field, String::as_str)
    }

    /// Fields the plan may write: the audit CSV's field columns, in order.
    pub fn columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|(i, _)| self.fields[*i].clone())
            .collect()
    }

    /// An empty input laid out for this engine.
    pub fn input(&self) -> MergeInput {
        MergeInput::new(self.fields.clone())
    }

    /// Adds a Lead record, reading its fields under their Lead names.
    pub fn add_lead(&self, input: &mut MergeInput, lead: &Record) {
        let account = self.account_field.map(|i| self.fields[i].as_str());
        input.push_lead(&lead.id, lead.created_at, lead.updated_at, |f| {
            if Some(f) == account {
                return None;
            }
            lead.properties
                .get(self.lead_field(f))
                .and_then(|v| v.as_deref())
        });
    }

    /// What `input` holds of the records `ids` names, as (object, id, values) under the
    /// names the CRM reads them by (a Lead's under the Lead's): what a preview saw, for
    /// an apply of it to check against.
    pub fn seen(
        &self,
        input: &MergeInput,
        ids: &std::collections::HashSet<&str>,
    ) -> Vec<(String, String, crate::crm::Properties)> {
        let fields = input.fields();
        let mut out = Vec::new();
        for row in 0..input.len() {
            let id = input.id(row);
            if !ids.contains(id) {
                continue;
            }
            let lead = input.is_lead(row);
            let object = match (lead, self.lead_object()) {
                (true, Some(o)) => o,
                _ => self.object(),
            };
            let values = fields
                .iter()
                .enumerate()
                .filter(|(i, _)| !(lead && Some(*i) == self.account_field))
                .map(|(i, f)| {
                    let name = if lead { self.lead_field(f) } else { f.as_str() };
                    (name.to_string(), input.value(row, i).map(str::to_string))
                })
                .collect();
            out.push((object.to_string(), id.to_string(), values));
        }
        out
    }

    /// Plans over CRM records (of `object`; Leads go through `add_lead`).
    pub fn plan_records(&self, records: &[Record]) -> MergePlan {
        let mut input = self.input();
        input.reserve(records.len());
        for r in records {
            input.push_record(r);
        }
        self.plan(&input)
    }

    /// `input` with this engine's fields in this engine's order.
    fn aligned<'a>(&self, input: &'a MergeInput) -> Cow<'a, MergeInput> {
        if input.fields() == self.fields.as_slice() {
            return Cow::Borrowed(input);
        }
        let at: Vec<Option<usize>> = self
            .fields
            .iter()
            .map(|f| input.fields().iter().position(|g| g == f))
            .collect();
        let mut out = self.input();
        out.reserve(input.len());
        for row in 0..input.len() {
            let pos = |f: &str| self.fields.iter().position(|g| g == f);
            let value = |f: &str| {
                pos(f)
                    .and_then(|i| at[i])
                    .map(|j| input.raw(row, j))
                    .filter(|v| !v.is_empty())
            };
            let time = |t: i64| chrono::DateTime::from_timestamp(t, 0);
            let (created, modified) = (time(input.created[row]), time(input.modified[row]));
            if input.is_lead(row) {
                out.push_lead(input.id(row), created, modified, value);
            } else {
                out.push(input.id(row), created, modified, value);
            }
        }
        Cow::Owned(out)
    }

    /// The plan, with a person's decisions on review pairs of an earlier preview:
    /// accepted pairs (both records present) are linked like a match, rejected pairs are
    /// never linked by their score nor shown for review again.
    pub fn plan_with(
        &self,
        input: &MergeInput,
        decisions: &crate::modules::Decisions,
    ) -> MergePlan {
        let input = self.aligned(input);
        let input: &MergeInput = &input;
        let rows = input.len();
        let threads = matching::threads_for(rows);
        let mut uf = UnionFind::new(rows);
        let mut stats = MatchStats {
            records: rows,
            ..MatchStats::default()
        };
        // Rule sets first: their groups, and which rule sets linked each.
        let mut rule_masks: Vec<u64> = Vec::new();
        if !self.rules.is_empty() {
            let derived = matching::derive(input, &self.derivations, threads);
            let clusters = matching::cluster(&self.rules, &derived, &input.ids, rows, threads);
            drop(derived);
            for (row, &root) in clusters.roots.iter().enumerate() {
                uf.union(row as u32, root);
            }
            stats.candidate_pairs = clusters.counts.candidates;
            stats.compared_pairs = clusters.counts.compared;
            stats.matched_pairs = clusters.counts.matched;
            rule_masks = (0..rows)
                .map(|r| {
                    if clusters.roots[r] as usize == r {
                        clusters.rules[r]
                    } else {
                        0
                    }
                })
                .collect();
        }
        // Decisions, by row.
        let named: HashSet<&str> = decisions
            .accept
            .iter()
            .chain(&decisions.reject)
            .flatten()
            .map(String::as_str)
            .collect();
        let mut row_of: HashMap<&str, u32> = HashMap::new();
        if !named.is_empty() {
            for r in 0..rows {
                let id = input.id(r);
                if named.contains(id) {
                    row_of.entry(id).or_insert(r as u32);
                }
            }
        }
        let pair_rows = |p: &[String; 2]| -> Option<(u32, u32)> {
            let (a, b) = (*row_of.get(p[0].as_str())?, *row_of.get(p[1].as_str())?);
            (a != b).then_some((a.min(b), a.max(b)))
        };
        let rejected: HashSet<(u32, u32)> = decisions.reject.iter().filter_map(pair_rows).collect();
        // Links to explain, per pair: (a, b, why).
        let mut links: Vec<(u32, u32, Link)> = Vec::new();
        for p in &decisions.accept {
            if let Some((a, b)) = pair_rows(p)
                && !rejected.contains(&(a, b))
            {
                uf.union(a, b);
                links.push((a, b, Link::Accepted));
            }
        }
        let mut review: Vec<super::score::Scored> = Vec::new();
        let mut outcome = None;
        if let Some(scorer) = &self.scorer {
            let out = scorer.run(input, threads);
            stats.candidate_pairs += out.candidates;
            stats.compared_pairs += out.compared;
            stats.training_u_pairs = out.u_pairs;
            stats.training_em_pairs = out.em_pairs;
            let merge_bits = super::score::bits(scorer.merge) as f32;
            for s in &out.pairs {
                let key = (s.a.min(s.b), s.a.max(s.b));
                if rejected.contains(&key) {
                    continue;
                }
                if s.bits >= merge_bits && probability(f64::from(s.bits)) >= scorer.merge {
                    stats.matched_pairs += 1;
                    if uf.union(s.a, s.b) {
                        links.push((s.a, s.b, Link::Scored(s.bits)));
                    }
                } else {
                    review.push(*s);
                }
            }
            outcome = Some(out);
        }
        super::lap("linked");
        let roots = uf.roots();
        // A rejected pair that other links still put in one group (an accepted pair or a
        // rule joining its two sides): that group is reported, never merged.
        let mut refused: HashMap<u32, String> = HashMap::new();
        for &(a, b) in &rejected {
            let root = roots[a as usize];
            if root == roots[b as usize] {
                refused.entry(root).or_insert_with(|| {
                    format!(
                        "it holds {} and {}, a pair a person rejected, joined through other \
                         links: decide this group's pairs again",
                        input.id(a as usize),
                        input.id(b as usize)
                    )
                });
            }
        }
        let mut masks = vec![0u64; rows];
        for (r, &m) in rule_masks.iter().enumerate() {
            masks[roots[r] as usize] |= m;
        }
        let mut why: HashMap<u32, Vec<(u32, u32, Link)>> = HashMap::new();
        for (a, b, l) in links {
            why.entry(roots[a as usize]).or_default().push((a, b, l));
        }

        // Rows of each group (two records or more), in id order; groups by first id.
        let mut sizes = vec![0u32; rows];
        for &r in &roots {
            sizes[r as usize] += 1;
        }
        let mut slot = vec![u32::MAX; rows];
        let mut members: Vec<Vec<u32>> = Vec::new();
        for (row, &root) in roots.iter().enumerate() {
            if sizes[root as usize] < 2 {
                continue;
            }
            let s = &mut slot[root as usize];
            if *s == u32::MAX {
                *s = members.len() as u32;
                members.push(Vec::with_capacity(sizes[root as usize] as usize));
            }
            members[*s as usize].push(row as u32);
        }
        let by_id = |a: &u32, b: &u32| {
            id_order(input.id(*a as usize), input.id(*b as usize)).then(a.cmp(b))
        };
        for m in &mut members {
            m.sort_by(by_id);
        }
        members.sort_by(|a, b| by_id(&a[0], &b[0]));
        super::lap("grouped");

        stats.groups = members.len();
        // Each group is planned on its own: the groups are split over the threads and
        // their changes joined back in group order.
        let plan_groups = |(lo, hi): (usize, usize)| {
            let mut changes = Vec::with_capacity(hi - lo);
            let mut groups = Vec::with_capacity(hi - lo);
            for (k, rows) in members[lo..hi].iter().enumerate() {
                let group_id = format!("g{}", lo + k + 1);
                let root = roots[rows[0] as usize];
                let mask = masks[root as usize];
                let mut rule_names: Vec<String> = (0..self.rules.len())
                    .filter(|r| mask & (1 << r) != 0)
                    .map(|r| self.rules[r].name.clone())
                    .collect();
                let mut reasons = Vec::new();
                if let Some(links) = why.get(&root) {
                    if links.iter().any(|l| matches!(l.2, Link::Scored(_))) {
                        rule_names.push("score".to_string());
                    }
                    if links.iter().any(|l| matches!(l.2, Link::Accepted)) {
                        rule_names.push("accepted".to_string());
                    }
                    reasons = self.reasons(input, outcome.as_ref(), links);
                }
                let why = Linked {
                    rules: rule_names,
                    reasons,
                    refused: refused.get(&root).cloned(),
                };
                groups.push(self.group(input, group_id, rows, why, &mut changes));
            }
            (groups, changes)
        };
        let planned = matching::run_all(
            matching::chunks(members.len(), threads),
            threads,
            plan_groups,
        );
        let mut changes = Vec::with_capacity(planned.iter().map(|p| p.1.len()).sum());
        let mut groups = Vec::with_capacity(members.len());
        for (g, c) in planned {
            groups.extend(g);
            changes.extend(c);
        }
        stats.skipped_groups = groups.iter().filter(|g| g.skipped.is_some()).count();
        stats.merged_groups = groups.len() - stats.skipped_groups;

        super::lap("masters planned");
        // Review pairs: not already in one group, the likeliest first, capped.
        if let (Some(scorer), Some(out)) = (&self.scorer, &outcome) {
            review.retain(|s| roots[s.a as usize] != roots[s.b as usize]);
            stats.review_pairs_left_out = review.len().saturating_sub(MAX_REVIEW_PAIRS);
            review.truncate(MAX_REVIEW_PAIRS);
            stats.review_pairs = review.len();
            let last = review.len();
            for (i, s) in review.iter().enumerate() {
                let (mut a, mut b) = (s.a as usize, s.b as usize);
                if id_order(input.id(b), input.id(a)).is_lt() {
                    std::mem::swap(&mut a, &mut b);
                }
                let mut note = scorer.review_note(input, out, a, b, s.bits);
                if i + 1 == last && stats.review_pairs_left_out > 0 {
                    note.push_str(&format!(
                        " ({} less likely pairs not shown: at most {MAX_REVIEW_PAIRS} are; \
                         raise review_threshold to see the rest)",
                        stats.review_pairs_left_out
                    ));
                }
                changes.push(Change {
                    id: Some(input.id(a).to_string()),
                    action: Action::Review {
                        pair_id: format!("r{}", i + 1),
                        other_id: input.id(b).to_string(),
                    },
                    fields: Vec::new(),
                    note: Some(note),
                });
            }
        }
        super::lap("review noted");
        MergePlan {
            plan: Plan {
                object: self.config.object.clone(),
                changes,
            },
            groups,
            stats,
            model: outcome.map(|o| o.model),
        }
    }

    /// The plan: duplicate groups, each with its master and the master's new values, and
    /// (scored matching) the pairs to review.
    pub fn plan(&self, input: &MergeInput) -> MergePlan {
        self.plan_with(input, &crate::modules::Decisions::default())
    }

    /// Why a group's records are linked: its strongest scored links and the accepted
    /// pairs, a few at most.
    fn reasons(
        &self,
        input: &MergeInput,
        out: Option<&super::score::Outcome>,
        links: &[(u32, u32, Link)],
    ) -> Vec<String> {
        let mut reasons = Vec::new();
        for &(a, b, l) in links.iter().take(NOTE_LINKS) {
            let pair = format!("{} + {}", input.id(a as usize), input.id(b as usize));
            match (l, &self.scorer, out) {
                (Link::Scored(bits), Some(scorer), Some(out)) => reasons.push(format!(
                    "{pair} {}",
                    scorer.merge_reason(out, a as usize, b as usize, bits)
                )),
                (Link::Accepted, ..) => reasons.push(format!("{pair} accepted by a person")),
                _ => {}
            }
        }
        if links.len() > NOTE_LINKS {
            reasons.push(format!("and {} more links", links.len() - NOTE_LINKS));
        }
        reasons
    }

    /// One group's changes, and its report.
    fn group(
        &self,
        input: &MergeInput,
        group_id: String,
        rows: &[u32],
        why: Linked,
        changes: &mut Vec<Change>,
    ) -> Group {
        let Linked {
            rules,
            reasons,
            refused,
        } = why;
        let id = |r: u32| input.id(r as usize).to_string();
        let contacts: Vec<u32> = rows
            .iter()
            .copied()
            .filter(|&r| !input.is_lead(r as usize))
            .collect();
        // Salesforce converts a Lead into an existing Contact only together with that
        // Contact's Account (`REQUIRED_FIELD_MISSING accountId` otherwise): a group with
        // Leads takes its master among the Contacts that have one, and a group where none
        // has one is reported here, in the preview, not failed at apply.
        let has_leads = contacts.len() < rows.len();
        let candidates: Vec<u32> = match self.account_field {
            Some(f) if has_leads => contacts
                .iter()
                .copied()
                .filter(|&r| {
                    input
                        .value(r as usize, f)
                        .is_some_and(|v| !v.trim().is_empty())
                })
                .collect(),
            _ => contacts.clone(),
        };
        let chosen = if let Some(reason) = refused {
            Err(reason)
        } else if rows.len() > self.config.max_group_size {
            Err(format!(
                "{} records are more than max_group_size ({}): check the rules that linked \
                 them, or raise the limit",
                rows.len(),
                self.config.max_group_size
            ))
        } else if contacts.is_empty() {
            Err(format!(
                "only {} records matched; merge them with a template on that object",
                self.lead_object().unwrap_or("lead")
            ))
        } else if candidates.is_empty() {
            let field = self
                .account_field
                .map_or("AccountId", |f| self.fields[f].as_str());
            Err(format!(
                "Salesforce converts a Lead only into a Contact with an Account, and no {} \
                 of this group has one ({field} is empty): set the Account on the Contact \
                 that should remain, then run the template again",
                self.config.object
            ))
        } else {
            master::choose(&self.master, self.config.master.mode, input, &candidates)
        };
        let m = match chosen {
            Ok(m) => m,
            Err(reason) => {
                let shown: Vec<String> = rows.iter().take(NOTE_IDS).map(|&r| id(r)).collect();
                let more = if rows.len() > NOTE_IDS { ", …" } else { "" };
                let note = format!(
                    "group {group_id} ({} records: {}{more}) not merged: {reason}",
                    rows.len(),
                    shown.join(", ")
                );
                for &r in rows {
                    changes.push(Change {
                        id: Some(id(r)),
                        action: Action::Flag,
                        fields: Vec::new(),
                        note: Some(note.clone()),
                    });
                }
                return Group {
                    group_id,
                    ids: rows.iter().map(|&r| id(r)).collect(),
                    master: None,
                    leads: rows
                        .iter()
                        .filter(|&&r| input.is_lead(r as usize))
                        .map(|&r| id(r))
                        .collect(),
                    rules,
                    skipped: Some(reason),
                };
            }
        };
        // Whether the Account requirement moved the master from the one the rules pick.
        let moved = candidates.len() < contacts.len()
            && master::choose(&self.master, self.config.master.mode, input, &contacts).ok()
                != Some(m);
        let ordered: Vec<u32> = std::iter::once(m)
            .chain(rows.iter().copied().filter(|&r| r != m))
            .collect();
        let mut fields = Vec::new();
        for (f, rule) in &self.columns {
            let before = input.value(m as usize, *f);
            let after = survive(rule, input, *f, &ordered);
            if after.as_deref() != before {
                fields.push(FieldChange {
                    field: self.fields[*f].clone(),
                    before: before.map(str::to_string),
                    after,
                });
            }
        }
        let master_id = id(m);
        let leads: Vec<u32> = ordered[1..]
            .iter()
            .copied()
            .filter(|&r| input.is_lead(r as usize))
            .collect();
        if let Some(x) = &self.config.cross_object {
            let account_id = self
                .account_field
                .and_then(|f| input.value(m as usize, f))
                .map(str::to_string);
            for &l in &leads {
                changes.push(Change {
                    id: Some(id(l)),
                    action: Action::ConvertLead {
                        group_id: group_id.clone(),
                        contact_id: master_id.clone(),
                        account_id: account_id.clone(),
                        converted_status: x.converted_status.clone(),
                    },
                    fields: Vec::new(),
                    note: Some(format!("convert into {} {master_id}", self.config.object)),
                });
            }
        }
        let duplicate_ids: Vec<String> = ordered[1..]
            .iter()
            .filter(|&&r| !input.is_lead(r as usize))
            .map(|&r| id(r))
            .collect();
        changes.push(Change {
            id: Some(master_id.clone()),
            action: Action::Merge {
                group_id: group_id.clone(),
                duplicate_ids,
            },
            fields,
            note: merge_note(&rules, &reasons, moved),
        });
        Group {
            group_id,
            ids: ordered.iter().map(|&r| id(r)).collect(),
            master: Some(master_id),
            leads: leads.iter().map(|&r| id(r)).collect(),
            rules,
            skipped: None,
        }
    }
}
