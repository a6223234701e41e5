package authentik_test

// Client behaviour for quirks recorded in shared/reference (and in
// authentik's source), exercised against the simulator where it models
// them and against the fake server otherwise.

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	aksim "github.com/pvesso/pvesso/authentik/sim"
	"github.com/pvesso/pvesso/internal/tlstrust"
)

// proxmoxRequest builds the provider the wizard creates, from the
// simulator's fresh-install objects.
func proxmoxRequest(t *testing.T, c *authentik.Client, name string) authentik.OAuth2ProviderRequest {
	t.Helper()
	ctx := context.Background()
	authz := must[*authentik.Flow](t, "authz flow")(c.FlowBySlug(ctx, "default-provider-authorization-implicit-consent"))
	inval := must[*authentik.Flow](t, "invalidation flow")(c.FlowBySlug(ctx, "default-provider-invalidation-flow"))
	maps := must[[]authentik.ScopeMapping](t, "scopes")(c.ScopeMappingsByManaged(ctx, authentik.ScopeOpenID, authentik.ScopeEmail, authentik.ScopeProfile))
	keys := must[[]authentik.KeyPair](t, "keys")(c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{Name: authentik.SelfSignedCertificateName}))
	if len(maps) != 3 || len(keys) != 1 || keys[0].KeyType != authentik.KeyTypeRSA {
		t.Fatalf("fresh install: %d mappings, keys %+v", len(maps), keys)
	}
	var pks []string
	for _, m := range maps {
		pks = append(pks, m.PK)
	}
	return authentik.OAuth2ProviderRequest{Name: name, AuthorizationFlow: authz.PK, InvalidationFlow: inval.PK,
		ClientType: "confidential", RedirectURIs: []authentik.RedirectURI{{MatchingMode: authentik.MatchStrict, URL: "https://pve.example:8006"}},
		SigningKey: keys[0].PK, SubMode: authentik.SubModeUserEmail, IssuerMode: authentik.IssuerModePerProvider,
		PropertyMappings: pks, IncludeClaimsInIDToken: true}
}

// 2026.5+: without grant_types authentik stores [] (no grant permitted); the
// client never sends an empty list (refused by authentik) and a PUT without
// grant types keeps the stored ones.
func TestGrantTypesAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	env := startSim(t, "2026.8.3")
	c := env.client(t, env.sim.AdminToken())
	bare := proxmoxRequest(t, c, "no grant types")
	p := must[*authentik.OAuth2Provider](t, "create")(c.CreateOAuth2Provider(ctx, bare))
	if len(p.GrantTypes) != 0 {
		t.Fatalf("grant types of a provider created without them: %v, want none", p.GrantTypes)
	}
	req := proxmoxRequest(t, c, "Proxmox VE")
	req.GrantTypes = []string{authentik.GrantAuthorizationCode}
	p = must[*authentik.OAuth2Provider](t, "create")(c.CreateOAuth2Provider(ctx, req))
	if !reflect.DeepEqual(p.GrantTypes, []string{"authorization_code"}) {
		t.Fatalf("grant types %v", p.GrantTypes)
	}
	if p.RedirectURIs[0].Type != authentik.RedirectAuthorization {
		t.Errorf("redirect_uri_type %q", p.RedirectURIs[0].Type)
	}
	for _, gt := range [][]string{nil, {}} {
		upd := req
		upd.GrantTypes = gt
		got := must[*authentik.OAuth2Provider](t, "update")(c.UpdateOAuth2Provider(ctx, p.PK, upd))
		if !reflect.DeepEqual(got.GrantTypes, []string{"authorization_code"}) {
			t.Fatalf("PUT with grant types %#v: %v, want the stored list kept", gt, got.GrantTypes)
		}
	}
	bareStored := 0
	for _, sp := range env.sim.Providers() {
		if sp.Name == "no grant types" {
			bareStored++
			if len(sp.GrantTypes) != 0 {
				t.Errorf("simulator state %v", sp.GrantTypes)
			}
		}
	}
	if bareStored != 1 {
		t.Errorf("the simulator holds %d providers named %q, want 1", bareStored, "no grant types")
	}
	env.tr.Check(t)
}

// authentik builds the issuer from the request (authentik-api.md §6); when
// it differs from the client's prediction (reverse proxy, 2026.8 trusted
// proxies), Discovery and the setup URLs report the stated one, and
// issuer_mode global makes it the site root.
func TestIssuerDiffersFromPrediction(t *testing.T) {
	ctx := context.Background()
	s := aksim.New(aksim.Options{Version: "2026.8.3"})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c, err := authentik.New(s.URL(), s.AdminToken(), authentik.WithTLS(tlstrust.Config{Roots: s.CertPool()}), authentik.WithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	req := proxmoxRequest(t, c, "Proxmox VE")
	req.GrantTypes = []string{authentik.GrantAuthorizationCode}
	p := must[*authentik.OAuth2Provider](t, "create")(c.CreateOAuth2Provider(ctx, req))
	pk := p.PK
	must[*authentik.Application](t, "app")(c.CreateApplication(ctx, authentik.ApplicationRequest{Name: "Proxmox VE", Slug: "proxmox", Provider: &pk}))

	d := must[*authentik.Discovery](t, "discovery")(c.Discovery(ctx, "proxmox"))
	if d.Issuer != c.IssuerURL("proxmox") || strings.Join(d.IDTokenSigningAlgValuesSupported, ",") != "RS256" {
		t.Fatalf("discovery without proxy: %+v (predicted %s)", d, c.IssuerURL("proxmox"))
	}

	// A TLS-terminating proxy whose X-Forwarded-Proto authentik ignores.
	plain := "http://" + strings.TrimPrefix(s.URL(), "https://")
	if err := s.SetIssuerBase(plain); err != nil {
		t.Fatal(err)
	}
	d = must[*authentik.Discovery](t, "discovery")(c.Discovery(ctx, "proxmox"))
	if d.Issuer != plain+"/application/o/proxmox/" || d.Issuer == c.IssuerURL("proxmox") {
		t.Fatalf("stated issuer %q, predicted %q", d.Issuer, c.IssuerURL("proxmox"))
	}
	su := must[*authentik.ProviderSetupURLs](t, "setup urls")(c.OAuth2ProviderSetupURLs(ctx, pk))
	if su.Issuer != d.Issuer || su.JWKS != plain+"/application/o/proxmox/jwks/" {
		t.Errorf("setup_urls %+v", su)
	}
	if err := s.SetIssuerBase(""); err != nil {
		t.Fatal(err)
	}

	req.IssuerMode = authentik.IssuerModeGlobal
	must[*authentik.OAuth2Provider](t, "update")(c.UpdateOAuth2Provider(ctx, pk, req))
	d = must[*authentik.Discovery](t, "discovery")(c.Discovery(ctx, "proxmox"))
	if d.Issuer != c.BaseURL()+"/" {
		t.Errorf("global issuer %q, want the site root %q", d.Issuer, c.BaseURL()+"/")
	}
}

// Before 2024.8.5 (and in 2024.10.0-2) redirect_uris is one string that
// authentik splits on any white space; Python's re.escape (used when the
// first redirect URI is saved) also escapes "-", which still reads as a
// literal. A URI with white space cannot be written in that form.
func TestOldRedirectStringWhiteSpaceAndEscapes(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, "2024.8.4")
	f.reply("GET", "/providers/oauth2/3/", 200, map[string]any{"pk": 3, "name": "P", "authorization_flow": flowA,
		"property_mappings": []any{}, "signing_key": nil,
		"redirect_uris": "https://pve\\-1\\.lan:8006 https://pve2\\.lan:8006\thttps://.*\\.lan:8006"})
	p, err := f.clientAt("2024.8.4").GetOAuth2Provider(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []authentik.RedirectURI{{MatchingMode: "strict", URL: "https://pve-1.lan:8006"}, {MatchingMode: "strict", URL: "https://pve2.lan:8006"},
		{MatchingMode: "regex", URL: `https://.*\.lan:8006`}}
	if !reflect.DeepEqual(p.RedirectURIs, want) {
		t.Fatalf("redirect URIs %+v", p.RedirectURIs)
	}
	for _, bad := range []string{"https://pve .lan:8006", ""} {
		r := proxmoxProvider()
		r.RedirectURIs = []authentik.RedirectURI{{MatchingMode: authentik.MatchStrict, URL: bad}}
		if _, err := f.clientAt("2024.8.4").CreateOAuth2Provider(ctx, r); !errors.Is(err, authentik.ErrInvalidRequest) {
			t.Errorf("redirect URI %q: %v, want ErrInvalidRequest", bad, err)
		}
	}
	if n := len(f.calls("POST", "/providers/oauth2/")); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}
