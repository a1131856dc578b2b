package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswerBytes bounds what the simulator reads of an answer.
const maxAnswerBytes = 8 << 20

// client calls the accessd API at a base URL with an API key.
type client struct {
	http   *http.Client
	base   string
	apiKey string
}

// answer is a decoded {success, data, error, signatures} envelope. Data
// keeps the exact bytes of the data value: the server signs them.
type answer struct {
	Status     int               `json:"-"`
	Success    bool              `json:"success"`
	Data       json.RawMessage   `json:"data"`
	Error      string            `json:"error"`
	Signatures map[string]string `json:"signatures"`
}

// apiError is an answer other than 2xx.
type apiError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Status, msg)
}

// baseURL checks a server URL and drops its trailing slash.
func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url: %q is not an http(s) URL", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// send sends body (nil: none) with the API key and extra headers, and
// decodes the envelope; an answer other than 2xx is an *apiError.
func (c client) send(ctx context.Context, method, path string, body []byte, headers map[string]string) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("x-api-key", c.apiKey)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	a := answer{Status: resp.StatusCode}
	decodeErr := json.Unmarshal(raw, &a)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return a, &apiError{Method: method, Path: path, Status: resp.StatusCode, Message: a.Error}
	}
	if decodeErr != nil || !a.Success {
		return a, fmt.Errorf("%s %s: the answer is not a successful envelope: %.200s", method, path, raw)
	}
	return a, nil
}

// sendJSON marshals v and sends it.
func (c client) sendJSON(ctx context.Context, method, path string, v any) (answer, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return answer{}, err
	}
	return c.send(ctx, method, path, body, nil)
}

// fetchServerKey reads GET /keys/server.
func (c client) fetchServerKey(ctx context.Context) (serverKey, error) {
	a, err := client{http: c.http, base: c.base}.send(ctx, "GET", "/keys/server", nil, nil)
	if err != nil {
		return serverKey{}, err
	}
	var k serverKey
	if err := json.Unmarshal(a.Data, &k); err != nil || k.KeyID == "" || k.PublicKey == "" {
		return serverKey{}, fmt.Errorf("GET /keys/server: no {keyId, publicKey} in %.200s", a.Data)
	}
	return k, nil
}

// pinServerKey fetches the server key and pins it: the first time it is
// kept, and later a different one is refused.
func (c client) pinServerKey(ctx context.Context, pinned *serverKey) error {
	k, err := c.fetchServerKey(ctx)
	if err != nil {
		return err
	}
	if pinned.KeyID == "" {
		*pinned = k
		return nil
	}
	if *pinned != k {
		return fmt.Errorf("the server's key is now %s, but %s is pinned in the state file: refused", k.KeyID, pinned.KeyID)
	}
	return nil
}

// decodeStrict decodes the data of an answer, refusing unknown fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
