package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/accessd/accessd/domain/webhook"
	"github.com/accessd/accessd/projections/bus"
)

// Headers of a delivery request.
const (
	HeaderEventID   = "X-Accessd-Event-Id"
	HeaderTimestamp = "X-Accessd-Timestamp"
	HeaderSignature = "X-Accessd-Signature"
)

// errPermanent marks a message no retry can help (malformed, or its
// delivery unknown); it goes to the poison queue at once.
var errPermanent = errors.New("permanent")

// Signature is the X-Accessd-Signature of a delivery: "sha256=" and the hex
// HMAC-SHA256, keyed by the webhook's secret (the bytes of the string the
// API answered), of the timestamp, a dot and the body. Signing the
// timestamp lets a receiver refuse old requests replayed to it.
func Signature(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// newHTTPClient bounds every phase of a delivery, and does not follow
// redirects: a receiver that moved answers 3xx, which is a failure. Unless
// private targets are allowed, it connects only to addresses that
// webhook.CheckAddress allows, checked on the address actually dialled:
// a name that resolves (or, later, rebinds) to an internal address is
// refused too. It then connects directly, not through a proxy from the
// environment: through one, the check would see the proxy's address, not
// the receiver's.
func newHTTPClient(allowPrivateTargets bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if !allowPrivateTargets {
		dialer.ControlContext = refuseInternalAddresses
		proxy = nil
	}
	transport := &http.Transport{
		Proxy:               proxy,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		// No ResponseHeaderTimeout: a receiver has the client's whole 15 s
		// to answer, as the README promises.
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 4,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refuseInternalAddresses is a net.Dialer control: it runs after the name
// is resolved, before each connection is made, with the IP and port being
// dialled.
func refuseInternalAddresses(_ context.Context, network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("address not allowed: network %s", network)
	}
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address not allowed: %q is not an IP address and port", address)
	}
	return webhook.CheckAddress(addrPort.Addr())
}

// MetaAttempt is the metadata of a delivery message naming the attempt
// it is for (1 for the first).
const MetaAttempt = "attempt"

// errExhausted marks the last attempt of a round failing: the delivery
// is failed and its message goes to the poison queue.
var errExhausted = errors.New("every attempt failed")

// attemptTimeout bounds an attempt beyond the HTTP client's own timeout
// (15 s), for a client given with WithHTTPClient; recordTimeout bounds
// recording its outcome.
const (
	attemptTimeout = 30 * time.Second
	recordTimeout  = 10 * time.Second
)

// deliver makes one attempt at a delivery and records its outcome: a
// failure that leaves attempts in the round schedules the next (the retry
// loop publishes it when due) and the message is acknowledged; the last
// failure settles the delivery as failed and returns errExhausted, which
// sends the message to the poison queue. A message for an attempt already
// made (it came twice, or was published twice), or of a settled delivery,
// is acknowledged as is. Trouble with the database is logged and the
// message acknowledged too: the deliveries table, not the broker, holds
// what is left to do, and the retry loop takes it up again.
func (d *Delivery) deliver(msg *message.Message) error {
	ctx := msg.Context()
	// A bounded number of attempts at a time; a message waiting for its
	// turn is not acknowledged yet.
	select {
	case d.slots <- struct{}{}:
		defer func() { <-d.slots }()
	case <-ctx.Done():
		return nil
	}
	id, err := uuid.Parse(msg.Metadata.Get(MetaDeliveryID))
	if err != nil {
		return fmt.Errorf("webhooks: message %s names no delivery: %w", msg.UUID, errPermanent)
	}
	rec, err := d.table.get(ctx, id)
	if errors.Is(err, ErrDeliveryNotFound) {
		return fmt.Errorf("webhooks: delivery %s is not recorded: %w", id, errPermanent)
	}
	if err != nil {
		d.log.WarnContext(ctx, "webhooks: cannot read a delivery; it is retried later", "deliveryId", id, "err", err)
		return nil
	}
	attempt := rec.Attempts + 1
	if raw := msg.Metadata.Get(MetaAttempt); raw != "" {
		if attempt, err = strconv.Atoi(raw); err != nil {
			return fmt.Errorf("webhooks: message %s names attempt %q: %w", msg.UUID, raw, errPermanent)
		}
	}
	if rec.Status != StatusPending || attempt != rec.Attempts+1 {
		return nil
	}
	// The round's last attempt was claimed and never got an outcome (its
	// server stopped during it): it counts, and there is no other.
	if attempt-rec.attemptsBase > MaxAttempts {
		if err := d.table.failed(ctx, id, fmt.Sprintf("attempt %d got no answer recorded (the server stopped during it)", rec.Attempts)); err != nil {
			d.log.WarnContext(ctx, "webhooks: cannot settle a delivery as failed; it is retried", "deliveryId", id, "err", err)
			return nil
		}
		d.log.ErrorContext(ctx, "webhooks: delivery failed; poisoned", "deliveryId", id,
			"webhookId", rec.WebhookID, "eventId", rec.EventID, "attempts", rec.Attempts)
		return fmt.Errorf("%w (%d attempts), the last cut short", errExhausted, MaxAttempts)
	}
	hook, err := d.byID(ctx, rec.WebhookID)
	if err != nil {
		d.log.WarnContext(ctx, "webhooks: cannot read a webhook; its delivery is retried later", "deliveryId", id, "err", err)
		return nil
	}
	if hook.DeletedPosition != 0 {
		if err := d.table.failed(ctx, id, "the webhook was deleted"); err != nil {
			d.log.WarnContext(ctx, "webhooks: cannot settle a delivery", "deliveryId", id, "err", err)
		}
		return nil
	}
	// A webhook whose attempts under way are at the bound (a receiver
	// that hangs) has this one put off, not waited for: it would hold a
	// worker that other webhooks' deliveries need.
	if !d.busy.take(rec.WebhookID) {
		d.putOff(ctx, rec)
		return nil
	}
	defer d.endAttempt(ctx, rec.WebhookID)
	claimed, err := d.table.claim(ctx, id, attempt, d.now(), attemptLease)
	if err != nil || !claimed {
		if err != nil {
			d.log.WarnContext(ctx, "webhooks: cannot claim a delivery; it is retried later", "deliveryId", id, "err", err)
		}
		return nil
	}
	// The attempt is claimed in the table, which from now on says what
	// is left to do. A receiver that takes long to answer gets the
	// message acknowledged while it is waited for (after ackAfter), so
	// the broker hands out the next one (watermill-nats hands out the
	// next message of a subscription only once this one is acked) and a
	// slow receiver holds up no other delivery; a quick answer is
	// recorded before the ack. The attempt runs under a context of its
	// own, since the message's ends with the ack; the HTTP client's
	// timeout bounds it (a stopping server waits for it as for any
	// handler).
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attemptTimeout)
	defer cancel()
	var postErr error
	posted := make(chan struct{})
	go func() {
		defer close(posted)
		postErr = d.post(actx, hook.URL, d.secretFor(hook.WebhookID), rec)
	}()
	ackAfter := time.NewTimer(d.ackAfter)
	select {
	case <-posted:
		ackAfter.Stop()
	case <-ackAfter.C:
		msg.Ack()
		<-posted
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	if postErr == nil {
		if err := d.table.delivered(rctx, id, d.now()); err != nil {
			d.log.WarnContext(ctx, "webhooks: cannot settle a delivery", "deliveryId", id, "err", err)
		}
		return nil
	}
	round := attempt - rec.attemptsBase
	d.log.WarnContext(ctx, "webhooks: delivery attempt failed", "webhookId", rec.WebhookID, "deliveryId", id,
		"eventId", rec.EventID, "attempt", attempt, "ofRound", round, "err", postErr)
	if round >= MaxAttempts {
		if err := d.table.failed(rctx, id, postErr.Error()); err != nil {
			d.log.WarnContext(ctx, "webhooks: cannot settle a delivery as failed; it is retried", "deliveryId", id, "err", err)
			return nil
		}
		d.log.ErrorContext(ctx, "webhooks: delivery failed; poisoned", "deliveryId", id,
			"webhookId", rec.WebhookID, "eventId", rec.EventID, "attempts", attempt, "err", postErr)
		return fmt.Errorf("%w (%d attempts), the last: %w", errExhausted, round, postErr)
	}
	due := d.now().Add(d.backoff(round))
	if err := d.table.retryAt(rctx, id, attempt, postErr.Error(), due); err != nil {
		d.log.WarnContext(ctx, "webhooks: cannot schedule a retry; it is retried later", "deliveryId", id, "err", err)
		return nil
	}
	d.retries.wakeAt(due)
	return nil
}

// post sends the event to the receiver; any answer but 2xx is an error.
// Errors leave out the URL, which may carry a token of the receiver's.
// The body is the recorded payload less the fields the bus withholds,
// whatever version recorded it, and the signature is of that body.
func (d *Delivery) post(ctx context.Context, target string, secret []byte, rec DeliveryRecord) error {
	ts := d.now().Unix()
	body := bus.WithholdPayload(rec.payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "accessd-webhooks")
	req.Header.Set(HeaderEventID, rec.EventID.String())
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Signature(secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		// A refused address is the whole story: "address not allowed: ...".
		var refused *webhook.AddressError
		if errors.As(err, &refused) {
			return refused
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused; the body is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}
