package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/webhooks"
)

// deliveryWorkers is how many delivery attempts a server makes at a time
// on a broker.
const deliveryWorkers = 16

// webhookDelivery is the running webhook delivery: the Watermill router
// that fans events out to webhooks and posts them.
type webhookDelivery struct {
	closeOnce sync.Once
	delivery  *webhooks.Delivery
	router    *message.Router
	queue     *gochannel.GoChannel // embedded mode's own delivery queue, else nil
}

// startWebhooks subscribes the delivery to the integration bus and runs its
// router until ctx ends. It reads the webhooks from the read models db and
// records the deliveries in deliveriesDB (see backends.OpenIntegration).
// It must run before the forwarder publishes: an in-process bus hands a
// message only to subscribers present then.
func startWebhooks(ctx context.Context, db, deliveriesDB *projections.DB, integration *bus.Bus, busSetting string,
	service *commands.Service, waiter webhooks.Waiter, allowPrivate bool, log *slog.Logger) (*webhookDelivery, error) {
	// Watermill's own info lines (router and handler lifecycle) are debug
	// detail here.
	wlog := watermill.NewSlogLoggerWithLevelMapping(log.With("component", "webhooks"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	sub, err := integration.Subscriber("webhooks")
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	opts := []webhooks.Option{webhooks.WithWaiter(waiter), webhooks.WithLogger(log), webhooks.WithPrivateTargets(allowPrivate),
		webhooks.WithDeliveriesDB(deliveriesDB)}
	w := &webhookDelivery{}
	if kind, _ := backends.BusKind(busSetting); kind == backends.GoChannel {
		// Deliveries get a queue of their own that does not wait for acks,
		// so a slow receiver's attempt never holds up the forwarder's
		// publishing, and the router makes attempts side by side.
		w.queue = gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, wlog)
		opts = append(opts, webhooks.WithQueue(w.queue, w.queue))
	} else {
		// On the broker, the attempts' messages are handed out to several
		// workers, so one slow receiver holds up only its own.
		queue, err := integration.Subscriber("webhooks", bus.Workers(deliveryWorkers))
		if err != nil {
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		opts = append(opts, webhooks.WithQueue(integration.Publisher(), queue))
	}
	secret := func(id uuid.UUID) []byte { return []byte(service.WebhookSecret(id)) }
	if w.delivery, err = webhooks.NewDelivery(ctx, db, integration.Publisher(), sub, secret, opts...); err != nil {
		return nil, err
	}
	if w.router, err = message.NewRouter(message.RouterConfig{}, wlog); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	if err := w.delivery.AddHandlers(w.router); err != nil {
		return nil, err
	}
	go func() {
		if err := w.router.Run(ctx); err != nil {
			log.Error("webhook delivery stopped", "err", err)
		}
	}()
	select {
	case <-w.router.Running():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if n, err := w.delivery.Resume(ctx); err != nil {
		log.Warn("webhooks: re-queueing pending deliveries failed", "err", err)
	} else if n > 0 {
		log.Info("webhooks: re-queued pending deliveries", "deliveries", n)
	}
	return w, nil
}

// Close stops the router, then the delivery queue.
func (w *webhookDelivery) Close() {
	w.closeOnce.Do(func() {
		w.router.Close()
		if w.queue != nil {
			w.queue.Close()
		}
	})
}
