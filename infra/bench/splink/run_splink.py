#!/usr/bin/env python3
"""Deduplicate Steward's generated contacts with splink 4 (DuckDB backend).

  run_splink.py --csv contacts.csv --out clusters.csv [--threshold 0.99] [--model people|febrl]

--model people (default): Steward's generated contacts. A Fellegi-Sunter model on the
fields Steward's merge template (merge-contacts.json) matches on:
  first/last name  normalized (lower case, accents and punctuation removed), exact /
                   Jaro-Winkler >= 0.92 / 0.88 / 0.7, term-frequency adjusted
  email            normalized (lower case, +tag dropped, gmail dots and googlemail folded),
                   exact / Jaro-Winkler >= 0.88
  phone            digits only, last 9 (folds +CC and trunk 0 for every country generated), exact
  company          lower case, punctuation and legal form (Inc, LLC, GmbH...) removed,
                   exact / Jaro-Winkler >= 0.9 / 0.7
  city             lower case, accents removed, exact / Jaro-Winkler >= 0.9
  job title        lower case, punctuation removed, exact
and, when the file has them (the generator's people since issue #19), the person-record
fields: date of birth (DateOfBirthComparison: exact / one character off / within a month,
a year, ten years), postcode (upper case, no spaces: exact / Damerau-Levenshtein <= 1),
street address (lower case, punctuation dropped: exact / Jaro-Winkler >= 0.9 / 0.7).
Blocking (predictions), the keys of infra/bench/merge-contacts.json: email; phone;
company; city + job title + first or last two letters of the last name.
Training as splink's docs recommend: probability two random records match from
deterministic rules, u by random sampling, m by EM sessions blocked on other fields.

--model febrl: the FEBRL benchmark files written by febrl.py, modelled as splink's own
FEBRL examples do: given name and surname (NameComparison, term-frequency adjusted), date of
birth (DateOfBirthComparison), social security id (Damerau-Levenshtein <= 1 / 2), street
number (exact), street (Jaro-Winkler >= 0.9 / 0.7), postcode (Damerau-Levenshtein <= 1),
suburb (Jaro-Winkler >= 0.9), state (exact). Blocking on given name, surname, date of
birth, social security id, postcode + street number; u by random sampling, m by EM
sessions blocked on date of birth, on the names, and on the postcode.

Writes `cluster_id,id` for every record in a cluster of two or more, and prints
`records load_s model_s total_s clusters pairs train_s predict_s`: load_s is reading and
normalizing the CSV; model_s is training + predict + clustering + writing the clusters
(wall time), split into train_s and predict_s (predict + cluster + write); pairs is the
number of scored pairs at or above the threshold.
"""

import argparse
import csv
import logging
import sys
import time

import duckdb
import splink
import splink.comparison_library as cl
import splink.comparison_level_library as cll
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# Legal forms dropped from company names before comparing (as Steward's `normalized` does).
SUFFIXES = (
    "inc|incorporated|llc|llp|lp|ltd|limited|plc|corp|corporation|co|company|gmbh|ag|kg|"
    "sa|sas|sarl|srl|spa|bv|nv|ab|as|oy|pty|pte|kk|sl|se"
)


PERSON_COLUMNS = {"date_of_birth", "zip", "address"}


def csv_columns(csv_path: str) -> set:
    with open(csv_path, newline="", encoding="utf-8") as f:
        return set(next(csv.reader(f)))


def normalize_sql(csv_path: str, columns: set) -> str:
    name = "nullif(regexp_replace(lower(strip_accents(trim({c}))), '[^a-z]', '', 'g'), '')"
    lowered_email = "lower(trim(email))"
    local = f"split_part({lowered_email}, '@', 1)"
    domain = f"split_part({lowered_email}, '@', 2)"
    gmail = f"{domain} in ('gmail.com', 'googlemail.com')"
    local_base = f"split_part({local}, '+', 1)"
    email = (
        f"nullif(case when {lowered_email} not like '%@%' then {lowered_email} "
        f"when {gmail} then replace({local_base}, '.', '') || '@gmail.com' "
        f"else {local_base} || '@' || {domain} end, '')"
    )
    digits = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"
    phone = f"case when length({digits}) >= 6 then right({digits}, 9) end"
    company_words = (
        "trim(regexp_replace(lower(strip_accents(coalesce(company, ''))), '[^a-z0-9]+', ' ', 'g'))"
    )
    company = (
        f"nullif(trim(regexp_replace({company_words}, '( ({SUFFIXES}))+$', '')), '')"
    )
    city = "nullif(regexp_replace(lower(strip_accents(trim(coalesce(city, '')))), '[^a-z]+', ' ', 'g'), '')"
    title = "nullif(trim(regexp_replace(lower(strip_accents(coalesce(jobtitle, ''))), '[^a-z0-9]+', ' ', 'g')), '')"
    extra = ""
    if PERSON_COLUMNS <= columns:
        extra = """,
            nullif(trim(date_of_birth), '') as date_of_birth,
            nullif(regexp_replace(upper(coalesce(zip, '')), '[^A-Z0-9]', '', 'g'), '') as zip,
            nullif(trim(regexp_replace(lower(strip_accents(coalesce(address, ''))), '[^a-z0-9]+', ' ', 'g')), '') as address"""
    return f"""
        create table contacts as
        select
            cast(id as bigint) as id,
            {name.format(c='firstname')} as first_name,
            {name.format(c='lastname')} as last_name,
            {email} as email,
            {phone} as phone,
            {company} as company,
            trim({city}) as city,
            {title} as jobtitle{extra}
        from read_csv('{csv_path}', all_varchar = true, header = true)
    """


def person_comparisons(columns: set) -> list:
    if not PERSON_COLUMNS <= columns:
        return []
    return [
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y-%m-%d"),
        cl.CustomComparison(
            output_column_name="zip",
            comparison_levels=[
                cll.NullLevel("zip"),
                cll.ExactMatchLevel("zip"),
                cll.DamerauLevenshteinLevel("zip", 1),
                cll.ElseLevel(),
            ],
        ),
        cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
    ]


def settings(columns: set) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            # Exact on the normalized address, else Jaro-Winkler >= 0.88 (typos). Not
            # splink's EmailComparison: its "same user name at another domain" level fires on
            # every john.smith@... of this data (addresses are built from names) and cost
            # about 2 points of F1 at 1M records.
            cl.CustomComparison(
                output_column_name="email",
                comparison_levels=[
                    cll.NullLevel("email"),
                    cll.ExactMatchLevel("email"),
                    cll.JaroWinklerLevel("email", 0.88),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("company", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.ExactMatch("jobtitle"),
            *person_comparisons(columns),
        ],
        # The keys Steward's merge-contacts.json blocks on: email; phone; company; city +
        # job title, split (as Steward splits large blocks) by the last name's first or
        # last two characters.
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("company"),
            block_on("city", "jobtitle", "substr(last_name, 1, 2)"),
            block_on("city", "jobtitle", "substr(last_name, -2)"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def febrl_sql(csv_path: str) -> str:
    text = "nullif(trim(lower(coalesce({c}, ''))), '')"
    return f"""
        create table contacts as
        select
            id,
            {text.format(c='firstname')} as given_name,
            {text.format(c='lastname')} as surname,
            nullif(regexp_extract(coalesce(address, ''), '^([0-9]+) ', 1), '') as street_number,
            nullif(trim(regexp_replace(lower(coalesce(address, '')), '^[0-9]+ ', '')), '') as address_1,
            {text.format(c='city')} as suburb,
            {text.format(c='zip')} as postcode,
            {text.format(c='state')} as state,
            nullif(replace(trim(coalesce(date_of_birth, '')), '-', ''), '') as date_of_birth,
            {text.format(c='soc_sec_id')} as soc_sec_id
        from read_csv('{csv_path}', all_varchar = true, header = true)
    """


def febrl_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def train_febrl(linker, u_pairs):
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"), block_on("soc_sec_id")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))


def train_people(linker, u_pairs):
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "last_name", "phone")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    # Each EM session estimates m for the comparisons not in its blocking rule.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "last_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threshold", type=float, default=0.99,
                    help="match probability for predictions and clustering (default 0.99)")
    ap.add_argument("--u-pairs", type=float, default=1e7,
                    help="max pairs for estimate_u_using_random_sampling (default 1e7)")
    ap.add_argument("--model", choices=["people", "febrl"], default="people",
                    help="people: Steward's generated contacts (default); febrl: febrl.py's files")
    ap.add_argument("--verbose", action="store_true", help="splink's own progress logging")
    a = ap.parse_args()
    if not a.verbose:
        logging.getLogger("splink").setLevel(logging.WARNING)

    t0 = time.perf_counter()
    con = duckdb.connect(":memory:")
    path = a.csv.replace("'", "''")
    if a.model == "febrl":
        con.execute(febrl_sql(path))
    else:
        con.execute(normalize_sql(path, csv_columns(a.csv)))
    records = con.execute("select count(*) from contacts").fetchall()[0][0]
    t1 = time.perf_counter()

    db_api = DuckDBAPI(connection=con)
    model = febrl_settings() if a.model == "febrl" else settings(csv_columns(a.csv))
    linker = Linker("contacts", model, db_api=db_api, set_up_basic_logging=a.verbose)
    (train_febrl if a.model == "febrl" else train_people)(linker, a.u_pairs)
    t_trained = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=a.threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=a.threshold
    )
    out = a.out.replace("'", "''")
    con.execute(f"""
        copy (
            select cluster_id, id from {clusters.physical_name}
            where cluster_id in (
                select cluster_id from {clusters.physical_name}
                group by cluster_id having count(*) > 1)
            order by cluster_id, id
        ) to '{out}' (header, delimiter ',')
    """)
    n_pairs = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]
    n_clusters = con.execute(f"""
        select count(*) from (select cluster_id from {clusters.physical_name}
                              group by cluster_id having count(*) > 1)
    """).fetchall()[0][0]
    t2 = time.perf_counter()
    threads = con.execute("select current_setting('threads')").fetchall()[0][0]
    version = getattr(splink, "__version__", "?")
    print(f"splink {version} duckdb {duckdb.__version__} threads {threads}", file=sys.stderr)
    print(f"{records} {t1 - t0:.2f} {t2 - t1:.2f} {t2 - t0:.2f} {n_clusters} {n_pairs} "
          f"{t_trained - t1:.2f} {t2 - t_trained:.2f}")


if __name__ == "__main__":
    main()
