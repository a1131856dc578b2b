package booking

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/uuid"
)

// hashed is a CreateAccessCode of code with a fixed salt.
func hashed(id uuid.UUID, salt, code string) CreateAccessCode {
	raw, _ := hex.DecodeString(salt)
	sum := sha256.Sum256(append(raw, code...))
	return CreateAccessCode{AccessCodeID: id, CodeHash: hex.EncodeToString(sum[:]), Salt: salt, Code: code}
}

// A booking refuses a code equal to one of its active codes (whatever the
// salt), and takes it again once that one is revoked.
func TestCodeInUseInTheBooking(t *testing.T) {
	t.Parallel()
	second := uuid.MustParse("00000000-0000-0000-0000-00000000c0d2")
	events, err := hashed(codeID, "0011", "482913").Decide(fold(created), start)
	if err != nil {
		t.Fatal(err)
	}
	s := fold(created, events[0])
	if _, err := hashed(second, "aabb", "482913").Decide(s, start); !errors.Is(err, ErrCodeInUse) {
		t.Fatalf("the same code again: %v", err)
	}
	if _, err := hashed(second, "0011", "482914").Decide(s, start); err != nil {
		t.Fatalf("another code: %v", err)
	}
	revoked, err := RevokeAccessCode{AccessCodeID: codeID}.Decide(s, start)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hashed(second, "aabb", "482913").Decide(Evolve(s, revoked[0]), start); err != nil {
		t.Fatalf("after the first was revoked: %v", err)
	}
}
