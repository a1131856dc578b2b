package httpapi_test

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzRequests sends any path parameters, query and body to every
// operation /openapi.json lists, over a real server holding a world of two
// accounts (buildMatrixWorld): no answer is a 5xx, and every 4xx is the
// error envelope, {success: false, error}.
//
// An input names its operation by operationId (an unknown name picks one
// by its hash, so every input reaches some route) and its caller by index
// (A's owner first). params holds the path parameters in order, split by
// "|": an empty one is the world's id of that name, any other text is sent
// as it is. In the query and the body, {name} is the world's id of that
// name ({at}: the world's start). The seeds are each operation's matrix
// query and body, so plain `go test` calls every route once.
func FuzzRequests(f *testing.F) {
	h := newHarness(f)
	world := h.buildMatrixWorld()
	ops := h.matrixOps()
	byID := map[string]matrixOp{}
	for _, op := range ops {
		byID[op.OperationID] = op
	}

	// The seeds' bodies carry placeholders, filled at each call, so an
	// entry of the corpus stays meaningful in another run's world.
	tmpl := *world
	tmpl.ids = map[string]string{}
	for name := range world.ids {
		tmpl.ids[name] = "{" + name + "}"
	}
	// The DELETEs last, the most nested first, so no seed finds what it
	// names deleted by another (a group before its members).
	seeds := slices.Clone(ops)
	sort.SliceStable(seeds, func(i, j int) bool {
		di, dj := seeds[i].Method == "DELETE", seeds[j].Method == "DELETE"
		if di != dj || !di {
			return dj && !di
		}
		return strings.Count(seeds[i].Path, "/") > strings.Count(seeds[j].Path, "/")
	})
	for _, op := range seeds {
		var body []byte
		if mk, ok := matrixBodies[op.OperationID]; ok && op.RequestBody != nil {
			b := mk(&tmpl)
			switch {
			case b.raw != nil:
				body = b.raw
			case b.json != nil:
				var err error
				body, err = json.Marshal(b.json)
				require.NoError(f, err)
			}
		}
		f.Add(op.OperationID, uint8(0), "", strings.TrimPrefix(matrixQueries[op.OperationID], "?"), body)
	}

	client := h.srv.Client()
	f.Fuzz(func(t *testing.T, operation string, caller uint8, params, query string, body []byte) {
		op, ok := byID[operation]
		if !ok {
			sum := fnv.New32a()
			sum.Write([]byte(operation))
			op = ops[int(sum.Sum32()%uint32(len(ops)))]
		}
		target, filled := world.request(op, params, query, body)
		// A DELETE removed an entity of the world this request names: it
		// gets a new world, not a 404 that tests nothing.
		if world.names(target, filled) {
			hh := *h
			hh.t = t
			world = hh.buildMatrixWorld()
			target, filled = world.request(op, params, query, body)
		}

		req, err := http.NewRequest(op.Method, h.srv.URL+target, bytes.NewReader(filled))
		require.NoError(t, err)
		contentType := "application/json"
		if mk, ok := matrixBodies[op.OperationID]; ok {
			b := mk(world)
			if b.contentType != "" {
				contentType = b.contentType
			}
			for k, v := range b.header {
				req.Header.Set(k, v)
			}
		}
		req.Header.Set("Content-Type", contentType)
		if key := world.caller(caller); key != "" {
			req.Header.Set("x-api-key", key)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)

		what := op.Method + " " + target
		if resp.StatusCode >= 500 {
			t.Fatalf("%s (%s) with body %q answered %d: %s", what, op.OperationID, filled, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 {
			var env struct {
				Success *bool  `json:"success"`
				Error   string `json:"error"`
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &env) != nil ||
				env.Success == nil || *env.Success || env.Error == "" {
				t.Fatalf("%s (%s) with body %q answered %d outside the error envelope (%s): %q",
					what, op.OperationID, filled, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
		}
		if op.Method == "DELETE" && resp.StatusCode < 300 && !removesMembership(op.Path) {
			world.deleteIn(target)
		}
	})
}

var placeholder = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// fillKnown replaces each {name} the world has an id for; any other text
// stays as it is.
func (w *matrixWorld) fillKnown(s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := w.ids[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// caller is the key of the fuzzer's caller: A's owner, the lock's own
// key, a `me` key, an owner of A's second property only, B's owner, a
// support key, none, one that does not exist.
func (w *matrixWorld) caller(n uint8) string {
	keys := []string{w.ownerA, w.lockKey, w.meUser, w.scopedP2, w.ownerB, w.lacking["support"], "", "not-a-key"}
	return keys[int(n)%len(keys)]
}

// request is the target (path and query) and body of a call of op with
// the fuzzer's params, query and body, filled from the world.
func (w *matrixWorld) request(op matrixOp, params, query string, body []byte) (string, []byte) {
	values := strings.Split(params, "|")
	i := 0
	target := matrixParam.ReplaceAllStringFunc(op.Path, func(m string) string {
		v := ""
		if i < len(values) {
			v = values[i]
		}
		i++
		if v == "" {
			return w.ids[m[1:len(m)-1]]
		}
		return url.PathEscape(v)
	})
	// Only a query a client can send: the server's own parser, not the Go
	// client's refusal, is under test.
	if parsed, _ := url.ParseQuery(w.fillKnown(query)); len(parsed) > 0 {
		target += "?" + parsed.Encode()
	}
	return target, []byte(w.fillKnown(string(body)))
}

// deleteIn notes the world's id a DELETE that succeeded removed: the last
// of its path.
func (w *matrixWorld) deleteIn(target string) {
	path, _, _ := strings.Cut(target, "?")
	last := path[strings.LastIndex(path, "/")+1:]
	for _, id := range w.ids {
		if id == last {
			if w.deleted == nil {
				w.deleted = map[string]bool{}
			}
			w.deleted[id] = true
		}
	}
}

// removesMembership reports whether a DELETE of path removes a user from a
// group or a property, not the user.
func removesMembership(path string) bool {
	return strings.HasSuffix(path, "/members/{userId}") ||
		(strings.Contains(path, "/groups/") && strings.HasSuffix(path, "/users/{userId}"))
}

// names reports whether a request names an entity of the world that was
// deleted.
func (w *matrixWorld) names(target string, body []byte) bool {
	for id := range w.deleted {
		if strings.Contains(target, id) || bytes.Contains(body, []byte(id)) {
			return true
		}
	}
	return false
}
