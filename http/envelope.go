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
	writeSuccess(w, status, raw, nil)
}

// writeSuccess answers status with raw, JSON as json.Marshal writes it
// (compact and escaped), as the data of a successful envelope, with the
// signatures object sigs when not nil. The envelope is written around raw
// by hand: marshalling it would validate and re-compact raw, a second pass
// over a large answer, and signed bytes must be sent as they were signed.
func writeSuccess(w http.ResponseWriter, status int, raw, sigs []byte) {
	body := make([]byte, 0, len(raw)+len(sigs)+48)
	body = append(append(body, `{"success":true,"data":`...), raw...)
	if sigs != nil {
		body = append(append(body, `,"signatures":`...), sigs...)
	}
	body = append(body, "}\n"...)
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
