package account

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/domaintest"
)

var (
	now      = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	id       = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	parentID = uuid.MustParse("00000000-0000-0000-0000-0000000000b2")
	created  = AccountCreated{AccountID: id, DisplayName: "Acme"}
)

func fold(events []domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	domaintest.Run(t, Evolve, now, []domaintest.Case[State]{
		{Name: "create", When: Create{AccountID: id, DisplayName: "Acme"}, Then: []domain.Event{created}},
		{Name: "create child", When: Create{AccountID: id, DisplayName: "Acme", ParentAccountID: parentID},
			Then: []domain.Event{AccountCreated{AccountID: id, DisplayName: "Acme", ParentAccountID: parentID}}},
		{Name: "create twice", Given: []domain.Event{created}, When: Create{AccountID: id, DisplayName: "Acme"}, Err: ErrExists},
		{Name: "create without id", When: Create{DisplayName: "Acme"}, Err: domain.ErrInvalid, Field: "accountId"},
		{Name: "create own parent", When: Create{AccountID: id, DisplayName: "Acme", ParentAccountID: id}, Err: domain.ErrInvalid, Field: "parentAccountId"},
		{Name: "create without name", When: Create{AccountID: id}, Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "create control characters", When: Create{AccountID: id, DisplayName: "a\x00b"}, Err: domain.ErrInvalid, Field: "displayName"},
		{Name: "update", Given: []domain.Event{created}, When: Update{DisplayName: "Acme Ltd"},
			Then: []domain.Event{AccountUpdated{AccountID: id, DisplayName: "Acme Ltd"}}},
		{Name: "update unchanged", Given: []domain.Event{created}, When: Update{DisplayName: "Acme"}},
		{Name: "update missing", When: Update{DisplayName: "Acme"}, Err: ErrNotFound},
		{Name: "update blank", Given: []domain.Event{created}, When: Update{DisplayName: ""}, Err: domain.ErrInvalid, Field: "displayName"},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{AccountCreated{AccountID: id, DisplayName: "Acme", ParentAccountID: parentID}, AccountUpdated{AccountID: id, DisplayName: "B"}})
	if !s.Exists() || s.ID() != id || s.AccountID() != id || s.ParentAccountID() != parentID || s.DisplayName() != "B" {
		t.Fatalf("state = %+v", s)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    domain.Event
		want string
	}{
		{created, `{"accountId":"` + id.String() + `","displayName":"Acme"}`},
		{AccountCreated{AccountID: id, DisplayName: "A", ParentAccountID: parentID},
			`{"accountId":"` + id.String() + `","displayName":"A","parentAccountId":"` + parentID.String() + `"}`},
	} {
		b, err := json.Marshal(tc.e)
		if err != nil || string(b) != tc.want {
			t.Fatalf("json = %s, %v; want %s", b, err, tc.want)
		}
	}
	if len(Events()) != 2 {
		t.Fatal("Events() misses a type")
	}
}
