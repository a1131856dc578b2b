package main

import (
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// svgPathFor is the chart's path beside the JSON results: the same name
// with .svg for .json (or .svg appended).
func svgPathFor(jsonPath string) string {
	return strings.TrimSuffix(jsonPath, filepath.Ext(jsonPath)) + ".svg"
}

// SVG chart geometry, in pixels.
const (
	svgWidth    = 960
	svgLabelW   = 230 // operation names
	svgRateW    = 130 // ops/s
	svgRowH     = 30
	svgTop      = 78 // title, subtitle and legend
	svgAxisH    = 40
	svgMargin   = 12
	svgBarH     = 6
	svgMinMs    = 0.01 // the axis never starts below 10 µs
	svgFontSize = 12
)

// The bars' colours, p50 to p99.
var svgColours = [3]string{"#2b8cbe", "#fdae61", "#d7191c"}

// svgEscape escapes text for an SVG text node or attribute value.
func svgEscape(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return ""
	}
	return b.String()
}

// logAxis maps milliseconds onto [x0, x1] on a log scale from one decade
// to another.
type logAxis struct {
	lo, hi float64 // decades: log10 of the ends in ms
	x0, x1 float64
}

func newLogAxis(rows []opStats, x0, x1 float64) logAxis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		for _, v := range []float64{r.P50Ms, r.P95Ms, r.P99Ms} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) { // no latency at all
		lo, hi = 0.1, 10
	}
	lo = math.Max(lo, svgMinMs)
	a := logAxis{lo: math.Floor(math.Log10(lo)), hi: math.Ceil(math.Log10(hi)), x0: x0, x1: x1}
	if a.hi <= a.lo {
		a.hi = a.lo + 1
	}
	return a
}

// x is where ms falls; values under the axis' start sit at its start.
func (a logAxis) x(ms float64) float64 {
	if ms <= 0 {
		return a.x0
	}
	f := (math.Log10(ms) - a.lo) / (a.hi - a.lo)
	f = math.Min(math.Max(f, 0), 1)
	return a.x0 + f*(a.x1-a.x0)
}

// svg draws the report's latency chart: a row per operation (then the
// groups), three bars from the axis' start to p50, p95 and p99 on a
// log-scaled millisecond axis, the figures and the ops/s beside them.
func (r *report) svg() string {
	rows := append(append([]opStats{}, r.Operations...), r.Groups...)
	height := svgTop + len(rows)*svgRowH + svgAxisH + svgMargin
	plotX0 := float64(svgMargin + svgLabelW)
	plotX1 := float64(svgWidth - svgMargin - svgRateW)
	ax := newLogAxis(rows, plotX0, plotX1)
	plotBottom := float64(svgTop + len(rows)*svgRowH)

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n",
		svgWidth, height, svgWidth, height, svgFontSize)
	p(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	title := fmt.Sprintf("accessbench %s: %d clients for %s, %s", r.Scenario, r.Concurrency,
		time.Duration(r.DurationSeconds*float64(time.Second)).String(), r.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	p(`<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", svgMargin, svgEscape(title))
	sub := fmt.Sprintf("latency p50 / p95 / p99 in ms (log scale); %s; %d CPUs; %d errors", r.URL, r.Client.NumCPU, r.Errors)
	p(`<text x="%d" y="44" fill="#555555">%s</text>`+"\n", svgMargin, svgEscape(sub))
	for i, name := range []string{"p50", "p95", "p99"} {
		x := svgMargin + i*70
		p(`<rect x="%d" y="56" width="14" height="%d" fill="%s"/>`+"\n", x, svgBarH+2, svgColours[i])
		p(`<text x="%d" y="64">%s</text>`+"\n", x+18, name)
	}
	p(`<text x="%d" y="64" text-anchor="end" font-weight="bold">ops/s</text>`+"\n", svgWidth-svgMargin)

	// Decade grid lines and their labels.
	for d := ax.lo; d <= ax.hi; d++ {
		ms := math.Pow(10, d)
		x := ax.x(ms)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", x, svgTop-4, x, plotBottom)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555555">%s</text>`+"\n", x, plotBottom+16, svgEscape(msLabel(ms)))
	}
	p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555555">milliseconds</text>`+"\n", (plotX0+plotX1)/2, plotBottom+32)

	for i, s := range rows {
		y := float64(svgTop + i*svgRowH)
		if i%2 == 1 {
			p(`<rect x="%d" y="%.1f" width="%d" height="%d" fill="#f4f4f4"/>`+"\n", svgMargin, y, svgWidth-2*svgMargin, svgRowH)
		}
		weight := ""
		if i >= len(r.Operations) {
			weight = ` font-weight="bold"`
		}
		p(`<text x="%d" y="%.1f"%s>%s</text>`+"\n", svgMargin+4, y+svgRowH/2+4, weight, svgEscape(s.Name))
		for j, v := range []float64{s.P50Ms, s.P95Ms, s.P99Ms} {
			by := y + 4 + float64(j)*(svgBarH+2)
			w := ax.x(v) - plotX0
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
				plotX0, by, w, svgBarH, svgColours[j], svgEscape(fmt.Sprintf("%s p%d %.3f ms", s.Name, []int{50, 95, 99}[j], v)))
		}
		figures := fmt.Sprintf("%.2f / %.2f / %.2f", s.P50Ms, s.P95Ms, s.P99Ms)
		p(`<text x="%.1f" y="%.1f" font-size="10" fill="#333333">%s</text>`+"\n", math.Min(ax.x(s.P99Ms)+4, plotX1-110), y+svgRowH-3, svgEscape(figures))
		rate := fmt.Sprintf("%.1f", s.OpsPerSec)
		if s.Errors > 0 {
			rate += fmt.Sprintf(" (%d err)", s.Errors)
		}
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", svgWidth-svgMargin-4, y+svgRowH/2+4, svgEscape(rate))
	}
	p("</svg>\n")
	return b.String()
}

// msLabel prints a decade of milliseconds briefly.
func msLabel(ms float64) string {
	if ms >= 1 {
		return fmt.Sprintf("%.0f", ms)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", ms), "0"), ".")
}

// writeSVG saves the chart, making the directory.
func (r *report) writeSVG(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(r.svg()), 0o644)
}
