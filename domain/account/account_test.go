package account

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	now      = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	id       = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	parentID = uuid.MustParse("00000000-0000-0000-0000-0000000000b2")
	created  = AccountCreated{AccountID: id, DisplayName: "Acme"}
)

type decider interface {
	Decide(State, time.Time) ([]domain.Event, error)
}

func fold(events []domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given []domain.Event
		when  decider
		then  []domain.Event
		err   error
		field string
	}{
		{name: "create", when: Create{AccountID: id, DisplayName: "Acme"}, then: []domain.Event{created}},
		{name: "create child", when: Create{AccountID: id, DisplayName: "Acme", ParentAccountID: parentID},
			then: []domain.Event{AccountCreated{AccountID: id, DisplayName: "Acme", ParentAccountID: parentID}}},
		{name: "create twice", given: []domain.Event{created}, when: Create{AccountID: id, DisplayName: "Acme"}, err: ErrExists},
		{name: "create without id", when: Create{DisplayName: "Acme"}, err: domain.ErrInvalid, field: "accountId"},
		{name: "create own parent", when: Create{AccountID: id, DisplayName: "Acme", ParentAccountID: id}, err: domain.ErrInvalid, field: "parentAccountId"},
		{name: "create without name", when: Create{AccountID: id}, err: domain.ErrInvalid, field: "displayName"},
		{name: "create control characters", when: Create{AccountID: id, DisplayName: "a\x00b"}, err: domain.ErrInvalid, field: "displayName"},
		{name: "update", given: []domain.Event{created}, when: Update{DisplayName: "Acme Ltd"},
			then: []domain.Event{AccountUpdated{AccountID: id, DisplayName: "Acme Ltd"}}},
		{name: "update unchanged", given: []domain.Event{created}, when: Update{DisplayName: "Acme"}},
		{name: "update missing", when: Update{DisplayName: "Acme"}, err: ErrNotFound},
		{name: "update blank", given: []domain.Event{created}, when: Update{DisplayName: ""}, err: domain.ErrInvalid, field: "displayName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.when.Decide(fold(tt.given), now)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				var de *domain.Error
				if tt.field != "" && (!errors.As(err, &de) || de.Field != tt.field) {
					t.Fatalf("error %v does not name field %q", err, tt.field)
				}
				if got != nil {
					t.Fatalf("events = %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events =\n%#v\nwant\n%#v", got, tt.then)
			}
		})
	}
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
