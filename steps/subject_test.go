package steps_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/steps"
)

// loginAs completes an OpenID login through the login test link the way a
// browser would (the Authentik simulator treats the next authorization as
// made by user) and returns the userid Proxmox logs in.
func (e *env) loginAs(t *testing.T, authURL, user string) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.conn.AuthentikRoots}}
	browser := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer tr.CloseIdleConnections()
	e.ak.LoginHook(user)
	res, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: %d %v", res.StatusCode, err)
	}
	pveTr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.conn.ProxmoxRoots}}
	defer pveTr.CloseIdleConnections()
	form := url.Values{"code": {loc.Query().Get("code")}, "state": {loc.Query().Get("state")}, "redirect-url": {e.pve.URL()}}
	res, err = (&http.Client{Transport: pveTr, Timeout: 10 * time.Second}).Post(e.pve.URL()+"/api2/json/access/openid/login",
		"application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var out struct {
		Data struct {
			Username string `json:"username"`
		} `json:"data"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("openid login: %d %s", res.StatusCode, body)
	}
	return out.Data.Username
}

func (e *env) akUUID(t *testing.T, username string) string {
	t.Helper()
	for _, u := range e.ak.Users() {
		if u.Username == username {
			return u.UUID
		}
	}
	t.Fatalf("no authentik user %q", username)
	return ""
}

// With sub_mode user_uuid the engine predicts <uuid>@realm, creates that
// user in the group, and the login lands on exactly that user.
func TestSubjectModeUserUUID(t *testing.T) {
	e := newEnv(t, envOpts{})
	in := e.in
	in.SubjectMode = "user_uuid"
	in.Users = []string{"alice"}
	_, r := mustSetup(t, e, in)
	want := e.akUUID(t, "alice") + "@authentik"
	if len(r.Users) != 1 || r.Users[0] != want {
		t.Fatalf("users %v, want [%s]", r.Users, want)
	}
	assertFullState(t, e, in, []string{e.pve.URL()}, map[string][]string{want: {"admin"}})
	if got := e.loginAs(t, r.AuthURL, "alice"); got != want {
		t.Errorf("login as alice gives %q, pvesso predicted %q", got, want)
	}
}

// With sub_mode user_upn a user with a upn attribute gets <upn>@realm; a
// user without one would get the 64-character hashed id and is refused
// (before any write) naming the missing attribute.
func TestSubjectModeUserUPN(t *testing.T) {
	e := newEnv(t, envOpts{})
	if !e.ak.SetUserAttribute("alice", "upn", "alice.upn@corp.example") {
		t.Fatal("SetUserAttribute")
	}
	in := e.in
	in.SubjectMode = "user_upn"
	in.Users = []string{"alice", "bob"}
	_, err := e.engine(in).Plan(context.Background())
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, `"bob" has no upn attribute`) || strings.Contains(ce.Detail, `"alice"`) {
		t.Fatalf("bob without upn: %v", err)
	}
	if w := e.writes(); w != 0 {
		t.Fatalf("refused plan wrote %d times", w)
	}

	in.Users = []string{"alice"}
	_, r := mustSetup(t, e, in)
	const want = "alice.upn@corp.example@authentik"
	if len(r.Users) != 1 || r.Users[0] != want {
		t.Fatalf("users %v, want [%s]", r.Users, want)
	}
	assertFullState(t, e, in, []string{e.pve.URL()}, map[string][]string{want: {"admin"}})
	if got := e.loginAs(t, r.AuthURL, "alice"); got != want {
		t.Errorf("login as alice gives %q, pvesso predicted %q", got, want)
	}
}
