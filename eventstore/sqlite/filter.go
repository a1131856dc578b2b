package sqlite

import (
	"strings"

	"github.com/accessd/accessd/eventstore"
)

// filterSQL renders f as a condition (starting with " AND ") and its
// arguments. Types are matched with IN; a stream prefix p with the byte
// range p <= stream < successor(p), which is exact under SQLite's BINARY
// collation and needs no LIKE escaping (LIKE is case-insensitive). The
// unary + keeps SQLite scanning in position order rather than through the
// stream index. An empty prefix matches every stream.
func filterSQL(f eventstore.Filter) (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	if len(f.EventTypes) > 0 {
		b.WriteString(" AND +type IN (")
		for i, t := range f.EventTypes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, t)
		}
		b.WriteString(")")
	}
	if len(f.StreamPrefixes) > 0 && !hasEmpty(f.StreamPrefixes) {
		b.WriteString(" AND (")
		for i, p := range f.StreamPrefixes {
			if i > 0 {
				b.WriteString(" OR ")
			}
			if next, ok := successor(p); ok {
				b.WriteString("(+stream >= ? AND +stream < ?)")
				args = append(args, p, next)
			} else {
				b.WriteString("+stream >= ?")
				args = append(args, p)
			}
		}
		b.WriteString(")")
	}
	return b.String(), args
}

// filtered reports whether f narrows anything.
func filtered(f eventstore.Filter) bool {
	return len(f.EventTypes) > 0 || len(f.StreamPrefixes) > 0
}

func hasEmpty(ss []string) bool {
	for _, s := range ss {
		if s == "" {
			return true
		}
	}
	return false
}

// successor is the smallest string greater than every string with prefix
// p, byte-wise; ok is false when there is none (p is all 0xff bytes).
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
