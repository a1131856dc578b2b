package main

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// recorder collects one worker's outcomes: the duration of every successful
// operation, by operation name, and the number of failed ones. A worker owns
// its recorder, so recording takes no lock; recorders are merged at the end.
type recorder struct {
	ok     map[string][]time.Duration
	errors map[string]int
}

func newRecorder() *recorder {
	return &recorder{ok: map[string][]time.Duration{}, errors: map[string]int{}}
}

// record notes one operation: its duration when it succeeded, else an error.
func (r *recorder) record(op string, d time.Duration, failed bool) {
	if failed {
		r.errors[op]++
		return
	}
	r.ok[op] = append(r.ok[op], d)
}

// opStats is one operation's figures over a run. Latencies are of the
// successful calls only; failed calls count in Errors.
type opStats struct {
	Name      string  `json:"name"`
	Count     int     `json:"count"`
	Errors    int     `json:"errors"`
	OpsPerSec float64 `json:"opsPerSec"`
	P50Ms     float64 `json:"p50Ms"`
	P95Ms     float64 `json:"p95Ms"`
	P99Ms     float64 `json:"p99Ms"`
	MaxMs     float64 `json:"maxMs"`
	MeanMs    float64 `json:"meanMs"`
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted durations: the smallest value that at least p% of them do not
// exceed. It returns 0 for no durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarize computes an operation's figures from its durations (any order;
// sorted in place) and error count over elapsed.
func summarize(name string, durations []time.Duration, errors int, elapsed time.Duration) opStats {
	slices.Sort(durations)
	s := opStats{Name: name, Count: len(durations), Errors: errors}
	if elapsed > 0 {
		s.OpsPerSec = float64(len(durations)) / elapsed.Seconds()
	}
	if len(durations) == 0 {
		return s
	}
	var sum time.Duration
	for _, d := range durations {
		sum += d
	}
	s.P50Ms = ms(percentile(durations, 50))
	s.P95Ms = ms(percentile(durations, 95))
	s.P99Ms = ms(percentile(durations, 99))
	s.MaxMs = ms(durations[len(durations)-1])
	s.MeanMs = ms(sum / time.Duration(len(durations)))
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// aggregate merges the workers' recorders into per-operation figures,
// sorted by name, and the figures of each group of operations (a group's
// name mapped to its operations, e.g. every write command), over elapsed.
func aggregate(recs []*recorder, elapsed time.Duration, groups map[string][]string) (ops []opStats, grouped []opStats) {
	all := map[string][]time.Duration{}
	errs := map[string]int{}
	for _, r := range recs {
		for op, ds := range r.ok {
			all[op] = append(all[op], ds...)
		}
		for op, n := range r.errors {
			errs[op] += n
			if _, ok := all[op]; !ok {
				all[op] = nil
			}
		}
	}
	names := make([]string, 0, len(all))
	for op := range all {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		ops = append(ops, summarize(op, all[op], errs[op], elapsed))
	}
	groupNames := make([]string, 0, len(groups))
	for g := range groups {
		groupNames = append(groupNames, g)
	}
	sort.Strings(groupNames)
	for _, g := range groupNames {
		var ds []time.Duration
		n := 0
		for _, op := range groups[g] {
			ds = append(ds, all[op]...)
			n += errs[op]
		}
		if len(ds) > 0 || n > 0 {
			grouped = append(grouped, summarize(g, ds, n, elapsed))
		}
	}
	return ops, grouped
}

// errorLog keeps the first few failures of a run, for the report.
type errorLog struct {
	mu    sync.Mutex
	limit int
	total int
	first []string
}

func (l *errorLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if len(l.first) < l.limit {
		l.first = append(l.first, msg)
	}
}

func (l *errorLog) snapshot() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, slices.Clone(l.first)
}
