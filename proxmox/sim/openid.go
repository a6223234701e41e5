package sim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// OpenID Connect like PVE: pve-access-control src/PVE/API2/OpenId.pm over
// proxmox-rs proxmox-openid (lib.rs, auth_state.rs) over the openidconnect
// crate. The HTTP side (discovery, JWKS, token, userinfo) runs from the
// node with the node's own trust store (Options.OIDCRoots).

const (
	authStateTTL = 10 * 60 // seconds (auth_state.rs)
	maxPending   = 100     // auth_state.rs: error once more than 100 are pending
)

type authState struct {
	csrf     string
	nonce    string
	verifier string
	ctime    int64
}

func (n *node) liveStates(realm string) []*authState {
	now := n.s.now().Unix()
	var out []*authState
	for _, st := range n.states[realm] {
		if st.ctime+authStateTTL >= now {
			out = append(out, st)
		}
	}
	n.states[realm] = out
	return out
}

// oidcError is an error whose text is what the Rust side would report.
type oidcError struct{ msg string }

func (e *oidcError) Error() string { return e.msg }

func oerr(format string, a ...any) error { return &oidcError{msg: fmt.Sprintf(format, a...)} }

// realmConfig is a copy of an OpenID realm section taken under the lock.
type realmConfig struct {
	id, typ                      string
	issuer, clientID, clientKey  string
	hasKey                       bool
	usernameClaim                string
	hasUsernameClaim             bool
	scopes, prompt, acr          string
	hasScopes, hasPrompt, hasACR bool
	autocreate                   bool
	groupsClaim                  string
	groupsAutocreate             bool
	groupsOverwrite              bool
	queryUserinfo                bool
	audiences                    []string
}

// lookupOpenIDAuth is $lookup_openid_auth (before discovery).
func (s *Server) lookupRealm(id string) (*realmConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.ensureBuiltinRealms()
	r := s.st.realms[id]
	if r == nil {
		return nil, oerr("authentication domain '%s' does not exist", id)
	}
	if r.typ != "openid" {
		return nil, oerr("wrong realm type (%s != openid)", r.typ)
	}
	str := func(k string) (string, bool) {
		v, ok := r.props[k]
		if !ok {
			return "", false
		}
		return fmt.Sprint(v), true
	}
	c := &realmConfig{id: id, typ: r.typ, queryUserinfo: true}
	c.issuer, _ = str("issuer-url")
	c.clientID, _ = str("client-id")
	c.clientKey, c.hasKey = str("client-key")
	c.usernameClaim, c.hasUsernameClaim = str("username-claim")
	c.scopes, c.hasScopes = str("scopes")
	c.prompt, c.hasPrompt = str("prompt")
	c.acr, c.hasACR = str("acr-values")
	c.autocreate = isTrue(r.props["autocreate"])
	if s.features.openidGroups {
		c.groupsClaim, _ = str("groups-claim")
		c.groupsAutocreate = isTrue(r.props["groups-autocreate"])
		c.groupsOverwrite = isTrue(r.props["groups-overwrite"])
		if v, ok := r.props["query-userinfo"]; ok {
			c.queryUserinfo = isTrue(v)
		}
	}
	if a, ok := str("audiences"); ok && s.features.audiences {
		c.audiences = splitList(a)
	}
	return c, nil
}

// oidcHTTPClient returns the client for requests to OpenID issuers, using
// the node trust store. PVE builds a new TLS connector per request; the
// simulator keeps connections alive for speed, and drops them whenever the
// trust store changes (SetOIDCRoots), so trust is always re-checked.
func (s *Server) oidcHTTPClient() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oidcTransport == nil {
		s.oidcTransport = &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12},
			Proxy:               nil, // ASSUMPTION: no datacenter http_proxy configured
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}
	}
	return &http.Client{Transport: s.oidcTransport, Timeout: 15 * time.Second}
}

type providerMeta struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	ResponseTypes         []string `json:"response_types_supported"`
	SubjectTypes          []string `json:"subject_types_supported"`
	IDTokenAlgs           []string `json:"id_token_signing_alg_values_supported"`

	keys []jose.JSONWebKey
}

// getJSON is the openidconnect HTTP round trip with its error texts:
// transport/TLS failures are "Request failed", a non-200 status or a
// wrong content type "Server returned invalid response: ...", a body
// that does not parse "Failed to parse server response".
func (s *Server) getJSON(ctx context.Context, hc *http.Client, u string, accept []string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return oerr("Request failed")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return oerr("Request failed")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return oerr("Request failed")
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("Server returned invalid response: HTTP status code %s", resp.Status)
		if s.features.discoveryURLInErrors {
			msg += " at " + u
		}
		return oerr("%s", msg)
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	okCT := false
	for _, a := range accept {
		if mt == a {
			okCT = true
		}
	}
	if !okCT {
		// ASSUMPTION: wording of openidconnect's content-type check
		return oerr("Server returned invalid response: Unexpected response Content-Type: %q, should be `%s`", ct, accept[0])
	}
	if err := json.Unmarshal(body, out); err != nil {
		return oerr("Failed to parse server response")
	}
	return nil
}

// discover is ProviderMetadata::discover + JsonWebKeySet::fetch.
func (s *Server) discover(ctx context.Context, issuer string) (*providerMeta, error) {
	iu, err := url.Parse(issuer)
	if err != nil || !iu.IsAbs() {
		return nil, oerr("relative URL without a base")
	}
	wellKnown := issuer
	if !strings.HasSuffix(wellKnown, "/") {
		wellKnown += "/"
	}
	wellKnown += ".well-known/openid-configuration"
	hc := s.oidcHTTPClient()
	var raw map[string]json.RawMessage
	if err := s.getJSON(ctx, hc, wellKnown, []string{"application/json"}, &raw); err != nil {
		return nil, err
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "jwks_uri", "response_types_supported",
		"subject_types_supported", "id_token_signing_alg_values_supported"} {
		if v, ok := raw[k]; !ok || string(v) == "null" {
			return nil, oerr("Failed to parse server response")
		}
	}
	var md providerMeta
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, oerr("Failed to parse server response")
	}
	for _, u := range []string{md.AuthorizationEndpoint, md.JWKSURI} {
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() {
			return nil, oerr("Failed to parse server response")
		}
	}
	if md.Issuer != issuer {
		return nil, oerr("Validation error: unexpected issuer URI `%s` (expected `%s`)", md.Issuer, issuer)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := s.getJSON(ctx, hc, md.JWKSURI, []string{"application/json", "application/jwk-set+json"}, &set); err != nil {
		return nil, err
	}
	if set.Keys == nil {
		return nil, oerr("Failed to parse server response")
	}
	for _, k := range set.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(k); err != nil {
			continue // openidconnect >= 2.5 skips unrecognised keys
		}
		md.keys = append(md.keys, jwk)
	}
	return &md, nil
}

// --- auth-url ----------------------------------------------------------------

func hOpenIDAuthURL(c *call) (any, *apiError) {
	u, err := c.n.authURL(c.r.Context(), c.params["realm"], c.params["redirect-url"])
	if err != nil {
		return nil, die("%s", err.Error())
	}
	return u, nil
}

// authURL is $lookup_openid_auth + OpenIdAuthenticator::authorize_url.
func (n *node) authURL(ctx context.Context, realmID, redirect string) (string, error) {
	s := n.s
	cfg, err := s.lookupRealm(realmID)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := s.discover(ctx, cfg.issuer)
	if err != nil {
		return "", err
	}
	if ru, err := url.Parse(redirect); err != nil || !ru.IsAbs() {
		return "", oerr("relative URL without a base")
	}
	st := &authState{
		csrf:     b64rand(16),
		nonce:    b64rand(16),
		verifier: b64rand(32),
		ctime:    s.now().Unix(),
	}
	n.mu.Lock()
	live := n.liveStates(realmID)
	if len(live) > maxPending {
		n.mu.Unlock()
		return "", oerr("too many pending openid auth request for realm %s", realmID)
	}
	n.states[realmID] = append(live, st)
	n.mu.Unlock()

	pub, _ := json.Marshal(struct {
		CSRF  string `json:"csrf_token"`
		Realm string `json:"realm"`
	}{st.csrf, realmID})
	sum := sha256.Sum256([]byte(st.verifier))
	scopes := []string{"openid"}
	sc := "email profile"
	if cfg.hasScopes {
		sc = cfg.scopes
	}
	scopes = append(scopes, splitList(sc)...)
	pairs := [][2]string{
		{"response_type", "code"},
		{"client_id", cfg.clientID},
		{"state", string(pub)},
		{"code_challenge", base64.RawURLEncoding.EncodeToString(sum[:])},
		{"code_challenge_method", "S256"},
		{"redirect_uri", redirect},
		{"scope", strings.Join(scopes, " ")},
		{"nonce", st.nonce},
		{"display", "page"},
	}
	if cfg.hasPrompt {
		pairs = append(pairs, [2]string{"prompt", cfg.prompt})
	}
	if cfg.hasACR {
		pairs = append(pairs, [2]string{"acr_values", strings.Join(splitList(cfg.acr), " ")})
	}
	var q strings.Builder
	for i, p := range pairs {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(url.QueryEscape(p[0]) + "=" + url.QueryEscape(p[1]))
	}
	sep := "?"
	if strings.Contains(md.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return md.AuthorizationEndpoint + sep + q.String(), nil
}

func b64rand(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

// --- login -------------------------------------------------------------------

func hOpenIDLogin(c *call) (any, *apiError) {
	res, err := c.n.login(c.r.Context(), c.params["code"], c.params["state"], c.params["redirect-url"], clientIP(c.r))
	if err != nil {
		return nil, raise(http.StatusUnauthorized, "authentication failure")
	}
	return res, nil
}

// login is the `login` API method; every failure is logged with its reason
// and answered 401 "authentication failure" by the caller.
func (n *node) login(ctx context.Context, code, stateStr, redirect, rhost string) (map[string]any, error) {
	s := n.s
	res, err := n.doLogin(ctx, code, stateStr, redirect)
	if err != nil {
		s.syslog("openid authentication failure; rhost=%s msg=%s", rhost, err.Error())
		return nil, err
	}
	s.syslog("successful openid auth for user '%s'", res["username"])
	return res, nil
}

func (n *node) doLogin(ctx context.Context, code, stateStr, redirect string) (map[string]any, error) {
	s := n.s
	var pub struct {
		CSRF  *string `json:"csrf_token"`
		Realm *string `json:"realm"`
	}
	if err := json.Unmarshal([]byte(stateStr), &pub); err != nil || pub.CSRF == nil || pub.Realm == nil {
		// ASSUMPTION: the real text is serde_json's parse error
		// (auth_state.rs verify_public_auth_state); only the log shows it.
		return nil, oerr("unable to parse openid auth state")
	}
	n.mu.Lock()
	var priv *authState
	var rest []*authState
	for _, st := range n.liveStates(*pub.Realm) {
		if priv == nil && st.csrf == *pub.CSRF {
			priv = st
			continue
		}
		rest = append(rest, st)
	}
	n.states[*pub.Realm] = rest
	n.mu.Unlock()
	if priv == nil {
		return nil, oerr("no openid auth state found (possible timeout)")
	}
	realmID := *pub.Realm
	cfg, err := s.lookupRealm(realmID)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := s.discover(ctx, cfg.issuer)
	if err != nil {
		return nil, err
	}
	if ru, err := url.Parse(redirect); err != nil || !ru.IsAbs() {
		return nil, oerr("relative URL without a base")
	}

	// code exchange (PKCE verifier, client credentials by HTTP Basic auth)
	hc := s.oidcHTTPClient()
	oc := &oauth2.Config{
		ClientID:     cfg.clientID,
		ClientSecret: cfg.clientKey,
		RedirectURL:  redirect,
		Endpoint:     oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
	}
	if !cfg.hasKey {
		// a public client sends its client_id in the body
		oc.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	if md.TokenEndpoint == "" {
		return nil, oerr("Failed to contact token endpoint: No token endpoint")
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), code, oauth2.VerifierOption(priv.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		switch {
		case errors.As(err, &re) && re.ErrorCode != "":
			msg := "Server returned error response: " + re.ErrorCode
			if re.ErrorDescription != "" {
				msg += ": " + re.ErrorDescription
			}
			return nil, oerr("Failed to contact token endpoint: %s", msg)
		case errors.As(err, &re):
			return nil, oerr("Failed to contact token endpoint: Server returned invalid response: HTTP status code %s", re.Response.Status)
		case strings.Contains(err.Error(), "server response missing access_token"):
			return nil, oerr("Failed to contact token endpoint: Failed to parse server response")
		}
		return nil, oerr("Failed to contact token endpoint: Request failed")
	}
	if tok.TokenType == "" {
		return nil, oerr("Failed to contact token endpoint: Failed to parse server response")
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		// proxmox-openid: .expect("Server did not return an ID token") — a panic
		return nil, oerr("Server did not return an ID token")
	}

	if !compactJWT(rawID) {
		// openidconnect deserialises the id_token while parsing the token
		// response (JsonWebToken: header.payload.signature, both JSON): an
		// encrypted 5-part JWE — authentik with an encryption key — or any
		// other shape fails the whole response (proxmox-openid-realm.md §4,
		// "JWE not supported"; authentik-proxmox-guide.md §4).
		return nil, oerr("Failed to contact token endpoint: Failed to parse server response")
	}
	claims, err := s.verifyIDToken(ctx, md, cfg, rawID, priv.nonce)
	if err != nil {
		return nil, oerr("Failed to verify ID token: %s", err.Error())
	}
	if cfg.queryUserinfo {
		ui, err := s.userinfo(ctx, hc, md, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		for k, v := range ui {
			if cur, ok := claims[k]; !ok || cur == nil {
				claims[k] = v
			}
		}
	}

	// user name per username-claim
	attr := "sub"
	if cfg.hasUsernameClaim {
		attr = cfg.usernameClaim
	}
	var unique string
	if v, ok := claims[attr]; ok && v != nil {
		unique = claimString(v)
	} else if attr == "subject" {
		unique = claimString(claims["sub"])
	} else if attr == "username" {
		pu, ok := claims["preferred_username"]
		if !ok || pu == nil {
			return nil, oerr("missing claim 'preferred_username'")
		}
		unique = claimString(pu)
	} else {
		return nil, oerr("missing configured claim '%s' in returned info object", attr)
	}
	username := unique + "@" + realmID
	if _, _, msg := verifyUsername(username); msg != "" {
		return nil, oerr("%s", msg)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if cfg.autocreate && st.users[username] == nil {
		u := &user{enable: 1}
		if v, ok := claims["email"]; ok && v != nil {
			u.email = claimString(v)
		}
		if v, ok := claims["given_name"]; ok && v != nil {
			u.firstname = claimString(v)
		}
		if v, ok := claims["family_name"]; ok && v != nil {
			u.lastname = claimString(v)
		}
		st.users[username] = u
	} else if e := st.checkUserEnabled(username, s.now().Unix()); e != nil {
		return nil, oerr("%s", strings.TrimRight(e.msg, "\n"))
	}
	if cfg.groupsClaim != "" {
		s.mapGroups(cfg, realmID, username, claims)
	}
	res := map[string]any{
		"ticket":              s.assembleTicket(username, ""),
		"username":            username,
		"CSRFPreventionToken": s.assembleCSRF(username),
		"cap":                 st.computeCap(username),
	}
	if len(s.nodes) > 1 && st.check(username, "/", []string{"Sys.Audit"}) == nil {
		res["clustername"] = s.opts.ClusterName
	}
	return res, nil
}

// mapGroups applies groups-claim (access-control 8.2.1): claim entries
// with valid group names become "<name>-<realm>"; only existing groups are
// joined unless groups-autocreate; groups-overwrite first drops the user
// from all groups. Problems are only logged. Caller holds s.mu.
func (s *Server) mapGroups(cfg *realmConfig, realmID, username string, claims map[string]any) {
	st := s.st
	v, ok := claims[cfg.groupsClaim]
	if !ok || v == nil {
		s.syslogLocked("openid groups claim '%s' is not found in claims", cfg.groupsClaim)
		return
	}
	list, ok := v.([]any)
	if !ok {
		s.syslogLocked("openid groups list is not an array; groups will not be updated")
		return
	}
	oidc := map[string]bool{}
	for _, g := range list {
		name := claimString(g)
		// verify_groupname on the claim's entry itself, then the suffix
		if s.valid.validGroupName(name) {
			oidc[name+"-"+realmID] = true
		} else {
			s.syslogLocked("openid group '%s' contains invalid characters", name)
		}
	}
	join := map[string]bool{}
	for g := range oidc {
		if st.groups[g] != nil {
			join[g] = true
		}
	}
	if cfg.groupsAutocreate {
		join = oidc
		var created []string
		for g := range oidc {
			if st.groups[g] == nil {
				created = append(created, g)
			}
		}
		if len(created) > 0 {
			sort.Strings(created)
			s.syslogLocked("groups created automatically from openid claim: %s", strings.Join(created, ", "))
		}
	}
	if cfg.groupsOverwrite {
		st.deleteUserGroups(username)
		s.syslogLocked("openid overwrite groups enabled; user '%s' removed from all groups", username)
	}
	if len(join) > 0 {
		var names []string
		for g := range join {
			if st.groups[g] == nil {
				st.groups[g] = &group{users: map[string]bool{}}
			}
			st.groups[g].users[username] = true
			names = append(names, g)
		}
		sort.Strings(names)
		s.syslogLocked("openid user '%s' added to groups: %s", username, strings.Join(names, ", "))
	}
}

// compactJWT reports whether raw has the JWS compact form a JsonWebToken
// deserialises from: three base64url parts, the first two JSON objects.
func compactJWT(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return false
		}
		if i < 2 {
			var obj map[string]any
			if json.Unmarshal(b, &obj) != nil {
				return false
			}
		}
	}
	return true
}

func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return jsonParam(v)
}

// allowedAlgs: on PVE 9 (openidconnect 4) the discovery document's list of
// verifiable algorithms; on PVE 8 RS256 only (see features). HS* need a
// client secret; ES512 cannot be verified by openidconnect.
func (s *Server) allowedAlgs(md *providerMeta, hasSecret bool) []string {
	if !s.features.algsFromDiscovery {
		return []string{"RS256"}
	}
	verifiable := map[string]bool{"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true,
		"PS512": true, "ES256": true, "ES384": true, "EdDSA": true}
	if hasSecret {
		for _, a := range []string{"HS256", "HS384", "HS512"} {
			verifiable[a] = true
		}
	}
	var out []string
	for _, a := range md.IDTokenAlgs {
		if verifiable[a] {
			out = append(out, a)
		}
	}
	return out
}

// keySet verifies JWS signatures with go-jose against the discovered JWKS
// (or, for HS*, the client secret).
type keySet struct {
	keys   []jose.JSONWebKey
	secret []byte
	algs   []jose.SignatureAlgorithm
}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, k.algs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("expected one signature")
	}
	h := jws.Signatures[0].Header
	if strings.HasPrefix(h.Algorithm, "HS") {
		if len(k.secret) == 0 {
			return nil, errors.New("no client secret")
		}
		return jws.Verify(k.secret)
	}
	for _, key := range k.keys {
		if h.KeyID != "" && key.KeyID != "" && key.KeyID != h.KeyID {
			continue
		}
		if key.Use == "enc" {
			continue
		}
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("no matching key")
}

// verifyIDToken checks signature (allowed algorithms), issuer, audience
// (client-id plus 'audiences'; any other audience is rejected), expiry and
// nonce. Messages follow the openidconnect ClaimsVerificationError texts
// as far as the reference material quotes them.
func (s *Server) verifyIDToken(ctx context.Context, md *providerMeta, cfg *realmConfig, raw, nonce string) (map[string]any, error) {
	algs := s.allowedAlgs(md, cfg.hasKey && cfg.clientKey != "")
	if len(algs) == 0 {
		return nil, errors.New("Signature verification failed")
	}
	ks := &keySet{keys: md.keys}
	if cfg.hasKey {
		ks.secret = []byte(cfg.clientKey)
	}
	for _, a := range algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(a))
	}
	v := oidc.NewVerifier(md.Issuer, ks, &oidc.Config{
		ClientID:             cfg.clientID,
		SupportedSigningAlgs: algs,
		Now:                  s.now,
	})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		switch {
		case errors.As(err, &exp):
			return nil, fmt.Errorf("Expired: ID token expired at %s", exp.Expiry.UTC().Format(time.RFC3339))
		case strings.Contains(err.Error(), "issued by a different provider"):
			return nil, errors.New("Invalid issuer")
		case strings.Contains(err.Error(), "expected audience"):
			return nil, fmt.Errorf("Invalid audiences: `%s` is not a trusted audience", cfg.clientID)
		}
		// malformed token, disallowed algorithm, bad signature: only the
		// outermost message is reported
		return nil, errors.New("Signature verification failed")
	}
	trusted := map[string]bool{cfg.clientID: true}
	for _, a := range cfg.audiences {
		trusted[a] = true
	}
	for _, a := range idt.Audience {
		if !trusted[a] {
			return nil, fmt.Errorf("Invalid audiences: `%s` is not a trusted audience", a)
		}
	}
	if idt.Nonce != nonce {
		return nil, errors.New("Invalid nonce: nonce mismatch")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, errors.New("Signature verification failed")
	}
	return claims, nil
}

func (s *Server) userinfo(ctx context.Context, hc *http.Client, md *providerMeta, accessToken string) (map[string]any, error) {
	if md.UserinfoEndpoint == "" {
		// ASSUMPTION: wording of openidconnect's missing-endpoint error
		return nil, oerr("No userinfo endpoint specified")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, md.UserinfoEndpoint, nil)
	if err != nil {
		return nil, oerr("Failed to contact userinfo endpoint: Request failed")
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, oerr("Failed to contact userinfo endpoint: Request failed")
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, oerr("Failed to contact userinfo endpoint: Server returned invalid response: HTTP status code %s", resp.Status)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil || out["sub"] == nil {
		return nil, oerr("Failed to contact userinfo endpoint: Failed to parse server response")
	}
	return out, nil
}
