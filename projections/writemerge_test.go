package projections

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMergeWritesJoinsInsertsAcrossOtherTables(t *testing.T) {
	got := mergeWrites([]heldWrite{
		{`INSERT INTO a (x, y) VALUES (?, 0) ON CONFLICT (x) DO NOTHING`, []any{1}},
		{`INSERT INTO b (x) VALUES (?)`, []any{"b1"}},
		{`INSERT INTO a (x, y) VALUES (?, 0) ON CONFLICT (x) DO NOTHING`, []any{2}},
		{`INSERT INTO b (x) VALUES (?), (?)`, []any{"b2", "b3"}},
	})
	require.Equal(t, []heldWrite{
		{`INSERT INTO a (x, y) VALUES (?, 0), (?, 0) ON CONFLICT (x) DO NOTHING`, []any{1, 2}},
		{`INSERT INTO b (x) VALUES (?), (?)`, []any{"b1", "b2"}},
		{`INSERT INTO b (x) VALUES (?)`, []any{"b3"}},
	}, got)
}

func TestMergeWritesKeepsOrderAroundWritesToTheSameTable(t *testing.T) {
	in := []heldWrite{
		{`INSERT INTO a (x) VALUES (?)`, []any{1}},
		{`DELETE FROM a WHERE x = ?`, []any{1}},
		{`INSERT INTO a (x) VALUES (?)`, []any{1}},
		{`INSERT INTO c (x) SELECT x FROM a`, nil},
		{`INSERT INTO a (x) VALUES (?)`, []any{3}},
	}
	require.Equal(t, in, mergeWrites(in), "every insert into a is separated by a statement that reads or writes a")
}

func TestMergeWritesLeavesUpsertsAlone(t *testing.T) {
	in := []heldWrite{
		{`INSERT INTO a (x) VALUES (?) ON CONFLICT (x) DO UPDATE SET x = excluded.x`, []any{1}},
		{`INSERT INTO a (x) VALUES (?) ON CONFLICT (x) DO UPDATE SET x = excluded.x`, []any{1}},
		{`UPDATE a SET x = ? WHERE x = ?`, []any{2, 1}},
	}
	require.Equal(t, in, mergeWrites(in), "a merged upsert would fail on a key it meets twice")
}

func TestMergeWritesChunksInPowersOfTwo(t *testing.T) {
	var in []heldWrite
	for i := range maxMergedRows + 5 {
		in = append(in, heldWrite{`INSERT INTO a (x) VALUES (?)`, []any{i}})
	}
	got := mergeWrites(in)
	require.Len(t, got, 3, "512 + 4 + 1 rows")
	require.Len(t, got[0].args, maxMergedRows)
	require.Equal(t, []any{512, 513, 514, 515}, got[1].args)
	require.Equal(t, `INSERT INTO a (x) VALUES (?), (?), (?), (?)`, got[1].query)
	require.Equal(t, []any{516}, got[2].args)
}

func TestParseInsertSkipsLiteralsAndRefusesMismatchedArguments(t *testing.T) {
	r, ok := parseInsert(`INSERT INTO a (x, y) VALUES (?, 'a(?)')`, 1)
	require.True(t, ok)
	require.Equal(t, []string{`(?, 'a(?)')`}, r.rows)
	_, ok = parseInsert(`INSERT INTO a (x, y) VALUES (?, ?)`, 1)
	require.False(t, ok)
}

func TestTargetNamesTheWrittenTable(t *testing.T) {
	require.Equal(t, "a__rebuild", target("INSERT INTO a__rebuild (x) VALUES (?)"))
	require.Equal(t, "b", target("\n\tUPDATE b SET x = 1"))
	require.Equal(t, "c", target("DELETE FROM c WHERE x = ?"))
	require.Equal(t, "", target("WITH d AS (SELECT 1) INSERT INTO e SELECT * FROM d"), "unknown: every read waits for it")
}
