package booking

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var codeID = uuid.MustParse("00000000-0000-0000-0000-00000000c0de")

func TestAccessCodes(t *testing.T) {
	t.Parallel()
	create := CreateAccessCode{AccessCodeID: codeID, CodeHash: "ab", Salt: "cd"}
	events, err := create.Decide(fold(created), start)
	if err != nil || len(events) != 1 {
		t.Fatalf("create: %v, %v", events, err)
	}
	c := events[0].(AccessCodeCreated)
	if !c.ValidFrom.Equal(start) || !c.ValidUntil.Equal(end) || c.AreaID != areaID {
		t.Fatalf("the code takes the booking's window and area: %+v", c)
	}
	withCode := fold(created, c)
	if got := withCode.ActiveCodes(); len(got) != 1 || got[0] != codeID {
		t.Fatalf("active = %v", got)
	}
	for _, st := range []Status{StatusCheckedOut, StatusCancelled, StatusNoCheckIn, StatusCompleted} {
		if _, err := create.Decide(fold(statuses[st]...), start); !errors.Is(err, ErrTransition) {
			t.Errorf("create on %s: %v", st, err)
		}
	}
	// Every ending revokes the active codes.
	for name, cmd := range map[string]struct {
		d   decider
		h   []domain.Event
		now time.Time
	}{
		"cancel":    {Cancel{Reason: "byUser"}, []domain.Event{created, c}, start},
		"noCheckIn": {RecordNoCheckIn{Settings: set}, []domain.Event{created, c}, start.Add(3 * time.Hour)},
		"check-out": {CheckOut{Method: "manual"}, []domain.Event{created, c, checkedIn}, start},
		"complete":  {Complete{}, []domain.Event{created, c, checkedIn}, end},
	} {
		events, err := cmd.d.Decide(fold(cmd.h...), cmd.now)
		if err != nil || len(events) != 2 {
			t.Fatalf("%s: %v, %v", name, events, err)
		}
		if r, ok := events[1].(AccessCodeRevoked); !ok || r.AccessCodeID != codeID {
			t.Errorf("%s: second event %v", name, events[1])
		}
	}
	rev, err := RevokeAccessCode{AccessCodeID: codeID}.Decide(withCode, start)
	if err != nil || len(rev) != 1 {
		t.Fatalf("revoke: %v, %v", rev, err)
	}
	if _, err := (RevokeAccessCode{AccessCodeID: codeID}).Decide(fold(created, c, rev[0]), start); !errors.Is(err, ErrAccessCodeNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
}
