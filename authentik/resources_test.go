package authentik_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
)

func TestScopeMappingPathByVersion(t *testing.T) {
	ctx := context.Background()
	sm := func(pk, managed, scope string) map[string]any {
		return map[string]any{"pk": pk, "managed": managed, "name": scope, "scope_name": scope, "expression": "return {}",
			"component": "ak-property-mapping-provider-scope-form", "verbose_name": "Scope Mapping",
			"verbose_name_plural": "Scope Mappings", "meta_model_name": "authentik_providers_oauth2.scopemapping"}
	}
	for _, c := range []struct{ version, path string }{
		{"2024.6.3", "/propertymappings/scope/"},
		{"2024.8.0", "/propertymappings/provider/scope/"},
		{"2025.8.1", "/propertymappings/provider/scope/"},
		{"2026.8.3", "/propertymappings/provider/scope/"},
	} {
		f := newFake(t, c.version)
		// the server returns an extra mapping; the exact filter is re-checked
		f.replyList(c.path, sm(mapM1, authentik.ScopeOpenID, "openid"), sm(mapM2, authentik.ScopeEmail, "email"),
			sm("aaaaaaaa-0000-4000-8000-000000000003", "custom", "groups"))
		ms, err := f.client().ScopeMappingsByManaged(ctx, authentik.ScopeOpenID, authentik.ScopeEmail)
		if err != nil {
			t.Fatalf("%s: %v", c.version, err)
		}
		if len(ms) != 2 || ms[0].PK != mapM1 || ms[1].ScopeName != "email" || ms[0].Managed != authentik.ScopeOpenID {
			t.Fatalf("%s: %+v", c.version, ms)
		}
		l := f.only("GET", c.path)
		if got := l.Query["managed"]; len(got) != 2 || got[0] != authentik.ScopeOpenID || got[1] != authentik.ScopeEmail {
			t.Fatalf("%s: managed = %v", c.version, got)
		}
		// version + one list page; before 2024.8 also the speculative read
		// of the >= 2024.8 path, sent with the detection and discarded
		want := 2
		if c.path == "/propertymappings/scope/" {
			want = 3
			f.only("GET", "/propertymappings/provider/scope/")
		}
		if len(f.requests()) != want {
			t.Fatalf("%s: %d requests, want %d", c.version, len(f.requests()), want)
		}
		// a client that knows the version reads the one path only
		f2 := newFake(t, c.version)
		f2.replyList(c.path, sm(mapM1, authentik.ScopeOpenID, "openid"))
		if ms, err := f2.clientAt(c.version).ScopeMappingsByManaged(ctx, authentik.ScopeOpenID); err != nil || len(ms) != 1 || len(f2.requests()) != 1 {
			t.Fatalf("%s with a known version: %+v, %v, %d requests", c.version, ms, err, len(f2.requests()))
		}
		if c.version == "2025.8.1" || c.version == "2026.8.3" {
			checkRequests(t, f, c.version)
		}
	}
}

func TestFlows(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, "2025.8.1")
	flow := map[string]any{"pk": flowA, "slug": authentik.FlowImplicitConsent, "name": "Authorize Application", "title": "Redirecting",
		"designation": "authorization", "authentication": "require_authenticated"}
	f.reply("GET", "/flows/instances/"+authentik.FlowImplicitConsent+"/", 200, flow)
	c := f.clientAt("2025.8.1")
	fl, err := c.FlowBySlug(ctx, authentik.FlowImplicitConsent)
	if err != nil || fl.PK != flowA || fl.Designation != "authorization" || fl.Title != "Redirecting" {
		t.Fatalf("FlowBySlug = %+v, %v", fl, err)
	}
	if _, err := c.FlowBySlug(ctx, authentik.FlowProviderInvalidation); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	// a different flow answered for the slug is not accepted
	f.reply("GET", "/flows/instances/other/", 200, flow)
	if _, err := c.FlowBySlug(ctx, "other"); !errors.Is(err, authentik.ErrUnexpectedResponse) {
		t.Fatalf("want ErrUnexpectedResponse, got %v", err)
	}
	inv := map[string]any{"pk": flowB, "slug": authentik.FlowProviderInvalidation, "name": "Logged out", "title": "t", "designation": "invalidation"}
	f.replyList("/flows/instances/", inv, flow)
	fs, err := c.FlowsByDesignation(ctx, "invalidation")
	if err != nil || len(fs) != 1 || fs[0].PK != flowB {
		t.Fatalf("FlowsByDesignation = %+v, %v", fs, err)
	}
	if q := f.only("GET", "/flows/instances/").Query; q["designation"][0] != "invalidation" {
		t.Fatalf("query %v", q)
	}
	checkRequests(t, f, "2025.8.1")
}

func TestUsers(t *testing.T) {
	f := newFake(t, "2025.8.1")
	f.replyList("/core/users/", map[string]any{"pk": 8, "username": "alice", "name": "Alice", "email": "alice@example.com", "is_active": true,
		"is_superuser": false, "uid": "u", "groups": []any{flowA}, "groups_obj": []any{map[string]any{"pk": flowA, "name": "pve-admins"}}},
		map[string]any{"pk": 9, "username": "alice2", "email": "alice2@example.com", "groups_obj": nil})
	us, err := f.clientAt("2025.8.1").ListUsers(context.Background(), authentik.ListUsersOptions{Username: "alice"})
	if err != nil || len(us) != 1 || us[0].PK != 8 || us[0].Groups[0] != "pve-admins" || us[0].GroupPKs[0] != flowA || !us[0].IsActive {
		t.Fatalf("ListUsers = %+v, %v", us, err)
	}
	q := f.only("GET", "/core/users/").Query
	if q["username"][0] != "alice" || q["include_groups"][0] != "true" {
		t.Fatalf("query %v", q)
	}
	checkRequests(t, f, "2025.8.1")
}

// Active and Types are sent as is_active and type (and re-checked); Max
// stops the pagination once enough users are in.
func TestUsersFiltersAndMax(t *testing.T) {
	f := newFake(t, "2025.8.1")
	user := func(pk int, typ string, active bool) map[string]any {
		return map[string]any{"pk": pk, "username": fmt.Sprintf("u%d", pk), "type": typ, "is_active": active}
	}
	f.on("GET", "/core/users/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "1":
			writeJSON(w, 200, pageOf([]any{user(1, "internal", true), user(2, "service_account", true), user(3, "external", false)}, 1, 2))
		case "2":
			writeJSON(w, 200, pageOf([]any{user(4, "external", true), user(5, "internal", true)}, 2, 3))
		default:
			writeJSON(w, 200, pageOf([]any{user(6, "internal", true)}, 3, 0))
		}
	})
	c := f.clientAt("2025.8.1")
	active := true
	us, err := c.ListUsers(context.Background(), authentik.ListUsersOptions{Active: &active,
		Types: []string{authentik.UserTypeInternal, authentik.UserTypeExternal}, Max: 2})
	if err != nil || len(us) != 2 || us[0].PK != 1 || us[1].PK != 4 {
		t.Fatalf("ListUsers = %+v, %v (want u1 and u4: the others fail the filters)", us, err)
	}
	calls := f.calls("GET", "/core/users/")
	if len(calls) != 2 {
		t.Fatalf("%d pages read, want 2 (Max reached on page 2)", len(calls))
	}
	if q := calls[0].Query; q["is_active"][0] != "true" || len(q["type"]) != 2 || q["type"][0] != "internal" || q["type"][1] != "external" {
		t.Fatalf("query %v", q)
	}
	checkRequests(t, f, "2025.8.1")
	all, err := c.ListUsers(context.Background(), authentik.ListUsersOptions{})
	if err != nil || len(all) != 6 {
		t.Fatalf("without filters: %d users, %v", len(all), err)
	}
	if _, err := c.ListUsers(context.Background(), authentik.ListUsersOptions{Max: -1}); !errors.Is(err, authentik.ErrInvalidRequest) {
		t.Fatalf("negative Max: %v", err)
	}
}

// UUID and UPN come from User.uuid and User.attributes.upn; an upn that is
// not a string (or no attributes at all) gives "".
func TestUserUUIDAndUPN(t *testing.T) {
	const uuid = "0b4c5b8e-6a3d-4f27-9f0c-1d2e3f405162"
	f := newFake(t, "2025.8.1")
	f.replyList("/core/users/",
		map[string]any{"pk": 1, "username": "upn", "uuid": uuid, "attributes": map[string]any{"upn": "alice@corp.example", "other": []any{1, "x"}}},
		map[string]any{"pk": 2, "username": "none", "uuid": "u2", "attributes": map[string]any{}},
		map[string]any{"pk": 3, "username": "number", "attributes": map[string]any{"upn": 42}},
		map[string]any{"pk": 4, "username": "null", "attributes": map[string]any{"upn": nil}},
		map[string]any{"pk": 5, "username": "noattrs"})
	us, err := f.clientAt("2025.8.1").ListUsers(context.Background(), authentik.ListUsersOptions{})
	if err != nil || len(us) != 5 {
		t.Fatalf("ListUsers = %+v, %v", us, err)
	}
	want := []struct{ uuid, upn string }{{uuid, "alice@corp.example"}, {"u2", ""}, {"", ""}, {"", ""}, {"", ""}}
	for i, w := range want {
		if us[i].UUID != w.uuid || us[i].UPN != w.upn {
			t.Errorf("%s: UUID %q UPN %q, want %q %q", us[i].Username, us[i].UUID, us[i].UPN, w.uuid, w.upn)
		}
	}
}

func selfSigned(t *testing.T, key any, pub any) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func keyPairJSON(pk, name string, hasKey bool, typeField string, typeValue any) map[string]any {
	m := map[string]any{"pk": pk, "name": name, "fingerprint_sha256": "AB:CD", "fingerprint_sha1": "12:34",
		"cert_expiry": "2026-11-29T21:00:00.123456Z", "cert_subject": "CN=" + name, "private_key_available": hasKey,
		"certificate_download_url": "/x", "private_key_download_url": "/y", "managed": nil}
	m[typeField] = typeValue
	return m
}

func TestKeyPairTypeByVersion(t *testing.T) {
	ctx := context.Background()
	yes := true
	// before 2025.12: private_key_type (free string; only with a private key)
	f := newFake(t, "2025.8.1")
	f.replyList("/crypto/certificatekeypairs/",
		keyPairJSON(keyK, authentik.SelfSignedCertificateName, true, "private_key_type", "rsa"),
		keyPairJSON(flowA, "ec", true, "private_key_type", "ec"),
		keyPairJSON(flowB, "cert only", false, "private_key_type", nil))
	c := f.clientAt("2025.8.1")
	kps, err := c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{KeyTypes: []string{"rsa"}})
	if err != nil || len(kps) != 1 || kps[0].KeyType != "rsa" || kps[0].Name != authentik.SelfSignedCertificateName {
		t.Fatalf("rsa filter on 2025.8.1 = %+v, %v", kps, err)
	}
	if kps[0].CertExpiry.Year() != 2026 || kps[0].CertExpiry.Nanosecond() != 123456000 || !kps[0].PrivateKeyAvailable || kps[0].FingerprintSHA256 != "AB:CD" {
		t.Fatalf("key pair = %+v", kps[0])
	}
	if q := f.calls("GET", "/crypto/certificatekeypairs/")[0].Query; q["key_type"] != nil {
		t.Fatalf("key_type filter sent to 2025.8.1: %v", q)
	}
	all, err := c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{})
	if err != nil || len(all) != 3 || all[1].KeyType != "ecdsa" || all[1].KeyTypeRaw != "ec" || all[2].KeyType != "" {
		t.Fatalf("all = %+v, %v", all, err)
	}
	no := false
	withoutKey, err := c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{HasKey: &no})
	if err != nil || len(withoutKey) != 1 || withoutKey[0].PK != flowB {
		t.Fatalf("HasKey=false = %+v, %v", withoutKey, err)
	}
	if _, err := c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{HasKey: &yes}); err != nil {
		t.Fatal(err)
	}
	if q := f.calls("GET", "/crypto/certificatekeypairs/")[3].Query; q["has_key"][0] != "true" {
		t.Fatalf("has_key not sent: %v", q)
	}
	checkRequests(t, f, "2025.8.1")

	// from 2025.12: key_type enum, filter sent to the server
	f = newFake(t, "2026.8.3")
	f.replyList("/crypto/certificatekeypairs/",
		keyPairJSON(keyK, "rsa", true, "key_type", "rsa"),
		keyPairJSON(flowA, "ec", false, "key_type", "ec"))
	c = f.clientAt("2026.8.3")
	kps, err = c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{KeyTypes: []string{"rsa", "ecdsa"}})
	if err != nil || len(kps) != 2 || kps[1].KeyType != "ecdsa" || kps[1].PrivateKeyAvailable {
		t.Fatalf("2026.8.3 = %+v, %v", kps, err)
	}
	if q := f.only("GET", "/crypto/certificatekeypairs/").Query; strings.Join(q["key_type"], ",") != "rsa,ec" {
		t.Fatalf("key_type filter = %v", q["key_type"])
	}
	checkRequests(t, f, "2026.8.3")
	if _, err := c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{KeyTypes: []string{"rot13"}}); !errors.Is(err, authentik.ErrInvalidRequest) {
		t.Fatalf("unknown key type: %v", err)
	}
	// a 2025.8 server that answers with key_type only is read as "unknown type", not guessed
	f = newFake(t, "2025.8.1")
	f.reply("GET", "/crypto/certificatekeypairs/"+keyK+"/", 200, keyPairJSON(keyK, "x", true, "key_type", "rsa"))
	kp, err := f.clientAt("2025.8.1").GetKeyPair(ctx, keyK)
	if err != nil || kp.KeyType != "" {
		t.Fatalf("GetKeyPair = %+v, %v", kp, err)
	}
	if _, err := f.clientAt("2025.8.1").GetKeyPair(ctx, flowA); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestInspectKeyPair(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(t, "2025.8.1")
	f.reply("GET", "/crypto/certificatekeypairs/"+keyK+"/view_certificate/", 200, map[string]any{"data": selfSigned(t, rk, &rk.PublicKey)})
	f.reply("GET", "/crypto/certificatekeypairs/"+flowA+"/view_certificate/", 200, map[string]any{"data": selfSigned(t, ek, &ek.PublicKey)})
	f.reply("GET", "/crypto/certificatekeypairs/"+flowB+"/view_certificate/", 200, map[string]any{"data": "not pem"})
	c := f.clientAt("2025.8.1")
	ctx := context.Background()
	kp := &authentik.KeyPair{PK: keyK, KeyType: "rsa"}
	if err := c.InspectKeyPair(ctx, kp); err != nil || kp.KeySize != 2048 || kp.KeyType != "rsa" {
		t.Fatalf("rsa = %+v, %v", kp, err)
	}
	kp = &authentik.KeyPair{PK: flowA}
	if err := c.InspectKeyPair(ctx, kp); err != nil || kp.KeySize != 384 || kp.KeyType != "ecdsa" {
		t.Fatalf("ec = %+v, %v", kp, err)
	}
	if err := c.InspectKeyPair(ctx, &authentik.KeyPair{PK: flowB}); !errors.Is(err, authentik.ErrUnexpectedResponse) {
		t.Fatalf("want ErrUnexpectedResponse, got %v", err)
	}
	for _, l := range f.requests() {
		if strings.Contains(l.Path, "private_key") {
			t.Fatalf("the private key was requested: %s", l.Path)
		}
	}
	checkRequests(t, f, "2025.8.1")
}

func TestGenerateKeyPairByVersion(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		version, alg, body, err string
	}{
		{"2024.4.0", "rsa", `{"common_name":"pvesso","validity_days":365}`, ""},
		{"2024.4.0", "ecdsa", "", "2024.6"},
		{"2024.8.4", "ecdsa", `{"common_name":"pvesso","validity_days":365,"alg":"ecdsa"}`, ""},
		{"2025.8.1", "rsa", `{"common_name":"pvesso","validity_days":365,"alg":"rsa"}`, ""},
		{"2025.8.1", "", `{"common_name":"pvesso","validity_days":365}`, ""},
		{"2025.8.1", "ed25519", "", "2026.2"},
		{"2026.8.3", "ed448", `{"common_name":"pvesso","validity_days":365,"alg":"ed448"}`, ""},
		{"2026.8.3", "dsa", "", "unknown key algorithm"},
	}
	for _, c := range cases {
		f := newFake(t, c.version)
		f.reply("POST", "/crypto/certificatekeypairs/generate/", 200, keyPairJSON(keyK, "pvesso", true, "private_key_type", "rsa"))
		_, err := f.clientAt(c.version).GenerateKeyPair(ctx, authentik.GenerateKeyPairRequest{CommonName: "pvesso", ValidityDays: 365, Alg: c.alg})
		if c.err != "" {
			if !errors.Is(err, authentik.ErrInvalidRequest) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: want ErrInvalidRequest %q, got %v", c.version, c.alg, c.err, err)
			}
			if len(f.requests()) != 0 {
				t.Errorf("%s %s: request sent", c.version, c.alg)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s %s: %v", c.version, c.alg, err)
		}
		assertJSON(t, f.only("POST", "/crypto/certificatekeypairs/generate/").Body, c.body)
		if c.version == "2024.8.4" || c.version == "2025.8.1" || c.version == "2026.8.3" {
			checkRequests(t, f, c.version)
		}
	}
	f := newFake(t, "2025.8.1")
	if _, err := f.clientAt("2025.8.1").GenerateKeyPair(ctx, authentik.GenerateKeyPairRequest{CommonName: "x"}); !errors.Is(err, authentik.ErrInvalidRequest) {
		t.Fatalf("zero validity: %v", err)
	}
}

func appJSON(slug string, provider any) map[string]any {
	return map[string]any{"pk": flowA, "name": "Proxmox", "slug": slug, "provider": provider, "provider_obj": nil,
		"backchannel_providers_obj": []any{}, "launch_url": "https://pve:8006", "meta_icon": nil, "meta_launch_url": "",
		"policy_engine_mode": "any", "group": "", "open_in_new_tab": false, "meta_description": ""}
}

func TestApplications(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, "2025.8.1")
	f.replyList("/core/applications/", appJSON("pve", 5), appJSON("pve-old", nil))
	f.reply("POST", "/core/applications/", 201, appJSON("pve", 5))
	f.reply("PUT", "/core/applications/pve/", 200, appJSON("pve", 5))
	f.reply("DELETE", "/core/applications/pve/", 204, nil)
	c := f.clientAt("2025.8.1")
	as, err := c.ListApplications(ctx, authentik.ListApplicationsOptions{Slug: "pve"})
	if err != nil || len(as) != 1 || *as[0].Provider != 5 || as[0].PK != flowA || as[0].LaunchURL != "https://pve:8006" {
		t.Fatalf("ListApplications = %+v, %v", as, err)
	}
	if q := f.only("GET", "/core/applications/").Query; q["superuser_full_list"][0] != "true" || q["slug"][0] != "pve" {
		t.Fatalf("query %v", q)
	}
	five := 5
	a, err := c.CreateApplication(ctx, authentik.ApplicationRequest{Name: "Proxmox", Slug: "pve", Provider: &five, MetaLaunchURL: "https://pve:8006"})
	if err != nil || a.Slug != "pve" {
		t.Fatalf("create = %+v, %v", a, err)
	}
	assertJSON(t, f.only("POST", "/core/applications/").Body,
		`{"name":"Proxmox","slug":"pve","provider":5,"open_in_new_tab":false,"meta_launch_url":"https://pve:8006","meta_description":"","group":""}`)
	if _, err := c.UpdateApplication(ctx, "pve", authentik.ApplicationRequest{Name: "Proxmox", Slug: "pve", PolicyEngineMode: "any"}); err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.only("PUT", "/core/applications/pve/").Body,
		`{"name":"Proxmox","slug":"pve","provider":null,"open_in_new_tab":false,"meta_description":"","policy_engine_mode":"any","group":""}`)
	if err := c.DeleteApplication(ctx, "pve"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetApplication(ctx, "nope"); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	checkRequests(t, f, "2025.8.1")
	// slugs: pattern always, reserved names from 2025.10 only
	if _, err := c.CreateApplication(ctx, authentik.ApplicationRequest{Name: "x", Slug: "has space"}); !errors.Is(err, authentik.ErrInvalidRequest) {
		t.Fatalf("bad slug: %v", err)
	}
	if _, err := c.CreateApplication(ctx, authentik.ApplicationRequest{Name: "x", Slug: "token"}); err != nil {
		t.Fatalf("2025.8.1 accepts slug token: %v", err)
	}
	f2 := newFake(t, "2025.10.0")
	if _, err := f2.clientAt("2025.10.0").CreateApplication(ctx, authentik.ApplicationRequest{Name: "x", Slug: "token"}); !errors.Is(err, authentik.ErrInvalidRequest) {
		t.Fatalf("reserved slug on 2025.10: %v", err)
	}
	if len(f2.requests()) != 0 {
		t.Fatal("request sent for a reserved slug")
	}
}

func TestGroupsAndBindings(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, "2025.8.1")
	f.replyList("/core/groups/", map[string]any{"pk": flowB, "num_pk": 3, "name": "pve-admins", "is_superuser": false})
	binding := map[string]any{"pk": keyK, "target": flowA, "group": flowB, "policy": nil, "user": nil, "order": 0,
		"enabled": true, "negate": false, "timeout": 30, "failure_result": false, "group_obj": nil, "policy_obj": nil, "user_obj": nil}
	f.replyList("/policies/bindings/", binding)
	f.reply("POST", "/policies/bindings/", 201, binding)
	f.reply("DELETE", "/policies/bindings/"+keyK+"/", 204, nil)
	c := f.clientAt("2025.8.1")
	gs, err := c.ListGroups(ctx, authentik.ListGroupsOptions{Name: "pve-admins"})
	if err != nil || len(gs) != 1 || gs[0].PK != flowB || gs[0].NumPK != 3 {
		t.Fatalf("groups = %+v, %v", gs, err)
	}
	if q := f.only("GET", "/core/groups/").Query; q["name"][0] != "pve-admins" || q["include_users"][0] != "false" {
		t.Fatalf("query %v", q)
	}
	bs, err := c.ListPolicyBindings(ctx, flowA)
	if err != nil || len(bs) != 1 || bs[0].Group != flowB || bs[0].User != nil || bs[0].Timeout != 30 {
		t.Fatalf("bindings = %+v, %v", bs, err)
	}
	b, err := c.CreatePolicyBinding(ctx, authentik.PolicyBindingRequest{Target: flowA, Group: flowB, Order: 0, Enabled: true})
	if err != nil || b.PK != keyK {
		t.Fatalf("create = %+v, %v", b, err)
	}
	assertJSON(t, f.only("POST", "/policies/bindings/").Body,
		`{"target":"`+flowA+`","group":"`+flowB+`","order":0,"enabled":true,"negate":false,"failure_result":false}`)
	if err := c.DeletePolicyBinding(ctx, keyK); err != nil {
		t.Fatal(err)
	}
	checkRequests(t, f, "2025.8.1")
	seven := 7
	for _, bad := range []authentik.PolicyBindingRequest{
		{Target: flowA},
		{Target: flowA, Group: flowB, User: &seven},
		{Group: flowB},
	} {
		if _, err := c.CreatePolicyBinding(ctx, bad); !errors.Is(err, authentik.ErrInvalidRequest) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// include_users does not exist before 2024.4
	f = newFake(t, "2024.2.0")
	f.replyList("/core/groups/")
	if _, err := f.clientAt("2024.2.0").ListGroups(ctx, authentik.ListGroupsOptions{}); err != nil {
		t.Fatal(err)
	}
	if q := f.only("GET", "/core/groups/").Query; q["include_users"] != nil {
		t.Fatalf("include_users sent to 2024.2: %v", q)
	}
}

func TestDiscoveryIsFetchedWithoutToken(t *testing.T) {
	f := newFake(t, "2025.8.1")
	doc := map[string]any{"issuer": f.srv.URL + "/application/o/pve/", "authorization_endpoint": f.srv.URL + "/application/o/authorize/",
		"token_endpoint": f.srv.URL + "/application/o/token/", "userinfo_endpoint": f.srv.URL + "/application/o/userinfo/",
		"jwks_uri": f.srv.URL + "/application/o/pve/jwks/", "end_session_endpoint": f.srv.URL + "/application/o/pve/end-session/",
		"id_token_signing_alg_values_supported": []any{"RS256"}, "scopes_supported": []any{"openid", "email", "profile"},
		"subject_types_supported": []any{"public"}}
	f.on("GET", "/application/o/pve/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, doc) })
	c := f.clientAt("2025.8.1")
	d, err := c.Discovery(context.Background(), "pve")
	if err != nil {
		t.Fatal(err)
	}
	if d.Issuer != c.IssuerURL("pve") || d.IDTokenSigningAlgValuesSupported[0] != "RS256" || d.JWKSURI == "" {
		t.Fatalf("discovery = %+v", d)
	}
	for _, l := range f.requests() {
		if l.Auth != "" {
			t.Fatalf("token sent to %s", l.Path)
		}
	}
	if _, err := c.Discovery(context.Background(), "nope"); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}
