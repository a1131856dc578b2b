package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/accessd/accessd/projections"
)

// runLeased runs work only while this process holds the lease name, so a
// worker (forwarder, scheduler, sealer) runs on one server at a time; a
// lost lease stops it, and it waits to take the lease again.
func runLeased(ctx context.Context, leases projections.Leaser, name string, log *slog.Logger, work func(context.Context) error) {
	log = log.With("lease", name)
	for ctx.Err() == nil {
		l, err := leases.Acquire(ctx, name)
		if err != nil {
			return // ctx ended
		}
		log.Debug("lease taken")
		runCtx, stop := context.WithCancel(ctx)
		go func() {
			select {
			case <-l.Lost():
				log.Warn("lease lost; stopping")
				stop()
			case <-runCtx.Done():
			}
		}()
		err = work(runCtx)
		stop()
		l.Release()
		if err != nil && ctx.Err() == nil {
			log.Error("worker stopped; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// observedLeases reports which leases this server holds, as the gauge
// accessd_lease_held{lease}: operators (and the takeover test) see where
// each worker runs.
type observedLeases struct {
	projections.Leaser
	held *prometheus.GaugeVec
}

func newObservedLeases(l projections.Leaser, reg prometheus.Registerer) *observedLeases {
	held := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "accessd_lease_held",
		Help: "1 while this server holds the lease (and runs its worker), else 0.",
	}, []string{"lease"})
	reg.MustRegister(held)
	return &observedLeases{Leaser: l, held: held}
}

func (o *observedLeases) Acquire(ctx context.Context, name string) (projections.Lease, error) {
	o.held.WithLabelValues(name).Set(0)
	l, err := o.Leaser.Acquire(ctx, name)
	if err != nil {
		return nil, err
	}
	o.held.WithLabelValues(name).Set(1)
	return &observedLease{Lease: l, gauge: o.held.WithLabelValues(name)}, nil
}

type observedLease struct {
	projections.Lease
	gauge prometheus.Gauge
}

func (l *observedLease) Release() {
	l.gauge.Set(0)
	l.Lease.Release()
}
