package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/accessd/accessd/cmd/internal/backends"
	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/seals"
)

// serverKeyFile is the seed of the server's Ed25519 key, as cmd/accessd
// names it.
const serverKeyFile = "server-signing.key"

// errNotVerified is a log that does not check out: exit 1.
var errNotVerified = errors.New("the event log does not verify")

func verifyCommand() command {
	return command{
		name:     "verify",
		synopsis: "[--data-dir DIR] [--eventstore URL] [--json] [--server-key BASE64] [--require-chain]",
		summary:  "check every stream's hash chain and every seal of the event log",
		flags: func(fs *flag.FlagSet, e env) action {
			dir := dataDirFlag(fs, e)
			eventStore := eventStoreFlag(fs, e)
			asJSON := fs.Bool("json", false, "print the report as JSON")
			serverKey := fs.String("server-key", "", "the server's Ed25519 public `key`, standard base64 (default: from the data directory's server-signing.key)")
			requireChain := fs.Bool("require-chain", false, "fail on a stream whose events carry no hash instead of listing it")
			every := fs.Int("progress-every", 100000, "print a progress line to stderr every `N` events (0: never)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments: %v", args)
				}
				if *every < 0 {
					return usagef("--progress-every: want 0 (never) or a positive number, not %d", *every)
				}
				pub, err := verifyKey(*dir, *serverKey)
				if err != nil {
					return err
				}
				return runVerify(ctx, e, *dir, *eventStore, seals.VerifyOptions{PublicKey: pub, RequireChain: *requireChain, ProgressEvery: *every}, *asJSON)
			}
		},
	}
}

// verifyKey is the public key seals are checked with: --server-key, else
// the one whose seed is in the data directory, else none.
func verifyKey(dir, flagValue string) (ed25519.PublicKey, error) {
	if flagValue != "" {
		b, err := base64.StdEncoding.DecodeString(flagValue)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, usagef("--server-key: not a standard base64 Ed25519 public key")
		}
		return ed25519.PublicKey(b), nil
	}
	seed, err := readSecret(filepath.Join(dir, serverKeyFile), ed25519.SeedSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), nil
}

// runVerify checks the log --eventstore names, or with none the data
// directory's. It opens the log read-only: the evidence it checks is left
// byte for byte as it was, and a server's write lock does not stop it.
func runVerify(ctx context.Context, e env, dir, eventStore string, opts seals.VerifyOptions, asJSON bool) error {
	d, err := openEventStoreReadOnlyAt(ctx, dir, eventStore)
	if err != nil {
		return err
	}
	defer d.Close()
	// SQLite and PostgreSQL number $all without gaps (each append takes
	// max(position)+1 under the writer's lock, with no sequence); KurrentDB's
	// positions are byte offsets, where a gap means nothing.
	opts.DensePositions = !onKurrent(eventStore)
	opts.Registry = commands.NewRegistry()
	seals.Register(opts.Registry)
	opts.Progress = func(events, position, head uint64) {
		fmt.Fprintf(e.stderr, "verify: %d events, position %d of %d\n", events, position, head)
	}
	// The data directory's own log: the positions its other files
	// recorded from it, read before the log, must not be past its end.
	var recorded map[string]uint64
	if eventStore == "" {
		if recorded, err = recordedPositions(ctx, dir); err != nil {
			fmt.Fprintf(e.stderr, "verify: not comparing the log's end with the read models' checkpoints: %v\n", err)
		}
	}
	rep, err := seals.Verify(ctx, d.store, opts)
	if err != nil {
		return err
	}
	if rep.Failure == nil {
		rep.Failure = truncationFailure(recorded, rep.LastPosition)
	}
	if asJSON {
		out := struct {
			OK             bool `json:"ok"`
			DensePositions bool `json:"densePositions"`
			seals.Report
		}{rep.Failure == nil, opts.DensePositions, rep}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printVerify(e.stdout, rep, opts.DensePositions)
	}
	if rep.Failure != nil {
		return fmt.Errorf("%w: %s", errNotVerified, rep.Failure)
	}
	return nil
}

// onKurrent reports whether an --eventstore setting (one that opened)
// names KurrentDB or EventStoreDB.
func onKurrent(eventStore string) bool {
	if eventStore == "" {
		return false
	}
	kind, _ := backends.EventStoreKind(eventStore)
	return kind == backends.Kurrent
}

func printVerify(w io.Writer, rep seals.Report, densePositions bool) {
	if f := rep.Failure; f != nil {
		if f.EventID == "" { // a removed event: only its position is known
			fmt.Fprintf(w, "FAILED after %d good events\n  stream:   %s\n  position: %d\n  reason:   %s\n",
				rep.Events, f.Stream, f.Position, f.Reason)
		} else {
			fmt.Fprintf(w, "FAILED after %d good events\n  stream:   %s\n  revision: %d\n  position: %d\n  event:    %s %s\n  reason:   %s\n",
				rep.Events, f.Stream, f.Revision, f.Position, f.Type, f.EventID, f.Reason)
		}
		if f.Expected != "" || f.Found != "" {
			fmt.Fprintf(w, "  expected: %s\n  found:    %s\n", f.Expected, f.Found)
		}
		return
	}
	fmt.Fprintf(w, "OK: %d streams, %d events, %d seals checked; last position %d, sealed up to %d\n",
		rep.Streams, rep.Events, rep.Seals, rep.LastPosition, rep.LastSealed)
	if !densePositions {
		fmt.Fprintln(w, "positions not checked for gaps: KurrentDB's are byte offsets, so an event removed from the end of its stream shows only where a seal covers it")
	}
	switch {
	case rep.Unsealed == 0:
	case densePositions:
		fmt.Fprintf(w, "%d events after position %d are not sealed yet: their chains and positions hold, but the log's final events removed would not show\n", rep.Unsealed, rep.LastSealed)
	default:
		fmt.Fprintf(w, "%d events after position %d are not sealed yet: their chains hold, but the last event of any of their streams removed would not show\n", rep.Unsealed, rep.LastSealed)
	}
	if n := len(rep.Unchained); n > 0 {
		fmt.Fprintf(w, "%d unchained streams (events without a hash):\n", n)
		for i, s := range rep.Unchained {
			if i == 20 {
				fmt.Fprintf(w, "  ... and %d more\n", n-20)
				break
			}
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
}
