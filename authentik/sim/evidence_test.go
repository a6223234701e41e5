package sim

// Tests of quirks taken from shared/reference and from authentik's source
// (read through the search index), one test per fact group. Each test names
// the evidence it checks.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// jwtParts decodes the header and payload of a compact JWS without checking
// anything.
func jwtParts(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3 (JWS)", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return header, claims
}

func certOf(t *testing.T, ts *testServer, name string) *x509.Certificate {
	t.Helper()
	for _, k := range ts.s.KeyPairs() {
		if k.Name == name {
			b, _ := pem.Decode([]byte(k.CertPEM))
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("no key pair %q", name)
	return nil
}

// exchangeRaw runs the token request and returns the status and body.
func exchangeRaw(t *testing.T, ts *testServer, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := ts.client.PostForm(ts.s.URL()+"/application/o/token/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body
}

// 2026.5+: a provider created through the API without grant_types gets an
// empty list and permits no grant; an explicit empty list is refused; the
// authorize view answers a grant type missing from the list with
// invalid_request, the token view with invalid_grant (before client
// authentication). Sources: migration 0033 (ArrayField default=list),
// claytono/infra#2525, the operator notes quoted in api_providers.go,
// peers.md (Terraform: "the API rejects an empty list").
func TestGrantTypesSince2026(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	body := ts.providerBody("no-grants", pveRedirect, ts.keyPK(SelfSignedCertName))
	delete(body, "grant_types")
	r := ts.api("POST", "/providers/oauth2/", body)
	ts.mustStatus(r, 201)
	if gt, ok := r.obj()["grant_types"].([]any); !ok || len(gt) != 0 {
		t.Fatalf("grant_types of a provider created without them: %v, want []", r.obj()["grant_types"])
	}
	prov := r.obj()
	ts.mustStatus(ts.api("POST", "/core/applications/", map[string]any{"name": "No grants", "slug": "no-grants", "provider": prov["pk"]}), 201)

	empty := ts.providerBody("empty-grants", pveRedirect, "")
	empty["grant_types"] = []string{}
	wantErr(t, ts.api("POST", "/providers/oauth2/", empty), "grant_types", msgListEmpty)

	// authorize: every request is refused, without state.
	ts.s.LoginHook("alice")
	authz := ts.s.URL() + "/application/o/authorize/?" + url.Values{"client_id": {prov["client_id"].(string)},
		"redirect_uri": {pveRedirect}, "response_type": {"code"}, "scope": {"openid email profile"}, "state": {"probe"}}.Encode()
	resp, _ := get(t, ts.client, authz)
	want := pveRedirect + "?error=invalid_request&error_description=The%20request%20is%20otherwise%20malformed"
	if resp.StatusCode != 302 || resp.Header.Get("Location") != want {
		t.Fatalf("authorize without grant types: %d %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The redirect URI is checked first: a wrong one still gets the 400 page.
	ts.s.LoginHook("alice")
	resp, _ = get(t, ts.client, strings.Replace(authz, url.QueryEscape(pveRedirect), url.QueryEscape(pveRedirect+"/"), 1))
	if resp.StatusCode != 400 {
		t.Errorf("wrong redirect URI with no grant types: %d, want 400", resp.StatusCode)
	}

	// token: a grant type that is not listed is invalid_grant, even with a
	// wrong secret (checked before client authentication); unknown grant
	// types too.
	for _, grant := range []string{"authorization_code", "refresh_token", "magic"} {
		status, b := exchangeRaw(t, ts, url.Values{"grant_type": {grant}, "code": {"x"}, "refresh_token": {"x"},
			"redirect_uri": {pveRedirect}, "client_id": {prov["client_id"].(string)}, "client_secret": {"wrong"}})
		if status != 400 || b["error"] != "invalid_grant" {
			t.Errorf("token %s without grant types: %d %v, want 400 invalid_grant", grant, status, b)
		}
	}

	// With authorization_code only: the code flow works, refresh is refused.
	pk := int(prov["pk"].(float64))
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{
		"grant_types":       []string{"authorization_code"},
		"property_mappings": ts.scopePKs("openid", "email", "profile", "offline_access")}), 200)
	rp := &rp{ts: ts, ctx: oidcCtx(ts), cfg: oauth2.Config{ClientID: prov["client_id"].(string), ClientSecret: prov["client_secret"].(string),
		Endpoint:    oauth2.Endpoint{AuthURL: ts.s.URL() + "/application/o/authorize/", TokenURL: ts.s.URL() + "/application/o/token/"},
		RedirectURL: pveRedirect, Scopes: []string{"openid", "offline_access"}}}
	tok, err := rp.cfg.Exchange(rp.ctx, rp.code(t, "alice"))
	if err != nil {
		t.Fatalf("code flow with grant_types [authorization_code]: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("offline_access should still give a refresh token")
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if _, err := rp.cfg.TokenSource(rp.ctx, tok).Token(); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh without refresh_token in grant_types: %v, want invalid_grant", err)
	}

	// Before 2026.5 there is no such field: it is ignored, unknown grants
	// are unsupported_grant_type.
	old := startSim(t, "2025.8.1")
	ob := old.providerBody("old", pveRedirect, "")
	ob["grant_types"] = []string{}
	or := old.api("POST", "/providers/oauth2/", ob)
	old.mustStatus(or, 201)
	if _, has := or.obj()["grant_types"]; has {
		t.Error("grant_types in a 2025.8.1 answer")
	}
	if status, b := exchangeRaw(t, old, url.Values{"grant_type": {"magic"}, "client_id": {or.obj()["client_id"].(string)}}); status != 400 || b["error"] != "unsupported_grant_type" {
		t.Errorf("2025.8.1 unknown grant: %d %v", status, b)
	}
}

func oidcCtx(ts *testServer) context.Context {
	ctx := oidc.ClientContext(context.Background(), ts.client)
	return context.WithValue(ctx, oauth2.HTTPClient, ts.client)
}

// With an encryption key every token is a JWE (RSA-OAEP-256 /
// A256CBC-HS512, typ JWE, kid of the pair) around the signed JWT
// [providers/oauth2/models.py encrypt; authentik-api.md §4]; Proxmox cannot
// read it (authentik-proxmox-guide.md §4 "found 5 parts (expected 3)").
func TestEncryptionKeyMakesJWE(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "jwe", ts.keyPK(SelfSignedCertName))
	pk := int(r.prov["pk"].(float64))
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"encryption_key": ts.keyPK(SelfSignedCertName)}), 200)

	// The JWKS lists the signing key and the encryption key.
	var jwks struct {
		Keys []map[string]any `json:"keys"`
	}
	getJSON(t, ts.client, ts.s.URL()+"/application/o/jwe/jwks/", &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[1]["use"] != "enc" || jwks.Keys[1]["alg"] != "RSA-OAEP-256" || jwks.Keys[1]["enc"] != "A256CBC-HS512" {
		t.Fatalf("JWKS with encryption key: %v", jwks.Keys)
	}

	tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice", oidc.Nonce("n")))
	if err != nil {
		t.Fatal(err)
	}
	raw := tok.Extra("id_token").(string)
	if n := len(strings.Split(raw, ".")); n != 5 {
		t.Fatalf("id_token has %d parts, want 5 (JWE)", n)
	}
	if len(strings.Split(tok.AccessToken, ".")) != 5 {
		t.Error("the access token is encrypted too")
	}
	// A relying party that expects a JWS (go-oidc, like Proxmox) fails.
	if _, err := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID}).Verify(r.ctx, raw); err == nil {
		t.Fatal("a JWS verifier accepted the encrypted id_token")
	}
	hb, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var hdr map[string]any
	_ = json.Unmarshal(hb, &hdr)
	var kid string
	var key *rsa.PrivateKey
	ts.s.mu.Lock()
	for _, k := range ts.s.st.keyPairs {
		if k.name == SelfSignedCertName {
			kid, key = k.kid(), k.key.(*rsa.PrivateKey)
		}
	}
	ts.s.mu.Unlock()
	if hdr["alg"] != "RSA-OAEP-256" || hdr["enc"] != "A256CBC-HS512" || hdr["typ"] != "JWE" || hdr["kid"] != kid {
		t.Errorf("JWE header %v", hdr)
	}
	jwe, err := jose.ParseEncrypted(raw, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256CBC_HS512})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := jwe.Decrypt(key)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	idt, err := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID, SupportedSigningAlgs: []string{"RS256"}}).Verify(r.ctx, string(inner))
	if err != nil {
		t.Fatalf("inner JWS: %v", err)
	}
	if idt.Nonce != "n" || idt.Subject != "alice@example.com" {
		t.Errorf("inner claims: nonce %q sub %q", idt.Nonce, idt.Subject)
	}
	// userinfo takes the encrypted access token as it is.
	if ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil || ui.Email != "alice@example.com" {
		t.Errorf("userinfo with the encrypted access token: %v %+v", err, ui)
	}
	// An EC certificate cannot take RSA-OAEP-256.
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"encryption_key": ts.keyPK(DemoECCertName)}), 200)
	if _, err := r.cfg.Exchange(r.ctx, r.code(t, "alice")); err == nil {
		t.Error("token request with an EC encryption key succeeded")
	}
	// Clearing the key gives plain JWS again.
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"encryption_key": nil}), 200)
	tok, err = r.cfg.Exchange(r.ctx, r.code(t, "alice"))
	if err != nil || len(strings.Split(tok.Extra("id_token").(string), ".")) != 3 {
		t.Errorf("without encryption key: %v", err)
	}
}

// The ID token of the token endpoint: aud is the client id (a string, one
// audience), no azp, no at_hash (IDToken.new / create_code_response);
// exp = now + access_token_validity; typ JWT and kid of the signing pair in
// the header (OAuth2Provider.encode). The access token is the same claims
// plus azp and uid (IDToken.to_access_token).
func TestTokenEndpointClaims(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	r := newRP(t, ts, "claims", ts.keyPK(SelfSignedCertName))
	tok, err := r.cfg.Exchange(r.ctx, r.code(t, "bob", oidc.Nonce("nn")))
	if err != nil {
		t.Fatal(err)
	}
	hdr, c := jwtParts(t, tok.Extra("id_token").(string))
	kid := ""
	for _, k := range ts.s.KeyPairs() {
		if k.Name == SelfSignedCertName {
			kid = k.KID
		}
	}
	if hdr["alg"] != "RS256" || hdr["typ"] != "JWT" || hdr["kid"] != kid {
		t.Errorf("id_token header %v", hdr)
	}
	if aud, ok := c["aud"].(string); !ok || aud != r.cfg.ClientID {
		t.Errorf("aud %v (%T), want the client id as a string", c["aud"], c["aud"])
	}
	for _, absent := range []string{"azp", "at_hash", "c_hash", "uid"} {
		if _, has := c[absent]; has {
			t.Errorf("id_token of the token endpoint carries %s", absent)
		}
	}
	if c["iss"] != ts.s.URL()+"/application/o/claims/" || c["nonce"] != "nn" {
		t.Errorf("iss/nonce %v %v", c["iss"], c["nonce"])
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 {
		t.Errorf("exp-iat = %v, want 3600 (access_token_validity hours=1)", exp-iat)
	}
	sid, _ := c["sid"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sid) {
		t.Errorf("sid %q, want the sha256 hex of the session key", sid)
	}
	_, ac := jwtParts(t, tok.AccessToken)
	if ac["azp"] != r.cfg.ClientID || ac["uid"] == nil || ac["sub"] != c["sub"] {
		t.Errorf("access token claims %v", ac)
	}
	// Without a signing key: HS256 with the client secret and no kid.
	hs := newRP(t, ts, "claims-hs", "")
	htok, err := hs.cfg.Exchange(hs.ctx, hs.code(t, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	hh, _ := jwtParts(t, htok.Extra("id_token").(string))
	if _, has := hh["kid"]; has || hh["alg"] != "HS256" {
		t.Errorf("HS256 header %v", hh)
	}
	// user_email with a user without e-mail: an empty sub (IDToken.new).
	ts.s.AddUser("carol", "Carol", "")
	ctok, err := r.cfg.Exchange(r.ctx, r.code(t, "carol"))
	if err != nil {
		t.Fatal(err)
	}
	if _, cc := jwtParts(t, ctok.Extra("id_token").(string)); cc["sub"] != "" {
		t.Errorf("sub of a user without e-mail under user_email: %v, want \"\"", cc["sub"])
	}
}

// authentik builds the issuer and every endpoint from the request's scheme
// and Host (request.build_absolute_uri, authentik-api.md §6); behind an
// untrusted proxy (2026.8) it is not the public URL. Options.IssuerBase /
// SetIssuerBase simulate that; the Host header is honoured as well.
func TestIssuerBase(t *testing.T) {
	s := New(Options{Version: "2026.8.3", IssuerBase: "http://auth.internal.test:9000/"})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := &testServer{t: t, s: s, client: clientFor(t, s, false), token: s.AdminToken()}
	prov := ts.createApp("pve", pveRedirect, ts.keyPK(SelfSignedCertName))
	base := "http://auth.internal.test:9000"
	disc := func(origin string) map[string]any {
		resp, err := ts.client.Get(origin + "/application/o/pve/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&d)
		return d
	}
	d := disc(s.URL())
	if d["issuer"] != base+"/application/o/pve/" || d["token_endpoint"] != base+"/application/o/token/" || d["jwks_uri"] != base+"/application/o/pve/jwks/" {
		t.Errorf("discovery with IssuerBase: %v %v %v", d["issuer"], d["token_endpoint"], d["jwks_uri"])
	}
	su := ts.api("GET", fmt.Sprintf("/providers/oauth2/%v/setup_urls/", prov["pk"]), nil)
	if su.obj()["issuer"] != base+"/application/o/pve/" || su.obj()["authorize"] != base+"/application/o/authorize/" {
		t.Errorf("setup_urls with IssuerBase: %s", su.raw)
	}
	// A relying party configured with the predicted URL sees a mismatch.
	_, err := oidc.NewProvider(oidc.ClientContext(context.Background(), ts.client), s.URL()+"/application/o/pve/")
	var mm *oidc.IssuerMismatchError
	if !errors.As(err, &mm) || mm.Discovered != base+"/application/o/pve/" {
		t.Fatalf("predicted issuer: %v, want an issuer mismatch", err)
	}
	// The iss claim follows too.
	pv := ts.api("GET", fmt.Sprintf("/providers/oauth2/%v/preview_user/", prov["pk"]), nil)
	if pv.obj()["preview"].(map[string]any)["iss"] != base+"/application/o/pve/" {
		t.Errorf("preview iss %v", pv.obj()["preview"])
	}
	// Back to the request's own URL; the Host header decides.
	if err := s.SetIssuerBase(""); err != nil {
		t.Fatal(err)
	}
	if d := disc(s.URL()); d["issuer"] != s.URL()+"/application/o/pve/" {
		t.Errorf("default issuer %v", d["issuer"])
	}
	local := strings.Replace(s.URL(), "127.0.0.1", "localhost", 1)
	if d := disc(local); d["issuer"] != local+"/application/o/pve/" {
		t.Errorf("issuer via localhost: %v, want %s", d["issuer"], local+"/application/o/pve/")
	}
	for _, bad := range []string{"auth.example", "ftp://auth.example", "https://auth.example/sub", "https://auth.example?x=1"} {
		if err := s.SetIssuerBase(bad); err == nil {
			t.Errorf("SetIssuerBase(%q) accepted", bad)
		}
	}
	if _, err := NewServer(Options{IssuerBase: "nope"}); err == nil {
		t.Error("Options.IssuerBase nope accepted")
	}
}

// issuer_mode global: the issuer is the site root; authentik serves no root
// discovery document, so discovery against that issuer fails
// (authentik-api.md §6 "Keep per_provider"; OAuth2Provider.get_issuer).
func TestIssuerModeGlobal(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	prov := ts.createApp("glob", pveRedirect, ts.keyPK(SelfSignedCertName))
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%v/", prov["pk"]), map[string]any{"issuer_mode": "global"}), 200)
	var d map[string]any
	getJSON(t, ts.client, ts.s.URL()+"/application/o/glob/.well-known/openid-configuration", &d)
	if d["issuer"] != ts.s.URL()+"/" || d["jwks_uri"] != ts.s.URL()+"/application/o/glob/jwks/" {
		t.Errorf("global discovery: issuer %v jwks %v", d["issuer"], d["jwks_uri"])
	}
	root, _ := get(t, ts.client, ts.s.URL()+"/.well-known/openid-configuration")
	if root.StatusCode != 404 {
		t.Errorf("root discovery: %d, want 404", root.StatusCode)
	}
	if _, err := oidc.NewProvider(oidc.ClientContext(context.Background(), ts.client), ts.s.URL()+"/"); err == nil {
		t.Error("discovery against the global issuer succeeded")
	}
	su := ts.api("GET", fmt.Sprintf("/providers/oauth2/%v/setup_urls/", prov["pk"]), nil)
	if su.obj()["issuer"] != ts.s.URL()+"/" {
		t.Errorf("setup_urls issuer %v", su.obj()["issuer"])
	}
}

// The auto-generated "authentik Self-signed Certificate" (authentik-api.md
// §4; proxmox-openid-realm.md §6-7): RSA 4096 with a private key, not
// managed, CN/O/OU, issuer "authentik <version>", a critical SAN
// <40 chars>.self-signed.goauthentik.io, 365 days. It signs RS256 — the
// report of "a 400 with every login" cannot come from its key type — and an
// expired certificate still signs (no validity check when signing).
func TestSelfSignedCertificate(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	s := New(Options{Version: "2025.8.1", Now: clock.Now})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := &testServer{t: t, s: s, client: clientFor(t, s, false), token: s.AdminToken()}
	c := certOf(t, ts, SelfSignedCertName)
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 4096 {
		t.Fatalf("self-signed key: %T", c.PublicKey)
	}
	if c.Subject.CommonName != SelfSignedCertName || fmt.Sprint(c.Subject.Organization, c.Subject.OrganizationalUnit) != "[authentik] [Self-signed]" ||
		c.Issuer.String() != "CN=authentik 2025.8.1" {
		t.Errorf("subject %q issuer %q", c.Subject, c.Issuer)
	}
	if days := c.NotAfter.Sub(clock.Now()).Hours() / 24; days < 364 || days > 366 {
		t.Errorf("validity %v days, want 365", days)
	}
	if len(c.DNSNames) != 1 || !regexp.MustCompile(`^[A-Za-z0-9]{40}\.self-signed\.goauthentik\.io$`).MatchString(c.DNSNames[0]) {
		t.Errorf("SAN %v", c.DNSNames)
	}
	critical := false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			critical = e.Critical
		}
	}
	if !critical {
		t.Error("SAN not marked critical")
	}
	kp := ts.first("/crypto/certificatekeypairs/?name=" + url.QueryEscape(SelfSignedCertName))
	// cert_subject is subject.rfc4514_string(): the RDNs in reverse order.
	if kp["managed"] != nil || kp["private_key_available"] != true ||
		kp["cert_subject"] != "OU=Self-signed,O=authentik,CN=authentik Self-signed Certificate" {
		t.Errorf("self-signed pair %v", kp)
	}

	r := newRP(t, ts, "pve", ts.keyPK(SelfSignedCertName))
	clock.Advance(400 * 24 * time.Hour) // the certificate has expired
	var disc struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	getJSON(t, ts.client, ts.s.URL()+"/application/o/pve/.well-known/openid-configuration", &disc)
	if strings.Join(disc.Algs, ",") != "RS256" {
		t.Fatalf("algs %v", disc.Algs)
	}
	tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
	if err != nil {
		t.Fatalf("exchange with an expired self-signed certificate: %v", err)
	}
	jws, err := jose.ParseSigned(tok.Extra("id_token").(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(pub); err != nil {
		t.Fatalf("signature with the self-signed key: %v", err)
	}
}

// JWTAlgorithms.from_private_key: RS256 for RSA; ES256/ES384/ES512 by curve
// since 2025.4 (ES256 for every EC key before); anything else raises
// ValueError (authentik-api.md §4, authentik-versions.md 2025.4.0).
func TestJWTAlgorithmPerKey(t *testing.T) {
	old, _ := parseVersion("2025.2.0")
	cur, _ := parseVersion("2025.4.0")
	rk, _ := seedRSA()
	for _, c := range []struct {
		curve    elliptic.Curve
		old, cur string
	}{{elliptic.P256(), "ES256", "ES256"}, {elliptic.P384(), "ES256", "ES384"}, {elliptic.P521(), "ES256", "ES512"}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := jwtAlgFor(k, old); a != c.old {
			t.Errorf("%s before 2025.4: %s, want %s", c.curve.Params().Name, a, c.old)
		}
		if a, _ := jwtAlgFor(k, cur); a != c.cur {
			t.Errorf("%s since 2025.4: %s, want %s", c.curve.Params().Name, a, c.cur)
		}
	}
	if a, err := jwtAlgFor(rk, cur); a != "RS256" || err != nil {
		t.Errorf("RSA: %s %v", a, err)
	}
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := jwtAlgFor(ek, cur); err == nil {
		t.Error("Ed25519 signing key accepted")
	}
	// An Ed25519 signing key (2026.2+ can generate one) breaks discovery.
	ts := startSim(t, "2026.8.3")
	g := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "ed", "validity_days": 30, "alg": "ed25519"})
	ts.mustStatus(g, 200)
	if g.obj()["key_type"] != "ed25519" {
		t.Errorf("key_type %v", g.obj()["key_type"])
	}
	ts.createApp("ed", pveRedirect, g.obj()["pk"].(string))
	resp, _ := get(t, ts.client, ts.s.URL()+"/application/o/ed/.well-known/openid-configuration")
	if resp.StatusCode != 500 {
		t.Errorf("discovery with an Ed25519 signing key: %d, want 500", resp.StatusCode)
	}
}

// prompt=consent adds an in-memory ALWAYS_REQUIRE consent stage to a flow
// without one, and check_scope adds prompt=consent for offline_access;
// prompt=none together with consent is consent_required
// [providers/oauth2/views/authorize.py].
func TestPromptConsent(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	prov := ts.createApp("pc", pveRedirect, ts.keyPK(SelfSignedCertName))
	browser := clientFor(t, ts.s, true)
	params := func(extra url.Values) string {
		v := url.Values{"client_id": {prov["client_id"].(string)}, "redirect_uri": {pveRedirect}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"s"}}
		for k, x := range extra {
			v[k] = x
		}
		return ts.s.URL() + "/application/o/authorize/?" + v.Encode()
	}
	// locationOf is where the browser is sent from u.
	locationOf := func(u string) string {
		resp, _ := get(t, browser, u)
		return resp.Header.Get("Location")
	}
	// log in once
	back, _ := url.Parse(ts.formLogin(browser, params(nil), "bob"))
	if back.Query().Get("code") == "" {
		t.Fatalf("implicit consent flow: %s", back)
	}
	for _, extra := range []url.Values{{"prompt": {"consent"}}} {
		loc := locationOf(params(extra))
		if !strings.HasPrefix(loc, "/if/flow/"+FlowImplicitConsent+"/?") {
			t.Fatalf("%v: redirected to %q, want the consent page", extra, loc)
		}
		_, body := get(t, browser, ts.s.URL()+loc)
		if !strings.Contains(string(body), `name="consent"`) {
			t.Fatalf("no consent form: %s", body)
		}
		cu, _ := url.Parse(loc)
		done, err := browser.PostForm(ts.s.URL()+cu.Path, url.Values{"query": {cu.RawQuery}, "consent": {"yes"}})
		if err != nil {
			t.Fatal(err)
		}
		done.Body.Close()
		if u, _ := url.Parse(done.Header.Get("Location")); u.Query().Get("code") == "" {
			t.Fatalf("after consent: %s", done.Header.Get("Location"))
		}
		// ALWAYS_REQUIRE: asked again next time.
		if again := locationOf(params(extra)); !strings.HasPrefix(again, "/if/flow/") {
			t.Errorf("prompt=consent remembered: %q", again)
		}
	}
	// prompt=none with consent: the fulfillment stage refuses after the
	// (in-memory) consent stage.
	nloc := locationOf(params(url.Values{"prompt": {"none consent"}}))
	nu, _ := url.Parse(nloc)
	nresp, err := browser.PostForm(ts.s.URL()+nu.Path, url.Values{"query": {nu.RawQuery}, "consent": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	nresp.Body.Close()
	if none, _ := url.Parse(nresp.Header.Get("Location")); none.Query().Get("error") != "consent_required" || none.Query().Get("state") != "s" {
		t.Errorf("prompt=none consent: %s", nresp.Header.Get("Location"))
	}
	// offline_access (assigned to the provider) implies consent.
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%v/", prov["pk"]), map[string]any{
		"property_mappings": ts.scopePKs("openid", "email", "offline_access")}), 200)
	if loc := locationOf(params(url.Values{"scope": {"openid offline_access"}})); !strings.HasPrefix(loc, "/if/flow/") {
		t.Errorf("offline_access without consent page: %q", loc)
	}
}

// Releases before the CVE-2024-52289 fix: redirect_uris is a string split
// on any white space, every part a full-match regex; a lone "*" becomes
// ".*" on first use; redirect_uris is an exact list filter.
func TestOldRedirectStringQuirks(t *testing.T) {
	ts := startSim(t, "2024.8.4")
	b := ts.providerBody("old", `https://pve1\.example:8006 https://pve2\.example:8006`, ts.keyPK(SelfSignedCertName))
	r := ts.api("POST", "/providers/oauth2/", b)
	ts.mustStatus(r, 201)
	ts.mustStatus(ts.api("POST", "/core/applications/", map[string]any{"name": "Old", "slug": "old", "provider": r.obj()["pk"]}), 201)
	try := func(clientID, redirect string) int {
		ts.s.LoginHook("alice")
		resp, err := ts.client.Get(ts.s.URL() + "/application/o/authorize/?" + url.Values{"client_id": {clientID},
			"redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cid := r.obj()["client_id"].(string)
	for redirect, want := range map[string]int{"https://pve1.example:8006": 302, "https://pve2.example:8006": 302, "https://pve3.example:8006": 400} {
		// before 2024.12 authorize goes through the flow page (302 too)
		if got := try(cid, redirect); got != want {
			t.Errorf("%s: %d, want %d", redirect, got, want)
		}
	}
	if n := len(ts.api("GET", "/providers/oauth2/?redirect_uris="+url.QueryEscape(b["redirect_uris"].(string)), nil).results()); n != 1 {
		t.Errorf("redirect_uris filter: %d", n)
	}
	if n := len(ts.api("GET", "/providers/oauth2/?redirect_uris=nope", nil).results()); n != 0 {
		t.Errorf("redirect_uris filter on nothing: %d", n)
	}
	star := ts.providerBody("star", "*", "")
	sr := ts.api("POST", "/providers/oauth2/", star)
	ts.mustStatus(sr, 201)
	ts.mustStatus(ts.api("POST", "/core/applications/", map[string]any{"name": "Star", "slug": "star", "provider": sr.obj()["pk"]}), 201)
	if got := try(sr.obj()["client_id"].(string), "https://anything.example"); got != 302 {
		t.Errorf("*: %d", got)
	}
	if got := ts.api("GET", fmt.Sprintf("/providers/oauth2/%v/", sr.obj()["pk"]), nil).obj()["redirect_uris"]; got != ".*" {
		t.Errorf("* stored as %v, want .*", got)
	}
}

// The alg of /crypto/certificatekeypairs/generate/ exists since 2024.6
// (before, the key is always RSA and alg is ignored).
func TestGenerateAlgSince2024_6(t *testing.T) {
	ts := startSim(t, "2024.4.3")
	r := ts.api("POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "x", "validity_days": 1, "alg": "ecdsa"})
	// 2024.4 has no committed schema; check the key directly.
	if r.status != 200 {
		t.Fatalf("generate: %d %s", r.status, r.raw)
	}
	for _, k := range ts.s.KeyPairs() {
		if k.Name == "x" && k.KeyType != "rsa" {
			t.Errorf("2024.4 generated %s, want rsa", k.KeyType)
		}
	}
}

// launch_url comes from the first redirect URI of type authorization
// (authentik-api.md §6); logout entries (2026.5+) are skipped.
func TestLaunchURLSkipsLogoutRedirects(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	b := ts.providerBody("lu", pveRedirect, "")
	b["redirect_uris"] = []any{
		map[string]any{"matching_mode": "strict", "url": "https://logout.example/bye", "redirect_uri_type": "logout"},
		map[string]any{"matching_mode": "strict", "url": "https://pve.example:8006/x", "redirect_uri_type": "authorization"},
	}
	p := ts.api("POST", "/providers/oauth2/", b)
	ts.mustStatus(p, 201)
	a := ts.api("POST", "/core/applications/", map[string]any{"name": "LU", "slug": "lu", "provider": p.obj()["pk"]})
	ts.mustStatus(a, 201)
	if a.obj()["launch_url"] != "https://pve.example:8006" {
		t.Errorf("launch_url %v", a.obj()["launch_url"])
	}
}

// The profile mapping reads user.ak_groups up to 2025.12 and user.groups
// from 2026.2 (authentik-versions.md); the claim is the same.
func TestProfileMappingGroupsRelation(t *testing.T) {
	for v, want := range map[string]string{"2025.8.1": "request.user.ak_groups.all()", "2026.8.3": "request.user.groups.all()"} {
		ts := startSim(t, v)
		m := ts.first("/propertymappings/provider/scope/?managed=" + ManagedScopeProfile)
		if !strings.Contains(m["expression"].(string), want) || m["name"] != "authentik default OAuth Mapping: OpenID 'profile'" {
			t.Errorf("%s profile mapping: %v", v, m)
		}
	}
}

// Redirect URI matching since the CVE-2024-52289 fix (authentik-api.md §5):
// regex entries are full matches (re.fullmatch), strict entries plain
// equality; from 2026.5 only entries of type authorization count, at
// /authorize and at /token.
func TestRedirectURIMatchingModes(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	b := ts.providerBody("re", pveRedirect, ts.keyPK(SelfSignedCertName))
	b["redirect_uris"] = []any{
		map[string]any{"matching_mode": "regex", "url": `https://pve[0-9]\.example:8006`},
		map[string]any{"matching_mode": "strict", "url": "https://strict.example:8006"},
		map[string]any{"matching_mode": "strict", "url": "https://bye.example", "redirect_uri_type": "logout"},
	}
	p := ts.api("POST", "/providers/oauth2/", b)
	ts.mustStatus(p, 201)
	ts.mustStatus(ts.api("POST", "/core/applications/", map[string]any{"name": "RE", "slug": "re", "provider": p.obj()["pk"]}), 201)
	authorize := func(redirect string) *http.Response {
		ts.s.LoginHook("alice")
		resp, err := ts.client.Get(ts.s.URL() + "/application/o/authorize/?" + url.Values{"client_id": {p.obj()["client_id"].(string)},
			"redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for redirect, want := range map[string]int{
		"https://pve1.example:8006":       302,
		"https://pve7.example:8006":       302,
		"https://pve1.example:8006/extra": 400, // full match, not search
		"https://pveX.example:8006":       400,
		"https://strict.example:8006":     302,
		"https://strict.example:8006/":    400,
		"https://bye.example":             400, // logout entries do not count
	} {
		if got := authorize(redirect).StatusCode; got != want {
			t.Errorf("authorize %s: %d, want %d", redirect, got, want)
		}
	}
	loc, _ := url.Parse(authorize("https://pve3.example:8006").Header.Get("Location"))
	code := loc.Query().Get("code")
	status, body := exchangeRaw(t, ts, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://bye.example"},
		"client_id": {p.obj()["client_id"].(string)}, "client_secret": {p.obj()["client_secret"].(string)}})
	if status != 400 || body["error"] != "invalid_client" {
		t.Errorf("token with a logout redirect URI: %d %v, want invalid_client", status, body)
	}
	status, body = exchangeRaw(t, ts, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://pve3.example:8006"},
		"client_id": {p.obj()["client_id"].(string)}, "client_secret": {p.obj()["client_secret"].(string)}})
	if status != 200 || body["id_token"] == nil {
		t.Errorf("token with the regex-matched redirect URI: %d %v", status, body)
	}
}
