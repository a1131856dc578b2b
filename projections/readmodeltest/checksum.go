package readmodeltest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/accessd/accessd/projections"
)

// Checksums hashes every table of ps: its row count, its rows, ordered by
// every column, so two tables holding the same rows hash the same whatever
// order they were written in, and its indexes (name, uniqueness and
// columns), so a table rebuilt without an index its readers need differs.
func Checksums(ctx context.Context, db *projections.DB, ps []projections.Projection) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range ps {
		for _, table := range p.Tables() {
			sum, err := tableChecksum(ctx, db, table)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", p.Name(), table, err)
			}
			out[table] = sum
		}
	}
	return out, nil
}

func tableChecksum(ctx context.Context, db *projections.DB, table string) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return "", err
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return "", err
	}
	order := make([]string, len(cols))
	for i := range cols {
		order[i] = fmt.Sprint(i + 1)
	}
	rows, err = db.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b) // drivers differ in returning text as bytes
			}
			fmt.Fprintf(h, "%v\x00", v)
		}
		h.Write([]byte{'\n'})
		n++
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	indexes, err := tableIndexes(ctx, db, table)
	if err != nil {
		return "", fmt.Errorf("indexes: %w", err)
	}
	return fmt.Sprintf("%d rows, %s; indexes %s", n, hex.EncodeToString(h.Sum(nil)), indexes), nil
}

// tableIndexes describes table's indexes in a form that does not depend on
// how they were created: on SQLite each index's name, uniqueness, whether
// it is partial, and its key columns with their order; on PostgreSQL the
// catalog's own definition, without the schema.
func tableIndexes(ctx context.Context, db *projections.DB, table string) (string, error) {
	q := `SELECT il.name || ':' || il."unique" || il.partial || ':' || ii.name || ii."desc"
		FROM pragma_index_list(?) il, pragma_index_xinfo(il.name) ii
		WHERE ii.key = 1 ORDER BY il.name, ii.seqno`
	if db.Dialect == projections.Postgres {
		// The definition names the schema; two read models in different
		// schemas are the same when all else is.
		q = `SELECT indexname || ':' || replace(indexdef, current_schema() || '.', '') FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname`
	}
	rows, err := db.QueryContext(ctx, q, table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return strings.Join(parts, " "), nil
}
