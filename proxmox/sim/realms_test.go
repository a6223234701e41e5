package sim_test

import (
	"net/url"
	"strings"
	"testing"

	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

const issuer = "https://auth.example.test/application/o/proxmox/"

func TestRealmCreateReadAndDuplicates(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	p.openidRealm("authentik", issuer, "username-claim", "subject", "autocreate", "1", "comment", "authentik SSO", "scopes", "email profile")
	d := p.ok(p.do("GET", "/access/domains/authentik", nil, token(p.root))).dataMap()
	want := map[string]any{"type": "openid", "issuer-url": issuer, "client-id": "pve-client", "client-key": testClientSecret,
		"username-claim": "subject", "autocreate": float64(1), "comment": "authentik SSO", "scopes": "email profile"}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, d[k], d[k], v)
		}
	}
	if dg, _ := d["digest"].(string); len(dg) != 40 {
		t.Errorf("digest = %v, want a SHA-1 hex", d["digest"])
	}
	if _, ok := d["realm"]; ok {
		t.Error("the section id is not a property")
	}
	l := p.ok(p.do("GET", "/access/domains", nil, noAuth)).dataList()
	if len(l) != 3 || l[0]["realm"] != "authentik" || l[0]["type"] != "openid" || l[0]["comment"] != "authentik SSO" {
		t.Fatalf("list = %v", l)
	}
	r := p.do("POST", "/access/domains", vals("realm", "authentik", "type", "openid", "issuer-url", issuer, "client-id", "x"), token(p.root))
	p.want(r, 500, "add auth server failed: domain 'authentik' already exists")
	if r.Message != "add auth server failed: domain 'authentik' already exists\n" {
		t.Fatalf("message %q", r.Message)
	}
	p.want(p.do("POST", "/access/domains", vals("realm", "pam", "type", "openid", "issuer-url", issuer, "client-id", "x"), token(p.root)),
		500, "add auth server failed: domain 'pam' already exists")
	p.want(p.do("POST", "/access/domains", vals("realm", "mypam", "type", "pam"), token(p.root)),
		500, "add auth server failed: unable to create builtin type 'pam'")
	p.want(p.do("GET", "/access/domains/nope", nil, token(p.root)), 500, "domain 'nope' does not exist")
}

func TestRealmCreateValidation(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{Version: "8.4.14"})
	base := func(kv ...string) url.Values {
		return vals(append([]string{"realm", "authentik", "type", "openid", "issuer-url", issuer, "client-id", "c"}, kv...)...)
	}
	root := token(p.root)
	p.wantErr(p.do("POST", "/access/domains", vals("realm", "1bad", "type", "openid"), root), "realm", "invalid format - value does not look like a valid realm\n")
	p.wantErr(p.do("POST", "/access/domains", vals("realm", "a"+strings.Repeat("b", 32), "type", "openid"), root), "realm", "value may only be 32 characters long")
	p.wantErr(p.do("POST", "/access/domains", vals("type", "openid"), root), "realm", "property is missing and it is not optional")
	p.wantErr(p.do("POST", "/access/domains", vals("realm", "x1", "type", "kerberos"), root), "type", "value 'kerberos' does not have a value in the enumeration 'ad, ldap, openid, pam, pve'")
	p.wantErr(p.do("POST", "/access/domains", base("frobnicate", "1"), root), "frobnicate", "property is not defined in schema and the schema does not allow additional properties")
	p.wantErr(p.do("POST", "/access/domains", base("autocreate", "true"), root), "autocreate", "type check ('boolean') failed - got 'true'")
	p.wantErr(p.do("POST", "/access/domains", base("issuer-url", strings.Repeat("x", 257)), root), "issuer-url", "value may only be 256 characters long")
	p.wantErr(p.do("POST", "/access/domains", base("acr-values", "a b"), root), "acr-values", "value does not match the regex pattern")
	p.wantErr(p.do("POST", "/access/domains", base("groups-claim", "bad claim"), root), "groups-claim", "value does not match the regex pattern")
	// all problems are reported at once
	r := p.do("POST", "/access/domains", vals("realm", "1bad", "junk", "x", "autocreate", "yes"), root)
	if len(r.Errors) != 4 {
		t.Fatalf("errors = %v, want realm, type, junk, autocreate", r.Errors)
	}
	// options of other realm types are schema-valid but not openid options
	p.want(p.do("POST", "/access/domains", base("verify", "1"), root), 500, "add auth server failed: unexpected property 'verify'")
	p.want(p.do("POST", "/access/domains", base("tfa", "type=oath"), root), 500, "add auth server failed: unexpected property 'tfa'")
	p.want(p.do("POST", "/access/domains", base("check-connection", "1"), root), 500,
		"add auth server failed: 'check-connection' parameter can only be set for realms of type 'ldap' or 'ad'")
	// required openid options
	p.want(p.do("POST", "/access/domains", vals("realm", "authentik", "type", "openid", "client-id", "c"), root), 500,
		"add auth server failed: missing value for required option 'issuer-url'")
	p.want(p.do("POST", "/access/domains", vals("realm", "authentik", "type", "openid", "issuer-url", issuer), root), 500,
		"add auth server failed: missing value for required option 'client-id'")
	if len(p.s.Realms()) != 2 {
		t.Fatalf("failed creates left realms behind: %v", p.s.Realms())
	}
	// JSON bodies with booleans work too (fix #4778)
	req := `{"realm":"j1","type":"openid","issuer-url":"` + issuer + `","client-id":"c","autocreate":true}`
	p.ok(p.doJSON("POST", "/access/domains", req, root))
	if d := p.ok(p.do("GET", "/access/domains/j1", nil, root)).dataMap(); d["autocreate"] != float64(1) {
		t.Fatalf("JSON true stored as %v", d["autocreate"])
	}
}

func TestRealmOptionsByVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ver                  string
		groups, aud, acrPatt bool
	}{
		{"8.0.4", false, false, false},
		{"8.3.5", false, false, true},
		{"8.4.14", true, false, true},
		{"9.0.10", true, false, true},
		{"9.1.5", true, false, true},
		{"9.2.0", true, true, true},
	}
	for _, c := range cases {
		p := startPVE(t, pvesim.Options{Version: c.ver})
		n := 0
		try := func(kv ...string) resp {
			n++
			id := "r" + strings.Repeat("x", n)
			return p.do("POST", "/access/domains", vals(append([]string{"realm", id, "type", "openid", "issuer-url", issuer, "client-id", "c"}, kv...)...), token(p.root))
		}
		for _, opt := range [][2]string{{"groups-claim", "groups"}, {"groups-autocreate", "1"}, {"groups-overwrite", "0"}, {"query-userinfo", "0"}} {
			r := try(opt[0], opt[1])
			if (r.Status == 200) != c.groups {
				t.Errorf("%s: %s accepted=%v, want %v (%d %s)", c.ver, opt[0], r.Status == 200, c.groups, r.Status, r.Reason)
			}
			if !c.groups && r.Errors[opt[0]] != "property is not defined in schema and the schema does not allow additional properties" {
				t.Errorf("%s: %s errors %v", c.ver, opt[0], r.Errors)
			}
		}
		if r := try("audiences", "extra"); (r.Status == 200) != c.aud {
			t.Errorf("%s: audiences accepted=%v want %v", c.ver, r.Status == 200, c.aud)
		}
		if r := try("acr-values", "a<b"); (r.Status == 400) != c.acrPatt {
			t.Errorf("%s: acr-values pattern enforced=%v want %v", c.ver, r.Status == 400, c.acrPatt)
		}
	}
}

func TestRealmUpdateRules(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{Version: "9.2.0"})
	root := token(p.root)
	p.openidRealm("authentik", issuer, "username-claim", "username", "comment", "old", "default", "1")
	// username-claim is fixed: not part of the update schema at all
	p.wantErr(p.do("PUT", "/access/domains/authentik", vals("username-claim", "email"), root),
		"username-claim", "property is not defined in schema and the schema does not allow additional properties")
	p.wantErr(p.do("PUT", "/access/domains/authentik", vals("type", "openid"), root),
		"type", "property is not defined in schema and the schema does not allow additional properties")
	p.want(p.do("PUT", "/access/domains/authentik", nil, root), 500, "update auth server failed: no options specified")
	p.want(p.do("PUT", "/access/domains/nope", vals("comment", "x"), root), 500, "update auth server failed: domain 'nope' does not exist")
	p.want(p.do("PUT", "/access/domains/authentik", vals("verify", "1"), root), 500, "update auth server failed: unexpected property 'verify'")
	// optimistic locking
	d := p.ok(p.do("GET", "/access/domains/authentik", nil, root)).dataMap()
	digest := d["digest"].(string)
	p.ok(p.do("PUT", "/access/domains/authentik", vals("comment", "new", "digest", digest, "autocreate", "1", "groups-claim", "groups"), root))
	p.want(p.do("PUT", "/access/domains/authentik", vals("comment", "newer", "digest", digest), root), 500,
		"update auth server failed: detected modified configuration - file changed by other user? Try again.")
	d = p.ok(p.do("GET", "/access/domains/authentik", nil, root)).dataMap()
	if d["comment"] != "new" || d["autocreate"] != float64(1) || d["username-claim"] != "username" || d["digest"] == digest {
		t.Fatalf("after update %v", d)
	}
	// delete removes options
	p.ok(p.do("PUT", "/access/domains/authentik", vals("delete", "comment,groups-claim"), root))
	d = p.ok(p.do("GET", "/access/domains/authentik", nil, root)).dataMap()
	if _, ok := d["comment"]; ok {
		t.Fatalf("comment not deleted: %v", d)
	}
	if _, ok := d["groups-claim"]; ok {
		t.Fatalf("groups-claim not deleted: %v", d)
	}
	p.wantErr(p.do("PUT", "/access/domains/authentik", vals("delete", "bad option!"), root), "delete", "invalid format - invalid configuration ID 'option!'\n")
	// only one default realm
	p.openidRealm("other", issuer)
	p.ok(p.do("PUT", "/access/domains/other", vals("default", "1"), root))
	for _, e := range p.ok(p.do("GET", "/access/domains", nil, noAuth)).dataList() {
		if (e["default"] == float64(1)) != (e["realm"] == "other") {
			t.Fatalf("default flags %v", e)
		}
	}
	// a pam realm takes a comment
	p.ok(p.do("PUT", "/access/domains/pam", vals("comment", "local"), root))
}

func TestRealmDelete(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	root := token(p.root)
	p.openidRealm("authentik", issuer)
	p.ok(p.do("POST", "/access/users", vals("userid", "alice@authentik"), root))
	p.ok(p.do("DELETE", "/access/domains/authentik", nil, root))
	p.want(p.do("DELETE", "/access/domains/authentik", nil, root), 500, "delete auth server failed: authentication domain 'authentik' does not exist")
	// users of the realm survive
	if u := p.s.Users(); len(u) != 2 || u[0].UserID != "alice@authentik" {
		t.Fatalf("users %v", u)
	}
	// built-in realms come back
	p.ok(p.do("DELETE", "/access/domains/pve", nil, root))
	if len(p.ok(p.do("GET", "/access/domains", nil, noAuth)).dataList()) != 2 {
		t.Fatal("pve realm must be re-created on read")
	}
}
