package main

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
)

// observedStore counts appends and their latency, whatever the backend.
type observedStore struct {
	eventstore.Store
	appended *prometheus.CounterVec
	latency  prometheus.Histogram
}

func newObservedStore(s eventstore.Store, reg prometheus.Registerer) *observedStore {
	o := &observedStore{
		Store: s,
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "accessd_eventstore_appends_total", Help: "Append calls by outcome.",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "accessd_eventstore_append_duration_seconds", Help: "Durable append latency.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1},
		}),
	}
	reg.MustRegister(o.appended, o.latency)
	return o
}

func (o *observedStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	res, err := o.Store.Append(ctx, stream, expected, events...)
	o.latency.Observe(time.Since(start).Seconds())
	outcome := "ok"
	switch {
	case err == nil:
	case isConflict(err):
		outcome = "conflict"
	default:
		outcome = "error"
	}
	o.appended.WithLabelValues(outcome).Inc()
	return res, err
}

func isConflict(err error) bool { return errors.Is(err, eventstore.ErrWrongExpectedVersion) }

// lagCollector exports each projection's lag and position at scrape time.
type lagCollector struct {
	set      *projections.Set
	lag      *prometheus.Desc
	position *prometheus.Desc
	head     *prometheus.Desc
	// Where the read-model writer's time goes.
	apply, writeWait, commit, foreignCommits *prometheus.Desc
}

func newLagCollector(set *projections.Set) *lagCollector {
	return &lagCollector{
		set:      set,
		lag:      prometheus.NewDesc("accessd_projection_lag_events", "Head position of the log minus the projection's checkpoint.", []string{"projection"}, nil),
		position: prometheus.NewDesc("accessd_projection_position", "Last log position the projection reflects.", []string{"projection"}, nil),
		head:     prometheus.NewDesc("accessd_eventstore_head_position", "Position of the last event in the log.", nil, nil),
		apply:    prometheus.NewDesc("accessd_projection_apply_seconds_total", "Time the projection spent applying events.", []string{"projection"}, nil),
		writeWait: prometheus.NewDesc("accessd_readmodel_write_wait_seconds_total",
			"Time read-model transactions waited for the writer's turn (SQLite).", nil, nil),
		commit: prometheus.NewDesc("accessd_readmodel_commit_seconds_total",
			"Time read-model transactions spent committing (PostgreSQL: with the writes held behind).", nil, nil),
		foreignCommits: prometheus.NewDesc("accessd_readmodel_foreign_commits_total",
			"Commits to the SQLite read models by a connection other than the writer's; each empties the writer's page cache.", nil, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.position
	ch <- c.head
	ch <- c.apply
	ch <- c.writeWait
	ch <- c.commit
	ch <- c.foreignCommits
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	wait, commit := c.set.WriterTimes()
	ch <- prometheus.MustNewConstMetric(c.writeWait, prometheus.CounterValue, wait.Seconds())
	ch <- prometheus.MustNewConstMetric(c.commit, prometheus.CounterValue, commit.Seconds())
	ch <- prometheus.MustNewConstMetric(c.foreignCommits, prometheus.CounterValue, float64(c.set.ForeignCommits()))
	for _, r := range c.set.Runners() {
		ch <- prometheus.MustNewConstMetric(c.apply, prometheus.CounterValue, r.ApplyTime().Seconds(), r.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lag, head, err := c.set.Lag(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(head))
	for _, r := range c.set.Runners() {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(lag[r.Name()]), r.Name())
		ch <- prometheus.MustNewConstMetric(c.position, prometheus.GaugeValue, float64(r.Position()), r.Name())
	}
}

// newForwarderLagCollector reports how far integration events trail the
// log (on the server holding the forwarder's lease; others report their
// last known position).
func newForwarderLagCollector(f *bus.Forwarder) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "accessd_forwarder_lag_events",
		Help: "Head position of the log minus the last event published to the integration bus.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		lag, _, err := f.Lag(ctx)
		if err != nil {
			return -1
		}
		return float64(lag)
	})
}

// newForwarderSkippedCollector counts the events the forwarder passed over
// because no message can carry them (data or metadata not JSON); each is
// logged at error level.
func newForwarderSkippedCollector(f *bus.Forwarder) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "accessd_forwarder_skipped_events_total",
		Help: "Events not published to the integration bus because their data or metadata is not JSON.",
	}, func() float64 { return float64(f.Skipped()) })
}

// newForwarderFailuresCollector counts failed forwarding attempts (each
// retried from the checkpoint), so a forwarder that keeps failing shows on
// a dashboard, not only in the logs and a growing lag.
func newForwarderFailuresCollector(f *bus.Forwarder) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "accessd_forwarder_failures_total",
		Help: "Failed attempts to read or publish integration events; each is retried from the forwarder's checkpoint.",
	}, func() float64 { return float64(f.Failures()) })
}
