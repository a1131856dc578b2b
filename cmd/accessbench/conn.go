package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// conn is one kept-alive HTTP/1.1 connection that a single worker uses
// alone, with a hand-written round trip: net/http's Transport spends more
// client CPU per request (its goroutines, channels and allocations) than
// the benchmark can spare on a machine it shares with the server. It is not
// safe for concurrent use.
type conn struct {
	base string // http://host[:port][/prefix]

	nc        net.Conn
	r         *bufio.Reader
	w         *bufio.Writer
	host      string          // the Host header
	prefix    string          // the base URL's path, put before every path
	watched   context.Context // the ctx whose end closes nc
	stopWatch func() bool
	body      []byte // the last answer kept; reused
	num       []byte // scratch for the Content-Length line
}

const requestTimeout = 60 * time.Second

var dialer = net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// roundTrip sends one request and reads the whole answer. It returns the
// answer's body when keep or when the status is not 2xx (for its error
// message), valid until the next round trip. status is 0 when the failure
// came before the answer's head was read.
func (c *conn) roundTrip(ctx context.Context, key string, headers map[string]string, method, path string, body []byte, keep bool) (status int, answer []byte, err error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if c.nc != nil && ctx != c.watched {
		c.close() // the watch would be on another ctx
	}
	for {
		reused := c.nc != nil
		if err = c.send(ctx, key, headers, method, path, body); err != nil {
			c.close()
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			// The server may close an idle connection just as we reuse it; a
			// request not answered at all was not handled, so send it again
			// on a fresh connection (at most once: that one is not reused).
			if reused && closedByPeer(err) {
				continue
			}
			return 0, nil, err
		}
		if status, answer, err = c.receive(keep); err != nil {
			c.close()
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return status, nil, err
		}
		return status, answer, nil
	}
}

func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// send dials if needed, writes the request and waits for the answer's
// first byte, so that a connection the server closed shows here.
func (c *conn) send(ctx context.Context, key string, headers map[string]string, method, path string, body []byte) error {
	if c.nc == nil {
		if err := c.dial(ctx); err != nil {
			return err
		}
	}
	if err := c.nc.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return err
	}
	w := c.w
	for _, part := range [...]string{method, " ", c.prefix, path, " HTTP/1.1\r\nHost: ", c.host, "\r\nx-api-key: ", key, "\r\n"} {
		w.WriteString(part)
	}
	for k, v := range headers {
		for _, part := range [...]string{k, ": ", v, "\r\n"} {
			w.WriteString(part)
		}
	}
	// As net/http does, a POST, PUT or PATCH without a body says so.
	if body != nil || method == "POST" || method == "PUT" || method == "PATCH" {
		if body != nil {
			w.WriteString("Content-Type: application/json\r\n")
		}
		c.num = strconv.AppendInt(append(c.num[:0], "Content-Length: "...), int64(len(body)), 10)
		c.num = append(c.num, "\r\n"...)
		w.Write(c.num)
	}
	w.WriteString("\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := c.r.Peek(1)
	return err
}

func (c *conn) dial(ctx context.Context) error {
	u, err := url.Parse(c.base)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("own connection: scheme %q of %s is not supported (http only)", u.Scheme, c.base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	nc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c.nc, c.host, c.prefix = nc, u.Host, strings.TrimRight(u.Path, "/")
	if c.r == nil {
		c.r, c.w = bufio.NewReaderSize(nc, 16<<10), bufio.NewWriterSize(nc, 4<<10)
	} else {
		c.r.Reset(nc)
		c.w.Reset(nc)
	}
	// Closing the connection when ctx ends unblocks a read or write under way.
	c.watched, c.stopWatch = ctx, context.AfterFunc(ctx, func() { nc.Close() })
	return nil
}

func (c *conn) close() {
	if c.nc == nil {
		return
	}
	c.stopWatch()
	c.nc.Close()
	c.nc, c.watched, c.stopWatch = nil, nil, nil
}

// receive reads the answer's head and its whole body. status is 0 when the
// head could not be read.
func (c *conn) receive(keep bool) (status int, answer []byte, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12])) // no allocation: 3 bytes
	if err != nil {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, closing := int64(-1), false, line[7] == '0' // HTTP/1.0 does not keep alive
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, fmt.Errorf("reading the answer's headers: %w", err)
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			if len(bytes.TrimSpace(line)) == 0 {
				break
			}
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	if code == 204 || code == 304 || code < 200 {
		length, chunked = 0, false
	}
	keep = keep || code < 200 || code > 299
	c.body = c.body[:0]
	var rd io.Reader = c.r
	switch {
	case length >= 0 && !chunked && keep:
		c.body = slices.Grow(c.body, int(length))[:length]
		_, err = io.ReadFull(c.r, c.body)
	case length >= 0 && !chunked:
		_, err = c.r.Discard(int(length))
	default:
		if chunked {
			rd = httputil.NewChunkedReader(c.r)
		} else {
			closing = true // the body runs to the connection's end
		}
		if keep {
			c.body, err = appendAll(c.body, rd)
		} else {
			_, err = io.Copy(io.Discard, rd)
		}
		for chunked && err == nil { // the trailer, up to its blank line
			line, err = c.r.ReadSlice('\n')
			if len(bytes.TrimSpace(line)) == 0 {
				break
			}
		}
	}
	if err != nil {
		return code, nil, err
	}
	if closing {
		c.close()
	}
	if !keep {
		return code, nil, nil
	}
	return code, c.body, nil
}

// appendAll is io.ReadAll into a reused buffer.
func appendAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, 4<<10)
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
