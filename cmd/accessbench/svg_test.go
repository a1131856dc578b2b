package main

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseSVG checks that the chart is well-formed XML with an <svg> root and
// returns its text nodes joined by newlines.
func parseSVG(t *testing.T, data []byte) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	var texts []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG is not well-formed XML")
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
				assert.Equal(t, "http://www.w3.org/2000/svg", el.Name.Space)
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(el)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	require.Equal(t, "svg", root)
	return strings.Join(texts, "\n")
}

func TestSVGParsesAndNamesEveryOperation(t *testing.T) {
	rep := &report{
		Scenario: "mix", URL: "http://127.0.0.1:18080/?a=1&b=<2>", Concurrency: 64, DurationSeconds: 15,
		StartedAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC),
		Operations: []opStats{
			{Name: opGetLock, Count: 1000, OpsPerSec: 2000.5, P50Ms: 0.4, P95Ms: 3.1, P99Ms: 12.7},
			{Name: opAuditAccess, Count: 10, OpsPerSec: 12.25, P50Ms: 8, P95Ms: 40, P99Ms: 210},
			{Name: "odd <name> & \"quotes\"", Count: 1, Errors: 2, OpsPerSec: 1, P50Ms: 0.003, P95Ms: 0.003, P99Ms: 0.003},
			{Name: opSyncLock, Count: 0, Errors: 3}, // failed only: no latency
		},
		Groups: []opStats{{Name: groupTotal, Count: 1011, OpsPerSec: 2013.75, P50Ms: 0.5, P95Ms: 4, P99Ms: 30}},
	}
	text := parseSVG(t, []byte(rep.svg()))
	for _, s := range append(rep.Operations, rep.Groups...) {
		assert.Contains(t, text, s.Name)
	}
	for _, want := range []string{"2000.5", "12.2", "2013.8", "mix", "64 clients", "15s", "2026-11-24 01:02:03 UTC", "p50", "p95", "p99"} {
		assert.Contains(t, text, want)
	}

	// No row at all still makes a valid chart.
	parseSVG(t, []byte((&report{Scenario: "reads"}).svg()))
}

func TestSVGBesideTheJSON(t *testing.T) {
	assert.Equal(t, "bench/results/20261124T010203Z-mix.svg", svgPathFor("bench/results/20261124T010203Z-mix.json"))
	assert.Equal(t, "out.svg", svgPathFor("out"))
	path := filepath.Join(t.TempDir(), "sub", "r.svg")
	rep := &report{Scenario: "writes", Operations: []opStats{{Name: opUpdateLock, Count: 1, OpsPerSec: 1, P50Ms: 1, P95Ms: 2, P99Ms: 3}}}
	require.NoError(t, rep.writeSVG(path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, parseSVG(t, data), opUpdateLock)
}
