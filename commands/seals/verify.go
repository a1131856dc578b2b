package seals

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/accessd/accessd/eventstore"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// PublicKey checks the seals' signatures. Without it, the first seal
	// fails the verification: its signature cannot be checked.
	PublicKey ed25519.PublicKey
	// Registry, when set, refuses a schema number the event's type does not
	// have (the one metadata field outside a legacy-form hash).
	Registry *eventstore.Registry
	// DensePositions says the store numbers $all 1, 2, 3, ... with no gaps,
	// so that a missing position is a removed event even where no chain or
	// seal would show it (the last event of a stream, after the last seal).
	// The SQLite and PostgreSQL stores do: each assigns max(position)+1
	// inside its write transaction, under its single writer's lock, with no
	// sequence, so a rolled-back transaction leaves no gap. KurrentDB's
	// positions are byte offsets: leave it false there.
	DensePositions bool
	// RequireChain fails a stream whose events carry no hash, instead of
	// listing it as unchained.
	RequireChain bool
	// Progress, if set, is called after every ProgressEvery events.
	Progress      func(events, position, head uint64)
	ProgressEvery int
}

// Report is what a verification found.
type Report struct {
	Streams      int    `json:"streams"`
	Events       uint64 `json:"events"`
	Seals        int    `json:"seals"`
	LastPosition uint64 `json:"lastPosition"`
	// LastSealed is the position the last seal covers; events after it are
	// protected by their chains and, with DensePositions, by the positions
	// that follow them: removing the log's final events goes unseen.
	LastSealed uint64 `json:"lastSealedPosition"`
	// Unsealed counts the events after LastSealed, seals aside.
	Unsealed uint64 `json:"unsealedEvents"`
	// Unchained lists the streams with events that carry no hash.
	Unchained []string `json:"unchainedStreams"`
	// Failure is the first event or seal that does not match; nil when the
	// log checks out.
	Failure *Failure `json:"failure,omitempty"`
}

// Failure names the first event that does not match and why.
type Failure struct {
	Stream   string `json:"stream"`
	Revision uint64 `json:"revision"`
	Position uint64 `json:"position"`
	EventID  string `json:"eventId"`
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	Expected string `json:"expected,omitempty"`
	Found    string `json:"found,omitempty"`
}

func (f *Failure) Error() string {
	s := fmt.Sprintf("%s@%d (position %d, %s %s): %s", f.Stream, f.Revision, f.Position, f.Type, f.EventID, f.Reason)
	if f.EventID == "" { // a removed event: only its position is known
		s = fmt.Sprintf("%s (position %d): %s", f.Stream, f.Position, f.Reason)
	}
	if f.Expected != "" || f.Found != "" {
		s += fmt.Sprintf(": expected %s, found %s", f.Expected, f.Found)
	}
	return s
}

type chainState struct {
	next      uint64
	hash      string
	chained   bool
	unchained bool
}

// hashForms is the log-wide state of the hash forms: a hash of one form is
// accepted only before the log's first hash of a newer form, and an event
// without a hash only before the log's first hashed event, since every
// build writes only its own form (all servers of a deployment must run the
// newer build before any of them appends).
type hashForms struct {
	firstHashed *eventstore.RecordedEvent
	newest      int
	newestSince *eventstore.RecordedEvent
}

// hashFormNames name the forms in failures.
var hashFormNames = map[int]string{
	eventstore.HashFormLegacy:  "legacy-form hash (schema number not hashed)",
	eventstore.HashFormV2:      "v2-form hash (request fingerprint not hashed)",
	eventstore.HashFormCurrent: "current-form hash",
}

type sealedHeads struct {
	root     string
	streams  uint64
	recorded string // RecordedDigest
}

// Verify reads $all once, in position order, up to the head it had when
// Verify started (a running server's later events are left to the next
// run), and checks every event: its revision follows the stream's previous
// one, its metadata is exactly what the server encodes, and its hash is
// ChainHash of the previous hash and the event as stored. It checks every seal against the stream heads the log
// holds up to the seal's position, and the seal's signature. It stops at
// the first mismatch (Report.Failure); an error is a failure to read.
func Verify(ctx context.Context, store eventstore.Store, opts VerifyOptions) (Report, error) {
	var rep Report
	// The log up to its head now, and every seal in it: a running server
	// appends and seals on while the walk goes, and a seal appended after
	// the seals were listed would be one whose position was never seen.
	head, err := store.HeadPosition(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify: %w", err)
	}
	sealPositions, err := sealedPositions(ctx, store)
	if err != nil {
		return rep, err
	}
	streams := map[string]*chainState{}
	forms := &hashForms{}
	heads := Heads{}
	var recorded RecordedDigest
	roots := map[uint64]sealedHeads{}
	next := 0
	var unsealed []uint64 // positions of events after the last seal's
	for pos := uint64(0); ; {
		recs, err := store.ReadAll(ctx, pos, readPage, eventstore.Filter{})
		if err != nil {
			return rep, fmt.Errorf("verify: read $all after %d: %w", pos, err)
		}
		for _, rec := range recs {
			if rec.Position > head {
				return finish(rep, streams, unsealed), nil
			}
			if opts.DensePositions && rec.Position != rep.LastPosition+1 {
				rep.Failure = missingPositions(rep.LastPosition+1, rec)
				return finish(rep, streams, unsealed), nil
			}
			for next < len(sealPositions) && sealPositions[next] < rec.Position {
				roots[sealPositions[next]] = sealedHeads{root: MerkleRoot(heads), streams: uint64(len(heads)), recorded: recorded.String()}
				next++
			}
			st := streams[rec.Stream]
			if st == nil {
				st = &chainState{}
				streams[rec.Stream] = st
			}
			if f := checkEvent(rec, st, forms, opts); f != nil {
				rep.Failure = f
				return finish(rep, streams, unsealed), nil
			}
			heads.Observe(rec.Stream, rec.Revision, st.hash)
			recorded.Observe(rec)
			if rec.Stream == Stream {
				if f := checkSeal(rec, roots, opts); f != nil {
					rep.Failure = f
					return finish(rep, streams, unsealed), nil
				}
				var s Sealed
				_ = json.Unmarshal(rec.Data, &s) // checkSeal read it
				rep.Seals++
				// An older seal copied in, or a twin sealer's, covers less:
				// it must not shrink what the report calls sealed.
				rep.LastSealed = max(rep.LastSealed, s.UpToPosition)
				unsealed = slices.DeleteFunc(unsealed, func(p uint64) bool { return p <= s.UpToPosition })
			} else {
				unsealed = append(unsealed, rec.Position)
			}
			rep.Events++
			rep.LastPosition = rec.Position
			if opts.Progress != nil && opts.ProgressEvery > 0 && rep.Events%uint64(opts.ProgressEvery) == 0 {
				opts.Progress(rep.Events, rec.Position, head)
			}
		}
		if len(recs) < readPage {
			return finish(rep, streams, unsealed), nil
		}
		pos = recs[len(recs)-1].Position
	}
}

func finish(rep Report, streams map[string]*chainState, unsealed []uint64) Report {
	rep.Streams = len(streams)
	rep.Unsealed = uint64(len(unsealed))
	rep.Unchained = []string{}
	for name, st := range streams {
		if st.unchained {
			rep.Unchained = append(rep.Unchained, name)
		}
	}
	slices.Sort(rep.Unchained)
	return rep
}

// sealedPositions lists the positions the seals cover, ascending. A seal
// that cannot be read here fails later, at its place in $all.
func sealedPositions(ctx context.Context, store eventstore.Store) ([]uint64, error) {
	var out []uint64
	for from := uint64(0); ; {
		recs, err := store.ReadStream(ctx, Stream, eventstore.ReadStreamOptions{From: from, Max: readPage})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("verify: read %s: %w", Stream, err)
		}
		for _, rec := range recs {
			var s Sealed
			if rec.Type == (Sealed{}).EventType() && json.Unmarshal(rec.Data, &s) == nil {
				out = append(out, s.UpToPosition)
			}
		}
		if len(recs) < readPage {
			break
		}
		from = recs[len(recs)-1].Revision + 1
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// missingPositions is the failure of a gap in $all's dense positions, from
// first up to the event found after it. The removed events are named by
// their positions: nothing left in the log says which streams they were in.
func missingPositions(first uint64, found eventstore.RecordedEvent) *Failure {
	last := found.Position - 1
	gap := fmt.Sprint("position ", first)
	if last > first {
		gap = fmt.Sprintf("positions %d to %d", first, last)
	}
	return &Failure{Stream: "$all", Position: first,
		Reason:   gap + " missing from $all, whose positions have no gaps: the events there were removed",
		Expected: fmt.Sprint("position ", first),
		Found:    fmt.Sprintf("position %d (%s@%d, %s %s)", found.Position, found.Stream, found.Revision, found.Type, found.ID)}
}

func failure(rec eventstore.RecordedEvent, reason, expected, found string) *Failure {
	return &Failure{Stream: rec.Stream, Revision: rec.Revision, Position: rec.Position, EventID: rec.ID.String(),
		Type: rec.Type, Reason: reason, Expected: expected, Found: found}
}

// checkEvent checks one event against its stream's chain and moves the
// chain on.
func checkEvent(rec eventstore.RecordedEvent, st *chainState, forms *hashForms, opts VerifyOptions) *Failure {
	if rec.Revision != st.next {
		return failure(rec, "revisions are not contiguous (an event was removed or moved)", fmt.Sprint("revision ", st.next), fmt.Sprint("revision ", rec.Revision))
	}
	var meta eventstore.Metadata
	if len(rec.Metadata) > 0 {
		if err := json.Unmarshal(rec.Metadata, &meta); err != nil {
			return failure(rec, "metadata is not valid JSON: "+err.Error(), "", "")
		}
		// The hash covers the metadata's fields, not its bytes: the bytes
		// must be exactly what the server encodes from those fields, so no
		// byte can change without changing a field.
		canonical, err := json.Marshal(meta)
		if err != nil || !bytes.Equal(canonical, rec.Metadata) {
			return failure(rec, "metadata is not as the server wrote it", string(canonical), string(rec.Metadata))
		}
	}
	if meta.Hash == "" {
		if st.chained || opts.RequireChain {
			return failure(rec, "event carries no hash", "a hash", "none")
		}
		if first := forms.firstHashed; first != nil {
			return failure(rec, fmt.Sprintf("event carries no hash, after the log's first hashed event at position %d (%s@%d)", first.Position, first.Stream, first.Revision),
				"a hash", "none")
		}
		st.unchained = true
	} else {
		if forms.firstHashed == nil {
			forms.firstHashed = &rec
		}
		want, form := eventstore.ExpectedChainHash(st.hash, rec.ID, rec.Type, rec.Stream, rec.Revision, rec.Data, meta)
		if want != meta.Hash {
			return failure(rec, "hash does not match the event and the previous hash", want, meta.Hash)
		}
		switch {
		case form > forms.newest:
			forms.newest, forms.newestSince = form, &rec
		case form < forms.newest:
			first := forms.newestSince
			return failure(rec, fmt.Sprintf("%s after the log's first %s at position %d (%s@%d)", hashFormNames[form], hashFormNames[forms.newest], first.Position, first.Stream, first.Revision),
				"a "+hashFormNames[forms.newest], meta.Hash)
		}
		st.chained = true
	}
	// After the hash, which covers the schema number in its current form:
	// for a legacy-form hash this is the schema number's only check.
	if opts.Registry != nil && meta.Schema > 1 && opts.Registry.Known(rec.Type) {
		if _, err := opts.Registry.Decode(rec); err != nil {
			return failure(rec, "metadata schema is not one of the event type's: "+err.Error(), "", "")
		}
	}
	st.hash = meta.Hash
	st.next++
	return nil
}

// checkSeal checks a seal against the stream heads up to its position and
// its signature.
func checkSeal(rec eventstore.RecordedEvent, roots map[uint64]sealedHeads, opts VerifyOptions) *Failure {
	if rec.Type != (Sealed{}).EventType() {
		return failure(rec, "the seal stream holds an event that is not a seal", Sealed{}.EventType(), rec.Type)
	}
	var s Sealed
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return failure(rec, "seal is not readable: "+err.Error(), "", "")
	}
	if s.UpToPosition >= rec.Position {
		return failure(rec, "seal covers positions after its own", fmt.Sprint("< ", rec.Position), fmt.Sprint(s.UpToPosition))
	}
	want, ok := roots[s.UpToPosition]
	if !ok {
		return failure(rec, "seal's position was not seen in the seal stream", "", fmt.Sprint(s.UpToPosition))
	}
	if want.streams != s.Streams {
		return failure(rec, fmt.Sprintf("seal counts a different number of streams up to position %d than the log holds (a stream was removed or added)", s.UpToPosition),
			fmt.Sprint(s.Streams, " streams"), fmt.Sprint(want.streams, " streams"))
	}
	if want.root != s.MerkleRoot {
		return failure(rec, fmt.Sprintf("stream heads up to position %d do not match the seal's Merkle root (the last event of a stream was removed, or one was added or altered)", s.UpToPosition),
			s.MerkleRoot, want.root)
	}
	if s.RecordedDigest != "" && want.recorded != s.RecordedDigest {
		return failure(rec, fmt.Sprintf("the log's order or recording times up to position %d do not match the seal's recorded digest (an event's recorded time was changed, or events were moved)", s.UpToPosition),
			s.RecordedDigest, want.recorded)
	}
	if opts.PublicKey == nil {
		return failure(rec, "no server public key to check the seal's signature (pass --server-key)", "", "")
	}
	if err := s.CheckSignature(opts.PublicKey); err != nil {
		return failure(rec, err.Error(), "", "")
	}
	return nil
}
