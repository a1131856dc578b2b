#!/usr/bin/env bash
# Load benchmark (issues 3 and 8): start accessd on a fresh data directory
# with a bootstrap owner key, wait for /readyz, run accessbench's `writes`,
# `reads` and `mix` scenarios against it on loopback, and stop it with
# SIGTERM. Each scenario first seeds its own data set (BENCH_SEED; untimed,
# on the same server, so later scenarios run over the earlier ones' data
# too). Results go to $BENCH_OUT/<UTC time>-<scenario>.json, with the
# latency chart beside it as <UTC time>-<scenario>.svg.
#
# Needs bin/accessd and bin/accessbench (`make build`). Settings:
#   BIN                binaries' directory             (bin)
#   BENCH_ADDR         address the server listens on   (127.0.0.1:18080)
#   BENCH_DURATION     timed run of each scenario       (10s)
#   BENCH_CONCURRENCY  concurrent clients               (64)
#   BENCH_SCENARIOS    scenarios, in order              ("writes reads mix")
#   BENCH_OUT          results directory                (bench/results)
#   BENCH_SEED         the data set seeded per scenario ("--seed-properties 200
#                      --seed-locks 2000 --seed-users 3000": with 1,200 bookings
#                      and every lock's first sync, about 38 s on the 2-core
#                      development machine; set it empty for accessbench's
#                      small defaults)
#   BENCH_ARGS         more accessbench flags, e.g. "--seed-locks 1000"
#                      (after BENCH_SEED, so they override it)
#
# A missed target is reported, not fatal (figures depend on the machine);
# a failed request, or a server that does not stop cleanly, is.
set -euo pipefail

BIN=${BIN:-bin}
ADDR=${BENCH_ADDR:-127.0.0.1:18080}
DURATION=${BENCH_DURATION:-10s}
CONCURRENCY=${BENCH_CONCURRENCY:-64}
SCENARIOS=${BENCH_SCENARIOS:-writes reads mix}
SEED=${BENCH_SEED---seed-properties 200 --seed-locks 2000 --seed-users 3000}
OUT=${BENCH_OUT:-bench/results}

for b in accessd accessbench; do
	[ -x "$BIN/$b" ] || { echo "bench-load: $BIN/$b missing; run make build" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/accessd-bench.XXXXXX")
key=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n') # 48 hex characters
pid=

stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || { echo "bench-load: accessd exited with status $? at SIGTERM; log: $tmp/accessd.log" >&2; return 1; }
	fi
	pid=
}
cleanup() {
	stop || true
	if [ "${keep_tmp:-0}" = 0 ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if curl -s -o /dev/null "http://$ADDR/healthz" 2>/dev/null; then
	echo "bench-load: something already answers on $ADDR; stop it or set BENCH_ADDR" >&2
	exit 1
fi

ACCESSD_BOOTSTRAP_KEY=$key "$BIN/accessd" --addr "$ADDR" --data-dir "$tmp/data" --log-level warn 2>"$tmp/accessd.log" &
pid=$!

ready=0
for _ in $(seq 1 300); do
	kill -0 "$pid" 2>/dev/null || break
	if curl -fsS -o /dev/null "http://$ADDR/readyz" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	keep_tmp=1
	echo "bench-load: accessd did not become ready on $ADDR; log: $tmp/accessd.log" >&2
	tail -n 20 "$tmp/accessd.log" >&2 || true
	exit 1
fi

mkdir -p "$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
status=0
for s in $SCENARIOS; do
	echo
	echo "== accessbench --scenario $s --concurrency $CONCURRENCY --duration $DURATION"
	# shellcheck disable=SC2086 # BENCH_SEED and BENCH_ARGS are lists of flags
	"$BIN/accessbench" --url "http://$ADDR" --key "$key" --scenario "$s" \
		--concurrency "$CONCURRENCY" --duration "$DURATION" --out "$OUT/$stamp-$s.json" $SEED ${BENCH_ARGS:-} || status=$?
done

if ! stop; then
	keep_tmp=1
	status=1
fi
exit "$status"
