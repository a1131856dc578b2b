package queries

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// History formats: one JSON object per line, or CSV with a header row.
const (
	HistoryJSON = "json"
	HistoryCSV  = "csv"
)

// historyCSVColumns are the CSV columns before the id columns.
var historyCSVColumns = []string{"position", "recordedAt", "eventType", "eventId", "stream", "apiKeyId", "actorUserId",
	"correlationId", "causationId", "result", "denyReason", "deviceSignatureFailure", "staleCredential", "futureDate",
	"keyMapVersion", "causeEventType"}

// HistoryWriter writes history items in one format. The HTTP history and
// `accessctl export` both write through it, so a file export is the same
// bytes as the API's answer.
type HistoryWriter struct {
	enc *json.Encoder
	// A CSV row is quoted by csv (without UseCRLF, which drops a lone CR
	// inside a cell and makes a lone LF a CRLF) into row, then its LF end
	// is written to out as CRLF: the cells keep every byte, the records
	// end as RFC 4180 says. Rows wait in out until Flush.
	csv *csv.Writer
	row bytes.Buffer
	out *bufio.Writer
}

// HistoryContentType is the media type of a history format.
func HistoryContentType(format string) string {
	if format == HistoryCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// NewHistoryWriter returns a writer of format (HistoryJSON or HistoryCSV)
// to w; a CSV starts with its header row and ends every record with CRLF
// (RFC 4180), while a CR or LF inside a cell is kept as it is, in the
// quoted cell. Call Flush at the end.
func NewHistoryWriter(w io.Writer, format string) (*HistoryWriter, error) {
	switch format {
	case HistoryJSON:
		return &HistoryWriter{enc: json.NewEncoder(w)}, nil
	case HistoryCSV:
		h := &HistoryWriter{out: bufio.NewWriter(w)}
		h.csv = csv.NewWriter(&h.row)
		header := append(append(append([]string{}, historyCSVColumns...), HistoryIDColumns...), historyOtherIDsColumn)
		if err := h.writeRow(header); err != nil {
			return nil, fmt.Errorf("history csv header: %w", err)
		}
		return h, nil
	default:
		return nil, fmt.Errorf("history format %q: want json or csv", format)
	}
}

// Write writes one item (CSV rows may wait in a buffer until Flush).
func (h *HistoryWriter) Write(it HistoryItem) error {
	if h.enc != nil {
		return h.enc.Encode(it)
	}
	version := ""
	if it.KeyMapVersion != nil {
		version = strconv.FormatUint(*it.KeyMapVersion, 10)
	}
	row := []string{strconv.FormatUint(it.Position, 10), it.RecordedAt.Format(time.RFC3339Nano), it.EventType, it.EventID, it.Stream,
		it.APIKeyID, it.ActorUserID, it.CorrelationID, it.CausationID, it.Result, it.DenyReason,
		csvFlag(it.DeviceSignatureFailure), csvFlag(it.StaleCredential), csvFlag(it.FutureDate), version, it.CauseEventType}
	for _, c := range HistoryIDColumns {
		row = append(row, it.IDs[c])
	}
	row = append(row, otherIDs(it.IDs))
	for i, cell := range row {
		row[i] = csvText(cell)
	}
	return h.writeRow(row)
}

// writeRow writes one CSV record to out, ending it with CRLF. csv ends
// the record it quotes with a single LF (UseCRLF is off, so the cells'
// own CRs and LFs pass through unchanged); that last byte is the record's
// end, whatever the cells hold, and becomes CRLF.
func (h *HistoryWriter) writeRow(cells []string) error {
	h.row.Reset()
	if err := h.csv.Write(cells); err != nil {
		return err
	}
	h.csv.Flush()
	if err := h.csv.Error(); err != nil {
		return err
	}
	record := h.row.Bytes()
	if _, err := h.out.Write(record[:len(record)-1]); err != nil {
		return err
	}
	_, err := h.out.WriteString("\r\n")
	return err
}

// csvFlag is an access attempt's check as a CSV cell: true, false, or
// empty on an item that is not an access attempt.
func csvFlag(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// historyOtherIDsColumn is the last CSV column: the ids an item names
// outside HistoryIDColumns (parentAreaId, apiKeyId of a key's own events,
// webhookId, ...), so a CSV drops no id the JSON answer has.
const historyOtherIDsColumn = "otherIds"

// otherIDs lists the ids outside HistoryIDColumns as name=id pairs, sorted
// by name and separated by spaces.
func otherIDs(ids map[string]string) string {
	var names []string
	for name := range ids {
		if !slices.Contains(HistoryIDColumns, name) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name + "=" + ids[name])
	}
	return b.String()
}

// csvText keeps a spreadsheet from reading a cell as a formula: text from
// a client (a request's X-Request-Id becomes the correlation id, a lock
// writes its denyReason) that starts with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe. No value the server makes starts so.
//
// Any other control character than a tab, CR or LF (a lock's denyReason,
// causation ids of older builds' server-side steps, which hold a 0x1F) is
// written as its JSON escape (\u001f): a spreadsheet or a terminal shows
// what a raw one would hide or act on.
func csvText(s string) string {
	if strings.ContainsFunc(s, csvControl) {
		var b strings.Builder
		for _, r := range s {
			if csvControl(r) {
				fmt.Fprintf(&b, "\\u%04x", r)
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvControl is a control character a CSV cell escapes: all but the tab,
// CR and LF, which CSV quoting keeps.
func csvControl(r rune) bool {
	return unicode.IsControl(r) && r != '\t' && r != '\r' && r != '\n'
}

// Flush writes what the writer buffers to the underlying writer.
func (h *HistoryWriter) Flush() error {
	if h.out == nil {
		return nil
	}
	return h.out.Flush()
}
