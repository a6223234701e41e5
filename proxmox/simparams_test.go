package proxmox_test

// The simulator accepts exactly the parameter names of the official schema
// for every operation pvesso uses: each name declared by any of the 7.0, 8.0
// and 9.2 schemas (plus a bogus one) is sent alone, with the operation's
// required parameters, and the simulator must reject it with PVE's
// "property is not defined in schema" exactly when the schema of its version
// does not declare it. This is checked for the versions we have schemas of
// (8.0 with an 8.0.4 simulator, 9.2 with a 9.2.0 simulator). The 8.4
// simulator's extra 8.4 options cannot be checked against an 8.4 schema (none
// exists in the evidence); see TestContractCheckerIsLive for the documented gap.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/internal/contract"
	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/proxmox"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

const notDefined = "property is not defined in schema"

// probeValue returns a plausible valid value for a parameter definition.
func probeValue(name string, p contract.ProxmoxParam) string {
	if len(p.Enum) > 0 {
		if name == "type" {
			return "openid"
		}
		return p.Enum[0]
	}
	switch p.Type {
	case "boolean":
		return "0"
	case "integer", "number":
		if p.Minimum != nil && *p.Minimum > 0 {
			return strings.TrimSuffix(strings.TrimSuffix(jsonNum(*p.Minimum), ".0"), ".")
		}
		return "0"
	}
	byFormat := map[string]string{
		"pve-realm": "authentik", "pve-userid": "alice@pve", "pve-userid-list": "alice@pve",
		"pve-groupid": "admin", "pve-groupid-list": "admin", "pve-roleid-list": "Administrator",
		"pve-tokenid-list": "root@pam!pvesso", "pve-configid-list": "comment", "email-opt": "a@example.com",
		"pve-priv-list": "Sys.Audit", "ldap-simple-attr": "uid", "ldap-simple-attr-list": "uid",
		"address": "127.0.0.1", "pve-tfa-config": "type=oath", "realm-sync-options": "scope=users",
	}
	if v, ok := byFormat[p.Format]; ok {
		return v
	}
	byName := map[string]string{
		"path": "/", "password": "password-123", "redirect-url": "https://127.0.0.1:8006", "code": "c", "state": "s",
		"prompt": "login", "acr-values": "urn:x", "groups-claim": "groups", "audiences": "aud", "keys": "abc",
		"base_dn": "dc=example,dc=com", "bind_dn": "cn=x,dc=example,dc=com", "group_dn": "dc=example,dc=com",
		"user_attr": "uid", "domain": "example.com", "sync_attributes": "email=mail", "userid": "root@pam",
		"issuer-url": "https://127.0.0.1:1/", "digest": "0000000000000000000000000000000000000000",
	}
	if v, ok := byName[name]; ok {
		return v
	}
	return "x1"
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestSimulatorAcceptsExactlySchemaParams(t *testing.T) {
	all := map[string]*contract.ProxmoxChecker{}
	for _, v := range contract.ProxmoxSchemaVersions {
		c, err := contract.LoadProxmoxChecker(v)
		must(t, err)
		all[v] = c
	}
	for _, tc := range []struct{ schema, version string }{{"8.0", "8.0.4"}, {"9.2", "9.2.0"}} {
		t.Run(tc.schema, func(t *testing.T) {
			t.Parallel()
			chk := all[tc.schema]
			s := pvesim.New(pvesim.Options{Version: tc.version})
			must(t, s.Start())
			t.Cleanup(s.Close)
			tr, err := tlstrust.NewTransport(tlstrust.Config{Roots: s.CertPool()})
			must(t, err)
			hc := &http.Client{Transport: tr}
			token := s.RootToken()
			auth, err := proxmox.TokenAuth(token)
			must(t, err)
			c, err := proxmox.New(s.URL(), auth, proxmox.WithHTTPClient(hc))
			must(t, err)
			ctx := tctx(t)
			fixtures := func() {
				// "already exists" is expected (probes may have run before);
				// any other failure would turn every later probe into a
				// probe of a missing object.
				for _, err := range []error{
					c.CreateRealm(ctx, proxmox.RealmCreate{Realm: "authentik", IssuerURL: "https://127.0.0.1:1/", ClientID: "c"}),
					c.CreateGroup(ctx, "admin", ""),
					c.CreateUser(ctx, proxmox.UserCreate{UserID: "alice@pve"}),
				} {
					if err != nil && !errors.Is(err, proxmox.ErrAlreadyExists) {
						t.Fatalf("fixture: %v", err)
					}
				}
			}
			concrete := strings.NewReplacer("{realm}", "authentik", "{groupid}", "admin", "{userid}", "alice@pve")

			probes := 0
			for _, op := range allOperations {
				method, tpl, _ := strings.Cut(op, " ")
				path := concrete.Replace(tpl)
				declared, err := chk.Params(method, tpl)
				must(t, err)
				// Candidate names: every version's declared names + a bogus one.
				cands := map[string]contract.ProxmoxParam{"pvesso-bogus": {Name: "pvesso-bogus", Type: "string"}}
				for _, v := range contract.ProxmoxSchemaVersions {
					ps, err := all[v].Params(method, tpl)
					if err != nil {
						continue
					}
					for n, p := range ps {
						if _, ok := cands[n]; !ok || v == tc.schema {
							cands[n] = p
						}
					}
				}
				names := make([]string, 0, len(cands))
				for n, p := range cands {
					if !p.InPath {
						names = append(names, n)
					}
				}
				sort.Strings(names)
				for _, name := range names {
					fixtures()
					params := url.Values{}
					for n, p := range declared {
						if !p.InPath && !p.Optional && n != name {
							params.Set(n, probeValue(n, p))
						}
					}
					params.Set(name, probeValue(name, cands[name]))
					if req := cands[name].Requires; req != "" && !params.Has(req) {
						if rp, ok := cands[req]; ok {
							params.Set(req, probeValue(req, rp))
						}
					}
					status, errs := rawCall(t, hc, s.URL(), method, path, params, func(r *http.Request) {
						if path != "/access/ticket" {
							r.Header.Set("Authorization", "PVEAPIToken="+token)
						}
					})
					probes++
					_, isDeclared := declared[name]
					rejected := status == 400 && strings.Contains(errs[name], notDefined)
					if isDeclared == rejected {
						t.Errorf("%s %s: parameter %q declared=%v but simulator rejected-as-unknown=%v (status %d, errors %v)",
							method, path, name, isDeclared, rejected, status, errs)
					}
				}
			}
			t.Logf("schema %s vs simulator %s: %d parameter-name probes over %d operations", tc.schema, tc.version, probes, len(allOperations))
		})
	}
}

// rawCall sends one request as the client would (query string on GET and
// DELETE, form body otherwise), with credentials set by authorize, and
// returns the status and the errors map of the answer.
func rawCall(t *testing.T, hc *http.Client, base, method, path string, params url.Values, authorize func(*http.Request)) (int, map[string]string) {
	t.Helper()
	target := base + "/api2/json" + path
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(tctx(t), method, target, body)
	must(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	authorize(req)
	resp, err := hc.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var out struct {
		Errors map[string]string `json:"errors"`
	}
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out.Errors
}

// badValues returns values the schema rejects for a parameter (each is
// confirmed by the checker before use).
func badValues(name string, p contract.ProxmoxParam) []string {
	var out []string
	switch p.Type {
	case "boolean":
		out = append(out, "true", "2")
	case "integer":
		out = append(out, "1.5", "x")
		if p.Minimum != nil {
			out = append(out, "-1000000000000")
		}
	}
	if len(p.Enum) > 0 {
		out = append(out, "not-in-enum")
	}
	if p.MaxLength > 0 && p.MaxLength < 5000 {
		out = append(out, "a"+strings.Repeat("b", p.MaxLength))
	}
	if p.MinLength > 1 {
		out = append(out, "a")
	}
	switch p.Format {
	case "pve-realm":
		out = append(out, "1bad", "a")
	case "pve-userid", "pve-userid-list":
		out = append(out, "nouser", "a:b@pve", strings.Repeat("u", 60)+"@pve")
	case "pve-groupid", "pve-groupid-list", "pve-roleid-list":
		out = append(out, "a:b", "ok,bad/x")
	case "pve-tokenid-list":
		out = append(out, "root@pam")
	case "pve-configid-list":
		out = append(out, "1bad")
	case "email-opt":
		out = append(out, "not an email")
	}
	if p.Pattern != "" {
		out = append(out, "a b", "<", "\x01")
	}
	return out
}

// For every declared parameter of every operation pvesso uses, values the
// schema rejects are rejected by the simulator with 400 and an errors entry
// for that parameter — with pve-common's message — and values the schema
// accepts are not reported as parameter errors. Requests are made as
// root@pam with a ticket, for which PVE skips permission checks, so the
// parameter verification is what answers.
func TestSimulatorValidatesLikeSchema(t *testing.T) {
	for _, tc := range []struct{ schema, version string }{{"8.0", "8.0.4"}, {"9.2", "9.2.0"}} {
		t.Run(tc.schema, func(t *testing.T) {
			t.Parallel()
			chk, err := contract.LoadProxmoxChecker(tc.schema)
			must(t, err)
			s := pvesim.New(pvesim.Options{Version: tc.version})
			must(t, s.Start())
			t.Cleanup(s.Close)
			tr, err := tlstrust.NewTransport(tlstrust.Config{Roots: s.CertPool()})
			must(t, err)
			hc := &http.Client{Transport: tr}
			ticket, csrf := rootTicket(t, hc, s)
			concrete := strings.NewReplacer("{realm}", "authentik", "{groupid}", "admin", "{userid}", "alice@pve")
			probes := 0
			for _, op := range allOperations {
				method, tpl, _ := strings.Cut(op, " ")
				declared, err := chk.Params(method, tpl)
				must(t, err)
				names := make([]string, 0, len(declared))
				for n := range declared {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, name := range names {
					p := declared[name]
					for _, bad := range badValues(name, p) {
						path := concrete.Replace(tpl)
						params := url.Values{}
						for n, q := range declared {
							if !q.InPath && !q.Optional {
								params.Set(n, probeValue(n, q))
							}
						}
						if p.InPath {
							path = strings.Replace(tpl, "{"+name+"}", url.PathEscape(bad), 1)
							path = concrete.Replace(path)
						} else {
							params.Set(name, bad)
							if p.Requires != "" && !params.Has(p.Requires) {
								params.Set(p.Requires, probeValue(p.Requires, declared[p.Requires]))
							}
						}
						unesc, _ := url.PathUnescape(path)
						verr := chk.CheckParams(method, unesc, params)
						var v *contract.ProxmoxViolation
						if !errors.As(verr, &v) || v.Errors[name] == "" || strings.Contains(v.Errors[name], "not verifiable by this checker") {
							continue // the schema (as far as checkable) does not reject this value: not a probe
						}
						probes++
						status, errs := rawCall(t, hc, s.URL(), method, path, params, func(r *http.Request) {
							r.Header.Set("Cookie", "PVEAuthCookie="+url.QueryEscape(ticket))
							if method != http.MethodGet {
								r.Header.Set("CSRFPreventionToken", csrf)
							}
						})
						if status != 400 || errs[name] == "" {
							t.Errorf("%s %s %s=%q: schema says %q, simulator answered %d %v", method, tpl, name, bad, v.Errors[name], status, errs)
							continue
						}
						if strings.TrimRight(errs[name], "\n") != v.Errors[name] {
							t.Errorf("message differs for %s %s %s=%q: simulator %q, checker %q", method, tpl, name, bad, errs[name], v.Errors[name])
						}
					}
				}
			}
			if probes < 50 {
				t.Errorf("only %d probes", probes)
			}
			t.Logf("schema %s vs simulator %s: %d invalid-value probes", tc.schema, tc.version, probes)
		})
	}
}

func rootTicket(t *testing.T, hc *http.Client, s *pvesim.Server) (string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(tctx(t), "POST", s.URL()+"/api2/json/access/ticket",
		strings.NewReader(url.Values{"username": {"root@pam"}, "password": {s.RootPassword()}}.Encode()))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Ticket string `json:"ticket"`
			CSRF   string `json:"CSRFPreventionToken"`
		} `json:"data"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	if out.Data.Ticket == "" {
		t.Fatalf("no ticket (status %d)", resp.StatusCode)
	}
	return out.Data.Ticket, out.Data.CSRF
}
