package authentik_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/contract"
)

const (
	flowA = "7d4a1c2e-3b5f-4a6d-8e9f-0a1b2c3d4e5f"
	flowB = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	keyK  = "11111111-2222-4333-8444-555555555555"
	mapM1 = "aaaaaaaa-0000-4000-8000-000000000001"
	mapM2 = "aaaaaaaa-0000-4000-8000-000000000002"
)

var (
	validatorsMu sync.Mutex
	validators   = map[string]*contract.AuthentikValidator{}
)

// schemaValidator returns the (cached) validator of a schema version.
func schemaValidator(t *testing.T, version string) *contract.AuthentikValidator {
	t.Helper()
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if v := validators[version]; v != nil {
		return v
	}
	v, err := contract.LoadAuthentikValidator(version)
	if err != nil {
		t.Fatal(err)
	}
	validators[version] = v
	return v
}

// checkRequests validates every request the fake logged (the version
// probe included) against a schema version; a call with nothing logged
// fails, so the check cannot pass by having nothing to look at.
func checkRequests(t *testing.T, f *fake, schema string) {
	t.Helper()
	v := schemaValidator(t, schema)
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatalf("schema %s: no request logged to validate", schema)
	}
	for _, l := range reqs {
		r, _ := http.NewRequest(l.Method, f.srv.URL+l.Path+"?"+l.RawQuery, nil)
		r.Header.Set("Authorization", l.Auth)
		if l.Body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if err := v.ValidateRequest(r, []byte(l.Body)); err != nil {
			t.Errorf("schema %s: %v", schema, err)
		}
	}
}

func proxmoxProvider() authentik.OAuth2ProviderRequest {
	return authentik.OAuth2ProviderRequest{
		Name: "Proxmox VE", AuthorizationFlow: flowA, InvalidationFlow: flowB, ClientType: "confidential", ClientID: "pve",
		RedirectURIs: []authentik.RedirectURI{
			{MatchingMode: authentik.MatchStrict, URL: "https://pve.example.com:8006"},
			{MatchingMode: authentik.MatchRegex, URL: `https://pve-\d\.example\.com:8006`},
		},
		SigningKey: keyK, SubMode: authentik.SubModeUserEmail, IssuerMode: "per_provider",
		PropertyMappings: []string{mapM1, mapM2}, IncludeClaimsInIDToken: true,
		GrantTypes: []string{"authorization_code"},
	}
}

const oldRedirects = `"https://pve\\.example\\.com:8006\nhttps://pve-\\d\\.example\\.com:8006"`
const newRedirects = `[{"matching_mode":"strict","url":"https://pve.example.com:8006"},{"matching_mode":"regex","url":"https://pve-\\d\\.example\\.com:8006"}]`
const typedRedirects = `[{"matching_mode":"strict","url":"https://pve.example.com:8006","redirect_uri_type":"authorization"},{"matching_mode":"regex","url":"https://pve-\\d\\.example\\.com:8006","redirect_uri_type":"authorization"}]`

const commonBody = `"name":"Proxmox VE","authorization_flow":"` + flowA + `","include_claims_in_id_token":true,` +
	`"property_mappings":["` + mapM1 + `","` + mapM2 + `"],"client_type":"confidential","client_id":"pve",` +
	`"sub_mode":"user_email","issuer_mode":"per_provider","signing_key":"` + keyK + `"`

// echoProvider answers a provider write with the request body plus the
// read-only fields, like authentik's serializer does.
func echoProvider(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		m["pk"] = 5
		m["assigned_application_slug"] = "pve"
		m["assigned_application_name"] = "Proxmox"
		m["client_secret"] = "s3cr3t"
		writeJSON(w, status, m)
	}
}

func TestProviderBodiesPerVersion(t *testing.T) {
	cases := []struct {
		version, schema, body string
	}{
		// newline string of regexes, no invalidation_flow, no encryption_key, no grant_types
		{"2024.8.4", "2024.8.4", `{` + commonBody + `,"redirect_uris":` + oldRedirects + `}`},
		// 2024.10.0-2: invalidation flow and encryption key exist, redirect URIs still a string
		{"2024.10.2", "", `{` + commonBody + `,"invalidation_flow":"` + flowB + `","encryption_key":null,"redirect_uris":` + oldRedirects + `}`},
		// security releases: objects
		{"2024.8.5", "", `{` + commonBody + `,"redirect_uris":` + newRedirects + `}`},
		{"2024.10.3", "", `{` + commonBody + `,"invalidation_flow":"` + flowB + `","encryption_key":null,"redirect_uris":` + newRedirects + `}`},
		{"2024.12.3", "2024.12.3", `{` + commonBody + `,"invalidation_flow":"` + flowB + `","encryption_key":null,"redirect_uris":` + newRedirects + `}`},
		{"2025.8.1", "2025.8.1", `{` + commonBody + `,"invalidation_flow":"` + flowB + `","encryption_key":null,"redirect_uris":` + newRedirects + `}`},
		// 2026.5+: grant_types and redirect_uri_type
		{"2026.8.3", "2026.8.3", `{` + commonBody + `,"invalidation_flow":"` + flowB + `","encryption_key":null,"redirect_uris":` + typedRedirects + `,"grant_types":["authorization_code"]}`},
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			f := newFake(t, c.version)
			f.on("POST", "/providers/oauth2/", echoProvider(201))
			f.on("PUT", "/providers/oauth2/5/", echoProvider(200))
			cl := f.client() // detects c.version through /admin/version/
			ctx := context.Background()
			p, err := cl.CreateOAuth2Provider(ctx, proxmoxProvider())
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, f.only("POST", "/providers/oauth2/").Body, c.body)
			if _, err := cl.UpdateOAuth2Provider(ctx, 5, proxmoxProvider()); err != nil {
				t.Fatal(err)
			}
			assertJSON(t, f.only("PUT", "/providers/oauth2/5/").Body, c.body)
			// the answer decodes back to what was asked, in every format
			want := proxmoxProvider().RedirectURIs
			if authentik.MustParseVersion(c.version).AtLeast(2026, 5, 0) {
				for i := range want {
					want[i].Type = authentik.RedirectAuthorization
				}
			}
			if !reflect.DeepEqual(p.RedirectURIs, want) {
				t.Fatalf("RedirectURIs = %+v, want %+v", p.RedirectURIs, want)
			}
			if p.PK != 5 || p.AssignedApplicationSlug != "pve" || p.SigningKey != keyK || p.ClientSecret != "s3cr3t" || len(p.PropertyMappings) != 2 {
				t.Fatalf("provider = %+v", p)
			}
			if c.schema != "" {
				checkRequests(t, f, c.schema)
			}
		})
	}
}

func TestProviderBodyOmissionsAndNulls(t *testing.T) {
	f := newFake(t, "2025.8.1")
	f.on("POST", "/providers/oauth2/", echoProvider(201))
	_, err := f.clientAt("2025.8.1").CreateOAuth2Provider(context.Background(), authentik.OAuth2ProviderRequest{
		Name: "P", AuthorizationFlow: flowA, InvalidationFlow: flowB,
		RedirectURIs: []authentik.RedirectURI{{URL: "https://pve:8006"}}})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, f.only("POST", "/providers/oauth2/").Body, `{"name":"P","authorization_flow":"`+flowA+`","invalidation_flow":"`+flowB+`",`+
		`"include_claims_in_id_token":false,"property_mappings":[],"signing_key":null,"encryption_key":null,`+
		`"redirect_uris":[{"matching_mode":"strict","url":"https://pve:8006"}]}`)
	checkRequests(t, f, "2025.8.1")
}

func TestProviderRefusesWhatTheVersionCannotTake(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		version string
		mod     func(*authentik.OAuth2ProviderRequest)
		want    string
	}{
		{"2025.8.1", func(r *authentik.OAuth2ProviderRequest) { r.RedirectURIs[0].Type = authentik.RedirectLogout }, "2026.5"},
		{"2024.8.4", func(r *authentik.OAuth2ProviderRequest) { r.RedirectURIs[0].Type = authentik.RedirectLogout }, "2026.5"},
		{"2024.8.4", func(r *authentik.OAuth2ProviderRequest) { r.EncryptionKey = keyK }, "encryption_key"},
		{"2024.8.4", func(r *authentik.OAuth2ProviderRequest) { r.RedirectURIs[0].URL = "https://a\nhttps://b" }, "line break"},
		{"2025.8.1", func(r *authentik.OAuth2ProviderRequest) { r.Name = "" }, "name"},
	}
	for _, c := range cases {
		f := newFake(t, c.version)
		r := proxmoxProvider()
		c.mod(&r)
		_, err := f.clientAt(c.version).CreateOAuth2Provider(ctx, r)
		if !errors.Is(err, authentik.ErrInvalidRequest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want ErrInvalidRequest with %q, got %v", c.version, c.want, err)
		}
		if n := len(f.calls("POST", "/providers/oauth2/")); n != 0 {
			t.Errorf("%s: request sent anyway", c.version)
		}
	}
	// grant types are silently not sent before 2026.5 (the field does not exist)
	f := newFake(t, "2025.8.1")
	f.on("POST", "/providers/oauth2/", echoProvider(201))
	if _, err := f.clientAt("2025.8.1").CreateOAuth2Provider(ctx, proxmoxProvider()); err != nil {
		t.Fatal(err)
	}
	if b := f.only("POST", "/providers/oauth2/").Body; strings.Contains(b, "grant_types") || strings.Contains(b, "redirect_uri_type") {
		t.Fatalf("2026.5 fields sent to 2025.8.1: %s", b)
	}
}

func TestProviderDecodingFollowsTheVersion(t *testing.T) {
	ctx := context.Background()
	base := map[string]any{"pk": 3, "name": "P", "authorization_flow": flowA, "property_mappings": []any{}, "signing_key": nil,
		"assigned_application_slug": nil, "assigned_application_name": nil}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}
	// old server: literal (escaped) lines read back as strict, others as regex
	f := newFake(t, "2024.8.4")
	f.reply("GET", "/providers/oauth2/3/", 200, with("redirect_uris", "https://pve\\.lan:8006\nhttps://.*\\.lan:8006\n\nhttps://plain.lan:8006"))
	p, err := f.clientAt("2024.8.4").GetOAuth2Provider(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []authentik.RedirectURI{{MatchingMode: "strict", URL: "https://pve.lan:8006"}, {MatchingMode: "regex", URL: `https://.*\.lan:8006`},
		{MatchingMode: "regex", URL: "https://plain.lan:8006"}}
	if !reflect.DeepEqual(p.RedirectURIs, want) || p.SigningKey != "" || p.AssignedApplicationSlug != "" {
		t.Fatalf("provider = %+v", p)
	}
	// a list from a server detected as old (or the reverse) is an error, not a guess
	f.reply("GET", "/providers/oauth2/3/", 200, with("redirect_uris", []any{map[string]any{"matching_mode": "strict", "url": "https://x"}}))
	if _, err := f.clientAt("2024.8.4").GetOAuth2Provider(ctx, 3); !errors.Is(err, authentik.ErrUnexpectedResponse) {
		t.Fatalf("want ErrUnexpectedResponse, got %v", err)
	}
	f.reply("GET", "/providers/oauth2/3/", 200, with("redirect_uris", "https://x"))
	if _, err := f.clientAt("2025.8.1").GetOAuth2Provider(ctx, 3); !errors.Is(err, authentik.ErrUnexpectedResponse) {
		t.Fatalf("want ErrUnexpectedResponse, got %v", err)
	}
	if _, err := f.clientAt("2025.8.1").GetOAuth2Provider(ctx, 0); !errors.Is(err, authentik.ErrInvalidRequest) {
		t.Fatalf("pk 0: %v", err)
	}
}

func TestProviderListAndDelete(t *testing.T) {
	f := newFake(t, "2025.8.1")
	prov := func(pk int, name, cid string) map[string]any {
		return map[string]any{"pk": pk, "name": name, "client_id": cid, "authorization_flow": flowA, "invalidation_flow": flowB,
			"redirect_uris": []any{}, "property_mappings": []any{}, "assigned_application_slug": "", "assigned_application_name": ""}
	}
	// the server ignores nothing here, but the client re-checks the exact filter
	f.replyList("/providers/oauth2/", prov(1, "Proxmox VE", "pve"), prov(2, "Proxmox VE 2", "pve2"))
	f.reply("DELETE", "/providers/oauth2/1/", 204, nil)
	c := f.clientAt("2025.8.1")
	ps, err := c.ListOAuth2Providers(context.Background(), authentik.ListProvidersOptions{Name: "Proxmox VE"})
	if err != nil || len(ps) != 1 || ps[0].PK != 1 || ps[0].InvalidationFlow != flowB {
		t.Fatalf("list = %+v, %v", ps, err)
	}
	if q := f.only("GET", "/providers/oauth2/").Query; q["name"][0] != "Proxmox VE" {
		t.Fatalf("query %v", q)
	}
	if _, err := c.ListOAuth2Providers(context.Background(), authentik.ListProvidersOptions{ClientID: "pve2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteOAuth2Provider(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteOAuth2Provider(context.Background(), 9); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	f.reply("GET", "/providers/oauth2/1/setup_urls/", 200, map[string]any{"issuer": "https://a/application/o/pve/", "authorize": "https://a/application/o/authorize/",
		"token": "https://a/application/o/token/", "user_info": "u", "provider_info": "p", "logout": "l", "jwks": "j"})
	su, err := c.OAuth2ProviderSetupURLs(context.Background(), 1)
	if err != nil || su.Issuer != "https://a/application/o/pve/" || su.JWKS != "j" {
		t.Fatalf("setup urls = %+v, %v", su, err)
	}
	checkRequests(t, f, "2025.8.1")
}

func TestOldRedirectStringRoundTrip(t *testing.T) {
	uris := []authentik.RedirectURI{
		{MatchingMode: authentik.MatchStrict, URL: "https://pve.example.com:8006/a?b=(c)&d=[e]|f+g*h^i$j{k}\\"},
		{MatchingMode: authentik.MatchRegex, URL: `https://pve[0-9]+\.lan:8006`},
		{MatchingMode: authentik.MatchStrict, URL: "https://plain"},
	}
	for _, version := range []string{"2024.8.4", "2024.10.1"} {
		f := newFake(t, version)
		f.on("POST", "/providers/oauth2/", echoProvider(201))
		r := proxmoxProvider()
		r.RedirectURIs = uris
		p, err := f.clientAt(version).CreateOAuth2Provider(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.RedirectURIs, uris) {
			t.Fatalf("%s: round trip gave %+v", version, p.RedirectURIs)
		}
		var body map[string]any
		_ = json.Unmarshal([]byte(f.only("POST", "/providers/oauth2/").Body), &body)
		if s, ok := body["redirect_uris"].(string); !ok || strings.Count(s, "\n") != 2 {
			t.Fatalf("%s: redirect_uris = %#v", version, body["redirect_uris"])
		}
	}
}
