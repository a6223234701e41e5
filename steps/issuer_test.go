package steps_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/steps"
)

// slowDiscovery delays pvesso's own discovery requests, so that the
// auth-url of the same stage reaches Proxmox before the issuer check has
// corrected the realm.
type slowDiscovery struct{ base http.RoundTripper }

func (s slowDiscovery) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/.well-known/") {
		time.Sleep(300 * time.Millisecond)
	}
	return s.base.RoundTrip(r)
}

func (e *env) realmProp(realm, key string) string {
	for _, r := range e.pve.Realms() {
		if r.Realm == realm {
			return fmt.Sprint(r.Props[key])
		}
	}
	return ""
}

func (e *env) count(method, path string) int {
	n := 0
	for _, r := range append(e.ak.Kit().Requests(), e.pve.Kit().Requests()...) {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// TestIssuerStatedDiffersFromPredicted: authentik states its issuer under
// the public name "localhost" (a reverse proxy forwarding that Host), not
// under the address pvesso uses. The realm is written with the predicted
// issuer, the issuer check finds the stated one and corrects the realm, and
// auth-url (which failed on the predicted issuer in the same stage) is
// retried; the rerun keeps the stated issuer and writes nothing.
func TestIssuerStatedDiffersFromPredicted(t *testing.T) {
	e := newEnv(t, envOpts{})
	predicted := e.ak.URL() + "/application/o/proxmox/"
	public := strings.Replace(e.ak.URL(), "127.0.0.1:", "localhost:", 1)
	stated := public + "/application/o/proxmox/"
	if err := e.ak.SetIssuerBase(public); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := steps.Connect(ctx, e.conn)
	if err != nil {
		t.Fatal(err)
	}
	c.AuthentikHTTP = &http.Client{Transport: slowDiscovery{c.AuthentikHTTP.Transport}, Timeout: 10 * time.Second}
	eng := steps.New(c, e.in)
	p, err := eng.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.String(), "issuer-url: "+predicted) {
		t.Fatalf("a fresh plan predicts the issuer:\n%s", p)
	}
	r, err := eng.Apply(ctx, p, steps.ApplyOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, p)
	}
	if got := e.realmProp("authentik", "issuer-url"); got != stated {
		t.Errorf("realm issuer-url %q, want the stated %q", got, stated)
	}
	if r.IssuerURL != stated || r.AuthURL == "" {
		t.Errorf("result issuer %q, auth url %q", r.IssuerURL, r.AuthURL)
	}
	if n := e.count("POST", "/api2/json/access/openid/auth-url"); n != 2 {
		t.Errorf("auth-url sent %d times, want 2 (failed on the predicted issuer, retried after the correction)", n)
	}
	if r.Writes != e.writes() {
		t.Errorf("result counts %d writes, the simulators saw %d", r.Writes, e.writes())
	}

	e.resetLogs()
	p2, r2, err := e.setup(e.in, steps.ApplyOptions{})
	if err != nil || !p2.OK() || r2.Writes != 0 || e.writes() != 0 {
		t.Fatalf("rerun: %v, %d writes\n%s", err, e.writes(), p2)
	}
	if s := p2.String(); !strings.Contains(s, "not the predicted") || !strings.Contains(s, "verified") {
		t.Errorf("the rerun's plan does not say where the issuer comes from:\n%s", s)
	}
}

// TestHTTPIssuerIsAProblem: behind a proxy authentik does not trust, it
// states an http:// issuer. pvesso never writes it into the realm; the
// setup fails naming the fix, and afterwards status and a rerun report the
// problem (not OK, exit 1 in the CLI) while writing nothing.
func TestHTTPIssuerIsAProblem(t *testing.T) {
	e := newEnv(t, envOpts{})
	predicted := e.ak.URL() + "/application/o/proxmox/"
	// TLS ends at a proxy whose X-Forwarded-Proto authentik does not trust
	if err := e.ak.SetIssuerBase(strings.Replace(e.ak.URL(), "https://", "http://", 1)); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.setup(e.in, steps.ApplyOptions{})
	var se *steps.StepError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS") {
		t.Fatalf("want the issuer step to fail naming the fix, got %v", err)
	}
	if got := e.realmProp("authentik", "issuer-url"); got != predicted {
		t.Errorf("realm issuer-url %q, want the https %q", got, predicted)
	}

	e.resetLogs()
	eng := e.engine(e.in)
	st, err := eng.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.HasChanges() || st.OK() || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "http://") {
		t.Fatalf("status must report the problem:\n%s", st)
	}
	if s := st.String(); !strings.Contains(s, "problem: issuer check") || strings.Contains(s, "nothing to do") {
		t.Errorf("plan text:\n%s", s)
	}
	_, err = eng.Apply(context.Background(), st, steps.ApplyOptions{})
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "TRUSTED_PROXY_CIDRS") {
		t.Errorf("applying a plan with a problem and nothing to change: %v", err)
	}
	if e.writes() != 0 {
		t.Errorf("wrote %d times", e.writes())
	}

	if err := e.ak.SetIssuerBase(""); err != nil { // the proxy is trusted now
		t.Fatal(err)
	}
	st, err = e.engine(e.in).Status(context.Background())
	if err != nil || !st.OK() {
		t.Errorf("after the proxy fix: %v\n%s", err, st)
	}
}

// TestNodeThatDoesNotTrustTheIssuer: everything is written, but Proxmox
// itself cannot fetch the discovery document (authentik's CA is not in the
// node's trust store): the login-test step fails naming the fix, and once
// the node trusts the CA the next run only repeats auth-url.
func TestNodeThatDoesNotTrustTheIssuer(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.pve.SetOIDCRoots(nil)
	var failed []steps.Event
	_, r, err := e.setup(e.in, steps.ApplyOptions{OnEvent: func(ev steps.Event) {
		if ev.Phase == steps.PhaseFail {
			failed = append(failed, ev)
		}
	}})
	var ce *steps.CheckError
	if !errors.As(err, &ce) || ce.Step != steps.StepLoginTest || !strings.Contains(ce.Fix, "update-ca-certificates") {
		t.Fatalf("want the login test to fail naming the CA fix, got %v", err)
	}
	if len(failed) != 1 || failed[0].Step != steps.StepLoginTest || r.AuthURL != "" {
		t.Errorf("failed events %+v, auth url %q", failed, r.AuthURL)
	}
	assertFullState(t, e, e.in, []string{e.pve.URL()}, nil)

	e.pve.SetOIDCRoots(e.ak.CertPool())
	e.resetLogs()
	p, r, err := e.setup(e.in, steps.ApplyOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, p)
	}
	// nothing is missing, so the rerun has nothing to write and sends no
	// auth-url; the login link is asked for separately
	if !p.OK() || e.writes() != 0 || r.AuthURL != "" {
		t.Errorf("rerun: writes %d, auth url %q\n%s", e.writes(), r.AuthURL, p)
	}
	u, err := e.engine(e.in).LoginURL(context.Background())
	if err != nil || !strings.Contains(u, "/application/o/authorize/") {
		t.Errorf("login url %q: %v", u, err)
	}
}
