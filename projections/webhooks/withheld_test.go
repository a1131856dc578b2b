package webhooks_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/bus"
	"github.com/accessd/accessd/projections/webhooks"
)

// Deliveries recorded before the bus withheld an AccessCodeCreated's
// codeHash and salt hold them in their payload. Whatever sends them (a
// retry, the poison queue, a replay by the operator or through the API),
// the receiver gets neither, and the signature is of the body it gets.

// codeCreated is an AccessCodeCreated of the fixture's account, its data
// whole, as the log holds it.
func (f *fixture) codeCreated() eventstore.RecordedEvent {
	f.position++
	return eventstore.RecordedEvent{
		ID: uuid.New(), Type: "AccessCodeCreated", Stream: "booking-" + uuid.NewString(), Revision: 1, Position: f.position,
		RecordedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Data: json.RawMessage(`{"accessCodeId":"c-1","bookingId":"b-1","accountId":"` + f.account.String() +
			`","codeHash":"` + strings.Repeat("ab", 32) + `","salt":"00ff","validFrom":"2026-11-23T10:00:00Z"}`),
		Metadata: json.RawMessage(`{"accountId":"` + f.account.String() + `"}`),
	}
}

// withheldKept is codeCreated's data less codeHash and salt.
func (f *fixture) withheldKept() string {
	return `{"accessCodeId":"c-1","bookingId":"b-1","accountId":"` + f.account.String() + `","validFrom":"2026-11-23T10:00:00Z"}`
}

// recordWhole writes a delivery of ev to hook as the versions before the
// bus withheld fields did: the payload is the event as logged, whole.
// status is pending (due now, its message not out) or failed.
func (f *fixture) recordWhole(hook uuid.UUID, ev eventstore.RecordedEvent, status string, attempts int) uuid.UUID {
	f.t.Helper()
	payload, err := json.Marshal(bus.Event{EventID: ev.ID, Type: ev.Type, Stream: ev.Stream, Revision: ev.Revision,
		Position: ev.Position, RecordedAt: ev.RecordedAt, Data: ev.Data, Metadata: ev.Metadata})
	require.NoError(f.t, err)
	require.Contains(f.t, string(payload), `"codeHash"`)
	require.Contains(f.t, string(payload), `"salt"`)
	id := webhooks.DeliveryID(hook, ev.ID)
	var next any
	if status == webhooks.StatusPending {
		next = time.Now().UnixMilli()
	}
	_, err = f.db.ExecContext(f.ctx, f.db.Dialect.Rebind(`INSERT INTO webhook_deliveries
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, last_error, created_at,
		 next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'the receiver answered 502 Bad Gateway', 0, ?)`),
		id.String(), hook.String(), f.account.String(), ev.ID.String(), ev.Type, int64(ev.Position), string(payload),
		status, attempts, next)
	require.NoError(f.t, err)
	return id
}

// storedPayload is the payload column of a delivery.
func (f *fixture) storedPayload(id uuid.UUID) string {
	f.t.Helper()
	var p string
	require.NoError(f.t, f.db.QueryRowContext(f.ctx, f.db.Dialect.Rebind(`SELECT payload FROM webhook_deliveries
		WHERE delivery_id = ?`), id.String()).Scan(&p))
	return p
}

// requireWithheld checks the bodies rcv got: each an AccessCodeCreated
// without codeHash or salt, the rest of it kept (the receiver counts
// only bodies whose signature verifies).
func (f *fixture) requireWithheld(rcv *receiver, events ...eventstore.RecordedEvent) {
	f.t.Helper()
	_, delivered := rcv.counts()
	require.Len(f.t, delivered, len(events))
	rcv.mu.Lock()
	bodies := append([][]byte(nil), rcv.bodies...)
	rcv.mu.Unlock()
	byID := map[uuid.UUID]eventstore.RecordedEvent{}
	for _, ev := range events {
		byID[ev.ID] = ev
	}
	for i, body := range bodies {
		require.NotContains(f.t, string(body), "codeHash")
		require.NotContains(f.t, string(body), "salt")
		ev, ok := byID[delivered[i].EventID]
		require.True(f.t, ok, string(body))
		require.Equal(f.t, "AccessCodeCreated", delivered[i].Type)
		require.Equal(f.t, ev.Stream, delivered[i].Stream)
		require.Equal(f.t, ev.Position, delivered[i].Position)
		require.Equal(f.t, ev.Revision, delivered[i].Revision)
		require.True(f.t, ev.RecordedAt.Equal(delivered[i].RecordedAt))
		require.JSONEq(f.t, f.withheldKept(), string(delivered[i].Data))
		require.JSONEq(f.t, string(ev.Metadata), string(delivered[i].Metadata))
	}
}

func TestDeliveryRecordedWholeIsRetriedWithheld(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	down := newReceiver(t, always(http.StatusBadGateway))
	hook := f.register(rcv.srv.URL, "AccessCodeCreated")
	downHook := f.register(down.srv.URL, "AccessCodeCreated")
	rcv.secret, down.secret = secretFor(hook), secretFor(downHook)

	// Recorded by the earlier version with the server running: the
	// stored payload is not scrubbed before it is sent.
	ev := f.codeCreated()
	f.recordWhole(hook, ev, webhooks.StatusPending, 1)
	// A last attempt that fails sends the delivery's message to the
	// poison queue: it does not carry them either.
	f.recordWhole(downHook, ev, webhooks.StatusPending, webhooks.MaxAttempts-1)

	got := f.settled(hook, 1)[0]
	require.Equal(t, webhooks.StatusDelivered, got.Status)
	require.Equal(t, 2, got.Attempts)
	f.requireWithheld(rcv, ev)

	poisoned := f.nextPoison()
	require.Equal(t, webhooks.DeliveryID(downHook, ev.ID).String(), poisoned.Metadata.Get(webhooks.MetaDeliveryID))
	require.NotContains(t, string(poisoned.Payload), "codeHash")
	require.NotContains(t, string(poisoned.Payload), "salt")

	// The deliveries API has no payload to show.
	out, err := json.Marshal(f.deliveries(hook))
	require.NoError(t, err)
	require.NotContains(t, string(out), "codeHash")
	require.NotContains(t, string(out), "salt")
}

func TestDeliveryRecordedWholeIsReplayedWithheld(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "AccessCodeCreated")
	rcv.secret = secretFor(hook)

	// Poisoned under the earlier version; replayed now, by the operator
	// (accessctl webhooks replay) and through the API.
	byOperator, byAPI := f.codeCreated(), f.codeCreated()
	f.recordWhole(hook, byOperator, webhooks.StatusFailed, webhooks.MaxAttempts)
	apiID := f.recordWhole(hook, byAPI, webhooks.StatusFailed, webhooks.MaxAttempts)

	n, err := webhooks.RequeueFailed(f.ctx, f.db, hook, webhooks.DeliveryID(hook, byOperator.ID), time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, f.delivery.Replay(f.ctx, hook, apiID))

	for _, d := range f.settled(hook, 2) {
		require.Equal(t, webhooks.StatusDelivered, d.Status)
		require.Equal(t, webhooks.MaxAttempts+1, d.Attempts)
	}
	f.requireWithheld(rcv, byOperator, byAPI)
}

func TestDeliveryScrubsPayloadsRecordedWholeAtStart(t *testing.T) {
	f := newFixture(t)
	f.stop()
	// The deliveries are an earlier version's, which never scrubbed them:
	// the fixture's start marked its empty table done.
	_, err := f.db.ExecContext(f.ctx, `DROP TABLE webhook_deliveries_scrubs`)
	require.NoError(t, err)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "AccessCodeCreated", "LockInstalled")
	rcv.secret = secretFor(hook)
	var whole []uuid.UUID
	var events []eventstore.RecordedEvent
	for range 3 {
		ev := f.codeCreated()
		events = append(events, ev)
		whole = append(whole, f.recordWhole(hook, ev, webhooks.StatusFailed, webhooks.MaxAttempts))
	}
	// Another type's fields of the same names are not withheld.
	lock := f.event("LockInstalled")
	lock.Data = json.RawMessage(`{"lockId":"x","salt":"kept","codeHash":"kept"}`)
	f.recordPending(hook, lock, webhooks.MaxAttempts)
	_, err = f.db.ExecContext(f.ctx, f.db.Dialect.Rebind(`UPDATE webhook_deliveries SET status = ? WHERE delivery_id = ?`),
		webhooks.StatusFailed, webhooks.DeliveryID(hook, lock.ID).String())
	require.NoError(t, err)
	lockBefore := f.storedPayload(webhooks.DeliveryID(hook, lock.ID))

	f.start()
	for i, id := range whole {
		stored := f.storedPayload(id)
		require.NotContains(t, stored, "codeHash")
		require.NotContains(t, stored, "salt")
		var ev bus.Event
		require.NoError(t, json.Unmarshal([]byte(stored), &ev))
		require.Equal(t, events[i].ID, ev.EventID)
		require.Equal(t, events[i].Position, ev.Position)
		require.JSONEq(t, f.withheldKept(), string(ev.Data))
		// As the bus makes it now.
		msg, err := bus.Encode(events[i])
		require.NoError(t, err)
		require.Equal(t, string(msg.Payload), stored)
	}
	require.Equal(t, lockBefore, f.storedPayload(webhooks.DeliveryID(hook, lock.ID)))

	// Starting again reads no delivery (the pass is recorded done: a row
	// recorded whole since, which no version of the fan-out writes, stays
	// as it is on disk, and is withheld when sent); a replay then sends
	// the scrubbed payload as it is.
	f.stop()
	late := f.codeCreated()
	lateID := f.recordWhole(hook, late, webhooks.StatusFailed, webhooks.MaxAttempts)
	f.start()
	require.Contains(t, f.storedPayload(lateID), "codeHash", "not scanned again")
	n, err := webhooks.RequeueFailed(f.ctx, f.db, hook, webhooks.DeliveryID(hook, events[0].ID), time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	f.waitFor("the replayed delivery", func() bool {
		_, delivered := rcv.counts()
		return len(delivered) == 1
	})
	f.requireWithheld(rcv, events[0])
	rcv.mu.Lock()
	require.Equal(t, f.storedPayload(whole[0]), string(rcv.bodies[0]))
	rcv.mu.Unlock()
}

func TestDeliveryOfAMessagePublishedWholeIsWithheld(t *testing.T) {
	// An earlier version's forwarder published the event whole; the
	// message is still in the broker after the upgrade. Neither the
	// delivery recorded nor the body sent holds the withheld fields.
	f := newFixture(t)
	rcv := newReceiver(t, always(http.StatusOK))
	hook := f.register(rcv.srv.URL, "AccessCodeCreated")
	rcv.secret = secretFor(hook)
	ev := f.codeCreated()
	ev.Stream = "lock-" + uuid.NewString() // a topic the fixture's fan-out reads
	payload, err := json.Marshal(bus.Event{EventID: ev.ID, Type: ev.Type, Stream: ev.Stream, Revision: ev.Revision,
		Position: ev.Position, RecordedAt: ev.RecordedAt, Data: ev.Data, Metadata: ev.Metadata})
	require.NoError(t, err)
	msg := message.NewMessage(ev.ID.String(), payload)
	msg.Metadata.Set(bus.MetaType, ev.Type)
	msg.Metadata.Set(bus.MetaStream, ev.Stream)
	msg.Metadata.Set(bus.MetaPosition, strconv.FormatUint(ev.Position, 10))
	msg.Metadata.Set(bus.MetaAccountID, f.account.String())
	require.NoError(t, f.events.Publish(bus.Topic(ev.Stream), msg))

	d := f.settled(hook, 1)[0]
	require.Equal(t, webhooks.StatusDelivered, d.Status)
	f.requireWithheld(rcv, ev)
	stored := f.storedPayload(d.DeliveryID)
	require.NotContains(t, stored, "codeHash")
	require.NotContains(t, stored, "salt")
}
