package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	aksim "github.com/pvesso/pvesso/authentik/sim"
	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/proxmox"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
	"github.com/pvesso/pvesso/steps"
)

// find returns the first element of list that match accepts; none fails
// the test naming what is missing, so a check on it cannot pass by absence.
func find[T any](t testing.TB, what string, list []T, match func(T) bool) T {
	t.Helper()
	if i := slices.IndexFunc(list, match); i >= 0 {
		return list[i]
	}
	t.Fatalf("%s missing from %+v", what, list)
	var zero T
	return zero
}

func simRealm(t *testing.T, e *env, name string) pvesim.RealmSnapshot {
	t.Helper()
	return find(t, "realm "+name, e.pve.Realms(), func(r pvesim.RealmSnapshot) bool { return r.Realm == name })
}

func simUser(t *testing.T, e *env, userid string) pvesim.UserSnapshot {
	t.Helper()
	return find(t, "user "+userid, e.pve.Users(), func(u pvesim.UserSnapshot) bool { return u.UserID == userid })
}

// clients returns raw clients (for arranging state the way an admin would).
func (e *env) clients() (*authentik.Client, *proxmox.Client) {
	e.t.Helper()
	c, err := steps.Connect(context.Background(), e.conn)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Authentik.(*authentik.Client), c.Proxmox.(*proxmox.Client)
}

func (e *env) keyPK(name string) string {
	e.t.Helper()
	return find(e.t, "key pair "+name, e.ak.KeyPairs(), func(k aksim.KeyPairSnapshot) bool { return k.Name == name }).PK
}

func (e *env) flowPK(slug string) string {
	e.t.Helper()
	return find(e.t, "flow "+slug, e.ak.Flows(), func(f aksim.FlowSnapshot) bool { return f.Slug == slug }).PK
}

func (e *env) scopePKs(managed ...string) []string {
	var out []string
	for _, m := range e.ak.ScopeMappings() {
		if slices.Contains(managed, m.Managed) {
			out = append(out, m.PK)
		}
	}
	slices.Sort(out)
	return out
}

// assertFullState checks both servers against the expected end state of a
// setup with in, and returns the provider.
func assertFullState(t *testing.T, e *env, in steps.Inputs, wantRedirects []string, wantUsers map[string][]string) aksim.ProviderSnapshot {
	t.Helper()
	provs := e.ak.Providers()
	if len(provs) != 1 {
		t.Fatalf("want exactly one provider, got %d", len(provs))
	}
	p := provs[0]
	name := in.ProviderName
	if name == "" {
		name = in.AppName
	}
	if p.Name != name || p.ClientType != "confidential" || p.SubMode != in.SubjectMode || p.EncryptionKey != "" ||
		p.IssuerMode != "per_provider" || !p.IncludeClaimsInIDToken || p.ApplicationSlug != in.AppSlug {
		t.Errorf("provider settings: %+v", p)
	}
	if len(p.ClientID) != 40 || len(p.ClientSecret) != 128 {
		t.Errorf("client id/secret lengths %d/%d", len(p.ClientID), len(p.ClientSecret))
	}
	var got []string
	for _, r := range p.RedirectURIs {
		if p.RedirectURIsRaw != "" && r.MatchingMode == "regex" {
			// before 2024.8.5 every line is a regular expression: the
			// client registers the literal, escaped
			if u := strings.ReplaceAll(r.URL, `\.`, "."); regexp.QuoteMeta(u) == r.URL {
				got = append(got, u)
				continue
			}
		}
		if r.MatchingMode != "strict" {
			t.Errorf("redirect %s is %s, want strict", r.URL, r.MatchingMode)
		}
		got = append(got, r.URL)
	}
	if !slices.Equal(got, wantRedirects) {
		t.Errorf("redirect URIs %v, want %v", got, wantRedirects)
	}
	if want := e.keyPK(aksim.SelfSignedCertName); in.SigningKey == "" && p.SigningKey != want {
		t.Errorf("signing key %s, want the RSA self-signed %s", p.SigningKey, want)
	}
	pm := slices.Clone(p.PropertyMappings)
	slices.Sort(pm)
	if want := e.scopePKs(aksim.ManagedScopeOpenID, aksim.ManagedScopeEmail, aksim.ManagedScopeProfile); !slices.Equal(pm, want) {
		t.Errorf("property mappings %v, want %v", pm, want)
	}
	if p.AuthorizationFlow != e.flowPK("default-provider-authorization-implicit-consent") {
		t.Errorf("authorization flow %s", p.AuthorizationFlow)
	}
	// the invalidation flow exists from 2024.10 on
	if slices.ContainsFunc(e.ak.Flows(), func(f aksim.FlowSnapshot) bool { return f.Slug == "default-provider-invalidation-flow" }) {
		if inv := e.flowPK("default-provider-invalidation-flow"); p.InvalidationFlow != inv {
			t.Errorf("invalidation flow %s, want default-provider-invalidation-flow %s", p.InvalidationFlow, inv)
		}
	}
	apps := e.ak.Applications()
	if len(apps) != 1 || apps[0].Slug != in.AppSlug || apps[0].Provider == nil || *apps[0].Provider != p.PK || apps[0].MetaLaunchURL != strings.TrimRight(in.ProxmoxURL, "/") {
		t.Errorf("applications: %+v", apps)
	}
	var realm *struct{ props map[string]any }
	for _, r := range e.pve.Realms() {
		if r.Realm == in.Realm {
			if r.Type != "openid" {
				t.Errorf("realm type %s", r.Type)
			}
			realm = &struct{ props map[string]any }{r.Props}
		}
	}
	if realm == nil {
		t.Fatalf("realm %s missing: %+v", in.Realm, e.pve.Realms())
	}
	str := func(k string) string { return fmt.Sprint(realm.props[k]) }
	if str("issuer-url") != e.ak.URL()+"/application/o/"+in.AppSlug+"/" || str("client-id") != p.ClientID || str("client-key") != p.ClientSecret ||
		str("username-claim") != in.UsernameClaim || str("autocreate") != "1" || str("scopes") != "openid email profile" ||
		!strings.Contains(str("comment"), steps.ManagedMarker) {
		t.Errorf("realm props: issuer %s client-id ok=%v key ok=%v claim %s autocreate %s scopes %s comment %s",
			str("issuer-url"), str("client-id") == p.ClientID, str("client-key") == p.ClientSecret, str("username-claim"), str("autocreate"), str("scopes"), str("comment"))
	}
	groups := e.pve.Groups()
	var members []string
	found := false
	for _, g := range groups {
		if g.GroupID == in.Group {
			found, members = true, g.Members
		}
	}
	if !found {
		t.Errorf("group %s missing", in.Group)
	}
	acl := 0
	for _, a := range e.pve.ACL() {
		if a.Path == in.ACLPath && a.Type == "group" && a.UGID == in.Group && a.RoleID == in.Role {
			acl++
			if !a.Propagate {
				t.Error("ACL must propagate")
			}
		}
	}
	if acl != 1 {
		t.Errorf("want one ACL entry, got %d: %+v", acl, e.pve.ACL())
	}
	for uid, groups := range wantUsers {
		if !slices.Contains(members, uid) {
			t.Errorf("%s not in %s: %v", uid, in.Group, members)
		}
		u := simUser(t, e, uid)
		for _, g := range groups {
			if !slices.Contains(u.Groups, g) {
				t.Errorf("%s lost group %s: %v", uid, g, u.Groups)
			}
		}
	}
	return p
}

func TestFreshSetupReachesFullStateAndRerunIsNoop(t *testing.T) {
	e := newEnv(t, envOpts{})
	in := e.in
	in.Users = []string{"alice", "bob@example.com"}
	var events []steps.Event
	p, r, err := e.setup(in, steps.ApplyOptions{OnEvent: func(ev steps.Event) { events = append(events, ev) }})
	if err != nil {
		t.Fatalf("%v\n%s", err, p)
	}
	for _, it := range p.Items {
		if it.Action == steps.ActionConflict || it.Action == steps.ActionUpdate || it.Action == steps.ActionDelete {
			t.Errorf("fresh plan has %s %s %s", it.Action, it.Kind, it.Name)
		}
	}
	prov := assertFullState(t, e, in, []string{e.pve.URL()},
		map[string][]string{"alice@example.com@authentik": {"admin"}, "bob@example.com@authentik": {"admin"}})
	if r.ClientID != prov.ClientID || r.Realm != "authentik" || r.IssuerURL != e.ak.URL()+"/application/o/proxmox/" {
		t.Errorf("result %+v", r)
	}
	if !strings.Contains(r.AuthURL, "client_id="+prov.ClientID) || !strings.Contains(r.AuthURL, "redirect_uri=") {
		t.Errorf("auth url %q", r.AuthURL)
	}
	if r.Writes != e.writes() {
		t.Errorf("result counts %d writes, the simulators saw %d", r.Writes, e.writes())
	}
	if !slices.Equal(r.Users, []string{"alice@example.com@authentik", "bob@example.com@authentik"}) {
		t.Errorf("users %v", r.Users)
	}
	// every step reported, no failure
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Phase == steps.PhaseFail {
			t.Errorf("event %+v", ev)
		}
		seen[ev.Step] = true
	}
	for _, id := range steps.StepOrder {
		if !seen[id] {
			t.Errorf("no event for step %s", id)
		}
	}

	// rerun: nothing to do, zero writes
	e.resetLogs()
	p2, r2, err := e.setup(in, steps.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p2.HasChanges() || !strings.Contains(p2.String(), "nothing to do") {
		t.Errorf("rerun plan has changes:\n%s", p2)
	}
	if r2.Writes != 0 || e.writes() != 0 {
		t.Errorf("rerun wrote: result %d, simulators %d", r2.Writes, e.writes())
	}
	if r2.ClientID != prov.ClientID {
		t.Error("rerun must find the same client id")
	}
	eng := e.engine(in)
	st, err := eng.Status(context.Background())
	if err != nil || st.HasChanges() {
		t.Errorf("status after setup: %v\n%s", err, st)
	}
	if f := eng.Facts(); !f.ProviderExists || f.ProviderPK != prov.PK || f.ClientID != prov.ClientID || !f.ApplicationExists || !f.RealmExists || !f.RealmManaged || !f.GroupExists || !f.ACLExists || !f.IssuerVerified {
		t.Errorf("facts after setup: %+v", f)
	}
	if e.writes() != 0 {
		t.Errorf("status wrote %d times", e.writes())
	}
}

func TestPreflightReportsEverything(t *testing.T) {
	e := newEnv(t, envOpts{})
	in := e.in
	in.Users = []string{"alice"}
	eng := e.engine(in)
	rep, err := eng.Preflight(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("%v %+v", err, rep)
	}
	ids := map[string]bool{}
	for _, c := range rep.Checks {
		ids[c.ID] = true
	}
	for _, id := range []string{"authentik-connect", "authentik-rights", "proxmox-connect", "proxmox-rights", "signing-key", "authentik-flows", "authentik-scopes", "userid-length", "users"} {
		if !ids[id] {
			t.Errorf("check %s missing: %+v", id, rep.Checks)
		}
	}
	f := eng.Facts()
	if f.AuthentikVersion != "2025.8.1" || !strings.HasPrefix(f.ProxmoxVersion, "8.4") || f.SigningKey != aksim.SelfSignedCertName {
		t.Errorf("facts %+v", f)
	}
	var ec *steps.KeyPairFact
	for i := range f.KeyPairs {
		if f.KeyPairs[i].Name == aksim.DemoECCertName {
			ec = &f.KeyPairs[i]
		}
	}
	if ec == nil || ec.Eligible || !strings.Contains(ec.Reason, "RS256") {
		t.Errorf("EC key fact %+v", ec)
	}
	if len(f.Users) != 1 || f.Users[0].UserID != "alice@example.com@authentik" || f.Users[0].Exists {
		t.Errorf("users %+v", f.Users)
	}
	// Plan right after Preflight reuses its reads
	before := len(e.ak.Kit().Requests()) + len(e.pve.Kit().Requests())
	if _, err := eng.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := len(e.ak.Kit().Requests()) + len(e.pve.Kit().Requests()); after != before {
		t.Errorf("Plan after Preflight sent %d more requests", after-before)
	}
	if e.writes() != 0 {
		t.Error("preflight and plan must not write")
	}
}

func TestSigningKeyChoice(t *testing.T) {
	e := newEnv(t, envOpts{})
	for name, want := range map[string]string{
		aksim.DemoECCertName: "RS256",
		aksim.DemoCACertName: "private key",
		"no such key":        "no key pair named",
	} {
		in := e.in
		in.SigningKey = name
		_, err := e.engine(in).Plan(context.Background())
		var ce *steps.CheckError
		if !errors.As(err, &ce) || !strings.Contains(ce.Detail, want) || !strings.Contains(ce.Fix, "--signing-key") {
			t.Errorf("%s: %v", name, err)
		}
	}
	in := e.in
	in.SigningKey = aksim.SelfSignedCertName
	if _, _, err := e.setup(in, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if e.writes() == 0 {
		t.Error("nothing written")
	}
}

func TestUseridGuardRefusesHashedSubject(t *testing.T) {
	e := newEnv(t, envOpts{})
	in := e.in
	in.SubjectMode = "hashed_user_id"
	_, err := e.engine(in).Plan(context.Background())
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "64") || !strings.Contains(ce.Fix, "--subject-mode") {
		t.Fatalf("%v", err)
	}
	if e.writes() != 0 {
		t.Error("wrote")
	}
	in.UsernameClaim = "username"
	in.Users = []string{"alice"}
	if _, _, err := e.setup(in, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	assertFullState(t, e, in, []string{e.pve.URL()}, map[string][]string{"alice@authentik": {"admin"}})
}

func TestVersionsFreshAndRerun(t *testing.T) {
	for _, v := range []struct{ ak, pve string }{{"2024.8.4", "8.0.4"}, {"2024.12.3", "8.4.14"}, {"2026.8.3", "9.2.0"}} {
		t.Run(v.ak+"_"+v.pve, func(t *testing.T) {
			e := newEnv(t, envOpts{akVersion: v.ak, pveVersion: v.pve})
			in := e.in
			in.Users = []string{"alice"}
			mustSetup(t, e, in)
			p := assertFullState(t, e, in, []string{e.pve.URL()}, map[string][]string{"alice@example.com@authentik": {"admin"}})
			if v.ak == "2026.8.3" && !slices.Equal(p.GrantTypes, []string{"authorization_code"}) {
				t.Errorf("grant types %v", p.GrantTypes)
			}
			e.resetLogs()
			p2, r2, err := e.setup(in, steps.ApplyOptions{})
			if err != nil || p2.HasChanges() || r2.Writes != 0 || e.writes() != 0 {
				t.Errorf("rerun: %v writes %d\n%s", err, e.writes(), p2)
			}
		})
	}
}

func TestEventsAreDeterministic(t *testing.T) {
	run := func() []string {
		e := newEnv(t, envOpts{})
		in := e.in
		in.Users = []string{"alice", "bob"}
		var seq []string
		if _, _, err := e.setup(in, steps.ApplyOptions{OnEvent: func(ev steps.Event) { seq = append(seq, ev.Step+":"+string(ev.Phase)) }}); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	a := run()
	for i := 0; i < 3; i++ {
		if b := run(); !slices.Equal(a, b) {
			t.Fatalf("event order differs:\n%v\n%v", a, b)
		}
	}
}

func TestPlanJSON(t *testing.T) {
	e := newEnv(t, envOpts{})
	p, err := e.engine(e.in).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Items []struct {
			Kind, Action string
			Changes      []struct{ Field, New string }
		}
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Items) < 8 {
		t.Fatalf("%v %s", err, b)
	}
	if !strings.Contains(string(b), `"kind":"realm"`) || !strings.Contains(string(b), `"action":"create"`) {
		t.Errorf("json: %s", b)
	}
}

func TestGenerateKeyWhenNoneQualifies(t *testing.T) {
	e := newEnv(t, envOpts{})
	// two years on, the stock self-signed certificate (365 days) has
	// expired; the EC key and the key-less CA never qualified
	later := steps.WithClock(func() time.Time { return time.Now().Add(2 * 365 * 24 * time.Hour) })
	in := e.in
	_, err := e.engine(in, later).Plan(context.Background())
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "expired") || !strings.Contains(ce.Detail, "RS256") || !strings.Contains(ce.Fix, "generate") {
		t.Fatalf("%v", err)
	}
	if e.writes() != 0 {
		t.Fatal("wrote")
	}
	in.GenerateKey = true
	in.DefaultRealm = true
	// the generation fails once: the next run generates again
	e.ak.Kit().InjectFault(simkit.Fault{Method: "POST", Path: "/api/v3/crypto/certificatekeypairs/generate/", Kind: simkit.FaultStatus, Status: 500, Body: `{"detail":"injected"}`})
	if _, _, err := e.setup(in, steps.ApplyOptions{}, later); err == nil {
		t.Fatal("fault not surfaced")
	}
	if len(e.ak.Providers()) != 0 {
		t.Fatal("the provider must wait for its key")
	}
	p, _, err := e.setup(in, steps.ApplyOptions{}, later)
	if err != nil {
		t.Fatalf("%v\n%s", err, p)
	}
	if !strings.Contains(p.String(), "pvesso-proxmox-rs256") {
		t.Errorf("plan:\n%s", p)
	}
	prov := e.ak.Providers()[0]
	if prov.SigningKey != e.keyPK("pvesso-proxmox-rs256") {
		t.Errorf("signing key %s", prov.SigningKey)
	}
	if r := simRealm(t, e, "authentik"); fmt.Sprint(r.Props["default"]) != "1" {
		t.Errorf("--default-realm not set: %v", r.Props["default"])
	}
	e.resetLogs()
	p2, _, err := e.setup(in, steps.ApplyOptions{}, later)
	if err != nil || p2.HasChanges() || e.writes() != 0 {
		t.Errorf("rerun: %v %d\n%s", err, e.writes(), p2)
	}
	n := 0
	for _, k := range e.ak.KeyPairs() {
		if k.Name == "pvesso-proxmox-rs256" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d generated keys", n)
	}
}

func TestStatusShowsDrift(t *testing.T) {
	e := newEnv(t, envOpts{})
	mustSetup(t, e, e.in)
	_, pve := e.clients()
	scopes, key := "email profile", "stale-client-key-0123456789"
	if err := pve.UpdateRealm(context.Background(), "authentik", proxmox.RealmUpdate{Scopes: &scopes, ClientKey: &key}); err != nil {
		t.Fatal(err)
	}
	e.resetLogs()
	st, err := e.engine(e.in).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.HasChanges() || !strings.Contains(st.String(), "scopes: email profile -> openid email profile") {
		t.Errorf("status:\n%s", st)
	}
	// PVE returns client-key (the simulator follows proxmox-api.md §4), so
	// a stale key is seen; its value is never shown
	if !strings.Contains(st.String(), "client-key: (secret) -> (secret)") || strings.Contains(st.String(), key) {
		t.Errorf("client-key drift:\n%s", st)
	}
	if len(st.Conflicts()) != 0 {
		t.Error("drift of a managed realm is an update, not a conflict")
	}
	if e.writes() != 0 {
		t.Error("status wrote")
	}
	// the next setup repairs it and nothing else
	_, r, err := e.setup(e.in, steps.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Writes != 2 { // PUT realm + auth-url
		t.Errorf("repair wrote %d times", r.Writes)
	}
	if st, _ := e.engine(e.in).Status(context.Background()); st.HasChanges() {
		t.Errorf("still drifted:\n%s", st)
	}
	if rl := simRealm(t, e, "authentik"); rl.Props["client-key"] != e.ak.Providers()[0].ClientSecret {
		t.Error("client-key not repaired")
	}
}

func TestSecretSourceIsUsedForClientIDAndSecret(t *testing.T) {
	e := newEnv(t, envOpts{})
	seq := make([]byte, 62*20)
	for i := range seq {
		seq[i] = byte(i % 62)
	}
	_, r, err := e.setup(e.in, steps.ApplyOptions{}, steps.WithSecretSource(bytes.NewReader(seq)))
	if err != nil {
		t.Fatal(err)
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if r.ClientID != alnum[:40] {
		t.Errorf("client id %q", r.ClientID)
	}
	p := e.ak.Providers()[0]
	// randomness is read in 64-byte blocks: the secret starts at byte 64 (64 mod 62 = 2)
	if p.ClientID != r.ClientID || !strings.HasPrefix(p.ClientSecret, alnum[2:14]) {
		t.Errorf("provider id %q secret prefix %.12q", p.ClientID, p.ClientSecret)
	}
}
