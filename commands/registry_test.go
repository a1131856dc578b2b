package commands_test

import (
	"os"
	"strings"
	"testing"

	"github.com/accessd/accessd/commands"
)

// TestREADMEListsEveryEventType: the README's event-type table is the
// reference integrators read; an event type missing from it fails here.
func TestREADMEListsEveryEventType(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range commands.NewRegistry().Types() {
		if !strings.Contains(string(readme), "| `"+name+"`") {
			t.Errorf("README.md does not list the event type %s", name)
		}
	}
}
