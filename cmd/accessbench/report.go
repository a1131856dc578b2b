package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Rows that sum several operations.
const (
	groupWrites = "writes (all)"
	groupTotal  = "total"
)

// target is a figure the issue asks for: an operation (or a group of
// them) at least MinOpsPerSec with a p99 under MaxP99Ms, and no errors.
type target struct {
	Name         string  `json:"name"`
	Row          string  `json:"row"`
	MinOpsPerSec float64 `json:"minOpsPerSec"`
	MaxP99Ms     float64 `json:"maxP99Ms"`
}

// targetsFor lists the targets a scenario is judged by (issues 3 and 8).
// The mix has none: its share of each kind is not what they measure; nor
// has pages, whose target (no growth with history) compares two runs, which
// scripts/bench-scale.sh does.
func targetsFor(scenario string) []target {
	switch scenario {
	case "writes":
		return []target{{Name: "write commands", Row: groupWrites, MinOpsPerSec: 5000, MaxP99Ms: 20}}
	case "reads":
		return []target{{Name: "GET /locks/{lockId}", Row: opGetLock, MinOpsPerSec: 20000, MaxP99Ms: 5}}
	case "visibility":
		// No rate: the figure is how soon, not how many.
		return []target{{Name: "membership in key map", Row: opVisible, MaxP99Ms: 50}}
	}
	return nil
}

// targetResult is a target with the run's figures.
type targetResult struct {
	target
	OpsPerSec float64 `json:"opsPerSec"`
	P99Ms     float64 `json:"p99Ms"`
	Errors    int     `json:"errors"`
	Pass      bool    `json:"pass"`
}

// report is a run's outcome, as printed and as written to --out.
type report struct {
	Scenario        string         `json:"scenario"`
	URL             string         `json:"url"`
	Concurrency     int            `json:"concurrency"`
	DurationSeconds float64        `json:"durationSeconds"`
	ElapsedSeconds  float64        `json:"elapsedSeconds"`
	StartedAt       time.Time      `json:"startedAt"`
	Client          clientInfo     `json:"client"`
	Seed            map[string]int `json:"seed"`
	SeedSeconds     float64        `json:"seedSeconds"`
	Operations      []opStats      `json:"operations"`
	Groups          []opStats      `json:"groups"`
	Targets         []targetResult `json:"targets"`
	Errors          int            `json:"errors"`
	FirstErrors     []string       `json:"firstErrors,omitempty"`
}

// clientInfo describes the machine the benchmark ran on (the server is on
// loopback, so the same machine).
type clientInfo struct {
	NumCPU    int    `json:"numCPU"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Hostname  string `json:"hostname,omitempty"`
}

func newReport(cfg config, d *dataset, seedTime time.Duration, res runResult) *report {
	host, _ := os.Hostname()
	all := map[string]bool{}
	for _, r := range res.Recs {
		for op := range r.ok {
			all[op] = true
		}
		for op := range r.errors {
			all[op] = true
		}
	}
	groups := map[string][]string{groupTotal: {}}
	for op := range all {
		if op == opVisible { // a wait, not a request
			continue
		}
		groups[groupTotal] = append(groups[groupTotal], op)
		if slices.Contains(writeOps, op) {
			groups[groupWrites] = append(groups[groupWrites], op)
		}
	}
	ops, grouped := aggregate(res.Recs, res.Elapsed, groups)
	rep := &report{
		Scenario: cfg.Scenario, URL: cfg.URL, Concurrency: cfg.Concurrency,
		DurationSeconds: cfg.Duration.Seconds(), ElapsedSeconds: res.Elapsed.Seconds(), StartedAt: res.Started.UTC(),
		Client: clientInfo{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, Hostname: host},
		Seed:   d.counts(), SeedSeconds: seedTime.Seconds(),
		Operations: ops, Groups: grouped,
	}
	rep.Errors, rep.FirstErrors = res.Errors.snapshot()
	rep.Targets = judge(targetsFor(cfg.Scenario), append(slices.Clone(ops), grouped...))
	return rep
}

// judge sets each target's figures from the row it names.
func judge(targets []target, rows []opStats) []targetResult {
	out := make([]targetResult, 0, len(targets))
	for _, t := range targets {
		r := targetResult{target: t}
		for _, row := range rows {
			if row.Name == t.Row {
				r.OpsPerSec, r.P99Ms, r.Errors = row.OpsPerSec, row.P99Ms, row.Errors
				r.Pass = row.Count > 0 && row.Errors == 0 && row.OpsPerSec >= t.MinOpsPerSec && row.P99Ms < t.MaxP99Ms
			}
		}
		out = append(out, r)
	}
	return out
}

// print writes the table, the targets and the first errors.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nscenario %s: %d clients for %.1fs (elapsed %.2fs), %s, %d CPUs\n\n",
		r.Scenario, r.Concurrency, r.DurationSeconds, r.ElapsedSeconds, r.URL, r.Client.NumCPU)
	const head = "%-26s %9s %7s %10s %8s %8s %8s %8s\n"
	const row = "%-26s %9d %7d %10.1f %8.2f %8.2f %8.2f %8.2f\n"
	fmt.Fprintf(w, head, "operation", "count", "errors", "ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
	line := func(s opStats) {
		fmt.Fprintf(w, row, s.Name, s.Count, s.Errors, s.OpsPerSec, s.P50Ms, s.P95Ms, s.P99Ms, s.MaxMs)
	}
	for _, s := range r.Operations {
		line(s)
	}
	if len(r.Groups) > 0 {
		fmt.Fprintln(w)
	}
	for _, s := range r.Groups {
		line(s)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w)
	}
	for _, t := range r.Targets {
		verdict := "MISS"
		if t.Pass {
			verdict = "PASS"
		}
		if t.MinOpsPerSec == 0 { // a latency target only
			fmt.Fprintf(w, "target %-22s p99 < %4.1f ms: p99 %6.2f ms, %d errors  %s\n",
				t.Name, t.MaxP99Ms, t.P99Ms, t.Errors, verdict)
			continue
		}
		fmt.Fprintf(w, "target %-22s >= %6.0f/s, p99 < %4.1f ms: %9.1f/s, p99 %6.2f ms, %d errors  %s\n",
			t.Name, t.MinOpsPerSec, t.MaxP99Ms, t.OpsPerSec, t.P99Ms, t.Errors, verdict)
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "\n%d operations failed; the first %d:\n", r.Errors, len(r.FirstErrors))
		for _, e := range r.FirstErrors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// write saves the report as indented JSON, making the directory.
func (r *report) write(path string) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}
