package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	aksim "github.com/pvesso/pvesso/authentik/sim"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

// env is an Authentik simulator with an OAuth2 provider and an application
// for Proxmox, and a Proxmox VE simulator.
type env struct {
	t        *testing.T
	ak       *aksim.Server
	pve      *pvesim.Server
	akHTTP   *http.Client // API client trusting Authentik
	pveHTTP  *http.Client // API client trusting the PVE node
	browser  *http.Client // trusts both, follows no redirects
	issuer   string
	clientID string
	secret   string
	pveRoot  string
}

func pemPool(pems ...[]byte) *x509.CertPool {
	p := x509.NewCertPool()
	for _, b := range pems {
		if !p.AppendCertsFromPEM(b) {
			panic("bad PEM")
		}
	}
	return p
}

type jsonResp struct {
	status int
	reason string
	raw    []byte
	body   map[string]any
}

func (e *env) call(c *http.Client, method, u string, hdr map[string]string, body io.Reader) jsonResp {
	e.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := jsonResp{status: res.StatusCode, raw: raw, reason: strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)+" ")}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// akAPI calls the Authentik API (JSON) as akadmin.
func (e *env) akAPI(method, path string, body any) jsonResp {
	e.t.Helper()
	var rd io.Reader
	hdr := map[string]string{"Authorization": "Bearer " + e.ak.AdminToken()}
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
		hdr["Content-Type"] = "application/json"
	}
	return e.call(e.akHTTP, method, e.ak.URL()+"/api/v3"+path, hdr, rd)
}

func (e *env) akFirst(path string) map[string]any {
	e.t.Helper()
	r := e.akAPI("GET", path, nil)
	res, _ := r.body["results"].([]any)
	if r.status != 200 || len(res) == 0 {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
	}
	return res[0].(map[string]any)
}

// akGroupWith creates an Authentik group with the user as its member.
func (e *env) akGroupWith(name, username string) {
	e.t.Helper()
	g := e.akAPI("POST", "/core/groups/", map[string]any{"name": name})
	must(e.t, g, 201)
	pk := e.akFirst("/core/users/?username=" + url.QueryEscape(username))["pk"]
	must(e.t, e.akAPI("POST", "/core/groups/"+g.body["pk"].(string)+"/add_user/", map[string]any{"pk": pk}), 204)
}

// pveAPI calls the Proxmox API with root@pam's token (form body).
func (e *env) pveAPI(method, path string, params url.Values) jsonResp {
	e.t.Helper()
	hdr := map[string]string{"Authorization": "PVEAPIToken=" + e.pveRoot}
	var rd io.Reader
	u := e.pve.URL() + "/api2/json" + path
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
	} else {
		rd = strings.NewReader(params.Encode())
		hdr["Content-Type"] = "application/x-www-form-urlencoded"
	}
	return e.call(e.pveHTTP, method, u, hdr, rd)
}

func (e *env) pveWorld(path string, params url.Values) jsonResp {
	e.t.Helper()
	return e.call(e.pveHTTP, "POST", e.pve.URL()+"/api2/json"+path,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(params.Encode()))
}

func must(t *testing.T, r jsonResp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d %q, want %d; body %s", r.status, r.reason, status, r.raw)
	}
}

// newEnv starts both simulators. trust decides whether the PVE node trusts
// Authentik's certificate.
func newEnv(t *testing.T, akVersion, pveVersion string, trust bool, subMode string) *env {
	t.Helper()
	ak := aksim.New(aksim.Options{Version: akVersion})
	if err := ak.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ak.Close)
	opts := pvesim.Options{Version: pveVersion}
	if trust {
		opts.OIDCRoots = pemPool(ak.CertPEM())
	}
	pve := pvesim.New(opts)
	if err := pve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pve.Close)
	e := &env{t: t, ak: ak, pve: pve, pveRoot: pve.RootToken()}
	e.akHTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pemPool(ak.CertPEM())}}, Timeout: 20 * time.Second}
	e.pveHTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pemPool(pve.CertPEM())}}, Timeout: 20 * time.Second}
	e.browser = &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pemPool(ak.CertPEM(), pve.CertPEM())}},
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		for _, c := range []*http.Client{e.akHTTP, e.pveHTTP, e.browser} {
			c.CloseIdleConnections()
		}
	})
	e.configureAuthentik(akVersion, subMode)
	return e
}

// configureAuthentik creates the provider and application like the
// authentik Proxmox guide: confidential client, strict redirect URI = the
// PVE origin, RSA signing key, openid/email/profile mappings.
func (e *env) configureAuthentik(akVersion, subMode string) {
	t := e.t
	flow := e.akFirst("/flows/instances/?slug=default-provider-authorization-implicit-consent")["pk"]
	inval := e.akFirst("/flows/instances/?slug=default-provider-invalidation-flow")["pk"]
	var mappings []any
	for _, sc := range []string{"openid", "email", "profile"} {
		mappings = append(mappings, e.akFirst("/propertymappings/provider/scope/?managed=goauthentik.io/providers/oauth2/scope-" + sc)["pk"])
	}
	key := e.akFirst("/crypto/certificatekeypairs/?name=" + url.QueryEscape("authentik Self-signed Certificate"))["pk"]
	provider := map[string]any{
		"name":                       "Proxmox VE",
		"authorization_flow":         flow,
		"invalidation_flow":          inval,
		"client_type":                "confidential",
		"redirect_uris":              []any{map[string]any{"matching_mode": "strict", "url": e.pve.URL()}},
		"signing_key":                key,
		"sub_mode":                   subMode,
		"property_mappings":          mappings,
		"include_claims_in_id_token": true,
	}
	if akAtLeast(akVersion, 2026, 5) {
		// from 2026.5 a provider created without grant_types permits no
		// grant at all (authentik-proxmox-guide.md §5)
		provider["grant_types"] = []string{"authorization_code"}
	}
	r := e.akAPI("POST", "/providers/oauth2/", provider)
	must(t, r, 201)
	e.clientID, e.secret = r.body["client_id"].(string), r.body["client_secret"].(string)
	must(t, e.akAPI("POST", "/core/applications/", map[string]any{"name": "Proxmox VE", "slug": "proxmox", "provider": r.body["pk"]}), 201)
	e.issuer = e.ak.URL() + "/application/o/proxmox/"
	d := e.call(e.akHTTP, "GET", e.issuer+".well-known/openid-configuration", nil, nil)
	must(t, d, 200)
	if d.body["issuer"] != e.issuer {
		t.Fatalf("discovery issuer %v, want %s", d.body["issuer"], e.issuer)
	}
}

func (e *env) createRealm(usernameClaim string, extra ...string) {
	e.t.Helper()
	v := url.Values{"realm": {"authentik"}, "type": {"openid"}, "issuer-url": {e.issuer}, "client-id": {e.clientID},
		"client-key": {e.secret}, "username-claim": {usernameClaim}, "autocreate": {"1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	must(e.t, e.pveAPI("POST", "/access/domains", v), 200)
}

// login runs auth-url → Authentik authorize (logged in as user) → login.
func (e *env) login(user string) jsonResp {
	e.t.Helper()
	origin := e.pve.URL()
	r := e.pveWorld("/access/openid/auth-url", url.Values{"realm": {"authentik"}, "redirect-url": {origin}})
	must(e.t, r, 200)
	authURL := r.body["data"].(string)
	if !strings.HasPrefix(authURL, e.ak.URL()+"/application/o/authorize/?") {
		e.t.Fatalf("auth url %s", authURL)
	}
	e.ak.LoginHook(user)
	res, err := e.browser.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host; got != origin || strings.Trim(loc.Path, "/") != "" {
		e.t.Fatalf("authentik redirected to %s, want the PVE origin %s", loc, origin)
	}
	return e.pveWorld("/access/openid/login", url.Values{"code": {loc.Query().Get("code")}, "state": {loc.Query().Get("state")}, "redirect-url": {origin}})
}

func TestOIDCCodeFlowBetweenSimulators(t *testing.T) {
	for _, v := range []struct{ ak, pve string }{{"2025.8.1", "8.4.14"}, {"2026.8.3", "9.2.0"}} {
		t.Run("authentik-"+v.ak+"/pve-"+v.pve, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v.ak, v.pve, true, "user_email")
			e.createRealm("subject")
			r := e.login("alice")
			must(t, r, 200)
			d := r.body["data"].(map[string]any)
			if d["username"] != "alice@example.com@authentik" {
				t.Fatalf("username %v", d["username"])
			}
			tk, _ := d["ticket"].(string)
			if !strings.HasPrefix(tk, "PVE:alice@example.com@authentik:") || d["CSRFPreventionToken"] == "" || d["cap"] == nil {
				t.Fatalf("login answer %v", d)
			}
			// the ticket authenticates against the PVE API
			who := e.call(e.pveHTTP, "GET", e.pve.URL()+"/api2/json/access/permissions", map[string]string{"Cookie": "PVEAuthCookie=" + url.QueryEscape(tk)}, nil)
			must(t, who, 200)
			// autocreate made the user, with the email from the claims
			u := e.pveAPI("GET", "/access/users/alice@example.com@authentik", nil)
			must(t, u, 200)
			if u.body["data"].(map[string]any)["email"] != "alice@example.com" {
				t.Fatalf("user %s", u.raw)
			}
			// the state is single use
			if e.pve.PendingOpenIDStates(1, "authentik") != 0 {
				t.Fatal("state not consumed")
			}
		})
	}
}

func TestOIDCUsernameClaimUsername(t *testing.T) {
	t.Parallel()
	// authentik's guide: username-claim "username" maps to preferred_username
	e := newEnv(t, "2025.8.1", "8.4.14", true, "hashed_user_id")
	e.createRealm("username")
	r := e.login("bob")
	must(t, r, 200)
	if u := r.body["data"].(map[string]any)["username"]; u != "bob@authentik" {
		t.Fatalf("username %v", u)
	}
}

func TestOIDCHashedSubjectTooLong(t *testing.T) {
	t.Parallel()
	// the default subject mode (SHA-256 hex) with username-claim subject
	// gives a user id longer than 64 characters: every login fails
	e := newEnv(t, "2025.8.1", "8.4.14", true, "hashed_user_id")
	e.createRealm("subject")
	r := e.login("alice")
	must(t, r, 401)
	if r.reason != "authentication failure" {
		t.Fatalf("reason %q", r.reason)
	}
	logs := e.pve.Log()
	if last := logs[len(logs)-1]; !strings.Contains(last, "is too long (74 > 64)") {
		t.Fatalf("log %q", last)
	}
}

func TestOIDCUntrustedAuthentikCertificate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2025.8.1", "8.4.14", false, "user_email")
	e.createRealm("subject")
	r := e.pveWorld("/access/openid/auth-url", url.Values{"realm": {"authentik"}, "redirect-url": {e.pve.URL()}})
	must(t, r, 500)
	if r.reason != "Request failed" {
		t.Fatalf("reason %q, want PVE's discovery error", r.reason)
	}
	if r.body["message"] != "Request failed\n" {
		t.Fatalf("body %s", r.raw)
	}
	// installing the CA on the node fixes it
	e.pve.SetOIDCRoots(pemPool(e.ak.CertPEM()))
	must(t, e.login("alice"), 200)
}

func TestOIDCWrongIssuerURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2025.8.1", "9.2.0", true, "user_email")
	e.issuer = strings.TrimSuffix(e.issuer, "/") // the classic missing trailing slash
	e.createRealm("subject")
	r := e.pveWorld("/access/openid/auth-url", url.Values{"realm": {"authentik"}, "redirect-url": {e.pve.URL()}})
	must(t, r, 500)
	want := fmt.Sprintf("Validation error: unexpected issuer URI `%s/` (expected `%s`)", e.issuer, e.issuer)
	if r.reason != want {
		t.Fatalf("reason %q, want %q", r.reason, want)
	}
}

func TestOIDCRedirectURIMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2025.8.1", "8.4.14", true, "user_email")
	e.createRealm("subject")
	// the browser uses another origin than the one registered at authentik
	other := strings.Replace(e.pve.URL(), "127.0.0.1", "localhost", 1)
	r := e.pveWorld("/access/openid/auth-url", url.Values{"realm": {"authentik"}, "redirect-url": {other}})
	must(t, r, 200)
	e.ak.LoginHook("alice")
	res, err := e.browser.Get(r.body["data"].(string))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("authentik answered %d, want its 400 redirect-URI error page", res.StatusCode)
	}
}

// TestBrowserLoginThroughPVEWebPage is the demo's private-window path: the
// PVE login page starts the redirect, authentik logs alice in, the page
// finishes the login.
func TestBrowserLoginThroughPVEWebPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2025.8.1", "8.4.14", true, "user_email")
	e.createRealm("subject")
	res, err := e.browser.Get(e.pve.URL() + "/?realm=authentik&start=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", res.StatusCode)
	}
	e.ak.LoginHook("alice")
	res, err = e.browser.Get(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if !strings.HasPrefix(back, e.pve.URL()) {
		t.Fatalf("authentik redirected to %q", back)
	}
	res, err = e.browser.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "logged in as alice@example.com@authentik") {
		t.Fatalf("page: %s", body)
	}
}

// TestOIDCGroupsClaimMapping: authentik's profile mapping sends "groups";
// PVE 8.4+ maps them to "<group>-<realm>" (only existing groups unless
// groups-autocreate).
func TestOIDCGroupsClaimMapping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2025.8.1", "8.4.14", true, "user_email")
	e.akGroupWith("pve-admins", "alice")

	e.createRealm("subject", "groups-claim", "groups")
	must(t, e.pveAPI("POST", "/access/groups", url.Values{"groupid": {"pve-admins-authentik"}}), 200)
	must(t, e.pveAPI("PUT", "/access/acl", url.Values{"path": {"/"}, "groups": {"pve-admins-authentik"}, "roles": {"Administrator"}}), 200)
	r := e.login("alice")
	must(t, r, 200)
	d := r.body["data"].(map[string]any)
	// the group's Administrator role is in the ticket's capabilities at once
	if acc, _ := d["cap"].(map[string]any)["access"].(map[string]any); acc["Group.Allocate"] != float64(1) {
		t.Fatalf("cap %v", d["cap"])
	}
	u := e.pveAPI("GET", "/access/users/alice@example.com@authentik", nil)
	must(t, u, 200)
	if gs := u.body["data"].(map[string]any)["groups"].([]any); len(gs) != 1 || gs[0] != "pve-admins-authentik" {
		t.Fatalf("groups %v", gs)
	}
}

// The wizard's path without autocreate (proxmox-api.md §5 "autocreate and
// pre-creation"): the login of an unknown user fails with 401 (syslog: no
// such user); a user pre-created in the realm (no password, no realm check)
// with groups=admin can log in at once with the group's rights, and the
// login changes nothing about the user; append=1 keeps the group.
func TestOIDCPreCreatedUserWithoutAutocreate(t *testing.T) {
	for _, v := range []struct{ ak, pve string }{{"2025.8.1", "8.4.14"}, {"2026.8.3", "9.2.0"}} {
		t.Run("pve-"+v.pve, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, v.ak, v.pve, true, "hashed_user_id")
			e.createRealm("username", "autocreate", "0")
			r := e.login("bob")
			must(t, r, 401)
			if logs := e.pve.Log(); !strings.Contains(logs[len(logs)-1], "msg=no such user ('bob@authentik')") {
				t.Fatalf("log %q", logs[len(logs)-1])
			}
			must(t, e.pveAPI("POST", "/access/groups", url.Values{"groupid": {"admin"}}), 200)
			must(t, e.pveAPI("POST", "/access/groups", url.Values{"groupid": {"ops"}}), 200)
			must(t, e.pveAPI("PUT", "/access/acl", url.Values{"path": {"/"}, "groups": {"admin"}, "roles": {"Administrator"}}), 200)
			must(t, e.pveAPI("POST", "/access/users", url.Values{"userid": {"bob@authentik"}, "groups": {"admin"}}), 200)
			r = e.login("bob")
			must(t, r, 200)
			d := r.body["data"].(map[string]any)
			if acc, _ := d["cap"].(map[string]any)["access"].(map[string]any); d["username"] != "bob@authentik" || acc["Group.Allocate"] != float64(1) {
				t.Fatalf("login %v", d)
			}
			u := e.pveAPI("GET", "/access/users/bob@authentik", nil)
			must(t, u, 200)
			ud := u.body["data"].(map[string]any)
			if gs := ud["groups"].([]any); len(gs) != 1 || gs[0] != "admin" || ud["email"] != nil {
				t.Fatalf("the login modified the pre-created user: %s", u.raw)
			}
			must(t, e.pveAPI("PUT", "/access/users/bob@authentik", url.Values{"groups": {"ops"}, "append": {"1"}}), 200)
			u = e.pveAPI("GET", "/access/users/bob@authentik", nil)
			if gs := u.body["data"].(map[string]any)["groups"].([]any); len(gs) != 2 {
				t.Fatalf("append=1 lost a group: %s", u.raw)
			}
		})
	}
}

// username-claim email: the user id is "<email>@<realm>", with an '@' in
// the user part (pve-docs' Google example), whatever the subject mode.
func TestOIDCUsernameClaimEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026.8.3", "9.2.0", true, "hashed_user_id")
	e.createRealm("email")
	r := e.login("alice")
	must(t, r, 200)
	if u := r.body["data"].(map[string]any)["username"]; u != "alice@example.com@authentik" {
		t.Fatalf("username %v", u)
	}
	// autocreate takes firstname from given_name — authentik's full name —
	// and has no family_name to take a lastname from
	name := e.akFirst("/core/users/?username=alice")["name"]
	u := e.pveAPI("GET", "/access/users/alice@example.com@authentik", nil)
	must(t, u, 200)
	d := u.body["data"].(map[string]any)
	if d["firstname"] != name || d["lastname"] != nil || d["email"] != "alice@example.com" || d["enable"] != float64(1) {
		t.Fatalf("autocreated user %s (authentik name %v)", u.raw, name)
	}
}

// Groups mapping on 9.x with groups-autocreate and groups-overwrite:
// "<group>-<realm>" is created, a name PVE cannot use ("Team Blue") is
// skipped with a warning, and overwrite drops the manual "admin" group.
func TestOIDCGroupsClaimAutocreateOverwrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026.8.3", "9.2.0", true, "user_email")
	for _, name := range []string{"pve-admins", "Team Blue"} {
		e.akGroupWith(name, "alice")
	}
	e.createRealm("subject", "groups-claim", "groups", "groups-autocreate", "1", "groups-overwrite", "1")
	must(t, e.pveAPI("POST", "/access/groups", url.Values{"groupid": {"admin"}}), 200)
	must(t, e.pveAPI("POST", "/access/users", url.Values{"userid": {"alice@example.com@authentik"}, "groups": {"admin"}}), 200)
	must(t, e.login("alice"), 200)
	u := e.pveAPI("GET", "/access/users/alice@example.com@authentik", nil)
	must(t, u, 200)
	if gs := u.body["data"].(map[string]any)["groups"].([]any); len(gs) != 1 || gs[0] != "pve-admins-authentik" {
		t.Fatalf("groups %s", u.raw)
	}
	g := e.pveAPI("GET", "/access/groups/pve-admins-authentik", nil)
	must(t, g, 200)
	log := strings.Join(e.pve.Log(), "\n")
	if !strings.Contains(log, "openid group 'Team Blue' contains invalid characters") ||
		!strings.Contains(log, "groups created automatically from openid claim: pve-admins-authentik") {
		t.Fatalf("log %s", log)
	}
}

// akAtLeast compares an authentik version "YYYY.M.P" with year.minor.
func akAtLeast(v string, year, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	y, _ := strconv.Atoi(parts[0])
	m := 0
	if len(parts) > 1 {
		m, _ = strconv.Atoi(parts[1])
	}
	return y > year || y == year && m >= minor
}

// An encryption key on the authentik provider makes authentik send the ID
// token as a JWE; PVE cannot parse it, so every login fails at the token
// step (authentik-proxmox-guide.md §4, proxmox-openid-realm.md §4 and §7).
func TestOIDCEncryptedIDTokenFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2025.8.1", "8.4.14", true, "user_email")
	e.createRealm("subject")
	must(t, e.login("alice"), 200)
	p := e.akFirst("/providers/oauth2/?client_id=" + url.QueryEscape(e.clientID))
	key := e.akFirst("/crypto/certificatekeypairs/?name=" + url.QueryEscape("authentik Self-signed Certificate"))["pk"]
	must(t, e.akAPI("PATCH", fmt.Sprintf("/providers/oauth2/%v/", p["pk"]), map[string]any{"encryption_key": key}), 200)
	r := e.login("alice")
	must(t, r, 401)
	logs := e.pve.Log()
	if last := logs[len(logs)-1]; !strings.Contains(last, "msg=Failed to contact token endpoint: Failed to parse server response") {
		t.Fatalf("log %q", last)
	}
}
