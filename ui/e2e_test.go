package ui

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/pvesso/pvesso/internal/demo"
	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

// waitText waits until the program's output contains all of texts and
// returns what it read. The output stream is consumed, so each wait looks
// at new frames only.
func waitText(t *testing.T, tm *teatest.TestModel, texts ...string) string {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		s := seen.String()
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	return seen.String()
}

func keyOf(k tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: k} }
func runes(s string) tea.KeyMsg      { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// keyCounter counts what a test sends: characters typed into fields and
// navigation keys.
type keyCounter struct {
	tm         *teatest.TestModel
	typedChars int
	values     int
	nav        int
}

func (k *keyCounter) typeValue(s string) { k.tm.Type(s); k.typedChars += len(s); k.values++ }
func (k *keyCounter) press(m tea.KeyMsg) { k.tm.Send(m); k.nav++ }

func startDemo(t *testing.T) (*demo.Demo, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	t.Cleanup(cancel)
	d, err := demo.Start(ctx, demo.Options{RandomPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d, ctx
}

func testOptions(out io.Writer) Options {
	return Options{
		Output:       out,
		Input:        strings.NewReader(""),
		Getenv:       func(string) string { return "" },
		PollInterval: 20 * time.Millisecond,
		Renderer:     asciiRenderer(),
		// tests stay on loopback: node names are not looked up
		EngineOptions: []steps.Option{steps.WithResolver(NoLookup)},
	}
}

// TestE2EFreshSetupToClosedLoop walks a new user from the welcome screen
// to the done screen against both simulators: nothing prefilled but the
// defaults, so the user types the two URLs and the two tokens, pins both
// (self-signed) certificates after seeing their fingerprints, accepts
// every default, opens the login test (a recording launcher whose
// "browser" logs alice in through the simulators) and adds alice to the
// admin group when her first login shows up.
func TestE2EFreshSetupToClosedLoop(t *testing.T) {
	stray := captureStdio(t) // nothing may reach the real terminal
	d, ctx := startDemo(t)
	opened := make(chan string, 4)
	rec := &browser.Recorder{Result: browser.Opened{Browser: "Firefox", Private: true}}
	rec.OnOpen = func(u string) {
		who, err := d.SimulateLogin(ctx, u, "alice")
		if err != nil {
			t.Errorf("simulated login: %v", err)
		}
		opened <- who
	}
	var remembered []Remembered
	opts := testOptions(nil)
	opts.Launcher = rec
	opts.Remember = func(r Remembered) error { remembered = append(remembered, r); return nil }

	m := New(ctx, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	k := &keyCounter{tm: tm}

	waitText(t, tm, "You need")
	k.press(keyOf(tea.KeyEnter))

	// Proxmox: URL, method (default token), token.
	waitText(t, tm, "Proxmox URL")
	k.typeValue(d.Conn.ProxmoxURL)
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "┃ Log in with")
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "USER@REALM!TOKENID=SECRET")
	k.typeValue(d.Conn.ProxmoxToken)
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "pvenode cert info", d.Conn.ProxmoxPin[:48])
	k.press(runes("y"))

	// Authentik: URL, token.
	waitText(t, tm, "Authentik URL")
	k.typeValue(d.Conn.AuthentikURL)
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "┃ API token") // focus moved (huh marks the focused field)
	k.typeValue(d.Conn.AuthentikToken)
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "System → Certificates", d.Conn.AuthentikPin[:48])
	k.press(runes("y"))

	// Options: defaults; the preview uses a real Authentik user.
	waitText(t, tm, "preview:", "alice@example.com@authentik")
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "All checks passed")
	k.press(keyOf(tea.KeyEnter))
	// The plan's count and the apply's agree; the auth-url request (a
	// write, but no object) is named separately.
	waitText(t, tm, "Plan: 5 to create")
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "Done: 5 created, as planned.", "test login (auth-url)")
	k.press(keyOf(tea.KeyEnter))

	// Done: open the login test; the first login shows up.
	waitText(t, tm, "Open a private browser window")
	k.press(runes("o"))
	select {
	case who := <-opened:
		if who != "alice@example.com@authentik" {
			t.Fatalf("simulated browser logged in as %q", who)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the launcher was not used")
	}
	waitText(t, tm, "alice@example.com@authentik", "logged in.", "Privileges on /:")
	k.press(runes("y"))
	waitText(t, tm, "is now in \"admin\"", "(Permissions.Modify")
	k.press(keyOf(tea.KeyEnter))

	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)

	// The launcher opened a Proxmox auth-url link (Authentik authorize).
	urls := rec.URLs()
	if len(urls) != 1 || !strings.HasPrefix(urls[0], d.Conn.AuthentikURL+"/application/o/authorize/") {
		t.Fatalf("launcher URLs = %v", urls)
	}
	// Proxmox now has alice in the admin group.
	found := false
	for _, u := range d.Proxmox.Users() {
		if u.UserID == "alice@example.com@authentik" {
			found = contains(u.Groups, "admin")
		}
	}
	if !found {
		t.Fatalf("alice is not in admin: %+v", d.Proxmox.Users())
	}
	// Both pins were remembered, and nothing secret was handed over.
	last := remembered[len(remembered)-1]
	if last.ProxmoxPin != d.Conn.ProxmoxPin || last.AuthentikPin != d.Conn.AuthentikPin || last.ProxmoxURL != d.Conn.ProxmoxURL {
		t.Fatalf("remembered %+v", last)
	}
	// Typed values: exactly the two URLs and the two tokens.
	if k.values != 4 || fm.Typed() != k.typedChars {
		t.Fatalf("typed %d values / %d chars, model counted %d chars", k.values, k.typedChars, fm.Typed())
	}
	t.Logf("default setup: %d typed values (%d characters), %d other keys", k.values, k.typedChars, k.nav)
	if fm.summary() == "" || !strings.Contains(fm.summary(), "realm authentik") {
		t.Fatalf("summary %q", fm.summary())
	}
	if out := stray(); out != "" {
		t.Fatalf("written to stdout/stderr while the TUI ran: %q", out)
	}
}

// captureStdio points os.Stdout and os.Stderr at a pipe until the returned
// function is called (or the test ends) and returns what was written.
func captureStdio(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, r); close(copied) }()
	var once sync.Once
	stop := func() string {
		once.Do(func() {
			os.Stdout, os.Stderr = oldOut, oldErr
			w.Close()
			<-copied
			r.Close()
		})
		return buf.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestE2ERerunAddsBob: with the setup in place and the connection
// prefilled, the wizard opens the rerun menu; the user adds bob to the
// admin group.
func TestE2ERerunAddsBob(t *testing.T) {
	d, ctx := startDemo(t)
	// A previous run set everything up, with alice in the admin group.
	c, err := steps.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	in := d.Inputs
	in.Users = []string{"alice"}
	e := steps.New(c, in)
	p, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, p, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}

	opts := DemoOptions(d, testOptions(nil))
	m := New(ctx, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	k := &keyCounter{tm: tm}
	waitText(t, tm, "Demo:")
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "setup exists on both sides", "Healthy", `realm "authentik": 1 user, 1 in "admin"`, `Add users to "admin"`)
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "Authentik users", "bob")
	// akadmin, alice, bob: pick alice (already in the group) and bob.
	k.press(keyOf(tea.KeyDown))
	k.press(runes(" "))
	k.press(keyOf(tea.KeyDown))
	k.press(runes(" "))
	waitText(t, tm, "[x] bob")
	k.press(keyOf(tea.KeyEnter))
	// The users plan says per user what happened.
	waitText(t, tm, "bob@example.com@authentik created", "alice@example.com@authentik was already in", "bob@example.com@authentik  ✓ in admin")
	// Back on the menu, the figures are read again.
	tm.Send(keyOf(tea.KeyEsc))
	waitText(t, tm, `realm "authentik": 2 users, 2 in "admin"`)
	tm.Send(runes("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	for _, u := range d.Proxmox.Users() {
		if u.UserID == "bob@example.com@authentik" {
			if !contains(u.Groups, "admin") {
				t.Fatalf("bob's groups %v", u.Groups)
			}
			return
		}
	}
	t.Fatalf("bob was not created: %+v", d.Proxmox.Users())
}

// TestE2EBadTokenStopsBeforeOptions: a revoked Authentik token is caught
// on the "reading" screen with the fix; esc goes back to the connection.
func TestE2EBadTokenStopsBeforeOptions(t *testing.T) {
	d, ctx := startDemo(t)
	opts := DemoOptions(d, testOptions(nil))
	opts.Conn.AuthentikToken = "not-a-valid-token"
	m := New(ctx, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "Demo:")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "Could not read both servers", "Authentik reachable", "fix:")
	tm.Send(keyOf(tea.KeyEsc))
	waitText(t, tm, "Authentik URL", "API token")
	tm.Send(keyOf(tea.KeyCtrlC))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if fm.cur != scrAuthentik {
		t.Fatalf("ended on %s", fm.cur)
	}
	if d.Authentik.Kit().Writes() != 0 || d.Proxmox.Kit().Writes() != 0 {
		t.Fatal("something was written before the checks passed")
	}
}

// TestE2EApplyFailureAndRetry: Proxmox refuses the realm once; the apply
// screen shows the server's message and the fix; r re-plans and finishes
// (what was done is not done again).
func TestE2EApplyFailureAndRetry(t *testing.T) {
	d, ctx := startDemo(t)
	d.Proxmox.Kit().InjectFault(simkit.Fault{Method: "POST", Path: "/api2/json/access/domains", Kind: simkit.FaultStatus,
		Status: 500, Body: `{"data":null,"message":"simulated: cannot write /etc/pve/domains.cfg\n"}`})
	opts := DemoOptions(d, testOptions(nil))
	m := New(ctx, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "Demo:")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "preview:")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "All checks passed")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "to create")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "A step failed", "domains.cfg", "Press r to retry")
	writes := d.Authentik.Kit().Writes()
	tm.Send(runes("r"))
	waitText(t, tm, "created, as planned.")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "Single sign-on is set up")
	tm.Send(runes("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if !hasRealm(d, "authentik") {
		t.Fatal("no realm after the retry")
	}
	// The provider and application were made in the first run: the retry
	// did not create them again.
	if n := len(d.Authentik.Providers()); n != 1 {
		t.Fatalf("%d providers", n)
	}
	if d.Authentik.Kit().Writes() > writes+1 {
		t.Fatalf("the retry rewrote Authentik: %d writes before, %d after", writes, d.Authentik.Kit().Writes())
	}
}

// TestE2ERemoveAsksFirst: the rerun menu's Remove shows what would be
// deleted and needs y before enter removes it.
func TestE2ERemoveAsksFirst(t *testing.T) {
	d, ctx := startDemo(t)
	c, err := steps.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	e := steps.New(c, d.Inputs)
	p, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, p, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	m := New(ctx, DemoOptions(d, testOptions(nil)))
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "Demo:")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "setup exists on both sides")
	tm.Send(runes("5"))
	waitText(t, tm, "to remove", "y / n")
	tm.Send(keyOf(tea.KeyEnter)) // refused without consent
	time.Sleep(100 * time.Millisecond)
	if !hasRealm(d, "authentik") {
		t.Fatal("removed without consent")
	}
	tm.Send(runes("y"))
	waitText(t, tm, "enter removes them")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "removed, as planned.")
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "Removed.")
	tm.Send(keyOf(tea.KeyEnter))
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if hasRealm(d, "authentik") {
		t.Fatal("the realm is still there")
	}
	if n := len(d.Authentik.Providers()); n != 0 {
		t.Fatalf("%d providers left", n)
	}
}

func hasRealm(d *demo.Demo, realm string) bool {
	for _, r := range d.Proxmox.Realms() {
		if r.Realm == realm {
			return true
		}
	}
	return false
}

// TestE2EPasswordAsksTOTPOnlyWhenProxmoxDoes: root@pam logs in with a
// password and has TOTP. The Proxmox form has no TOTP field; Proxmox's
// challenge brings the wizard back to the Proxmox screen with the TOTP
// field alone; after the code the (prefilled) Authentik side is passed
// without a key press and the options show.
func TestE2EPasswordAsksTOTPOnlyWhenProxmoxDoes(t *testing.T) {
	d, ctx := startDemo(t)
	const secret = "JBSWY3DPEHPK3PXP"
	d.Proxmox.SetTOTP("root@pam", secret)
	opts := DemoOptions(d, testOptions(nil))
	opts.Conn.ProxmoxURL, opts.Conn.ProxmoxToken = "", "" // typed below; the pin stays
	opts.Inputs.ProxmoxURL = ""
	m := New(ctx, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	k := &keyCounter{tm: tm}
	waitText(t, tm, "Demo:")
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "Proxmox URL")
	k.typeValue(d.Conn.ProxmoxURL)
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "┃ Log in with")
	k.press(keyOf(tea.KeyDown)) // root password
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "┃ User")
	k.press(keyOf(tea.KeyEnter)) // root@pam, prefilled
	if out := waitText(t, tm, "┃ Password"); strings.Contains(out, "TOTP") {
		t.Fatal("the TOTP field shows before Proxmox asked")
	}
	k.typeValue(d.Proxmox.RootPassword())
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "Proxmox asks root@pam for a second factor", "┃ TOTP code", "esc: change the URL")
	k.typeValue(d.Proxmox.TOTPCode(secret))
	k.press(keyOf(tea.KeyEnter))
	waitText(t, tm, "preview:", "alice@example.com@authentik")
	tm.Send(runes("q"))
	tm.Send(keyOf(tea.KeyCtrlC))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if fm.conn.ProxmoxToken != "" || fm.conn.ProxmoxUser != "root@pam" || fm.conn.ProxmoxOTP == "" {
		t.Fatalf("conn user %q otp set %v token set %v", fm.conn.ProxmoxUser, fm.conn.ProxmoxOTP != "", fm.conn.ProxmoxToken != "")
	}
	// URL, password and code: three typed values, the Authentik side was
	// prefilled and needed no key.
	if k.values != 3 {
		t.Fatalf("typed %d values", k.values)
	}
}

// TestE2EProxmoxLoginFailureEscGoesToProxmox: a wrong Proxmox token is
// caught when both servers are read; esc goes straight to the Proxmox
// screen (not Authentik's), which says what failed; after the fix the
// complete Authentik side is passed without a key press.
func TestE2EProxmoxLoginFailureEscGoesToProxmox(t *testing.T) {
	d, ctx := startDemo(t)
	opts := DemoOptions(d, testOptions(nil))
	good := opts.Conn.ProxmoxToken
	opts.Conn.ProxmoxToken = good[:strings.LastIndex(good, "=")+1] + "00000000-0000-0000-0000-000000000000"
	m := New(ctx, opts)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitText(t, tm, "Demo:")
	tm.Send(keyOf(tea.KeyEnter))
	out := waitText(t, tm, "Could not read both servers", "esc to change the Proxmox connection")
	if strings.Contains(out, "PROXMOX_VE_API_TOKEN") {
		t.Fatal("the wizard names an environment variable the user never set")
	}
	tm.Send(keyOf(tea.KeyEsc))
	waitText(t, tm, "Where is Proxmox VE", "401")
	tm.Send(keyOf(tea.KeyEnter)) // URL
	waitText(t, tm, "┃ Log in with")
	tm.Send(keyOf(tea.KeyEnter)) // API token
	waitText(t, tm, "┃ API token")
	tm.Send(keyOf(tea.KeyCtrlU))
	tm.Type(good)
	tm.Send(keyOf(tea.KeyEnter))
	waitText(t, tm, "preview:")
	tm.Send(keyOf(tea.KeyCtrlC))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if fm.cur != scrOptions || fm.conn.ProxmoxToken != good {
		t.Fatalf("ended on %s", fm.cur)
	}
}
