package seals_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands/seals"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// A validly signed seal that covers less than the one before it (an older
// seal appended again) verifies, but must not shrink the range the report
// calls sealed.
func TestVerifyReportsTheHighestSealedPosition(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	reg, pub, key := notesFixture(t, mem)
	stop := runSealer(t, mem, key, 5)
	require.Eventually(t, func() bool { return countSeals(t, mem) == 1 }, 5*time.Second, 5*time.Millisecond)
	appendChained(t, mem, reg, "note-0", 5)
	require.Eventually(t, func() bool { return countSeals(t, mem) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, stop())

	recs, err := mem.ReadStream(t.Context(), seals.Stream, eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	var first, last seals.Sealed
	require.NoError(t, json.Unmarshal(recs[0].Data, &first))
	require.NoError(t, json.Unmarshal(recs[len(recs)-1].Data, &last))
	require.Less(t, first.UpToPosition, last.UpToPosition)
	tail, err := reg.Decode(recs[len(recs)-1])
	require.NoError(t, err)
	copied, _, err := reg.EncodeChained(uuid.New(), first, eventstore.Metadata{OccurredAt: time.Now().UTC()},
		seals.Stream, recs[len(recs)-1].Revision+1, tail.Metadata.Hash)
	require.NoError(t, err)
	_, err = mem.Append(t.Context(), seals.Stream, eventstore.Exact(recs[len(recs)-1].Revision), copied)
	require.NoError(t, err)

	rep, err := seals.Verify(t.Context(), mem, seals.VerifyOptions{PublicKey: pub, Registry: reg})
	require.NoError(t, err)
	require.Nil(t, rep.Failure, "%v", rep.Failure)
	require.Equal(t, len(recs)+1, rep.Seals)
	require.Equal(t, last.UpToPosition, rep.LastSealed)
}
