package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/simkit"
)

func errList(t *testing.T, r apiResp, field string) []string {
	t.Helper()
	raw, ok := r.obj()[field].([]any)
	if !ok {
		t.Fatalf("no error list for %q in %s", field, r.raw)
	}
	var out []string
	for _, x := range raw {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func wantErr(t *testing.T, r apiResp, field, msg string) {
	t.Helper()
	if r.status != 400 {
		t.Fatalf("status %d, want 400; %s", r.status, r.raw)
	}
	for _, m := range errList(t, r, field) {
		if m == msg {
			return
		}
	}
	t.Fatalf("%s errors %v, want %q", field, errList(t, r, field), msg)
}

func TestFreshInstallFlows(t *testing.T) {
	for _, v := range []string{"2024.8.4", "2025.8.1", "2026.8.3"} {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			want := map[string]string{
				FlowAuthentication:   "authentication",
				FlowInvalidation:     "invalidation",
				FlowImplicitConsent:  "authorization",
				FlowExplicitConsent:  "authorization",
				FlowSourceEnrollment: "enrollment",
				FlowUserSettings:     "stage_configuration",
			}
			if v != "2024.8.4" {
				want[FlowProviderInvalidation] = "invalidation"
			}
			for slug, des := range want {
				r := ts.api("GET", "/flows/instances/"+slug+"/", nil)
				ts.mustStatus(r, 200)
				if r.obj()["designation"] != des || r.obj()["slug"] != slug {
					t.Errorf("%s: %v/%v", slug, r.obj()["slug"], r.obj()["designation"])
				}
			}
			r := ts.api("GET", "/flows/instances/"+FlowProviderInvalidation+"/", nil)
			if v == "2024.8.4" {
				ts.mustStatus(r, 404)
				if r.obj()["detail"] != "No Flow matches the given query." {
					t.Errorf("404 detail %v", r.obj()["detail"])
				}
			}
			authz := ts.api("GET", "/flows/instances/?designation=authorization", nil)
			ts.mustStatus(authz, 200)
			var slugs []string
			for _, f := range authz.results() {
				slugs = append(slugs, f["slug"].(string))
			}
			if !reflect.DeepEqual(slugs, []string{FlowExplicitConsent, FlowImplicitConsent}) {
				t.Errorf("authorization flows %v", slugs)
			}
			bad := ts.api("GET", "/flows/instances/?designation=nope", nil)
			wantErr(t, bad, "designation", "Select a valid choice. nope is not one of the available choices.")
			byPK := ts.api("GET", "/flows/instances/?slug="+FlowImplicitConsent, nil)
			if n := len(byPK.results()); n != 1 {
				t.Errorf("slug filter: %d results", n)
			}
		})
	}
}

func TestFreshInstallScopeMappings(t *testing.T) {
	t.Run("provider path since 2024.8", func(t *testing.T) {
		ts := startSim(t, "2025.8.1")
		r := ts.api("GET", "/propertymappings/provider/scope/?managed="+ManagedScopeOpenID+"&managed="+ManagedScopeEmail+"&managed="+ManagedScopeProfile, nil)
		ts.mustStatus(r, 200)
		got := map[string]string{}
		for _, m := range r.results() {
			got[m["managed"].(string)] = m["scope_name"].(string)
		}
		if !reflect.DeepEqual(got, map[string]string{ManagedScopeOpenID: "openid", ManagedScopeEmail: "email", ManagedScopeProfile: "profile"}) {
			t.Errorf("managed filter: %v", got)
		}
		if n := len(ts.api("GET", "/propertymappings/provider/scope/?managed="+ManagedScopeOfflineAccess, nil).results()); n != 1 {
			t.Errorf("offline_access mapping: %d", n)
		}
		ts.mustStatus(ts.api("GET", "/propertymappings/scope/", nil), 404)
	})
	t.Run("old path before 2024.8", func(t *testing.T) {
		ts := startSim(t, "2024.6.3")
		r := ts.api("GET", "/propertymappings/scope/?managed="+ManagedScopeEmail, nil)
		ts.mustStatus(r, 200)
		if len(r.results()) != 1 {
			t.Fatalf("old path: %s", r.raw)
		}
		ts.mustStatus(ts.api("GET", "/propertymappings/provider/scope/", nil), 404)
	})
}

func TestFreshInstallKeyPairs(t *testing.T) {
	for _, v := range []string{"2025.8.1", "2026.8.3"} {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			all := ts.api("GET", "/crypto/certificatekeypairs/", nil)
			ts.mustStatus(all, 200)
			byName := map[string]map[string]any{}
			for _, k := range all.results() {
				byName[k["name"].(string)] = k
			}
			ss := byName[SelfSignedCertName]
			if ss == nil || ss["private_key_available"] != true {
				t.Fatalf("self-signed pair: %v", ss)
			}
			if !strings.Contains(ss["cert_subject"].(string), "CN="+SelfSignedCertName) || !strings.Contains(ss["cert_subject"].(string), "O=authentik") {
				t.Errorf("cert_subject %v", ss["cert_subject"])
			}
			if fp := ss["fingerprint_sha256"].(string); len(fp) != 95 || strings.ToLower(fp) != fp {
				t.Errorf("fingerprint %q: want 32 lower-case hex pairs joined by ':'", fp)
			}
			keyTypeField := "private_key_type"
			if v == "2026.8.3" {
				keyTypeField = "key_type"
			}
			for name, want := range map[string]any{SelfSignedCertName: "rsa", DemoECCertName: "ec"} {
				if byName[name][keyTypeField] != want {
					t.Errorf("%s %s = %v, want %v", name, keyTypeField, byName[name][keyTypeField], want)
				}
			}
			ca := byName[DemoCACertName]
			if ca["private_key_available"] != false {
				t.Errorf("CA pair has a private key")
			}
			// key_type comes from the certificate (set without key); the old
			// private_key_type from the private key (null without key).
			if v == "2026.8.3" && ca["key_type"] != "ec" {
				t.Errorf("key_type of a key-less pair %v", ca["key_type"])
			}
			if v == "2025.8.1" && ca["private_key_type"] != nil {
				t.Errorf("private_key_type of a key-less pair %v", ca["private_key_type"])
			}
			withKey := ts.api("GET", "/crypto/certificatekeypairs/?has_key=true", nil)
			for _, k := range withKey.results() {
				if k["private_key_available"] != true {
					t.Errorf("has_key=true returned %v", k["name"])
				}
			}
			if len(withKey.results()) != 2 {
				t.Errorf("has_key=true: %d pairs", len(withKey.results()))
			}
			one := ts.api("GET", "/crypto/certificatekeypairs/?name="+strings.ReplaceAll(SelfSignedCertName, " ", "%20"), nil)
			if len(one.results()) != 1 {
				t.Errorf("name filter: %d", len(one.results()))
			}
			nd := ts.api("GET", "/crypto/certificatekeypairs/?include_details=false", nil)
			for _, k := range nd.results() {
				if v == "2025.8.1" && (k["fingerprint_sha256"] != nil || k["cert_expiry"] != nil || k["private_key_type"] != nil) {
					t.Errorf("include_details=false kept details: %v", k)
				}
				if v == "2026.8.3" && k["fingerprint_sha256"] == nil {
					t.Errorf("include_details was removed in 2026.2 and must not null details")
				}
			}
			if v == "2026.8.3" {
				rsaOnly := ts.api("GET", "/crypto/certificatekeypairs/?key_type=rsa", nil)
				if len(rsaOnly.results()) != 1 || rsaOnly.results()[0]["name"] != SelfSignedCertName {
					t.Errorf("key_type=rsa: %s", rsaOnly.raw)
				}
			}
			pem := ts.api("GET", "/crypto/certificatekeypairs/"+ss["pk"].(string)+"/view_certificate/", nil)
			if !strings.HasPrefix(pem.obj()["data"].(string), "-----BEGIN CERTIFICATE-----") {
				t.Errorf("view_certificate: %s", pem.raw)
			}
			ts.mustStatus(ts.api("GET", "/crypto/certificatekeypairs/not-a-uuid/", nil), 404)
		})
	}
}

func TestGenerateKeyPair(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "pvesso-signing", "validity_days": 365, "alg": "ecdsa"})
	ts.mustStatus(r, 200)
	if r.obj()["name"] != "pvesso-signing" || r.obj()["private_key_type"] != "ec" || r.obj()["private_key_available"] != true {
		t.Errorf("generated: %s", r.raw)
	}
	expiry, err := time.Parse(time.RFC3339, r.obj()["cert_expiry"].(string))
	if err != nil || expiry.Before(time.Now().Add(364*24*time.Hour)) {
		t.Errorf("cert_expiry %v", r.obj()["cert_expiry"])
	}
	missing := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{})
	wantErr(t, missing, "common_name", msgRequired)
	wantErr(t, missing, "validity_days", msgRequired)
	badAlg := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "x", "validity_days": 1, "alg": "ed25519"})
	wantErr(t, badAlg, "alg", `"ed25519" is not a valid choice.`)
	dup := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "pvesso-signing", "validity_days": 1, "alg": "ecdsa"})
	ts.mustStatus(dup, 500)
	rsaKP := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "pvesso-rsa", "validity_days": "30"})
	ts.mustStatus(rsaKP, 200)
	for _, k := range ts.s.KeyPairs() {
		if k.Name == "pvesso-rsa" && k.KeyType != "rsa" {
			t.Errorf("default alg: %s", k.KeyType)
		}
	}
}

func TestUsersAndMe(t *testing.T) {
	for _, v := range testVersions {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			me := ts.api("GET", "/core/users/me/", nil)
			ts.mustStatus(me, 200)
			u := me.obj()["user"].(map[string]any)
			if u["username"] != "akadmin" || u["is_superuser"] != true {
				t.Errorf("me: %v", u)
			}
			groups := u["groups"].([]any)
			if len(groups) != 1 || groups[0].(map[string]any)["name"] != AdminGroupName {
				t.Errorf("akadmin groups %v", groups)
			}
			_, hasUsers := me.obj()["users"]
			if hasUsers != (v == "2026.8.3") {
				t.Errorf("SessionUser.users present=%v for %s", hasUsers, v)
			}
			alice := ts.api("GET", "/core/users/?username=alice", nil)
			if r := alice.results(); len(r) != 1 || r[0]["email"] != "alice@example.com" || r[0]["is_superuser"] != false {
				t.Errorf("alice: %s", alice.raw)
			} else if uid := r[0]["uid"].(string); len(uid) != 64 {
				t.Errorf("uid %q", uid)
			}
			byMail := ts.api("GET", "/core/users/?email=bob@example.com", nil)
			if r := byMail.results(); len(r) != 1 || r[0]["username"] != "bob" {
				t.Errorf("email filter: %s", byMail.raw)
			}
			search := ts.api("GET", "/core/users/?search=EXAMPLE", nil)
			if n := len(search.results()); n != 3 {
				t.Errorf("search: %d users", n)
			}
			adm := ts.api("GET", "/core/groups/?name="+strings.ReplaceAll(AdminGroupName, " ", "%20"), nil)
			if r := adm.results(); len(r) != 1 || r[0]["is_superuser"] != true || len(r[0]["users"].([]any)) != 1 {
				t.Errorf("admin group: %s", adm.raw)
			}
		})
	}
}

func TestNonSuperuserToken(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	tok := ts.s.CreateToken("alice")
	ts.mustStatus(ts.apiAs(tok, "GET", "/admin/version/", nil), 200)
	me := ts.apiAs(tok, "GET", "/core/users/me/", nil)
	ts.mustStatus(me, 200)
	if me.obj()["user"].(map[string]any)["is_superuser"] != false {
		t.Error("alice is no superuser")
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/flows/instances/"},
		{"GET", "/crypto/certificatekeypairs/"},
		{"GET", "/providers/oauth2/"},
		{"POST", "/providers/oauth2/"},
		{"POST", "/core/applications/"},
		{"GET", "/core/applications/anything/"},
		{"POST", "/policies/bindings/"},
	} {
		r := ts.apiAs(tok, c.method, c.path, map[string]any{})
		if c.method == "GET" {
			r = ts.apiAs(tok, c.method, c.path, nil)
		}
		if r.status != 403 || r.obj()["detail"] != msgNoPermission {
			t.Errorf("%s %s as alice: %d %s", c.method, c.path, r.status, r.raw)
		}
	}
	// The application list answers with what the user may access.
	ts.createApp("open-app", pveRedirect, "")
	apps := ts.apiAs(tok, "GET", "/core/applications/", nil)
	ts.mustStatus(apps, 200)
	if len(apps.results()) != 1 {
		t.Errorf("alice sees %d apps", len(apps.results()))
	}
	ts.s.SetUserActive("alice", false)
	r := ts.apiAs(tok, "GET", "/admin/version/", nil)
	if r.status != 403 || r.obj()["detail"] != msgTokenInvalid {
		t.Errorf("inactive user: %d %s", r.status, r.raw)
	}
}

func TestProviderValidation(t *testing.T) {
	for _, v := range testVersions {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			empty := ts.api("POST", "/providers/oauth2/", map[string]any{})
			for _, f := range []string{"name", "authorization_flow", "invalidation_flow", "redirect_uris"} {
				wantErr(t, empty, f, msgRequired)
			}
			good := ts.providerBody("P1", pveRedirect, "")
			mutate := func(k string, val any) map[string]any {
				b := map[string]any{}
				for kk, vv := range good {
					b[kk] = vv
				}
				b[k] = val
				return b
			}
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("client_type", "secret")), "client_type", `"secret" is not a valid choice.`)
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("sub_mode", "email")), "sub_mode", `"email" is not a valid choice.`)
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("authorization_flow", "default-provider-authorization-implicit-consent")),
				"authorization_flow", "“default-provider-authorization-implicit-consent” is not a valid UUID.")
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("signing_key", "00000000-0000-4000-8000-000000000000")),
				"signing_key", `Invalid pk "00000000-0000-4000-8000-000000000000" - object does not exist.`)
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("invalidation_flow", nil)), "invalidation_flow", msgNull)
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("name", "  ")), "name", msgBlank)
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("access_token_validity", "1h")), "access_token_validity",
				"1h is not in the correct format of 'hours=3;minutes=1'.")
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("redirect_uris", pveRedirect)), "redirect_uris",
				`Expected a list of items but got type "str".`)
			wantErr(t, ts.api("POST", "/providers/oauth2/", mutate("redirect_uris", []any{map[string]any{"matching_mode": "regex", "url": "https://(pve"}})),
				"redirect_uris", "Invalid Regex Pattern: https://(pve")
			nested := ts.api("POST", "/providers/oauth2/", mutate("redirect_uris", []any{
				map[string]any{"matching_mode": "strict", "url": "https://a"}, map[string]any{"matching_mode": "foo"}}))
			if nested.status != 400 {
				t.Fatalf("nested: %d", nested.status)
			}
			items, _ := nested.obj()["redirect_uris"].([]any)
			if len(items) != 2 || len(items[0].(map[string]any)) != 0 {
				t.Fatalf("nested error shape %s", nested.raw)
			}
			second := items[1].(map[string]any)
			if fmt.Sprint(second["matching_mode"]) != `["foo" is not a valid choice.]` || fmt.Sprint(second["url"]) != "[This field is required.]" {
				t.Errorf("nested errors %v", second)
			}
			// Unknown keys are ignored (DRF); grant_types only exists since 2026.5.
			withExtra := mutate("no_such_field", 1)
			withExtra["grant_types"] = []string{"authorization_code"}
			created := ts.api("POST", "/providers/oauth2/", withExtra)
			ts.mustStatus(created, 201)
			_, hasGrants := created.obj()["grant_types"]
			if hasGrants != (v == "2026.8.3") {
				t.Errorf("grant_types in answer: %v", hasGrants)
			}
			if v == "2026.8.3" {
				if fmt.Sprint(created.obj()["grant_types"]) != "[authorization_code]" {
					t.Errorf("grant_types %v", created.obj()["grant_types"])
				}
				bad := ts.api("POST", "/providers/oauth2/", mutate("grant_types", []any{"authorization_code", "magic"}))
				if bad.status != 400 || fmt.Sprint(bad.obj()["grant_types"]) != `map[1:["magic" is not a valid choice.]]` {
					t.Errorf("bad grant type: %d %s", bad.status, bad.raw)
				}
				rt := created.obj()["redirect_uris"].([]any)[0].(map[string]any)
				if rt["redirect_uri_type"] != "authorization" {
					t.Errorf("redirect_uri_type default %v", rt["redirect_uri_type"])
				}
			}
			dupName := ts.api("POST", "/providers/oauth2/", good)
			wantErr(t, dupName, "name", "provider with this name already exists.")
			dupID := mutate("name", "P2")
			dupID["client_id"] = created.obj()["client_id"]
			wantErr(t, ts.api("POST", "/providers/oauth2/", dupID), "client_id", "OAuth2/OpenID Provider with this Client ID already exists.")

			pk := int(created.obj()["pk"].(float64))
			// PUT is a full update: required fields again.
			put := ts.api("PUT", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"name": "P1"})
			wantErr(t, put, "authorization_flow", msgRequired)
			// PATCH is partial and keeps the rest.
			patch := ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"redirect_uris": []any{
				map[string]any{"matching_mode": "strict", "url": "https://pve2.example:8006"}}})
			ts.mustStatus(patch, 200)
			if patch.obj()["name"] != "P1" || len(patch.obj()["redirect_uris"].([]any)) != 1 {
				t.Errorf("patch: %s", patch.raw)
			}
			full := ts.providerBody("P1 renamed", "https://pve3.example:8006", ts.keyPK(SelfSignedCertName))
			upd := ts.api("PUT", fmt.Sprintf("/providers/oauth2/%d/", pk), full)
			ts.mustStatus(upd, 200)
			if upd.obj()["name"] != "P1 renamed" || upd.obj()["signing_key"] != ts.keyPK(SelfSignedCertName) {
				t.Errorf("put: %s", upd.raw)
			}
			// list filters
			if n := len(ts.api("GET", "/providers/oauth2/?name=P1%20renamed", nil).results()); n != 1 {
				t.Errorf("name filter %d", n)
			}
			if n := len(ts.api("GET", "/providers/oauth2/?client_id="+created.obj()["client_id"].(string), nil).results()); n != 1 {
				t.Errorf("client_id filter %d", n)
			}
			if n := len(ts.api("GET", "/providers/oauth2/?name=nope", nil).results()); n != 0 {
				t.Errorf("name filter on nothing %d", n)
			}
			ts.mustStatus(ts.api("DELETE", fmt.Sprintf("/providers/oauth2/%d/", pk), nil), 204)
			gone := ts.api("GET", fmt.Sprintf("/providers/oauth2/%d/", pk), nil)
			ts.mustStatus(gone, 404)
			if gone.obj()["detail"] != "No OAuth2Provider matches the given query." {
				t.Errorf("404 detail %v", gone.obj()["detail"])
			}
			ts.mustStatus(ts.api("GET", "/providers/oauth2/abc/", nil), 404)
		})
	}
}

func TestProviderRedirectURIsByVersion(t *testing.T) {
	t.Run("2024.10.1 still takes the string", func(t *testing.T) {
		ts := startSim(t, "2024.10.1")
		b := ts.providerBody("p", pveRedirect, "")
		if _, ok := b["redirect_uris"].(string); !ok {
			t.Fatal("helper must send a string to 2024.10.1")
		}
		if _, ok := b["invalidation_flow"]; !ok {
			t.Fatal("2024.10 requires invalidation_flow")
		}
		ts.mustStatus(ts.api("POST", "/providers/oauth2/", b), 201)
		b["name"] = "q"
		b["redirect_uris"] = []any{map[string]any{"matching_mode": "strict", "url": pveRedirect}}
		wantErr(t, ts.api("POST", "/providers/oauth2/", b), "redirect_uris", msgNotString)
	})
	t.Run("2024.10.3 takes objects", func(t *testing.T) {
		ts := startSim(t, "2024.10.3")
		ts.mustStatus(ts.api("POST", "/providers/oauth2/", ts.providerBody("p", pveRedirect, "")), 201)
	})
	t.Run("2024.8.4 ignores invalidation_flow", func(t *testing.T) {
		ts := startSim(t, "2024.8.4")
		b := ts.providerBody("p", pveRedirect, "")
		b["invalidation_flow"] = "00000000-0000-4000-8000-000000000000"
		r := ts.api("POST", "/providers/oauth2/", b)
		ts.mustStatus(r, 201)
	})
}

func TestApplications(t *testing.T) {
	for _, v := range testVersions {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			prov := ts.api("POST", "/providers/oauth2/", ts.providerBody("Proxmox", pveRedirect, ""))
			ts.mustStatus(prov, 201)
			ppk := prov.obj()["pk"]
			wantErr(t, ts.api("POST", "/core/applications/", map[string]any{}), "name", msgRequired)
			wantErr(t, ts.api("POST", "/core/applications/", map[string]any{"name": "x", "slug": "has space"}), "slug", msgSlug)
			long := strings.Repeat("a", 51)
			lr := ts.api("POST", "/core/applications/", map[string]any{"name": "x", "slug": long})
			if v == "2025.8.1" {
				wantErr(t, lr, "slug", "Ensure this field has no more than 50 characters.")
			} else {
				ts.mustStatus(lr, 201)
			}
			reserved := ts.api("POST", "/core/applications/", map[string]any{"name": "x", "slug": "token"})
			if v == "2026.8.3" {
				wantErr(t, reserved, "slug", "The slug 'token' is reserved and cannot be used for applications.")
			} else {
				ts.mustStatus(reserved, 201)
			}
			app := ts.api("POST", "/core/applications/", map[string]any{"name": "Proxmox VE", "slug": "proxmox", "provider": ppk, "meta_launch_url": pveRedirect})
			ts.mustStatus(app, 201)
			if app.obj()["launch_url"] != pveRedirect || app.obj()["provider_obj"].(map[string]any)["name"] != "Proxmox" {
				t.Errorf("app: %s", app.raw)
			}
			wantErr(t, ts.api("POST", "/core/applications/", map[string]any{"name": "again", "slug": "proxmox"}), "slug", "Application with this slug already exists.")
			wantErr(t, ts.api("POST", "/core/applications/", map[string]any{"name": "again", "slug": "proxmox2", "provider": ppk}), "provider", "Application with this provider already exists.")
			wantErr(t, ts.api("POST", "/core/applications/", map[string]any{"name": "again", "slug": "proxmox3", "provider": 999}), "provider", `Invalid pk "999" - object does not exist.`)
			wantErr(t, ts.api("POST", "/core/applications/", map[string]any{"name": "x", "slug": "y", "policy_engine_mode": "some"}), "policy_engine_mode", `"some" is not a valid choice.`)
			got := ts.api("GET", "/core/applications/proxmox/", nil)
			ts.mustStatus(got, 200)
			pg := ts.api("GET", fmt.Sprintf("/providers/oauth2/%v/", ppk), nil)
			if pg.obj()["assigned_application_slug"] != "proxmox" || pg.obj()["assigned_application_name"] != "Proxmox VE" {
				t.Errorf("provider assignment: %s", pg.raw)
			}
			su := ts.api("GET", fmt.Sprintf("/providers/oauth2/%v/setup_urls/", ppk), nil)
			ts.mustStatus(su, 200)
			if su.obj()["issuer"] != ts.s.URL()+"/application/o/proxmox/" {
				t.Errorf("setup_urls issuer %v", su.obj()["issuer"])
			}
			upd := ts.api("PUT", "/core/applications/proxmox/", map[string]any{"name": "Proxmox VE", "slug": "pve", "provider": ppk})
			ts.mustStatus(upd, 200)
			ts.mustStatus(ts.api("GET", "/core/applications/proxmox/", nil), 404)
			missing := ts.api("GET", "/core/applications/nope/", nil)
			if missing.status != 404 || missing.obj()["detail"] != "No Application matches the given query." {
				t.Errorf("missing app: %d %s", missing.status, missing.raw)
			}
			list := ts.api("GET", "/core/applications/?slug=pve&superuser_full_list=true", nil)
			if len(list.results()) != 1 {
				t.Errorf("slug filter: %s", list.raw)
			}
			// Deleting the provider unassigns it.
			ts.mustStatus(ts.api("DELETE", fmt.Sprintf("/providers/oauth2/%v/", ppk), nil), 204)
			after := ts.api("GET", "/core/applications/pve/", nil)
			if after.obj()["provider"] != nil || after.obj()["provider_obj"] != nil {
				t.Errorf("after provider delete: %s", after.raw)
			}
			ts.mustStatus(ts.api("DELETE", "/core/applications/pve/", nil), 204)
			ts.mustStatus(ts.api("DELETE", "/core/applications/pve/", nil), 404)
		})
	}
}

func TestPolicyBindings(t *testing.T) {
	for _, v := range testVersions {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			ts.createApp("proxmox", pveRedirect, "")
			app := ts.api("GET", "/core/applications/proxmox/", nil).obj()
			g := ts.api("POST", "/core/groups/", map[string]any{"name": "pve-admins"})
			ts.mustStatus(g, 201)
			wantErr(t, ts.api("POST", "/core/groups/", map[string]any{"name": "pve-admins"}), "name", "Group with this name already exists.")
			gpk := g.obj()["pk"].(string)
			empty := ts.api("POST", "/policies/bindings/", map[string]any{})
			wantErr(t, empty, "target", msgRequired)
			wantErr(t, empty, "order", msgRequired)
			none := ts.api("POST", "/policies/bindings/", map[string]any{"target": app["pk"], "order": 0})
			wantErr(t, none, "non_field_errors", "One of 'policy', 'group', 'user' must be set.")
			two := ts.api("POST", "/policies/bindings/", map[string]any{"target": app["pk"], "order": 0, "group": gpk, "user": ts.userPK("alice")})
			wantErr(t, two, "non_field_errors", "Only one of 'policy', 'group', 'user' can be set.")
			wantErr(t, ts.api("POST", "/policies/bindings/", map[string]any{"target": "00000000-0000-4000-8000-000000000000", "order": 0, "group": gpk}),
				"target", `Invalid pk "00000000-0000-4000-8000-000000000000" - object does not exist.`)
			b := ts.api("POST", "/policies/bindings/", map[string]any{"target": app["pk"], "order": 0, "group": gpk})
			ts.mustStatus(b, 201)
			if b.obj()["enabled"] != true || b.obj()["timeout"].(float64) != 30 || b.obj()["negate"] != false {
				t.Errorf("defaults: %s", b.raw)
			}
			if g := b.obj()["group_obj"].(map[string]any); g["name"] != "pve-admins" {
				t.Errorf("group_obj %v", g)
			}
			list := ts.api("GET", "/policies/bindings/?target="+app["pk"].(string), nil)
			if len(list.results()) != 1 {
				t.Errorf("target filter: %s", list.raw)
			}
			unknown := ts.api("GET", "/policies/bindings/?target=00000000-0000-4000-8000-000000000000", nil)
			wantErr(t, unknown, "target", msgFilterModel)
			// With a binding, the application disappears from akadmin's own
			// list (not a member) unless superuser_full_list is set.
			if n := len(ts.api("GET", "/core/applications/", nil).results()); n != 0 {
				t.Errorf("akadmin (not in pve-admins) sees %d apps without superuser_full_list", n)
			}
			if n := len(ts.api("GET", "/core/applications/?superuser_full_list=true", nil).results()); n != 1 {
				t.Errorf("superuser_full_list: %d apps", n)
			}
			pk := b.obj()["pk"].(string)
			ts.mustStatus(ts.api("DELETE", "/policies/bindings/"+pk+"/", nil), 204)
			gone := ts.api("DELETE", "/policies/bindings/"+pk+"/", nil)
			if gone.status != 404 || gone.obj()["detail"] != "No PolicyBinding matches the given query." {
				t.Errorf("second delete: %d %s", gone.status, gone.raw)
			}
			// Deleting the application deletes its bindings.
			ts.mustStatus(ts.api("POST", "/policies/bindings/", map[string]any{"target": app["pk"], "order": 1, "user": ts.userPK("bob")}), 201)
			ts.mustStatus(ts.api("DELETE", "/core/applications/proxmox/", nil), 204)
			if n := len(ts.s.PolicyBindings()); n != 0 {
				t.Errorf("%d bindings left after the application was deleted", n)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	for _, v := range []string{"2024.12.3", "2025.8.1", "2026.8.3"} {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			for i := 0; i < 105; i++ {
				ts.s.AddUser(fmt.Sprintf("user%03d", i), "User", fmt.Sprintf("u%d@example.com", i))
			}
			// 108 users in all.
			def := ts.api("GET", "/core/users/", nil)
			ts.mustStatus(def, 200)
			p := def.obj()["pagination"].(map[string]any)
			wantSize := 100.0
			if v == "2026.8.3" {
				wantSize = 20
			}
			if p["count"].(float64) != 108 || float64(len(def.results())) != wantSize || p["next"].(float64) != 2 || p["previous"].(float64) != 0 {
				t.Errorf("default page: %v (%d results)", p, len(def.results()))
			}
			_, hasAuto := def.obj()["autocomplete"]
			if hasAuto != (v != "2024.12.3") {
				t.Errorf("autocomplete present=%v", hasAuto)
			}
			big := ts.api("GET", "/core/users/?page_size=500", nil)
			wantBig := 108
			if v == "2026.8.3" {
				wantBig = 100 // capped since 2025.12
			}
			if len(big.results()) != wantBig {
				t.Errorf("page_size=500: %d results, want %d", len(big.results()), wantBig)
			}
			last := ts.api("GET", "/core/users/?page_size=50&page=3", nil)
			lp := last.obj()["pagination"].(map[string]any)
			if len(last.results()) != 8 || lp["start_index"].(float64) != 101 || lp["end_index"].(float64) != 108 ||
				lp["next"].(float64) != 0 || lp["previous"].(float64) != 2 || lp["total_pages"].(float64) != 3 || lp["current"].(float64) != 3 {
				t.Errorf("last page: %v", lp)
			}
			bad := ts.api("GET", "/core/users/?page=9", nil)
			if bad.status != 404 || bad.obj()["detail"] != msgInvalidPage {
				t.Errorf("page 9: %d %s", bad.status, bad.raw)
			}
			none := ts.api("GET", "/core/users/?username=nobody", nil)
			np := none.obj()["pagination"].(map[string]any)
			if np["count"].(float64) != 0 || np["total_pages"].(float64) != 1 || np["start_index"].(float64) != 0 || len(none.results()) != 0 {
				t.Errorf("empty list: %v", np)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := ts.api("POST", "/providers/oauth2/", "{not json")
	if r.status != 400 || !strings.HasPrefix(r.obj()["detail"].(string), "JSON parse error") {
		t.Errorf("bad JSON: %d %s", r.status, r.raw)
	}
	arr := ts.api("POST", "/providers/oauth2/", "[1]")
	wantErr(t, arr, "non_field_errors", "Invalid data. Expected a dictionary, but got list.")
	m := ts.api("DELETE", "/providers/oauth2/", nil)
	if m.status != 405 || m.obj()["detail"] != `Method "DELETE" not allowed.` {
		t.Errorf("405: %d %s", m.status, m.raw)
	}
	ts.mustStatus(ts.api("GET", "/no/such/endpoint/", nil), 404)
}

func TestKitFaultsAndLog(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	ts.s.Kit().ResetLog()
	ts.s.Kit().InjectFault(simkit.Fault{Method: "GET", Path: "/api/v3/admin/version/", Nth: 2, Kind: simkit.FaultStatus, Status: 503, Body: `{"detail":"unavailable"}`})
	ts.mustStatus(ts.api("GET", "/admin/version/", nil), 200)
	r := rawGet(t, ts, "/api/v3/admin/version/", "Bearer "+ts.token)
	if r.status != 503 {
		t.Fatalf("fault: %d", r.status)
	}
	ts.mustStatus(ts.api("GET", "/admin/version/", nil), 200)
	ts.mustStatus(ts.api("POST", "/core/groups/", map[string]any{"name": "g"}), 201)
	reqs := ts.s.Kit().Requests()
	if len(reqs) != 4 || ts.s.Kit().Writes() != 1 || reqs[1].Status != 503 || reqs[3].Method != "POST" {
		t.Errorf("log %+v writes %d", reqs, ts.s.Kit().Writes())
	}
}

func TestLatencyOption(t *testing.T) {
	s := New(Options{Latency: 30 * time.Millisecond})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := clientFor(t, s, false)
	start := time.Now()
	resp, err := c.Get(s.URL() + "/api/v3/admin/version/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if time.Since(start) < 30*time.Millisecond {
		t.Errorf("latency not applied")
	}
}

func TestConcurrentCreates(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	body := ts.providerBody("same", pveRedirect, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := map[string]any{}
			for k, v := range body {
				b[k] = v
			}
			if i%2 == 1 {
				b["name"] = fmt.Sprintf("unique-%d", i)
			}
			req, _ := http.NewRequest("POST", ts.s.URL()+"/api/v3/providers/oauth2/", strings.NewReader(mustJSON(b)))
			req.Header.Set("Authorization", "Bearer "+ts.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if codes[201] != 9 || codes[400] != 7 {
		t.Fatalf("status counts %v: want 9 created (8 unique + 1 'same') and 7 duplicates", codes)
	}
	if n := len(ts.s.Providers()); n != 9 {
		t.Fatalf("%d providers", n)
	}
	seen := map[int]bool{}
	for _, p := range ts.s.Providers() {
		if seen[p.PK] {
			t.Fatalf("duplicate pk %d", p.PK)
		}
		seen[p.PK] = true
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
