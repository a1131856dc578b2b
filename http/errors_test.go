package httpapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/accessd/accessd/eventstore"
)

// An event the store refuses as too large was made from the request: a
// 413, not a 500.
func TestEventTooLargeIs413(t *testing.T) {
	err := fmt.Errorf("append to lock-1: %w", fmt.Errorf("event x of lock-1 is 9 bytes, limit 8: %w", eventstore.ErrEventTooLarge))
	if got := statusOf(err); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", got)
	}
}
