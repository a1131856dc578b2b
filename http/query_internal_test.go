package httpapi

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// queryReads are the query parameters the handlers read while the tests
// run, by operation (noteQueryRead).
var queryReads = struct {
	sync.Mutex
	byOperation map[string]map[string]bool
}{byOperation: map[string]map[string]bool{}}

func recordQueryRead(operation, name string) {
	queryReads.Lock()
	defer queryReads.Unlock()
	if queryReads.byOperation[operation] == nil {
		queryReads.byOperation[operation] = map[string]bool{}
	}
	queryReads.byOperation[operation][name] = true
}

// undeclaredQueryReads lists every read so far of a query parameter its
// operation does not declare, as "operation?name".
func undeclaredQueryReads() []string {
	queryReads.Lock()
	defer queryReads.Unlock()
	var out []string
	for operation, names := range queryReads.byOperation {
		for name := range names {
			if !declaresRead(operation, name) {
				out = append(out, operation+"?"+name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// declaresRead reports whether the operation declares the name a handler
// read: the parameter itself, or, for queryPrefixed, the prefix.
func declaresRead(operation, name string) bool {
	return slices.Contains(declaredQueries[operation].names, name) || declares(declaredQueries[operation].names, name)
}

// TestMain records the query parameters every handler reads throughout
// the package's tests, and fails the run when any test made a handler
// read one its operation does not declare (queryParams): /openapi.json
// would not list it, singleValuedQuery would not check it and a paged
// operation would never see it.
func TestMain(m *testing.M) {
	queryReadHook = recordQueryRead
	code := m.Run()
	servicetest.DropPooledSchemas()
	if bad := undeclaredQueryReads(); len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: handlers read query parameters their operation does not declare in queryParams: %s\n",
			strings.Join(bad, ", "))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// queryReaders are the only functions of the package that may read a
// request's query directly; every handler reads it through the first
// three, which note each read (noteQueryRead).
var queryReaders = []string{
	"queryGet", "queryAll", "queryPrefixed",
	// The router's checks, ahead of every handler, and listOf, which names
	// a paged list by its whole query (onlyDeclaredQuery left only the
	// declared parameters in it).
	"wellFormedQuery", "singleValuedQuery", "onlyDeclaredQuery", "listOf",
	// An idempotent command's fingerprint covers the query as sent.
	"requestFingerprint",
}

// A handler reads the query only through queryGet, queryAll and
// queryPrefixed: a source scan of the package for any other read of it
// (URL.Query(), RawQuery, FormValue, Form...) outside queryReaders. With
// TestMain's check and TestEveryQueryParameterReadIsDeclared that keeps
// queryParams, and so /openapi.json, complete.
func TestHandlersReadTheQueryOnlyThroughQueryGet(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	scanned, literals := 0, 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		scanned++
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || slices.Contains(queryReaders, fn.Name.Name) {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				var what string
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Query" && len(n.Args) == 0 {
						what = "Query()"
					}
					// A name read by its literal is declared by some operation;
					// which one, the tests that run the handler check.
					if id, ok := n.Fun.(*ast.Ident); ok && slices.Contains(queryNameReaders, id.Name) && len(n.Args) > 1 {
						if lit, ok := n.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							literals++
							name, _ := strconv.Unquote(lit.Value)
							if !declaredAnywhere(name) {
								t.Errorf("%s: %s reads the query parameter %s, which no operation declares in queryParams",
									fset.Position(n.Pos()), fn.Name.Name, name)
							}
						}
					}
				case *ast.SelectorExpr:
					switch n.Sel.Name {
					case "RawQuery", "FormValue", "PostFormValue", "Form", "PostForm", "ParseForm":
						what = n.Sel.Name
					}
				}
				if what != "" {
					t.Errorf("%s: %s reads the query through %s: use queryGet, queryAll or queryPrefixed, and declare the parameter in queryParams",
						fset.Position(n.Pos()), fn.Name.Name, what)
				}
				return true
			})
		}
	}
	assert.Greater(t, scanned, 20)
	assert.Greater(t, literals, 20, "query parameters read by name")
}

// queryNameReaders read the query parameter their second argument names.
var queryNameReaders = []string{"queryGet", "queryAll", "queryPrefixed", "queryID", "queryInstant", "calendarTime"}

// declaredAnywhere reports whether some operation declares name.
func declaredAnywhere(name string) bool {
	for _, d := range declaredQueries {
		if slices.Contains(d.names, name) {
			return true
		}
	}
	return false
}

// Every name a route declares is the one of a route, and every route's
// operation is its own: the router names each route by its operation,
// which the reads are checked against.
func TestQueryParamsNameRoutes(t *testing.T) {
	operations := map[string]bool{}
	for _, rt := range (&API{}).routes() {
		assert.False(t, operations[rt.operation], "two routes are operation %s", rt.operation)
		operations[rt.operation] = true
	}
	for operation, params := range queryParams {
		assert.True(t, operations[operation], "queryParams names %s, which no route is", operation)
		seen := map[string]bool{}
		for _, p := range params {
			assert.False(t, seen[p.name], "%s declares %s twice", operation, p.name)
			seen[p.name] = true
			assert.NotEmpty(t, p.desc, "%s?%s has no description", operation, p.name)
			assert.NotEmpty(t, p.typ, "%s?%s has no type", operation, p.name)
		}
	}
}

func TestUndeclaredQueryReadsAreCaught(t *testing.T) {
	assert.True(t, declaresRead("listBookings", "startDateTime["))
	assert.True(t, declaresRead("listBookings", "status"))
	assert.True(t, declaresRead("listPropertyCalendar", "from"))
	assert.False(t, declaresRead("listPropertyCalendar", "days"))
	assert.False(t, declaresRead("getLock", "propertyId"))
}

// ResetQueryReads forgets the reads recorded so far.
func ResetQueryReads() {
	queryReads.Lock()
	defer queryReads.Unlock()
	queryReads.byOperation = map[string]map[string]bool{}
}

// QueryReads are the names the operation's handler read since the last
// ResetQueryReads; a prefix (startDateTime[) for queryPrefixed.
func QueryReads(operation string) []string {
	queryReads.Lock()
	defer queryReads.Unlock()
	var out []string
	for name := range queryReads.byOperation[operation] {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// UndeclaredQueryReads is undeclaredQueryReads for the external tests.
func UndeclaredQueryReads() []string { return undeclaredQueryReads() }

// DeclaredQueryParams are the names the operation declares (queryParams),
// a name ending in "[" for every key that starts with it.
func DeclaredQueryParams(operation string) []string {
	out := slices.Clone(declaredQueries[operation].names)
	sort.Strings(out)
	return out
}

// The documented event sources are those listEvents takes.
func TestEventSourceEnumIsTheEventSources(t *testing.T) {
	var documented []string
	for _, p := range queryParams["listEvents"] {
		if p.name == "eventSource" {
			documented = p.enum
		}
	}
	var taken []string
	for source := range eventSources {
		taken = append(taken, source)
	}
	assert.ElementsMatch(t, taken, documented)
}
