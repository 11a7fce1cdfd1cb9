#!/usr/bin/env bash
# Transform benchmark (issue #5): `steward run` with a five-function transform over
# generated contacts, at several sizes, preview and apply. Each case runs RUNS times (the
# machine is shared, so single runs vary by a third); prints the median wall time, the
# records per second at the median, the fastest and slowest run, and the largest peak
# RSS (GNU time's "Maximum resident set size").
#
#   infra/bench/transform.sh [SIZES...]       (default: 100000 1000000; RUNS=5)
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("${@:-100000 1000000}")
runs=${RUNS:-5}
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed for peak RSS" >&2; exit 1; }

cargo build --profile bench -p steward --bin steward >&2
bin=target/release/steward
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-9s %-8s %5s %9s %12s %9s %9s %10s\n' \
  records mode runs median records/s fastest slowest peak_MB
for n in ${sizes[@]}; do
  "$bin" sandbox-export --records "$n" --out "$work/contacts-$n.csv" >/dev/null
  for mode in preview apply; do
    flag=(); [ "$mode" = apply ] && flag=(--apply)
    : > "$work/times"
    for _ in $(seq "$runs"); do
      /usr/bin/time -f '%e %M' -a -o "$work/times" "$bin" run \
        --template infra/bench/transform-5.json --csv "$work/contacts-$n.csv" \
        --out "$work/out-$n-$mode" "${flag[@]}" >/dev/null
    done
    sort -n "$work/times" | awk -v n="$n" -v m="$mode" '
      { s[NR] = $1; if ($2 > kb) kb = $2 }
      END {
        med = (NR % 2) ? s[(NR + 1) / 2] : (s[NR / 2] + s[NR / 2 + 1]) / 2
        printf "%-9d %-8s %5d %9.2f %12.0f %9.2f %9.2f %10.1f\n",
          n, m, NR, med, (med > 0 ? n / med : 0), s[1], s[NR], kb / 1024
      }'
  done
done
