package sim

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestJWKSMatchesSigningKey(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	ts.createApp("rsa-app", pveRedirect, ts.keyPK(SelfSignedCertName))
	ts.createApp("ec-app", pveRedirect, ts.keyPK(DemoECCertName))
	byName := map[string]KeyPairSnapshot{}
	for _, k := range ts.s.KeyPairs() {
		byName[k.Name] = k
	}
	for slug, name := range map[string]string{"rsa-app": SelfSignedCertName, "ec-app": DemoECCertName} {
		_, raw := get(t, ts.client, ts.s.URL()+"/application/o/"+slug+"/jwks/")
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Keys) != 1 {
			t.Fatalf("%s jwks: %s", slug, raw)
		}
		k := doc.Keys[0]
		if k["kid"] != byName[name].KID || k["use"] != "sig" {
			t.Errorf("%s: kid/use %v/%v", slug, k["kid"], k["use"])
		}
		der, _ := base64.StdEncoding.DecodeString(k["x5c"].([]any)[0].(string))
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("x5c: %v", err)
		}
		b64 := func(s any) *big.Int {
			b, _ := base64.RawURLEncoding.DecodeString(s.(string))
			return new(big.Int).SetBytes(b)
		}
		switch pub := cert.PublicKey.(type) {
		case *rsa.PublicKey:
			if k["kty"] != "RSA" || k["alg"] != "RS256" || b64(k["n"]).Cmp(pub.N) != 0 || b64(k["e"]).Int64() != int64(pub.E) {
				t.Errorf("RSA JWK does not match the certificate: %v", k)
			}
			if pub.N.BitLen() != 4096 {
				t.Errorf("self-signed key has %d bits, want 4096", pub.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || b64(k["x"]).Cmp(pub.X) != 0 || b64(k["y"]).Cmp(pub.Y) != 0 {
				t.Errorf("EC JWK does not match the certificate: %v", k)
			}
		default:
			t.Errorf("unexpected key %T", pub)
		}
	}
	// Discovery and JWKS of unknown applications are 404.
	for _, p := range []string{"/application/o/nope/jwks/", "/application/o/nope/.well-known/openid-configuration"} {
		resp, _ := get(t, ts.client, ts.s.URL()+p)
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// The issuer URL itself redirects to discovery.
	resp, _ := get(t, ts.client, ts.s.URL()+"/application/o/rsa-app/")
	if resp.StatusCode != 302 || !strings.HasSuffix(resp.Header.Get("Location"), "/application/o/rsa-app/.well-known/openid-configuration") {
		t.Errorf("issuer URL: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestOIDCImplicitAndHybrid(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	r := newRP(t, ts, "spa", ts.keyPK(SelfSignedCertName))
	verifier := r.provider.Verifier(&oidc.Config{ClientID: r.cfg.ClientID})
	t.Run("implicit id_token token", func(t *testing.T) {
		missingNonce := r.authorize(t, "alice", oauth2.SetAuthURLParam("response_type", "id_token token"))
		frag, _ := url.ParseQuery(missingNonce.Fragment)
		if frag.Get("error") != "invalid_request" {
			t.Fatalf("implicit without nonce: %s", missingNonce)
		}
		loc := r.authorize(t, "alice", oauth2.SetAuthURLParam("response_type", "id_token token"), oidc.Nonce("n"))
		frag, _ = url.ParseQuery(loc.Fragment)
		if loc.RawQuery != "" || frag.Get("access_token") == "" || frag.Get("state") != "st4te" || frag.Get("token_type") != "Bearer" {
			t.Fatalf("implicit answer: %s", loc)
		}
		idt, err := verifier.Verify(r.ctx, frag.Get("id_token"))
		if err != nil {
			t.Fatal(err)
		}
		if err := idt.VerifyAccessToken(frag.Get("access_token")); err != nil {
			t.Errorf("at_hash: %v", err)
		}
	})
	t.Run("hybrid code id_token", func(t *testing.T) {
		loc := r.authorize(t, "bob", oauth2.SetAuthURLParam("response_type", "code id_token"), oidc.Nonce("n2"))
		frag, _ := url.ParseQuery(loc.Fragment)
		if frag.Get("code") == "" || frag.Get("id_token") == "" || frag.Get("access_token") != "" {
			t.Fatalf("hybrid answer: %s", loc)
		}
		idt, err := verifier.Verify(r.ctx, frag.Get("id_token"))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			CHash string `json:"c_hash"`
		}
		_ = idt.Claims(&c)
		if c.CHash != halfHash("RS256", frag.Get("code")) {
			t.Errorf("c_hash %q", c.CHash)
		}
		if _, err := r.cfg.Exchange(r.ctx, frag.Get("code")); err != nil {
			t.Errorf("hybrid code exchange: %v", err)
		}
	})
	t.Run("hybrid without openid", func(t *testing.T) {
		loc := r.authorize(t, "bob", oauth2.SetAuthURLParam("response_type", "code id_token"), oauth2.SetAuthURLParam("scope", "email"), oidc.Nonce("n"))
		frag, _ := url.ParseQuery(loc.Fragment)
		if q := loc.Query(); q.Get("error") != "invalid_scope" && frag.Get("error") != "invalid_scope" {
			t.Fatalf("hybrid without openid: %s", loc)
		}
	})
}

func TestOIDCGrantTypes2026(t *testing.T) {
	ts := startSim(t, "2026.8.3")
	r := newRP(t, ts, "gt", ts.keyPK(SelfSignedCertName))
	pk := int(r.prov["pk"].(float64))
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"grant_types": []string{"implicit"}}), 200)
	loc := r.authorize(t, "alice")
	if loc.Query().Get("error") != "invalid_request" || loc.Query().Get("error_description") != "The request is otherwise malformed" {
		t.Fatalf("code flow with grant_types [implicit]: %s", loc)
	}
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"grant_types": []string{"authorization_code"}}), 200)
	if _, err := r.cfg.Exchange(r.ctx, r.code(t, "alice")); err != nil {
		t.Fatalf("authorization_code allowed: %v", err)
	}
	// Logout-type redirect URIs do not count for /authorize.
	ts.mustStatus(ts.api("PATCH", fmt.Sprintf("/providers/oauth2/%d/", pk), map[string]any{"redirect_uris": []any{
		map[string]any{"matching_mode": "strict", "url": pveRedirect, "redirect_uri_type": "logout"}}}), 200)
	ts.s.LoginHook("alice")
	resp, _ := get(t, ts.client, r.cfg.AuthCodeURL("s"))
	if resp.StatusCode != 400 {
		t.Fatalf("logout-type redirect URI accepted for authorize: %d", resp.StatusCode)
	}
}

func TestAppendSlashAndSetupURLs(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	resp := rawGet(t, ts, "/api/v3/admin/version?x=1", "Bearer "+ts.token)
	if resp.status != 301 || resp.header.Get("Location") != "/api/v3/admin/version/?x=1" {
		t.Errorf("APPEND_SLASH: %d %q", resp.status, resp.header.Get("Location"))
	}
	p := ts.api("POST", "/providers/oauth2/", ts.providerBody("lonely", pveRedirect, ""))
	ts.mustStatus(p, 201)
	pk := int(p.obj()["pk"].(float64))
	ts.mustStatus(ts.api("GET", fmt.Sprintf("/providers/oauth2/%d/setup_urls/", pk), nil), 404)
	prev := ts.api("GET", fmt.Sprintf("/providers/oauth2/%d/preview_user/?for_user=%d", pk, ts.userPK("bob")), nil)
	ts.mustStatus(prev, 200)
	pv := prev.obj()["preview"].(map[string]any)
	if pv["sub"] != "bob@example.com" || pv["preferred_username"] != "bob" || pv["aud"] != p.obj()["client_id"] {
		t.Errorf("preview %v", pv)
	}
	bad := ts.api("GET", fmt.Sprintf("/providers/oauth2/%d/preview_user/?for_user=abc", pk), nil)
	if bad.status != 400 || bad.obj()["for_user"] != "input must be numerical" {
		t.Errorf("preview for_user=abc: %d %s", bad.status, bad.raw)
	}
}

func TestGroupMembership(t *testing.T) {
	for _, v := range testVersions {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			g := ts.api("POST", "/core/groups/", map[string]any{"name": "pve"})
			ts.mustStatus(g, 201)
			pk := g.obj()["pk"].(string)
			ts.mustStatus(ts.api("POST", "/core/groups/"+pk+"/add_user/", map[string]any{"pk": ts.userPK("bob")}), 204)
			nf := ts.api("POST", "/core/groups/"+pk+"/add_user/", map[string]any{"pk": 9999})
			if nf.status != 404 || nf.obj()["detail"] != "User not found" {
				t.Errorf("unknown user: %d %s", nf.status, nf.raw)
			}
			got := ts.api("GET", "/core/groups/"+pk+"/", nil)
			ts.mustStatus(got, 200)
			members := got.obj()["users_obj"].([]any)
			if len(members) != 1 || members[0].(map[string]any)["username"] != "bob" {
				t.Errorf("members %v", members)
			}
			byMember := ts.api("GET", "/core/groups/?members_by_username=bob", nil)
			if len(byMember.results()) != 1 {
				t.Errorf("members_by_username: %s", byMember.raw)
			}
			noUsers := ts.api("GET", "/core/groups/?include_users=false&name=pve", nil)
			if noUsers.results()[0]["users_obj"] != nil {
				t.Errorf("include_users=false kept users_obj")
			}
			ts.mustStatus(ts.api("POST", "/core/groups/"+pk+"/remove_user/", map[string]any{"pk": ts.userPK("bob")}), 204)
			for _, gs := range ts.s.Groups() {
				if gs.Name == "pve" && len(gs.Members) != 0 {
					t.Errorf("remove_user left %v", gs.Members)
				}
			}
			ts.mustStatus(ts.api("DELETE", "/core/groups/"+pk+"/", nil), 204)
			ts.mustStatus(ts.api("GET", "/core/groups/"+pk+"/", nil), 404)
		})
	}
}

func TestSnapshotsAreCopies(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	ts.createApp("snap", pveRedirect, "")
	ps := ts.s.Providers()
	ps[0].RedirectURIs[0].URL = "https://changed"
	ps[0].PropertyMappings[0] = "x"
	again := ts.s.Providers()
	if again[0].RedirectURIs[0].URL != pveRedirect || again[0].PropertyMappings[0] == "x" {
		t.Fatal("snapshot aliases the live state")
	}
	if again[0].ApplicationSlug != "snap" {
		t.Errorf("ApplicationSlug %q", again[0].ApplicationSlug)
	}
	if len(ts.s.Applications()) != 1 || ts.s.PendingCodes() != 0 {
		t.Error("applications / codes")
	}
	if ts.s.UserPassword("nobody") != "" || ts.s.CreateToken("nobody") != "" {
		t.Error("unknown users have neither password nor token")
	}
	tok := ts.s.CreateToken("bob")
	ts.s.RevokeToken(tok)
	r := ts.apiAs(tok, "GET", "/admin/version/", nil)
	if r.status != 403 || r.obj()["detail"] != msgTokenInvalid {
		t.Errorf("revoked token: %d %s", r.status, r.raw)
	}
}

func TestServeHTTPWithoutStart(t *testing.T) {
	s := New(Options{Version: "2026.8.3"})
	if s.URL() != "" || s.CertPool() != nil {
		t.Fatal("not started")
	}
	req, _ := http.NewRequest("GET", "http://aksim.test/api/v3/admin/version/", nil)
	req.Header.Set("Authorization", "Bearer "+s.AdminToken())
	rec := &recorder{header: http.Header{}}
	s.ServeHTTP(rec, req)
	if rec.status != 200 || !strings.Contains(rec.body.String(), `"version_current":"2026.8.3"`) {
		t.Fatalf("in-process handler: %d %s", rec.status, rec.body.String())
	}
	if _, err := NewServer(Options{Version: "latest"}); err == nil {
		t.Error("unparsable version accepted")
	}
}

type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestOIDCExpiry(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	s := New(Options{Version: "2025.8.1", Now: clock.Now})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ts := &testServer{t: t, s: s, client: clientFor(t, s, false), token: s.AdminToken()}
	r := newRP(t, ts, "clock", ts.keyPK(SelfSignedCertName))
	// access_code_validity defaults to minutes=1.
	code := r.code(t, "alice")
	clock.Advance(61 * time.Second)
	if _, err := r.cfg.Exchange(r.ctx, code); oauthErrorCode(err) != "invalid_grant" {
		t.Fatalf("expired code: %v", err)
	}
	clock.Advance(-61 * time.Second)
	tok, err := r.cfg.Exchange(r.ctx, r.code(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Expiry.IsZero() || time.Until(tok.Expiry) > time.Hour+time.Minute {
		t.Errorf("expires_in: %v", tok.Expiry)
	}
	// access_token_validity defaults to hours=1.
	clock.Advance(time.Hour + time.Second)
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo accepted an expired access token")
	}
}
