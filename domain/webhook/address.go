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

// localNAT64Prefix is the local-use NAT64 prefix (RFC 8215): not
// globally reachable (IANA), and the operator's translation prefix inside
// it (a /48, /56, /64 or /96, each placing the IPv4 address elsewhere,
// RFC 6052) cannot be told from an address, nor whether a translator
// heeds the bits RFC 6052 says should be zero: reading it one way or
// another either lets an internal IPv4 address through or refuses public
// ones. So the whole prefix is refused, as a private network is.
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

// embeddedIPv4 returns the IPv4 address an IPv6 address reaches through
// a translation or tunnel, and the mechanism's name.
func embeddedIPv4(ip netip.Addr) (netip.Addr, string, bool) {
	if !ip.Is6() {
		return netip.Addr{}, "", false
	}
	b := ip.As16()
	last32 := netip.AddrFrom4([4]byte(b[12:]))
	switch {
	case nat64Prefix.Contains(ip):
		return last32, "NAT64", true
	case ipv4Translated.Contains(ip):
		return last32, "SIIT", true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	case ipv4Compatible.Contains(ip) && !ip.IsUnspecified() && !ip.IsLoopback():
		return last32, "an IPv4-compatible address", true
	}
	return netip.Addr{}, "", false
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
	if localNAT64Prefix.Contains(ip) {
		return "local-use NAT64 (64:ff9b:1::/48, not globally reachable)"
	}
	if v4, via, ok := embeddedIPv4(ip); ok {
		if reason := refusedRange(v4); reason != "" {
			return reason + " (through " + via + ")"
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
