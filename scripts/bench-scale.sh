#!/usr/bin/env bash
# Scale benchmark (issue 8): does the cost of an append and of a page read
# grow with history, and how much memory does the server hold with
# 1,000,000 events stored? For each size N in BENCH_SCALE_EVENTS:
#
#   1. seed a data directory with `accessctl seed --events N` and build its
#      read models with `accessctl projections rebuild --all` (kept in
#      $BENCH_SCALE_DATA/seed-N and reused by later runs: 1,000,000 events
#      take minutes to seed and many more to rebuild);
#   2. copy it to $BENCH_SCALE_DATA/run-N (every run starts from the same
#      history), mint an owner key with `accessctl keys create`, start
#      accessd on the copy, wait for /readyz, then until it settles (its
#      event bus and projections caught up, its CPU idle: on a directory
#      seeded offline the bus starts from the first event);
#   3. run accessbench's scenarios at low concurrency, each after an
#      untimed warm-up pass: `writes` (the append: updateLock, one event,
#      and all writes) and `pages` (the first page of a seeded lock's access
#      logs and of GET /events);
#   4. sample the server's memory: VmRSS before the load, VmRSS (anonymous
#      and file-backed) and VmHWM from /proc/PID/status after it, and the Go
#      heap from /metrics (what is neither is mostly SQLite's page caches,
#      allocated outside the Go heap);
#   5. stop the server with SIGTERM.
#
# Then it prints one table comparing the sizes, with the ratio of the
# largest to the smallest, and writes it as JSON to
# $BENCH_OUT/<UTC time>-scale.json beside accessbench's own results
# ($BENCH_OUT/<UTC time>-scale-N-<scenario>.json).
#
# Needs bin/accessd, bin/accessctl and bin/accessbench (`make build`), curl
# and jq. Settings:
#   BIN                   binaries' directory                    (bin)
#   BENCH_ADDR            address the server listens on          (127.0.0.1:18090)
#   BENCH_SCALE_EVENTS    history sizes, smallest first          ("10000 1000000")
#   BENCH_SCALE_DATA      seeded templates and run copies        (/tmp/accessd-scale)
#   BENCH_SCALE_RESEED    1: seed and rebuild even if kept       (0)
#   BENCH_DURATION        timed run of each scenario              (15s)
#   BENCH_CONCURRENCY     concurrent clients                      (4)
#   BENCH_SCALE_SCENARIOS scenarios, in order                     ("writes pages")
#   BENCH_SCALE_WARMUP    untimed pass of each scenario first; 0: none (5s)
#   BENCH_SCALE_SETTLE    longest wait, in s, for the server to settle (1200)
#   BENCH_OUT             results directory                       (bench/results)
#   BENCH_ARGS            more accessbench flags                  (a small API seed)
#
# A missed target is reported, not fatal; a failed request, or a server
# that does not stop cleanly, is.
set -euo pipefail

BIN=${BIN:-bin}
ADDR=${BENCH_ADDR:-127.0.0.1:18090}
SIZES=${BENCH_SCALE_EVENTS:-10000 1000000}
DATA=${BENCH_SCALE_DATA:-/tmp/accessd-scale}
RESEED=${BENCH_SCALE_RESEED:-0}
DURATION=${BENCH_DURATION:-15s}
CONCURRENCY=${BENCH_CONCURRENCY:-4}
SCENARIOS=${BENCH_SCALE_SCENARIOS:-writes pages}
WARMUP=${BENCH_SCALE_WARMUP:-5s}
SETTLE=${BENCH_SCALE_SETTLE:-1200}
OUT=${BENCH_OUT:-bench/results}
# accessbench seeds a few entities of its own through the API (the locks
# the append renames); keep that small beside the seeded history.
ARGS=${BENCH_ARGS:---seed-properties 2 --seed-locks 8 --seed-users 16}

# The account `accessctl seed` bootstraps: its id is fixed
# (commands/accounts.go, bootstrapAccountID), its bootstrap key random and
# not kept, so the run mints a key of its own.
ACCOUNT=b1b63abd-c81b-576e-ad03-6b027065bb28

for b in accessd accessctl accessbench; do
	[ -x "$BIN/$b" ] || { echo "bench-scale: $BIN/$b missing; run make build" >&2; exit 2; }
done
for t in curl jq; do
	command -v "$t" >/dev/null || { echo "bench-scale: $t is needed" >&2; exit 2; }
done

pid=
log=
stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || { echo "bench-scale: accessd exited with status $? at SIGTERM; log: $log" >&2; pid=; return 1; }
	fi
	pid=
}
trap 'stop || true' EXIT
trap 'exit 130' INT TERM

if curl -s -o /dev/null "http://$ADDR/healthz" 2>/dev/null; then
	echo "bench-scale: something already answers on $ADDR; stop it or set BENCH_ADDR" >&2
	exit 1
fi

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# status_kib FIELD: a /proc/PID/status field of the server, in KiB.
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
# metric NAME: a gauge of the server's /metrics, 0 if absent.
metric() {
	curl -fsS "http://$ADDR/metrics" | awk -v m="$1" '$1 == m { printf "%.0f\n", $2; found = 1 } END { if (!found) print 0 }'
}
metric_raw() {
	curl -fsS "http://$ADDR/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

mkdir -p "$DATA" "$OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
status=0
results=()

for n in $SIZES; do
	seeded=$DATA/seed-$n
	if [ "$RESEED" = 1 ] || [ ! -f "$seeded/.bench-scale-ready" ]; then
		rm -rf "$seeded"
		echo "== seeding $n events into $seeded (load $(loadavg))"
		"$BIN/accessctl" seed --events "$n" --data-dir "$seeded" 2>/dev/null | tee "$DATA/seed-$n.log"
		echo "== rebuilding every read model of $seeded (load $(loadavg))"
		start=$(date +%s)
		"$BIN/accessctl" projections rebuild --all --data-dir "$seeded" >"$DATA/rebuild-$n.log" 2>&1
		echo "rebuilt in $(($(date +%s) - start))s (load $(loadavg))" | tee -a "$DATA/rebuild-$n.log"
		touch "$seeded/.bench-scale-ready"
	else
		echo "== reusing $seeded ($(grep -o 'seeded [0-9]* events' "$DATA/seed-$n.log" 2>/dev/null || echo "seeded earlier"))"
	fi
	events=$(grep -o 'seeded [0-9]* events' "$DATA/seed-$n.log" 2>/dev/null | grep -o '[0-9]*' || echo "$n")

	run=$DATA/run-$n
	rm -rf "$run"
	cp -a "$seeded" "$run"
	rm -f "$run/.bench-scale-ready"
	key=$("$BIN/accessctl" keys create --account "$ACCOUNT" --permission owner --name bench-scale --data-dir "$run" |
		sed -n 's/^apiKey=//p')
	[ -n "$key" ] || { echo "bench-scale: could not mint a key in $run" >&2; exit 1; }

	log=$DATA/accessd-$n.log
	"$BIN/accessd" --addr "$ADDR" --data-dir "$run" --log-level warn 2>"$log" &
	pid=$!
	ready=0
	started=$(date +%s)
	for _ in $(seq 1 6000); do # up to 10 minutes: a server that must first catch up
		kill -0 "$pid" 2>/dev/null || break
		if curl -fsS -o /dev/null "http://$ADDR/readyz" 2>/dev/null; then
			ready=1
			break
		fi
		sleep 0.1
	done
	if [ "$ready" != 1 ]; then
		echo "bench-scale: accessd did not become ready on $ADDR; log: $log" >&2
		tail -n 20 "$log" >&2 || true
		exit 1
	fi
	echo "== accessd ready on $run after $(($(date +%s) - started))s"
	# Ready is not settled: a directory seeded offline has never been
	# through the event bus, so the forwarder and the webhook fan-out start
	# from position 0, and the sealer reads the whole log at start. Wait
	# until the forwarder and every projection have caught up and the
	# server's CPU stays under a tenth of a core for 5 s.
	settling=$(date +%s)
	settled=0
	while [ $(($(date +%s) - settling)) -lt "$SETTLE" ]; do
		lag=$(curl -fsS "http://$ADDR/metrics" | awk '/^accessd_(forwarder|projection)_lag_events/ { s += $2 } END { print s + 0 }')
		cpu0=$(metric_raw process_cpu_seconds_total)
		sleep 5
		cpu1=$(metric_raw process_cpu_seconds_total)
		if [ "$lag" = 0 ] && awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { exit !((b - a) / 5 < 0.1) }'; then
			settled=1
			break
		fi
	done
	settle_s=$(($(date +%s) - settling))
	if [ "$settled" = 1 ]; then
		echo "== accessd settled after $settle_s s more (forwarder and projections caught up, CPU idle)"
	else
		echo "== accessd still busy after $settle_s s (lag $lag events); measuring anyway" >&2
	fi
	rss_idle=$(status_kib VmRSS)
	heap_idle=$(metric go_memstats_heap_inuse_bytes)
	load_before=$(loadavg)

	for s in $SCENARIOS; do
		if [ "$WARMUP" != 0 ]; then
			# An untimed pass first, so both sizes are measured with warm caches.
			# shellcheck disable=SC2086 # ARGS is a list of flags
			"$BIN/accessbench" --url "http://$ADDR" --key "$key" --scenario "$s" \
				--concurrency "$CONCURRENCY" --duration "$WARMUP" $ARGS >"$DATA/warmup-$n-$s.log" 2>&1 || status=$?
		fi
		echo
		echo "== $n events: accessbench --scenario $s --concurrency $CONCURRENCY --duration $DURATION (load $(loadavg))"
		# shellcheck disable=SC2086 # ARGS is a list of flags
		"$BIN/accessbench" --url "http://$ADDR" --key "$key" --scenario "$s" \
			--concurrency "$CONCURRENCY" --duration "$DURATION" --out "$OUT/$stamp-scale-$n-$s.json" $ARGS || status=$?
	done

	rss=$(status_kib VmRSS)
	hwm=$(status_kib VmHWM)
	anon=$(status_kib RssAnon)
	file=$(status_kib RssFile)
	heap=$(metric go_memstats_heap_inuse_bytes)
	gosys=$(metric go_memstats_sys_bytes)
	load_after=$(loadavg)
	if ! stop; then
		status=1
	fi

	# One object per size: memory, load and the rows the table compares.
	row() { # row SCENARIO NAME: that row's figures from accessbench's JSON, or null
		local f=$OUT/$stamp-scale-$n-$1.json
		if [ -f "$f" ]; then
			jq -c --arg name "$2" '[.operations[], .groups[]] | map(select(.name == $name)) | .[0] // null' "$f"
		else
			echo null
		fi
	}
	results+=("$(jq -n \
		--argjson events "$events" --arg loadBefore "$load_before" --arg loadAfter "$load_after" \
		--argjson rssIdleKiB "$rss_idle" --argjson rssKiB "$rss" --argjson hwmKiB "$hwm" \
		--argjson anonKiB "$anon" --argjson fileKiB "$file" --argjson settleSeconds "$settle_s" \
		--argjson heapIdle "$heap_idle" --argjson heap "$heap" --argjson goSys "$gosys" \
		--argjson append "$(row writes updateLock)" --argjson writes "$(row writes 'writes (all)')" \
		--argjson logs "$(row pages listLockAccessLogs)" --argjson eventsPage "$(row pages listEvents)" \
		'{events: $events, settleSeconds: $settleSeconds, loadAverageBefore: $loadBefore, loadAverageAfter: $loadAfter,
		  memory: {rssIdleMiB: ($rssIdleKiB / 1024), rssMiB: ($rssKiB / 1024), hwmMiB: ($hwmKiB / 1024),
		           rssAnonMiB: ($anonKiB / 1024), rssFileMiB: ($fileKiB / 1024),
		           heapInuseIdleMiB: ($heapIdle / 1048576), heapInuseMiB: ($heap / 1048576), goSysMiB: ($goSys / 1048576)},
		  rows: {"append (updateLock)": $append, "writes (all)": $writes,
		         "page: lock access logs": $logs, "page: GET /events": $eventsPage}}')")
	echo "== $n events: VmRSS $(mib "$rss_idle") MiB before the load, $(mib "$rss") MiB after, VmHWM $(mib "$hwm") MiB, heap in use $((heap / 1048576)) MiB (load $load_after)"
done

summary=$OUT/$stamp-scale.json
printf '%s\n' "${results[@]}" | jq -s --arg at "$stamp" --arg duration "$DURATION" --argjson concurrency "$CONCURRENCY" \
	'{startedAt: $at, duration: $duration, concurrency: $concurrency, sizes: .} |
	 .target = "append and page latency at the largest size within 25% of the smallest (p50 and p99)" |
	 (.sizes[0]) as $a | (.sizes[-1]) as $b |
	 .ratios = ([$a.rows | keys[] as $k | {($k): (if $a.rows[$k] and $b.rows[$k] and $a.rows[$k].p50Ms > 0 and $a.rows[$k].p99Ms > 0
	     then {p50: ($b.rows[$k].p50Ms / $a.rows[$k].p50Ms), p99: ($b.rows[$k].p99Ms / $a.rows[$k].p99Ms)} else null end)}] | add)' >"$summary"

echo
jq -r '
	(.sizes[0]) as $a | (.sizes[-1]) as $b |
	def f: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
	def r: if . == null then "-" else (. * 100 | round / 100 | tostring) + "x" end;
	def pad($n): tostring | . + " " * ($n - length);
	"\("history" | pad(30)) \("\($a.events) events" | pad(25)) \("\($b.events) events" | pad(24)) ratio (p50, p99)   within 25%",
	"\("" | pad(30)) \("p50 ms" | pad(9)) \("p99 ms" | pad(15)) \("p50 ms" | pad(9)) \("p99 ms" | pad(14))",
	(.ratios | keys[] as $k |
		"\($k | pad(30)) \($a.rows[$k].p50Ms | f | pad(9)) \($a.rows[$k].p99Ms | f | pad(15)) \($b.rows[$k].p50Ms | f | pad(9)) \($b.rows[$k].p99Ms | f | pad(14)) \(.[$k].p50 | r), \(.[$k].p99 | r)   \(if .[$k] == null then "-" elif .[$k].p50 <= 1.25 and .[$k].p99 <= 1.25 then "yes" else "no" end)"),
	"",
	(.sizes[] | "memory at \(.events) events: VmRSS \(.memory.rssIdleMiB | f) MiB idle, \(.memory.rssMiB | f) MiB after the load (\(.memory.rssAnonMiB | f) anonymous, \(.memory.rssFileMiB | f) file), VmHWM \(.memory.hwmMiB | f) MiB, Go heap in use \(.memory.heapInuseMiB | f) MiB, Go sys \(.memory.goSysMiB | f) MiB (target VmHWM < 256 MiB: \(if .memory.hwmMiB < 256 then "yes" else "no" end)); settled \(.settleSeconds) s after ready; load \(.loadAverageBefore) before, \(.loadAverageAfter) after")
' "$summary"
echo "results written to $summary"
exit "$status"
