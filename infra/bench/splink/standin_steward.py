#!/usr/bin/env python3
"""A stand-in for `steward run` to test compare-splink.sh before the merge engine exists.

  standin_steward.py --template T --csv contacts.csv --out DIR

Writes DIR/preview.csv in the layout of Steward's merge preview (record_id, action,
group_id, role, note) from a naive rule: records sharing a lower-cased email, the last 9
digits of a phone, or lower-cased first + last name + city are one group. It is NOT
Steward and its figures mean nothing about Steward.
"""

import argparse
import csv
import os
import re


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--template")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    parent = {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_of = {}
    with open(a.csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            row = {k: (v or "") for k, v in row.items()}
            rid = row["id"]
            parent[rid] = rid
            digits = re.sub(r"\D", "", row.get("phone", ""))
            email = row.get("email", "").strip().lower()
            first, last = row.get("firstname", ""), row.get("lastname", "")
            keys = [
                ("e", email) if email else None,
                ("p", digits[-9:]) if len(digits) >= 6 else None,
                ("n", first.strip().lower(), last.strip().lower(),
                 row.get("city", "").strip().lower()) if first and last else None,
            ]
            for k in keys:
                if k is None:
                    continue
                if k in first_of:
                    ra, rb = find(first_of[k]), find(rid)
                    if ra != rb:
                        parent[rb] = ra
                else:
                    first_of[k] = rid
    groups = {}
    for rid in parent:
        groups.setdefault(find(rid), []).append(rid)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "preview.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["record_id", "action", "group_id", "role", "note"])
        g = 0
        for members in groups.values():
            if len(members) < 2:
                continue
            g += 1
            for i, m in enumerate(sorted(members)):
                w.writerow([m, "merge", g, "master" if i == 0 else "duplicate", "stand-in"])


if __name__ == "__main__":
    main()
