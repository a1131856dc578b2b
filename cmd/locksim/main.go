// Command locksim is a lock and a phone in one program, for trying accessd
// end to end: as a lock it provisions itself, syncs its key map and access
// logs, and decides offline whether a presented credential opens it; as a
// phone it provisions a device, syncs its access map and signs
// credentials. Private keys stay in a state file (mode 0600) that only it
// reads; only public keys leave it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // schedules evaluate the same on machines without zoneinfo
)

const usage = `usage: locksim <lock|phone> <command> [flags]

  locksim lock provision --url URL --key KEY --state lock.json --name NAME
  locksim lock sync --state lock.json
  locksim lock open --state lock.json --credential cred.json [--at RFC3339]
  locksim lock code --state lock.json --code DIGITS [--at RFC3339]
  locksim lock status --state lock.json
  locksim phone provision --url URL --key KEY --user USER_ID --state phone.json
  locksim phone sync --state phone.json
  locksim phone credential --state phone.json --lock LOCK_ID [--at RFC3339] > cred.json
  locksim phone status --state phone.json

locksim <lock|phone> <command> -h lists a command's flags.
Exit status: 0 done, 1 failed, 2 bad usage.
`

// env is what a command may touch outside its state file.
type env struct {
	stdout, stderr io.Writer
	now            func() time.Time
	http           *http.Client
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	e := env{stdout: os.Stdout, stderr: os.Stderr, now: time.Now, http: &http.Client{Timeout: 30 * time.Second}}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs one command and returns the exit status: 0 done, 1 failed, 2
// bad usage. Errors go to stderr.
func run(ctx context.Context, e env, args []string) int {
	err := execute(ctx, e, args)
	var bad usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &bad):
		fmt.Fprintln(e.stderr, "locksim:", err)
		if bad.showUsage {
			fmt.Fprint(e.stderr, usage)
		}
		return 2
	default:
		fmt.Fprintln(e.stderr, "locksim:", err)
		return 1
	}
}

// commands maps "role command" to its function.
var commands = map[string]func(context.Context, env, []string) error{
	"lock provision":   lockProvision,
	"lock sync":        lockSync,
	"lock open":        lockOpen,
	"lock code":        lockCode,
	"lock status":      lockStatus,
	"phone provision":  phoneProvision,
	"phone sync":       phoneSync,
	"phone credential": phoneCredential,
	"phone status":     phoneStatus,
}

// execute dispatches args to a command.
func execute(ctx context.Context, e env, args []string) error {
	if len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(e.stdout, usage)
		return nil
	}
	if len(args) < 2 {
		return usageError{msg: "a role and a command are needed", showUsage: true}
	}
	cmd, ok := commands[args[0]+" "+args[1]]
	if !ok {
		return usageError{msg: fmt.Sprintf("unknown command %q", args[0]+" "+args[1]), showUsage: true}
	}
	return cmd(ctx, e, args[2:])
}

// usageError is bad usage: exit status 2.
type usageError struct {
	msg       string
	showUsage bool
}

func (u usageError) Error() string { return u.msg }

// flags is a command's flag set with its required flags.
type flags struct {
	*flag.FlagSet
	required []string
}

func newFlags(e env, name string) *flags {
	fs := flag.NewFlagSet("locksim "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return &flags{FlagSet: fs}
}

// need declares a required string flag.
func (f *flags) need(name, help string) *string {
	f.required = append(f.required, name)
	return f.String(name, "", help+" (required)")
}

// parse parses args; a bad flag, an argument left over or a required flag
// missing is a usageError.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{msg: err.Error()}
	}
	if f.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("%s: unexpected arguments: %s", f.Name(), strings.Join(f.Args(), " "))}
	}
	for _, name := range f.required {
		if f.Lookup(name).Value.String() == "" {
			return usageError{msg: fmt.Sprintf("%s: --%s is required", f.Name(), name)}
		}
	}
	return nil
}

// instantFlag parses an optional --at; empty is the clock's now.
func instantFlag(e env, name, value string) (time.Time, error) {
	if value == "" {
		return e.now(), nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, usageError{msg: fmt.Sprintf("--%s: %q is not an RFC 3339 date-time", name, value)}
	}
	return t, nil
}
