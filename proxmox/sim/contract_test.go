package sim_test

// Contract tests against internal/contract's apidoc checker, an independent
// reading of the official API-viewer schemas (internal/contract/testdata):
//
//   - TestContractParameters: for every served method and every parameter
//     the schema declares, valid and invalid probe values (types, required-ness,
//     enums, lengths, formats, patterns) must be judged alike by the simulator
//     (its 400 "errors" map) and the checker; keys the schema does not declare
//     must be rejected. 8.0.4 is checked against the 8.0 schema, 9.2.0 against
//     9.2, and 8.4.14 against 8.0 plus the options its changelog adds (whose
//     definitions are taken from 9.2).
//   - TestContractTraffic: a realistic session (realm, group, ACL, users,
//     tokens, permissions, tickets, OpenID) through the checker's transport:
//     no request and no response (status, reason phrase, "returns" schema)
//     may violate the schema.

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/contract"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

func loadChecker(t *testing.T, v string) *contract.ProxmoxChecker {
	t.Helper()
	c, err := contract.NewProxmoxChecker(filepath.Join("..", "..", "internal", "contract", "testdata", "pve-"+v+"-apidoc.trimmed.json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// overlay84 are the parameters whose 8.4 definition is the 9.2 one
// (pve-access-control changelog 8.0.5, 8.1.0, 8.2.0, 8.2.1).
var overlay84 = map[string]map[string]bool{
	"POST /access/domains":        {"check-connection": true, "acr-values": true, "groups-claim": true, "groups-autocreate": true, "groups-overwrite": true, "query-userinfo": true},
	"PUT /access/domains/{realm}": {"check-connection": true, "acr-values": true, "groups-claim": true, "groups-autocreate": true, "groups-overwrite": true, "query-userinfo": true},
	"POST /access/users":          {"firstname": true, "lastname": true, "email": true, "comment": true, "keys": true, "password": true},
	"PUT /access/users/{userid}":  {"firstname": true, "lastname": true, "email": true, "comment": true, "keys": true},
}

// reference is the schema a simulator version must follow: per parameter
// the checker that defines it, and the declared parameter set.
type reference struct {
	name   string
	c80    *contract.ProxmoxChecker
	c92    *contract.ProxmoxChecker
	mixed  bool // 8.4: 8.0 + overlay84 from 9.2
	use92  bool
	simVer string
}

func (r reference) params(t *testing.T, method, tmpl string) (map[string]contract.ProxmoxParam, map[string]*contract.ProxmoxChecker) {
	t.Helper()
	out := map[string]contract.ProxmoxParam{}
	by := map[string]*contract.ProxmoxChecker{}
	main := r.c80
	if r.use92 {
		main = r.c92
	}
	ps, err := main.Params(method, tmpl)
	if err != nil {
		t.Fatalf("%s %s: %v", method, tmpl, err)
	}
	for k, p := range ps {
		out[k], by[k] = p, main
	}
	if r.mixed {
		ps92, _ := r.c92.Params(method, tmpl)
		for k := range overlay84[method+" "+tmpl] {
			if p, ok := ps92[k]; ok {
				out[k], by[k] = p, r.c92
			}
		}
	}
	return out, by
}

// inproc calls the simulator's handler directly (no TLS): the probes make
// thousands of requests and error answers close connections.
type inproc struct {
	t    *testing.T
	s    *pvesim.Server
	auth auth
}

func (ip *inproc) call(method, path string, params url.Values) (int, map[string]any) {
	u := "/api2/json" + pathEscape(path)
	var req *http.Request
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
		req = httptest.NewRequest(method, u, nil)
	} else {
		req = httptest.NewRequest(method, u, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	ip.auth(req)
	rec := httptest.NewRecorder()
	ip.s.ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	errs, _ := body["errors"].(map[string]any)
	return rec.Code, errs
}

func pathEscape(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// validSamples proposes values; the checker decides which are valid.
func validSamples(p contract.ProxmoxParam) []string {
	switch p.Type {
	case "boolean":
		return []string{"1", "0"}
	case "integer", "number":
		v := 1.0
		if p.Minimum != nil && *p.Minimum > v {
			v = *p.Minimum
		}
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	}
	if len(p.Enum) > 0 {
		return []string{p.Enum[0]}
	}
	byFormat := map[string][]string{
		"pve-realm": {"realmx"}, "pve-userid": {"u1@pve"}, "pve-groupid": {"g1"}, "pve-roleid": {"PVEAuditor"},
		"pve-roleid-list": {"PVEAuditor"}, "pve-tokenid-list": {"root@pam!pvesso"}, "pve-userid-list": {"u1@pve"},
		"pve-groupid-list": {"g1"}, "pve-configid-list": {"comment"}, "pve-priv-list": {"Sys.Audit"},
		"email-opt": {"a@example.com"}, "address": {"127.0.0.1"}, "ldap-simple-attr": {"uid"},
		"ldap-simple-attr-list": {"uid"}, "pve-tfa-config": {"type=oath"}, "realm-sync-options": {"scope=users"},
		"pve-node": {"pve1"},
	}
	if s, ok := byFormat[p.Format]; ok {
		return s
	}
	if p.Name == "path" {
		return []string{"/"}
	}
	if p.Name == "state" {
		return []string{`{"csrf_token":"x","realm":"realmx"}`}
	}
	return []string{"abc", "x", "login", "uid", "a=b", "urn:x", "cn=x", "0123abcd", "u1@pve", "12345678"}
}

func invalidProbes(p contract.ProxmoxParam) []string {
	out := []string{"!bad value!", "\x01", ""}
	switch p.Type {
	case "boolean":
		out = append(out, "true", "yes", "2")
	case "integer":
		out = append(out, "1.5", "x")
		if p.Minimum != nil {
			out = append(out, strconv.FormatFloat(*p.Minimum-1, 'f', -1, 64))
		}
		if p.Maximum != nil {
			out = append(out, strconv.FormatFloat(*p.Maximum+1, 'f', -1, 64))
		}
	}
	if p.MaxLength >= 0 {
		out = append(out, strings.Repeat("a", p.MaxLength+1), strings.Repeat("a", p.MaxLength))
	}
	if p.MinLength > 0 {
		out = append(out, strings.Repeat("a", p.MinLength-1))
	}
	if len(p.Enum) > 0 {
		out = append(out, "not-in-enum")
	}
	if strings.HasSuffix(p.Format, "-list") {
		out = append(out, "ok1,bad value")
	}
	return out
}

func TestContractParameters(t *testing.T) {
	c80, c92 := loadChecker(t, "8.0"), loadChecker(t, "9.2")
	refs := []reference{
		{name: "8.0.4/schema-8.0", c80: c80, c92: c92, simVer: "8.0.4"},
		{name: "8.4.14/schema-8.0+8.4-changelog", c80: c80, c92: c92, mixed: true, simVer: "8.4.14"},
		{name: "9.2.0/schema-9.2", c80: c80, c92: c92, use92: true, simVer: "9.2.0"},
	}
	for _, ref := range refs {
		t.Run(ref.name, func(t *testing.T) {
			t.Parallel()
			s := pvesim.New(pvesim.Options{Version: ref.simVer})
			tk := issueRootTicket(t, s)
			ip := &inproc{t: t, s: s, auth: tk}
			probes, endpoints := 0, 0
			var skipped []string
			handlerRejects := 0
			for _, ep := range s.Endpoints() {
				endpoints++
				declared, by := ref.params(t, ep.Method, ep.Path)
				// all names any schema version knows for this method
				known := map[string]bool{}
				for _, c := range []*contract.ProxmoxChecker{c80, c92} {
					ps, _ := c.Params(ep.Method, ep.Path)
					for k := range ps {
						known[k] = true
					}
				}
				base := func(except string) (string, url.Values) {
					path := ep.Path
					v := url.Values{}
					names := make([]string, 0, len(declared))
					for k := range declared {
						names = append(names, k)
					}
					sort.Strings(names)
					for _, k := range names {
						p := declared[k]
						if k == except {
							continue
						}
						if p.InPath {
							path = strings.Replace(path, "{"+k+"}", pickValid(t, by[k], ep, declared, k), 1)
						} else if !p.Optional {
							v.Set(k, pickValid(t, by[k], ep, declared, k))
						}
					}
					return path, v
				}
				check := func(param, value string, omit bool) {
					probes++
					path, v := base(param)
					// PUT /access/acl needs one of users/groups/tokens (a handler
					// check, not a schema one): give the probe a companion
					if ep.Method == "PUT" && ep.Path == "/access/acl" {
						if param == "users" {
							v.Set("groups", "g1")
						} else {
							v.Set("users", "u1@pve")
						}
					}
					p, isDeclared := declared[param]
					if !omit {
						if isDeclared && p.InPath {
							path = strings.Replace(path, "{"+param+"}", value, 1)
						} else {
							v.Set(param, value)
							if isDeclared && p.Requires != "" && v.Get(p.Requires) == "" {
								if verifiable(by[p.Requires], ep, p.Requires) {
									v.Set(p.Requires, pickValid(t, by[p.Requires], ep, declared, p.Requires))
								} else {
									v.Set(p.Requires, "Sys.Audit") // privs (pve-priv-list)
								}
							}
						}
					}
					chk := by[param]
					if chk == nil {
						chk = c92
						if !ref.use92 && !ref.mixed {
							chk = c80
						}
					}
					var want bool
					if !isDeclared {
						want = true // undeclared for this version
					} else {
						err := chk.CheckParams(ep.Method, path, v)
						var viol *contract.ProxmoxViolation
						want = errors.As(err, &viol) && viol.Errors[param] != ""
					}
					status, errs := ip.call(ep.Method, path, v)
					msg, got := errs[param].(string)
					if got && !want && handlerCheck(msg) {
						handlerRejects++
						return
					}
					if got != want {
						t.Errorf("%s %s %s=%q (omit=%v): simulator rejects=%v (status %d, errors %v), schema rejects=%v",
							ep.Method, path, param, value, omit, got, status, errs, want)
					}
					if !isDeclared && got && errs[param] != "property is not defined in schema and the schema does not allow additional properties" {
						t.Errorf("%s %s: undeclared %s: %q", ep.Method, ep.Path, param, errs[param])
					}
				}
				for name, p := range declared {
					if !verifiable(by[name], ep, name) {
						// property-string formats of LDAP/PAM options the
						// checker cannot verify (tfa, sync-defaults-options)
						skipped = append(skipped, ep.Method+" "+ep.Path+" "+name)
						continue
					}
					check(name, pickValid(t, by[name], ep, declared, name), false)
					for _, bad := range invalidProbes(p) {
						if p.InPath && (bad == "" || strings.ContainsAny(bad, "/?#")) {
							continue
						}
						check(name, bad, false)
					}
					if !p.Optional && !p.InPath {
						check(name, "", true)
					}
				}
				for name := range known {
					if _, ok := declared[name]; !ok {
						check(name, "1", false)
					}
				}
				check("zz-undeclared", "1", false)
			}
			t.Logf("%d endpoints, %d probes (%d refused by handler-level checks the schema cannot express); not comparable (checker cannot verify the format): %v", endpoints, probes, handlerRejects, skipped)
		})
	}
}

// handlerCheck recognises 400 errors raised by handler code rather than by
// the parameter schema (API2/ACL.pm: ACL path syntax, one of
// users/groups/tokens).
func handlerCheck(msg string) bool {
	return strings.HasPrefix(msg, "invalid ACL path '") || msg == "either 'users', 'groups' or 'tokens' is required."
}

// verifiable reports whether the checker can judge values of param.
func verifiable(c *contract.ProxmoxChecker, ep pvesim.Endpoint, param string) bool {
	path := ep.Path
	v := url.Values{param: {"x"}}
	if strings.Contains(path, "{"+param+"}") {
		path = strings.Replace(path, "{"+param+"}", "x", 1)
		v = nil
	}
	err := c.CheckParams(ep.Method, path, v)
	var viol *contract.ProxmoxViolation
	return !(errors.As(err, &viol) && strings.Contains(viol.Errors[param], "not verifiable by this checker"))
}

// pickValid returns a value the schema accepts for param (checked with the
// checker on its own, the other parameters valid).
func pickValid(t *testing.T, c *contract.ProxmoxChecker, ep pvesim.Endpoint, declared map[string]contract.ProxmoxParam, param string) string {
	p := declared[param]
	for _, cand := range validSamples(p) {
		path := ep.Path
		v := url.Values{}
		if p.InPath {
			path = strings.Replace(path, "{"+param+"}", cand, 1)
		} else {
			v.Set(param, cand)
		}
		err := c.CheckParams(ep.Method, path, v)
		var viol *contract.ProxmoxViolation
		if err == nil || errors.As(err, &viol) && viol.Errors[param] == "" {
			return cand
		}
	}
	t.Fatalf("%s %s: no valid sample for %s (%+v)", ep.Method, ep.Path, param, p)
	return ""
}

func issueRootTicket(t *testing.T, s *pvesim.Server) auth {
	t.Helper()
	req := httptest.NewRequest("POST", "/api2/json/access/ticket",
		strings.NewReader(url.Values{"username": {"root@pam"}, "password": {s.RootPassword()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var body struct {
		Data struct {
			Ticket string `json:"ticket"`
			CSRF   string `json:"CSRFPreventionToken"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Data.Ticket == "" {
		t.Fatalf("root login: %d %s", rec.Code, rec.Body.String())
	}
	return ticket(body.Data.Ticket, body.Data.CSRF)
}

func TestContractTraffic(t *testing.T) {
	for _, tc := range []struct{ schema, sim string }{{"8.0", "8.4.14"}, {"9.2", "9.2.0"}, {"9.2", "9.2.0-cluster"}} {
		t.Run(tc.schema+"/"+tc.sim, func(t *testing.T) {
			t.Parallel()
			chk := loadChecker(t, tc.schema)
			idp := newFakeIdP(t)
			opts := pvesim.Options{Version: strings.TrimSuffix(tc.sim, "-cluster"), OIDCRoots: idp.pool()}
			if strings.HasSuffix(tc.sim, "-cluster") {
				opts.Nodes = 3
			}
			s := pvesim.New(opts)
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			tr := chk.Transport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}})
			tr.OnViolation = func(err error) {
				// the checker cannot verify pve-priv-list (role privilege lists)
				if !strings.Contains(err.Error(), "is not verifiable by this checker") {
					t.Error(err)
				}
			}
			p := &pve{t: t, s: s, base: s.URL(), root: s.RootToken(),
				hc: &http.Client{Transport: tr, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
			root := token(p.root)
			tk, csrf := p.login("root@pam", s.RootPassword())
			rt := ticket(tk, csrf)

			p.ok(p.do("GET", "/version", nil, root))
			p.ok(p.do("GET", "/cluster/status", nil, root))
			p.ok(p.do("GET", "/nodes", nil, root))
			p.ok(p.do("GET", "/access", nil, root))
			p.ok(p.do("GET", "/access/roles", nil, root))
			p.ok(p.do("GET", "/access/domains", nil, noAuth))
			realm := vals("realm", "authentik", "type", "openid", "issuer-url", idp.Issuer, "client-id", "pve-client",
				"client-key", testClientSecret, "username-claim", "username", "autocreate", "1", "comment", "authentik", "default", "1")
			p.ok(p.do("POST", "/access/domains", realm, root))
			p.want(p.do("POST", "/access/domains", realm, root), 500, "add auth server failed: domain 'authentik' already exists")
			d := p.ok(p.do("GET", "/access/domains/authentik", nil, root)).dataMap()
			p.ok(p.do("PUT", "/access/domains/authentik", vals("comment", "authentik SSO", "digest", d["digest"].(string)), rt))
			p.ok(p.do("GET", "/access/domains/pam", nil, root))

			p.ok(p.do("POST", "/access/groups", vals("groupid", "admin", "comment", "Administrators"), root))
			p.ok(p.do("GET", "/access/groups", nil, root))
			p.ok(p.do("GET", "/access/groups/admin", nil, root))
			p.ok(p.do("PUT", "/access/groups/admin", vals("comment", "Admins"), root))
			p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator", "propagate", "1"), root))
			p.ok(p.do("GET", "/access/acl", nil, root))
			p.ok(p.do("POST", "/access/users", vals("userid", "alice@authentik", "email", "alice@example.com", "groups", "admin", "enable", "1"), root))
			p.ok(p.do("PUT", "/access/users/alice@authentik", vals("groups", "admin", "append", "1"), root))
			p.ok(p.do("GET", "/access/users", vals("full", "1"), root))
			p.ok(p.do("GET", "/access/users", nil, root))
			p.ok(p.do("GET", "/access/users/alice@authentik", nil, root))
			p.ok(p.do("GET", "/access/users/root@pam", nil, root))
			p.ok(p.do("POST", "/access/users/alice@authentik/token/ci", vals("privsep", "1", "comment", "ci"), root))
			p.ok(p.do("GET", "/access/users/alice@authentik/token", nil, root))
			p.ok(p.do("GET", "/access/users/alice@authentik/token/ci", nil, root))
			p.ok(p.do("GET", "/access/permissions", vals("path", "/"), root))
			p.ok(p.do("GET", "/access/permissions", vals("userid", "alice@authentik"), root))
			p.want(p.do("GET", "/access/users/nobody@pve", nil, rt), 500, "no such user ('nobody@pve')")

			// OpenID round trip
			idp.set(func(f *fakeIdP) { f.claims = map[string]any{"preferred_username": "alice"} })
			e := &oidcEnv{pve: p, idp: idp, browser: &http.Client{
				Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: idp.pool()}},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}}
			d = p.ok(e.flow()).dataMap()
			if d["username"] != "alice@authentik" {
				t.Fatalf("login %v", d)
			}
			p.want(p.do("POST", "/access/openid/login", vals("code", "c", "state", `{"csrf_token":"x","realm":"authentik"}`, "redirect-url", p.base), noAuth), 401, "authentication failure")
			p.ok(p.do("GET", "/access/openid", nil, root))

			// cleanup
			p.ok(p.do("DELETE", "/access/users/alice@authentik/token/ci", nil, root))
			p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator", "delete", "1"), root))
			p.ok(p.do("DELETE", "/access/users/alice@authentik", nil, root))
			p.ok(p.do("DELETE", "/access/groups/admin", nil, root))
			p.ok(p.do("DELETE", "/access/domains/authentik", nil, root))

			req, resps := tr.Checked()
			if req < 30 || resps != req {
				t.Fatalf("checked %d requests, %d responses", req, resps)
			}
			ops := tr.Operations()
			for _, ep := range s.Endpoints() {
				if ops[ep.Method+" "+ep.Path] == 0 && ep.Path != "/access/ticket" || ep.Path == "/access/ticket" && ops["POST /access/ticket"] == 0 {
					if ep.Method == "GET" && ep.Path == "/access/ticket" {
						continue
					}
					t.Errorf("%s %s not exercised", ep.Method, ep.Path)
				}
			}
		})
	}
}
