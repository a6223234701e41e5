package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/pvesso/pvesso/steps"
)

func TestNormalizeURL(t *testing.T) {
	cases := []struct {
		in, pve, ak string
		bad         bool
	}{
		{in: "pve.lan", pve: "https://pve.lan:8006", ak: "https://pve.lan"},
		{in: " https://PVE.lan:8006/ ", pve: "https://pve.lan:8006", ak: "https://pve.lan:8006"},
		{in: "https://pve.lan:8006/api2/json", pve: "https://pve.lan:8006"},
		{in: "https://auth.lan/api/v3/", pve: "", ak: "https://auth.lan"},
		{in: "127.0.0.1:9443", pve: "https://127.0.0.1:9443", ak: "https://127.0.0.1:9443"},
		{in: "http://pve.lan", bad: true},
		{in: "https://root:pw@pve.lan", bad: true},
		{in: "https://pve.lan:99999", bad: true},
		{in: "https://pve.lan/?x=1", bad: true},
		{in: "", bad: true},
	}
	for _, c := range cases {
		p, perr := normalizeProxmoxURL(c.in)
		a, aerr := normalizeAuthentikURL(c.in)
		if c.bad {
			if perr == nil || aerr == nil {
				t.Errorf("%q: want errors, got %q %v / %q %v", c.in, p, perr, a, aerr)
			}
			continue
		}
		if c.pve != "" && (perr != nil || p != c.pve) {
			t.Errorf("proxmox %q = %q, %v; want %q", c.in, p, perr, c.pve)
		}
		if c.ak != "" && (aerr != nil || a != c.ak) {
			t.Errorf("authentik %q = %q, %v; want %q", c.in, a, aerr, c.ak)
		}
	}
	// Error text never echoes a password typed into the URL.
	if _, err := normalizeProxmoxURL("https://root:hunter2@pve"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}

func TestCredentialValidation(t *testing.T) {
	good := []string{"root@pam!pvesso=0b1f3d5c-1111-2222-3333-444455556666", "PVEAPIToken=root@pam!t1=abc", " admin@pve!ci-2=x "}
	for _, s := range good {
		if err := validateProxmoxToken(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{"", "root@pam", "root@pam!=x", "root!id=x", "root@pam!1id=x", "root@pam!id"}
	for _, s := range bad {
		if err := validateProxmoxToken(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if cleanProxmoxToken("PVEAPIToken=root@pam!a=b") != "root@pam!a=b" {
		t.Error("PVEAPIToken= prefix not stripped")
	}
	if validateAuthentikToken("Bearer abc") != nil || cleanAuthentikToken("Bearer abc") != "abc" {
		t.Error("Bearer prefix")
	}
	if validateAuthentikToken("two words") == nil || validateAuthentikToken("  ") == nil {
		t.Error("bad authentik tokens accepted")
	}
	if validateRealm("authentik") != nil || validateRealm("pam") == nil || validateRealm("1x") == nil || validateRealm("a") == nil {
		t.Error("realm validation")
	}
	if validateGroup("admin.ops-1") != nil || validateGroup("ad min") == nil {
		t.Error("group validation")
	}
}

// send runs one message through the root and returns the command.
func send(m *Model, msg tea.Msg) tea.Cmd {
	_, cmd := m.Update(msg)
	return cmd
}

// drain runs cmd and feeds its messages back (one level of batches),
// skipping ticks and other timers.
func drain(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(200 * time.Millisecond):
		return // a timer (blink, spinner): ignore
	}
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			drain(t, m, c)
		}
	case nil:
	default:
		drain(t, m, send(m, msg))
	}
}

func optionsModel(t *testing.T) (*Model, *optionsScreen) {
	t.Helper()
	m := goldenModel(t, scrOptions, func(c *common) screen {
		return newOptionsScreen(c, fxInputs(), fxFacts(), fxUsers())
	})
	m.history = []screenID{scrAuthentik}
	m.screens[scrAuthentik] = newConnScreen(m.c, sideAuthentik, steps.Conn{AuthentikURL: fxAuthentik})
	return m, m.screens[scrOptions].(*optionsScreen)
}

func TestOptionsValidationBlocksInvalidRealm(t *testing.T) {
	m, s := optionsModel(t)
	s.realm.SetValue("1-bad")
	cmd := send(m, keyOf(tea.KeyEnter))
	if cmd != nil {
		if _, ok := cmd().(optionsDoneMsg); ok {
			t.Fatal("an invalid realm was accepted")
		}
	}
	if !strings.Contains(m.View(), "Realm: a letter") || s.focus != optRealm {
		t.Fatalf("no error shown / focus %v:\n%s", s.focus, m.View())
	}
	s.realm.SetValue("sso")
	cmd = send(m, keyOf(tea.KeyEnter))
	msg, ok := cmd().(optionsDoneMsg)
	if !ok || msg.inputs.Realm != "sso" || msg.inputs.SigningKey != "authentik Self-signed Certificate" || !msg.inputs.AllNodes {
		t.Fatalf("inputs %+v", msg.inputs)
	}
}

func TestOptionsLivePreviewAndKeyList(t *testing.T) {
	m, s := optionsModel(t)
	if !strings.Contains(m.View(), "alice → alice@example.com@authentik") {
		t.Fatalf("preview missing:\n%s", m.View())
	}
	send(m, keyOf(tea.KeyTab))
	send(m, keyOf(tea.KeyTab)) // subject mode
	if s.focus != optSubject {
		t.Fatalf("focus %v", s.focus)
	}
	// user_email → hashed_user_id → user_id → user_uuid → user_username
	for range 4 {
		send(m, keyOf(tea.KeyRight))
	}
	if got := s.inputs().SubjectMode; got != "user_username" {
		t.Fatalf("subject mode %q", got)
	}
	if !strings.Contains(m.View(), "alice → alice@authentik") {
		t.Fatalf("preview did not follow the subject mode:\n%s", m.View())
	}
	// The ineligible keys cannot be chosen: the cursor skips them.
	s.focus = optKey
	send(m, keyOf(tea.KeyDown))
	if s.focus == optKey && s.keys.items[s.keys.cursor].disabled {
		t.Fatal("cursor landed on a disabled key")
	}
	// Deselecting a node removes it from the redirect URIs.
	s.focus, s.nodes.cursor = optNodes, 2
	send(m, runes(" "))
	in := s.inputs()
	if in.AllNodes || len(in.RedirectURIs) != 1 || in.RedirectURIs[0] != "https://127.0.0.2:8006" {
		t.Fatalf("nodes: all=%v uris=%v", in.AllNodes, in.RedirectURIs)
	}
	// The URL in use cannot be unchecked.
	s.nodes.cursor = 0
	send(m, runes(" "))
	if !s.nodes.items[0].checked {
		t.Fatal("the URL in use was unchecked")
	}
}

func TestEscGoesBackAndKeepsValues(t *testing.T) {
	m, s := optionsModel(t)
	for _, r := range "x" {
		send(m, runes(string(r)))
	}
	if got := s.realm.Value(); got != "authentikx" {
		t.Fatalf("realm %q", got)
	}
	send(m, keyOf(tea.KeyEsc))
	if m.cur != scrAuthentik {
		t.Fatalf("esc went to %s", m.cur)
	}
	// Coming back shows the same screen with the typed value.
	send(m, connDoneMsg{side: sideAuthentik, conn: steps.Conn{AuthentikURL: fxAuthentik}})
	m.cur = scrOptions
	if s2 := m.screens[scrOptions].(*optionsScreen); s2 != s || s2.realm.Value() != "authentikx" {
		t.Fatal("typed value lost")
	}
}

func TestConnFormEscKeepsTypedURL(t *testing.T) {
	opts := testOptions(nil)
	m := New(context.Background(), opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "You need")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "Proxmox URL")
	tm.Type("pve.example.lan")
	waitText(t, tm, "pve.example.lan")
	tm.Send(keyOf(tea.KeyEsc))
	waitText(t, tm, "You need")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "Proxmox URL", "pve.example.lan")
	tm.Send(keyOf(tea.KeyEnter)) // URL validates and is normalised on submit
	waitText(t, tm, "┃ Log in with")
	tm.Send(keyOf(tea.KeyCtrlC))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if !fm.aborted {
		t.Fatal("ctrl+c did not abort")
	}
	if s := fm.screens[scrProxmox].(*connScreen); s.url != "pve.example.lan" {
		t.Fatalf("url %q", s.url)
	}
}

func TestQAndQuestionMarkTypeIntoFields(t *testing.T) {
	m, s := optionsModel(t)
	cmd := send(m, runes("q"))
	if cmd != nil {
		if _, ok := cmd().(tea.QuitMsg); ok {
			t.Fatal("q quit while typing")
		}
	}
	send(m, runes("?"))
	if m.showHelp || s.realm.Value() != "authentikq?" {
		t.Fatalf("help %v, realm %q", m.showHelp, s.realm.Value())
	}
	// F1 still toggles help; on a non-text screen ? does.
	send(m, keyOf(tea.KeyF1))
	if !m.showHelp {
		t.Fatal("f1 did not toggle help")
	}
	m2 := goldenModel(t, scrWelcome, func(c *common) screen { return newWelcome(c, steps.Conn{}) })
	short := m2.View()
	send(m2, runes("?"))
	if !m2.showHelp || m2.View() == short {
		t.Fatal("? did not toggle the full help")
	}
	checkFits(t, m2.View(), 80, 24)
	send(m2, runes("?"))
	if m2.showHelp {
		t.Fatal("? did not toggle back")
	}
	if cmd := send(m2, runes("q")); cmd == nil {
		t.Fatal("q does not quit on the welcome screen")
	}
}

func TestPlanConflictNeedsExplicitChoice(t *testing.T) {
	m := goldenModel(t, scrPlan, func(c *common) screen {
		s := newPlanScreen(c, planSetup, nil, fxInputs())
		s.plan = fxPlan()
		return s
	})
	s := m.screens[scrPlan].(*planScreen)
	if cmd := send(m, keyOf(tea.KeyEnter)); cmd != nil {
		t.Fatal("enter applied a plan with an unanswered conflict")
	}
	send(m, runes("y"))
	cmd := send(m, keyOf(tea.KeyEnter))
	if cmd == nil {
		t.Fatal("enter after consent did nothing")
	}
	msg, ok := cmd().(gotoApplyMsg)
	if !ok || !msg.allowConflicts {
		t.Fatalf("got %#v", msg)
	}
	// n takes the consent back; a second n goes back.
	send(m, runes("n"))
	if s.consent {
		t.Fatal("n did not take the consent back")
	}
	if cmd := send(m, runes("n")); cmd == nil {
		t.Fatal("n did not go back")
	} else if _, ok := cmd().(backMsg); !ok {
		t.Fatal("n did not go back")
	}
}

func TestApplyCtrlCAsksFirst(t *testing.T) {
	m := goldenModel(t, scrApply, func(c *common) screen {
		return newApplyScreen(c, planSetup, nil, fxPlan(), nil, false, nil, fxInputs())
	})
	s := m.screens[scrApply].(*applyScreen)
	s.running = true
	canceled := false
	s.cancel = func() { canceled = true }
	if cmd := send(m, keyOf(tea.KeyCtrlC)); cmd != nil || m.aborted {
		t.Fatal("ctrl+c quit during apply without asking")
	}
	if !s.confirm || !strings.Contains(m.View(), "Cancel the run?") {
		t.Fatal("no confirmation shown")
	}
	send(m, runes("n"))
	if s.confirm || canceled {
		t.Fatal("n must keep going")
	}
	send(m, keyOf(tea.KeyEsc)) // esc does not leave a running apply
	if m.cur != scrApply {
		t.Fatal("esc left the apply screen while running")
	}
	send(m, keyOf(tea.KeyCtrlC))
	send(m, runes("y"))
	if !canceled {
		t.Fatal("y did not cancel")
	}
	// The engine reports the cancellation; the screen says what it means.
	send(m, applyFinishedMsg{gen: s.gen, err: context.Canceled})
	if !strings.Contains(m.View(), "Steps already done stay done") {
		t.Fatalf("view:\n%s", m.View())
	}
}

func TestApplyEventsDriveRows(t *testing.T) {
	m := goldenModel(t, scrApply, func(c *common) screen {
		return newApplyScreen(c, planSetup, nil, fxPlan(), nil, false, nil, fxInputs())
	})
	s := m.screens[scrApply].(*applyScreen)
	s.running = true
	ch := make(chan applyUpdate)
	for _, ev := range []steps.Event{
		{Step: steps.StepPreflight, Phase: steps.PhaseDone, Message: "checks passed"},
		{Step: steps.StepSigningKey, Phase: steps.PhaseNone},
		{Step: steps.StepProvider, Phase: steps.PhaseStart},
		{Step: steps.StepProvider, Phase: steps.PhaseFail, Message: "400 Bad Request", Err: context.DeadlineExceeded},
	} {
		if cmd := send(m, applyEventMsg{gen: s.gen, ev: ev, events: ch}); cmd == nil {
			t.Fatal("the listener was not re-armed")
		}
	}
	want := map[string]rowState{steps.StepPreflight: rowDone, steps.StepSigningKey: rowNone, steps.StepProvider: rowFailed, steps.StepApplication: rowPending}
	for _, r := range s.rows {
		if w, ok := want[r.step]; ok && r.state != w {
			t.Errorf("%s: state %v, want %v", r.step, r.state, w)
		}
	}
	// A ✓ row without an engine message says what the plan had it do.
	send(m, applyEventMsg{gen: s.gen, ev: steps.Event{Step: steps.StepApplication, Phase: steps.PhaseDone}, events: ch})
	if v := m.View(); !strings.Contains(v, "created application proxmox") {
		t.Fatalf("no result line for the application row:\n%s", v)
	}
	send(m, applyFinishedMsg{gen: s.gen, err: &steps.StepError{Step: steps.StepProvider, Err: context.DeadlineExceeded}})
	v := m.View()
	if !strings.Contains(v, "A step failed") || !strings.Contains(v, "Press r to retry") {
		t.Fatalf("view:\n%s", v)
	}
	// Stale events of an earlier run are ignored.
	send(m, applyEventMsg{gen: s.gen - 1, ev: steps.Event{Step: steps.StepGroup, Phase: steps.PhaseDone}, events: ch})
	for _, r := range s.rows {
		if r.step == steps.StepGroup && r.state != rowPending {
			t.Fatal("a stale event changed a row")
		}
	}
}

func TestResizeKeepsEveryScreenInside(t *testing.T) {
	screens := map[string]func(c *common) screen{
		"welcome": func(c *common) screen { return newWelcome(c, steps.Conn{}) },
		"options": func(c *common) screen {
			return newOptionsScreen(c, fxInputs(), fxFacts(), fxUsers())
		},
		"plan": func(c *common) screen {
			s := newPlanScreen(c, planSetup, nil, fxInputs())
			s.plan = fxPlan()
			return s
		},
		"done": func(c *common) screen {
			return newDoneScreen(c, nil, fxInputs(), steps.Conn{}, &steps.Result{IssuerURL: fxAuthentik + "/application/o/proxmox/"}, false)
		},
		"apply": func(c *common) screen {
			s := newApplyScreen(c, planSetup, nil, fxPlan(), nil, false, nil, fxInputs())
			s.running, s.confirm = true, true
			return s
		},
		"menu": func(c *common) screen {
			return newMenuScreen(c, nil, fxInputs(), fxFacts(), &steps.Plan{}, fxUsers(), nil)
		},
		"users": func(c *common) screen {
			return newUsersScreen(c, nil, fxInputs(), fxUsers(), []steps.RealmUser{{UserID: "carol@example.com@authentik"}})
		},
	}
	for name, mk := range screens {
		t.Run(name, func(t *testing.T) {
			m := goldenModel(t, scrWelcome, mk)
			for _, sz := range [][2]int{{80, 24}, {120, 40}, {100, 30}, {80, 24}} {
				send(m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				checkFits(t, m.View(), sz[0], sz[1])
			}
			// The full help (? or f1) fits as well.
			short := m.View()
			send(m, keyOf(tea.KeyF1))
			if !m.showHelp || m.View() == short {
				t.Fatal("f1 did not show the full help")
			}
			checkFits(t, m.View(), 80, 24)
		})
	}
}

func TestNoColor(t *testing.T) {
	r := lipgloss.NewRenderer(os.Stdout, termenv.WithProfile(termenv.TrueColor))
	r.SetColorProfile(termenv.TrueColor)
	opts := Options{Renderer: r, Getenv: func(k string) string {
		if k == "NO_COLOR" {
			return "1"
		}
		return ""
	}}.withDefaults()
	st := NewStyles(opts.Renderer, DefaultTheme())
	if out := st.Err.Render("x") + st.OK.Render("y"); strings.Contains(out, "\x1b[") {
		t.Fatalf("colour despite NO_COLOR: %q", out)
	}
	// Without NO_COLOR the same renderer colours.
	r2 := lipgloss.NewRenderer(os.Stdout)
	r2.SetColorProfile(termenv.TrueColor)
	if out := NewStyles(r2, DefaultTheme()).Err.Render("x"); !strings.Contains(out, "\x1b[") {
		t.Fatalf("no colour with a colour profile: %q", out)
	}
}

func TestTermDumbMeansAccessible(t *testing.T) {
	o := Options{Getenv: func(k string) string {
		if k == "TERM" {
			return "dumb"
		}
		return ""
	}}.withDefaults()
	if !o.Accessible {
		t.Fatal("TERM=dumb must select the accessible mode")
	}
}

func TestDebugLogRedactsSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "debug.log")
	token := "root@pam!pvesso=0b1f3d5c-1111-2222-3333-444455556666"
	opts := Options{DebugLog: path, Getenv: func(string) string { return "" },
		Conn: steps.Conn{ProxmoxToken: token, AuthentikToken: "ak-secret-token-value"}}
	l, closeLog := openDebugLog(opts)
	l.addSecret("typed-password-123")
	l.printf("conn %+v", opts.Conn)
	l.printf("header Authorization: Bearer abcdef and PVEAPIToken=root@pam!x=ffff-eeee")
	l.printf("form client_secret=zzz123&password=typed-password-123 ok")
	closeLog()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, secret := range []string{"0b1f3d5c-1111", "ak-secret-token-value", "abcdef", "ffff-eeee", "zzz123", "typed-password-123"} {
		if strings.Contains(got, secret) {
			t.Errorf("secret %q in the log:\n%s", secret, got)
		}
	}
	if !strings.Contains(got, "(secret)") || !strings.Contains(got, "ok") {
		t.Fatalf("log lost its content:\n%s", got)
	}
	// No PVESSO_DEBUG, no file.
	l2, c2 := openDebugLog(Options{Getenv: func(string) string { return "" }})
	defer c2()
	if l2.f != nil {
		t.Fatal("a log file was opened without PVESSO_DEBUG")
	}
}

// A plan that changes nothing but has problems is not healthy: the status
// screen and the rerun menu say so, and nothing offers to apply or repair.
func TestStatusWithProblemsIsNotHealthy(t *testing.T) {
	problem := "the issuer http://auth.example.lan/application/o/proxmox/ is not https: Proxmox refuses it"
	plan := &steps.Plan{
		Items:    []steps.Item{{Step: steps.StepRealm, Side: "proxmox", Kind: "realm", Name: "authentik", Action: steps.ActionNone}},
		Problems: []string{problem},
	}
	m := goldenModel(t, scrPlan, func(c *common) screen {
		s := newPlanScreen(c, planStatus, nil, fxInputs())
		s.plan = plan
		return s
	})
	v := strings.Join(strings.Fields(m.View()), " ") // the problem wraps
	if strings.Contains(v, "Healthy") || !strings.Contains(v, "1 problem(s) that no change here can fix") || !strings.Contains(v, "is not https: Proxmox refuses it") {
		t.Fatalf("status view:\n%s", v)
	}
	if cmd := send(m, keyOf(tea.KeyEnter)); cmd != nil {
		t.Fatalf("enter on a problem-only status did %T", cmd())
	}

	m = goldenModel(t, scrMenu, func(c *common) screen {
		return newMenuScreen(c, nil, fxInputs(), fxFacts(), plan, fxUsers(), nil)
	})
	v = m.View()
	if strings.Contains(v, "Healthy") || !strings.Contains(v, "✗ the issuer http://") {
		t.Fatalf("menu view:\n%s", v)
	}
	if ms := m.screens[scrMenu].(*menuScreen); ms.entries[ms.cursor].choice != menuStatus {
		t.Fatalf("cursor on %q, want Check status", ms.entries[ms.cursor].label)
	}
	// With something to change as well, the cursor is on Repair.
	plan.Items[0].Action = steps.ActionUpdate
	m = goldenModel(t, scrMenu, func(c *common) screen {
		return newMenuScreen(c, nil, fxInputs(), fxFacts(), plan, fxUsers(), nil)
	})
	if ms := m.screens[scrMenu].(*menuScreen); ms.entries[ms.cursor].choice != menuRepair {
		t.Fatalf("cursor on %q, want Repair", ms.entries[ms.cursor].label)
	}
}

// The apply's summary speaks in the plan's terms: "Plan: 1 to create"
// is followed by "1 created"; the auth-url request and any follow-up
// write are named, not counted as objects. Steps the plan did not list
// get their row where the engine runs them.
func TestApplySummaryAgreesWithPlan(t *testing.T) {
	plan := &steps.Plan{Items: []steps.Item{
		{Step: steps.StepRealm, Side: "proxmox", Kind: "realm", Name: "authentik", Action: steps.ActionNone},
		{Step: steps.StepACL, Side: "proxmox", Kind: "acl", Name: "/", Action: steps.ActionCreate},
		{Step: steps.StepLoginTest, Side: "proxmox", Kind: "auth-url", Name: "authentik", Action: steps.ActionNone},
	}}
	m := goldenModel(t, scrPlan, func(c *common) screen {
		s := newPlanScreen(c, planSetup, nil, fxInputs())
		s.plan = plan
		return s
	})
	if v := m.View(); !strings.Contains(v, "Plan: 1 to create, 1 already right.") || !strings.Contains(v, "» auth-url") {
		t.Fatalf("plan view:\n%s", v)
	}
	m = goldenModel(t, scrApply, func(c *common) screen {
		return newApplyScreen(c, planSetup, nil, plan, nil, false, nil, fxInputs())
	})
	s := m.screens[scrApply].(*applyScreen)
	s.running = true
	ch := make(chan applyUpdate)
	for _, ev := range []steps.Event{
		{Step: steps.StepPreflight, Phase: steps.PhaseDone},
		{Step: steps.StepRealm, Phase: steps.PhaseNone},
		{Step: steps.StepACL, Phase: steps.PhaseDone},
		{Step: steps.StepLoginTest, Phase: steps.PhaseDone},
		{Step: steps.StepUsers, Phase: steps.PhaseNone}, // not in the plan
	} {
		send(m, applyEventMsg{gen: s.gen, ev: ev, events: ch})
	}
	var order []string
	for _, r := range s.rows {
		order = append(order, r.step)
	}
	if got, want := strings.Join(order, ","), "preflight,realm,acl,users,login-test"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
	// 1 ACL + 1 auth-url + 1 realm correction by the issuer check.
	send(m, applyFinishedMsg{gen: s.gen, result: &steps.Result{Realm: "authentik", Writes: 3}})
	v := strings.Join(strings.Fields(m.View()), " ")
	for _, want := range []string{"Done: 1 created, as planned. Plus 1 follow-up write(s).", "test login (auth-url)", "Press enter for the login test."} {
		if !strings.Contains(v, want) {
			t.Errorf("missing %q in\n%s", want, m.View())
		}
	}
	if strings.Contains(v, "3 ") && strings.Contains(v, "change(s)") {
		t.Errorf("the raw write count leaked: %s", v)
	}
}

// A challenge pvesso cannot answer (webauthn only) does not ask for a
// code; it says to use an API token. A TOTP challenge shows the field
// alone; esc brings back the whole form with the field.
func TestRequireOTP(t *testing.T) {
	m := goldenModel(t, scrProxmox, func(c *common) screen {
		return newConnScreen(c, sideProxmox, steps.Conn{ProxmoxURL: fxProxmox, ProxmoxUser: "root@pam", ProxmoxPassword: "pw"})
	})
	s := m.screens[scrProxmox].(*connScreen)
	s.requireOTP([]string{"webauthn"})
	if s.needOTP || !strings.Contains(s.errText, "webauthn, which pvesso cannot answer") || !strings.Contains(s.errText, "API token") {
		t.Fatalf("webauthn: needOTP %v, %q", s.needOTP, s.errText)
	}
	s.requireOTP([]string{"totp", "recovery"})
	v := m.View()
	if !s.needOTP || !s.otpOnly || !strings.Contains(v, "TOTP code") || strings.Contains(v, "Proxmox URL") {
		t.Fatalf("totp:\n%s", v)
	}
	if !s.handleBack() || s.otpOnly {
		t.Fatal("esc did not bring back the whole form")
	}
	if v := m.View(); !strings.Contains(v, "Proxmox URL") {
		t.Fatalf("whole form:\n%s", v)
	}
}

// A removal plan's items carry the step id "remove", which no engine
// event has: no row may wait for it forever.
func TestRemoveRowsComeFromEvents(t *testing.T) {
	plan := &steps.Plan{Items: []steps.Item{
		{Step: "remove", Side: "authentik", Kind: "application", Name: "proxmox", Action: steps.ActionDelete},
		{Step: "remove", Side: "proxmox", Kind: "realm", Name: "authentik", Action: steps.ActionDelete},
	}}
	m := goldenModel(t, scrApply, func(c *common) screen {
		return newApplyScreen(c, planRemove, nil, plan, nil, true, nil, fxInputs())
	})
	s := m.screens[scrApply].(*applyScreen)
	s.running = true
	ch := make(chan applyUpdate)
	for _, ev := range []steps.Event{
		{Step: steps.StepPreflight, Phase: steps.PhaseDone},
		{Step: steps.StepApplication, Phase: steps.PhaseDone},
		{Step: steps.StepRealm, Phase: steps.PhaseDone},
	} {
		send(m, applyEventMsg{gen: s.gen, ev: ev, events: ch})
	}
	send(m, applyFinishedMsg{gen: s.gen, result: &steps.Result{Writes: 2}})
	for _, r := range s.rows {
		if r.state != rowDone {
			t.Errorf("row %s (%s) left %v", r.step, r.title, r.state)
		}
	}
	if v := m.View(); !strings.Contains(v, "Done: 2 removed, as planned.") {
		t.Fatalf("view:\n%s", v)
	}
}

// A plan with nothing to do leads to the done screen with the issuer.
func TestNothingToDoKeepsTheIssuer(t *testing.T) {
	plan := &steps.Plan{Items: []steps.Item{
		{Step: steps.StepIssuer, Side: "authentik", Kind: "issuer", Name: fxAuthentik + "/application/o/proxmox/", Action: steps.ActionNone},
		{Step: steps.StepRealm, Side: "proxmox", Kind: "realm", Name: "authentik", Action: steps.ActionNone},
	}}
	m := goldenModel(t, scrPlan, func(c *common) screen {
		s := newPlanScreen(c, planSetup, nil, fxInputs())
		s.plan = plan
		return s
	})
	cmd := send(m, keyOf(tea.KeyEnter))
	if cmd == nil {
		t.Fatal("enter did nothing")
	}
	msg, ok := cmd().(gotoDoneMsg)
	if !ok || msg.result == nil || msg.result.IssuerURL != fxAuthentik+"/application/o/proxmox/" {
		t.Fatalf("got %#v", msg)
	}
}

// TestRememberChoicesAfterApplyNotAtPin: pinning a certificate remembers
// the connection only (no default choices that would overwrite the
// file); a successful apply remembers the choices, even if the user quits
// on the apply screen; a failed one does not.
func TestRememberChoicesAfterApplyNotAtPin(t *testing.T) {
	var got []Remembered
	in := fxInputs()
	in.AllNodes = true
	m := goldenModel(t, scrApply, func(c *common) screen {
		return newApplyScreen(c, planSetup, nil, fxPlan(), nil, false, nil, in)
	}, func(o *Options) { o.Remember = func(r Remembered) error { got = append(got, r); return nil } })
	m.inputs = in
	// The config is written in a command, not inside Update.
	run := func(msg tea.Msg) {
		t.Helper()
		n := len(got)
		cmd := send(m, msg)
		if len(got) != n {
			t.Fatal("Update wrote the config itself")
		}
		runCmds(cmd)
	}
	run(pinAcceptedMsg{side: sideProxmox, url: "https://127.0.0.1:8006", pin: "AA:BB"})
	if len(got) != 1 || got[0].ProxmoxPin != "AA:BB" || got[0].Inputs.Realm != "" {
		t.Fatalf("after the pin: %+v", got)
	}
	s := m.screens[scrApply].(*applyScreen)
	s.running = true
	run(applyFinishedMsg{gen: s.gen, err: context.DeadlineExceeded})
	if !m.unfinished {
		t.Fatal("a failed apply is not reported as unfinished")
	}
	if len(got) != 1 || m.summary() != "" {
		t.Fatalf("a failed apply remembered: %+v", got[1:])
	}
	run(applyFinishedMsg{gen: s.gen, result: &steps.Result{Realm: in.Realm}})
	if len(got) != 2 || got[1].Inputs.Realm != in.Realm || !got[1].Inputs.AllNodes {
		t.Fatalf("after the apply: %+v", got)
	}
	// Quitting here still prints what was set up, and is a success.
	if m.unfinished || !strings.Contains(m.summary(), "is set up") {
		t.Fatalf("summary %q", m.summary())
	}
}

// TestDoneNoOfferWhenAlreadyInGroup: a first login by a user who is in
// the admin group already closes the loop without the "add?" question.
func TestDoneNoOfferWhenAlreadyInGroup(t *testing.T) {
	for _, c := range []struct {
		groups []string
		want   loginState
	}{{nil, loginSeen}, {[]string{"admin"}, loginAdded}} {
		m := goldenModel(t, scrDone, func(c *common) screen {
			return newDoneScreen(c, nil, fxInputs(), steps.Conn{}, &steps.Result{Realm: "authentik"}, false)
		})
		s := m.screens[scrDone].(*doneScreen)
		s.state, s.who = loginSeen, "carol@example.com@authentik"
		send(m, userRightsMsg{gen: s.gen, userid: s.who, groups: c.groups})
		if s.state != c.want {
			t.Fatalf("groups %v: state %v, want %v", c.groups, s.state, c.want)
		}
		v := m.View()
		if offered := strings.Contains(v, "y / n"); offered != (c.want == loginSeen) {
			t.Fatalf("groups %v: offer shown %v:\n%s", c.groups, offered, v)
		}
		if c.want == loginAdded && !strings.Contains(v, `is already in "admin"`) {
			t.Fatalf("view:\n%s", v)
		}
	}
}

// TestWelcomeFitsNarrowTerminals: below the 80 columns the design is for,
// the welcome text wraps instead of pushing the header off the screen.
func TestWelcomeFitsNarrowTerminals(t *testing.T) {
	m := goldenModel(t, scrWelcome, func(c *common) screen { return newWelcome(c, steps.Conn{}) })
	send(m, tea.WindowSizeMsg{Width: 60, Height: 24})
	v := m.View()
	checkFits(t, v, 60, 24)
	if !strings.Contains(v, "pvesso · Welcome") || !strings.Contains(v, "You need") {
		t.Fatalf("view:\n%s", v)
	}
}

// runCmds runs cmd and the commands of any batch it returns (one result
// each; nothing is fed back).
func runCmds(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	if b, ok := cmd().(tea.BatchMsg); ok {
		for _, c := range b {
			runCmds(c)
		}
	}
}

// TestURLCheckedAsTyped: while the URL field has focus the screen shows
// the normalised address, or what is wrong with it, without waiting for
// the field to be left.
func TestURLCheckedAsTyped(t *testing.T) {
	m := goldenModel(t, scrProxmox, func(c *common) screen {
		s := newConnScreen(c, sideProxmox, steps.Conn{})
		_ = s.edit()
		return s
	})
	s := m.screens[scrProxmox].(*connScreen)
	for _, c := range []struct{ typed, want string }{
		{"pve.lan", "→ pvesso will use https://pve.lan:8006"},
		{"http://pve.lan", "✗"},
		{"https://pve.lan:8006", ""},
	} {
		s.url = c.typed
		got := s.urlPreview()
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%q: preview %q, want %q", c.typed, got, c.want)
		}
	}
	s.url = "pve.lan"
	if v := m.View(); !strings.Contains(v, "https://pve.lan:8006") {
		t.Fatalf("view:\n%s", v)
	}
}

// TestDoneDeclineLeavesUserAsIs: n on the "add?" question changes
// nothing, says so, and enter finishes.
func TestDoneDeclineLeavesUserAsIs(t *testing.T) {
	m := goldenModel(t, scrDone, func(c *common) screen {
		return newDoneScreen(c, nil, fxInputs(), steps.Conn{}, &steps.Result{Realm: "authentik"}, false)
	})
	s := m.screens[scrDone].(*doneScreen)
	s.state, s.who = loginSeen, "carol@example.com@authentik"
	if cmd := send(m, runes("n")); cmd != nil {
		t.Fatalf("n started %T", cmd())
	}
	v := m.View()
	if s.state != loginAdded || !strings.Contains(v, "carol@example.com@authentik logged in; left without group") || strings.Contains(v, "y / n") {
		t.Fatalf("view:\n%s", v)
	}
	cmd := send(m, keyOf(tea.KeyEnter))
	if cmd == nil {
		t.Fatal("enter does not finish")
	}
	if _, ok := cmd().(quitMsg); !ok {
		t.Fatal("enter does not quit")
	}
}
