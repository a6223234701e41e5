package authentik_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pvesso/pvesso/authentik"
)

// fake is a scripted authentik stand-in for unit tests: a handler per
// "METHOD /path" (path without /api/v3), a request log, and the version
// endpoint answered from version.
type fake struct {
	t       *testing.T
	srv     *httptest.Server
	version string

	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	log      []logged
}

type logged struct {
	Method, Path, RawQuery, Auth, Body string
	Query                              map[string][]string
}

const testToken = "ak-test-token-0123456789abcdef"

func newFake(t *testing.T, version string) *fake {
	t.Helper()
	f := &fake{t: t, version: version, handlers: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.log = append(f.log, logged{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: string(b), Query: r.URL.Query()})
	h := f.handlers[r.Method+" "+strings.TrimPrefix(r.URL.Path, "/api/v3")]
	f.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(b)))
	if h != nil {
		h(w, r)
		return
	}
	if r.Method == "GET" && r.URL.Path == "/api/v3/admin/version/" {
		writeJSON(w, 200, map[string]any{"version_current": f.version, "version_latest": f.version,
			"version_latest_valid": true, "build_hash": "", "outdated": false, "outpost_outdated": false})
		return
	}
	writeJSON(w, 404, map[string]any{"detail": "Not found."})
}

func (f *fake) on(method, path string, h http.HandlerFunc) {
	f.mu.Lock()
	f.handlers[method+" "+path] = h
	f.mu.Unlock()
}

// reply answers with a fixed status and JSON body.
func (f *fake) reply(method, path string, status int, body any) {
	f.on(method, path, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, body) })
}

// replyList answers a list endpoint with a single page.
func (f *fake) replyList(path string, results ...any) {
	if results == nil {
		results = []any{}
	}
	f.reply("GET", path, 200, pageOf(results, 1, 0))
}

func pageOf(results []any, current, next int) map[string]any {
	return map[string]any{"pagination": map[string]any{"next": next, "previous": 0, "count": len(results),
		"current": current, "total_pages": 1, "start_index": 1, "end_index": len(results)},
		"results": results, "autocomplete": map[string]any{}}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func (f *fake) requests() []logged {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]logged(nil), f.log...)
}

// calls returns the logged requests to METHOD path (path without /api/v3).
func (f *fake) calls(method, path string) []logged {
	var out []logged
	for _, l := range f.requests() {
		if l.Method == method && l.Path == "/api/v3"+path {
			out = append(out, l)
		}
	}
	return out
}

func (f *fake) only(method, path string) logged {
	f.t.Helper()
	c := f.calls(method, path)
	if len(c) != 1 {
		f.t.Fatalf("want exactly one %s %s, got %d (log %+v)", method, path, len(c), f.requests())
	}
	return c[0]
}

func (f *fake) client(opts ...authentik.Option) *authentik.Client {
	f.t.Helper()
	c, err := authentik.New(f.srv.URL, testToken, opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fake) clientAt(version string) *authentik.Client {
	return f.client(authentik.WithVersion(authentik.MustParseVersion(version)))
}

// assertJSON compares a JSON text with want after normalising both.
func assertJSON(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("JSON body differs\n got: %s\nwant: %s", gb, wb)
	}
}

func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), testToken) {
		t.Fatalf("the token leaked into an error: %v", err)
	}
}
