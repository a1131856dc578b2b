package queries

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHistoryCSVKeepsEveryID: an id outside the fixed id columns (an
// area's parent, a webhook) is in the otherIds column, so a CSV export
// drops no id the JSON answer carries.
func TestHistoryCSVKeepsEveryID(t *testing.T) {
	it := HistoryItem{Position: 7, RecordedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), EventType: "AreaCreated",
		IDs: map[string]string{
			"areaId":       "11111111-1111-4111-8111-111111111111",
			"parentAreaId": "22222222-2222-4222-8222-222222222222",
			"webhookId":    "33333333-3333-4333-8333-333333333333",
		}}
	var out bytes.Buffer
	w, err := NewHistoryWriter(&out, HistoryCSV)
	require.NoError(t, err)
	require.NoError(t, w.Write(it))
	require.NoError(t, w.Write(HistoryItem{Position: 8, EventType: "LockInstalled", IDs: map[string]string{"lockId": "44444444-4444-4444-8444-444444444444"}}))
	require.NoError(t, w.Flush())

	rows, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	require.Contains(t, col, "otherIds")
	assert.Equal(t, len(rows[0])-1, col["otherIds"], "the last column, after the fixed ones")
	assert.Equal(t, it.IDs["areaId"], rows[1][col["areaId"]])
	assert.Equal(t, "parentAreaId=22222222-2222-4222-8222-222222222222 webhookId=33333333-3333-4333-8333-333333333333", rows[1][col["otherIds"]])
	assert.Empty(t, rows[2][col["otherIds"]])

	// The JSON form had them all along.
	var js bytes.Buffer
	jw, err := NewHistoryWriter(&js, HistoryJSON)
	require.NoError(t, err)
	require.NoError(t, jw.Write(it))
	var back HistoryItem
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, it.IDs, back.IDs)
}

// TestHistoryCSVLinesEndWithCRLF: a CSV history ends every record, the
// header's too, with CRLF, as RFC 4180 says (a line break inside a quoted
// cell stays as the cell has it), and reads back as written.
func TestHistoryCSVLinesEndWithCRLF(t *testing.T) {
	var out bytes.Buffer
	w, err := NewHistoryWriter(&out, HistoryCSV)
	require.NoError(t, err)
	items := []HistoryItem{
		{Position: 7, RecordedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), EventType: "LockInstalled",
			IDs: map[string]string{"lockId": "44444444-4444-4444-8444-444444444444"}},
		{Position: 8, RecordedAt: time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC), EventType: "LockAccessLogged",
			Result: "denied", DenyReason: "outside schedule\nsecond line", IDs: map[string]string{}},
	}
	for _, it := range items {
		require.NoError(t, w.Write(it))
	}
	require.NoError(t, w.Flush())

	text := out.String()
	require.True(t, strings.HasSuffix(text, "\r\n"), "the last record ends with CRLF: %q", text)
	assert.Equal(t, 3, strings.Count(text, "\r\n"), "one CRLF per record, the header's too: %q", text)
	assert.Contains(t, text, "\"outside schedule\nsecond line\"", "the cell's own line feed, as it is: %q", text)
	header, _, found := strings.Cut(text, "\r\n")
	require.True(t, found)
	assert.True(t, strings.HasPrefix(header, "position,recordedAt,"), header)
	assert.NotContains(t, header, "\n")

	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	assert.Equal(t, "LockInstalled", rows[1][col["eventType"]])
	assert.Equal(t, "outside schedule\nsecond line", rows[2][col["denyReason"]])
}

// TestHistoryCSVKeepsEveryByteOfACell: a carriage return or a line feed
// inside a cell (text a lock or a client chose) reaches the CSV as it is,
// inside the quoted cell (RFC 4180 allows both there), as the NDJSON keeps
// it: a lone CR is not dropped and a lone LF is not made a CRLF. Only the
// end of a record is CRLF. The check is on the bytes written: csv.Reader
// drops a CR before an LF, so reading back cannot tell "\r\n" from "\n".
func TestHistoryCSVKeepsEveryByteOfACell(t *testing.T) {
	cells := map[string]string{
		"lone CR":      "door\rjammed",
		"CRLF":         "door\r\njammed",
		"lone LF":      "door\njammed",
		"CR at end":    "door jammed\r",
		"LF CR":        "door\n\rjammed",
		"quote and CR": "say \"hi\"\r",
	}
	for name, reason := range cells {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			w, err := NewHistoryWriter(&out, HistoryCSV)
			require.NoError(t, err)
			require.NoError(t, w.Write(HistoryItem{Position: 8, RecordedAt: time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC),
				EventType: "LockAccessLogged", Result: "denied", DenyReason: reason, IDs: map[string]string{}}))
			require.NoError(t, w.Flush())

			text := out.String()
			header, row, found := strings.Cut(text, "\r\n")
			require.True(t, found, "%q", text)
			assert.True(t, strings.HasPrefix(header, "position,recordedAt,"), header)
			quoted := `"` + strings.ReplaceAll(reason, `"`, `""`) + `"`
			assert.Contains(t, row, ",denied,"+quoted+",", "the cell's bytes, quoted: %q", row)
			assert.True(t, strings.HasSuffix(row, "\r\n"), "the record ends with CRLF: %q", row)
			assert.Equal(t, 1, strings.Count(row, ",denied,"), row)

			// The NDJSON form of the same item keeps the same text.
			var js bytes.Buffer
			jw, err := NewHistoryWriter(&js, HistoryJSON)
			require.NoError(t, err)
			require.NoError(t, jw.Write(HistoryItem{DenyReason: reason}))
			var back HistoryItem
			require.NoError(t, json.Unmarshal(js.Bytes(), &back))
			assert.Equal(t, reason, back.DenyReason)
		})
	}
}

// TestHistoryCSVEscapesControlBytes: a control byte other than a tab, CR
// or LF (the 0x1F older builds wrote into their server-side steps'
// causation ids, a NUL in a lock's denyReason) reaches the CSV as its JSON
// escape, never raw; the NDJSON keeps the text as it is.
func TestHistoryCSVEscapesControlBytes(t *testing.T) {
	it := HistoryItem{Position: 9, RecordedAt: time.Date(2026, 3, 1, 12, 0, 2, 0, time.UTC), EventType: "BookingCheckedIn",
		CausationID: "idempotency-key:\x1finternal/acc/booking-scheduler/doorAccess/b", DenyReason: "door\x00jammed\x7f\tagain",
		IDs: map[string]string{}}
	var out bytes.Buffer
	w, err := NewHistoryWriter(&out, HistoryCSV)
	require.NoError(t, err)
	require.NoError(t, w.Write(it))
	require.NoError(t, w.Flush())

	text := out.String()
	for _, c := range []string{"\x1f", "\x00", "\x7f"} {
		assert.NotContains(t, text, c, "%q", text)
	}
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	assert.Equal(t, `idempotency-key:\u001finternal/acc/booking-scheduler/doorAccess/b`, rows[1][col["causationId"]])
	assert.Equal(t, "door\\u0000jammed\\u007f\tagain", rows[1][col["denyReason"]], "a tab is kept")
}
