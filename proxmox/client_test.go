package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/tlstrust"
)

func TestNewValidatesBaseURL(t *testing.T) {
	for _, bad := range []string{"http://pve:8006", "pve:8006", "https://", "https://pve:8006/?x=1", "https://u:p@pve:8006"} {
		if _, err := New(bad, Auth{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	c, err := New("https://pve.example:8006/api2/json/", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "https://pve.example:8006" {
		t.Errorf("base %q", c.BaseURL())
	}
	if _, err := New("https://pve:8006", Auth{}, WithHTTPClient(http.DefaultClient), WithTLS(tlstrust.Config{})); err == nil {
		t.Error("WithHTTPClient+WithTLS accepted")
	}
	if _, err := New("https://pve:8006", Auth{}, WithRelease("eight")); err == nil {
		t.Error("bad release accepted")
	}
}

func TestTokenAuthParsing(t *testing.T) {
	secret := "5a1e9d2c-0000-4bbb-8ccc-123456789abc"
	for _, spec := range []string{"root@pam!pvesso=" + secret, "PVEAPIToken=root@pam!pvesso=" + secret, "  root@pam!pvesso=" + secret + "\n"} {
		a, err := TokenAuth(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		c, _ := New("https://pve:8006", a)
		if c.AuthUser() != "root@pam" || c.TokenID() != "root@pam!pvesso" {
			t.Errorf("AuthUser %q TokenID %q", c.AuthUser(), c.TokenID())
		}
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			if s := fmt.Sprintf(f, a); strings.Contains(s, secret) {
				t.Errorf("Auth printed with %s leaks the secret: %s", f, s)
			}
		}
	}
	bad := []string{"", "root@pam!pvesso", "root@pam!pvesso=", "root@pam=" + secret, "root!x=" + secret,
		"root@pam!1x=" + secret, "root@pam!pvesso=abc def", strings.Repeat("a", 60) + "@pam!t=" + secret}
	for _, spec := range bad {
		_, err := TokenAuth(spec)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: err %v", spec, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || (strings.Contains(spec, "abc def") && strings.Contains(err.Error(), "abc def")) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
	// Password auth is not printable either.
	p := PasswordAuth("root@pam", "hunter2-long", "123456")
	if s := fmt.Sprintf("%v %+v %#v", p, p, p); strings.Contains(s, "hunter2") || strings.Contains(s, "123456") {
		t.Errorf("PasswordAuth printed: %s", s)
	}
}

func TestTokenRequestEncoding(t *testing.T) {
	f := newFake(t)
	f.onData("POST /access/domains", nil)
	f.onData("GET /access/permissions", map[string]any{"/": map[string]any{"Realm.Allocate": 1, "Sys.Audit": 0}})
	f.onData("GET /access/users/alice@example.com@authentik", map[string]any{"enable": 1, "groups": []string{"admin"}})
	c := f.client(tokenAuth(t), WithRelease("9.2"))
	err := c.CreateRealm(ctx(t), RealmCreate{
		Realm: "authentik", IssuerURL: "https://auth.example/application/o/proxmox/", ClientID: "cid",
		ClientKey: "ck-secret-value", UsernameClaim: "username", Autocreate: ptr(true), Default: ptr(false),
		Comment: "authentik SSO", QueryUserinfo: ptr(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last("POST /access/domains")
	want := map[string]string{
		"realm": "authentik", "type": "openid", "issuer-url": "https://auth.example/application/o/proxmox/",
		"client-id": "cid", "client-key": "ck-secret-value", "username-claim": "username",
		"autocreate": "1", "default": "0", "comment": "authentik SSO", "query-userinfo": "0",
	}
	if len(r.Form) != len(want) {
		t.Errorf("form %v", r.Form)
	}
	for k, v := range want {
		if got := r.Form[k]; len(got) != 1 || got[0] != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
	if r.Header.Get("Authorization") != "PVEAPIToken="+testToken {
		t.Errorf("Authorization %q", r.Header.Get("Authorization"))
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Cookie") != "" || r.Header.Get("CSRFPreventionToken") != "" {
		t.Error("token request carried ticket headers")
	}
	perms, err := c.Permissions(ctx(t), PermissionsOptions{Path: "/", UserID: "root@pam!pvesso"})
	if err != nil {
		t.Fatal(err)
	}
	if !perms.Has("/", "Realm.Allocate") || !perms.Has("/", "Sys.Audit") || perms["/"]["Sys.Audit"] || !perms["/"]["Realm.Allocate"] {
		t.Errorf("perms %v", perms)
	}
	if m := perms.Missing("/", "Sys.Audit", "Permissions.Modify", "Group.Allocate"); strings.Join(m, ",") != "Group.Allocate,Permissions.Modify" {
		t.Errorf("missing %v", m)
	}
	pr := f.last("GET /access/permissions")
	if pr.Query.Get("path") != "/" || pr.Query.Get("userid") != "root@pam!pvesso" || pr.RawBody != "" {
		t.Errorf("permissions query %v body %q", pr.Query, pr.RawBody)
	}
	u, err := c.GetUser(ctx(t), "alice@example.com@authentik")
	if err != nil {
		t.Fatal(err)
	}
	if u.UserID != "alice@example.com@authentik" || !u.Enable || len(u.Groups) != 1 || u.Groups[0] != "admin" {
		t.Errorf("user %+v", u)
	}
	f.noViolations()
}

func TestTicketLoginCSRFAndSingleLogin(t *testing.T) {
	f := newFake(t)
	var logins int
	var mu sync.Mutex
	f.on("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		logins++
		mu.Unlock()
		r.ParseForm()
		if r.PostForm.Get("username") != "root@pam" || r.PostForm.Get("password") != "s3cret-pw" || r.PostForm.Get("new-format") != "1" {
			pveError(w, 401, "authentication failure", true, nil)
			return
		}
		writeData(w, map[string]any{"username": "root@pam", "ticket": "PVE:root@pam:66AA0000::c2lnbmF0dXJl+/=", "CSRFPreventionToken": "66AA0000:csrf", "cap": map[string]any{}})
	})
	f.onData("GET /access/groups", []any{map[string]any{"groupid": "admin", "users": "root@pam,alice@pve"}})
	f.onData("POST /access/groups", nil)
	c := f.client(PasswordAuth("root@pam", "s3cret-pw", ""))
	if c.AuthUser() != "root@pam" || c.TokenID() != "" {
		t.Errorf("AuthUser %q", c.AuthUser())
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ListGroups(ctx(t)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := c.CreateGroup(ctx(t), "admin", ""); err != nil {
		t.Fatal(err)
	}
	if logins != 1 {
		t.Errorf("logged in %d times, want 1", logins)
	}
	g := f.last("GET /access/groups")
	if g.Header.Get("Cookie") != "PVEAuthCookie=PVE%3Aroot%40pam%3A66AA0000%3A%3Ac2lnbmF0dXJl%2B%2F%3D" {
		t.Errorf("cookie %q", g.Header.Get("Cookie"))
	}
	if g.Header.Get("CSRFPreventionToken") != "" {
		t.Error("GET carried the CSRF token")
	}
	p := f.last("POST /access/groups")
	if p.Header.Get("CSRFPreventionToken") != "66AA0000:csrf" || p.Header.Get("Authorization") != "" {
		t.Errorf("write headers %v", p.Header)
	}
	if p.Form.Get("groupid") != "admin" || p.Form.Has("comment") {
		t.Errorf("group form %v", p.Form)
	}
	tk := f.last("POST /access/ticket")
	if tk.Header.Get("Cookie") != "" || tk.Header.Get("CSRFPreventionToken") != "" {
		t.Error("ticket request carried credentials")
	}
	f.noViolations()

	// Wrong password: 401, error without the password.
	bad := f.client(PasswordAuth("root@pam", "wrong-password", ""))
	err := bad.Login(ctx(t))
	if !errors.Is(err, ErrUnauthenticated) || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("login err %v", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Reason != "authentication failure" {
		t.Errorf("APIError %+v", ae)
	}
}

// tfaTicket builds a "PVE:!tfa!<challenge>:..." ticket like the server does
// (only ':' is URI-escaped in the challenge).
func tfaTicket(challenge string) string {
	return "PVE:!tfa!" + strings.ReplaceAll(challenge, ":", "%3A") + ":66AA0000::c2ln"
}

func TestTOTPTwoStep(t *testing.T) {
	f := newFake(t)
	challenge := tfaTicket(`{"totp":true,"recovery":[0,1,2]}`)
	f.on("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		switch {
		case r.PostForm.Get("tfa-challenge") == "":
			if r.PostForm.Get("password") != "pw-alice-1" {
				pveError(w, 401, "authentication failure", true, nil)
				return
			}
			writeData(w, map[string]any{"username": "alice@pve", "ticket": challenge, "CSRFPreventionToken": "x:y", "NeedTFA": 1})
		case r.PostForm.Get("tfa-challenge") == challenge && (r.PostForm.Get("password") == "totp:123456" || r.PostForm.Get("password") == "recovery:abcd-efgh"):
			writeData(w, map[string]any{"username": "alice@pve", "ticket": "PVE:alice@pve:66AA0001::full", "CSRFPreventionToken": "66AA0001:csrf", "cap": map[string]any{}})
		default:
			pveError(w, 401, "authentication failure", true, nil)
		}
	})
	f.onData("GET /version", map[string]any{"version": "9.2.1", "release": "9.2", "repoid": "0123abcd"})

	// No OTP: typed error listing the offered methods.
	_, err := f.client(PasswordAuth("alice@pve", "pw-alice-1", "")).Version(ctx(t))
	var tfa *TFARequiredError
	if !errors.Is(err, ErrTFARequired) || !errors.As(err, &tfa) || strings.Join(tfa.Methods, ",") != "totp,recovery" {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "pw-alice-1") || strings.Contains(err.Error(), challenge) {
		t.Errorf("error leaks: %v", err)
	}

	// With OTP: second POST carries exactly username, tfa-challenge, password=totp:<code>.
	c := f.client(PasswordAuth("alice@pve", "pw-alice-1", "123456"))
	v, err := c.Version(ctx(t))
	if err != nil || v.Release != "9.2" {
		t.Fatalf("version %v %v", v, err)
	}
	second := f.last("POST /access/ticket")
	if second.Form.Get("password") != "totp:123456" || second.Form.Get("tfa-challenge") != challenge || second.Form.Get("username") != "alice@pve" || len(second.Form) != 3 {
		t.Errorf("second step form %v", second.Form)
	}
	if got := f.last("GET /version").Header.Get("Cookie"); got != "PVEAuthCookie=PVE%3Aalice%40pve%3A66AA0001%3A%3Afull" {
		t.Errorf("cookie %q", got)
	}
	if c.AuthUser() != "alice@pve" {
		t.Errorf("AuthUser %q", c.AuthUser())
	}
	// A later Login reuses the live ticket: the one-time code is not sent
	// again (it would be stale a minute later).
	posts := f.count("POST /access/ticket")
	for range 2 {
		if err := c.Login(ctx(t)); err != nil {
			t.Fatalf("Login with a live ticket: %v", err)
		}
	}
	if n := f.count("POST /access/ticket"); n != posts {
		t.Errorf("Login sent %d more ticket requests with a live ticket", n-posts)
	}

	// Recovery key.
	if _, err := f.client(PasswordAuth("alice@pve", "pw-alice-1", "recovery:abcd-efgh")).Version(ctx(t)); err != nil {
		t.Errorf("recovery: %v", err)
	}

	// Wrong code: 401 without the code in the error.
	_, err = f.client(PasswordAuth("alice@pve", "pw-alice-1", "654321")).Version(ctx(t))
	if !errors.Is(err, ErrUnauthenticated) || strings.Contains(err.Error(), "654321") {
		t.Errorf("wrong code: %v", err)
	}
	f.noViolations()
}

func TestTFAWithoutTOTPFactor(t *testing.T) {
	f := newFake(t)
	f.on("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		writeData(w, map[string]any{"username": "bob@pve", "ticket": tfaTicket(`{"webauthn":{"challenge":"x"}}`), "CSRFPreventionToken": "x", "NeedTFA": 1})
	})
	err := f.client(PasswordAuth("bob@pve", "pw-bob-12", "123456")).Login(ctx(t))
	var tfa *TFARequiredError
	if !errors.As(err, &tfa) || strings.Join(tfa.Methods, ",") != "webauthn" || !strings.Contains(tfa.Reason, "no totp") {
		t.Fatalf("err %v", err)
	}
	if f.count("POST /access/ticket") != 1 {
		t.Error("second step sent although the account has no TOTP")
	}
}

func TestLegacyTicketWithoutNewFormat(t *testing.T) {
	f := newFakeSchema(t, "7.0")
	f.on("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.PostForm.Has("new-format") {
			pveError(w, 400, "Parameter verification failed.", false, map[string]string{"new-format": "property is not defined in schema and the schema does not allow additional properties"})
			return
		}
		writeData(w, map[string]any{"username": "root@pam", "ticket": "PVE:root@pam:1::s", "CSRFPreventionToken": "1:c"})
	})
	c := f.client(PasswordAuth("root@pam", "pw-root-1", ""))
	if err := c.Login(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if f.count("POST /access/ticket") != 2 {
		t.Errorf("%d ticket requests", f.count("POST /access/ticket"))
	}
	// The 7.0 schema flags exactly the first attempt.
	vs := f.tr.Violations()
	if len(vs) != 1 || !strings.Contains(vs[0].Error(), "new-format") {
		t.Errorf("violations %v", vs)
	}
}

func TestTicketRenewalAndRelogin(t *testing.T) {
	f := newFake(t)
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	n := 0
	valid := map[string]bool{}
	f.on("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		pw := r.PostForm.Get("password")
		if pw != "pw-root-1" && !valid[pw] {
			pveError(w, 401, "authentication failure", true, nil)
			return
		}
		n++
		tk := fmt.Sprintf("PVE:root@pam:%08X::sig", n)
		valid[tk] = true
		writeData(w, map[string]any{"username": "root@pam", "ticket": tk, "CSRFPreventionToken": "c", "cap": map[string]any{}})
	})
	f.on("GET /access/acl", func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("PVEAuthCookie")
		if err != nil {
			pveError(w, 401, "No ticket", true, nil)
			return
		}
		v, _ := url.QueryUnescape(ck.Value)
		if !valid[v] {
			pveError(w, 401, "authentication failure", true, nil)
			return
		}
		writeData(w, []any{map[string]any{"path": "/", "type": "group", "ugid": "admin", "roleid": "Administrator", "propagate": 1}})
	})
	c := f.client(PasswordAuth("root@pam", "pw-root-1", ""), withClock(clock))
	if _, err := c.ListACL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	first := c.session().ticket
	advance(30 * time.Minute)
	c.ListACL(ctx(t))
	if f.count("POST /access/ticket") != 1 {
		t.Fatal("renewed too early")
	}
	advance(40 * time.Minute) // 70 min: renew with the old ticket as password
	if _, err := c.ListACL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	renew := f.last("POST /access/ticket")
	if renew.Form.Get("password") != first || renew.Form.Has("new-format") {
		t.Errorf("renewal form %v", renew.Form)
	}
	// Server forgets all tickets: one 401, re-login, retry succeeds.
	for k := range valid {
		delete(valid, k)
	}
	before := f.count("POST /access/ticket")
	acl, err := c.ListACL(ctx(t))
	if err != nil || len(acl) != 1 || !acl[0].Propagate {
		t.Fatalf("acl %v %v", acl, err)
	}
	if f.count("POST /access/ticket") != before+1 {
		t.Errorf("re-login count %d", f.count("POST /access/ticket")-before)
	}
	// After 3 h without use: full login (password), no renewal attempt.
	advance(3 * time.Hour)
	before = f.count("POST /access/ticket")
	c.ListACL(ctx(t))
	if f.count("POST /access/ticket") != before+1 || f.last("POST /access/ticket").Form.Get("password") != "pw-root-1" {
		t.Error("expired ticket not replaced by a fresh login")
	}
	f.noViolations()
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		reason   string
		message  bool
		errs     map[string]string
		sentinel error
		not      []error
	}{
		{"401", 401, "authentication failure", true, nil, ErrUnauthenticated, []error{ErrForbidden, ErrNotFound}},
		{"403", 403, "Permission check failed (/access/realm, Realm.Allocate)", true, nil, ErrForbidden, []error{ErrUnauthenticated}},
		{"exists", 500, "add auth server failed: domain 'authentik' already exists", true, nil, ErrAlreadyExists, []error{ErrNotFound}},
		{"exists old", 500, "create group failed: group 'admin' already exists", false, nil, ErrAlreadyExists, nil},
		{"no domain", 500, "update auth server failed: domain 'x' does not exist", true, nil, ErrNotFound, []error{ErrAlreadyExists}},
		{"no user", 500, "no such user ('x@pve')", false, nil, ErrNotFound, nil},
		{"no group", 500, "create user failed: no such group 'admin'", true, nil, ErrNotFound, nil},
		{"404", 404, "Not Found", false, nil, ErrNotFound, nil},
		{"400", 400, "Parameter verification failed.", true, map[string]string{"realm": "value does not look like a valid realm"}, nil, []error{ErrNotFound, ErrAlreadyExists}},
		{"500 other", 500, "cfs-lock 'file-domains_cfg' error: got lock request timeout", true, nil, nil, []error{ErrNotFound, ErrAlreadyExists}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.on("GET /access/domains/authentik", func(w http.ResponseWriter, r *http.Request) {
				pveError(w, tc.status, tc.reason, tc.message, tc.errs)
			})
			_, err := f.client(tokenAuth(t)).GetRealm(ctx(t), "authentik")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %T %v", err, err)
			}
			if ae.StatusCode != tc.status || ae.Reason != tc.reason || ae.Method != "GET" || ae.Path != "/access/domains/authentik" {
				t.Errorf("APIError %+v", ae)
			}
			if tc.message && ae.Message != tc.reason {
				t.Errorf("message %q (trailing newline must be trimmed)", ae.Message)
			}
			if !tc.message && ae.Message != "" {
				t.Errorf("message %q", ae.Message)
			}
			if ae.Text() != tc.reason || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("text %q error %q", ae.Text(), err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("not %v", tc.sentinel)
			}
			for _, s := range tc.not {
				if errors.Is(err, s) {
					t.Errorf("wrongly %v", s)
				}
			}
			for k, v := range tc.errs {
				if ae.Errors[k] != v || !strings.Contains(err.Error(), k+": "+v) {
					t.Errorf("errors %v / %v", ae.Errors, err)
				}
			}
		})
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	f := newFake(t)
	const clientKey = "ck-9f8e7d6c5b4a"
	tokenSecret := "5a1e9d2c-0000-4bbb-8ccc-123456789abc"
	// A hostile/buggy server echoing everything it got.
	echo := func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		var parts []string
		for k, v := range r.PostForm {
			parts = append(parts, k+"="+v[0])
		}
		parts = append(parts, "auth="+r.Header.Get("Authorization"), "cookie="+r.Header.Get("Cookie"), "csrf="+r.Header.Get("CSRFPreventionToken"))
		all := strings.Join(parts, " ")
		pveError(w, 400, "bad "+all, true, map[string]string{"client-key": "got " + all})
	}
	f.on("POST /access/domains", echo)
	f.on("PUT /access/domains/authentik", echo)
	f.on("POST /access/openid/login", echo)
	f.on("GET /access/groups", echo)
	c := f.client(tokenAuth(t), WithRelease("9.2"))
	errs := []error{
		c.CreateRealm(ctx(t), RealmCreate{Realm: "authentik", IssuerURL: "https://a/", ClientID: "cid", ClientKey: clientKey}),
		c.UpdateRealm(ctx(t), "authentik", RealmUpdate{ClientKey: ptr(clientKey)}),
	}
	_, err := c.OpenIDLogin(ctx(t), "the-auth-code-123", "state-x", "https://pve:8006")
	errs = append(errs, err)

	f.on("POST /access/ticket", func(w http.ResponseWriter, r *http.Request) {
		writeData(w, map[string]any{"username": "root@pam", "ticket": "PVE:root@pam:1::ticket-sig-secret", "CSRFPreventionToken": "1:csrf-secret"})
	})
	_, err = f.client(PasswordAuth("root@pam", "pw-root-secret", "")).ListGroups(ctx(t))
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("%d: no error", i)
		}
		s := err.Error()
		var ae *APIError
		errors.As(err, &ae)
		s += fmt.Sprintf(" %+v %#v", ae, ae)
		for _, secret := range []string{clientKey, tokenSecret, "the-auth-code-123", "pw-root-secret", "ticket-sig-secret", "csrf-secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("%d: error leaks %q: %s", i, secret, s)
			}
		}
		if !strings.Contains(s, "[REDACTED]") {
			t.Errorf("%d: nothing redacted? %s", i, s)
		}
	}
}

func TestRealmUpdateRules(t *testing.T) {
	f := newFake(t)
	f.onData("PUT /access/domains/authentik", nil)
	c := f.client(tokenAuth(t), WithRelease("9.2"))
	bad := []RealmUpdate{
		{Delete: []string{"username-claim"}},
		{Delete: []string{"issuer-url"}},
		{Delete: []string{"verify"}}, // LDAP option: an OpenID realm does not have it
		{Delete: []string{"capath"}}, // ditto
		{Delete: []string{"tfa"}},    // pam/pve/ldap/ad only
		{Comment: ptr("x"), Delete: []string{"comment"}},
		{Scopes: ptr("")},
	}
	for i, u := range bad {
		if err := c.UpdateRealm(ctx(t), "authentik", u); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%d: %v", i, err)
		}
	}
	if err := c.UpdateRealm(ctx(t), "authentik", RealmUpdate{}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateRealm(ctx(t), "bad realm", RealmUpdate{Comment: ptr("x")}); !errors.Is(err, ErrInvalidArgument) {
		t.Error(err)
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests for refused/empty updates", n)
	}
	err := c.UpdateRealm(ctx(t), "authentik", RealmUpdate{
		IssuerURL: ptr("https://auth.example/application/o/pve/"), ClientKey: ptr("new-key-123"),
		Autocreate: ptr(true), GroupsClaim: ptr("groups"), Delete: []string{"comment", "acr-values", "comment"},
		Digest: "0123456789abcdef0123456789abcdef01234567",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last("PUT /access/domains/authentik")
	want := map[string]string{"issuer-url": "https://auth.example/application/o/pve/", "client-key": "new-key-123",
		"autocreate": "1", "groups-claim": "groups", "delete": "comment,acr-values", "digest": "0123456789abcdef0123456789abcdef01234567"}
	if len(r.Form) != len(want) {
		t.Errorf("form %v", r.Form)
	}
	for k, v := range want {
		if r.Form.Get(k) != v {
			t.Errorf("%s = %q want %q", k, r.Form.Get(k), v)
		}
	}
	if r.Form.Has("username-claim") || r.Form.Has("type") || r.Form.Has("realm") {
		t.Error("update sent a key it must not")
	}
	f.noViolations()
}

func TestVersionGating(t *testing.T) {
	f := newFake(t)
	f.onData("POST /access/domains", nil)
	base := RealmCreate{Realm: "authentik", IssuerURL: "https://a/", ClientID: "c"}
	withGroups := base
	withGroups.GroupsClaim = "groups"
	withGroups.GroupsAutocreate = ptr(true)

	err := f.client(tokenAuth(t), WithRelease("8.3")).CreateRealm(ctx(t), withGroups)
	var ue *UnsupportedError
	if !errors.Is(err, ErrUnsupported) || !errors.As(err, &ue) || ue.Need != "8.4" || ue.Release != "8.3" {
		t.Fatalf("err %v", err)
	}
	if f.count("POST /access/domains") != 0 {
		t.Fatal("unsupported option sent")
	}
	if err := f.client(tokenAuth(t), WithRelease("8.4")).CreateRealm(ctx(t), withGroups); err != nil {
		t.Fatal(err)
	}
	aud := base
	aud.Audiences = "extra"
	if err := f.client(tokenAuth(t), WithRelease("8.4")).CreateRealm(ctx(t), aud); !errors.Is(err, ErrUnsupported) {
		t.Errorf("audiences on 8.4: %v", err)
	}
	if err := f.client(tokenAuth(t), WithRelease("9.2")).CreateRealm(ctx(t), aud); err != nil {
		t.Error(err)
	}
	// Deleting an option the server lacks is refused too.
	if err := f.client(tokenAuth(t), WithRelease("8.0")).UpdateRealm(ctx(t), "authentik", RealmUpdate{Delete: []string{"groups-claim"}}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("delete groups-claim on 8.0: %v", err)
	}
	// Unknown release: GET /version first, only when a gated option is used.
	f.onData("GET /version", map[string]any{"version": "8.2.4", "release": "8.2", "repoid": "deadbeef"})
	c := f.client(tokenAuth(t))
	if err := c.CreateRealm(ctx(t), base); err != nil {
		t.Fatal(err)
	}
	if f.count("GET /version") != 0 {
		t.Error("version fetched without need")
	}
	if err := c.CreateRealm(ctx(t), withGroups); !errors.Is(err, ErrUnsupported) {
		t.Errorf("8.2: %v", err)
	}
	if f.count("GET /version") != 1 {
		t.Errorf("version fetched %d times", f.count("GET /version"))
	}
	f.noViolations()
}

func TestUsersGroupsACLEncoding(t *testing.T) {
	f := newFake(t)
	f.onData("PUT /access/users/alice@example.com@authentik", nil)
	f.onData("POST /access/users", nil)
	f.onData("PUT /access/acl", nil)
	f.onData("PUT /access/groups/admin", nil)
	f.onData("DELETE /access/groups/admin", nil)
	f.onData("DELETE /access/users/bob@pve", nil)
	f.onData("DELETE /access/domains/authentik", nil)
	c := f.client(tokenAuth(t))
	uid := "alice@example.com@authentik"
	if err := c.AddUserToGroups(ctx(t), uid); err != nil || len(f.requests()) != 0 {
		t.Fatalf("empty AddUserToGroups: %v, %d requests", err, len(f.requests()))
	}
	if err := c.AddUserToGroups(ctx(t), uid, "admin", "ops"); err != nil {
		t.Fatal(err)
	}
	r := f.last("PUT /access/users/" + uid)
	if r.Form.Get("groups") != "admin,ops" || r.Form.Get("append") != "1" || len(r.Form) != 2 {
		t.Errorf("form %v", r.Form)
	}
	if err := c.UpdateUser(ctx(t), uid, UserUpdate{Append: true}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("append without groups: %v", err)
	}
	if err := c.UpdateUser(ctx(t), uid, UserUpdate{Email: ptr("alice@example.com"), Enable: ptr(false), Expire: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	r = f.last("PUT /access/users/" + uid)
	if r.Form.Get("email") != "alice@example.com" || r.Form.Get("enable") != "0" || r.Form.Get("expire") != "0" || r.Form.Has("groups") || r.Form.Has("append") {
		t.Errorf("form %v", r.Form)
	}
	if err := c.CreateUser(ctx(t), UserCreate{UserID: uid, Email: "alice@example.com", Groups: []string{"admin"}, Enable: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	r = f.last("POST /access/users")
	if r.Form.Get("userid") != uid || r.Form.Get("groups") != "admin" || r.Form.Get("enable") != "1" || r.Form.Has("password") {
		t.Errorf("form %v", r.Form)
	}
	long := strings.Repeat("a", 55) + "@authentik" // 65 characters
	if err := c.CreateUser(ctx(t), UserCreate{UserID: long}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("65-char user id: %v", err)
	}
	if err := c.CreateUser(ctx(t), UserCreate{UserID: "alice"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("user id without realm: %v", err)
	}
	if err := c.UpdateACL(ctx(t), ACLUpdate{Path: "/", Roles: []string{"Administrator"}, Groups: []string{"admin"}, Propagate: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	r = f.last("PUT /access/acl")
	if r.Form.Get("path") != "/" || r.Form.Get("roles") != "Administrator" || r.Form.Get("groups") != "admin" || r.Form.Get("propagate") != "1" || r.Form.Has("delete") || r.Form.Has("users") {
		t.Errorf("acl form %v", r.Form)
	}
	if err := c.UpdateACL(ctx(t), ACLUpdate{Path: "/", Roles: []string{"Administrator"}, Tokens: []string{"root@pam!pvesso"}, Users: []string{"alice@pve"}, Delete: true}); err != nil {
		t.Fatal(err)
	}
	r = f.last("PUT /access/acl")
	if r.Form.Get("delete") != "1" || r.Form.Get("tokens") != "root@pam!pvesso" || r.Form.Get("users") != "alice@pve" || r.Form.Has("propagate") {
		t.Errorf("acl form %v", r.Form)
	}
	for _, u := range []ACLUpdate{{Roles: []string{"A"}, Groups: []string{"g"}}, {Path: "/", Groups: []string{"g"}}, {Path: "/", Roles: []string{"A"}}, {Path: "/", Roles: []string{"A"}, Groups: []string{"a:b"}}} {
		if err := c.UpdateACL(ctx(t), u); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v", u, err)
		}
	}
	if err := c.UpdateGroup(ctx(t), "admin", "Administrators"); err != nil {
		t.Fatal(err)
	}
	if f.last("PUT /access/groups/admin").Form.Get("comment") != "Administrators" {
		t.Error("comment not sent")
	}
	for _, err := range []error{c.DeleteGroup(ctx(t), "admin"), c.DeleteUser(ctx(t), "bob@pve"), c.DeleteRealm(ctx(t), "authentik")} {
		if err != nil {
			t.Error(err)
		}
	}
	if r := f.last("DELETE /access/users/bob@pve"); r.RawBody != "" || len(r.Query) != 0 {
		t.Errorf("delete carried params: %+v", r)
	}
	f.noViolations()
}

func TestDecodingLooseTypes(t *testing.T) {
	f := newFake(t)
	f.onData("GET /access/users", []any{
		map[string]any{"userid": "root@pam", "enable": 1, "expire": 0, "realm-type": "pam", "groups": "admin,ops", "tokens": []any{map[string]any{"tokenid": "pvesso", "privsep": 0}}},
		map[string]any{"userid": "alice@example.com@authentik", "enable": "0", "expire": "1700000000", "groups": []string{"admin"}, "email": "alice@example.com"},
		map[string]any{"userid": "bob@pve", "enable": true},
		map[string]any{"userid": "carol@pve"},
	})
	f.onData("GET /cluster/status", []any{
		map[string]any{"type": "cluster", "id": "cluster", "name": "lab", "nodes": 3, "quorate": 1, "version": 3},
		map[string]any{"type": "node", "id": "node/pve1", "name": "pve1", "ip": "127.0.0.1", "nodeid": 1, "online": 1, "local": 1},
		map[string]any{"type": "node", "id": "node/pve2", "name": "pve2", "ip": "127.0.0.2", "nodeid": "2", "online": false, "local": 0},
	})
	f.onData("GET /nodes", []any{map[string]any{"node": "pve1", "status": "online", "ssl_fingerprint": "AA:BB", "cpu": 0.05, "maxcpu": 4, "mem": 1024, "maxmem": "4096", "uptime": 99}})
	f.onData("GET /access/domains", []any{
		map[string]any{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
		map[string]any{"realm": "authentik", "type": "openid", "default": 1},
	})
	f.onData("GET /access/domains/authentik", map[string]any{
		"type": "openid", "issuer-url": "https://auth.example/application/o/pve/", "client-id": "cid",
		"client-key": "the-client-key-1", "username-claim": "username", "autocreate": 1, "query-userinfo": 0,
		"digest": "abc", "comment": "SSO",
	})
	f.onData("GET /access/groups/admin", map[string]any{"members": []string{"root@pam"}, "comment": "Admins"})
	f.onData("GET /access/acl", []any{map[string]any{"path": "/", "type": "group", "ugid": "admin", "roleid": "Administrator"}})
	c := f.client(tokenAuth(t))
	users, err := c.ListUsers(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.last("GET /access/users").Query.Get("full") != "1" {
		t.Error("full=1 not sent")
	}
	if len(users) != 4 || strings.Join(users[0].Groups, ",") != "admin,ops" || !users[0].Enable || users[0].RealmType != "pam" || strings.Join(users[0].Tokens, ",") != "pvesso" {
		t.Errorf("user0 %+v", users[0])
	}
	if users[1].Enable || users[1].Expire != 1700000000 || users[1].Groups[0] != "admin" || users[1].Email != "alice@example.com" {
		t.Errorf("user1 %+v", users[1])
	}
	if !users[2].Enable || !users[3].Enable {
		t.Error("enable default is 1")
	}
	cs, err := c.ClusterStatus(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || !cs[0].Quorate || cs[0].Nodes != 3 || cs[1].IP != "127.0.0.1" || !cs[1].Local || cs[2].NodeID != 2 || cs[2].Online {
		t.Errorf("cluster %+v", cs)
	}
	nodes, err := c.Nodes(ctx(t))
	if err != nil || len(nodes) != 1 || nodes[0].SSLFingerprint != "AA:BB" || nodes[0].MaxMem != 4096 || nodes[0].MaxCPU != 4 {
		t.Errorf("nodes %+v %v", nodes, err)
	}
	realms, err := c.ListRealms(ctx(t))
	if err != nil || len(realms) != 2 || !realms[1].Default || realms[0].Default {
		t.Errorf("realms %+v %v", realms, err)
	}
	if f.last("GET /access/domains").Header.Get("Authorization") != "" {
		t.Error("realm list (world) sent credentials")
	}
	r, err := c.GetRealm(ctx(t), "authentik")
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "openid" || r.UsernameClaim != "username" || !r.Autocreate || r.QueryUserinfo == nil || *r.QueryUserinfo || r.Digest != "abc" || r.Realm != "authentik" {
		t.Errorf("realm %+v", r)
	}
	if !r.ClientKeySet || !r.ClientKeyEquals("the-client-key-1") || r.ClientKeyEquals("other") {
		t.Error("client key comparison")
	}
	if _, ok := r.Options["client-key"]; ok || r.Options["issuer-url"] == "" {
		t.Errorf("options %v", r.Options)
	}
	if s := fmt.Sprintf("%v %+v %#v", r, r, *r); strings.Contains(s, "the-client-key-1") {
		t.Errorf("realm printout leaks the client key: %s", s)
	}
	g, err := c.GetGroup(ctx(t), "admin")
	if err != nil || g.GroupID != "admin" || g.Comment != "Admins" || g.Users[0] != "root@pam" {
		t.Errorf("group %+v %v", g, err)
	}
	acl, err := c.ListACL(ctx(t))
	if err != nil || len(acl) != 1 || !acl[0].Propagate || acl[0].UGID != "admin" {
		t.Errorf("acl %+v %v", acl, err)
	}
	f.noViolations()
}

func TestVersionParsing(t *testing.T) {
	cases := map[[2]string][2]int{
		{"8.4.14", "8.4"}: {8, 4},
		{"7.4-3", "7.4"}:  {7, 4},
		{"9.2.1", ""}:     {9, 2},
		{"7.4-3", ""}:     {7, 4},
		{"", ""}:          {0, 0},
		{"x", "y"}:        {0, 0},
	}
	for in, want := range cases {
		maj, min := VersionInfo{Version: in[0], Release: in[1]}.ParsedVersion()
		if maj != want[0] || min != want[1] {
			t.Errorf("%v: %d.%d", in, maj, min)
		}
	}
}

func TestOpenIDEndpoints(t *testing.T) {
	f := newFake(t)
	f.on("POST /access/openid/auth-url", func(w http.ResponseWriter, r *http.Request) {
		writeData(w, "https://auth.example/application/o/authorize/?client_id=cid&state=x")
	})
	f.onData("POST /access/openid/login", map[string]any{"username": "alice@example.com@authentik", "ticket": "PVE:alice@example.com@authentik:1::sig-openid", "CSRFPreventionToken": "1:csrf-openid", "cap": map[string]any{"access": map[string]any{"User.Modify": 1}}})
	f.onData("GET /access/permissions", map[string]any{"/": map[string]any{"Sys.Audit": 1}})
	f.onData("POST /access/groups", nil)
	c := f.client(tokenAuth(t))
	u, err := c.OpenIDAuthURL(ctx(t), "authentik", "https://pve1.example:8006")
	if err != nil || !strings.HasPrefix(u, "https://auth.example/") {
		t.Fatalf("%q %v", u, err)
	}
	r := f.last("POST /access/openid/auth-url")
	if r.Header.Get("Authorization") != "" || r.Form.Get("realm") != "authentik" || r.Form.Get("redirect-url") != "https://pve1.example:8006" {
		t.Errorf("auth-url request %+v", r)
	}
	tk, err := c.OpenIDLogin(ctx(t), "code-1", "state-1", "https://pve1.example:8006")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Username != "alice@example.com@authentik" || tk.Cap["access"]["User.Modify"] != 1 {
		t.Errorf("ticket %+v", tk)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", tk, tk, *tk, tk); strings.Contains(s, "sig-openid") || strings.Contains(s, "csrf-openid") {
		t.Errorf("ticket printout leaks: %s", s)
	}
	if f.last("POST /access/openid/login").Header.Get("Authorization") != "" {
		t.Error("login sent credentials")
	}
	// A client on the OpenID ticket: cookie + CSRF on writes.
	alice := f.client(TicketAuth(*tk))
	if alice.AuthUser() != "alice@example.com@authentik" {
		t.Errorf("AuthUser %q", alice.AuthUser())
	}
	if _, err := alice.Permissions(ctx(t), PermissionsOptions{Path: "/"}); err != nil {
		t.Fatal(err)
	}
	if err := alice.CreateGroup(ctx(t), "admin", "x"); err != nil {
		t.Fatal(err)
	}
	w := f.last("POST /access/groups")
	if w.Header.Get("CSRFPreventionToken") != "1:csrf-openid" || !strings.Contains(w.Header.Get("Cookie"), "PVEAuthCookie=") {
		t.Errorf("ticket write headers %v", w.Header)
	}
	for _, bad := range []func() error{
		func() error { _, err := c.OpenIDAuthURL(ctx(t), "authentik", ""); return err },
		func() error { _, err := c.OpenIDAuthURL(ctx(t), "x", "https://a"); return err },
		func() error { _, err := c.OpenIDLogin(ctx(t), "", "s", "https://a"); return err },
	} {
		if err := bad(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%v", err)
		}
	}
	f.noViolations()
}

func TestNonPVEAnswers(t *testing.T) {
	f := newFake(t)
	f.on("GET /version", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy</html>")) })
	f.onData("GET /nodes", nil)
	c := f.client(tokenAuth(t))
	if _, err := c.Version(ctx(t)); err == nil || !strings.Contains(err.Error(), "not PVE JSON") {
		t.Errorf("html: %v", err)
	}
	if n, err := c.Nodes(ctx(t)); err != nil || len(n) != 0 {
		t.Errorf("null data: %v %v", n, err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Nodes(cctx); err == nil {
		t.Error("cancelled context succeeded")
	}
	f.on("GET /access/acl", func(w http.ResponseWriter, r *http.Request) {
		pveError(w, 501, "Method 'GET /access/acl' not implemented", false, nil)
	})
	_, err := c.ListACL(ctx(t))
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 501 || !strings.Contains(ae.Reason, "not implemented") {
		t.Errorf("501: %v", err)
	}
}
