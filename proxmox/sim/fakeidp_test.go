package sim_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fakeIdP is a small, configurable OpenID provider for the simulator's
// OpenID tests (the end-to-end test in internal/e2e uses the Authentik
// simulator instead). It signs ID tokens with go-jose.
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	Issuer string

	mu           sync.Mutex
	clientID     string
	clientSecret string
	alg          string // RS256, ES256, ES512, EdDSA, HS256
	rsaKey       *rsa.PrivateKey
	ecKey        *ecdsa.PrivateKey
	ec521Key     *ecdsa.PrivateKey
	edKey        ed25519.PrivateKey
	// publicClient: the token endpoint takes client_id in the form and no
	// client authentication (a realm without client-key)
	publicClient bool
	// knobs
	discoveryStatus int
	discoveryCT     string
	issuerInDoc     string
	omitAlgs        bool
	algsInDoc       []string
	noUserinfo      bool
	claims          map[string]any // id token claims (merged over sub/iss/aud/...)
	userinfo        map[string]any
	aud             any
	nonceOverride   string
	expIn           time.Duration
	tokenError      string
	noIDToken       bool
	rawIDToken      string // sent instead of a signed ID token
	// observations
	codes         map[string]authReq
	tokenCalls    int
	userinfoCalls int
	lastBasicUser string
	lastBasicPass string
	lastTokenForm url.Values
}

var (
	keyOnce   sync.Once
	sharedRSA *rsa.PrivateKey
)

type authReq struct {
	challenge, redirect, nonce, clientID, scope string
}

func newFakeIdP(t *testing.T) *fakeIdP {
	keyOnce.Do(func() {
		var err error
		if sharedRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	k := sharedRSA
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ek521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	f := &fakeIdP{t: t, clientID: "pve-client", clientSecret: testClientSecret, alg: "RS256", rsaKey: k, ecKey: ek,
		ec521Key: ek521, edKey: edk,
		claims: map[string]any{}, userinfo: map[string]any{}, codes: map[string]authReq{}, expIn: 5 * time.Minute}
	mux := http.NewServeMux()
	mux.HandleFunc("/app/.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("/app/jwks", f.jwks)
	mux.HandleFunc("/app/authorize", f.authorize)
	mux.HandleFunc("/app/token", f.token)
	mux.HandleFunc("/app/userinfo", f.userinfoH)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	f.Issuer = f.srv.URL + "/app/"
	return f
}

func (f *fakeIdP) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.srv.Certificate())
	return p
}

func (f *fakeIdP) set(fn func(f *fakeIdP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeIdP) discovery(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.discoveryStatus != 0 {
		w.WriteHeader(f.discoveryStatus)
		return
	}
	doc := map[string]any{
		"issuer":                   f.Issuer,
		"authorization_endpoint":   f.srv.URL + "/app/authorize",
		"token_endpoint":           f.srv.URL + "/app/token",
		"jwks_uri":                 f.srv.URL + "/app/jwks",
		"response_types_supported": []string{"code"},
		"subject_types_supported":  []string{"public"},
		"id_token_signing_alg_values_supported": func() []string {
			if f.algsInDoc != nil {
				return f.algsInDoc
			}
			return []string{f.alg}
		}(),
	}
	if !f.noUserinfo {
		doc["userinfo_endpoint"] = f.srv.URL + "/app/userinfo"
	}
	if f.issuerInDoc != "" {
		doc["issuer"] = f.issuerInDoc
	}
	if f.omitAlgs {
		delete(doc, "id_token_signing_alg_values_supported")
	}
	if f.discoveryCT != "" {
		w.Header().Set("Content-Type", f.discoveryCT)
		_ = json.NewEncoder(w).Encode(doc)
		return
	}
	writeJSON(w, 200, doc)
}

func (f *fakeIdP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &f.rsaKey.PublicKey, KeyID: "rsa1", Algorithm: "RS256", Use: "sig"},
		{Key: &f.ecKey.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"},
		{Key: &f.ec521Key.PublicKey, KeyID: "ec521", Algorithm: "ES512", Use: "sig"},
		{Key: f.edKey.Public(), KeyID: "ed1", Algorithm: "EdDSA", Use: "sig"},
	}})
}

// authorize approves at once: redirect to redirect_uri?code&state.
func (f *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := base64.RawURLEncoding.EncodeToString(randBytes(12))
	f.mu.Lock()
	f.codes[code] = authReq{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce"),
		clientID: q.Get("client_id"), scope: q.Get("scope")}
	f.mu.Unlock()
	u, _ := url.Parse(q.Get("redirect_uri"))
	rq := u.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	u.RawQuery = rq.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenCalls++
	f.lastTokenForm = r.PostForm
	f.lastBasicUser, f.lastBasicPass, _ = r.BasicAuth()
	if f.tokenError != "" {
		writeJSON(w, 400, map[string]any{"error": f.tokenError, "error_description": "nope"})
		return
	}
	req, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	clientOK := f.lastBasicUser == f.clientID && f.lastBasicPass == f.clientSecret
	if f.publicClient {
		clientOK = r.PostForm.Get("client_id") == f.clientID && f.lastBasicUser == ""
	}
	if !ok || req.redirect != r.PostForm.Get("redirect_uri") || req.challenge != base64.RawURLEncoding.EncodeToString(sum[:]) || !clientOK {
		writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
		return
	}
	resp := map[string]any{"access_token": "at-" + r.PostForm.Get("code"), "token_type": "Bearer", "expires_in": 300}
	if !f.noIDToken {
		resp["id_token"] = f.sign(req.nonce)
	}
	if f.rawIDToken != "" {
		resp["id_token"] = f.rawIDToken
	}
	writeJSON(w, 200, resp)
}

func (f *fakeIdP) sign(nonce string) string {
	now := time.Now()
	cl := map[string]any{
		"iss":   f.Issuer,
		"sub":   "subject-123",
		"aud":   f.clientID,
		"exp":   now.Add(f.expIn).Unix(),
		"iat":   now.Unix(),
		"nonce": nonce,
	}
	if f.aud != nil {
		cl["aud"] = f.aud
	}
	if f.nonceOverride != "" {
		cl["nonce"] = f.nonceOverride
	}
	for k, v := range f.claims {
		cl[k] = v
	}
	var key jose.SigningKey
	switch f.alg {
	case "ES256":
		key = jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: f.ecKey, KeyID: "ec1"}}
	case "ES512":
		key = jose.SigningKey{Algorithm: jose.ES512, Key: jose.JSONWebKey{Key: f.ec521Key, KeyID: "ec521"}}
	case "EdDSA":
		key = jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: f.edKey, KeyID: "ed1"}}
	case "HS256":
		key = jose.SigningKey{Algorithm: jose.HS256, Key: []byte(f.clientSecret)}
	default:
		key = jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: f.rsaKey, KeyID: "rsa1"}}
	}
	sig, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		f.t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(cl).Serialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

func (f *fakeIdP) userinfoH(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.userinfoCalls++
	out := map[string]any{"sub": "subject-123"}
	for k, v := range f.userinfo {
		out[k] = v
	}
	writeJSON(w, 200, out)
}

// testClientSecret is long enough for HS256 (go-jose wants >= 256 bits).
const testClientSecret = "s3cret-s3cret-s3cret-s3cret-s3cret"
