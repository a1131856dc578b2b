// Command accessctl is the operator's and auditor's command line. It works
// offline against the server's data directory, through the same event
// store, commands and checks as the server, and may run while the server is
// running on the same directory.
//
//	accessctl <group> <verb> [flags]   (accessctl keys create ...)
//	accessctl <command> [flags]        (accessctl verify ..., accessctl export ...)
//
// accessctl help lists the commands, accessctl <command> -h their flags.
//
// Exit status: 0 done, 1 the command failed, 2 the input was invalid.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	_ "time/tzdata" // schedules evaluate the same on machines without zoneinfo

	"github.com/accessd/accessd/domain"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is what a command may use of its process: the output streams and the
// environment. Tests pass buffers and a map.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand. name is its words: "keys create" for a verb of
// a group, a single word for a command of its own.
type command struct {
	name     string
	synopsis string
	summary  string
	// flags declares the command's flags on fs and returns what to run once
	// they are parsed, with the positional arguments left over.
	flags func(fs *flag.FlagSet, e env) action
}

// action runs a command whose flags are parsed.
type action func(ctx context.Context, args []string) error

// subcommands lists every subcommand, in the order usage shows them. New ones
// (projections, verify, replay, export, seed) are added here.
func subcommands() []command {
	return []command{
		keysCreateCommand(),
		verifyCommand(),
		projectionsListCommand(), projectionsStatusCommand(), projectionsRebuildCommand(),
		replayCommand(), seedCommand(), exportCommand(), webhooksReplayCommand(),
	}
}

// usageError is invalid input: the command exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run dispatches args to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		printUsage(e.stdout)
		return exitOK
	}
	cmd, rest, ok := find(subcommands(), args)
	if !ok {
		fmt.Fprintf(e.stderr, "accessctl: %s\n\n", unknown(subcommands(), args))
		printUsage(e.stderr)
		return exitUsage
	}
	return report(e.stderr, cmd, runCommand(ctx, cmd, e, rest))
}

// find returns the command whose words start args (the longest such), and
// the arguments after them.
func find(cmds []command, args []string) (command, []string, bool) {
	var best command
	n := 0
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(words) > n && len(words) <= len(args) && slices.Equal(words, args[:len(words)]) {
			best, n = c, len(words)
		}
	}
	return best, args[n:], n > 0
}

// unknown explains why args name no command: a group without a known verb,
// or an unknown word.
func unknown(cmds []command, args []string) string {
	var verbs []string
	for _, c := range cmds {
		if words := strings.Fields(c.name); len(words) > 1 && words[0] == args[0] {
			verbs = append(verbs, words[1])
		}
	}
	switch {
	case len(verbs) == 0:
		return fmt.Sprintf("unknown command %q", args[0])
	case len(args) == 1 || strings.HasPrefix(args[1], "-"):
		return fmt.Sprintf("%s: missing verb (one of: %s)", args[0], strings.Join(verbs, ", "))
	default:
		return fmt.Sprintf("%s: unknown verb %q (one of: %s)", args[0], args[1], strings.Join(verbs, ", "))
	}
}

// runCommand parses the command's flags and runs it. -h prints the
// command's help to stdout.
func runCommand(ctx context.Context, cmd command, e env, args []string) error {
	fs := flag.NewFlagSet("accessctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by report
	act := cmd.flags(fs, e)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(e.stdout, "usage: accessctl %s %s\n\n%s.\n\nflags:\n", cmd.name, cmd.synopsis, cmd.summary)
			fs.SetOutput(e.stdout)
			fs.PrintDefaults()
			return flag.ErrHelp
		}
		return usageError{err.Error()}
	}
	// As the server refuses it: a backend setting given empty is most
	// likely an unset variable (--eventstore "$ES"), and falling back to
	// the data directory's own files would rebuild, verify or export the
	// wrong data. An empty environment variable counts as unset.
	var empty error
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "eventstore" || f.Name == "readmodels") && f.Value.String() == "" && empty == nil {
			empty = usagef("--%s: empty; leave the flag out to use the data directory's SQLite file", f.Name)
		}
	})
	if empty != nil {
		return empty
	}
	return act(ctx, fs.Args())
}

// report prints err for people and maps it to the exit status: invalid
// input (ours, or a domain ErrInvalid the commands found) exits 2.
func report(w io.Writer, cmd command, err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue), errors.Is(err, domain.ErrInvalid):
		fmt.Fprintf(w, "accessctl %s: %v\nRun 'accessctl %s -h' for usage.\n", cmd.name, err, cmd.name)
		return exitUsage
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(w, "accessctl %s: interrupted\n", cmd.name)
		return exitFailed
	default:
		fmt.Fprintf(w, "accessctl %s: %v\n", cmd.name, err)
		return exitFailed
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "accessctl operates on an accessd data directory, offline or beside a running server.\n\nusage: accessctl <command> [flags]\n\ncommands:\n")
	for _, c := range subcommands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'accessctl <command> -h' for a command's flags.\n")
}

// dataDirFlag declares --data-dir, defaulting like the server's: to
// ACCESSD_DATA_DIR, else ./data.
func dataDirFlag(fs *flag.FlagSet, e env) *string {
	def := e.getenv("ACCESSD_DATA_DIR")
	if def == "" {
		def = "./data"
	}
	return fs.String("data-dir", def, "the server's data `directory` (ACCESSD_DATA_DIR)")
}
