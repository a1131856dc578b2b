package readmodeltest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/accessd/accessd/projections"
)

// Checksums hashes every table of ps: its row count and its rows, ordered
// by every column, so two tables holding the same rows hash the same
// whatever order they were written in.
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
	return fmt.Sprintf("%d rows, %s", n, hex.EncodeToString(h.Sum(nil))), nil
}
