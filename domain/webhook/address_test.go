package webhook

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckAddress(t *testing.T) {
	t.Parallel()
	const localNAT64 = "local-use NAT64 (64:ff9b:1::/48, not globally reachable)"
	for _, tc := range []struct {
		addr   string
		reason string // "" when the address is allowed
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"10.0.0.5", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.254", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"100.64.0.1", "shared address space (carrier-grade NAT)"},
		{"100.127.255.254", "shared address space (carrier-grade NAT)"},
		// IPv4 written as IPv6 reaches the IPv4 address.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.5", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"64:ff9b::a9fe:a9fe", "link-local (through NAT64)"},
		{"::7f00:1", "loopback (through an IPv4-compatible address)"},
		{"::a01:203", "private (through an IPv4-compatible address)"},
		{"2002:7f00:1::", "loopback (through 6to4)"},
		{"2002:a9fe:a9fe::1", "link-local (through 6to4)"},
		// Local-use NAT64 (RFC 8215): the whole prefix, whatever IPv4
		// address any layout would read (RFC 6052's /48, /56, /64, /96;
		// a non-zero "u" byte or suffix); SIIT's IPv4-translated addresses.
		{"64:ff9b:1::7f00:1", localNAT64},
		{"64:ff9b:1::a00:1", localNAT64},
		{"64:ff9b:1:7f00:0:100::", localNAT64},      // /48: 127.0 | u | 0.1
		{"64:ff9b:1:0:7f:0:100:0", localNAT64},      // /64: u | 127.0.0.1
		{"64:ff9b:1:a00:0:508:808:808", localNAT64}, // 10.0.0.5 after a /48, suffix not zero
		{"64:ff9b:1:a9fe:a9:fe08:808:808", localNAT64},
		{"64:ff9b:1::808:808", localNAT64}, // public after a /96: still refused, the layout is unknown
		{"64:ff9b:1::", localNAT64},
		{"::ffff:0:7f00:1", "loopback (through SIIT)"},
		{"::ffff:0:a9fe:a9fe", "link-local (through SIIT)"},
		{"::ffff:0:a00:1", "private (through SIIT)"},
		// Public addresses, and the neighbours of refused ranges.
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"169.253.255.255", ""},
		{"2606:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
		{"::8.8.8.8", ""},
		{"::ffff:0:808:808", ""},
	} {
		err := CheckAddress(netip.MustParseAddr(tc.addr))
		if tc.reason == "" {
			require.NoError(t, err, tc.addr)
			continue
		}
		var refused *AddressError
		require.ErrorAs(t, err, &refused, tc.addr)
		require.Equal(t, tc.reason, refused.Reason, tc.addr)
		require.Equal(t, "address not allowed: "+tc.addr+" is "+tc.reason, err.Error())
	}
	require.Error(t, CheckAddress(netip.Addr{}), "the zero address is refused")
}

func TestIsLegacyIPv4(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.1": true, "2130706433": true, "0x7f.0.0.1": true, "0x7f000001": true, "0177.0.0.1": true, "1.2.3": true,
		"10.0.0.5.": false, "10.0.0.5": false, "hooks.example.com": false, "127.0.0.1": false, "::1": false, "localhost": false,
		"1e100.net": false, "example.0x": true, "x0.example": false,
	} {
		require.Equal(t, want, isLegacyIPv4(host), host)
	}
}
