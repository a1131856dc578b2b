package httpapi

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// whatIfRef is how a what-if command names what an earlier command of the
// same what-if created, whose id is not known before it runs:
// {commands[N].id} is the id of the entity command N created, the stream
// of the first "...Created" event it appended (for createBooking, the new
// booking, whose slots it holds first).
var whatIfRef = regexp.MustCompile(`\{commands\[(\d+)\]\.id\}`)

// anyWhatIfRef is anything written like a reference: one that whatIfRef
// does not match ({commands[x].id}, {commands[0].userId}) is a mistake,
// which would otherwise pass through as literal text.
var anyWhatIfRef = regexp.MustCompile(`\{\s*commands\s*\[[^}]*\}`)

// checkWhatIfRefs refuses, before anything runs, a malformed reference, and
// a reference of command i to a command that does not run before it.
func checkWhatIfRefs(i int, c whatIfCommand) error {
	for _, text := range [][]byte{[]byte(c.Path), c.Body} {
		for _, m := range anyWhatIfRef.FindAll(text, -1) {
			if !whatIfRef.Match(m) || len(whatIfRef.Find(m)) != len(m) {
				return fmt.Errorf("%s is not a reference: write {commands[N].id}, N the index of an earlier command", m)
			}
		}
		for _, m := range whatIfRef.FindAllSubmatch(text, -1) {
			if n, err := strconv.Atoi(string(m[1])); err != nil || n >= i {
				return fmt.Errorf("%s must name an earlier command", m[0])
			}
		}
	}
	return nil
}

// placeholderRefs is c with every reference replaced by a well-formed id,
// for matching it to its route before the what-if runs.
func placeholderRefs(c whatIfCommand) whatIfCommand {
	placeholder := []byte(uuid.Nil.String())
	c.Path = whatIfRef.ReplaceAllString(c.Path, uuid.Nil.String())
	c.Body = whatIfRef.ReplaceAll(c.Body, placeholder)
	return c
}

// resolveWhatIfRefs is c with every reference replaced by the id it names,
// from the outcomes of the commands before it.
func resolveWhatIfRefs(c whatIfCommand, earlier []whatIfResult) (whatIfCommand, error) {
	var failed error
	replace := func(ref []byte) []byte {
		n, _ := strconv.Atoi(string(whatIfRef.FindSubmatch(ref)[1])) // checked by checkWhatIfRefs
		id, err := createdID(earlier[n])
		if err != nil && failed == nil {
			failed = fmt.Errorf("%s: %w", ref, err)
		}
		return []byte(id)
	}
	c.Path = string(whatIfRef.ReplaceAllFunc([]byte(c.Path), replace))
	c.Body = whatIfRef.ReplaceAllFunc(bytes.Clone(c.Body), replace)
	return c, failed
}

// createdID is the id of the entity a command created.
func createdID(res whatIfResult) (string, error) {
	for _, ev := range res.Events {
		if !strings.HasSuffix(ev.Type, "Created") {
			continue
		}
		// Streams are named <kind>-<uuid>.
		if cut := len(ev.Stream) - 37; cut > 0 && ev.Stream[cut] == '-' {
			if id, err := uuid.Parse(ev.Stream[cut+1:]); err == nil {
				return id.String(), nil
			}
		}
	}
	return "", fmt.Errorf("commands[%d] (%s) created nothing", res.Index, res.OperationID)
}
