//! Merge benchmark: generated contacts with known duplicate clusters, matched by the
//! template `infra/bench/merge-contacts.json` (bench profile):
//!
//!   cargo bench -p steward-tests --bench merge -- [SIZES...]     (default: 100000 1000000)
//!
//! Prints, per size: generation time, engine wall time (records already in memory),
//! peak RSS of the engine (VmHWM, reset after generation) and of the whole process,
//! pairs compared, groups, and pairwise precision/recall/F1 against the generator's
//! ground truth. The engine never sees the ground truth. `MERGE_BENCH_MISSES=N` also
//! prints N missed and N wrong pairs, for tuning the template.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_sandbox::generator::{self, Person};
use steward_shared::modules::ModuleConfig;
use steward_shared::modules::merge::MergeEngine;
use steward_shared::templates::{self, TemplateInput};

const TEMPLATE: &str = include_str!("../../infra/bench/merge-contacts.json");
const SEED: u64 = 42;
const DUPLICATE_RATE: f64 = 0.2;
/// The sandbox's reference instant (2026-01-01T00:00:00Z), as its CRMs date records.
const REFERENCE_SECS: i64 = 1_767_225_600;

fn engine() -> MergeEngine {
    let input: TemplateInput = serde_json::from_str(TEMPLATE).expect("the template is JSON");
    match templates::validate(&input).expect("the template is valid") {
        (_, ModuleConfig::Merge(c)) => c.engine().expect("the merge config compiles"),
        (m, _) => panic!("the benchmark template is a {m} template"),
    }
}

fn value<'a>(p: &'a Person, field: &str) -> Option<&'a str> {
    match field {
        "firstname" => p.first_name.as_deref(),
        "lastname" => p.last_name.as_deref(),
        "email" => p.email.as_deref(),
        "phone" => p.phone.as_deref(),
        "company" => p.company.as_deref(),
        "jobtitle" => p.job_title.as_deref(),
        "city" => p.city.as_deref(),
        "state" => p.state.as_deref(),
        "country" => p.country.as_deref(),
        _ => None,
    }
}

/// Created and last modified, as the sandbox's CRMs date a generated record.
fn times(p: &Person) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let reference = Utc.timestamp_opt(REFERENCE_SECS, 0).single();
    let ago = i64::try_from(p.created_secs_ago).unwrap_or(0);
    let created = reference.map(|r| r - Duration::seconds(ago));
    (created, created.map(|c| c + Duration::seconds(ago / 2)))
}

/// Kilobytes of a `/proc/self/status` line (`VmHWM`, `VmRSS`).
fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux 4.0+), so the next peak is the engine's.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    let misses: usize = std::env::var("MERGE_BENCH_MISSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "merge benchmark: template infra/bench/merge-contacts.json, seed {SEED}, duplicate rate {DUPLICATE_RATE}, {threads} threads"
    );
    for n in sizes {
        run(n, misses);
    }
}

fn run(n: usize, misses: usize) {
    let engine = engine();
    let t = Instant::now();
    let data = generator::generate(SEED, n, DUPLICATE_RATE);
    let generation = t.elapsed();
    // Only the contacts and their clusters are needed from here on.
    let generator::Dataset {
        people,
        clusters,
        users,
        companies,
        deals,
        leads,
    } = data;
    drop((users, companies, deals, leads));
    let clusters: Vec<Vec<String>> = clusters
        .into_iter()
        .filter(|c| c.kind == "person")
        .map(|c| c.keys)
        .collect();
    let process_peak_after_generation = status_kb("VmHWM");
    let reset = reset_peak();
    let baseline = status_kb("VmRSS");

    let t = Instant::now();
    let mut input = engine.input();
    input.reserve(people.len());
    let fields = engine.reads();
    for p in &people {
        let (created, modified) = times(p);
        input.push(&p.key, created, modified, |f| value(p, f));
    }
    let loading = t.elapsed();
    let t = Instant::now();
    let plan = engine.plan(&input);
    let wall = t.elapsed();
    let engine_peak = status_kb("VmHWM");
    drop(input);

    // Pairwise scores over the groups the plan merges (and over every group found).
    let truth: HashMap<&str, usize> = clusters
        .iter()
        .enumerate()
        .flat_map(|(i, keys)| keys.iter().map(move |k| (k.as_str(), i)))
        .collect();
    let true_pairs: u64 = clusters.iter().map(|c| pairs(c.len() as u64)).sum();
    let score = |groups: &mut dyn Iterator<Item = &Vec<String>>| {
        let (mut predicted, mut correct) = (0u64, 0u64);
        for ids in groups {
            predicted += pairs(ids.len() as u64);
            let mut by_cluster: HashMap<usize, u64> = HashMap::new();
            for id in ids {
                if let Some(&c) = truth.get(id.as_str()) {
                    *by_cluster.entry(c).or_default() += 1;
                }
            }
            correct += by_cluster.values().map(|&k| pairs(k)).sum::<u64>();
        }
        let p = if predicted == 0 {
            1.0
        } else {
            correct as f64 / predicted as f64
        };
        let r = if true_pairs == 0 {
            1.0
        } else {
            correct as f64 / true_pairs as f64
        };
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f1, predicted, correct)
    };
    let (p, r, f1, predicted, correct) = score(
        &mut plan
            .groups
            .iter()
            .filter(|g| g.skipped.is_none())
            .map(|g| &g.ids),
    );
    let (fp, fr, ff1, _, _) = score(&mut plan.groups.iter().map(|g| &g.ids));
    let s = plan.stats;
    println!(
        "\n== {n} contacts ({} reads: {})",
        fields.len(),
        fields.join(", ")
    );
    println!(
        "generation      {:>8.2} s   (process peak so far {:.0} MB)",
        generation.as_secs_f64(),
        mb(process_peak_after_generation)
    );
    println!("loading input   {:>8.2} s", loading.as_secs_f64());
    println!("engine wall     {:>8.2} s", wall.as_secs_f64());
    if reset {
        println!(
            "engine peak RSS {:>8.0} MB   (baseline with the generated data {:.0} MB; engine + input {:.0} MB)",
            mb(engine_peak),
            mb(baseline),
            mb(engine_peak.saturating_sub(baseline))
        );
    } else {
        println!(
            "process peak RSS {:>7.0} MB   (VmHWM could not be reset)",
            mb(engine_peak)
        );
    }
    println!(
        "pairs           {} candidates, {} compared, {} matched",
        s.candidate_pairs, s.compared_pairs, s.matched_pairs
    );
    println!(
        "groups          {} found: {} merged, {} skipped (true clusters: {})",
        s.groups,
        s.merged_groups,
        s.skipped_groups,
        clusters.len()
    );
    println!(
        "merged groups   precision {p:.4}  recall {r:.4}  F1 {f1:.4}   ({correct} of {predicted} predicted pairs right, {true_pairs} true pairs)"
    );
    println!("all groups      precision {fp:.4}  recall {fr:.4}  F1 {ff1:.4}");

    if misses > 0 {
        let by_key: HashMap<&str, &Person> = people.iter().map(|p| (p.key.as_str(), p)).collect();
        let group_of: HashMap<&str, usize> = plan
            .groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.ids.iter().map(move |id| (id.as_str(), i)))
            .collect();
        let show = |p: &Person| {
            format!(
                "{:?} {:?} | {:?} | {:?} | {:?} | {:?} | {:?} {:?} {:?}",
                p.first_name,
                p.last_name,
                p.email,
                p.phone,
                p.company,
                p.job_title,
                p.city,
                p.state,
                p.country
            )
        };
        println!("\n-- missed pairs");
        let mut shown = 0;
        'clusters: for c in &clusters {
            for (i, a) in c.iter().enumerate() {
                for b in &c[i + 1..] {
                    let same = matches!((group_of.get(a.as_str()), group_of.get(b.as_str())), (Some(x), Some(y)) if x == y);
                    if !same {
                        println!(
                            "  {}\n  {}\n",
                            show(by_key[a.as_str()]),
                            show(by_key[b.as_str()])
                        );
                        shown += 1;
                        if shown >= misses {
                            break 'clusters;
                        }
                    }
                }
            }
        }
        let mut by_rules: HashMap<String, u64> = HashMap::new();
        for g in &plan.groups {
            for (i, a) in g.ids.iter().enumerate() {
                for b in &g.ids[i + 1..] {
                    let same = matches!((truth.get(a.as_str()), truth.get(b.as_str())), (Some(x), Some(y)) if x == y);
                    if !same {
                        *by_rules.entry(g.rules.join("; ")).or_default() += 1;
                    }
                }
            }
        }
        let mut by_rules: Vec<(String, u64)> = by_rules.into_iter().collect();
        by_rules.sort_by_key(|r| std::cmp::Reverse(r.1));
        println!("-- wrong pairs by the rules that linked their group");
        for (rules, n) in by_rules {
            println!("  {n:>7}  {rules}");
        }
        println!("-- wrong pairs");
        let mut shown = 0;
        'groups: for g in &plan.groups {
            for (i, a) in g.ids.iter().enumerate() {
                for b in &g.ids[i + 1..] {
                    let same = matches!((truth.get(a.as_str()), truth.get(b.as_str())), (Some(x), Some(y)) if x == y);
                    if !same {
                        println!(
                            "  [{}]\n  {}\n  {}\n",
                            g.rules.join("; "),
                            show(by_key[a.as_str()]),
                            show(by_key[b.as_str()])
                        );
                        shown += 1;
                        if shown >= misses {
                            break 'groups;
                        }
                    }
                }
            }
        }
    }
}
