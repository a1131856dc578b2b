package projections_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/accessd/accessd/projections"
)

// TestOpenSQLiteReadOnly reads what a writable open stored, refuses
// writes, and creates no file.
func TestOpenSQLiteReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "readmodels.db")
	db, err := projections.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE things (name TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO things VALUES ('a'), ('b')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	ro, err := projections.OpenSQLiteReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n int
	if err := ro.QueryRowContext(ctx, `SELECT count(*) FROM things`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	if _, err := ro.ExecContext(ctx, `INSERT INTO things VALUES ('c')`); err == nil {
		t.Fatal("a read-only database took a write")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files: %v; want the database alone", entries)
	}

	if _, err := projections.OpenSQLiteReadOnly(ctx, filepath.Join(dir, "missing.db")); err == nil {
		t.Fatal("opened a missing file")
	}
}
