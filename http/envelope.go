// Package httpapi is accessd's REST API: routes, request decoding and
// validation, authentication, the {success, data, error} envelope, error
// mapping and paging. It turns requests into commands and queries.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
)

// envelope is the shape of every response body.
type envelope struct {
	Success    bool              `json:"success"`
	Data       json.RawMessage   `json:"data,omitempty"`
	Error      string            `json:"error,omitempty"`
	Signatures map[string]string `json:"signatures,omitempty"`
}

// writeData answers status with data in the envelope.
func writeData(w http.ResponseWriter, status int, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		slog.Error("encode response", "err", err)
		writeEnvelope(w, http.StatusInternalServerError, envelope{Error: "internal error"})
		return
	}
	// The envelope is written around raw by hand: marshalling it would
	// validate and re-compact raw, a second pass over a large answer
	// (json.Marshal's output is already compact and escaped).
	body := make([]byte, 0, len(raw)+32)
	body = append(append(append(body, `{"success":true,"data":`...), raw...), "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// writeFailure answers status with a human-readable error.
func writeFailure(w http.ResponseWriter, status int, message string) {
	writeEnvelope(w, status, envelope{Error: message})
}

func writeEnvelope(w http.ResponseWriter, status int, e envelope) {
	body, err := json.Marshal(e)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"success":false,"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
