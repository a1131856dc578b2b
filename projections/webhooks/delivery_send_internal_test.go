package webhooks

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain/webhook"
)

// The dial-time check refuses IPv4 inside IPv6, and the local-use NAT64
// prefix whole, as registration does: a name may resolve to these
// addresses after its URL was accepted.
func TestDialRefusesInternalIPv4InsideIPv6(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{
		"[64:ff9b:1::7f00:1]:80", "[64:ff9b:1:a00:0:508:808:808]:80", "[64:ff9b:1::808:808]:80",
		"[::ffff:0:7f00:1]:80", "[::ffff:0:a9fe:a9fe]:80",
		"[64:ff9b::7f00:1]:80", "[2002:7f00:1::]:80",
	} {
		err := refuseInternalAddresses(t.Context(), "tcp6", addr, nil)
		var refused *webhook.AddressError
		require.True(t, errors.As(err, &refused), "%s: %v", addr, err)
	}
	require.NoError(t, refuseInternalAddresses(t.Context(), "tcp6", "[64:ff9b::808:808]:443", nil))
	require.NoError(t, refuseInternalAddresses(t.Context(), "tcp6", "[::ffff:0:808:808]:443", nil))
}
