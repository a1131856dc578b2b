package commands_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/postgres"
	"github.com/accessd/accessd/eventstore/servicetest"
)

// noKeyMaps is the key-map history of a lock no key map was ever made for
// (the attempts are checked against nothing; their chain is the point).
type noKeyMaps struct{}

func (noKeyMaps) KeyMapAt(context.Context, uuid.UUID, time.Time) (uint64, string, error) {
	return 0, "", nil
}
func (noKeyMaps) KeyMapEntries(context.Context, string) ([]access.Entry, error) { return nil, nil }
func (noKeyMaps) AccessKey(context.Context, uuid.UUID, uuid.UUID) (access.Device, bool, error) {
	return access.Device{}, false, nil
}

// Two servers, each with its own connection pool to one PostgreSQL event
// store, log the same lock's access attempts at once, some attempts sent to
// both (a lock retrying after a lost answer). Every event must chain to the
// one before it, as `accessctl verify` checks, and every attempt must be
// stored exactly once.
func TestLockSyncAccessLogChainOnPostgres(t *testing.T) {
	url := servicetest.PostgresSchema(t)
	ctx, owner := actorCtx()
	var syncs []*commands.LockSyncs
	var services []*commands.Service
	for range 2 {
		store, err := postgres.Open(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		p, err := commands.NewPipeline(store, commands.NewRegistry(), time.Now)
		require.NoError(t, err)
		s, err := commands.NewService(p, bytes.Repeat([]byte{7}, 32))
		require.NoError(t, err)
		ls, err := commands.NewLockSyncs(s, noKeyMaps{})
		require.NoError(t, err)
		services, syncs = append(services, s), append(syncs, ls)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	provisioned, err := services[0].ProvisionLock(ctx, commands.ProvisionLock{DisplayName: "door",
		PublicKey: base64.StdEncoding.EncodeToString(pub), EncryptionPublicKey: base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())})
	require.NoError(t, err)
	lockID := provisioned.LockID
	lockCtx := domain.WithActor(context.Background(), domain.Actor{AccountID: owner.AccountID, APIKeyID: provisioned.Key.APIKeyID, LockID: lockID})

	const syncers, rounds, perSync = 6, 5, 3
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var (
		mu   sync.Mutex
		sent []uuid.UUID
		wg   sync.WaitGroup
		errs = make(chan error, syncers*rounds*2)
	)
	for g := range syncers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				var logs []lock.AccessAttempt
				for i := range perSync {
					at := base.Add(time.Duration(g*1000+r*10+i) * time.Millisecond)
					logs = append(logs, lock.AccessAttempt{LockAccessLogID: uuid.New(), AccessDate: at,
						AccessDateAsSent: at.Format(time.RFC3339Nano), AccessKeyID: uuid.New(), Result: lock.Granted})
					mu.Lock()
					sent = append(sent, logs[i].LockAccessLogID)
					mu.Unlock()
				}
				body := fmt.Appendf(nil, "sync %d/%d", g, r)
				req := commands.SignedLockSync{LockID: lockID, Body: body, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, body))}
				decode := func([]byte) (commands.LockSync, error) {
					return commands.LockSync{Report: lock.Sync{SyncDate: time.Now().UTC(), CurrentFirmwareVersion: "1.0.0"}, AccessLogs: logs}, nil
				}
				var inner sync.WaitGroup
				for k := range 2 {
					inner.Add(1)
					go func() {
						defer inner.Done()
						out, err := syncs[(g+k)%2].SyncLock(lockCtx, req, decode)
						if err == nil && len(out.AcceptedAccessLogIDs) != perSync {
							err = fmt.Errorf("accepted %d of %d", len(out.AcceptedAccessLogIDs), perSync)
						}
						if err != nil {
							errs <- err
						}
					}()
				}
				inner.Wait()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	store, err := postgres.Open(ctx, url)
	require.NoError(t, err)
	defer store.Close()
	rep, err := seals.Verify(ctx, store, seals.VerifyOptions{Registry: commands.NewRegistry(), DensePositions: true})
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "accessctl verify: %v", rep.Failure)
	recs, err := store.ReadStream(ctx, lock.AccessLogStream(lockID), eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	stored := map[uuid.UUID]int{}
	for _, rec := range recs {
		stored[rec.ID]++
	}
	require.Len(t, recs, len(sent), "every attempt stored once, none lost")
	for _, id := range sent {
		require.Equal(t, 1, stored[lock.AccessLogEventID(lockID, id)], "attempt %s", id)
	}
}
