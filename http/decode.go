package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

// clientBody reads a request body a handler streams (a firmware image)
// and makes an error reading it the client's: invalid, a 400. A body that
// ends before its Content-Length or its multipart closing boundary fails
// with io.ErrUnexpectedEOF, which a handler passing it on raw would have
// answered 503 as a read-model database that dropped its connection
// (databaseUnreachable); a read that times out or a malformed chunk
// likewise. io.EOF, a body over its limit (*http.MaxBytesError, a 413)
// and errors already the client's pass as they are.
type clientBody struct {
	r       io.Reader
	invalid error
}

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && !clientBodyError(err) {
		err = b.invalid
	}
	return n, err
}

// clientBodyError reports whether err, from reading a request body, says
// already what the client did wrong.
func clientBodyError(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge) || errors.Is(err, domain.ErrInvalid)
}

// decodeJSON is decodeBody's parser, separate so it can be fuzzed.
func decodeJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return domain.InvalidField("body", "a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(body, dst, err)
	}
	if dec.More() {
		return domain.InvalidField("body", "unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.InvalidField("body", "unexpected data after the JSON object")
	}
	// encoding/json stores invalid UTF-8 and lone surrogate escapes as
	// U+FFFD: the text kept would not be the text sent.
	if !utf8.Valid(body) || hasLoneSurrogate(body) {
		return domain.InvalidField("body", "text must be valid UTF-8 (no lone surrogate escapes)")
	}
	// encoding/json keeps the last of duplicate keys and matches field names
	// case-insensitively; both would let a body say something other than
	// what it seems to, so a second pass over the tokens refuses them.
	keys := json.NewDecoder(bytes.NewReader(body))
	keys.UseNumber() // numbers are skipped, never converted
	return checkKeys(keys, reflect.TypeOf(dst), "")
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// checkKeys reads one value from dec, already known to be valid JSON of
// type t, and refuses a key repeated in an object and, where t is a
// struct, a key that is not exactly a field's JSON name. path names the
// value as error fields do (accessList[0].schedule). A nil t (a map's
// values, any, a type decoding itself) checks duplicates only.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler)) {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err)
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return jsonError(err)
			}
			key, _ := tok.(string)
			name := joinPath(path, key)
			if key == "" { // the empty key names its object
				name = path
				if name == "" {
					name = "body"
				}
			}
			if seen[key] {
				return domain.InvalidField(name, keyProblem(key, "duplicate field"))
			}
			seen[key] = true
			valueType := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return domain.InvalidField(name, keyProblem(key, "unknown field"))
				}
				valueType = ft
			}
			if err := checkKeys(dec, valueType, name); err != nil {
				return err
			}
		}
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// keyProblem is what is wrong with a key; the empty key, which names no
// field, is quoted.
func keyProblem(key, problem string) string {
	if key == "" {
		return problem + ` ""`
	}
	return problem
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFieldCache holds jsonFields' answers by struct type.
var jsonFieldCache sync.Map

// jsonFields maps the exact JSON names of a struct's fields, embedded
// structs' promoted ones included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if cached, ok := jsonFieldCache.Load(t); ok {
		return cached.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, shadowed := out[n]; !shadowed {
						out[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	jsonFieldCache.Store(t, out)
	return out
}

// decodeError names the field of a Decode error by its whole path, as the
// validation errors do (accessList[1].schedule.weekly[0].from):
// encoding/json names an unknown key without the object it is in, and a
// value of the wrong type without the indices of the arrays it is in.
func decodeError(body []byte, dst any, err error) error {
	if !json.Valid(body) {
		return jsonError(err)
	}
	keys := json.NewDecoder(bytes.NewReader(body))
	keys.UseNumber()
	if kerr := checkKeys(keys, reflect.TypeOf(dst), ""); kerr != nil {
		return kerr
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if path, ok := pathAt(body, typeErr.Offset); ok {
			return domain.InvalidField(path, "must be "+jsonTypeName(typeErr.Type.Kind().String()))
		}
	}
	return jsonError(err)
}

// pathAt names the value of valid JSON that ends at offset, or whose
// object or array opens just before it: where encoding/json reports a
// value of the wrong type. A top-level value is the body.
func pathAt(body []byte, offset int64) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path string) (string, bool, error)
	walk = func(path string) (string, bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", false, err
		}
		if dec.InputOffset() == offset {
			if path == "" {
				path = "body"
			}
			return path, true, nil
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return "", false, err
				}
				name, _ := key.(string)
				if p, ok, err := walk(joinPath(path, name)); ok || err != nil {
					return p, ok, err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if p, ok, err := walk(fmt.Sprintf("%s[%d]", path, i)); ok || err != nil {
					return p, ok, err
				}
			}
		default:
			return "", false, nil
		}
		_, err = dec.Token() // the closing delimiter
		return "", false, err
	}
	path, ok, err := walk("")
	return path, ok && err == nil
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
	t, err := domain.ParseInstant(field, *s, "must be an RFC 3339 date-time")
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// hasLoneSurrogate reports whether valid JSON escapes half of a UTF-16
// surrogate pair (\ud800 without its low half, or a low half alone).
// Every backslash of valid JSON starts an escape inside a string.
func hasLoneSurrogate(body []byte) bool {
	high := false // the previous escape was a high surrogate
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			if high {
				return true
			}
			continue
		}
		if i+1 >= len(body) || body[i+1] != 'u' || i+5 >= len(body) {
			if high {
				return true
			}
			i++ // \n, \", \\ and the like
			continue
		}
		var r rune
		for _, c := range body[i+2 : i+6] {
			r <<= 4
			switch {
			case c >= '0' && c <= '9':
				r |= rune(c - '0')
			case c >= 'a' && c <= 'f':
				r |= rune(c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				r |= rune(c - 'A' + 10)
			}
		}
		i += 5
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if high {
				return true
			}
			high = true
		case r >= 0xDC00 && r <= 0xDFFF:
			if !high {
				return true
			}
			high = false
		default:
			if high {
				return true
			}
		}
	}
	return high
}
