package projections

import (
	"strings"
)

// Limits of one merged insert: PostgreSQL takes at most 65535 parameters
// per statement.
const (
	maxMergedRows   = 512
	maxMergedParams = 30000
)

// heldWrite is a write held behind, in its `?` form.
type heldWrite struct {
	query string
	args  []any
}

// insertRows is an `INSERT INTO t (cols) VALUES (...), ... [ON CONFLICT
// ... DO NOTHING]`: such inserts of the same shape can become one
// statement of many rows.
type insertRows struct {
	table, head, tail string
	rows              []string // each "(?, ?, 0)"
	params            []int    // placeholders per row
}

// key is the statement without its rows: inserts of one key merge.
func (r insertRows) key() string { return r.head + "\x00" + r.tail }

// mergeWrites turns runs of same-shaped inserts into multi-row inserts: one
// statement for many rows costs PostgreSQL far less than as many
// statements. An insert joins the group of an earlier one only when no
// write between them names its table, so the writes it moves ahead of
// touch other tables and the result is the same as in the given order.
// Inserts that do not ignore conflicts keep their failure, since the
// merged statement fails as the first of them would.
func mergeWrites(writes []heldWrite) []heldWrite {
	type group struct {
		shape insertRows
		args  []any
	}
	// slots keeps the order: a write as given, or a group's place.
	type slot struct {
		write heldWrite
		group *group
	}
	slots := make([]slot, 0, len(writes))
	open := map[string]*group{}
	for _, w := range writes {
		shape, ok := parseInsert(w.query, len(w.args))
		key := ""
		if ok {
			key = shape.key()
		}
		for k, g := range open {
			if k != key && strings.Contains(w.query, g.shape.table) {
				delete(open, k)
			}
		}
		if !ok {
			slots = append(slots, slot{write: w})
			continue
		}
		if g := open[key]; g != nil {
			g.shape.rows = append(g.shape.rows, shape.rows...)
			g.shape.params = append(g.shape.params, shape.params...)
			g.args = append(g.args, w.args...)
			continue
		}
		g := &group{shape: shape, args: append([]any(nil), w.args...)}
		open[key] = g
		slots = append(slots, slot{group: g})
	}
	out := make([]heldWrite, 0, len(slots))
	for _, s := range slots {
		if s.group == nil {
			out = append(out, s.write)
			continue
		}
		out = appendChunks(out, s.group.shape, s.group.args)
	}
	return out
}

// appendChunks appends r's rows as inserts of power-of-two sizes, largest
// first: few distinct statement texts, so the driver's per-connection
// cache of prepared statements keeps them instead of preparing a new text
// on every flush.
func appendChunks(out []heldWrite, r insertRows, args []any) []heldWrite {
	for len(r.rows) > 0 {
		size := 1
		for size*2 <= len(r.rows) && size*2 <= maxMergedRows && paramsOf(r.params[:size*2]) <= maxMergedParams {
			size *= 2
		}
		n := paramsOf(r.params[:size])
		out = append(out, heldWrite{query: r.head + strings.Join(r.rows[:size], ", ") + r.tail, args: args[:n:n]})
		r.rows, r.params, args = r.rows[size:], r.params[size:], args[n:]
	}
	return out
}

func paramsOf(params []int) int {
	n := 0
	for _, p := range params {
		n += p
	}
	return n
}

// parseInsert recognises a mergeable insert of nargs arguments.
func parseInsert(q string, nargs int) (insertRows, bool) {
	const into = "INSERT INTO "
	if !strings.HasPrefix(q, into) {
		return insertRows{}, false
	}
	name := q[len(into):]
	if end := strings.IndexAny(name, " \t\n("); end > 0 {
		name = name[:end]
	} else {
		return insertRows{}, false
	}
	v := strings.Index(q, "VALUES")
	if v < 0 || strings.Contains(q[:v], "SELECT") {
		return insertRows{}, false
	}
	r := insertRows{table: name, head: q[:v] + "VALUES "}
	i := v + len("VALUES")
	total := 0
	for {
		for i < len(q) && isSpace(q[i]) {
			i++
		}
		if i >= len(q) || q[i] != '(' {
			return insertRows{}, false
		}
		end, params, ok := closeParen(q, i)
		if !ok {
			return insertRows{}, false
		}
		r.rows = append(r.rows, q[i:end+1])
		r.params = append(r.params, params)
		total += params
		i = end + 1
		for i < len(q) && isSpace(q[i]) {
			i++
		}
		if i < len(q) && q[i] == ',' {
			i++
			continue
		}
		break
	}
	tail := strings.Join(strings.Fields(q[i:]), " ")
	if tail != "" && !(strings.HasPrefix(tail, "ON CONFLICT") && strings.HasSuffix(tail, "DO NOTHING") && !strings.Contains(tail, "DO UPDATE")) {
		return insertRows{}, false
	}
	if total != nargs {
		return insertRows{}, false
	}
	if tail != "" {
		tail = " " + tail
	}
	r.tail = tail
	return r, true
}

// closeParen finds the parenthesis that closes the one at q[open],
// skipping string literals, and counts the placeholders between.
func closeParen(q string, open int) (end, params int, ok bool) {
	depth := 0
	for i := open; i < len(q); i++ {
		switch q[i] {
		case '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				return 0, 0, false
			}
			i += j + 1
		case '?':
			params++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i, params, true
			}
		}
	}
	return 0, 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
