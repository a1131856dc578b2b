package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{
		50: 50 * time.Millisecond, 95: 95 * time.Millisecond, 99: 99 * time.Millisecond,
		100: 100 * time.Millisecond, 0.1: time.Millisecond, 99.5: 100 * time.Millisecond,
	} {
		assert.Equal(t, want, percentile(ds, p), "p%v", p)
	}
	assert.Zero(t, percentile(nil, 99))
	one := []time.Duration{7 * time.Millisecond}
	assert.Equal(t, 7*time.Millisecond, percentile(one, 50))
	assert.Equal(t, 7*time.Millisecond, percentile(one, 99))
	// Ten values: p95 and p99 are both the largest, p50 the fifth.
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	assert.Equal(t, time.Duration(5), percentile(ten, 50))
	assert.Equal(t, time.Duration(10), percentile(ten, 95))
	assert.Equal(t, time.Duration(9), percentile(ten, 90))
}

func TestSummarizeSortsAndComputesRates(t *testing.T) {
	t.Parallel()
	ds := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	s := summarize("op", ds, 2, 2*time.Second)
	assert.Equal(t, opStats{Name: "op", Count: 4, Errors: 2, OpsPerSec: 2, P50Ms: 2, P95Ms: 4, P99Ms: 4, MaxMs: 4, MeanMs: 2.5}, s)
	assert.Equal(t, opStats{Name: "none", Errors: 3}, summarize("none", nil, 3, time.Second))
}

func TestAggregateMergesWorkersAndGroups(t *testing.T) {
	t.Parallel()
	a, b := newRecorder(), newRecorder()
	for i := 1; i <= 50; i++ {
		a.record("read", time.Duration(i)*time.Millisecond, false)
		b.record("read", time.Duration(50+i)*time.Millisecond, false)
	}
	a.record("write", 10*time.Millisecond, false)
	b.record("write", 30*time.Millisecond, false)
	b.record("write", time.Hour, true) // a failure: counted, not timed
	b.record("delete", time.Second, true)

	ops, groups := aggregate([]*recorder{a, b}, 10*time.Second, map[string][]string{
		"writes": {"write", "delete"}, "total": {"read", "write", "delete"}, "empty": {"nothing"},
	})
	require.Len(t, ops, 3)
	assert.Equal(t, opStats{Name: "delete", Errors: 1}, ops[0], "an operation that only failed still has a row")
	assert.Equal(t, "read", ops[1].Name)
	assert.Equal(t, 100, ops[1].Count)
	assert.InDelta(t, 10, ops[1].OpsPerSec, 1e-9)
	assert.Equal(t, 50.0, ops[1].P50Ms)
	assert.Equal(t, 95.0, ops[1].P95Ms)
	assert.Equal(t, 99.0, ops[1].P99Ms)
	assert.Equal(t, 100.0, ops[1].MaxMs)
	assert.Equal(t, opStats{Name: "write", Count: 2, Errors: 1, OpsPerSec: 0.2, P50Ms: 10, P95Ms: 30, P99Ms: 30, MaxMs: 30, MeanMs: 20}, ops[2])

	require.Len(t, groups, 2, "a group with no outcome has no row")
	assert.Equal(t, "total", groups[0].Name)
	assert.Equal(t, 102, groups[0].Count)
	assert.Equal(t, 2, groups[0].Errors)
	assert.Equal(t, "writes", groups[1].Name)
	assert.Equal(t, 2, groups[1].Count)
	assert.Equal(t, 2, groups[1].Errors)
}

func TestJudgeNeedsThroughputLatencyAndNoErrors(t *testing.T) {
	t.Parallel()
	tg := target{Name: "reads", Row: "getLock", MinOpsPerSec: 100, MaxP99Ms: 5}
	cases := []struct {
		row  opStats
		pass bool
	}{
		{opStats{Name: "getLock", Count: 1000, OpsPerSec: 150, P99Ms: 4}, true},
		{opStats{Name: "getLock", Count: 1000, OpsPerSec: 99, P99Ms: 4}, false},
		{opStats{Name: "getLock", Count: 1000, OpsPerSec: 150, P99Ms: 5}, false},
		{opStats{Name: "getLock", Count: 1000, Errors: 1, OpsPerSec: 150, P99Ms: 4}, false},
		{opStats{Name: "other", Count: 1000, OpsPerSec: 150, P99Ms: 4}, false},
	}
	for _, c := range cases {
		got := judge([]target{tg}, []opStats{c.row})
		require.Len(t, got, 1)
		assert.Equal(t, c.pass, got[0].Pass, "%+v", c.row)
	}
}

func TestReportPrintsAndWritesJSON(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.record(opAddMember, 2*time.Millisecond, false)
	rec.record(opGetLock, time.Millisecond, false)
	errs := &errorLog{limit: 1}
	errs.add("first")
	errs.add("second")
	d := &dataset{Properties: make([]seededProperty, 1), Locks: []string{"l"}}
	rep := newReport(config{Scenario: "writes", Concurrency: 2, Duration: time.Second}, d, time.Second,
		runResult{Started: time.Now(), Elapsed: time.Second, Recs: []*recorder{rec}, Errors: errs})

	var out bytes.Buffer
	rep.print(&out)
	assert.Contains(t, out.String(), "writes (all)")
	assert.Contains(t, out.String(), "target write commands")
	assert.Contains(t, out.String(), "MISS")
	assert.Contains(t, out.String(), "2 operations failed; the first 1:\n  first\n")

	path := filepath.Join(t.TempDir(), "results", "writes.json")
	require.NoError(t, rep.write(path))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var back report
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, "writes", back.Scenario)
	assert.Equal(t, 2, back.Errors)
	require.Len(t, back.Targets, 1)
	assert.Equal(t, groupWrites, back.Targets[0].Row)
	assert.False(t, back.Targets[0].Pass)
	assert.Equal(t, 1, back.Seed["locks"])
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		if k == "ACCESSD_BOOTSTRAP_KEY" {
			return "from-env"
		}
		return ""
	}
	c, err := parseConfig(nil, env)
	require.NoError(t, err)
	assert.Equal(t, "from-env", c.Key)
	assert.Equal(t, "http://127.0.0.1:8080", c.URL)
	assert.Equal(t, 64, c.Concurrency)
	assert.Equal(t, 10*time.Second, c.Duration)
	assert.Equal(t, "writes", c.Scenario)
	assert.Equal(t, seedConfig{Properties: 5, Locks: 200, Users: 256}, c.Seed)

	c, err = parseConfig([]string{"--key", "flag", "--scenario", "reads", "--concurrency", "4", "--duration", "1s"}, env)
	require.NoError(t, err)
	assert.Equal(t, "flag", c.Key, "the flag wins")
	assert.Equal(t, "reads", c.Scenario)

	for _, args := range [][]string{{"--scenario", "chaos"}, {"--concurrency", "0"}, {"--duration", "0s"}, {"--seed-locks", "0"}, {"extra"}} {
		_, err := parseConfig(args, env)
		assert.Error(t, err, args)
	}
	_, err = parseConfig(nil, func(string) string { return "" })
	assert.ErrorContains(t, err, "--key")
}
