package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/accessd/accessd/domain"
)

// MaxBodyBytes is the largest JSON request body accepted.
const MaxBodyBytes = 1 << 20

var errBodyTooLarge = fmt.Errorf("request body larger than %d bytes", MaxBodyBytes)

// decodeBody reads a JSON object into dst strictly: unknown fields, wrong
// types, trailing data and bodies over MaxBodyBytes are refused with an
// error that names the field.
func decodeBody(r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return domain.InvalidField("body", "could not read the request body")
	}
	return decodeJSON(body, dst)
}

// decodeJSON is decodeBody's parser, separate so it can be fuzzed.
func decodeJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return domain.InvalidField("body", "a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return domain.InvalidField("body", "unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.InvalidField("body", "unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns encoding/json's errors into field errors.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return domain.InvalidField("body", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.InvalidField("body", "malformed JSON: unexpected end")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return domain.InvalidField(field, "must be "+jsonTypeName(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if name == "" {
			return domain.InvalidField("body", `unknown field ""`)
		}
		return domain.InvalidField(name, "unknown field")
	default:
		var fe *domain.Error
		if errors.As(err, &fe) {
			return fe
		}
		return domain.InvalidField("body", err.Error())
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	default:
		return "of another type"
	}
}

// optionalInstant parses an optional RFC 3339 instant of a body; a bad one
// is a 400 naming the field.
func optionalInstant(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, domain.InvalidField(field, "must be an RFC 3339 date-time")
	}
	return &t, nil
}
