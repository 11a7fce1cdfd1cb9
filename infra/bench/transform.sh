#!/usr/bin/env bash
# Transform benchmark (issue #5): `steward run` with a five-function transform over
# generated contacts, at several sizes, preview and apply. Prints wall time, records per
# second and peak RSS (GNU time's "Maximum resident set size") for each.
#
#   infra/bench/transform.sh [SIZES...]       (default: 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("${@:-100000 1000000}")
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed for peak RSS" >&2; exit 1; }

cargo build --profile bench -p steward --bin steward >&2
bin=target/release/steward
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-9s %-8s %9s %12s %10s\n' records mode seconds records/s peak_MB
for n in ${sizes[@]}; do
  "$bin" sandbox-export --records "$n" --out "$work/contacts-$n.csv" >/dev/null
  for mode in preview apply; do
    flag=(); [ "$mode" = apply ] && flag=(--apply)
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" run \
      --template infra/bench/transform-5.json --csv "$work/contacts-$n.csv" \
      --out "$work/out-$n-$mode" "${flag[@]}" >/dev/null
    read -r secs kb < "$work/time"
    awk -v n="$n" -v m="$mode" -v s="$secs" -v kb="$kb" \
      'BEGIN { printf "%-9d %-8s %9.2f %12.0f %10.1f\n", n, m, s, (s > 0 ? n / s : 0), kb / 1024 }'
  done
done
