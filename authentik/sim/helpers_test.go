package sim

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testServer is a started simulator with an HTTPS client that trusts it.
type testServer struct {
	t      *testing.T
	s      *Server
	client *http.Client
	token  string
}

func startSim(t *testing.T, version string) *testServer {
	t.Helper()
	s := New(Options{Version: version})
	if err := s.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return &testServer{t: t, s: s, client: clientFor(t, s, false), token: s.AdminToken()}
}

// clientFor returns an HTTPS client for the simulator; withJar adds a
// cookie jar (a browser), and redirects are never followed.
func clientFor(t *testing.T, s *Server, withJar bool) *http.Client {
	t.Helper()
	c := &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if withJar {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Jar = jar
	}
	return c
}

// get fetches u with c (a test's client or browser) and returns the
// response with its body read and closed.
func get(t testing.TB, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// getJSON fetches u with c and decodes the JSON body into dst.
func getJSON(t testing.TB, c *http.Client, u string, dst any) *http.Response {
	t.Helper()
	resp, body := get(t, c, u)
	_ = json.Unmarshal(body, dst)
	return resp
}

type apiResp struct {
	status int
	header http.Header
	raw    []byte
	body   any
}

func (r apiResp) obj() map[string]any {
	m, _ := r.body.(map[string]any)
	return m
}

// results returns the results of a paginated list answer.
func (r apiResp) results() []map[string]any {
	var out []map[string]any
	list, _ := r.obj()["results"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// apiAs sends a request to /api/v3 with the given token ("" = none).
func (ts *testServer) apiAs(token, method, path string, body any) apiResp {
	ts.t.Helper()
	authz := ""
	if token != "" {
		authz = "Bearer " + token
	}
	return ts.apiAuthz(authz, method, path, body)
}

// apiAuthz sends a request to /api/v3 with the given Authorization header
// ("" = none) and checks the answer against the schema.
func (ts *testServer) apiAuthz(authz, method, path string, body any) apiResp {
	ts.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				ts.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, ts.s.URL()+"/api/v3"+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResp{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			ts.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	validateResponse(ts.t, ts.s.Version(), method, "/api/v3"+path, req, resp.StatusCode, resp.Header, raw)
	return out
}

func (ts *testServer) api(method, path string, body any) apiResp {
	ts.t.Helper()
	return ts.apiAs(ts.token, method, path, body)
}

func (ts *testServer) mustStatus(r apiResp, want int) {
	ts.t.Helper()
	if r.status != want {
		ts.t.Fatalf("status %d, want %d; body %s", r.status, want, r.raw)
	}
}

// first returns the first result of a list, failing when it is empty.
func (ts *testServer) first(path string) map[string]any {
	ts.t.Helper()
	r := ts.api("GET", path, nil)
	ts.mustStatus(r, 200)
	res := r.results()
	if len(res) == 0 {
		ts.t.Fatalf("GET %s: no results", path)
	}
	return res[0]
}

// formLogin sends a browser without a session to the authorize URL authz,
// logs in as user through the login form it is redirected to, and returns
// where authorize then sends the browser.
func (ts *testServer) formLogin(browser *http.Client, authz, user string) string {
	ts.t.Helper()
	start, _ := get(ts.t, browser, authz)
	login, err := url.Parse(start.Header.Get("Location"))
	if err != nil || login.Path != "/if/flow/"+FlowAuthentication+"/" {
		ts.t.Fatalf("authorize without a session: redirected to %v (%v), want the login form", login, err)
	}
	resp, err := browser.PostForm(ts.s.URL()+login.Path, url.Values{"uid_field": {user},
		"password": {ts.s.UserPassword(user)}, "next": {login.Query().Get("next")}})
	if err != nil {
		ts.t.Fatal(err)
	}
	resp.Body.Close()
	next, _ := get(ts.t, browser, ts.s.URL()+resp.Header.Get("Location"))
	return next.Header.Get("Location")
}

func (ts *testServer) flowPK(slug string) string {
	ts.t.Helper()
	return ts.first("/flows/instances/?slug=" + slug)["pk"].(string)
}

func (ts *testServer) scopePKs(scopes ...string) []string {
	ts.t.Helper()
	path := "/propertymappings/provider/scope/"
	if !ts.s.ver.scopePathProvider() {
		path = "/propertymappings/scope/"
	}
	var out []string
	for _, sc := range scopes {
		out = append(out, ts.first(path + "?managed=goauthentik.io/providers/oauth2/scope-" + sc)["pk"].(string))
	}
	return out
}

func (ts *testServer) keyPK(name string) string {
	ts.t.Helper()
	for _, k := range ts.s.KeyPairs() {
		if k.Name == name {
			return k.PK
		}
	}
	ts.t.Fatalf("no key pair %q", name)
	return ""
}

// providerBody is a valid create body for the simulated release.
func (ts *testServer) providerBody(name string, redirect string, signingKey string) map[string]any {
	ts.t.Helper()
	b := map[string]any{
		"name":                       name,
		"authorization_flow":         ts.flowPK(FlowImplicitConsent),
		"client_type":                "confidential",
		"sub_mode":                   "user_email",
		"include_claims_in_id_token": true,
		"property_mappings":          ts.scopePKs("openid", "email", "profile"),
	}
	if signingKey != "" {
		b["signing_key"] = signingKey
	}
	if ts.s.ver.invalidationFlow() {
		b["invalidation_flow"] = ts.flowPK(FlowProviderInvalidation)
	}
	if ts.s.ver.grantTypes() {
		// Since 2026.5 a provider created without grant_types permits no
		// grant; the wizard sends authorization_code (authentik-api.md §10).
		b["grant_types"] = []string{"authorization_code"}
	}
	if ts.s.ver.redirectURIObjects() {
		b["redirect_uris"] = []any{map[string]any{"matching_mode": "strict", "url": redirect}}
	} else {
		b["redirect_uris"] = redirect
	}
	return b
}

// createApp creates a provider and an application for it and returns the
// provider object.
func (ts *testServer) createApp(slug, redirect, signingKey string) map[string]any {
	ts.t.Helper()
	r := ts.api("POST", "/providers/oauth2/", ts.providerBody("Provider for "+slug, redirect, signingKey))
	ts.mustStatus(r, 201)
	prov := r.obj()
	a := ts.api("POST", "/core/applications/", map[string]any{"name": "App " + slug, "slug": slug, "provider": prov["pk"]})
	ts.mustStatus(a, 201)
	return prov
}

// An empty filter value does not filter, as in django-filter.
func TestEmptyFilterValueIsIgnored(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	all := ts.apiAs(ts.token, "GET", "/core/users/", nil).results()
	empty := ts.apiAs(ts.token, "GET", "/core/users/?username=", nil).results()
	if len(all) < 3 || len(empty) != len(all) {
		t.Fatalf("?username= listed %d users, without the filter %d", len(empty), len(all))
	}
	alice := ts.apiAs(ts.token, "GET", "/core/users/?username=alice", nil).results()
	if len(alice) != 1 || alice[0]["username"] != "alice" {
		t.Fatalf("?username=alice listed %v", alice)
	}
}
