package domain

import "strconv"

// AllDigits reports whether s is one or more ASCII digits: no sign, no
// space. strconv alone takes a sign (+2, -0).
func AllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseDecimal reads raw as a whole number from min to max in plain
// digits, as a query parameter gives a count: a sign or a leading zero
// (+2, 02) is refused (ok false), not read as 2, since no client means
// it so.
func ParseDecimal(raw string, min, max int) (n int, ok bool) {
	if !AllDigits(raw) || len(raw) > 1 && raw[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < min || n > max {
		return 0, false
	}
	return n, true
}
