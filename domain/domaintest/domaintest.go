// Package domaintest runs the given/when/then tables that test the
// aggregates: fold the given events, decide the command, compare the
// outcome. It is test support, imported only by _test.go files.
package domaintest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/accessd/accessd/domain"
)

// Decider is a command of an aggregate whose state is S.
type Decider[S any] interface {
	Decide(S, time.Time) ([]domain.Event, error)
}

// Case is one row of a table: after the Given events, the When command
// raises the Then events, or fails with an error matching Err (errors.Is)
// that, when Field is set, is a *domain.Error naming that field.
type Case[S any] struct {
	Name  string
	Given []domain.Event
	When  Decider[S]
	Then  []domain.Event
	Err   error
	Field string
}

// Run runs each case as a parallel subtest: it folds Given with evolve from
// the zero S and decides When at now. A failing case must raise no events.
func Run[S any](t *testing.T, evolve func(S, domain.Event) S, now time.Time, cases []Case[S]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			var s S
			for _, e := range tc.Given {
				s = evolve(s, e)
			}
			got, err := tc.When.Decide(s, now)
			if tc.Err != nil {
				if !errors.Is(err, tc.Err) {
					t.Fatalf("error = %v, want %v", err, tc.Err)
				}
				var de *domain.Error
				if tc.Field != "" && (!errors.As(err, &de) || de.Field != tc.Field) {
					t.Fatalf("error %v does not name field %q", err, tc.Field)
				}
				if got != nil {
					t.Fatalf("events = %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if !reflect.DeepEqual(got, tc.Then) {
				t.Fatalf("events =\n%#v\nwant\n%#v", got, tc.Then)
			}
		})
	}
}
