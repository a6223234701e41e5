package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

// Goldens: every screen at 80×24 with colour off, in a fixed state (no
// network, no spinner frames, no clock). Update with
//
//	go test ./ui -run Golden -update

// frozen wraps the root model so that Init does no I/O: the screen under
// test was put in its state by hand.
type frozen struct{ *Model }

func (f frozen) Init() tea.Cmd { return nil }
func (f frozen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := f.Model.Update(msg)
	return f, cmd
}

const (
	fxProxmox   = "https://127.0.0.1:8006"
	fxAuthentik = "https://127.0.0.1:9443"
)

func fxInputs() steps.Inputs {
	in := steps.Inputs{}.WithDefaults()
	in.ProxmoxURL, in.AuthentikURL = fxProxmox, fxAuthentik
	return in
}

func fxFacts() steps.Facts {
	exp := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	return steps.Facts{
		AuthentikVersion: "2025.8.1", AuthentikUser: "akadmin", AuthentikSuperuser: true,
		ProxmoxVersion: "8.4.14", ProxmoxUser: "root@pam",
		KeyPairs: []steps.KeyPairFact{
			{PK: "1", Name: "authentik Self-signed Certificate", KeyType: "rsa", KeySize: 4096, Expiry: exp, HasPrivateKey: true, Eligible: true},
			{PK: "2", Name: "homelab-ca", KeyType: "rsa", KeySize: 2048, Expiry: exp, Eligible: false, Reason: "no private key: authentik cannot sign with it (a provider without a usable key signs HS256, which Proxmox refuses)"},
			{PK: "3", Name: "ecdsa-key", KeyType: "ecdsa", KeySize: 256, Expiry: exp, HasPrivateKey: true, Eligible: false, Reason: "EC key: authentik would sign ES256/ES384/ES512, but Proxmox verifies RS256 only"},
		},
		SigningKey: "authentik Self-signed Certificate",
		Nodes: []steps.NodeFact{
			{Name: "pve1", IP: "127.0.0.1", Online: true, Origins: []string{"https://127.0.0.1:8006"}},
			{Name: "pve2", IP: "127.0.0.2", Online: true, Origins: []string{"https://127.0.0.2:8006"}},
			{Name: "pve3", IP: "127.0.0.3", Online: false, Origins: []string{"https://127.0.0.3:8006"}},
		},
	}
}

func fxUsers() []steps.UserInfo {
	return []steps.UserInfo{
		{PK: 4, Username: "alice", Email: "alice@example.com", UID: "a1"},
		{PK: 5, Username: "bob", Email: "bob@example.com", UID: "b2"},
	}
}

func fxPlan() *steps.Plan {
	return &steps.Plan{Items: []steps.Item{
		{Step: steps.StepSigningKey, Side: "authentik", Kind: "keypair", Name: "authentik Self-signed Certificate", Action: steps.ActionNone},
		{Step: steps.StepProvider, Side: "authentik", Kind: "provider", Name: "Proxmox VE", Action: steps.ActionCreate, Changes: []steps.Change{
			{Field: "client_type", New: "confidential"},
			{Field: "client_secret", New: "s3cr3t-never-shown", Secret: true},
			{Field: "redirect_uris", New: "https://127.0.0.1:8006 (strict)"},
			{Field: "sub_mode", New: "user_email"},
		}},
		{Step: steps.StepApplication, Side: "authentik", Kind: "application", Name: "proxmox", Action: steps.ActionCreate},
		{Step: steps.StepRealm, Side: "proxmox", Kind: "realm", Name: "authentik", Action: steps.ActionConflict, Changes: []steps.Change{
			{Field: "issuer-url", Old: "https://old.example.lan/application/o/pve/", New: fxAuthentik + "/application/o/proxmox/"},
			{Field: "client-key", Old: "x", New: "y", Secret: true},
		}, Note: "exists, not made by pvesso"},
		{Step: steps.StepGroup, Side: "proxmox", Kind: "group", Name: "admin", Action: steps.ActionUpdate, Changes: []steps.Change{
			{Field: "comment", Old: "", New: "managed by pvesso"},
		}},
		{Step: steps.StepACL, Side: "proxmox", Kind: "acl", Name: "/ admin Administrator", Action: steps.ActionCreate},
	}}
}

func goldenModel(t *testing.T, id screenID, mk func(c *common) screen, mod ...func(*Options)) *Model {
	t.Helper()
	opts := testOptions(nil)
	opts.Launcher = &browser.Recorder{}
	opts.Inputs = fxInputs()
	opts.PollInterval = 2 * time.Second
	for _, f := range mod {
		f(&opts)
	}
	m := New(context.Background(), opts)
	m.c.width, m.c.height = 80, 24
	m.screens[id] = mk(m.c)
	m.cur = id
	return m
}

// golden renders m through a teatest program at 80×24 and compares the
// final frame with testdata/<test name>.golden.
func golden(t *testing.T, m *Model, init bool, msgs ...tea.Msg) {
	t.Helper()
	var tmodel tea.Model = frozen{m}
	if init {
		tmodel = m
	}
	tm := teatest.NewTestModel(t, tmodel, teatest.WithInitialTermSize(80, 24))
	for _, msg := range msgs {
		tm.Send(msg)
	}
	time.Sleep(30 * time.Millisecond) // let the sent messages land
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	var view string
	switch f := final.(type) {
	case frozen:
		view = f.View()
	case *Model:
		view = f.View()
	}
	checkFits(t, view, 80, 24)
	if strings.Contains(view, "s3cr3t") {
		t.Fatal("a secret reached the screen")
	}
	teatest.RequireEqualOutput(t, []byte(view))
}

// checkFits fails when view does not fit a w×h terminal.
func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		t.Errorf("view has %d lines, the terminal %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := visibleWidth(l); lw > w {
			t.Errorf("line %d is %d columns wide (> %d): %q", i+1, lw, w, l)
		}
	}
}

func TestGoldenWelcome(t *testing.T) {
	m := goldenModel(t, scrWelcome, func(c *common) screen { return newWelcome(c, steps.Conn{}) })
	golden(t, m, false)
}

func TestGoldenWelcomeDemo(t *testing.T) {
	m := goldenModel(t, scrWelcome, func(c *common) screen { return newWelcome(c, steps.Conn{}) }, func(o *Options) {
		o.Demo = &Demo{Users: []DemoUser{{"alice", "pw-alice-0123"}, {"bob", "pw-bob-4567"}}}
	})
	golden(t, m, false)
}

func TestGoldenWelcomeDemoPortNote(t *testing.T) {
	m := goldenModel(t, scrWelcome, func(c *common) screen { return newWelcome(c, steps.Conn{}) }, func(o *Options) {
		o.Demo = &Demo{Users: []DemoUser{{"alice", "pw-alice-0123"}, {"bob", "pw-bob-4567"}},
			Note: "Port 8006 is not free on every simulated node, so they listen on random ports: the nodes' redirect URIs (https://<ip>:8006) do not reach them in this demo."}
	})
	golden(t, m, false)
}

func TestGoldenProxmoxForm(t *testing.T) {
	m := goldenModel(t, scrProxmox, func(c *common) screen {
		s := newConnScreen(c, sideProxmox, steps.Conn{})
		_ = s.edit()
		return s
	})
	golden(t, m, true, runes("pve.example.lan"))
}

func TestGoldenProxmoxTOTP(t *testing.T) {
	m := goldenModel(t, scrProxmox, func(c *common) screen {
		s := newConnScreen(c, sideProxmox, steps.Conn{ProxmoxURL: fxProxmox, ProxmoxUser: "root@pam", ProxmoxPassword: "pw"})
		s.auto = false // no probe: the golden stays off the network
		_ = s.requireOTP([]string{"totp", "recovery"})
		return s
	})
	golden(t, m, true)
}

func TestGoldenProxmoxTrust(t *testing.T) {
	m := goldenModel(t, scrProxmox, func(c *common) screen {
		s := newConnScreen(c, sideProxmox, steps.Conn{ProxmoxURL: fxProxmox})
		s.state = connTrust
		s.cert = &tlstrust.CertError{Host: "127.0.0.1", Reason: "signed by an unknown authority",
			Fingerprint: "3A:7F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01:23:45:67:89:AB:CD:EF:10:32:54:76:98:BA",
			Subject:     "CN=pve1.example.lan,OU=PVE Cluster Node,O=Proxmox Virtual Environment",
			Issuer:      "CN=Proxmox Virtual Environment,OU=2f1c,O=PVE Cluster Manager CA",
			NotAfter:    time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
		return s
	})
	golden(t, m, false)
}

func TestGoldenAuthentikForm(t *testing.T) {
	m := goldenModel(t, scrAuthentik, func(c *common) screen {
		s := newConnScreen(c, sideAuthentik, steps.Conn{})
		s.errText = "127.0.0.1:9443 refused the connection: check the port and that the service runs"
		_ = s.edit()
		s.errText = "127.0.0.1:9443 refused the connection: check the port and that the service runs"
		return s
	})
	golden(t, m, true)
}

func TestGoldenDiscoverError(t *testing.T) {
	m := goldenModel(t, scrDiscover, func(c *common) screen {
		s := newDiscoverScreen(c, steps.Conn{}, fxInputs())
		s.err = &steps.CheckError{Step: steps.StepPreflight, Detail: "Authentik token invalid or expired (403)", Fix: "set AUTHENTIK_TOKEN (or --authentik-token-file) to a valid API token of a superuser"}
		return s
	})
	golden(t, m, false)
}

func TestGoldenOptions(t *testing.T) {
	m := goldenModel(t, scrOptions, func(c *common) screen {
		return newOptionsScreen(c, fxInputs(), fxFacts(), fxUsers())
	})
	golden(t, m, false)
}

func TestGoldenOptionsKeyFocus(t *testing.T) {
	m := goldenModel(t, scrOptions, func(c *common) screen {
		s := newOptionsScreen(c, fxInputs(), fxFacts(), fxUsers())
		s.subjectIdx = indexOf(steps.SubjectModes, "user_username")
		s.focus = optKey
		s.applyFocus()
		return s
	})
	golden(t, m, false)
}

func TestGoldenChecks(t *testing.T) {
	m := goldenModel(t, scrChecks, func(c *common) screen {
		s := newChecksScreen(c, nil, fxInputs())
		s.report = &steps.Report{Checks: []steps.Check{
			{ID: "authentik", Title: "Authentik reachable, TLS trusted, token valid", OK: true, Detail: "authentik 2025.8.1, token of akadmin"},
			{ID: "proxmox", Title: "Proxmox reachable, TLS trusted, credentials valid", OK: true, Detail: "Proxmox VE 8.4.14, as root@pam"},
			{ID: "privs", Title: "Proxmox credentials have the needed privileges", OK: false, Detail: "missing Realm.Allocate on /access/realm",
				Fix: "use a root@pam token without privilege separation (PROXMOX_VE_API_TOKEN)"},
			{ID: "key", Title: "RSA signing key", OK: true, Detail: "using authentik Self-signed Certificate"},
		}}
		return s
	})
	golden(t, m, false)
}

func TestGoldenPlanConflict(t *testing.T) {
	m := goldenModel(t, scrPlan, func(c *common) screen {
		s := newPlanScreen(c, planSetup, nil, fxInputs())
		s.plan = fxPlan()
		return s
	})
	golden(t, m, false)
}

func TestGoldenApplyFailed(t *testing.T) {
	m := goldenModel(t, scrApply, func(c *common) screen {
		s := newApplyScreen(c, planSetup, nil, fxPlan(), nil, false, nil, fxInputs())
		for i := range s.rows {
			s.rows[i].state = rowDone
		}
		s.rows[0].message = "checks passed"
		s.rows[1].state = rowNone
		s.rows[4].state = rowFailed
		s.rows[4].message = "500 Internal Server Error: OpenID discovery failed"
		s.rows[5].state, s.rows[6].state = rowPending, rowPending
		s.err = &steps.StepError{Step: steps.StepRealm, Err: &steps.CheckError{Step: steps.StepRealm,
			Detail: "Proxmox could not fetch the issuer's discovery document (certificate not trusted by the node)",
			Fix:    "install the Authentik CA on every node: /usr/local/share/ca-certificates + update-ca-certificates"}}
		return s
	})
	golden(t, m, false)
}

func doneModel(t *testing.T, f func(*doneScreen)) *Model {
	return goldenModel(t, scrDone, func(c *common) screen {
		s := newDoneScreen(c, nil, fxInputs(), steps.Conn{}, &steps.Result{Realm: "authentik", IssuerURL: fxAuthentik + "/application/o/proxmox/", Users: nil}, false)
		f(s)
		return s
	})
}

func TestGoldenDone(t *testing.T) {
	golden(t, doneModel(t, func(*doneScreen) {}), false)
}

func TestGoldenDoneLoginSeen(t *testing.T) {
	golden(t, doneModel(t, func(s *doneScreen) {
		s.state, s.who = loginSeen, "alice@example.com@authentik"
		s.rights = &userRightsMsg{userid: s.who}
	}), false)
}

func TestGoldenDoneLoginAdded(t *testing.T) {
	golden(t, doneModel(t, func(s *doneScreen) {
		s.state, s.who = loginAdded, "alice@example.com@authentik"
		s.rights = &userRightsMsg{userid: s.who, groups: []string{"admin"}, privs: []string{"Datastore.Allocate", "Permissions.Modify", "Sys.Audit", "Sys.Modify", "VM.Allocate"}}
	}), false)
}

func TestGoldenDoneNoDisplay(t *testing.T) {
	golden(t, doneModel(t, func(s *doneScreen) {
		s.state, s.noWindow = loginWaiting, true
		s.spin.Spinner.Frames = []string{"*"}
	}), false)
}

func TestGoldenMenu(t *testing.T) {
	m := goldenModel(t, scrMenu, func(c *common) screen {
		return newMenuScreen(c, nil, fxInputs(), fxFacts(), &steps.Plan{Items: []steps.Item{{Action: steps.ActionNone}}}, fxUsers(),
			[]steps.RealmUser{{UserID: "alice@example.com@authentik", Groups: []string{"admin"}}, {UserID: "carol@example.com@authentik"}})
	})
	golden(t, m, false)
}

func TestGoldenUsersAdded(t *testing.T) {
	m := goldenModel(t, scrUsers, func(c *common) screen {
		s := newUsersScreen(c, nil, fxInputs(), fxUsers(), []steps.RealmUser{{UserID: "alice@example.com@authentik", Groups: []string{"admin"}}, {UserID: "carol@example.com@authentik"}})
		// As usersAddedMsg leaves it: bob added, marked in the group.
		s.added = &steps.Result{Users: []string{"bob@example.com@authentik"}}
		s.items = []steps.Item{{Step: steps.StepUsers, Kind: "user", Name: "bob@example.com@authentik", Action: steps.ActionCreate}}
		s.inGroup["bob@example.com@authentik"] = true
		s.list.cursor = 1
		return s
	})
	golden(t, m, false)
}

var _ = errors.New

func TestGoldenAuthentikTrust(t *testing.T) {
	m := goldenModel(t, scrAuthentik, func(c *common) screen {
		s := newConnScreen(c, sideAuthentik, steps.Conn{AuthentikURL: fxAuthentik})
		s.state = connTrust
		s.cert = &tlstrust.CertError{Host: "127.0.0.1", Reason: "signed by an unknown authority",
			Fingerprint: "A1:BB:36:E6:32:06:8A:47:30:E4:4E:C8:0E:5E:74:AD:11:A1:87:4D:5A:32:5B:47:82:F6:17:07:84:21:46:8F",
			Subject:     "CN=auth.example.lan", Issuer: "CN=authentik Self-signed Certificate",
			NotAfter: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
		return s
	})
	golden(t, m, false)
}

// planNoConflict is fxPlan without the realm conflict.
func planNoConflict() *steps.Plan {
	p := fxPlan()
	for i := range p.Items {
		if p.Items[i].Action == steps.ActionConflict {
			p.Items[i].Action, p.Items[i].Note = steps.ActionCreate, ""
			p.Items[i].Changes = []steps.Change{{Field: "issuer-url", New: fxAuthentik + "/application/o/proxmox/"}, {Field: "client-key", New: "y", Secret: true}}
		}
	}
	return p
}

func TestGoldenPlan(t *testing.T) {
	m := goldenModel(t, scrPlan, func(c *common) screen {
		s := newPlanScreen(c, planSetup, nil, fxInputs())
		s.plan = planNoConflict()
		return s
	})
	golden(t, m, false)
}

// TestGoldenApplyCancelAsk: a run in progress (spinner on the realm row)
// after ctrl+c: the question, not a quit.
func TestGoldenApplyCancelAsk(t *testing.T) {
	m := goldenModel(t, scrApply, func(c *common) screen {
		s := newApplyScreen(c, planSetup, nil, planNoConflict(), nil, false, nil, fxInputs())
		s.running, s.confirm = true, true
		s.rows[0].state, s.rows[0].message = rowDone, "checks passed"
		s.rows[1].state = rowNone
		s.rows[2].state, s.rows[3].state = rowDone, rowDone
		s.rows[4].state = rowRunning
		return s
	})
	golden(t, m, false)
}

func TestGoldenApplyDone(t *testing.T) {
	m := goldenModel(t, scrApply, func(c *common) screen {
		p := planNoConflict()
		s := newApplyScreen(c, planSetup, nil, p, nil, false, nil, fxInputs())
		for i := range s.rows {
			s.rows[i].state = rowDone
		}
		s.rows[0].message = "checks passed"
		s.rows[1].state = rowNone
		s.result = &steps.Result{Realm: "authentik", Writes: 4}
		return s
	})
	golden(t, m, false)
}
