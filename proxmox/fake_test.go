package proxmox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/contract"
)

// fakePVE is a scripted HTTPS server for unit tests. Handlers are keyed by
// "METHOD /path" (path without /api2/json, unescaped). Every request the
// client sends is also checked against the 9.2 apidoc (or the version set in
// schema) by the contract transport.
type fakePVE struct {
	t      *testing.T
	srv    *httptest.Server
	tr     *contract.ProxmoxTransport
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	log    []seenReq
}

type seenReq struct {
	Method, Path string
	Query        url.Values
	Form         url.Values
	RawBody      string
	Header       http.Header
}

func newFake(t *testing.T) *fakePVE {
	return newFakeSchema(t, "9.2")
}

func newFakeSchema(t *testing.T, schema string) *fakePVE {
	t.Helper()
	f := &fakePVE{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	c, err := contract.LoadProxmoxChecker(schema)
	if err != nil {
		t.Fatal(err)
	}
	f.tr = c.Transport(f.srv.Client().Transport)
	f.tr.SkipResponses = true // fakes return minimal bodies; the simulator contract tests check responses
	return f
}

// violations fails the test for any request that broke the schema.
func (f *fakePVE) noViolations() {
	f.t.Helper()
	for _, v := range f.tr.Violations() {
		f.t.Errorf("contract: %v", v)
	}
}

func (f *fakePVE) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	path, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/api2/json"))
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.log = append(f.log, seenReq{Method: r.Method, Path: path, Query: r.URL.Query(), Form: form, RawBody: string(body), Header: r.Header.Clone()})
	h := f.routes[r.Method+" "+path]
	f.mu.Unlock()
	if h == nil {
		w.WriteHeader(501)
		return
	}
	h(w, r)
}

func (f *fakePVE) on(methodPath string, h http.HandlerFunc) {
	f.mu.Lock()
	f.routes[methodPath] = h
	f.mu.Unlock()
}

func (f *fakePVE) onData(methodPath string, data any) {
	f.on(methodPath, func(w http.ResponseWriter, r *http.Request) { writeData(w, data) })
}

func (f *fakePVE) requests() []seenReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenReq(nil), f.log...)
}

func (f *fakePVE) count(methodPath string) int {
	n := 0
	for _, r := range f.requests() {
		if r.Method+" "+r.Path == methodPath {
			n++
		}
	}
	return n
}

func (f *fakePVE) last(methodPath string) seenReq {
	f.t.Helper()
	rs := f.requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Method+" "+rs[i].Path == methodPath {
			return rs[i]
		}
	}
	f.t.Fatalf("no request %s", methodPath)
	return seenReq{}
}

func (f *fakePVE) client(auth Auth, opts ...Option) *Client {
	f.t.Helper()
	hc := &http.Client{Transport: f.tr, Timeout: 10 * time.Second}
	c, err := New(f.srv.URL, auth, append([]Option{WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func writeData(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	b, _ := json.Marshal(map[string]any{"data": data})
	w.Write(b)
}

// pveError answers like pveproxy: message in the reason phrase, JSON body
// with data null, optional "message" (8.4+) and "errors".
func pveError(w http.ResponseWriter, status int, reason string, withMessage bool, errs map[string]string) {
	body := map[string]any{"data": nil}
	if withMessage {
		body["message"] = reason + "\n"
	}
	if errs != nil {
		body["errors"] = errs
	}
	b, _ := json.Marshal(body)
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, reason, len(b), b)
	buf.Flush()
}

const testToken = "root@pam!pvesso=5a1e9d2c-0000-4bbb-8ccc-123456789abc"

func tokenAuth(t *testing.T) Auth {
	t.Helper()
	a, err := TokenAuth(testToken)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr[T any](v T) *T { return &v }
