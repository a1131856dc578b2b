package queries

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/auditindex"
	"github.com/accessd/accessd/projections/entities"
)

// WhatIfLock is what hypothetical events would change on one lock: the
// key-map entries it would gain and lose. A changed schedule is one entry
// lost and one gained.
type WhatIfLock struct {
	LockID string       `json:"lockId"`
	Gained []AuditEntry `json:"gained"`
	Lost   []AuditEntry `json:"lost"`
}

// WhatIfUser lists the locks a user would be able to open and no longer
// able to open: a lock where only some of the user's entries change (a
// second grant, another schedule) is not listed here, only under locks.
type WhatIfUser struct {
	UserID      string   `json:"userId"`
	GainedLocks []string `json:"gainedLocks"`
	LostLocks   []string `json:"lostLocks"`
}

// WhatIf is the difference hypothetical events would make, at an instant,
// to every lock they can reach. Locks and users without a change are left
// out.
type WhatIf struct {
	At    time.Time    `json:"at"`
	Locks []WhatIfLock `json:"locks"`
	Users []WhatIfUser `json:"users"`
}

// WhatIf computes who would gain and who would lose access if the
// hypothetical events (in order, as if appended after everything recorded
// up to at, at positions after the real ones they were decided on: real
// events from the first of those positions on are left out) were in the
// log. The locks considered are those installed now
// in the account's properties the events name, and the locks they name.
// Nothing is written: the real events are folded as for LockAccessAt, once
// without and once followed by the hypothetical ones.
func (a *Audit) WhatIf(ctx context.Context, accountID uuid.UUID, hypothetical []*eventstore.Envelope, at time.Time) (WhatIf, error) {
	out := WhatIf{At: at.UTC(), Locks: []WhatIfLock{}, Users: []WhatIfUser{}}
	locks, err := a.whatIfLocks(ctx, accountID, hypothetical)
	if err != nil {
		return out, err
	}
	if len(locks) == 0 {
		return out, nil
	}
	// One fold serves every lock: facts about more entities than a lock
	// needs do not change its answer.
	f := a.newFold(at)
	f.until = hypothetical[0].Position
	for _, env := range hypothetical {
		f.until = min(f.until, env.Position)
	}
	if err := f.foldLocks(ctx, locks); err != nil {
		return out, err
	}
	before := map[uuid.UUID][]AuditEntry{}
	for _, l := range locks {
		before[l] = f.entries(l, at)
	}
	f.after = hypothetical
	f.refold()
	if err := f.foldLocks(ctx, locks); err != nil {
		return out, err
	}
	gained, lost := map[string][]string{}, map[string][]string{}
	for _, l := range locks {
		after := f.entries(l, at)
		d := WhatIfLock{LockID: l.String(), Gained: entriesMinus(after, before[l]), Lost: entriesMinus(before[l], after)}
		if len(d.Gained) > 0 || len(d.Lost) > 0 {
			out.Locks = append(out.Locks, d)
		}
		had, has := usersOf(before[l]), usersOf(after)
		for u := range has {
			if !had[u] {
				gained[u] = append(gained[u], l.String())
			}
		}
		for u := range had {
			if !has[u] {
				lost[u] = append(lost[u], l.String())
			}
		}
	}
	users := map[string]bool{}
	for u := range gained {
		users[u] = true
	}
	for u := range lost {
		users[u] = true
	}
	for u := range users {
		wu := WhatIfUser{UserID: u, GainedLocks: orEmpty(gained[u]), LostLocks: orEmpty(lost[u])}
		slices.Sort(wu.GainedLocks)
		slices.Sort(wu.LostLocks)
		out.Users = append(out.Users, wu)
	}
	slices.SortFunc(out.Users, func(x, y WhatIfUser) int { return cmp.Compare(x.UserID, y.UserID) })
	return out, nil
}

// whatIfLocks are the locks hypothetical events can reach, in id order:
// those named by them, and those installed now in the properties they
// name (an access change in a property reaches only its own locks).
func (a *Audit) whatIfLocks(ctx context.Context, accountID uuid.UUID, hypothetical []*eventstore.Envelope) ([]uuid.UUID, error) {
	locks := map[uuid.UUID]bool{}
	properties := map[uuid.UUID]bool{}
	for _, env := range hypothetical {
		ids := auditindex.IDs(env.Raw)
		if id, ok := ids["lockId"]; ok {
			locks[id] = true
		}
		if id, ok := ids["propertyId"]; ok {
			properties[id] = true
		}
	}
	var args []any
	for p := range properties {
		args = append(args, p.String())
	}
	for chunk := range slices.Chunk(args, 200) {
		q := `SELECT id FROM ` + entities.Table + ` WHERE kind = ? AND account_id = ? AND state <> ? AND property_id IN (?` +
			strings.Repeat(",?", len(chunk)-1) + `)`
		rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(q),
			append([]any{entities.KindLock, accountID.String(), entities.StateDeleted}, chunk...)...)
		if err != nil {
			return nil, fmt.Errorf("what-if locks: %w", err)
		}
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				rows.Close()
				return nil, fmt.Errorf("what-if locks: %w", err)
			}
			if id, err := uuid.Parse(raw); err == nil {
				locks[id] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("what-if locks: %w", err)
		}
	}
	out := make([]uuid.UUID, 0, len(locks))
	for l := range locks {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y uuid.UUID) int { return cmp.Compare(x.String(), y.String()) })
	return out, nil
}

// foldLocks folds everything the locks' key maps depend on.
func (f *auditFold) foldLocks(ctx context.Context, locks []uuid.UUID) error {
	for range auditMaxDepth + 8 {
		var ids []uuid.UUID
		for _, l := range locks {
			ids = append(ids, f.facts.needs(l)...)
		}
		more, err := f.grow(ctx, ids)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// entries is the lock's key map from the facts, as audit entries.
func (f *auditFold) entries(lockID uuid.UUID, at time.Time) []AuditEntry {
	ex := f.facts.explain(lockID)
	out := make([]AuditEntry, 0, len(ex))
	for _, e := range ex {
		out = append(out, f.facts.auditEntry(e, at))
	}
	return out
}

// entryKey identifies an entry across two folds: credential, grant and
// schedule (openNow follows from the schedule).
func entryKey(e AuditEntry) string {
	e.OpenNow = false
	b, _ := json.Marshal(e)
	return string(b)
}

// entriesMinus is the entries of a that b does not hold.
func entriesMinus(a, b []AuditEntry) []AuditEntry {
	in := make(map[string]bool, len(b))
	for _, e := range b {
		in[entryKey(e)] = true
	}
	out := []AuditEntry{}
	for _, e := range a {
		if !in[entryKey(e)] {
			out = append(out, e)
		}
	}
	return out
}

// usersOf are the users of the device entries; a code's entry has none.
func usersOf(es []AuditEntry) map[string]bool {
	out := make(map[string]bool, len(es))
	for _, e := range es {
		if e.UserID != "" {
			out[e.UserID] = true
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
