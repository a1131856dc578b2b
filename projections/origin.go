package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// originTable records where the read models come from: the identity of the
// event log they were built from (eventstore.Identified), the fingerprint
// of the command key of the servers that keep them and the public key
// those servers sign with. None belongs to a projection: no reset or
// rebuild touches the table.
const originTable = "readmodel_origin"

// Rows of originTable.
const (
	originLog        = "eventlog"
	originKey        = "command-key"
	originSigningKey = "server-signing-key"
)

// originLockClass is the first key of the PostgreSQL advisory lock under
// which servers starting at once claim the read models one at a time; the
// second is the schema's hash.
const originLockClass = 0x0819

// Origin is what read models are built from and kept with.
type Origin struct {
	// LogID is the event log's identity; "" when the log has none (then
	// it is neither compared nor recorded).
	LogID string
	// KeyFingerprint identifies the command key without revealing it; ""
	// when the caller has none (then it is neither compared nor recorded).
	KeyFingerprint string
	// SigningKey is the servers' public signing key (base64); "" when the
	// caller signs nothing (then it is neither compared nor recorded).
	SigningKey string
	// Head returns the log's head position. When no log identity is
	// recorded yet, read models whose checkpoints are past the head (an
	// empty log's head is 0) were built from another log.
	Head func(context.Context) (uint64, error)
}

var (
	// ErrOtherLog: the read models were built from another event log.
	ErrOtherLog = errors.New("read models built from another event log")
	// ErrOtherKey: the read models are kept by servers of another command key.
	ErrOtherKey = errors.New("read models kept with another command key")
	// ErrOtherSigningKey: the read models are kept by servers that sign
	// with another key.
	ErrOtherSigningKey = errors.New("read models kept by servers of another signing key")
)

// OriginError says how read models and the log or key opening them differ.
type OriginError struct {
	Err error // ErrOtherLog, ErrOtherKey or ErrOtherSigningKey
	// Recorded and Current are the identities (fingerprints) recorded
	// in the read models and those of this log (key); Recorded is "" when
	// none was recorded and the checkpoints gave the log away.
	Recorded, Current string
	// Checkpoint and Head, when Recorded is "": the read models'
	// furthest checkpoint and the log's head.
	Checkpoint, Head uint64
}

func (e *OriginError) Error() string {
	if e.Recorded == "" && e.Err == ErrOtherLog {
		return fmt.Sprintf("%v: they have applied events up to position %d, the log ends at %d", e.Err, e.Checkpoint, e.Head)
	}
	return fmt.Sprintf("%v: recorded %s, this one %s", e.Err, e.Recorded, e.Current)
}

func (e *OriginError) Unwrap() error { return e.Err }

// ClaimOrigin checks that the read models come from o's log and key and
// records either that is not recorded yet: read models created by this
// call, or built before identities were recorded, take o's. It returns an
// *OriginError on a mismatch, having changed nothing.
func (d *DB) ClaimOrigin(ctx context.Context, o Origin) error {
	return d.Update(ctx, func(tx Tx) error {
		if tx.Dialect == Postgres {
			if _, err := tx.Tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, originLockClass); err != nil {
				return fmt.Errorf("read models: origin lock: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+originTable+` (
			name TEXT PRIMARY KEY,
			value TEXT NOT NULL
		)`); err != nil {
			return fmt.Errorf("read models: %w", err)
		}
		recorded, err := readOrigin(ctx, tx)
		if err != nil {
			return err
		}
		if err := compareOrigin(ctx, tx, o, recorded); err != nil {
			return err
		}
		for name, value := range map[string]string{originLog: o.LogID, originKey: o.KeyFingerprint, originSigningKey: o.SigningKey} {
			if value == "" || recorded[name] != "" {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+originTable+` (name, value) VALUES (?, ?)`, name, value); err != nil {
				return fmt.Errorf("read models: record origin: %w", err)
			}
		}
		return nil
	})
}

// CheckOrigin is ClaimOrigin without writing, for read models opened
// read-only: what is not recorded is not compared, except the checkpoints
// with the log's head.
func (d *DB) CheckOrigin(ctx context.Context, o Origin) error {
	tx, err := d.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("read models: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	t := Tx{Tx: tx, Dialect: d.Dialect}
	recorded := map[string]string{}
	if ok, err := tableExists(ctx, t, originTable); err != nil {
		return err
	} else if ok {
		if recorded, err = readOrigin(ctx, t); err != nil {
			return err
		}
	}
	return compareOrigin(ctx, t, o, recorded)
}

func readOrigin(ctx context.Context, tx Tx) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT name, value FROM `+originTable)
	if err != nil {
		return nil, fmt.Errorf("read models: origin: %w", err)
	}
	defer rows.Close()
	recorded := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("read models: origin: %w", err)
		}
		recorded[name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read models: origin: %w", err)
	}
	return recorded, nil
}

func compareOrigin(ctx context.Context, tx Tx, o Origin, recorded map[string]string) error {
	if r := recorded[originLog]; r != "" && o.LogID != "" && r != o.LogID {
		return &OriginError{Err: ErrOtherLog, Recorded: r, Current: o.LogID}
	}
	if r := recorded[originKey]; r != "" && o.KeyFingerprint != "" && r != o.KeyFingerprint {
		return &OriginError{Err: ErrOtherKey, Recorded: r, Current: o.KeyFingerprint}
	}
	if r := recorded[originSigningKey]; r != "" && o.SigningKey != "" && r != o.SigningKey {
		return &OriginError{Err: ErrOtherSigningKey, Recorded: r, Current: o.SigningKey}
	}
	if recorded[originLog] != "" || o.Head == nil {
		return nil
	}
	// No identity recorded: read models that have applied events the log
	// does not hold were built from another log. The checkpoints are read
	// before the head, so that a server of the same log moving both
	// meanwhile never looks ahead of it.
	ok, err := tableExists(ctx, tx, checkpointTable)
	if err != nil || !ok {
		return err
	}
	var furthest int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(position), 0) FROM `+checkpointTable).Scan(&furthest); err != nil {
		return fmt.Errorf("read models: checkpoints: %w", err)
	}
	head, err := o.Head(ctx)
	if err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	if furthest > 0 && uint64(furthest) > head {
		return &OriginError{Err: ErrOtherLog, Checkpoint: uint64(furthest), Head: head, Current: o.LogID}
	}
	return nil
}

// tableExists reports whether the read models hold the (physical) table.
func tableExists(ctx context.Context, tx Tx, name string) (bool, error) {
	var n int
	var err error
	if tx.Dialect == Postgres {
		err = tx.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?`, name).Scan(&n)
	} else {
		err = tx.QueryRow(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	}
	if err != nil {
		return false, fmt.Errorf("read models: %w", err)
	}
	return n > 0, nil
}
