package steps_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/proxmox"
	"github.com/pvesso/pvesso/steps"
)

// secretScanner collects everything pvesso prints or returns and checks
// that no secret appears in it.
type secretScanner struct {
	texts []string
}

func (s *secretScanner) add(v ...any) {
	for _, x := range v {
		switch y := x.(type) {
		case nil:
		case error:
			s.texts = append(s.texts, y.Error(), fmt.Sprintf("%+v", y))
		case string:
			s.texts = append(s.texts, y)
		default:
			b, _ := json.Marshal(y)
			s.texts = append(s.texts, string(b), fmt.Sprintf("%+v", y))
		}
	}
}

func (s *secretScanner) onEvent(ev steps.Event) { s.add(ev, ev.Message, ev.Err) }

func (s *secretScanner) check(t *testing.T, secrets ...string) {
	t.Helper()
	if len(s.texts) == 0 {
		t.Fatal("secret scan: nothing was collected to scan")
	}
	for _, sec := range secrets {
		if len(sec) < 8 {
			// a short or empty secret would match by chance or not at
			// all: the scan would prove nothing
			t.Fatalf("secret scan: secret of %d chars is too short to look for", len(sec))
		}
		for _, txt := range s.texts {
			if strings.Contains(txt, sec) {
				t.Fatalf("secret %.6s... leaked in %q", sec, txt)
			}
		}
	}
}

func tokenSecret(spec string) string { _, s, _ := strings.Cut(spec, "="); return s }

func TestFaultAtEachWriteLeavesResumableState(t *testing.T) {
	writes := []struct{ side, method, path string }{
		{"authentik", "POST", "/api/v3/providers/oauth2/"},
		{"authentik", "POST", "/api/v3/core/applications/"},
		{"proxmox", "POST", "/api2/json/access/domains"},
		{"proxmox", "POST", "/api2/json/access/groups"},
		{"proxmox", "PUT", "/api2/json/access/acl"},
		{"proxmox", "POST", "/api2/json/access/users"},
		{"proxmox", "PUT", "/api2/json/access/users/"},
		{"proxmox", "POST", "/api2/json/access/openid/auth-url"},
	}
	kinds := []struct {
		name string
		f    simkit.Fault
	}{
		{"500", simkit.Fault{Kind: simkit.FaultStatus, Status: 500, Body: `{"data":null,"message":"injected"}`}},
		{"reset", simkit.Fault{Kind: simkit.FaultReset}},
		{"hang", simkit.Fault{Kind: simkit.FaultHang}},
	}
	for _, w := range writes {
		for _, k := range kinds {
			t.Run(w.method+w.path+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				o := envOpts{}
				if k.name == "hang" {
					// short enough to keep the suite fast, long enough for
					// TLS handshakes under -race on a busy 2-core runner
					o.timeout = 1500 * time.Millisecond
				}
				e := newEnv(t, o)
				_, pve := e.clients()
				ctx := context.Background()
				// bob already exists with another group: his membership is a PUT append
				if err := pve.CreateGroup(ctx, "ops", ""); err != nil {
					t.Fatal(err)
				}
				if err := pve.CreateUser(ctx, proxmox.UserCreate{UserID: "bob@example.com@authentik", Groups: []string{"ops"}}); err != nil {
					t.Fatal(err)
				}
				f := k.f
				f.Method, f.Path = w.method, w.path
				kit := e.pve.Kit()
				if w.side == "authentik" {
					kit = e.ak.Kit()
				}
				kit.InjectFault(f)
				in := e.in
				in.Users = []string{"alice", "bob"}
				var sc secretScanner
				p, r, err := e.setup(in, steps.ApplyOptions{OnEvent: sc.onEvent})
				sc.add(p, r, err)
				if err == nil {
					t.Fatalf("the injected fault did not surface")
				}
				var se *steps.StepError
				if !errors.As(err, &se) {
					t.Errorf("want a *StepError, got %T %v", err, err)
				}
				if kit.PendingFaults() != 0 {
					t.Fatal("fault did not fire")
				}
				// the next run completes the job
				p2, r2, err := e.setup(in, steps.ApplyOptions{OnEvent: sc.onEvent})
				sc.add(p2, r2, err)
				if err != nil {
					t.Fatalf("second run: %v\n%s", err, p2)
				}
				for _, it := range p2.Items {
					if it.Action == steps.ActionConflict {
						t.Errorf("the resumed run sees a conflict: %+v", it)
					}
				}
				prov := assertFullState(t, e, in, []string{e.pve.URL()},
					map[string][]string{"alice@example.com@authentik": {"admin"}, "bob@example.com@authentik": {"admin", "ops"}})
				if r2.AuthURL == "" && w.path != "/api2/json/access/openid/auth-url" {
					t.Error("no login link")
				}
				// and a third run has nothing to do
				e.resetLogs()
				p3, _, err := e.setup(in, steps.ApplyOptions{})
				if err != nil || p3.HasChanges() || e.writes() != 0 {
					t.Errorf("third run: %v, %d writes\n%s", err, e.writes(), p3)
				}
				sc.check(t, prov.ClientSecret, e.ak.AdminToken(), tokenSecret(e.pve.RootToken()))
			})
		}
	}
}

func TestConflictsNeedConsent(t *testing.T) {
	e := newEnv(t, envOpts{})
	ak, pve := e.clients()
	ctx := context.Background()
	// the seed's manual setup, half done: a provider created through the
	// API with authentik's defaults (hashed ids, no scopes) and a realm
	// typed in by hand
	flow, err := ak.FlowBySlug(ctx, authentik.FlowImplicitConsent)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ak.FlowBySlug(ctx, authentik.FlowProviderInvalidation)
	if err != nil {
		t.Fatal(err)
	}
	manual, err := ak.CreateOAuth2Provider(ctx, authentik.OAuth2ProviderRequest{Name: "Proxmox VE", AuthorizationFlow: flow.PK, InvalidationFlow: inv.PK,
		ClientType: "confidential", SubMode: "hashed_user_id",
		RedirectURIs: []authentik.RedirectURI{{MatchingMode: "regex", URL: "https://pmx.example:8006.*"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pve.CreateRealm(ctx, proxmox.RealmCreate{Realm: "authentik", IssuerURL: "https://auth.example/application/o/proxmox/", ClientID: "handmade",
		ClientKey: "handmade-secret-123", UsernameClaim: "subject", Comment: "typed by hand"}); err != nil {
		t.Fatal(err)
	}
	e.resetLogs()
	in := e.in
	eng := e.engine(in)
	p, err := eng.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conf := p.Conflicts()
	kinds := map[string]steps.Item{}
	for _, c := range conf {
		kinds[c.Kind] = c
	}
	if _, ok := kinds["provider"]; !ok {
		t.Fatalf("provider conflict missing:\n%s", p)
	}
	if _, ok := kinds["realm"]; !ok {
		t.Fatalf("realm conflict missing:\n%s", p)
	}
	fields := map[string]steps.Change{}
	for _, c := range kinds["provider"].Changes {
		fields[c.Field] = c
	}
	if c := fields["sub_mode"]; c.Old != "hashed_user_id" || c.New != "user_email" {
		t.Errorf("sub_mode diff %+v\n%s", c, p)
	}
	if _, ok := fields["property_mappings"]; !ok {
		t.Errorf("property mappings diff missing\n%s", p)
	}
	if !strings.Contains(p.String(), "CONFLICT") || !strings.Contains(p.String(), "sub_mode: hashed_user_id -> user_email") {
		t.Errorf("plan text:\n%s", p)
	}
	_, err = eng.Apply(ctx, p, steps.ApplyOptions{})
	var ce *steps.ConflictError
	if !errors.As(err, &ce) || len(ce.Items) < 2 {
		t.Fatalf("want ConflictError, got %v", err)
	}
	if e.writes() != 0 {
		t.Fatalf("refused conflicts still wrote %d times", e.writes())
	}
	// with consent: adopted, keeping the manual provider's identity
	_, r, err := e.setup(in, steps.ApplyOptions{AllowConflicts: true})
	if err != nil {
		t.Fatal(err)
	}
	provs := e.ak.Providers()
	if len(provs) != 1 || provs[0].PK != manual.PK || provs[0].ClientID != manual.ClientID {
		t.Fatalf("the existing provider must be adopted, not duplicated: %+v", provs)
	}
	if r.ClientID != manual.ClientID {
		t.Errorf("result client id %s", r.ClientID)
	}
	// the regex entry of the manual setup is kept and reported
	got := []string{}
	for _, u := range provs[0].RedirectURIs {
		got = append(got, u.URL)
	}
	if !slices.Contains(got, e.pve.URL()) || !slices.Contains(got, "https://pmx.example:8006.*") {
		t.Errorf("redirects %v", got)
	}
	if rl := simRealm(t, e, "authentik"); rl.Props["client-id"] != manual.ClientID || rl.Props["client-key"] != manual.ClientSecret {
		t.Errorf("realm not pointed at the provider: %v", rl.Props["client-id"])
	}
	e.resetLogs()
	p2, _, err := e.setup(in, steps.ApplyOptions{})
	if err != nil || p2.HasChanges() || e.writes() != 0 {
		t.Errorf("after adoption: %v %d\n%s", err, e.writes(), p2)
	}
	if !strings.Contains(strings.Join(p2.Notes, "\n"), "https://pmx.example:8006.*") {
		t.Errorf("departed redirect not reported: %v", p2.Notes)
	}
}

func TestUnfixableConflictsAreRefusedEvenWithConsent(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, pve := e.clients()
	ctx := context.Background()
	if err := pve.CreateRealm(ctx, proxmox.RealmCreate{Realm: "authentik", IssuerURL: "https://x/", ClientID: "x", UsernameClaim: "email", Comment: "hand"}); err != nil {
		t.Fatal(err)
	}
	e.resetLogs()
	_, _, err := e.setup(e.in, steps.ApplyOptions{AllowConflicts: true})
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "username-claim") {
		t.Fatalf("%v", err)
	}
	if e.writes() != 0 {
		t.Errorf("wrote %d", e.writes())
	}
}

func TestAddUsersPreservesOtherGroups(t *testing.T) {
	e := newEnv(t, envOpts{})
	mustSetup(t, e, e.in)
	_, pve := e.clients()
	ctx := context.Background()
	for _, g := range []string{"ops", "audit"} {
		if err := pve.CreateGroup(ctx, g, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := pve.CreateUser(ctx, proxmox.UserCreate{UserID: "bob@example.com@authentik", Groups: []string{"ops", "audit"}}); err != nil {
		t.Fatal(err)
	}
	e.resetLogs()
	var sc secretScanner
	r, err := e.engine(e.in).AddUsers(ctx, []string{"bob", "alice"}, steps.ApplyOptions{OnEvent: sc.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Users, []string{"alice@example.com@authentik", "bob@example.com@authentik"}) || r.Writes != 2 || e.writes() != 2 {
		t.Errorf("result %+v, writes %d", r, e.writes())
	}
	if u := simUser(t, e, "bob@example.com@authentik"); !slices.Equal(slices.Sorted(slices.Values(u.Groups)), []string{"admin", "audit", "ops"}) {
		t.Errorf("bob's groups %v", u.Groups)
	}
	e.resetLogs()
	r2, err := e.engine(e.in).AddUsers(ctx, []string{"bob", "alice"}, steps.ApplyOptions{})
	if err != nil || r2.Writes != 0 || e.writes() != 0 {
		t.Errorf("second add: %v %+v %d", err, r2, e.writes())
	}
	// unknown user: refused before writing
	_, err = e.engine(e.in).AddUsers(ctx, []string{"mallory"}, steps.ApplyOptions{})
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "mallory") || !strings.Contains(ce.Fix, "--user") {
		t.Errorf("unknown user: %v", err)
	}
	users, err := e.engine(e.in).RealmUsers(ctx)
	if err != nil || !slices.Equal(users, []string{"alice@example.com@authentik", "bob@example.com@authentik"}) {
		t.Errorf("realm users %v %v", users, err)
	}
	if e.writes() != 0 {
		t.Error("wrote")
	}
}

func TestBadCredentialsRightsAndTLSWriteNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	limitedPVE := e.pve.CreateToken("auditor@pve", "audit", true)
	nonAdminAK := e.ak.CreateToken("alice")
	cases := []struct {
		name     string
		mut      func(*steps.Conn)
		detail   string
		fix      string
		wantCert bool
	}{
		{"bad authentik token", func(c *steps.Conn) { c.AuthentikToken = "not-a-valid-token-0123456789" }, "", "AUTHENTIK_TOKEN", false},
		{"bad proxmox token", func(c *steps.Conn) { c.ProxmoxToken = "root@pam!pvesso=00000000-0000-0000-0000-000000000000" }, "", "PROXMOX_VE_API_TOKEN", false},
		{"bad proxmox password", func(c *steps.Conn) {
			c.ProxmoxToken, c.ProxmoxUser, c.ProxmoxPassword = "", "root@pam", "wrong-password"
		}, "", "PROXMOX_VE_PASSWORD", false},
		{"missing proxmox right", func(c *steps.Conn) { c.ProxmoxToken = limitedPVE }, "Realm.Allocate on /access/realm", "Administrator", false},
		{"authentik user not superuser", func(c *steps.Conn) { c.AuthentikToken = nonAdminAK }, "not a superuser", "superuser", false},
		{"untrusted authentik TLS", func(c *steps.Conn) { c.AuthentikRoots = nil }, e.ak.Fingerprint(), "--authentik-fingerprint", true},
		{"untrusted proxmox TLS", func(c *steps.Conn) { c.ProxmoxRoots = nil }, e.pve.Fingerprint(), "--proxmox-fingerprint", true},
		{"wrong proxmox pin", func(c *steps.Conn) {
			c.ProxmoxRoots = nil
			c.ProxmoxPin = strings.Repeat("AB", 32)
		}, "does not match", "--proxmox-fingerprint", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.resetLogs()
			conn := e.conn
			c.mut(&conn)
			cl, err := steps.Connect(context.Background(), conn)
			if err != nil {
				t.Fatal(err)
			}
			in := e.in
			in.Users = []string{"alice"}
			eng := steps.New(cl, in)
			var sc secretScanner
			p, err := eng.Plan(context.Background())
			sc.add(p, err)
			var ce *steps.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("want *CheckError, got %v", err)
			}
			if !strings.Contains(ce.Detail, c.detail) || !strings.Contains(ce.Fix, c.fix) {
				t.Errorf("detail %q\nfix %q", ce.Detail, ce.Fix)
			}
			if e.writes() != 0 {
				t.Errorf("%d writes", e.writes())
			}
			rep, _ := eng.Preflight(context.Background())
			sc.add(rep)
			if rep.OK() {
				t.Error("preflight passed")
			}
			sc.check(t, e.ak.AdminToken(), tokenSecret(e.pve.RootToken()), tokenSecret(limitedPVE), nonAdminAK, "wrong-password", conn.AuthentikToken)
			if c.wantCert && !strings.Contains(ce.Detail, "fingerprint") {
				t.Errorf("a TLS failure must show the fingerprint: %s", ce.Detail)
			}
		})
	}
	// a host that does not answer at all
	conn := e.conn
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conn.AuthentikURL = "https://" + addr
	cl, err := steps.Connect(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	in := e.in
	in.AuthentikURL = conn.AuthentikURL
	_, err = steps.New(cl, in).Plan(context.Background())
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Fix, "--authentik-url") {
		t.Errorf("unreachable host: %v", err)
	}
}

func TestConnectUsageErrors(t *testing.T) {
	good := steps.Conn{AuthentikURL: "https://auth.example", AuthentikToken: "tok", ProxmoxURL: "https://pve.example:8006", ProxmoxToken: "root@pam!pvesso=0123-abcd"}
	for flag, mut := range map[string]func(*steps.Conn){
		"--authentik-url":         func(c *steps.Conn) { c.AuthentikURL = "auth.example" },
		"--proxmox-url":           func(c *steps.Conn) { c.ProxmoxURL = "http://pve:8006" },
		"AUTHENTIK_TOKEN":         func(c *steps.Conn) { c.AuthentikToken = "" },
		"PROXMOX_VE_API_TOKEN or": func(c *steps.Conn) { c.ProxmoxToken = "" },
		"PROXMOX_VE_API_TOKEN":    func(c *steps.Conn) { c.ProxmoxToken = "malformed" },
		"--proxmox-fingerprint":   func(c *steps.Conn) { c.ProxmoxPin = "zz" },
	} {
		c := good
		mut(&c)
		_, err := steps.Connect(context.Background(), c)
		var ue *steps.UsageError
		if !errors.As(err, &ue) || !strings.HasPrefix(ue.Flag, flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
	if _, err := steps.Connect(context.Background(), good); err != nil {
		t.Error(err)
	}
}

func TestAllNodesAddsNodesAndReportsDeparted(t *testing.T) {
	e := newEnv(t, envOpts{nodes: 3})
	resolvable := map[string]bool{"pve1": true, "pve2": true}
	resolver := steps.WithResolver(func(ctx context.Context, host string) ([]string, error) {
		if resolvable[host] {
			return []string{"127.0.0.1"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	})
	in := e.in
	in.AllNodes = true
	if _, _, err := e.setup(in, steps.ApplyOptions{}, resolver); err != nil {
		t.Fatal(err)
	}
	want := []string{e.pve.URL(), "https://127.0.0.1:8006", "https://pve1:8006", "https://127.0.0.2:8006", "https://pve2:8006", "https://127.0.0.3:8006"}
	assertFullState(t, e, in, want, nil)
	e.resetLogs()
	if p, _, err := e.setup(in, steps.ApplyOptions{}, resolver); err != nil || p.HasChanges() || e.writes() != 0 {
		t.Fatalf("rerun: %v\n%s", err, p)
	}
	// pve3 becomes resolvable (a new name to register): an update of the
	// managed provider, no conflict
	resolvable["pve3"] = true
	// the update fails once (reset): the next run completes it
	e.ak.Kit().InjectFault(simkit.Fault{Method: "PUT", Path: "/api/v3/providers/oauth2/", Kind: simkit.FaultReset})
	if _, _, err := e.setup(in, steps.ApplyOptions{}, resolver); err == nil {
		t.Fatal("fault not surfaced")
	}
	p, _, err := e.setup(in, steps.ApplyOptions{}, resolver)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Conflicts(); len(c) != 0 {
		t.Errorf("conflicts %v", c)
	}
	assertFullState(t, e, in, append(slices.Clone(want), "https://pve3:8006"), nil)
	// without --all-nodes the node URIs are kept and reported
	in.AllNodes = false
	e.resetLogs()
	p, _, err = e.setup(in, steps.ApplyOptions{}, resolver)
	if err != nil || p.HasChanges() || e.writes() != 0 {
		t.Fatalf("%v\n%s", err, p)
	}
	notes := strings.Join(p.Notes, "\n")
	for _, u := range want[1:] {
		if !strings.Contains(notes, u) {
			t.Errorf("departed %s not reported:\n%s", u, notes)
		}
	}
}

func TestRemoveOnlyWhatPvessoManages(t *testing.T) {
	e := newEnv(t, envOpts{})
	in := e.in
	in.Users = []string{"alice"}
	mustSetup(t, e, in)
	ak, pve := e.clients()
	ctx := context.Background()
	// an autocreated login (no pvesso marker) and someone else's provider
	if err := pve.CreateUser(ctx, proxmox.UserCreate{UserID: "bob@example.com@authentik", Groups: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	flow, _ := ak.FlowBySlug(ctx, authentik.FlowImplicitConsent)
	inv, _ := ak.FlowBySlug(ctx, authentik.FlowProviderInvalidation)
	other, err := ak.CreateOAuth2Provider(ctx, authentik.OAuth2ProviderRequest{Name: "Grafana", AuthorizationFlow: flow.PK, InvalidationFlow: inv.PK,
		RedirectURIs: []authentik.RedirectURI{{MatchingMode: "strict", URL: "https://grafana.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.resetLogs()
	eng := e.engine(in)
	p, err := eng.PlanRemove(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e.writes() != 0 {
		t.Fatal("PlanRemove wrote")
	}
	del := map[string]bool{}
	for _, it := range p.Items {
		if it.Action == steps.ActionDelete {
			del[it.Kind+" "+it.Name] = true
		}
	}
	for _, want := range []string{"application proxmox", "provider Proxmox VE", "realm authentik", "user alice@example.com@authentik", "group admin", "acl /: group admin = Administrator"} {
		if !del[want] {
			t.Errorf("%s not planned for deletion:\n%s", want, p)
		}
	}
	if del["user bob@example.com@authentik"] {
		t.Error("bob was not created by pvesso")
	}
	if _, err := eng.Remove(ctx, p, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(e.ak.Applications()) != 0 {
		t.Error("application left")
	}
	provs := e.ak.Providers()
	if len(provs) != 1 || provs[0].PK != other.PK {
		t.Errorf("providers %+v", provs)
	}
	for _, r := range e.pve.Realms() {
		if r.Realm == "authentik" {
			t.Error("realm left")
		}
	}
	for _, u := range e.pve.Users() {
		if u.UserID == "alice@example.com@authentik" {
			t.Error("alice left")
		}
	}
	found := false
	for _, u := range e.pve.Users() {
		found = found || u.UserID == "bob@example.com@authentik"
	}
	if !found {
		t.Error("bob was removed")
	}
	e.resetLogs()
	p2, err := e.engine(in).PlanRemove(ctx)
	if err != nil || p2.HasChanges() {
		t.Errorf("second remove plan: %v\n%s", err, p2)
	}
}

// TestPlanUsersNeedsOnlyWhatUsersAddNeeds: a check only setup needs (here:
// every RSA key has expired) does not block adding users, userids follow
// the existing provider and realm (not other --subject-mode input), and the
// users plan reads nothing of the setup's other steps.
func TestPlanUsersNeedsOnlyWhatUsersAddNeeds(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	_, err := e.engine(e.in).PlanUsers(ctx, []string{"alice"})
	var ce *steps.CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, `realm "authentik" and the Proxmox group "admin" do not exist`) || !strings.Contains(ce.Fix, "pvesso setup") {
		t.Fatalf("before setup: %v", err)
	}
	mustSetup(t, e, e.in)
	later := steps.WithClock(func() time.Time { return time.Now().Add(2 * 365 * 24 * time.Hour) })
	in := e.in
	in.SubjectMode = "hashed_user_id" // would fail the setup's userid guard
	if _, err := e.engine(in, later).Plan(ctx); err == nil {
		t.Fatal("setup checks should fail (expired key, hashed ids)")
	}
	e.resetLogs()
	eng := e.engine(in, later)
	p, err := eng.PlanUsers(ctx, []string{"alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].Name != "alice@example.com@authentik" || p.Items[0].Action != steps.ActionCreate {
		t.Fatalf("plan:\n%s", p)
	}
	if !eng.Report().OK() || len(eng.Report().Checks) == 0 {
		t.Errorf("report %+v", eng.Report())
	}
	for _, r := range append(e.ak.Kit().Requests(), e.pve.Kit().Requests()...) {
		for _, p := range []string{"/api/v3/flows/", "/api/v3/crypto/", "/api/v3/propertymappings/", "/api2/json/access/acl", "/.well-known/"} {
			if strings.Contains(r.Path, p) {
				t.Errorf("the users plan read %s %s", r.Method, r.Path)
			}
		}
	}
	reads := len(e.ak.Kit().Requests()) + len(e.pve.Kit().Requests())
	r, err := eng.Apply(ctx, p, steps.ApplyOptions{})
	if err != nil || r.Writes != 1 || e.writes() != 1 {
		t.Fatalf("apply: %v %+v %d", err, r, e.writes())
	}
	if n := len(e.ak.Kit().Requests()) + len(e.pve.Kit().Requests()) - reads; n != 1 {
		t.Errorf("apply sent %d requests, want the one write", n)
	}
	if _, err := eng.Apply(ctx, p, steps.ApplyOptions{}); err == nil {
		t.Error("a plan applies once")
	}
}
