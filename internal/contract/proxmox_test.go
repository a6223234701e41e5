package contract

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func pveChecker(t testing.TB, v string) *ProxmoxChecker {
	t.Helper()
	c, err := LoadProxmoxChecker(v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func violation(t *testing.T, err error) *ProxmoxViolation {
	t.Helper()
	var v *ProxmoxViolation
	if !errors.As(err, &v) {
		t.Fatalf("want *ProxmoxViolation, got %v", err)
	}
	return v
}

// The trimmed files hold exactly the same definitions as the full schemas
// (when the full schemas are present; they are not part of a fresh clone).
func TestProxmoxTrimmedMatchesFullSchema(t *testing.T) {
	for _, v := range ProxmoxSchemaVersions {
		full := filepath.Join("..", "..", "..", "shared", "reference", "proxmox", "pve-"+v+"-apidoc.json")
		if _, err := os.Stat(full); err != nil {
			t.Skipf("full schema %s not available (fresh clone): %v", full, err)
		}
		fc, err := NewProxmoxChecker(full)
		if err != nil {
			t.Fatal(err)
		}
		tc := pveChecker(t, v)
		for _, p := range tc.Paths() {
			if !reflect.DeepEqual(fc.Methods(p), tc.Methods(p)) {
				t.Errorf("%s %s: methods differ", v, p)
			}
			for _, m := range tc.Methods(p) {
				fp, err1 := fc.Params(m, p)
				tp, err2 := tc.Params(m, p)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(fp, tp) {
					t.Errorf("%s %s %s: params differ (%v, %v)", v, m, p, err1, err2)
				}
			}
		}
	}
}

func TestProxmoxCheckerLoadsPaths(t *testing.T) {
	want := []string{"/version", "/cluster/status", "/nodes", "/access/domains", "/access/domains/{realm}",
		"/access/groups", "/access/groups/{groupid}", "/access/acl", "/access/users", "/access/users/{userid}",
		"/access/permissions", "/access/ticket", "/access/openid/auth-url", "/access/openid/login"}
	for _, v := range ProxmoxSchemaVersions {
		c := pveChecker(t, v)
		for _, p := range want {
			if len(c.Methods(p)) == 0 {
				t.Errorf("%s: %s missing", v, p)
			}
		}
	}
	if _, err := NewProxmoxCheckerFromJSON("x", []byte(`{}`)); err == nil {
		t.Error("object instead of array accepted")
	}
	if _, err := NewProxmoxCheckerFromJSON("x", []byte(`[]`)); err == nil {
		t.Error("empty schema accepted")
	}
}

func TestProxmoxMatch(t *testing.T) {
	c := pveChecker(t, "9.2")
	cases := []struct{ path, tpl string }{
		{"/access/users/alice@example.com@authentik", "/access/users/{userid}"},
		{"/access/users/root@pam/token/pvesso", "/access/users/{userid}/token/{tokenid}"},
		{"/access/users/root@pam/token", "/access/users/{userid}/token"},
		{"/access/domains", "/access/domains"},
		{"/access/openid/auth-url", "/access/openid/auth-url"},
		{"/access/users/{userid}", "/access/users/{userid}"},
	}
	for _, tc := range cases {
		tpl, _, ok := c.Match(tc.path)
		if !ok || tpl != tc.tpl {
			t.Errorf("Match(%s) = %q %v, want %q", tc.path, tpl, ok, tc.tpl)
		}
	}
	_, pp, _ := c.Match("/access/users/alice@pve/token/t1")
	if pp["userid"] != "alice@pve" || pp["tokenid"] != "t1" {
		t.Errorf("path params %v", pp)
	}
	if _, _, ok := c.Match("/access/nothing"); ok {
		t.Error("unknown path matched")
	}
	if _, _, ok := c.Match("/access/users//token"); ok {
		t.Error("empty path parameter matched")
	}
}

func TestProxmoxParams(t *testing.T) {
	c8, c9 := pveChecker(t, "8.0"), pveChecker(t, "9.2")
	p9, err := c9.Params("PUT", "/access/domains/authentik")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p9["username-claim"]; ok {
		t.Error("username-claim must not be an update parameter")
	}
	for _, k := range []string{"issuer-url", "client-id", "client-key", "groups-claim", "audiences", "delete", "digest", "realm"} {
		if _, ok := p9[k]; !ok {
			t.Errorf("9.2 PUT realm lacks %s", k)
		}
	}
	if !p9["realm"].InPath || p9["realm"].Optional || p9["realm"].MaxLength != 32 || p9["realm"].Format != "pve-realm" {
		t.Errorf("realm param %+v", p9["realm"])
	}
	p8, _ := c8.Params("PUT", "/access/domains/{realm}")
	for _, k := range []string{"groups-claim", "audiences", "query-userinfo"} {
		if _, ok := p8[k]; ok {
			t.Errorf("8.0 PUT realm has %s", k)
		}
	}
	post, _ := c9.Params("POST", "/access/domains")
	if _, ok := post["username-claim"]; !ok {
		t.Error("username-claim missing on create")
	}
	if post["type"].Optional || len(post["type"].Enum) == 0 {
		t.Errorf("type param %+v", post["type"])
	}
	if _, err := c9.Params("PATCH", "/access/domains"); err == nil {
		t.Error("undefined method accepted")
	}
	ok, err := c9.AllowsToken("POST", "/access/ticket")
	if err != nil || ok {
		t.Errorf("POST /access/ticket allowtoken = %v %v", ok, err)
	}
	w, _ := c9.IsWorld("POST", "/access/openid/login")
	if !w {
		t.Error("openid login should be world")
	}
	w, _ = c9.IsWorld("PUT", "/access/acl")
	if w {
		t.Error("acl update is not world")
	}
}

func TestProxmoxCheckParams(t *testing.T) {
	c8, c9 := pveChecker(t, "8.0"), pveChecker(t, "9.2")
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	good := q("realm", "authentik", "type", "openid", "issuer-url", "https://auth.example/application/o/pve/",
		"client-id", "abc", "client-key", "s3cret", "username-claim", "username", "autocreate", "1")
	for _, c := range []*ProxmoxChecker{c8, c9} {
		if err := c.CheckParams("POST", "/access/domains", good); err != nil {
			t.Errorf("%s: %v", c.Source(), err)
		}
	}
	cases := []struct {
		name           string
		c              *ProxmoxChecker
		method, path   string
		params         url.Values
		key, wantInMsg string
	}{
		{"unknown on update", c9, "PUT", "/access/domains/authentik", q("username-claim", "email"), "username-claim", "not defined in schema"},
		{"missing required", c9, "POST", "/access/domains", q("realm", "x1"), "type", "property is missing and it is not optional"},
		{"boolean true", c9, "POST", "/access/domains", q("realm", "ab", "type", "openid", "autocreate", "true"), "autocreate", "type check ('boolean') failed - got 'true'"},
		{"enum", c9, "POST", "/access/domains", q("realm", "ab", "type", "oidc"), "type", "does not have a value in the enumeration"},
		{"realm format", c9, "POST", "/access/domains", q("realm", "1ab", "type", "openid"), "realm", "value does not look like a valid realm"},
		{"realm max length", c9, "POST", "/access/domains", q("realm", "a"+strings.Repeat("b", 32), "type", "openid"), "realm", "value may only be 32 characters long"},
		{"prompt pattern", c9, "PUT", "/access/domains/ab", q("prompt", "a b"), "prompt", "value does not match the regex pattern"},
		{"acr pattern 9.2", c9, "PUT", "/access/domains/ab", q("acr-values", "a<b"), "acr-values", "regex pattern"},
		{"groups-claim unknown in 8.0", c8, "PUT", "/access/domains/ab", q("groups-claim", "groups"), "groups-claim", "not defined in schema"},
		{"audiences unknown in 8.0", c8, "POST", "/access/domains", q("realm", "ab", "type", "openid", "audiences", "x"), "audiences", "not defined in schema"},
		{"groups-claim pattern", c9, "PUT", "/access/domains/ab", q("groups-claim", "a b"), "groups-claim", "regex pattern"},
		{"delete configid list", c9, "PUT", "/access/domains/ab", q("delete", "comment,1bad"), "delete", "invalid configuration ID '1bad'"},
		{"userid too long", c9, "GET", "/access/users/" + strings.Repeat("a", 60) + "@authentik", nil, "userid", "is too long (70 > 64)"},
		{"userid format", c9, "GET", "/access/users/alice", nil, "userid", "does not look like a valid user name"},
		{"group list", c9, "PUT", "/access/users/alice@pve", q("groups", "admin,a:b", "append", "1"), "groups", "group name 'a:b' contains invalid characters"},
		{"append requires groups", c9, "PUT", "/access/users/alice@pve", q("append", "1"), "groups", "missing property - 'append' requires this property"},
		{"expire integer", c9, "PUT", "/access/users/alice@pve", q("expire", "soon"), "expire", "type check ('integer') failed"},
		{"expire minimum", c9, "PUT", "/access/users/alice@pve", q("expire", "-1"), "expire", "value must have a minimum value of 0"},
		{"email", c9, "POST", "/access/users", q("userid", "a@pve", "email", "not an email"), "email", "valid email address"},
		{"acl roles required", c9, "PUT", "/access/acl", q("path", "/", "groups", "admin"), "roles", "not optional"},
		{"acl token list", c9, "PUT", "/access/acl", q("path", "/", "roles", "Administrator", "tokens", "root@pam"), "tokens", "does not look like a valid token ID"},
		{"permissions userid pattern", c9, "GET", "/access/permissions", q("userid", "root"), "userid", "regex pattern"},
		{"login code length 8.0", c8, "POST", "/access/openid/login", q("code", strings.Repeat("c", 4097), "state", "s", "redirect-url", "https://pve:8006"), "code", "4096 characters"},
		{"new-format unknown in 7.0", pveChecker(t, "7.0"), "POST", "/access/ticket", q("username", "root@pam", "password", "x", "new-format", "1"), "new-format", "not defined in schema"},
		{"repeated key", c9, "PUT", "/access/users/alice@pve", q("groups", "a", "groups", "b"), "groups", "given 2 times"},
		{"path param repeated", c9, "PUT", "/access/users/alice@pve", q("userid", "alice@pve"), "userid", "also part of the path"},
		{"unknown path", c9, "GET", "/access/nope", nil, "_root", "not in the schema"},
		{"unknown method", c9, "PATCH", "/access/acl", nil, "_root", "not defined"},
	}
	for _, tc := range cases {
		err := tc.c.CheckParams(tc.method, tc.path, tc.params)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		v := violation(t, err)
		if !strings.Contains(v.Errors[tc.key], tc.wantInMsg) {
			t.Errorf("%s: errors[%s] = %q, want %q (all: %v)", tc.name, tc.key, v.Errors[tc.key], tc.wantInMsg, v.Errors)
		}
	}
	// Valid edge cases.
	ok := []struct {
		c            *ProxmoxChecker
		method, path string
		params       url.Values
	}{
		{c9, "PUT", "/access/users/alice@example.com@authentik", q("groups", "admin", "append", "1")},
		{c9, "GET", "/access/users/" + strings.Repeat("a", 54) + "@authentik", nil}, // exactly 64
		{c9, "PUT", "/access/acl", q("path", "/", "roles", "Administrator", "groups", "admin", "propagate", "1")},
		{c9, "PUT", "/access/acl", q("path", "/", "roles", "Administrator", "tokens", "root@pam!pvesso")},
		{c9, "POST", "/access/users", q("userid", "a@pve", "email", "")}, // email-opt: empty is fine
		{c8, "PUT", "/access/domains/authentik", q("delete", "comment,acr-values", "digest", strings.Repeat("a", 40))},
		{c8, "PUT", "/access/domains/authentik", q("acr-values", "a<b")}, // no pattern before 8.1
		{c9, "GET", "/access/permissions", q("userid", "root@pam!pvesso", "path", "/")},
		{c9, "POST", "/access/ticket", q("username", "root@pam", "password", "x", "new-format", "1")},
		{c9, "POST", "/access/ticket", q("username", "root@pam", "password", "totp:123456", "tfa-challenge", "PVE:!tfa!x")},
		{c9, "GET", "/access/users", q("full", "1")},
	}
	for _, tc := range ok {
		if err := tc.c.CheckParams(tc.method, tc.path, tc.params); err != nil {
			t.Errorf("%s %s %v: %v", tc.method, tc.path, tc.params, err)
		}
	}
}

func TestPerlPatternSemantics(t *testing.T) {
	cases := []struct {
		pat, in string
		want    bool
	}{
		{`[a-z]+`, "abc", true},
		{`[a-z]+`, "abc\n", true}, // Perl $ matches before a final newline
		{`[a-z]+`, "abc\nx", false},
		{`[a-z]+`, "abc1", false}, // anchored: m/^$pattern$/
		{`(?^:[A-Za-z0-9\.\-_]+)`, "groups", true},
		{`(?^i:abc)`, "ABC", true},
		{`a|b`, "axxxx", true}, // ^a|b$ : top-level alternation binds like Perl
		{`a|b`, "xxxxb", true},
		{`a|b`, "xxxxc", false},
		{`^[^\x00-\x1F\x7F <>#"]*$`, "urn:mace:incommon:iap:silver", true},
		{`^[^\x00-\x1F\x7F <>#"]*$`, "a b", false},
		{`[]a]+`, "]a", true},
		{`(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)`, "alice@example.com@authentik", true},
		{`(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)`, "root@pam!tok", true},
		{`(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)`, "a/b@pam", false},
	}
	for _, tc := range cases {
		re, err := perlPattern(tc.pat)
		if err != nil {
			t.Errorf("%s: %v", tc.pat, err)
			continue
		}
		if got := re.MatchString(tc.in); got != tc.want {
			t.Errorf("%q =~ %q: got %v want %v (re %s)", tc.in, tc.pat, got, tc.want, re)
		}
	}
	if _, err := perlPattern(`[abc`); err == nil {
		t.Error("unterminated class accepted")
	}
	// Every pattern in the committed schemas translates.
	for _, v := range ProxmoxSchemaVersions {
		c := pveChecker(t, v)
		for _, p := range c.Paths() {
			for _, m := range c.Methods(p) {
				ps, _ := c.Params(m, p)
				for _, prm := range ps {
					if prm.Pattern == "" {
						continue
					}
					if _, err := perlPattern(prm.Pattern); err != nil {
						t.Errorf("%s %s %s %s: %v", v, m, p, prm.Name, err)
					}
				}
			}
		}
	}
}

func TestPerlSplitList(t *testing.T) {
	cases := map[string][]string{
		"a,b":      {"a", "b"},
		" a; b  c": {"a", "b", "c"},
		"":         nil,
		"a\x00b c": {"a", "b c"},
	}
	for in, want := range cases {
		if got := PerlSplitList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q want %q", in, got, want)
		}
	}
}

func newReq(t *testing.T, method, target, body string) *http.Request {
	t.Helper()
	var r *http.Request
	var err error
	if body != "" {
		r, err = http.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r, err = http.NewRequest(method, target, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProxmoxCheckRequest(t *testing.T) {
	c := pveChecker(t, "9.2")
	base := "https://127.0.0.1:8006"
	r := newReq(t, "PUT", base+"/api2/json/access/users/alice%40example.com%40authentik", "groups=admin&append=1")
	r.Header.Set("Authorization", "PVEAPIToken=root@pam!pvesso=00000000-0000-0000-0000-000000000000")
	if err := c.CheckRequest(r); err != nil {
		t.Fatal(err)
	}
	// Body still readable after the check.
	b, _ := io.ReadAll(r.Body)
	if string(b) != "groups=admin&append=1" {
		t.Fatalf("body consumed: %q", b)
	}

	bad := []struct {
		name string
		r    func() *http.Request
		key  string
		msg  string
	}{
		{"no prefix", func() *http.Request { return newReq(t, "GET", base+"/access/acl", "") }, "_transport", "/api2/json"},
		{"query on POST", func() *http.Request {
			return newReq(t, "POST", base+"/api2/json/access/groups?groupid=admin", "comment=x")
		}, "_transport", "query string"},
		{"body on GET", func() *http.Request {
			return newReq(t, "GET", base+"/api2/json/access/acl", "path=/")
		}, "_transport", "carries a body"},
		{"json body", func() *http.Request {
			r := newReq(t, "POST", base+"/api2/json/access/groups", `groupid=admin`)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, "_transport", "Content-Type"},
		{"token on ticket", func() *http.Request {
			r := newReq(t, "POST", base+"/api2/json/access/ticket", "username=root%40pam&password=x")
			r.Header.Set("Authorization", "PVEAPIToken=root@pam!t=x")
			return r
		}, "_transport", "allowtoken=0"},
		{"cookie write without csrf", func() *http.Request {
			r := newReq(t, "POST", base+"/api2/json/access/groups", "groupid=admin")
			r.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: "PVE:root@pam:1::x"})
			return r
		}, "_transport", "CSRFPreventionToken"},
		{"unknown param", func() *http.Request {
			return newReq(t, "POST", base+"/api2/json/access/groups", "groupid=admin&members=a")
		}, "members", "not defined"},
	}
	for _, tc := range bad {
		err := c.CheckRequest(tc.r())
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		v := violation(t, err)
		if !strings.Contains(v.Errors[tc.key], tc.msg) {
			t.Errorf("%s: errors = %v", tc.name, v.Errors)
		}
	}
	// World endpoints need no CSRF even if a cookie is around; GET never does.
	r = newReq(t, "POST", base+"/api2/json/access/openid/auth-url", "realm=authentik&redirect-url=https%3A%2F%2Fpve%3A8006")
	r.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: "x"})
	if err := c.CheckRequest(r); err != nil {
		t.Error(err)
	}
	r = newReq(t, "GET", base+"/api2/json/access/acl", "")
	r.AddCookie(&http.Cookie{Name: "PVEAuthCookie", Value: "x"})
	if err := c.CheckRequest(r); err != nil {
		t.Error(err)
	}
}

func TestProxmoxCheckResponse(t *testing.T) {
	c := pveChecker(t, "9.2")
	ok := []struct{ method, path, body string }{
		{"GET", "/version", `{"data":{"version":"9.2.1","release":"9.2","repoid":"0123abcd"}}`},
		{"GET", "/access/acl", `{"data":[{"path":"/","type":"group","ugid":"admin","roleid":"Administrator","propagate":1}]}`},
		{"GET", "/access/acl", `{"data":[{"path":"/","type":"group","ugid":"admin","roleid":"Administrator","propagate":true}]}`},
		{"POST", "/access/groups", `{"data":null}`},
		{"GET", "/access/users/alice@pve", `{"data":{"enable":1,"groups":["admin"],"email":"alice@example.com"}}`},
		{"POST", "/access/openid/auth-url", `{"data":"https://auth.example/authorize?x=1"}`},
	}
	for _, tc := range ok {
		if err := c.CheckResponse(tc.method, tc.path, 200, "OK", []byte(tc.body)); err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		}
	}
	bad := []struct{ method, path, body, key, msg string }{
		{"GET", "/version", `{"version":"9.2.1"}`, "_response", "envelope"},
		{"GET", "/version", `{"data":{"version":"9.2.1","release":"9.2","repoid":"xyz"}}`, "data.repoid", "regex"},
		{"GET", "/version", `{"data":{"version":"9.2.1","repoid":"0123abcd"}}`, "data.release", "missing"},
		{"GET", "/access/acl", `{"data":[{"path":"/","type":"role","ugid":"a","roleid":"b"}]}`, "data[0].type", "enumeration"},
		{"GET", "/access/acl", `{"data":[{"path":"/","type":"group","ugid":"a","roleid":"b","propagate":2}]}`, "data[0].propagate", "boolean"},
		{"GET", "/access/users/alice@pve", `{"data":{"userid":"alice@pve"}}`, "data.userid", "not defined in schema"},
		{"GET", "/access/users/alice@pve", `{"data":{"groups":"admin"}}`, "data.groups", "array"},
		{"POST", "/access/groups", `{"data":{"x":1}}`, "data", "null"},
		{"GET", "/access/groups", `{"data":[{"groupid":"a:b"}]}`, "data[0].groupid", "invalid characters"},
	}
	for _, tc := range bad {
		err := c.CheckResponse(tc.method, tc.path, 200, "OK", []byte(tc.body))
		if err == nil {
			t.Errorf("%s %s %s: accepted", tc.method, tc.path, tc.body)
			continue
		}
		v := violation(t, err)
		if !strings.Contains(v.Errors[tc.key], tc.msg) {
			t.Errorf("%s: errors = %v", tc.body, v.Errors)
		}
	}
	if err := c.CheckResponse("POST", "/access/groups", 500, "", []byte(`{"data":null}`)); err == nil {
		t.Error("error without reason phrase accepted")
	}
	if err := c.CheckResponse("POST", "/access/groups", 400, "Parameter verification failed.", []byte(`{"data":null,"errors":{"groupid":1}}`)); err == nil {
		t.Error("non-string errors entry accepted")
	}
	if err := c.CheckResponse("POST", "/access/groups", 500, "create group failed: group 'admin' already exists", []byte(`{"data":null,"message":"create group failed: group 'admin' already exists\n"}`)); err != nil {
		t.Error(err)
	}
	// error bodies: data null, errors with a parameter failure, message
	// starting with the reason phrase; an empty body (pre-5.2.0 auth
	// failures) is fine
	badErr := []struct {
		status       int
		reason, body string
	}{
		{500, "group 'x' does not exist", `{"data":{"groupid":"x"}}`},
		{500, "group 'x' does not exist", `{"message":"group 'x' does not exist\n"}`},
		{400, "Parameter verification failed.", `{"data":null}`},
		{400, "Parameter verification failed.", `{"data":null,"errors":{}}`},
		{500, "group 'x' does not exist", `{"data":null,"message":"something else\n"}`},
		{403, "Permission check failed (/, Sys.Audit)", `{"data":null,"message":42}`},
	}
	for _, tc := range badErr {
		if err := c.CheckResponse("GET", "/access/groups/x", tc.status, tc.reason, []byte(tc.body)); err == nil {
			t.Errorf("%d %q %s accepted", tc.status, tc.reason, tc.body)
		}
	}
	for _, tc := range []struct {
		status       int
		reason, body string
	}{
		{401, "No ticket", ``},
		{400, "Parameter verification failed.", `{"data":null,"errors":{"groupid":"invalid format - group name 'a b' contains invalid characters\n"}}`},
		{500, "ACL update failed: 400 Parameter verification failed.", `{"data":null,"message":"ACL update failed: 400 Parameter verification failed.\nrole: Cannot add role\n"}`},
	} {
		if err := c.CheckResponse("GET", "/access/groups/x", tc.status, tc.reason, []byte(tc.body)); err != nil {
			t.Errorf("%d %q: %v", tc.status, tc.reason, err)
		}
	}
}

func TestProxmoxTransport(t *testing.T) {
	c := pveChecker(t, "9.2")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/api2/json/access/groups":
			if string(b) != "groupid=admin" {
				w.WriteHeader(500)
				return
			}
			io.WriteString(w, `{"data":null}`)
		case "/api2/json/version":
			io.WriteString(w, `{"data":{"version":"9"}}`) // missing release/repoid
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	var seen []error
	tr := c.Transport(srv.Client().Transport)
	tr.OnViolation = func(err error) { seen = append(seen, err) }
	hc := &http.Client{Transport: tr}

	req := newReq(t, "POST", srv.URL+"/api2/json/access/groups", "groupid=admin")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"data":null}` {
		t.Fatalf("server saw a modified request or response was consumed: %d %s", resp.StatusCode, body)
	}
	if len(tr.Violations()) != 0 {
		t.Fatalf("unexpected violations: %v", tr.Violations())
	}
	resp, err = hc.Get(srv.URL + "/api2/json/version")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(tr.Violations()) != 1 || len(seen) != 1 || !strings.Contains(seen[0].Error(), "data.release") {
		t.Fatalf("want one response violation, got %v", tr.Violations())
	}
	reqs, resps := tr.Checked()
	if reqs != 2 || resps != 2 {
		t.Errorf("checked %d/%d", reqs, resps)
	}
	ops := tr.Operations()
	if ops["POST /access/groups"] != 1 || ops["GET /version"] != 1 {
		t.Errorf("operations %v", ops)
	}
}

func TestPerlPatternBigRepeat(t *testing.T) {
	if _, err := perlPattern(`[0-9a-zA-Z!=]{0,4096}`); err != nil { // "keys" in the 9.2 schema
		t.Fatal(err)
	}
	re, err := perlPattern(`[a-z]{0,1500}`)
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]bool{0: true, 1000: true, 1001: true, 1500: true, 1501: false} {
		if got := re.MatchString(strings.Repeat("a", n)); got != want {
			t.Errorf("len %d: got %v want %v", n, got, want)
		}
	}
	re, err = perlPattern(`x{1200}`)
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString(strings.Repeat("x", 1200)) || re.MatchString(strings.Repeat("x", 1199)) || re.MatchString(strings.Repeat("x", 1201)) {
		t.Error("x{1200} wrong")
	}
	if _, err := perlPattern(`(ab){0,2000}`); err == nil {
		t.Error("big repeat on a group accepted")
	}
}
