package backends

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
)

// KeyFingerprint identifies a command key without revealing it: an HMAC of
// a fixed string under the key.
func KeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("accessd command key fingerprint v1"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Origin names what a process opened, for CheckOrigin's refusals.
type Origin struct {
	// EventStore and ReadModels are the settings (--eventstore,
	// --readmodels), as given.
	EventStore, ReadModels string
	// Key is the command key and KeyFile the file it was read from; a nil
	// Key is not compared.
	Key     []byte
	KeyFile string
	// SigningKey is the server's public signing key and SigningKeyFile
	// the file of its seed; a nil SigningKey is not compared.
	SigningKey     ed25519.PublicKey
	SigningKeyFile string
	// ReadOnly compares without recording anything.
	ReadOnly bool
}

// CheckOrigin refuses read models built from another event log than store,
// or kept by servers of another command key or signing key, and otherwise
// records the log's identity, the command key's fingerprint and the public
// signing key in read models that have none (new ones, or ones built
// before these were recorded). Run it at start,
// before anything appends to the log or applies events to the read models.
func CheckOrigin(ctx context.Context, store eventstore.Store, db *projections.DB, o Origin) error {
	logID, err := eventstore.LogID(ctx, store)
	if err != nil {
		return fmt.Errorf("--eventstore %s: %w", Redact(o.EventStore), err)
	}
	po := projections.Origin{LogID: logID, Head: store.HeadPosition}
	if o.Key != nil {
		po.KeyFingerprint = KeyFingerprint(o.Key)
	}
	if o.SigningKey != nil {
		po.SigningKey = base64.StdEncoding.EncodeToString(o.SigningKey)
	}
	if o.ReadOnly {
		err = db.CheckOrigin(ctx, po)
	} else {
		err = db.ClaimOrigin(ctx, po)
	}
	var oe *projections.OriginError
	switch {
	case errors.As(err, &oe) && errors.Is(err, projections.ErrOtherLog):
		return fmt.Errorf("--readmodels %s were built from another event log than --eventstore %s (%v); "+
			"servers sharing --readmodels must share one --eventstore: start this server with the --eventstore of the servers that share these read models, "+
			"or give it read models of its own",
			Redact(o.ReadModels), Redact(o.EventStore), oe)
	case errors.As(err, &oe) && errors.Is(err, projections.ErrOtherKey):
		return fmt.Errorf("--readmodels %s are kept by servers with another command key than %s (%v); "+
			"servers sharing --readmodels must share one command key (webhook secrets, derived ids and API key hashes depend on it): "+
			"copy the command.key of the servers that share these read models into this data directory",
			Redact(o.ReadModels), o.KeyFile, oe)
	case errors.As(err, &oe) && errors.Is(err, projections.ErrOtherSigningKey):
		return fmt.Errorf("--readmodels %s are kept by servers with another signing key than %s (%v); "+
			"servers sharing --readmodels must share one signing key (locks and phones check every signed answer against it): "+
			"copy the server-signing.key of the servers that share these read models into this data directory",
			Redact(o.ReadModels), o.SigningKeyFile, oe)
	case err != nil:
		return fmt.Errorf("--readmodels %s: %w", Redact(o.ReadModels), err)
	}
	return nil
}
