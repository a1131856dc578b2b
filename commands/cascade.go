package commands

import (
	"fmt"

	"github.com/google/uuid"
)

// cascadePage bounds the ids one page of a deletion's cascade reads from
// a read model.
const cascadePage = 200

// eachListed runs step on every id a read model lists for a deletion's
// cascade, page by page: list returns, in id order, up to limit ids after
// the one given (uuid.Nil: from the first), and a page shorter than limit
// is the last. It returns the furthest append of the steps. A full page
// that does not move past the previous one is an error, not a loop that
// never ends.
func eachListed(list func(after uuid.UUID, limit int) ([]uuid.UUID, error), step func(id uuid.UUID) (Result, error)) (Result, error) {
	var out Result
	after := uuid.Nil
	for {
		ids, err := list(after, cascadePage)
		if err != nil {
			return Result{}, err
		}
		if len(ids) >= cascadePage && ids[len(ids)-1] == after {
			return Result{}, fmt.Errorf("commands: a page of %d ids after %s ends where it starts", len(ids), after)
		}
		for _, id := range ids {
			res, err := step(id)
			if err != nil {
				return Result{}, err
			}
			out = furthest(out, res)
			after = id
		}
		if len(ids) < cascadePage {
			return out, nil
		}
	}
}
