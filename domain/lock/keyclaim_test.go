package lock

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
)

func TestKeyClaimDecide(t *testing.T) {
	t.Parallel()
	other, otherAccount := uuid.MustParse("00000000-0000-0000-0000-0000000000e2"), uuid.MustParse("00000000-0000-0000-0000-0000000000b2")
	claimed := LockKeyClaimed{LockID: lockID, AccountID: accountID, ClaimedAt: now.Add(-time.Minute)}
	stale := LockKeyClaimed{LockID: lockID, AccountID: accountID, ClaimedAt: now.Add(-KeyClaimGrace - time.Second)}
	freed := LockKeyReleased{LockID: lockID, AccountID: accountID}
	domaintest.Run(t, EvolveKeyClaim, now, []domaintest.Case[KeyClaim]{
		{Name: "claim a free key", When: ClaimKey{LockID: lockID, AccountID: accountID},
			Then: []domain.Event{LockKeyClaimed{LockID: lockID, AccountID: accountID, ClaimedAt: now}}},
		{Name: "claim again by the same lock (a retry)", Given: []domain.Event{claimed}, When: ClaimKey{LockID: lockID, AccountID: accountID, HolderExists: true}},
		{Name: "claim the key of another lock", Given: []domain.Event{claimed},
			When: ClaimKey{LockID: other, AccountID: otherAccount, HolderExists: true}, Err: ErrKeyInUse, Field: "publicKey"},
		{Name: "claim the key of another lock of the same account", Given: []domain.Event{claimed},
			When: ClaimKey{LockID: other, AccountID: accountID, HolderExists: true}, Err: domain.ErrConflict},
		{Name: "claim a key whose provisioning is in flight", Given: []domain.Event{claimed},
			When: ClaimKey{LockID: other, AccountID: otherAccount}, Err: ErrKeyInUse},
		{Name: "claim a key of a lock that exists, long after its claim", Given: []domain.Event{stale},
			When: ClaimKey{LockID: other, AccountID: otherAccount, HolderExists: true}, Err: ErrKeyInUse},
		{Name: "take over an abandoned claim", Given: []domain.Event{stale}, When: ClaimKey{LockID: other, AccountID: otherAccount},
			Then: []domain.Event{LockKeyClaimed{LockID: other, AccountID: otherAccount, ClaimedAt: now, PreviousLockID: lockID}}},
		{Name: "claim a released key", Given: []domain.Event{claimed, freed}, When: ClaimKey{LockID: other, AccountID: otherAccount, HolderExists: true},
			Then: []domain.Event{LockKeyClaimed{LockID: other, AccountID: otherAccount, ClaimedAt: now}}},
		{Name: "claim without lock", When: ClaimKey{AccountID: accountID}, Err: domain.ErrInvalid, Field: "lockId"},
		{Name: "claim without account", When: ClaimKey{LockID: lockID}, Err: domain.ErrInvalid, Field: "accountId"},
	})
	domaintest.Run(t, EvolveKeyClaim, now, []domaintest.Case[KeyClaim]{
		{Name: "release the holder's key", Given: []domain.Event{claimed}, When: ReleaseKey{LockID: lockID}, Then: []domain.Event{freed}},
		{Name: "release again", Given: []domain.Event{claimed, freed}, When: ReleaseKey{LockID: lockID}},
		{Name: "release a key never claimed", When: ReleaseKey{LockID: lockID}},
		{Name: "release a key taken over", Given: []domain.Event{stale, LockKeyClaimed{LockID: other, AccountID: otherAccount, ClaimedAt: now}},
			When: ReleaseKey{LockID: lockID}},
	})
}

func TestKeyClaimID(t *testing.T) {
	t.Parallel()
	other, _ := testKeys("other lock")
	// Deterministic: the same key text, made afresh, names the same claim.
	again := string([]byte(pub))
	if KeyClaimID(pub) != KeyClaimID(again) || KeyClaimID(pub) == KeyClaimID(other) {
		t.Fatal("a key's claim id is not its own")
	}
}
