package sim_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

// oidcEnv is a simulator trusting a fake IdP, with an OpenID realm.
type oidcEnv struct {
	*pve
	idp     *fakeIdP
	browser *http.Client // follows nothing, trusts the IdP
}

func newOIDC(t *testing.T, opts pvesim.Options, realmOpts ...string) *oidcEnv {
	idp := newFakeIdP(t)
	opts.OIDCRoots = idp.pool()
	p := startPVE(t, opts)
	p.openidRealm("authentik", idp.Issuer, realmOpts...)
	return &oidcEnv{pve: p, idp: idp, browser: &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: idp.pool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

func (e *oidcEnv) authURL(base, redirect string) resp {
	e.t.Helper()
	return e.doURL(base, "POST", "/access/openid/auth-url", vals("realm", "authentik", "redirect-url", redirect), noAuth)
}

// visit lets the IdP "log the user in" and returns code and state from the
// redirect back to the origin.
func (e *oidcEnv) visit(authURL string) (code, state string) {
	e.t.Helper()
	res, err := e.browser.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: %d %v", res.StatusCode, err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// flow runs auth-url, the IdP and login on node 1 with redirect-url = node origin.
func (e *oidcEnv) flow() resp {
	e.t.Helper()
	origin := e.base
	u := e.ok(e.authURL(e.base, origin)).Data.(string)
	code, state := e.visit(u)
	return e.do("POST", "/access/openid/login", vals("code", code, "state", state, "redirect-url", origin), noAuth)
}

func (e *oidcEnv) lastLog() string {
	l := e.s.Log()
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

func (e *oidcEnv) wantLoginFailure(r resp, reason string) {
	e.t.Helper()
	e.want(r, 401, "authentication failure")
	if !strings.Contains(e.lastLog(), "openid authentication failure; rhost=127.0.0.1 msg="+reason) {
		e.t.Fatalf("log %q, want reason %q", e.lastLog(), reason)
	}
}

func TestOpenIDAuthURL(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{}, "prompt", "login", "acr-values", "urn:a,urn:b", "scopes", "email profile groups")
	redirect := "https://pve1.example.test:8006"
	u := e.ok(e.authURL(e.base, redirect)).Data.(string)
	pu, err := url.Parse(u)
	if err != nil || !strings.HasPrefix(u, e.idp.srv.URL+"/app/authorize?") {
		t.Fatalf("auth url %q", u)
	}
	q := pu.Query()
	for k, v := range map[string]string{"response_type": "code", "client_id": "pve-client", "redirect_uri": redirect,
		"scope": "openid email profile groups", "code_challenge_method": "S256", "display": "page", "prompt": "login",
		"acr_values": "urn:a urn:b"} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" {
		t.Errorf("PKCE challenge %q nonce %q", q.Get("code_challenge"), q.Get("nonce"))
	}
	var st struct {
		CSRF  string `json:"csrf_token"`
		Realm string `json:"realm"`
	}
	if err := json.Unmarshal([]byte(q.Get("state")), &st); err != nil || st.Realm != "authentik" || st.CSRF == "" {
		t.Fatalf("state %q", q.Get("state"))
	}
	if n := e.s.PendingOpenIDStates(1, "authentik"); n != 1 {
		t.Fatalf("pending states %d", n)
	}
	// default scopes
	p2 := newOIDC(t, pvesim.Options{})
	u2 := p2.ok(p2.authURL(p2.base, redirect)).Data.(string)
	pu2, _ := url.Parse(u2)
	if pu2.Query().Get("scope") != "openid email profile" || pu2.Query().Has("prompt") {
		t.Fatalf("defaults: %v", pu2.Query())
	}
}

func TestOpenIDAuthURLErrors(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{Version: "8.4.14"})
	origin := e.base
	e.want(e.doURL(e.base, "POST", "/access/openid/auth-url", vals("realm", "nope", "redirect-url", origin), noAuth), 500, "authentication domain 'nope' does not exist")
	e.want(e.doURL(e.base, "POST", "/access/openid/auth-url", vals("realm", "pam", "redirect-url", origin), noAuth), 500, "wrong realm type (pam != openid)")
	e.wantErr(e.doURL(e.base, "POST", "/access/openid/auth-url", vals("realm", "authentik"), noAuth), "redirect-url", "property is missing and it is not optional")
	e.want(e.authURL(e.base, "/pve1"), 500, "relative URL without a base")

	// the node's own trust store decides
	e.s.SetOIDCRoots(nil)
	e.want(e.authURL(e.base, origin), 500, "Request failed")
	e.s.SetOIDCRoots(e.idp.pool())
	e.ok(e.authURL(e.base, origin))

	e.idp.set(func(f *fakeIdP) { f.discoveryStatus = 404 })
	e.want(e.authURL(e.base, origin), 500, "Server returned invalid response: HTTP status code 404 Not Found")
	e.idp.set(func(f *fakeIdP) { f.discoveryStatus = 0; f.discoveryCT = "text/html" })
	e.want(e.authURL(e.base, origin), 500, "Server returned invalid response: Unexpected response Content-Type: \"text/html\", should be `application/json`")
	e.idp.set(func(f *fakeIdP) { f.discoveryCT = ""; f.omitAlgs = true })
	e.want(e.authURL(e.base, origin), 500, "Failed to parse server response")
	e.idp.set(func(f *fakeIdP) { f.omitAlgs = false; f.issuerInDoc = strings.TrimSuffix(f.Issuer, "/") })
	e.want(e.authURL(e.base, origin), 500, "Validation error: unexpected issuer URI `"+strings.TrimSuffix(e.idp.Issuer, "/")+"` (expected `"+e.idp.Issuer+"`)")

	// 9.x (openidconnect 4) names the URL in status errors
	e9 := newOIDC(t, pvesim.Options{Version: "9.2.0"})
	e9.idp.set(func(f *fakeIdP) { f.discoveryStatus = 404 })
	e9.want(e9.authURL(e9.base, e9.base), 500, "Server returned invalid response: HTTP status code 404 Not Found at "+e9.idp.Issuer+".well-known/openid-configuration")
}

func TestOpenIDTooManyPendingStates(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{})
	for i := 0; i < 101; i++ {
		e.ok(e.authURL(e.base, e.base))
	}
	e.want(e.authURL(e.base, e.base), 500, "too many pending openid auth request for realm authentik")
}

func TestOpenIDLoginUsernameClaims(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		opts     []string
		claims   map[string]any
		userinfo map[string]any
		want     string
		fail     string
	}{
		{"unset uses sub", nil, nil, nil, "subject-123@authentik", ""},
		{"subject falls back to sub", []string{"username-claim", "subject"}, nil, nil, "subject-123@authentik", ""},
		{"username is preferred_username", []string{"username-claim", "username"}, map[string]any{"preferred_username": "alice"}, nil, "alice@authentik", ""},
		{"username missing", []string{"username-claim", "username"}, nil, nil, "", "missing claim 'preferred_username'"},
		{"email", []string{"username-claim", "email"}, map[string]any{"email": "alice@example.com"}, nil, "alice@example.com@authentik", ""},
		{"email from userinfo", []string{"username-claim", "email"}, nil, map[string]any{"email": "bob@example.com"}, "bob@example.com@authentik", ""},
		{"other claim missing", []string{"username-claim", "upn"}, nil, nil, "", "missing configured claim 'upn' in returned info object"},
		{"hashed sub too long", nil, map[string]any{"sub": strings.Repeat("ab", 32)}, nil, "",
			"user name '" + strings.Repeat("ab", 32) + "@authentik' is too long (74 > 64)"},
		{"invalid characters", []string{"username-claim", "name"}, map[string]any{"name": "Alice Smith"}, nil, "",
			"value 'Alice Smith@authentik' does not look like a valid user name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newOIDC(t, pvesim.Options{}, append([]string{"autocreate", "1"}, c.opts...)...)
			e.idp.set(func(f *fakeIdP) { f.claims = c.claims; f.userinfo = c.userinfo })
			r := e.flow()
			if c.fail != "" {
				e.wantLoginFailure(r, c.fail)
				return
			}
			d := e.ok(r).dataMap()
			if d["username"] != c.want || !strings.HasPrefix(d["ticket"].(string), "PVE:"+c.want+":") || d["CSRFPreventionToken"] == "" || d["cap"] == nil {
				t.Fatalf("login = %v", d)
			}
			// the ticket works
			e.ok(e.do("GET", "/access/permissions", nil, ticket(d["ticket"].(string), "")))
			if !strings.Contains(e.lastLog(), "successful openid auth for user '"+c.want+"'") {
				t.Fatalf("log %q", e.lastLog())
			}
		})
	}
}

func TestOpenIDAutocreate(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{}, "username-claim", "email")
	e.idp.set(func(f *fakeIdP) {
		f.claims = map[string]any{"email": "alice@example.com", "given_name": "Alice Liddell"}
	})
	e.wantLoginFailure(e.flow(), "no such user ('alice@example.com@authentik')")
	// pre-created users may log in; disabled ones not
	e.ok(e.do("POST", "/access/users", vals("userid", "alice@example.com@authentik", "enable", "0"), token(e.root)))
	e.wantLoginFailure(e.flow(), "user 'alice@example.com@authentik' is disabled")
	e.ok(e.do("PUT", "/access/users/alice@example.com@authentik", vals("enable", "1"), token(e.root)))
	e.ok(e.flow())
	// autocreate makes a user with email and names, no groups, no ACL
	e.ok(e.do("DELETE", "/access/users/alice@example.com@authentik", nil, token(e.root)))
	e.ok(e.do("PUT", "/access/domains/authentik", vals("autocreate", "1"), token(e.root)))
	e.ok(e.flow())
	d := e.ok(e.do("GET", "/access/users/alice@example.com@authentik", nil, token(e.root))).dataMap()
	if d["enable"] != float64(1) || d["email"] != "alice@example.com" || d["firstname"] != "Alice Liddell" || len(d["groups"].([]any)) != 0 {
		t.Fatalf("autocreated user %v", d)
	}
	// an existing user is not modified by autocreate
	e.idp.set(func(f *fakeIdP) { f.claims["given_name"] = "Changed" })
	e.ok(e.flow())
	if p := e.s.Users(); p[0].Firstname != "Alice Liddell" {
		t.Fatalf("autocreate changed an existing user: %+v", p[0])
	}
	// no permissions until an admin adds some
	tk := e.ok(e.flow()).dataMap()["ticket"].(string)
	e.want(e.do("GET", "/cluster/status", nil, ticket(tk, "")), 403, "Permission check failed (/, Sys.Audit)")
}

func TestOpenIDStateIsSingleUseNodeLocalAndExpires(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	e := newOIDC(t, pvesim.Options{Nodes: 3, Now: clock}, "autocreate", "1")
	u := e.ok(e.authURL(e.base, e.base)).Data.(string)
	code, state := e.visit(u)
	login := vals("code", code, "state", state, "redirect-url", e.base)
	// another node has no such state (it consumes nothing)
	e.wantLoginFailure(e.doURL(e.s.NodeURL(2), "POST", "/access/openid/login", login, noAuth), "no openid auth state found (possible timeout)")
	if r := e.do("POST", "/access/openid/login", login, noAuth); r.Status != 200 {
		t.Fatalf("login on node 1: %d %v", r.Status, e.s.Log())
	}
	// single use
	e.wantLoginFailure(e.do("POST", "/access/openid/login", login, noAuth), "no openid auth state found (possible timeout)")
	// 10 minutes
	u = e.ok(e.authURL(e.base, e.base)).Data.(string)
	code, state = e.visit(u)
	now = now.Add(11 * time.Minute)
	e.wantLoginFailure(e.do("POST", "/access/openid/login", vals("code", code, "state", state, "redirect-url", e.base), noAuth),
		"no openid auth state found (possible timeout)")
	e.wantLoginFailure(e.do("POST", "/access/openid/login", vals("code", "x", "state", "not json", "redirect-url", e.base), noAuth),
		"unable to parse openid auth state")
	// (the node clock back in sync with the IdP, whose ID tokens expire in 5 minutes)
	now = time.Now()
	// a cluster answer carries the cluster name for users with Sys.Audit on /
	e.ok(e.do("PUT", "/access/acl", vals("path", "/", "users", "subject-123@authentik", "roles", "PVEAuditor"), token(e.root)))
	d := e.ok(e.flow()).dataMap()
	if d["clustername"] != "pvesso-sim" {
		t.Fatalf("clustername %v", d["clustername"])
	}
	// parameter limits of login
	e.wantErr(e.do("POST", "/access/openid/login", vals("code", strings.Repeat("c", 4097), "state", "{}", "redirect-url", e.base), noAuth), "code", "value may only be 4096 characters long")
}

func TestOpenIDTokenExchange(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{}, "autocreate", "1")
	e.ok(e.flow())
	e.idp.mu.Lock()
	user, pass, form := e.idp.lastBasicUser, e.idp.lastBasicPass, e.idp.lastTokenForm
	e.idp.mu.Unlock()
	if user != "pve-client" || pass != testClientSecret || form.Get("grant_type") != "authorization_code" || form.Get("code_verifier") == "" || form.Get("redirect_uri") != e.base {
		t.Fatalf("token request basic=%q/%q form=%v", user, pass, form)
	}
	// a different redirect-url at login is refused by the IdP
	u := e.ok(e.authURL(e.base, e.base)).Data.(string)
	code, state := e.visit(u)
	e.wantLoginFailure(e.do("POST", "/access/openid/login", vals("code", code, "state", state, "redirect-url", e.base+"/"), noAuth),
		"Failed to contact token endpoint: Server returned error response: invalid_grant")
	e.idp.set(func(f *fakeIdP) { f.tokenError = "invalid_client" })
	e.wantLoginFailure(e.flow(), "Failed to contact token endpoint: Server returned error response: invalid_client: nope")
	e.idp.set(func(f *fakeIdP) { f.tokenError = ""; f.noIDToken = true })
	e.wantLoginFailure(e.flow(), "Server did not return an ID token")
	// TLS trust is checked on the token call too
	e.idp.set(func(f *fakeIdP) { f.noIDToken = false })
	u = e.ok(e.authURL(e.base, e.base)).Data.(string)
	code, state = e.visit(u)
	e.s.SetOIDCRoots(nil)
	e.wantLoginFailure(e.do("POST", "/access/openid/login", vals("code", code, "state", state, "redirect-url", e.base), noAuth), "Request failed")
}

func TestOpenIDIDTokenChecks(t *testing.T) {
	t.Parallel()
	type tc struct {
		name  string
		ver   string
		opts  []string
		setup func(f *fakeIdP)
		fail  string
	}
	cases := []tc{
		{"RS256 on 8.4", "8.4.14", nil, func(f *fakeIdP) {}, ""},
		{"RS256 on 9.2", "9.2.0", nil, func(f *fakeIdP) {}, ""},
		// ASSUMPTION-driven: PVE 8 verifies like openidconnect 2.4 (RS256 only)
		{"ES256 refused on 8.4", "8.4.14", nil, func(f *fakeIdP) { f.alg = "ES256" }, "Failed to verify ID token: Signature verification failed"},
		{"ES256 per discovery on 9.2", "9.2.0", nil, func(f *fakeIdP) { f.alg = "ES256" }, ""},
		{"HS256 refused on 8.4", "8.4.14", nil, func(f *fakeIdP) { f.alg = "HS256" }, "Failed to verify ID token: Signature verification failed"},
		{"HS256 with client-key on 9.2", "9.2.0", nil, func(f *fakeIdP) { f.alg = "HS256" }, ""},
		{"alg not in discovery on 9.2", "9.2.0", nil, func(f *fakeIdP) { f.alg = "ES256"; f.algsInDoc = []string{"RS256"} }, "Failed to verify ID token: Signature verification failed"},
		{"extra audience", "9.1.2", nil, func(f *fakeIdP) { f.aud = []string{"pve-client", "other-app"} }, "Failed to verify ID token: Invalid audiences: `other-app` is not a trusted audience"},
		{"trusted extra audience", "9.2.0", []string{"audiences", "other-app"}, func(f *fakeIdP) { f.aud = []string{"pve-client", "other-app"} }, ""},
		{"wrong audience", "8.4.14", nil, func(f *fakeIdP) { f.aud = "someone-else" }, "Failed to verify ID token: Invalid audiences"},
		{"nonce", "8.4.14", nil, func(f *fakeIdP) { f.nonceOverride = "replayed" }, "Failed to verify ID token: Invalid nonce"},
		{"expired", "8.4.14", nil, func(f *fakeIdP) { f.expIn = -time.Minute }, "Failed to verify ID token: Expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newOIDC(t, pvesim.Options{Version: c.ver}, append([]string{"autocreate", "1"}, c.opts...)...)
			e.idp.set(c.setup)
			r := e.flow()
			if c.fail == "" {
				e.ok(r)
				return
			}
			e.wantLoginFailure(r, c.fail)
		})
	}
}

func TestOpenIDUserinfo(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{Version: "8.4.14"}, "autocreate", "1", "username-claim", "email")
	e.idp.set(func(f *fakeIdP) {
		f.userinfo = map[string]any{"email": "ui@example.com"}
		f.claims = map[string]any{"email": "id@example.com"}
	})
	// ID-token claims win over userinfo
	if d := e.ok(e.flow()).dataMap(); d["username"] != "id@example.com@authentik" {
		t.Fatalf("username %v", d["username"])
	}
	calls := func() int {
		e.idp.mu.Lock()
		defer e.idp.mu.Unlock()
		return e.idp.userinfoCalls
	}
	if calls() != 1 {
		t.Fatalf("userinfo calls %d", calls())
	}
	e.ok(e.do("PUT", "/access/domains/authentik", vals("query-userinfo", "0"), token(e.root)))
	e.ok(e.flow())
	if calls() != 1 {
		t.Fatal("query-userinfo=0 must skip the userinfo endpoint")
	}
	e.ok(e.do("PUT", "/access/domains/authentik", vals("delete", "query-userinfo"), token(e.root)))
	e.idp.set(func(f *fakeIdP) { f.noUserinfo = true })
	e.wantLoginFailure(e.flow(), "No userinfo endpoint specified")
}

func TestOpenIDGroupsClaim(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{Version: "8.4.14"}, "autocreate", "1", "username-claim", "preferred_username", "groups-claim", "groups")
	root := token(e.root)
	e.ok(e.do("POST", "/access/groups", vals("groupid", "admins-authentik"), root))
	e.ok(e.do("POST", "/access/groups", vals("groupid", "admin"), root))
	e.ok(e.do("POST", "/access/users", vals("userid", "alice@authentik", "groups", "admin"), root))
	e.idp.set(func(f *fakeIdP) {
		f.claims = map[string]any{"preferred_username": "alice", "groups": []any{"admins", "users", "authentik Admins"}}
	})
	e.ok(e.flow())
	groups := func() []string { return e.s.Users()[0].Groups }
	if g := groups(); strings.Join(g, ",") != "admin,admins-authentik" {
		t.Fatalf("only existing groups are joined, manual ones kept: %v", g)
	}
	if !strings.Contains(strings.Join(e.s.Log(), "\n"), "openid group 'authentik Admins' contains invalid characters") {
		t.Fatalf("log %v", e.s.Log())
	}
	e.ok(e.do("PUT", "/access/domains/authentik", vals("groups-autocreate", "1"), root))
	e.ok(e.flow())
	if g := groups(); strings.Join(g, ",") != "admin,admins-authentik,users-authentik" {
		t.Fatalf("autocreate: %v", g)
	}
	e.ok(e.do("PUT", "/access/domains/authentik", vals("groups-overwrite", "1"), root))
	e.idp.set(func(f *fakeIdP) { f.claims["groups"] = []any{"users"} })
	e.ok(e.flow())
	if g := groups(); strings.Join(g, ",") != "users-authentik" {
		t.Fatalf("overwrite drops all other groups: %v", g)
	}
	// a non-array claim or a missing claim only logs
	e.idp.set(func(f *fakeIdP) { f.claims["groups"] = "users" })
	e.ok(e.flow())
	if !strings.Contains(strings.Join(e.s.Log(), "\n"), "openid groups list is not an array; groups will not be updated") {
		t.Fatal("non-array not logged")
	}
	if g := groups(); strings.Join(g, ",") != "users-authentik" {
		t.Fatalf("non-array changed groups: %v", g)
	}
	e.idp.set(func(f *fakeIdP) { delete(f.claims, "groups") })
	e.ok(e.flow())
	if !strings.Contains(e.s.Log()[len(e.s.Log())-2], "openid groups claim 'groups' is not found in claims") {
		t.Fatalf("missing claim not logged: %v", e.s.Log())
	}
}

func TestWebLoginPage(t *testing.T) {
	t.Parallel()
	e := newOIDC(t, pvesim.Options{}, "autocreate", "1", "comment", "authentik", "username-claim", "preferred_username")
	e.idp.set(func(f *fakeIdP) { f.claims = map[string]any{"preferred_username": "alice"} })
	page := func(u string) (int, string, http.Header) {
		res, err := e.hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	code, body, _ := page(e.base + "/")
	if code != 200 || !strings.Contains(body, `<option value="authentik"`) || !strings.Contains(body, "Login (OpenID redirect)") {
		t.Fatalf("login page %d %s", code, body)
	}
	code, _, hdr := page(e.base + "/?realm=authentik&start=1")
	loc := hdr.Get("Location")
	if code != http.StatusFound || !strings.HasPrefix(loc, e.idp.srv.URL+"/app/authorize?") {
		t.Fatalf("start: %d %q", code, loc)
	}
	pu, _ := url.Parse(loc)
	if pu.Query().Get("redirect_uri") != e.base {
		t.Fatalf("redirect_uri %q, want the node origin %q", pu.Query().Get("redirect_uri"), e.base)
	}
	res, err := e.browser.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if !strings.HasPrefix(back, e.base+"?") && !strings.HasPrefix(back, e.base+"/?") {
		t.Fatalf("IdP redirect %q", back)
	}
	code, body, hdr = page(back)
	if code != 200 || !strings.Contains(body, "logged in as alice@authentik") || !strings.Contains(hdr.Get("Set-Cookie"), "PVEAuthCookie=PVE%3Aalice%40authentik") {
		t.Fatalf("callback: %d %s %v", code, body, hdr)
	}
	// a reused callback fails like the GUI shows it
	_, body, _ = page(back)
	if !strings.Contains(body, "OpenID login failed, please try again") {
		t.Fatalf("replayed callback: %s", body)
	}
	// an untrusted IdP fails at the redirect step
	e.s.SetOIDCRoots(nil)
	_, body, _ = page(e.base + "/?realm=authentik&start=1")
	if !strings.Contains(body, "OpenID redirect failed: Request failed (500)") {
		t.Fatalf("untrusted: %s", body)
	}
	// password login for pam
	res, err = e.hc.PostForm(e.base+"/", url.Values{"username": {"root"}, "realm": {"pam"}, "password": {e.s.RootPassword()}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "logged in as root@pam") {
		t.Fatalf("password login: %s", b)
	}
}
