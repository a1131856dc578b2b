package webhook

import (
	"net/netip"
	"strings"
)

// sharedAddressSpace is 100.64.0.0/10, the carrier-grade NAT range (RFC
// 6598): not public, and netip has no method for it.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// thisNetwork is 0.0.0.0/8 (RFC 1122): Linux connects 0.0.0.0 to the local
// host, so the whole block is treated as unspecified.
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// nat64Prefix is the well-known NAT64 prefix (RFC 6052): its addresses
// reach the IPv4 address in their last 32 bits through a NAT64 gateway.
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// localNAT64Prefix is the local-use NAT64 prefix (RFC 8215). An operator
// translates through a /48, /56, /64 or /96 inside it, each with its own
// layout (nat64Layouts): an address says nothing of which.
var localNAT64Prefix = netip.MustParsePrefix("64:ff9b:1::/48")

// ipv4Translated is ::ffff:0:a.b.c.d (RFC 7915, SIIT), unlike the mapped
// ::ffff:a.b.c.d: a translator delivers it to a.b.c.d.
var ipv4Translated = netip.MustParsePrefix("::ffff:0:0:0/96")

// ipv4Compatible is ::/96 (RFC 4291, deprecated): ::a.b.c.d is a.b.c.d
// on stacks that still route it; :: and ::1 are left to their own rules.
var ipv4Compatible = netip.MustParsePrefix("::/96")

// sixToFour is 2002::/16 (RFC 3056): a 6to4 relay delivers to the IPv4
// address in bits 16 to 47.
var sixToFour = netip.MustParsePrefix("2002::/16")

// nat64Layout is where RFC 6052 (§2.2) puts the IPv4 address after a
// prefix of one length: the bytes holding it, in order, and the first
// byte of the suffix after it. Byte 8 (bits 64 to 71, "u") is zero, and
// so, by the RFC, is the suffix.
type nat64Layout struct {
	ipv4        [4]int
	suffixStart int
}

// nat64Layouts are the layouts of the prefix lengths that fit inside
// localNAT64Prefix: /48, /56, /64 and /96.
var nat64Layouts = []nat64Layout{
	{[4]int{6, 7, 9, 10}, 11},
	{[4]int{7, 9, 10, 11}, 12},
	{[4]int{9, 10, 11, 12}, 13},
	{[4]int{12, 13, 14, 15}, 16},
}

// localNAT64Readings are the IPv4 addresses a local-use NAT64 address
// can reach: one per layout its zero bits fit (the /96 always does). 127.0.0.1
// after a /64 reads as 1.0.0.0 after a /96, so reading one layout only
// would let it through. Last 32 bits of zero after a shorter layout are
// its suffix, not 0.0.0.0 after a /96 (which no translator delivers):
// else every public address behind a /48 to /64 would be refused.
func localNAT64Readings(b [16]byte) []netip.Addr {
	var out []netip.Addr
	for _, l := range nat64Layouts {
		if l.suffixStart < 16 && (b[8] != 0 || !allZero(b[l.suffixStart:])) {
			continue
		}
		if l.suffixStart == 16 && len(out) > 0 && allZero(b[12:]) {
			continue
		}
		out = append(out, netip.AddrFrom4([4]byte{b[l.ipv4[0]], b[l.ipv4[1]], b[l.ipv4[2]], b[l.ipv4[3]]}))
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// embeddedIPv4 returns the IPv4 addresses an IPv6 address may reach
// through a translation or tunnel (more than one when its layout is the
// operator's choice), and the mechanism's name.
func embeddedIPv4(ip netip.Addr) ([]netip.Addr, string, bool) {
	if !ip.Is6() {
		return nil, "", false
	}
	b := ip.As16()
	last32 := []netip.Addr{netip.AddrFrom4([4]byte(b[12:]))}
	switch {
	case nat64Prefix.Contains(ip):
		return last32, "NAT64", true
	case localNAT64Prefix.Contains(ip):
		return localNAT64Readings(b), "local-use NAT64", true
	case ipv4Translated.Contains(ip):
		return last32, "SIIT", true
	case sixToFour.Contains(ip):
		return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}, "6to4", true
	case ipv4Compatible.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback():
		return last32, "an IPv4-compatible address", true
	}
	return nil, "", false
}

// AddressError says why a webhook may not be delivered to an address.
type AddressError struct {
	Addr netip.Addr
	// Reason names the range: "loopback", "private", "link-local", ...
	Reason string
}

func (e *AddressError) Error() string {
	return "address not allowed: " + e.Addr.String() + " is " + e.Reason
}

// CheckAddress refuses the addresses a webhook must not reach unless the
// operator allows private targets: loopback, private, link-local,
// unspecified, multicast, broadcast and carrier-grade NAT, whether IPv4,
// IPv6 or IPv4 written as IPv6. A webhook URL is the account's to choose;
// without this an account could make the server POST to its own network
// (databases, cloud metadata at 169.254.169.254, admin ports).
func CheckAddress(addr netip.Addr) error {
	if reason := refusedRange(addr); reason != "" {
		return &AddressError{Addr: addr, Reason: reason}
	}
	return nil
}

// refusedRange names the refused range addr is in, "" when it is in none.
func refusedRange(addr netip.Addr) string {
	if !addr.IsValid() {
		return "not a valid address"
	}
	// ::ffff:127.0.0.1 is 127.0.0.1 on the wire; the zone of fe80::1%eth0
	// changes nothing about its range.
	ip := addr.Unmap().WithZone("")
	if v4s, via, ok := embeddedIPv4(ip); ok {
		for _, v4 := range v4s {
			if reason := refusedRange(v4); reason != "" {
				return reason + " (through " + via + ")"
			}
		}
		return ""
	}
	switch {
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	case sharedAddressSpace.Contains(ip):
		return "shared address space (carrier-grade NAT)"
	}
	return ""
}

// checkHost refuses a URL host that is an IP literal in a refused range.
// Names are not resolved: what they resolve to can change after
// registration, so delivery checks the address it actually connects to.
func checkHost(host string) error {
	// A trailing dot is the same host to a resolver: "127.0.0.1." too.
	if addr, err := netip.ParseAddr(strings.TrimSuffix(host, ".")); err == nil {
		return CheckAddress(addr)
	}
	return nil
}

// isLegacyIPv4 reports whether host is not an IP address in standard form
// but its last label is a number (decimal, octal or 0x hex): it is then
// no DNS name but IPv4 in a legacy form ("127.1", "2130706433",
// "0x7f.0.0.1") that some resolvers and clients still accept. Refusing it
// keeps a literal from passing as a name.
func isLegacyIPv4(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if len(last) > 1 && (last[:2] == "0x" || last[:2] == "0X") {
		return strings.Trim(last[2:], "0123456789abcdefABCDEF") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}
