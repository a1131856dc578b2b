package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// client calls the API with one owner key over a connection pool sized for
// the benchmark's concurrency, so that no request waits for a connection
// and none is closed for want of an idle slot.
type client struct {
	base string
	key  string
	http *http.Client
	// own, when set, carries every request instead of http (withOwnConn).
	own *conn
}

func newClient(base, key string, concurrency int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: strings.TrimRight(base, "/"), key: key, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// withOwnConn returns a copy of c whose requests go over a connection of
// its own, for one worker's sequential steps: cheaper for the client than
// the pool. close releases it.
func (c *client) withOwnConn() *client {
	cp := *c
	cp.own = &conn{base: c.base}
	return &cp
}

func (c *client) close() {
	if c.own != nil {
		c.own.close()
	}
}

// apiError is an answer outside 2xx, or a failure to get one.
type apiError struct {
	Method, Path string
	Status       int // 0: no answer
	Message      string
}

func (e *apiError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.Message)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// do sends body (nil, raw bytes or a value to encode as JSON) and returns
// the envelope's data of a 2xx answer. Anything else is an *apiError.
func (c *client) do(ctx context.Context, method, path string, body any) (json.RawMessage, error) {
	raw, err := c.send(ctx, method, path, body, true)
	if err != nil {
		return nil, err
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, &apiError{Method: method, Path: path, Status: 200, Message: "undecodable answer: " + err.Error()}
	}
	return env.Data, nil
}

// call sends a request and checks only that it was answered 2xx; the body
// is read and dropped (so the connection is reused), not decoded.
func (c *client) call(ctx context.Context, method, path string, body any) error {
	_, err := c.send(ctx, method, path, body, false)
	return err
}

func (c *client) send(ctx context.Context, method, path string, body any, keep bool) ([]byte, error) {
	return c.sendAs(ctx, c.key, nil, method, path, body, keep)
}

// sendAs sends a request with key and extra headers. With an own
// connection the answer returned is valid only until c's next request.
func (c *client) sendAs(ctx context.Context, key string, headers map[string]string, method, path string, body any, keep bool) ([]byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		raw = enc
	}
	var (
		status int
		answer []byte
		err    error
	)
	if c.own != nil {
		status, answer, err = c.own.roundTrip(ctx, key, headers, method, path, raw, keep)
	} else {
		status, answer, err = c.pooledRoundTrip(ctx, key, headers, method, c.base+path, raw, keep)
	}
	if err != nil && status == 0 {
		return nil, &apiError{Method: method, Path: path, Message: err.Error()}
	}
	if err != nil {
		return nil, &apiError{Method: method, Path: path, Status: status, Message: "reading the answer: " + err.Error()}
	}
	if status < 200 || status > 299 {
		var env struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(answer))
		if json.Unmarshal(answer, &env) == nil && env.Error != "" {
			msg = env.Error
		}
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return nil, &apiError{Method: method, Path: path, Status: status, Message: msg}
	}
	return answer, nil
}

// pooledRoundTrip is roundTrip (see conn) over the shared net/http pool.
func (c *client) pooledRoundTrip(ctx context.Context, key string, headers map[string]string, method, url string, body []byte, keep bool) (status int, answer []byte, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("x-api-key", key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if keep || resp.StatusCode < 200 || resp.StatusCode > 299 {
		answer, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, answer, err
}

// ready waits until the server answers /readyz with 200, or ctx ends.
func (c *client) ready(ctx context.Context) error {
	for {
		err := c.call(ctx, "GET", "/readyz", nil)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w (last: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
