#!/usr/bin/env python3
"""Pairwise precision / recall / F1 of predicted duplicate clusters against ground truth.

A pair of records is "predicted" when both sit in the same predicted cluster and "true"
when both sit in the same ground-truth cluster. Pairs are counted from cluster
intersection sizes (sum of n*(n-1)/2), never enumerated, so 1M records are fine.

  evaluate.py --truth gt.jsonl --steward DIR/preview.csv
  evaluate.py --truth gt.jsonl --clusters splink-clusters.csv   (columns: cluster_id,id)
  ... --households hh.jsonl   (also: how the predicted groups treat true households)

Ground truth: one JSON list of CSV ids per line (clusters of two or more).
Prints one line: `precision recall f1 pred_pairs true_pairs tp pred_clusters merged
undecided oversized other` (the last four: Steward's groups by outcome, 0 for clusters)
or, with --json, a JSON object. With --households (one JSON list of ids per line: distinct
people at one address, each a true entity of their own, as `steward sandbox-export
--households` writes them) two more fields: `hh_precision` (of the predicted pairs between
records of one household — a member, or the head and the head's own duplicates — the share
that are true pairs; 1 when none is predicted) and `hh_false_pairs` (predicted pairs joining
two different people of one household).
"""

import argparse
import csv
import json
import re
import sys
from collections import Counter, defaultdict


def pairs(n: int) -> int:
    return n * (n - 1) // 2


def plain(cell: str) -> str:
    # Steward neutralizes cells starting with = + - @ by prefixing a quote; ids are digits,
    # but strip it anyway so the evaluation never depends on that.
    cell = cell.strip()
    return cell[1:] if cell.startswith("'") else cell


def read_truth(path):
    label = {}
    sizes = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            members = json.loads(line)
            k = len(sizes)
            n = 0
            for m in members:
                m = str(m)
                if m in label:
                    sys.exit(f"evaluate: id {m} is in two ground-truth clusters")
                label[m] = k
                n += 1
            sizes.append(n)
    return label, sizes


NOT_MERGED = re.compile(r"^group (\S+) \((\d+) records")


def read_steward(path, merged_only=False, stats=None):
    """Groups from Steward's preview.csv.

    A merged group is one row per member with its group_id and role master|duplicate. A
    group found but not merged (master rules undecided, larger than max_group_size, only
    Leads) is one `flag` row per member whose note starts `group gN (K records: ...) not
    merged: reason`. Both are duplicates the matching found, so both count unless
    `merged_only`.
    """
    groups = defaultdict(list)
    kinds = {}
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = [plain(h) for h in next(r)]
        try:
            i_id = header.index("record_id")
            i_action = header.index("action")
            i_group = header.index("group_id")
            i_role = header.index("role")
            i_note = header.index("note")
        except ValueError:
            sys.exit(f"evaluate: {path} lacks record_id/action/group_id/role/note: {header[:8]}")
        width = max(i_id, i_action, i_group, i_role, i_note)
        for row in r:
            if len(row) <= width:
                continue
            role = plain(row[i_role]).lower()
            g = plain(row[i_group])
            if g and role in ("master", "duplicate"):
                groups[g].append(plain(row[i_id]))
                kinds[g] = "merged"
                continue
            m = NOT_MERGED.match(plain(row[i_note]))
            if m and plain(row[i_action]).lower() == "flag":
                g = m.group(1)
                groups[g].append(plain(row[i_id]))
                note = row[i_note]
                kinds[g] = ("oversized" if "max_group_size" in note
                            else "undecided" if "master rules" in note else "other")
    if stats is not None:
        stats.update(Counter(kinds.values()))
    return [v for g, v in groups.items() if not merged_only or kinds[g] == "merged"]


def read_clusters(path):
    """Clusters from a `cluster_id,id` CSV (splink's output as written by run_splink.py)."""
    groups = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.DictReader(f)
        for row in r:
            groups[row["cluster_id"]].append(plain(row["id"]))
    return list(groups.values())


def read_households(path, truth_label):
    """Household label of every record: its members, and every record of a member's
    ground-truth cluster (the head's duplicates live there too)."""
    by_cluster = defaultdict(list)
    for rid, k in truth_label.items():
        by_cluster[k].append(rid)
    label = {}
    with open(path, encoding="utf-8") as f:
        for h, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            for m in json.loads(line):
                m = str(m)
                label[m] = h
                for other in by_cluster.get(truth_label.get(m), []):
                    label[other] = h
    return label


def household_score(hh_label, truth_label, clusters):
    pred = tp = 0
    seen = set()
    for members in clusters:
        members = [m for m in members if m not in seen]
        seen.update(members)
        in_hh = [m for m in members if m in hh_label]
        pred += sum(pairs(c) for c in Counter(hh_label[m] for m in in_hh).values())
        tp += sum(pairs(c) for c in Counter(
            (hh_label[m], truth_label.get(m, ("single", m))) for m in in_hh).values())
    return {"hh_precision": tp / pred if pred else 1.0, "hh_false_pairs": pred - tp}


def score(truth_label, truth_sizes, clusters):
    true_pairs = sum(pairs(n) for n in truth_sizes)
    pred_pairs = 0
    tp = 0
    seen = set()
    n_clusters = 0
    for members in clusters:
        members = [m for m in members if m not in seen]  # a record in two groups counts once
        seen.update(members)
        if len(members) < 2:
            continue
        n_clusters += 1
        pred_pairs += pairs(len(members))
        counts = Counter(truth_label[m] for m in members if m in truth_label)
        tp += sum(pairs(c) for c in counts.values())
    precision = tp / pred_pairs if pred_pairs else (1.0 if true_pairs == 0 else 0.0)
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pred_pairs": pred_pairs,
        "true_pairs": true_pairs,
        "tp": tp,
        "pred_clusters": n_clusters,
        "true_clusters": len(truth_sizes),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--truth", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--steward", help="Steward preview.csv")
    src.add_argument("--clusters", help="cluster_id,id CSV")
    ap.add_argument("--merged-only", action="store_true",
                    help="Steward: count only merged groups, not the ones flagged (not merged)")
    ap.add_argument("--households", help="households JSON lines (adds hh_precision hh_false_pairs)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    label, sizes = read_truth(a.truth)
    stats = Counter()
    if a.steward:
        clusters = read_steward(a.steward, a.merged_only, stats)
    else:
        clusters = read_clusters(a.clusters)
    s = score(label, sizes, clusters)
    s.update({f"groups_{k}": v for k, v in stats.items()})
    if a.households:
        s.update(household_score(read_households(a.households, label), label, clusters))
    if a.json:
        print(json.dumps(s))
    else:
        hh = f" {s['hh_precision']:.4f} {s['hh_false_pairs']}" if a.households else ""
        print(
            f"{s['precision']:.4f} {s['recall']:.4f} {s['f1']:.4f} "
            f"{s['pred_pairs']} {s['true_pairs']} {s['tp']} {s['pred_clusters']} "
            f"{stats['merged']} {stats['undecided']} {stats['oversized']} {stats['other']}{hh}"
        )


if __name__ == "__main__":
    main()
