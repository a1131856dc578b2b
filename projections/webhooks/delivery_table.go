package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/bus"
)

// DeliveriesTable holds delivery attempts. They are operational state, not
// domain facts, so they are not in the event log, and they cannot be
// rebuilt from it: a delivery recorded here is one the fan-out does not
// make again. The table lives in the deliveries database (WithDeliveriesDB:
// integration.db on SQLite, the read-model database on PostgreSQL); no
// projection owns it, so a rebuild of the webhooks read model keeps it.
const DeliveriesTable = "webhook_deliveries"

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Errors of the deliveries API.
var (
	ErrDeliveryNotFound = domain.NewError(domain.ErrNotFound, "delivery not found")
	ErrNotFailed        = domain.NewError(domain.ErrConflict, "only a failed delivery can be replayed")
)

// DeliveryRecord is one delivery of one event to one webhook, as GET
// /accounts/webhooks/{webhookId}/deliveries answers it.
type DeliveryRecord struct {
	DeliveryID    uuid.UUID  `json:"deliveryId"`
	WebhookID     uuid.UUID  `json:"webhookId"`
	EventID       uuid.UUID  `json:"eventId"`
	EventType     string     `json:"eventType"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	LastError     *string    `json:"lastError"`
	LastAttemptAt *time.Time `json:"lastAttemptAt"`
	// NextAttemptAt is when the next attempt of a pending delivery is due;
	// nil once it is settled.
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
	DeliveredAt   *time.Time `json:"deliveredAt"`

	AccountID uuid.UUID `json:"-"`
	// Position is the $all position of the event; lists page on it.
	Position uint64 `json:"-"`
	// payload is the bus.Event JSON that is POSTed, less the fields the
	// bus withholds (bus.WithholdPayload) even when an earlier version
	// recorded them.
	payload []byte
	// attemptsBase is the attempts made before the last replay or
	// re-delivery: the current round of MaxAttempts counts from it.
	attemptsBase int
}

// deliveries reads and writes the deliveries table.
type deliveries struct {
	db *projections.DB
	// selected is what reads select (deliveryColumns, or legacyColumns);
	// unscheduled, when set, is why the table lacks the retry schedule's
	// columns: it was made by an earlier version and cannot be changed
	// (a read-only data directory). It can then be read, not delivered
	// from.
	selected    string
	unscheduled error
}

// scheduleColumns are the columns a table made before retries were
// scheduled from it lacks; setup adds them. next_attempt_at is when the
// next attempt of a pending delivery is due (Unix ms; NULL: at once),
// queued_at when the message of that attempt was published (NULL: none is
// out), attempts_base the attempts made before the last replay;
// redelivery_id is the last re-delivery of the event (bus.MetaRedelivery)
// that started a round, so that its message coming twice starts one.
var scheduleColumns = []struct{ name, def string }{
	{"next_attempt_at", "BIGINT"},
	{"queued_at", "BIGINT"},
	{"attempts_base", "INTEGER NOT NULL DEFAULT 0"},
	{"redelivery_id", "TEXT"},
}

// SetupDeliveries creates the deliveries table in db if missing, empty, as
// NewDelivery does. accessctl replay makes it in the read models it
// writes, so a read-only server on them (which cannot create it) answers
// the webhook routes.
func SetupDeliveries(ctx context.Context, db *projections.DB) error {
	return (&deliveries{db: db}).setup(ctx)
}

// setup creates the table if missing, and adds the columns and index of
// the retry schedule to a table made by an earlier version (SQLite has no
// ADD COLUMN IF NOT EXISTS: the columns are looked up first, the same way
// on both dialects).
func (t *deliveries) setup(ctx context.Context) error {
	t.selected = deliveryColumns
	if _, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS `+DeliveriesTable+` (
			delivery_id TEXT PRIMARY KEY,
			webhook_id TEXT NOT NULL,
			account_id TEXT NOT NULL,
			event_id TEXT NOT NULL,
			event_type TEXT NOT NULL,
			position BIGINT NOT NULL,
			payload TEXT NOT NULL,
			status TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error TEXT,
			last_attempt_at BIGINT,
			delivered_at BIGINT,
			created_at BIGINT NOT NULL,
			next_attempt_at BIGINT,
			queued_at BIGINT,
			attempts_base INTEGER NOT NULL DEFAULT 0,
			redelivery_id TEXT
		)`); err != nil {
		return fmt.Errorf("webhook deliveries setup: %w", err)
	}
	if err := t.addScheduleColumns(ctx); err != nil {
		// A table that has the retry schedule but lacks redelivery_id
		// (made by the version before it) is read in full.
		for _, columns := range []string{deliveryColumns, legacyColumns} {
			rows, rerr := t.db.QueryContext(ctx, `SELECT `+columns+` FROM `+DeliveriesTable+` WHERE 1 = 0`)
			if rerr == nil {
				rows.Close()
				t.selected, t.unscheduled = columns, fmt.Errorf("webhook deliveries setup: %w", err)
				return nil
			}
		}
		return fmt.Errorf("webhook deliveries setup: %w", err)
	}
	for _, stmt := range []string{
		`CREATE INDEX IF NOT EXISTS ` + DeliveriesTable + `_by_webhook ON ` + DeliveriesTable + ` (webhook_id, position)`,
		`CREATE INDEX IF NOT EXISTS ` + DeliveriesTable + `_by_status ON ` + DeliveriesTable + ` (status, position)`,
		`CREATE INDEX IF NOT EXISTS ` + DeliveriesTable + `_due ON ` + DeliveriesTable + ` (status, next_attempt_at)`,
	} {
		if _, err := t.exec(ctx, stmt); err != nil {
			return fmt.Errorf("webhook deliveries setup: %w", err)
		}
	}
	return nil
}

// addScheduleColumns adds the scheduleColumns the table lacks. Two
// processes may race to add one; the loser finds it there.
func (t deliveries) addScheduleColumns(ctx context.Context) error {
	have, err := t.columns(ctx)
	if err != nil {
		return err
	}
	for _, c := range scheduleColumns {
		if have[c.name] {
			continue
		}
		if _, err := t.exec(ctx, `ALTER TABLE `+DeliveriesTable+` ADD COLUMN `+c.name+` `+c.def); err != nil {
			if now, cerr := t.columns(ctx); cerr == nil && now[c.name] {
				continue
			}
			return fmt.Errorf("add column %s: %w", c.name, err)
		}
	}
	return nil
}

// columns returns the names of the table's columns.
func (t deliveries) columns(ctx context.Context) (map[string]bool, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT * FROM `+DeliveriesTable+` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[strings.ToLower(n)] = true
	}
	return out, rows.Err()
}

// exec runs one write through DB.Update, on the database's writing
// connection, and answers the rows it changed.
func (t deliveries) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := t.db.Update(ctx, func(tx projections.Tx) error {
		res, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// insertPending records a new delivery, due now, its first message about
// to be published; one already recorded (the event message came again) is
// left as it is.
func (t deliveries) insertPending(ctx context.Context, d DeliveryRecord, now time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO `+DeliveriesTable+`
		(delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, created_at,
		 next_attempt_at, queued_at, attempts_base)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 0) ON CONFLICT (delivery_id) DO NOTHING`,
		d.DeliveryID.String(), d.WebhookID.String(), d.AccountID.String(), d.EventID.String(), d.EventType,
		int64(d.Position), string(d.payload), StatusPending, now.UnixMilli(), now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record delivery %s: %w", d.DeliveryID, err)
	}
	return nil
}

// scrubBatch bounds the rows one pass of scrubWithheld reads.
const scrubBatch = 256

// scrubsTable names the one-off rewrites of the recorded deliveries that
// ran to their end: a start does not scan the deliveries again.
const scrubsTable = DeliveriesTable + "_scrubs"

// withheldScrub is scrubWithheld's name in scrubsTable.
const withheldScrub = "withheld-fields"

// scrubWithheldOnce runs scrubWithheld unless it ran to its end before:
// only versions before the bus withheld fields recorded them, and what
// is recorded since comes through the fan-out, which withholds them, so
// one pass over the table is enough, where one per start would read
// every delivery at every start.
func (t deliveries) scrubWithheldOnce(ctx context.Context, now time.Time) (int64, error) {
	var done int
	err := t.db.QueryRowContext(ctx, t.db.Dialect.Rebind(`SELECT COUNT(*) FROM `+scrubsTable+` WHERE name = ?`),
		withheldScrub).Scan(&done)
	if err == nil && done > 0 {
		return 0, nil
	}
	n, err := t.scrubWithheld(ctx)
	if err != nil {
		return n, err
	}
	// Recording the pass only saves the next start its scan: a database
	// that cannot be written (a read-only server's, holding nothing to
	// scrub) is scanned again then.
	if _, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS `+scrubsTable+` (name TEXT PRIMARY KEY, done_at BIGINT NOT NULL)`); err == nil {
		_, _ = t.exec(ctx, `INSERT INTO `+scrubsTable+` (name, done_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			withheldScrub, now.UnixMilli())
	}
	return n, nil
}

// scrubWithheld removes, from the payloads recorded before the bus withheld
// them (bus.WithheldFields), the fields no message carries, so they do not
// stay on disk; it answers how many it changed. Sends withhold them
// anyway. The rows are found with LIKE on the field names, quoted as JSON
// writes them (the same on SQLite and PostgreSQL; it finds more rather
// than fewer) and rewritten only if their payload is still the one read:
// another process scrubbing too changes nothing twice.
func (t deliveries) scrubWithheld(ctx context.Context) (int64, error) {
	var total int64
	for _, eventType := range bus.WithheldTypes() {
		fields := bus.WithheldFields(eventType)
		if len(fields) == 0 {
			continue
		}
		var holds []string
		args := []any{eventType}
		for _, f := range fields {
			holds = append(holds, `payload LIKE ?`)
			args = append(args, `%"`+f+`"%`)
		}
		query := t.db.Dialect.Rebind(`SELECT delivery_id, payload FROM ` + DeliveriesTable + `
			WHERE event_type = ? AND (` + strings.Join(holds, ` OR `) + `) AND delivery_id > ?
			ORDER BY delivery_id LIMIT ?`)
		after := ""
		for {
			type row struct{ id, payload string }
			var page []row
			rows, err := t.db.QueryContext(ctx, query, append(slices.Clone(args), after, scrubBatch)...)
			if err != nil {
				return total, fmt.Errorf("webhook deliveries: withheld fields: %w", err)
			}
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.payload); err != nil {
					rows.Close()
					return total, fmt.Errorf("webhook deliveries: withheld fields: %w", err)
				}
				page = append(page, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return total, fmt.Errorf("webhook deliveries: withheld fields: %w", err)
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].id
			err = t.db.Update(ctx, func(tx projections.Tx) error {
				for _, r := range page {
					scrubbed := string(bus.WithholdPayload([]byte(r.payload)))
					if scrubbed == r.payload {
						continue
					}
					res, err := tx.Exec(ctx, `UPDATE `+DeliveriesTable+` SET payload = ? WHERE delivery_id = ? AND payload = ?`,
						scrubbed, r.id, r.payload)
					if err != nil {
						return err
					}
					n, err := res.RowsAffected()
					if err != nil {
						return err
					}
					total += n
				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("webhook deliveries: withhold fields of stored payloads: %w", err)
			}
			if len(page) < scrubBatch {
				break
			}
		}
	}
	return total, nil
}

const deliveryColumns = `delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, last_error, last_attempt_at, delivered_at, next_attempt_at, attempts_base`

// legacyColumns reads a table without the retry schedule's columns.
const legacyColumns = `delivery_id, webhook_id, account_id, event_id, event_type, position, payload, status, attempts, last_error, last_attempt_at, delivered_at, NULL, 0`

// get returns one delivery, or ErrDeliveryNotFound.
func (t deliveries) get(ctx context.Context, id uuid.UUID) (DeliveryRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.db.Dialect.Rebind(`SELECT `+t.selected+` FROM `+DeliveriesTable+`
		WHERE delivery_id = ?`), id.String())
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	if len(out) == 0 {
		return DeliveryRecord{}, ErrDeliveryNotFound
	}
	return out[0], nil
}

// claim records that attempt (1 for the first) of a pending delivery
// starts, if the delivery has had attempt-1 so far; false means that
// attempt was made already (its message came twice, or was published
// twice) or the delivery is settled, and there is nothing to do. Until
// the attempt's outcome is recorded, the next one is due after lease: an
// attempt cut short by a crash is followed by the next in time.
func (t deliveries) claim(ctx context.Context, id uuid.UUID, attempt int, now time.Time, lease time.Duration) (bool, error) {
	n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, queued_at = NULL
		WHERE delivery_id = ? AND status = ? AND attempts = ?`,
		attempt, now.UnixMilli(), now.Add(lease).UnixMilli(), id.String(), StatusPending, attempt-1)
	if err != nil {
		return false, fmt.Errorf("claim delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// delivered settles a delivery as delivered.
func (t deliveries) delivered(ctx context.Context, id uuid.UUID, now time.Time) error {
	_, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET status = ?, delivered_at = ?, last_error = NULL,
		next_attempt_at = NULL, queued_at = NULL WHERE delivery_id = ? AND status = ?`,
		StatusDelivered, now.UnixMilli(), id.String(), StatusPending)
	if err != nil {
		return fmt.Errorf("settle delivery %s: %w", id, err)
	}
	return nil
}

// retryAt records why attempt failed and when the next one is due; the
// delivery stays pending.
func (t deliveries) retryAt(ctx context.Context, id uuid.UUID, attempt int, reason string, due time.Time) error {
	_, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET last_error = ?, next_attempt_at = ?, queued_at = NULL
		WHERE delivery_id = ? AND status = ? AND attempts = ?`,
		reason, due.UnixMilli(), id.String(), StatusPending, attempt)
	if err != nil {
		return fmt.Errorf("note failed attempt of delivery %s: %w", id, err)
	}
	return nil
}

// putOff makes the next attempt of a pending delivery that has had
// attempts due at due, its message no longer out, without counting an
// attempt or changing its last error.
func (t deliveries) putOff(ctx context.Context, id uuid.UUID, attempts int, due time.Time) error {
	_, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET next_attempt_at = ?, queued_at = NULL
		WHERE delivery_id = ? AND status = ? AND attempts = ?`,
		due.UnixMilli(), id.String(), StatusPending, attempts)
	if err != nil {
		return fmt.Errorf("put off delivery %s: %w", id, err)
	}
	return nil
}

// hurry makes the next attempt of a pending delivery that has had
// attempts, put off until after now, due now.
func (t deliveries) hurry(ctx context.Context, id uuid.UUID, attempts int, now time.Time) error {
	_, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET next_attempt_at = ?
		WHERE delivery_id = ? AND status = ? AND attempts = ? AND queued_at IS NULL AND next_attempt_at > ?`,
		now.UnixMilli(), id.String(), StatusPending, attempts, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("hurry delivery %s: %w", id, err)
	}
	return nil
}

// failed settles a pending delivery as failed; reason, when set, replaces
// the last error.
func (t deliveries) failed(ctx context.Context, id uuid.UUID, reason string) error {
	query := `UPDATE ` + DeliveriesTable + ` SET status = ?, next_attempt_at = NULL, queued_at = NULL WHERE delivery_id = ? AND status = ?`
	args := []any{StatusFailed, id.String(), StatusPending}
	if reason != "" {
		query = `UPDATE ` + DeliveriesTable + ` SET status = ?, last_error = ?, next_attempt_at = NULL, queued_at = NULL
			WHERE delivery_id = ? AND status = ?`
		args = []any{StatusFailed, reason, id.String(), StatusPending}
	}
	if _, err := t.exec(ctx, query, args...); err != nil {
		return fmt.Errorf("fail delivery %s: %w", id, err)
	}
	return nil
}

// requeue turns a failed delivery of webhookID back to pending for a new
// round of MaxAttempts, due now, its message about to be published.
func (t deliveries) requeue(ctx context.Context, webhookID, id uuid.UUID, now time.Time) (DeliveryRecord, error) {
	d, err := t.get(ctx, id)
	if err != nil {
		return DeliveryRecord{}, err
	}
	if d.WebhookID != webhookID {
		return DeliveryRecord{}, ErrDeliveryNotFound
	}
	n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET status = ?, attempts_base = attempts, next_attempt_at = ?, queued_at = ?
		WHERE delivery_id = ? AND status = ?`,
		StatusPending, now.UnixMilli(), now.UnixMilli(), id.String(), StatusFailed)
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("requeue delivery %s: %w", id, err)
	}
	if n == 0 {
		return DeliveryRecord{}, ErrNotFailed
	}
	return t.get(ctx, id)
}

// redeliver starts a new round of MaxAttempts for a settled (delivered or
// failed) delivery, due now, its message about to be published, for the
// re-delivery of its event named redelivery (bus.MetaRedelivery); false
// when the delivery is pending (its attempts send the event anyway) or
// that re-delivery started a round already (its message came twice).
func (t deliveries) redeliver(ctx context.Context, id uuid.UUID, redelivery string, now time.Time) (bool, error) {
	n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET status = ?, attempts_base = attempts, delivered_at = NULL,
		next_attempt_at = ?, queued_at = ?, redelivery_id = ?
		WHERE delivery_id = ? AND status IN (?, ?) AND (redelivery_id IS NULL OR redelivery_id <> ?)`,
		StatusPending, now.UnixMilli(), now.UnixMilli(), redelivery, id.String(), StatusDelivered, StatusFailed, redelivery)
	if err != nil {
		return false, fmt.Errorf("redeliver delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// due returns up to limit pending deliveries whose next attempt is due at
// now and whose message is not out (none was published, or the last one
// was published before stale), soonest due first.
func (t deliveries) due(ctx context.Context, now, stale time.Time, limit int) ([]DeliveryRecord, error) {
	rows, err := t.db.QueryContext(ctx, t.db.Dialect.Rebind(`SELECT `+t.selected+` FROM `+DeliveriesTable+`
		WHERE status = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (queued_at IS NULL OR queued_at <= ?)
		ORDER BY COALESCE(next_attempt_at, 0), position LIMIT ?`),
		StatusPending, now.UnixMilli(), stale.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	return out, nil
}

// queue takes a due delivery that has had attempts for publishing its next
// attempt's message; false means another process (or an attempt) took it
// first.
func (t deliveries) queue(ctx context.Context, id uuid.UUID, attempts int, now, stale time.Time) (bool, error) {
	n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET queued_at = ?
		WHERE delivery_id = ? AND status = ? AND attempts = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
		AND (queued_at IS NULL OR queued_at <= ?)`,
		now.UnixMilli(), id.String(), StatusPending, attempts, now.UnixMilli(), stale.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("queue delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// unqueue notes that no message of a pending delivery is out: its publish
// failed, or (Resume) the in-process queue that held it is gone.
func (t deliveries) unqueue(ctx context.Context, ids ...uuid.UUID) (int64, error) {
	if len(ids) == 0 {
		return t.exec(ctx, `UPDATE `+DeliveriesTable+` SET queued_at = NULL WHERE status = ? AND queued_at IS NOT NULL`, StatusPending)
	}
	var total int64
	for _, id := range ids {
		n, err := t.exec(ctx, `UPDATE `+DeliveriesTable+` SET queued_at = NULL WHERE delivery_id = ? AND status = ?`,
			id.String(), StatusPending)
		if err != nil {
			return total, fmt.Errorf("unqueue delivery %s: %w", id, err)
		}
		total += n
	}
	return total, nil
}

// nextDue returns when the soonest pending delivery without a message out
// is due; zero when there is none.
func (t deliveries) nextDue(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	err := t.db.QueryRowContext(ctx, t.db.Dialect.Rebind(`SELECT MIN(COALESCE(next_attempt_at, 0)) FROM `+DeliveriesTable+`
		WHERE status = ? AND queued_at IS NULL`), StatusPending).Scan(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("next due delivery: %w", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(next.Int64), nil
}

// countPending counts the pending deliveries.
func (t deliveries) countPending(ctx context.Context) (int, error) {
	var n int
	err := t.db.QueryRowContext(ctx, t.db.Dialect.Rebind(`SELECT COUNT(*) FROM `+DeliveriesTable+` WHERE status = ?`),
		StatusPending).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pending deliveries: %w", err)
	}
	return n, nil
}

// list returns one page of a webhook's deliveries, newest event first,
// before the cursor (0: from the newest), and the next page's cursor (0 on
// the last).
func (t deliveries) list(ctx context.Context, webhookID uuid.UUID, before uint64, size int) ([]DeliveryRecord, uint64, error) {
	query := `SELECT ` + t.selected + ` FROM ` + DeliveriesTable + ` WHERE webhook_id = ?`
	args := []any{webhookID.String()}
	if before > 0 {
		query += ` AND position < ?`
		args = append(args, int64(before))
	}
	query += ` ORDER BY position DESC LIMIT ?`
	args = append(args, size+1)
	rows, err := t.db.QueryContext(ctx, t.db.Dialect.Rebind(query), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("deliveries of %s: %w", webhookID, err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("deliveries of %s: %w", webhookID, err)
	}
	if len(out) > size {
		out = out[:size]
		return out, out[size-1].Position, nil
	}
	return out, 0, nil
}

func scanDeliveries(rows *sql.Rows) ([]DeliveryRecord, error) {
	defer rows.Close()
	var out []DeliveryRecord
	for rows.Next() {
		var d DeliveryRecord
		var id, hook, account, event, payload string
		var pos int64
		var lastError sql.NullString
		var lastAttempt, delivered, next sql.NullInt64
		if err := rows.Scan(&id, &hook, &account, &event, &d.EventType, &pos, &payload, &d.Status, &d.Attempts,
			&lastError, &lastAttempt, &delivered, &next, &d.attemptsBase); err != nil {
			return nil, err
		}
		var err error
		for _, p := range []struct {
			dst *uuid.UUID
			raw string
		}{{&d.DeliveryID, id}, {&d.WebhookID, hook}, {&d.AccountID, account}, {&d.EventID, event}} {
			if *p.dst, err = uuid.Parse(p.raw); err != nil {
				return nil, fmt.Errorf("delivery %s: id %q: %w", id, p.raw, err)
			}
		}
		d.Position, d.payload = uint64(pos), bus.WithholdPayload([]byte(payload))
		if lastError.Valid {
			d.LastError = &lastError.String
		}
		d.LastAttemptAt, d.DeliveredAt = millis(lastAttempt), millis(delivered)
		if d.Status == StatusPending {
			d.NextAttemptAt = millis(next)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func millis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}
