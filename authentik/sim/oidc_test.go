package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const pveRedirect = "https://pve.example:8006"

// rp is a relying party (like Proxmox) set up against one application.
type rp struct {
	ts       *testServer
	slug     string
	prov     map[string]any
	provider *oidc.Provider
	cfg      oauth2.Config
	ctx      context.Context
}

func newRP(t *testing.T, ts *testServer, slug, signingKey string, scopes ...string) *rp {
	t.Helper()
	prov := ts.createApp(slug, pveRedirect, signingKey)
	ctx := oidc.ClientContext(context.Background(), ts.client)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, ts.client)
	issuer := ts.s.URL() + "/application/o/" + slug + "/"
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	return &rp{ts: ts, slug: slug, prov: prov, provider: p, ctx: ctx, cfg: oauth2.Config{
		ClientID: prov["client_id"].(string), ClientSecret: prov["client_secret"].(string),
		Endpoint: p.Endpoint(), RedirectURL: pveRedirect, Scopes: scopes,
	}}
}

// authorize sends the browser to the authorize URL (logged in through
// LoginHook as user) and returns the redirect back to the client.
func (r *rp) authorize(t *testing.T, user string, opts ...oauth2.AuthCodeOption) *url.URL {
	t.Helper()
	if user != "" {
		r.ts.s.LoginHook(user)
	}
	resp, _ := get(t, r.ts.client, r.cfg.AuthCodeURL("st4te", opts...))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func (r *rp) code(t *testing.T, user string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	loc := r.authorize(t, user, opts...)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != pveRedirect {
		t.Fatalf("redirected to %s, want %s", got, pveRedirect)
	}
	if loc.Query().Get("state") != "st4te" {
		t.Fatalf("state %q not echoed", loc.Query().Get("state"))
	}
	c := loc.Query().Get("code")
	if c == "" {
		t.Fatalf("no code in %s", loc)
	}
	return c
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestOIDCCodeFlowRS256(t *testing.T) {
	for _, v := range []string{"2024.12.3", "2025.8.1", "2026.8.3"} {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName))
			var disc struct {
				Issuer string   `json:"issuer"`
				Algs   []string `json:"id_token_signing_alg_values_supported"`
				Scopes []string `json:"scopes_supported"`
				PKCE   []string `json:"code_challenge_methods_supported"`
			}
			if err := r.provider.Claims(&disc); err != nil {
				t.Fatal(err)
			}
			if disc.Issuer != ts.s.URL()+"/application/o/proxmox/" {
				t.Errorf("issuer %q", disc.Issuer)
			}
			if strings.Join(disc.Algs, ",") != "RS256" {
				t.Errorf("algs %v, want [RS256]", disc.Algs)
			}
			for _, want := range []string{"openid", "email", "profile"} {
				if !slices.Contains(disc.Scopes, want) {
					t.Errorf("scopes_supported %v lacks %s", disc.Scopes, want)
				}
			}

			verifier := oauth2.GenerateVerifier()
			code := r.code(t, "alice", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce"))
			tok, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			// A Proxmox-like verifier: RS256 only, aud = client id, exact issuer.
			idt, err := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID, SupportedSigningAlgs: []string{"RS256"}}).Verify(r.ctx, raw)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if idt.Nonce != "n0nce" {
				t.Errorf("nonce %q", idt.Nonce)
			}
			if idt.Subject != "alice@example.com" {
				t.Errorf("sub %q, want the e-mail (sub_mode user_email)", idt.Subject)
			}
			var claims struct {
				Email             string   `json:"email"`
				EmailVerified     bool     `json:"email_verified"`
				PreferredUsername string   `json:"preferred_username"`
				Name              string   `json:"name"`
				GivenName         string   `json:"given_name"`
				Nickname          string   `json:"nickname"`
				Groups            []string `json:"groups"`
				Acr               string   `json:"acr"`
				Amr               []string `json:"amr"`
				AuthTime          int64    `json:"auth_time"`
			}
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.Email != "alice@example.com" || claims.PreferredUsername != "alice" || claims.Nickname != "alice" ||
				claims.Name != "Alice Example" || claims.GivenName != "Alice Example" || claims.Groups == nil {
				t.Errorf("claims %+v", claims)
			}
			// email_verified: True up to 2025.8, False since 2025.10.
			if claims.EmailVerified != (v != "2026.8.3") {
				t.Errorf("email_verified %v for %s", claims.EmailVerified, v)
			}
			if claims.Acr != acrDefault || len(claims.Amr) != 1 || claims.Amr[0] != "pwd" || claims.AuthTime == 0 {
				t.Errorf("acr/amr/auth_time %+v", claims)
			}
			sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			kid := sig.Signatures[0].Header.KeyID
			for _, k := range ts.s.KeyPairs() {
				if k.Name == SelfSignedCertName && k.KID != kid {
					t.Errorf("kid %q, want the key pair's %q", kid, k.KID)
				}
			}
			ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if ui.Subject != "alice@example.com" || ui.Email != "alice@example.com" {
				t.Errorf("userinfo %+v", ui)
			}
			// The code is single-use.
			_, err = r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
			if oauthErrorCode(err) != "invalid_grant" {
				t.Errorf("code reuse: %v, want invalid_grant", err)
			}
		})
	}
}

// hmacKeySet verifies HS256 tokens with the client secret (authentik
// publishes no JWKS key for HS256 providers).
type hmacKeySet []byte

func (k hmacKeySet) VerifySignature(_ context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return nil, err
	}
	return jws.Verify([]byte(k))
}

func TestOIDCSigningAlgorithms(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	t.Run("ES256 for the EC key", func(t *testing.T) {
		r := newRP(t, ts, "ec-app", ts.keyPK(DemoECCertName))
		var disc struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		_ = r.provider.Claims(&disc)
		if strings.Join(disc.Algs, ",") != "ES256" {
			t.Fatalf("algs %v, want [ES256]", disc.Algs)
		}
		tok, err := r.cfg.Exchange(r.ctx, r.code(t, "bob"))
		if err != nil {
			t.Fatal(err)
		}
		raw := tok.Extra("id_token").(string)
		if _, err := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID}).Verify(r.ctx, raw); err != nil {
			t.Fatalf("ES256 verify: %v", err)
		}
		// Proxmox verifies RS256 only: the same token must be refused there.
		if _, err := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID, SupportedSigningAlgs: []string{"RS256"}}).Verify(r.ctx, raw); err == nil {
			t.Fatal("an RS256-only verifier accepted an ES256 token")
		}
	})
	t.Run("HS256 with the client secret without key", func(t *testing.T) {
		r := newRP(t, ts, "hs-app", "")
		var disc struct {
			Algs    []string `json:"id_token_signing_alg_values_supported"`
			JWKSURI string   `json:"jwks_uri"`
		}
		_ = r.provider.Claims(&disc)
		if strings.Join(disc.Algs, ",") != "HS256" {
			t.Fatalf("algs %v, want [HS256]", disc.Algs)
		}
		_, body := get(t, ts.client, disc.JWKSURI)
		if strings.TrimSpace(string(body)) != "{}" {
			t.Errorf("JWKS of an HS256 provider = %s, want {}", body)
		}
		tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		raw := tok.Extra("id_token").(string)
		ver := oidc.NewVerifier(ts.s.URL()+"/application/o/hs-app/", hmacKeySet(r.cfg.ClientSecret),
			&oidc.Config{ClientID: r.cfg.ClientID, SupportedSigningAlgs: []string{"HS256"}})
		if _, err := ver.Verify(r.ctx, raw); err != nil {
			t.Fatalf("HS256 verify: %v", err)
		}
		if _, err := oidc.NewVerifier(ts.s.URL()+"/application/o/hs-app/", hmacKeySet("wrong-secret-wrong-secret-wrong-secret"),
			&oidc.Config{ClientID: r.cfg.ClientID, SupportedSigningAlgs: []string{"HS256"}}).Verify(r.ctx, raw); err == nil {
			t.Fatal("HS256 token verified with the wrong secret")
		}
	})
	t.Run("key pair without private key", func(t *testing.T) {
		ts.createApp("nokey", pveRedirect, ts.keyPK(DemoCACertName))
		resp, _ := get(t, ts.client, ts.s.URL()+"/application/o/nokey/.well-known/openid-configuration")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("discovery with a key pair without private key: %d, want 500 (jwt_key raises ValueError)", resp.StatusCode)
		}
	})
}

func TestOIDCRedirectURIStrict(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName))
	for _, bad := range []string{pveRedirect + "/", "https://pve.example", "https://evil.example:8006", ""} {
		cfg := r.cfg
		cfg.RedirectURL = bad
		ts.s.LoginHook("alice")
		resp, body := get(t, ts.client, cfg.AuthCodeURL("s"))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Redirect URI Error") {
			t.Errorf("redirect %q: status %d, want 400 Redirect URI Error page", bad, resp.StatusCode)
		}
		if resp.Header.Get("Location") != "" {
			t.Errorf("redirect %q: must not redirect anywhere", bad)
		}
	}
	// A code exchanged with another redirect_uri: invalid_client.
	code := r.code(t, "alice")
	cfg := r.cfg
	cfg.RedirectURL = pveRedirect + "/other"
	if _, err := cfg.Exchange(r.ctx, code); oauthErrorCode(err) != "invalid_client" {
		t.Errorf("exchange with another redirect_uri: %v, want invalid_client", err)
	}
}

func TestOIDCClientAuthentication(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName))
	t.Run("client_secret_post", func(t *testing.T) {
		cfg := r.cfg
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := cfg.Exchange(r.ctx, r.code(t, "alice")); err != nil {
			t.Fatalf("client_secret_post: %v", err)
		}
	})
	t.Run("client_secret_basic", func(t *testing.T) {
		cfg := r.cfg
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		if _, err := cfg.Exchange(r.ctx, r.code(t, "alice")); err != nil {
			t.Fatalf("client_secret_basic: %v", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		cfg := r.cfg
		cfg.ClientSecret = "not-the-secret"
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		_, err := cfg.Exchange(r.ctx, r.code(t, "alice"))
		if oauthErrorCode(err) != "invalid_client" {
			t.Fatalf("wrong secret: %v, want invalid_client", err)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		cfg := r.cfg
		cfg.ClientID = "nobody"
		_, err := cfg.Exchange(r.ctx, "whatever")
		if oauthErrorCode(err) != "invalid_client" {
			t.Fatalf("unknown client: %v, want invalid_client", err)
		}
		resp, body := get(t, ts.client, cfg.AuthCodeURL("s"))
		if resp.StatusCode != 400 || !strings.Contains(string(body), "Client ID Error") {
			t.Fatalf("authorize with unknown client: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("error body shape", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {pveRedirect},
			"client_id": {r.cfg.ClientID}, "client_secret": {r.cfg.ClientSecret}}
		resp, err := ts.client.PostForm(r.provider.Endpoint().TokenURL, form)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(raw, &body)
		if resp.StatusCode != 400 || body["error"] != "invalid_grant" || !strings.HasPrefix(body["error_description"], "The provided authorization grant") {
			t.Fatalf("unknown code: %d %s", resp.StatusCode, raw)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("token responses are not cacheable: Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
	})
}

func TestOIDCPKCE(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName))
	verifier := oauth2.GenerateVerifier()
	t.Run("S256 wrong verifier", func(t *testing.T) {
		code := r.code(t, "alice", oauth2.S256ChallengeOption(verifier))
		if _, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("wrong verifier: %v", err)
		}
	})
	t.Run("S256 missing verifier", func(t *testing.T) {
		code := r.code(t, "alice", oauth2.S256ChallengeOption(verifier))
		if _, err := r.cfg.Exchange(r.ctx, code); oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("missing verifier: %v", err)
		}
	})
	t.Run("plain", func(t *testing.T) {
		code := r.code(t, "alice", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		if _, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("plain: %v", err)
		}
	})
	t.Run("verifier without challenge is a downgrade", func(t *testing.T) {
		code := r.code(t, "alice")
		if _, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); oauthErrorCode(err) != "invalid_grant" {
			t.Fatalf("downgrade: %v", err)
		}
	})
	t.Run("unsupported method", func(t *testing.T) {
		loc := r.authorize(t, "alice", oauth2.SetAuthURLParam("code_challenge", "x"), oauth2.SetAuthURLParam("code_challenge_method", "S512"))
		if loc.Query().Get("error") != "invalid_request" || loc.Query().Get("error_description") != "Unsupported challenge method S512" {
			t.Fatalf("unsupported method: %s", loc)
		}
	})
}

func TestOIDCSubModes(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "subs", ts.keyPK(SelfSignedCertName))
	var alice UserSnapshot
	for _, u := range ts.s.Users() {
		if u.Username == "alice" {
			alice = u
		}
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d-%s", alice.PK, ts.s.st.installID)))
	want := map[string]string{
		"hashed_user_id": hex.EncodeToString(sum[:]),
		"user_id":        fmt.Sprint(alice.PK),
		"user_uuid":      alice.UUID,
		"user_username":  "alice",
		"user_email":     "alice@example.com",
		"user_upn":       hex.EncodeToString(sum[:]), // no upn attribute: falls back to the hashed id
	}
	pk := int(r.prov["pk"].(float64))
	for mode, sub := range want {
		ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"sub_mode": mode}), 200)
		tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID}).Verify(r.ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt.Subject != sub {
			t.Errorf("%s: sub %q, want %q", mode, idt.Subject, sub)
		}
		if mode == "hashed_user_id" && len(idt.Subject) != 64 {
			t.Errorf("hashed id has %d chars, want 64", len(idt.Subject))
		}
	}
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"sub_mode": "user_upn"}), 200)
	ts.s.SetUserAttribute("alice", "upn", "alice@corp.example")
	tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID}).Verify(r.ctx, tok.Extra("id_token").(string))
	if idt == nil || idt.Subject != "alice@corp.example" {
		t.Errorf("user_upn with upn attribute: %v", idt)
	}
}

func TestOIDCBrowserLoginForm(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName))
	browser := clientFor(t, ts.s, true)
	resp, _ := get(t, browser, r.cfg.AuthCodeURL("st4te"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.HasPrefix(loc, "/if/flow/"+FlowAuthentication+"/?next=") {
		t.Fatalf("unauthenticated authorize: %d %s", resp.StatusCode, loc)
	}
	_, page := get(t, browser, ts.s.URL()+loc)
	if !strings.Contains(string(page), `name="password"`) {
		t.Fatalf("login page has no password field: %s", page)
	}
	next, _ := url.Parse(loc)
	post := func(user, pass string) *http.Response {
		resp, err := browser.PostForm(ts.s.URL()+"/if/flow/"+FlowAuthentication+"/", url.Values{
			"uid_field": {user}, "password": {pass}, "next": {next.Query().Get("next")}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	bad := post("alice", "wrong")
	body, _ := io.ReadAll(bad.Body)
	bad.Body.Close()
	if bad.StatusCode != 200 || !strings.Contains(string(body), "Invalid password") {
		t.Fatalf("wrong password: %d %s", bad.StatusCode, body)
	}
	ok := post("alice@example.com", ts.s.UserPassword("alice"))
	ok.Body.Close()
	back := ok.Header.Get("Location")
	if ok.StatusCode != 302 || !strings.HasPrefix(back, "/application/o/authorize/?") {
		t.Fatalf("login: %d %s", ok.StatusCode, back)
	}
	final, _ := get(t, browser, ts.s.URL()+back)
	u, _ := url.Parse(final.Header.Get("Location"))
	if final.StatusCode != 302 || u.Query().Get("code") == "" || u.Query().Get("state") != "st4te" {
		t.Fatalf("authorize after login: %d %s", final.StatusCode, u)
	}
	if _, err := r.cfg.Exchange(r.ctx, u.Query().Get("code")); err != nil {
		t.Fatalf("exchange: %v", err)
	}
}

func TestOIDCExplicitConsent(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	prov := ts.createApp("consent", pveRedirect, ts.keyPK(SelfSignedCertName))
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%v/", prov["pk"]), map[string]any{
		"authorization_flow": ts.flowPK(FlowExplicitConsent)}), 200)
	browser := clientFor(t, ts.s, true)
	authz := ts.s.URL() + "/application/o/authorize/?" + url.Values{"client_id": {prov["client_id"].(string)},
		"redirect_uri": {pveRedirect}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"s"}}.Encode()
	consentURL := ts.formLogin(browser, authz, "bob")
	if !strings.HasPrefix(consentURL, "/if/flow/"+FlowExplicitConsent+"/") {
		t.Fatalf("explicit consent: redirected to %q", consentURL)
	}
	_, body := get(t, browser, ts.s.URL()+consentURL)
	if !strings.Contains(string(body), `name="consent"`) || !strings.Contains(string(body), "Email address") {
		t.Fatalf("consent page: %s", body)
	}
	cu, _ := url.Parse(consentURL)
	resp, _ := browser.PostForm(ts.s.URL()+cu.Path, url.Values{"query": {cu.RawQuery}, "consent": {"yes"}})
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if back.Query().Get("code") == "" {
		t.Fatalf("after consent: %d %s", resp.StatusCode, back)
	}
	// Consent is remembered: the next authorize goes straight back.
	resp, _ = get(t, browser, authz)
	again, _ := url.Parse(resp.Header.Get("Location"))
	if again.Query().Get("code") == "" {
		t.Fatalf("second authorize: %s", again)
	}
}

func TestOIDCAccessRestrictedByBinding(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName))
	g := ts.api("POST", "/core/groups/", map[string]any{"name": "proxmox-admins", "users": []int{ts.userPK("alice")}})
	ts.mustStatus(g, 201)
	app := ts.api("GET", "/core/applications/proxmox/", nil)
	ts.mustStatus(ts.api("POST", "/policies/bindings/", map[string]any{"target": app.obj()["pk"], "group": g.obj()["pk"], "order": 0}), 201)
	if c := r.code(t, "alice"); c == "" {
		t.Fatal("alice (member) got no code")
	}
	ts.s.LoginHook("bob")
	resp, _ := get(t, ts.client, r.cfg.AuthCodeURL("s"))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob (not a member): %d, want 403", resp.StatusCode)
	}
	// groups claim carries the new group for alice.
	tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID}).Verify(r.ctx, tok.Extra("id_token").(string))
	var c struct {
		Groups []string `json:"groups"`
	}
	_ = idt.Claims(&c)
	if !slices.Contains(c.Groups, "proxmox-admins") {
		t.Errorf("groups %v lack proxmox-admins", c.Groups)
	}
}

func (ts *testServer) userPK(name string) int {
	for _, u := range ts.s.Users() {
		if u.Username == name {
			return u.PK
		}
	}
	ts.t.Fatalf("no user %s", name)
	return 0
}

func TestOIDCScopesAndClaims(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "proxmox", ts.keyPK(SelfSignedCertName), "openid", "email", "profile", "offline_access")
	pk := int(r.prov["pk"].(float64))
	t.Run("requested scope not assigned is dropped", func(t *testing.T) {
		tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" {
			t.Error("refresh token without the offline_access mapping")
		}
		if sc, _ := tok.Extra("scope").(string); sc != "email openid profile" {
			t.Errorf("scope %q", sc)
		}
	})
	t.Run("offline_access gives a rotating refresh token", func(t *testing.T) {
		ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{
			"property_mappings": ts.scopePKs("openid", "email", "profile", "offline_access")}), 200)
		tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		old := tok.RefreshToken
		tok.Expiry = time.Now().Add(-time.Minute)
		nt, err := r.cfg.TokenSource(r.ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if nt.RefreshToken == "" || nt.RefreshToken == old {
			t.Error("refresh token not rotated")
		}
		tok.RefreshToken = old
		if _, err := r.cfg.TokenSource(r.ctx, tok).Token(); oauthErrorCode(err) != "invalid_grant" {
			t.Errorf("revoked refresh token: %v", err)
		}
	})
	t.Run("claims only in userinfo when include_claims_in_id_token is off", func(t *testing.T) {
		ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"include_claims_in_id_token": false}), 200)
		tok, err := r.cfg.Exchange(r.ctx, r.code(t, "bob"))
		if err != nil {
			t.Fatal(err)
		}
		idt, _ := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID}).Verify(r.ctx, tok.Extra("id_token").(string))
		var c map[string]any
		_ = idt.Claims(&c)
		if _, has := c["email"]; has {
			t.Error("email in id_token although include_claims_in_id_token=false")
		}
		ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Email != "bob@example.com" {
			t.Errorf("userinfo: %v %+v", err, ui)
		}
	})
	t.Run("userinfo refuses a bad token", func(t *testing.T) {
		req, _ := http.NewRequest("GET", r.provider.UserInfoEndpoint(), nil)
		req.Header.Set("Authorization", "Bearer nope")
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("userinfo with bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("prompt=none without session", func(t *testing.T) {
		loc := r.authorize(t, "", oauth2.SetAuthURLParam("prompt", "none"))
		if loc.Query().Get("error") != "login_required" {
			t.Fatalf("prompt=none: %s", loc)
		}
	})
	t.Run("unsupported response_type", func(t *testing.T) {
		loc := r.authorize(t, "alice", oauth2.SetAuthURLParam("response_type", "magic"))
		if loc.Query().Get("error") != "unsupported_response_type" || loc.Query().Get("state") != "st4te" {
			t.Fatalf("response_type magic: %s", loc)
		}
	})
}

func TestOIDCOldReleases(t *testing.T) {
	t.Run("2024.8.4 newline redirect string is a regex, authorize goes through the flow", func(t *testing.T) {
		ts := startSim(t, "2024.8.4")
		b := ts.providerBody("old", `https://pve\.example:8006`, ts.keyPK(SelfSignedCertName))
		r := ts.api("POST", "/providers/oauth2/", b)
		ts.mustStatus(r, 201)
		if r.obj()["redirect_uris"] != `https://pve\.example:8006` {
			t.Fatalf("redirect_uris %v", r.obj()["redirect_uris"])
		}
		if _, has := r.obj()["invalidation_flow"]; has {
			t.Error("invalidation_flow before 2024.10")
		}
		ts.mustStatus(ts.api("POST", "/core/applications/", map[string]any{"name": "Old", "slug": "old", "provider": r.obj()["pk"]}), 201)
		browser := clientFor(t, ts.s, true)
		authz := ts.s.URL() + "/application/o/authorize/?" + url.Values{"client_id": {r.obj()["client_id"].(string)},
			"redirect_uri": {pveRedirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode()
		flowURL := ts.formLogin(browser, authz, "alice")
		if !strings.HasPrefix(flowURL, "/if/flow/"+FlowImplicitConsent+"/?") {
			t.Fatalf("before 2024.12 authorize must go through the flow, got %q", flowURL)
		}
		resp, _ := get(t, browser, ts.s.URL()+flowURL)
		back, _ := url.Parse(resp.Header.Get("Location"))
		if back.Query().Get("code") == "" {
			t.Fatalf("flow did not finish: %s", back)
		}
		// The regex does not match another host.
		bad := strings.Replace(authz, url.QueryEscape(pveRedirect), url.QueryEscape("https://pveXexample:8006"), 1)
		resp, _ = get(t, browser, bad)
		if resp.StatusCode != 400 {
			t.Fatalf("regex mismatch: %d", resp.StatusCode)
		}
	})
}
