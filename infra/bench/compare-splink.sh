#!/usr/bin/env bash
# Steward vs splink (issue #6): the same generated dirty contacts deduplicated by
# `steward run --template infra/bench/merge-contacts.json` and by splink 4 (DuckDB backend,
# infra/bench/splink/run_splink.py), each timed as a whole process with GNU time, each
# scored against the generator's ground truth (pairwise precision / recall / F1).
#
#   infra/bench/compare-splink.sh [SIZES...]      (default: 100000 1000000)
#
# Environment: SPLINK_TIMEOUT (seconds per splink run, default 1800), STEWARD_TIMEOUT
# (default 1800), SPLINK_THRESHOLD (match probability, default 0.99), KEEP=1 to keep the
# work directory, BENCH_DIR to use a given one. For testing this script only:
# MERGE_TEMPLATE (another template) and STEWARD_RUN (a command run instead of
# `steward run`, same arguments, e.g. infra/bench/splink/standin_steward.py); the table
# then says that the Steward rows come from a stand-in.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
template=${MERGE_TEMPLATE:-infra/bench/merge-contacts.json}
splink_dir=infra/bench/splink
venv=$splink_dir/.venv
splink_timeout=${SPLINK_TIMEOUT:-1800}
steward_timeout=${STEWARD_TIMEOUT:-1800}
threshold=${SPLINK_THRESHOLD:-0.99}

die() { echo "compare-splink: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak RSS"
[ -f "$template" ] || die "the merge template $template is missing (issue #6 writes it); nothing to compare"
command -v python3.11 >/dev/null || command -v python3 >/dev/null || die "python 3 is needed"
py=$(command -v python3.11 || command -v python3)

# splink in its own venv, pinned.
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" >&2
fi
if ! cmp -s "$splink_dir/requirements.txt" "$venv/.installed" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$splink_dir/requirements.txt" >&2
  cp "$splink_dir/requirements.txt" "$venv/.installed"
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
# One timed process; sets $secs, $kb and $status (ok | timeout | failed (rc N)).
timed() {
  local limit=$1 log=$2; shift 2
  local rc=0
  loads+=("$(basename "$log") $(cut -d" " -f1 /proc/loadavg)")
  /usr/bin/time -f '%e %M' -o "$work/time" timeout -k 30 "$limit" "$@" >"$log.out" 2>"$log.err" || rc=$?
  read -r secs kb < <(tail -n 1 "$work/time") || { secs=0; kb=0; }
  case $rc in
    0) status=ok ;;
    124) status="timeout after ${limit}s" ;;
    137) status="killed (out of memory?)" ;;
    *) status="failed (rc $rc, see $log.err)" ;;
  esac
}

for n in "${sizes[@]}"; do
  csv=$work/contacts-$n.csv gt=$work/gt-$n.jsonl
  "$bin" sandbox-export --records "$n" --out "$csv" --ground-truth "$gt" >/dev/null
  echo "size $n: $(($(wc -l < "$csv") - 1)) records, $(wc -l < "$gt") true clusters" >&2

  # Steward.
  out=$work/steward-$n
  rm -rf "$out"
  timed "$steward_timeout" "$work/steward-$n" "${steward_run[@]}" --template "$template" --csv "$csv" --out "$out"
  s_secs=$secs s_mb=$(awk -v kb="$kb" 'BEGIN { printf "%.0f", kb / 1024 }')
  if [ "$status" = ok ] && [ -f "$out/preview.csv" ]; then
    read -r s_p s_r s_f _ _ _ _ g_merged g_undecided g_oversized g_other < <("$venv/bin/python" \
      "$splink_dir/evaluate.py" --truth "$gt" --steward "$out/preview.csv")
    read -r _ _ s_fm _ < <("$venv/bin/python" "$splink_dir/evaluate.py" --truth "$gt" \
      --steward "$out/preview.csv" --merged-only)
    status="ok (groups: $g_merged merged, $g_undecided master undecided, $g_oversized oversized, $g_other other; F1 of merged groups only $s_fm)"
  else
    [ "$status" = ok ] && status="no preview.csv"
    s_p=- s_r=- s_f=-
  fi
  s_status=$status
  echo "steward $n: ${s_secs}s, $s_status" >&2

  # splink.
  clusters=$work/splink-$n.csv
  timed "$splink_timeout" "$work/splink-$n" "$venv/bin/python" "$splink_dir/run_splink.py" \
    --csv "$csv" --out "$clusters" --threshold "$threshold"
  k_secs=$secs k_mb=$(awk -v kb="$kb" 'BEGIN { printf "%.0f", kb / 1024 }')
  k_train=- k_predict=-
  if [ "$status" = ok ] && [ -f "$clusters" ]; then
    read -r _ _ _ _ _ _ k_train k_predict < "$work/splink-$n.out"
    read -r k_p k_r k_f _ < <("$venv/bin/python" "$splink_dir/evaluate.py" --truth "$gt" --clusters "$clusters")
  else
    k_p=- k_r=- k_f=-
  fi
  k_status=$status
  echo "splink $n: ${k_secs}s, $k_status" >&2

  ratio=$(awk -v s="$s_secs" -v k="$k_secs" -v p="$k_predict" -v a="$s_status" -v b="$k_status" 'BEGIN {
    if (a !~ /^ok/ || s <= 0) { print "-"; exit }
    printf (b ~ /^ok/ ? "%.1fx" : ">=%.1fx"), k / s
    if (b ~ /^ok/) printf "  (%.1fx against splink predict+cluster alone)", p / s }')
  rows+=("$(printf '%-9s %-8s %9s %9s %9s %9s %9s  %s' "$n" steward "$s_secs" "$s_mb" "$s_p" "$s_r" "$s_f" "$s_status")")
  k_note=$k_status
  [ "$k_status" != ok ] || k_note="ok (train ${k_train}s, predict+cluster ${k_predict}s)"
  rows+=("$(printf '%-9s %-8s %9s %9s %9s %9s %9s  %s' "$n" splink "$k_secs" "$k_mb" "$k_p" "$k_r" "$k_f" "$k_note")")
  rows+=("$(printf '%-9s %-8s %9s' "$n" speedup "$ratio")")
done

echo
printf '%-9s %-8s %9s %9s %9s %9s %9s  %s\n' records tool seconds peak_MB precision recall F1 status
printf '%s\n' "${rows[@]}"
echo "1-minute load average before each run (2 cores; other work shares them): $(printf '%s; ' "${loads[@]}" | sed 's/; $//')"
[ -z "$standin" ] || echo "!! the steward rows come from a stand-in$standin"
echo "seconds, peak_MB: whole process (GNU time), incl. reading the CSV and writing results;"
echo "speedup: splink seconds / steward seconds. precision/recall/F1: pairwise, against the"
echo "generator's ground truth; Steward's groups count whether merged or flagged (found, not"
echo "merged). splink's train and predict+cluster exclude start-up and CSV load."
