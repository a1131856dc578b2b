package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/accessd/accessd/queries"
)

// writeCalendarItems answers {items} in the envelope, encoding the items
// by hand: a month of a busy property or the upcoming weeks of a thousand
// are thousands of items, and reflection spent most of the request's time
// on them. The bytes are those json.Marshal would write.
func writeCalendarItems(w http.ResponseWriter, items []queries.CalendarItem) {
	body := make([]byte, 0, 64+len(items)*320) // an item is about 300 bytes
	body = append(body, `{"success":true,"data":{"items":[`...)
	for i, it := range items {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendCalendarItem(body, it)
	}
	body = append(body, "]}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// appendCalendarItem appends one item as json.Marshal encodes it.
func appendCalendarItem(b []byte, it queries.CalendarItem) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, it.Type)
	b = append(b, `,"bookingId":`...)
	b = appendJSONString(b, it.BookingID)
	b = append(b, `,"propertyId":`...)
	b = appendJSONString(b, it.PropertyID)
	b = append(b, `,"areaId":`...)
	b = appendJSONString(b, it.AreaID)
	b = append(b, `,"start":`...)
	b = appendJSONTime(b, it.Start)
	b = append(b, `,"end":`...)
	b = appendJSONTime(b, it.End)
	b = append(b, `,"title":`...)
	b = appendJSONString(b, it.Title)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, it.Status)
	return append(b, '}')
}

// appendJSONString appends s quoted; a string with anything json.Marshal
// would escape (quotes, backslashes, control characters, <, >, &, non-ASCII
// line separators) goes through json.Marshal itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			raw, _ := json.Marshal(s) // a string always encodes
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonPlain marks the bytes json.Marshal writes as they are inside a
// string: printable ASCII but the quote, the backslash and <, >, &.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONTime appends t as time.Time's MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
