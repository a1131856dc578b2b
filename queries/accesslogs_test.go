package queries_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/lock"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/accesslogs"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

func TestAccessLogTokens(t *testing.T) {
	t.Parallel()
	key := queries.NewPageTokenKey(bytes.Repeat([]byte{1}, 32))
	list := queries.NewListKey(key, "GET /locks/{lockId}/logs")
	c := queries.AccessLogCursor{AccessDate: accesslogs.FormatTime(time.Date(2024, 3, 1, 12, 0, 0, 5, time.UTC)),
		LockAccessLogID: uuid.NewString(), LockID: uuid.NewString()}
	p, err := queries.ParseAccessLogPage("20", queries.AccessLogPage{List: list}.Token(c), list)
	require.NoError(t, err)
	assert.Equal(t, 20, p.Size)
	require.NotNil(t, p.After)
	assert.Equal(t, c, *p.After)
	assert.Equal(t, list, p.List)

	p, err = queries.ParseAccessLogPage("", "", list)
	require.NoError(t, err)
	assert.Equal(t, queries.DefaultPageSize, p.Size)
	assert.Nil(t, p.After)

	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	// The tag and MAC of list, as the issued token carries them.
	issued, err := base64.RawURLEncoding.DecodeString(queries.AccessLogPage{List: list}.Token(c))
	require.NoError(t, err)
	parts := strings.Split(string(issued), "|")
	require.Len(t, parts, 6, "%s", issued)
	tag, mac := parts[4], parts[5]
	// The issued token with a part changed by hand (the lock id first:
	// the token of one lock's logs, edited to resume another's), or none.
	otherLock := uuid.NewString()
	for _, bad := range []string{
		raw("l3|" + c.AccessDate + "|" + c.LockAccessLogID + "|" + otherLock + "|" + tag + "|" + mac),
		raw("l3|" + c.AccessDate + "|" + uuid.NewString() + "|" + c.LockID + "|" + tag + "|" + mac),
		raw("l3|" + accesslogs.FormatTime(time.Date(2024, 3, 1, 12, 0, 0, 6, time.UTC)) + "|" + c.LockAccessLogID + "|" + c.LockID + "|" + tag + "|" + mac),
		raw("l3|" + c.AccessDate + "|" + c.LockAccessLogID + "|" + c.LockID + "|" + tag),
		raw("l3|" + c.AccessDate + "|" + c.LockAccessLogID + "|" + c.LockID + "|" + tag + "|" + strings.Repeat("0", len(mac))),
		queries.AccessLogPage{List: queries.NewListKey(queries.NewPageTokenKey(bytes.Repeat([]byte{2}, 32)), "GET /locks/{lockId}/logs")}.Token(c),
		"garbage", "!!!", raw("l3|"), raw("l3|2024-03-01T12:00:00Z|" + c.LockAccessLogID + "|" + c.LockID + "|" + tag + "|" + mac),
		raw("l3|" + c.AccessDate + "|" + c.LockAccessLogID + "|" + tag + "|" + mac), raw("l3|" + c.AccessDate + "|x|" + c.LockID + "|" + tag + "|" + mac),
		raw("l3|" + c.AccessDate + "|" + strings.ToUpper(c.LockAccessLogID) + "|" + c.LockID + "|" + tag + "|" + mac),
		raw("l4|" + c.AccessDate + "|" + c.LockAccessLogID + "|" + c.LockID + "|" + tag + "|" + mac),
		raw("l3|" + c.AccessDate + "|" + c.LockAccessLogID + "|" + c.LockID + "|x|" + tag + "|" + mac), string(make([]byte, 300)),
	} {
		_, err := queries.ParseAccessLogPage("", bad, list)
		var de *domain.Error
		require.True(t, errors.As(err, &de) && errors.Is(err, domain.ErrInvalid), "%q: %v", bad, err)
		assert.Equal(t, "pageToken", de.Field)
		assert.Equal(t, "is not a page token this server issued", de.Message, bad)
	}
	// Another list's tokens: another list of access logs, or a list of
	// positions.
	for _, other := range []string{queries.AccessLogPage{List: queries.NewListKey(key, "GET /users/{userId}/logs")}.Token(c),
		queries.Page{List: list}.Token(12)} {
		_, err := queries.ParseAccessLogPage("", other, list)
		var de *domain.Error
		require.True(t, errors.As(err, &de) && errors.Is(err, domain.ErrInvalid), "%q: %v", other, err)
		assert.Equal(t, "pageToken", de.Field)
		assert.Contains(t, de.Message, "was issued for another list", other)
	}
	_, err = queries.ParseAccessLogPage("0", "", list)
	assert.ErrorIs(t, err, domain.ErrInvalid)
}

// accessLogDB is a read-model database with the access-log table.
func accessLogDB(t testing.TB) *projections.DB {
	t.Helper()
	db := readmodeltest.Open(context.Background(), t, filepath.Join(t.TempDir(), "readmodels.db"))
	t.Cleanup(func() { db.Close() })
	inTx(t, db, func(tx projections.Tx) error { return accesslogs.New().Setup(context.Background(), tx) })
	return db
}

func inTx(t testing.TB, db *projections.DB, fn func(projections.Tx) error) {
	t.Helper()
	sqlTx, err := db.BeginTx(context.Background(), nil)
	require.NoError(t, err)
	if err := fn(projections.Tx{Tx: sqlTx, Dialect: db.Dialect}); err != nil {
		_ = sqlTx.Rollback()
		require.NoError(t, err)
	}
	require.NoError(t, sqlTx.Commit())
}

func TestAccessLogProjectionIsIdempotentAndOrdered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := accessLogDB(t)
	account, lockID, user := uuid.New(), uuid.New(), uuid.New()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var want []string
	p := accesslogs.New()
	for i := range 5 {
		e := lock.LockAccessLogged{LockAccessLogID: uuid.New(), LockID: lockID, AccountID: account, UserID: user,
			AccessDate: base.Add(time.Duration(i) * time.Minute), RecordedAt: base.Add(time.Hour), Result: lock.Granted, KeyMapVersion: 3}
		want = append([]string{e.LockAccessLogID.String()}, want...)
		env := eventstore.Envelope{Event: e, Position: uint64(10 + i)}
		for range 2 { // delivered twice
			inTx(t, db, func(tx projections.Tx) error { return p.Apply(ctx, tx, env) })
		}
	}
	q := queries.NewAccessLogs(db)
	logs, next, err := q.List(ctx, account.String(), queries.AccessLogFilter{LockID: lockID.String()}, queries.AccessLogPage{Size: 10})
	require.NoError(t, err)
	assert.Empty(t, next)
	got := []string{}
	for _, l := range logs {
		got = append(got, l.LockAccessLogID)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, uint64(3), logs[0].KeyMapVersion)
	assert.Equal(t, base.Add(4*time.Minute), logs[0].AccessDate)

	// Another account sees nothing of it.
	logs, _, err = q.List(ctx, uuid.NewString(), queries.AccessLogFilter{UserID: user.String()}, queries.AccessLogPage{Size: 10})
	require.NoError(t, err)
	assert.Empty(t, logs)
}

// fillAccessLogs stores n entries over locks locks in 10 properties and
// users users, a year of access dates, straight through the projection's
// SQL. It returns the account.
func fillAccessLogs(t testing.TB, db *projections.DB, n, locks, users int) (account string, lockIDs, userIDs, propertyIDs []string) {
	t.Helper()
	account = uuid.NewString()
	for range locks {
		lockIDs = append(lockIDs, uuid.NewString())
	}
	for range users {
		userIDs = append(userIDs, uuid.NewString())
	}
	for range 10 {
		propertyIDs = append(propertyIDs, uuid.NewString())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 20000
	for done := 0; done < n; done += batch {
		inTx(t, db, func(tx projections.Tx) error {
			stmt, err := tx.PrepareContext(context.Background(), tx.Dialect.Rebind(accesslogs.InsertSQL(accesslogs.Table)))
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i := done; i < min(n, done+batch); i++ {
				l := rng.IntN(locks)
				e := lock.LockAccessLogged{LockAccessLogID: uuid.New(), LockID: uuid.MustParse(lockIDs[l]), AccountID: uuid.MustParse(account),
					PropertyID: uuid.MustParse(propertyIDs[l%len(propertyIDs)]), UserID: uuid.MustParse(userIDs[rng.IntN(users)]),
					AccessKeyID: uuid.New(), AccessDate: start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour)))),
					RecordedAt: start, Result: lock.Granted, DeviceSignature: "c2lnbmF0dXJl", KeyMapVersion: 7}
				if _, err := stmt.ExecContext(context.Background(), accesslogs.Args(e, uint64(i+1))...); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return account, lockIDs, userIDs, propertyIDs
}

// BenchmarkAccessLogPage reads pages of 50 access logs (a first page or one
// from a cursor at a random date) by lock, user and property with 1,000,000
// entries stored, and reports the p50 and p99 latency of a page. The
// target is p99 under 5 ms. With -short it stores 100,000.
func BenchmarkAccessLogPage(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	db := accessLogDB(b)
	fillStart := time.Now()
	account, lockIDs, userIDs, propertyIDs := fillAccessLogs(b, db, n, 1000, 20000)
	b.Logf("stored %d entries in %s", n, time.Since(fillStart).Round(time.Second))
	_, err := db.ExecContext(context.Background(), `ANALYZE`)
	require.NoError(b, err)

	q := queries.NewAccessLogs(db)
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var took []time.Duration
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		var f queries.AccessLogFilter
		switch i % 3 {
		case 0:
			f.LockID = lockIDs[rng.IntN(len(lockIDs))]
		case 1:
			f.UserID = userIDs[rng.IntN(len(userIDs))]
		default:
			f.PropertyID = propertyIDs[rng.IntN(len(propertyIDs))]
		}
		page := queries.AccessLogPage{Size: queries.DefaultPageSize}
		if i%2 == 1 {
			page.After = &queries.AccessLogCursor{AccessDate: accesslogs.FormatTime(start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))),
				LockAccessLogID: "ffffffff-ffff-ffff-ffff-ffffffffffff", LockID: "ffffffff-ffff-ffff-ffff-ffffffffffff"}
		}
		t0 := time.Now()
		logs, _, err := q.List(ctx, account, f, page)
		took = append(took, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		if len(logs) == 0 && page.After == nil && f.UserID == "" {
			b.Fatalf("an empty first page for %+v", f)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p float64) time.Duration { return took[min(len(took)-1, int(float64(len(took))*p))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.Logf("%d pages with %d entries stored: p50 %s, p99 %s, max %s", len(took), n, pct(0.50), pct(0.99), took[len(took)-1])
}
