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
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
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

// deliver makes one attempt at a delivery; an error has the Retry
// middleware try again. A delivery already settled (the message came
// twice) or attempted meanwhile by another consumer is acknowledged as is.
func (d *Delivery) deliver(msg *message.Message) error {
	ctx := msg.Context()
	id, err := uuid.Parse(msg.Metadata.Get(MetaDeliveryID))
	if err != nil {
		return fmt.Errorf("webhooks: message %s names no delivery: %w", msg.UUID, errPermanent)
	}
	rec, err := d.table.get(ctx, id)
	if errors.Is(err, ErrDeliveryNotFound) {
		return fmt.Errorf("webhooks: delivery %s is not recorded: %w", id, errPermanent)
	}
	if err != nil {
		return err
	}
	if rec.Status != StatusPending {
		return nil
	}
	hook, err := d.byID(ctx, rec.WebhookID)
	if err != nil {
		return err
	}
	if hook.DeletedPosition != 0 {
		return d.table.failed(ctx, id, "the webhook was deleted")
	}
	claimed, err := d.table.claim(ctx, id, rec.Attempts, d.now())
	if err != nil || !claimed {
		return err
	}
	if err := d.post(ctx, hook.URL, d.secretFor(hook.WebhookID), rec); err != nil {
		d.log.WarnContext(ctx, "webhooks: delivery attempt failed", "webhookId", rec.WebhookID, "deliveryId", id,
			"eventId", rec.EventID, "attempt", rec.Attempts+1, "err", err)
		if noteErr := d.table.attemptFailed(ctx, id, err.Error()); noteErr != nil {
			return errors.Join(err, noteErr)
		}
		return err
	}
	return d.table.delivered(ctx, id, d.now())
}

// post sends the event to the receiver; any answer but 2xx is an error.
// Errors leave out the URL, which may carry a token of the receiver's.
func (d *Delivery) post(ctx context.Context, target string, secret []byte, rec DeliveryRecord) error {
	ts := d.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(rec.payload))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "accessd-webhooks")
	req.Header.Set(HeaderEventID, rec.EventID.String())
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Signature(secret, ts, rec.payload))
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

// failWhenExhausted sits between the poison queue and the retries: a
// delivery whose every attempt failed is settled as failed before the
// message goes to the poison queue.
func (d *Delivery) failWhenExhausted(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || errors.Is(err, context.Canceled) {
			return out, err
		}
		id, perr := uuid.Parse(msg.Metadata.Get(MetaDeliveryID))
		if perr != nil {
			return out, err
		}
		if ferr := d.table.failed(msg.Context(), id, ""); ferr != nil {
			return out, errors.Join(err, ferr)
		}
		d.log.ErrorContext(msg.Context(), "webhooks: delivery failed; poisoned", "deliveryId", id,
			"webhookId", msg.Metadata.Get(MetaWebhookID), "eventId", msg.Metadata.Get(MetaEventID), "err", err)
		return out, err
	}
}
