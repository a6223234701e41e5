package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

// The accessible mode (TERM=dumb, Options.Accessible) asks one question
// per line with huh's accessible prompts and prints results as plain
// lines: no cursor movement, no colour, nothing redrawn. It walks the same
// path as the TUI and uses the same commands.

// lineReader hands out at most one line per Read, so that each huh prompt
// (which wraps the reader in its own bufio.Scanner) sees only its answer,
// also when the answers come through a pipe.
type lineReader struct{ r io.Reader }

func (l lineReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	for n < len(p) {
		k, err := l.r.Read(p[n : n+1])
		n += k
		if err != nil {
			return n, err
		}
		if k == 1 && p[n-1] == '\n' {
			break
		}
	}
	return n, nil
}

type accessible struct {
	ctx  context.Context
	c    *common
	w    io.Writer
	r    io.Reader
	conn steps.Conn
	in   steps.Inputs
	cl   *steps.Clients
}

// errNoAnswer ends the accessible run when input ends (EOF).
var errNoAnswer = errors.New("no answer (input ended)")

func runAccessible(ctx context.Context, opts Options, log *debugLog) error {
	r := lipgloss.NewRenderer(opts.Output)
	r.SetColorProfile(termenv.Ascii)
	opts.Renderer = r
	c := &common{ctx: ctx, opts: opts, st: NewStyles(r, DefaultTheme()), log: log, width: 80, height: 1000}
	c.bodyH = 1000
	a := &accessible{ctx: ctx, c: c, w: opts.Output, r: lineReader{opts.Input}, conn: opts.Conn, in: opts.Inputs}
	return a.run()
}

func (a *accessible) printf(format string, args ...any) { fmt.Fprintf(a.w, format, args...) }

func (a *accessible) section(title string) { a.printf("\n== %s ==\n", title) }

func (a *accessible) confirm(title string, def bool) (bool, error) {
	v := def
	if err := huh.NewConfirm().Title(title).Value(&v).RunAccessible(a.w, a.r); err != nil {
		return false, err
	}
	return v, nil
}

func (a *accessible) input(title, def string, validate func(string) error) (string, error) {
	v := def
	f := huh.NewInput().Title(title).Value(&v)
	if validate != nil {
		f = f.Validate(validate)
	}
	if err := f.RunAccessible(a.w, a.r); err != nil {
		return "", err
	}
	return v, nil
}

func (a *accessible) secret(title string, validate func(string) error) (string, error) {
	var v string
	if err := huh.NewInput().Title(title).EchoMode(huh.EchoModePassword).Value(&v).Validate(validate).RunAccessible(a.w, a.r); err != nil {
		return "", fmt.Errorf("%w (give secrets through the environment instead)", err)
	}
	return v, nil
}

func (a *accessible) run() error {
	a.printf("%s\n", newWelcome(a.c, a.conn).view())
	if err := a.connect(sideProxmox); err != nil {
		return err
	}
	if err := a.connect(sideAuthentik); err != nil {
		return err
	}
	a.section("Reading both servers")
	msg := discover(a.ctx, 0, a.conn, a.in, a.c.opts.EngineOptions)().(discoveredMsg)
	for try := 0; msg.tfa != nil && try < 3; try++ {
		// Proxmox asked for a second factor: ask for the code, read again.
		cs := newConnScreen(a.c, sideProxmox, a.conn)
		cs.requireOTP(msg.tfa.methods)
		if !cs.needOTP {
			return fmt.Errorf("%s", cs.errText)
		}
		// A plain prompt: huh's password prompt needs a terminal, and a
		// one-time code is worthless in a minute (it is redacted from the
		// debug log all the same).
		code, err := a.input(fmt.Sprintf("Proxmox asks %s for a second factor. TOTP code (or recovery:KEY):", a.conn.ProxmoxUser), "", validateNonEmpty("TOTP code"))
		if err != nil {
			return err
		}
		a.conn.ProxmoxOTP = strings.TrimSpace(code)
		a.c.log.addSecret(a.conn.ProxmoxOTP)
		msg = discover(a.ctx, 0, a.conn, a.in, a.c.opts.EngineOptions)().(discoveredMsg)
	}
	if msg.tfa != nil {
		return errors.New("Proxmox still asks for a second factor: check the code, or use an API token")
	}
	if msg.err != nil {
		a.printf("%s", errorBlock(a.c.st, msg.err))
		return msg.err
	}
	if !connected(msg.report) {
		a.printf("%s", checkLines(a.c.st, msg.report.Failed()))
		return errors.New("could not read both servers: fix the ✗ items and run pvesso again")
	}
	a.cl = msg.clients
	if msg.inputs != nil {
		a.in = *msg.inputs
	}
	if setupExists(msg.facts) {
		return a.menu(msg)
	}
	if err := a.options(msg); err != nil {
		return err
	}
	return a.setup(planSetup)
}

// connect asks for one side's URL and credentials (unless prefilled),
// checks TLS and asks before pinning.
func (a *accessible) connect(sd side) error {
	s := newConnScreen(a.c, sd, a.conn)
	a.section(s.title())
	for attempt := 0; attempt < 3; attempt++ {
		if !s.complete() {
			if err := a.askConn(s); err != nil {
				return err
			}
		}
		s.url = s.normalized()
		ce, err := probe(a.ctx, s.url, s.trustConfig())
		switch {
		case ce != nil:
			s.cert = ce
			a.printf("%s", s.trustView())
			ok, cerr := a.confirm("Trust and pin this certificate?", false)
			if cerr != nil {
				return cerr
			}
			if !ok {
				return fmt.Errorf("the certificate of %s is not trusted", ce.Host)
			}
			s.pin = ce.Fingerprint
			if a.c.opts.Remember != nil {
				_ = a.c.opts.Remember(Remembered{ProxmoxURL: a.conn.ProxmoxURL, ProxmoxPin: pinIf(sd == sideProxmox, s.pin, a.conn.ProxmoxPin),
					AuthentikURL: a.conn.AuthentikURL, AuthentikPin: pinIf(sd == sideAuthentik, s.pin, a.conn.AuthentikPin)})
			}
			continue
		case err != nil:
			a.printf("%s %s\n", glyphFail, err)
			s.url = ""
			continue
		}
		msg := s.done()().(connDoneMsg)
		a.apply(msg)
		a.printf("%s %s answers over TLS.\n", glyphOK, s.url)
		return nil
	}
	return fmt.Errorf("could not connect to %s", sd)
}

func pinIf(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

func (a *accessible) apply(msg connDoneMsg) {
	c := msg.conn
	switch msg.side {
	case sideProxmox:
		a.conn.ProxmoxURL, a.conn.ProxmoxToken, a.conn.ProxmoxPin = c.ProxmoxURL, c.ProxmoxToken, c.ProxmoxPin
		a.conn.ProxmoxUser, a.conn.ProxmoxPassword, a.conn.ProxmoxOTP = c.ProxmoxUser, c.ProxmoxPassword, c.ProxmoxOTP
		a.in.ProxmoxURL = c.ProxmoxURL
		a.c.log.addSecret(c.ProxmoxToken, c.ProxmoxPassword, c.ProxmoxOTP)
		if i := strings.LastIndex(c.ProxmoxToken, "="); i >= 0 {
			a.c.log.addSecret(c.ProxmoxToken[i+1:]) // the secret alone, as the TUI does
		}
	case sideAuthentik:
		a.conn.AuthentikURL, a.conn.AuthentikToken, a.conn.AuthentikPin = c.AuthentikURL, c.AuthentikToken, c.AuthentikPin
		a.in.AuthentikURL = c.AuthentikURL
		a.c.log.addSecret(c.AuthentikToken)
	}
}

func (a *accessible) askConn(s *connScreen) error {
	var err error
	switch s.side {
	case sideProxmox:
		if s.url, err = a.input("Proxmox URL (e.g. https://pve.lan:8006):", s.url, func(v string) error { _, e := normalizeProxmoxURL(v); return e }); err != nil {
			return err
		}
		if s.token == "" && s.password == "" {
			usePw, err := a.confirm("Log in with the root password instead of an API token?", false)
			if err != nil {
				return err
			}
			if usePw {
				s.method = authPassword
			}
		}
		if s.method == authPassword {
			if s.user, err = a.input("User (e.g. root@pam):", s.user, validateProxmoxUser); err != nil {
				return err
			}
			// A TOTP code is asked for only when Proxmox asks for one.
			s.password, err = a.secret("Password:", validateNonEmpty("password"))
			return err
		}
		s.token, err = a.secret("API token (USER@REALM!TOKENID=SECRET):", validateProxmoxToken)
	case sideAuthentik:
		if s.url, err = a.input("Authentik URL (e.g. https://auth.lan):", s.url, func(v string) error { _, e := normalizeAuthentikURL(v); return e }); err != nil {
			return err
		}
		s.token, err = a.secret("Authentik API token:", validateAuthentikToken)
	}
	return err
}

// options shows the defaults and lets the user change them.
func (a *accessible) options(msg discoveredMsg) error {
	a.section("Options")
	o := newOptionsScreen(a.c, a.in, msg.facts, msg.akUsers)
	in := o.inputs()
	a.printf("Realm %s, group %s (%s on %s), subject mode %s, username claim %s\n", in.Realm, in.Group, in.Role, in.ACLPath, in.SubjectMode, in.UsernameClaim)
	a.printf("%s\n", strings.TrimSpace(o.preview(in)))
	for _, it := range o.keys.items {
		switch {
		case it.disabled:
			a.printf("Signing key %s: not usable: %s\n", it.label, it.reason)
		case it.checked:
			a.printf("Signing key %s: %s (chosen)\n", it.label, it.detail)
		}
	}
	keep, err := a.confirm("Use these options?", true)
	if err != nil {
		return err
	}
	if !keep {
		if in.Realm, err = a.input("Realm name:", in.Realm, validateRealm); err != nil {
			return err
		}
		if in.Group, err = a.input("Admin group:", in.Group, validateGroup); err != nil {
			return err
		}
		var eligible []huh.Option[string]
		for _, it := range o.keys.items {
			if !it.disabled {
				eligible = append(eligible, huh.NewOption(it.label+" — "+it.detail, it.value))
			}
		}
		if len(eligible) > 1 {
			if err := huh.NewSelect[string]().Title("Signing key:").Options(eligible...).Value(&in.SigningKey).RunAccessible(a.w, a.r); err != nil {
				return err
			}
		}
		if err := huh.NewSelect[string]().Title("Subject mode:").Options(huh.NewOptions(steps.SubjectModes...)...).Value(&in.SubjectMode).RunAccessible(a.w, a.r); err != nil {
			return err
		}
		if err := huh.NewSelect[string]().Title("Username claim:").Options(huh.NewOptions(steps.UsernameClaims...)...).Value(&in.UsernameClaim).RunAccessible(a.w, a.r); err != nil {
			return err
		}
	}
	users, err := a.input("Authentik users to add to the group now (comma-separated, empty for none):", strings.Join(in.Users, ","), nil)
	if err != nil {
		return err
	}
	in.Users = splitList(users)
	a.in = in
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// setup runs checks, plan and apply (mode setup or remove), then the
// login test.
func (a *accessible) setup(mode planMode) error {
	st := a.c.st
	if mode == planSetup {
		a.section("Checks")
		cm := runChecks(a.ctx, 0, a.cl, a.in, a.c.opts.EngineOptions)().(checksDoneMsg)
		if cm.report != nil {
			a.printf("%s", checkLines(st, cm.report.Checks))
		}
		if cm.err != nil || !cm.report.OK() {
			if cm.err != nil {
				a.printf("%s", errorBlock(st, cm.err))
			}
			return errors.New("checks failed: fix the ✗ items and run pvesso again")
		}
	}
	a.section("Plan")
	pm := buildPlan(a.ctx, 0, mode, a.cl, a.in, a.c.opts.EngineOptions)().(planReadyMsg)
	if pm.err != nil {
		a.printf("%s", errorBlock(st, pm.err))
		return pm.err
	}
	ps := &planScreen{c: a.c, mode: mode, plan: pm.plan}
	a.printf("%s\n%s", ps.summaryLine(), planLines(st, pm.plan, a.c.contentWidth()))
	if !pm.plan.HasChanges() {
		if len(pm.plan.Problems) > 0 {
			// Nothing pvesso could change fixes these (planLines printed
			// them with their reasons); the login test would fail.
			return fmt.Errorf("the setup does not work as it is: %s", strings.Join(pm.plan.Problems, "; "))
		}
		if mode == planSetup {
			a.remember()
			return a.done(&steps.Result{Realm: a.in.Realm})
		}
		return nil
	}
	consent := false
	if n := ps.conflicts(); n > 0 {
		ok, err := a.confirm(fmt.Sprintf("%d object(s) exist with other settings. Change them as shown?", n), false)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("nothing applied: conflicts were not accepted")
		}
		consent = true
	}
	q := "Apply this plan?"
	if mode == planRemove {
		q = "Remove these objects?"
	}
	ok, err := a.confirm(q, mode != planRemove)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	a.section("Apply")
	started := startApply(a.ctx, 0, mode, pm.engine, pm.orig, consent || mode == planRemove)().(applyStartedMsg)
	defer started.cancel()
	var res *steps.Result
	for {
		switch m := waitForApply(0, started.events)().(type) {
		case applyEventMsg:
			a.printEvent(m.ev)
			continue
		case applyFinishedMsg:
			if m.err != nil {
				a.printf("%s", errorBlock(st, m.err))
				return m.err
			}
			res = m.result
		}
		break
	}
	if mode == planRemove {
		a.printf("%s Removed.\n", glyphOK)
		return nil
	}
	a.remember()
	return a.done(res)
}

// remember hands the connection and the applied choices to the config
// file, as the full-screen wizard does after an apply.
func (a *accessible) remember() {
	if a.c.opts.Remember == nil {
		return
	}
	r := Remembered{AuthentikURL: a.conn.AuthentikURL, AuthentikPin: a.conn.AuthentikPin,
		ProxmoxURL: a.conn.ProxmoxURL, ProxmoxPin: a.conn.ProxmoxPin, Inputs: a.in}
	if err := a.c.opts.Remember(r); err != nil {
		a.c.log.printf("remember: %v", err)
	}
}

func (a *accessible) printEvent(ev steps.Event) {
	t := ev.Title
	if t == "" {
		t = stepTitle(ev.Step)
	}
	switch ev.Phase {
	case steps.PhaseStart:
		return
	case steps.PhaseDone:
		a.printf("%s %s", glyphOK, t)
	case steps.PhaseNone:
		a.printf("%s %s: nothing to do\n", glyphNone, t)
		return
	case steps.PhaseFail:
		a.printf("%s %s", glyphFail, t)
	}
	if ev.Message != "" {
		a.printf(": %s", ev.Message)
	}
	a.printf("\n")
}

// done prints the summary and runs the login test.
func (a *accessible) done(res *steps.Result) error {
	a.section("Done")
	ds := newDoneScreen(a.c, a.cl, a.in, a.conn, res, false)
	a.printf("%s", strings.SplitN(ds.view(), "Login test", 2)[0])
	base := listRealmUsers(a.ctx, 0, a.cl, a.in, a.c.opts.EngineOptions)().(realmUsersMsg)
	seen := map[string]bool{}
	for _, u := range base.users {
		seen[u] = true
	}
	demo := a.c.opts.Demo != nil && a.c.opts.Demo.SimulateLogin != nil
	if demo {
		sim, err := a.confirm(fmt.Sprintf("Simulate %s logging in (demo, no browser)?", ds.demoUser()), true)
		if err != nil {
			return err
		}
		if sim {
			u := fetchLoginURL(a.ctx, a.cl, a.in, a.c.opts.EngineOptions, "")().(loginURLMsg)
			if u.err == nil {
				if err := a.c.opts.Demo.SimulateLogin(a.ctx, u.url, ds.demoUser()); err != nil {
					a.printf("%s simulated login failed: %v\n", glyphFail, err)
				}
			}
		}
	} else {
		open, err := a.confirm("Open a private browser window to test the login?", true)
		if err != nil {
			return err
		}
		if !open {
			return nil
		}
		u := fetchLoginURL(a.ctx, a.cl, a.in, a.c.opts.EngineOptions, ds.fallbackURL())().(loginURLMsg)
		opened := browserOpenedMsg{err: browser.ErrNoDisplay}
		if u.err == nil && !a.c.opts.NoBrowser {
			opened = openBrowser(a.ctx, a.c.opts.Launcher, u.url)().(browserOpenedMsg)
		}
		switch {
		case opened.err != nil:
			a.printf("No browser can be opened here. In a private window, open %s and log in with the realm %q.\n", a.in.ProxmoxURL, a.in.Realm)
		case opened.opened.Private:
			a.printf("%s Opened a private %s window.\n", glyphOK, orDefault(opened.opened.Browser, "browser"))
		default:
			a.printf("%s\n", opened.opened.Note)
		}
	}
	a.printf("Waiting for the first login through the realm %q (ctrl+c stops) …\n", a.in.Realm)
	who, err := a.waitLogin(seen)
	if err != nil {
		return err
	}
	ds.who = who
	r := lookupRights(a.ctx, 0, a.cl, a.in, a.c.opts.EngineOptions, who)().(userRightsMsg)
	ds.rights = &r
	a.printf("%s %s logged in.\n%s", glyphOK, who, ds.rightsView())
	if r.err == nil && slices.Contains(r.groups, a.in.Group) {
		a.printf("%s %s is already in %q.\nThe closed loop works: Authentik → Proxmox → rights.\n", glyphOK, who, a.in.Group)
		return nil
	}
	add, err := a.confirm(fmt.Sprintf("Add %s to %q (%s on %s)?", who, a.in.Group, a.in.Role, a.in.ACLPath), true)
	if err != nil || !add {
		return err
	}
	um := addUsers(a.ctx, 0, a.cl, a.in, a.c.opts.EngineOptions, []string{ds.authentikName(who)})().(usersAddedMsg)
	if um.err != nil {
		a.printf("%s", errorBlock(a.c.st, um.err))
		return um.err
	}
	r = lookupRights(a.ctx, 0, a.cl, a.in, a.c.opts.EngineOptions, who)().(userRightsMsg)
	ds.rights = &r
	a.printf("%s %s is now in %q.\n%s", glyphOK, who, a.in.Group, ds.rightsView())
	a.printf("The closed loop works: Authentik → Proxmox → rights.\n")
	return nil
}

// maxLoginWait bounds the wait for the first login in line mode.
const maxLoginWait = 15 * time.Minute

func (a *accessible) waitLogin(seen map[string]bool) (string, error) {
	ctx, cancel := context.WithTimeout(a.ctx, maxLoginWait)
	defer cancel()
	t := time.NewTicker(a.c.opts.PollInterval)
	defer t.Stop()
	for {
		m := listRealmUsers(ctx, 0, a.cl, a.in, a.c.opts.EngineOptions)().(realmUsersMsg)
		if m.err == nil {
			for _, u := range m.users {
				if !seen[u] {
					return u, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no login within %s: %w", maxLoginWait, ctx.Err())
		case <-t.C:
		}
	}
}

// menu is the rerun menu in line mode.
func (a *accessible) menu(msg discoveredMsg) error {
	a.section("Already set up")
	ms := newMenuScreen(a.c, a.cl, a.in, msg.facts, msg.status, msg.akUsers, msg.realmUsers)
	var opts []huh.Option[menuChoice]
	for _, e := range ms.entries {
		opts = append(opts, huh.NewOption(e.label, e.choice))
	}
	choice := ms.entries[ms.cursor].choice
	if err := huh.NewSelect[menuChoice]().Title("What now?").Options(opts...).Value(&choice).RunAccessible(a.w, a.r); err != nil {
		return err
	}
	switch choice {
	case menuAddUsers:
		us := newUsersScreen(a.c, a.cl, a.in, msg.akUsers, msg.realmUsers)
		for i, it := range us.list.items {
			a.printf("%d. %s %s\n", i+1, it.label, it.detail)
		}
		names, err := a.input("Users to add (names, comma-separated):", "", validateNonEmpty("user names"))
		if err != nil {
			return err
		}
		um := addUsers(a.ctx, 0, a.cl, a.in, a.c.opts.EngineOptions, splitList(names))().(usersAddedMsg)
		if um.err != nil {
			a.printf("%s", errorBlock(a.c.st, um.err))
			return um.err
		}
		a.printf("%s In %q now: %s\n", glyphOK, a.in.Group, strings.Join(um.result.Users, ", "))
		return nil
	case menuStatus:
		pm := buildPlan(a.ctx, 0, planStatus, a.cl, a.in, a.c.opts.EngineOptions)().(planReadyMsg)
		if pm.err != nil {
			a.printf("%s", errorBlock(a.c.st, pm.err))
			return pm.err
		}
		ps := &planScreen{c: a.c, mode: planStatus, plan: pm.plan}
		a.printf("%s\n%s", ps.summaryLine(), planLines(a.c.st, pm.plan, a.c.contentWidth()))
		return nil
	case menuRepair:
		return a.setup(planSetup)
	case menuOptions:
		if err := a.options(msg); err != nil {
			return err
		}
		return a.setup(planSetup)
	case menuRemove:
		return a.setup(planRemove)
	case menuQuit:
	}
	return nil
}
