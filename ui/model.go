package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/pvesso/pvesso/steps"
)

// screenID names a screen.
type screenID int

const (
	scrWelcome screenID = iota
	scrProxmox
	scrAuthentik
	scrDiscover
	scrMenu
	scrOptions
	scrChecks
	scrPlan
	scrApply
	scrDone
	scrUsers
)

func (s screenID) String() string {
	switch s {
	case scrWelcome:
		return "Welcome"
	case scrProxmox:
		return "Proxmox connection"
	case scrAuthentik:
		return "Authentik connection"
	case scrDiscover:
		return "Reading both servers"
	case scrMenu:
		return "Already set up"
	case scrOptions:
		return "Options"
	case scrChecks:
		return "Checks"
	case scrPlan:
		return "Plan"
	case scrApply:
		return "Apply"
	case scrDone:
		return "Done"
	case scrUsers:
		return "Admin users"
	}
	return "?"
}

// stepNumber places the setup screens in a "n/7" progress hint.
func (s screenID) stepNumber() int {
	switch s {
	case scrProxmox:
		return 1
	case scrAuthentik:
		return 2
	case scrOptions:
		return 3
	case scrChecks:
		return 4
	case scrPlan:
		return 5
	case scrApply:
		return 6
	case scrDone:
		return 7
	case scrWelcome, scrDiscover, scrMenu, scrUsers:
	}
	return 0
}

// screen is one page of the wizard. Screens are pointers that keep their
// own state (typed values survive going back); the root only routes.
type screen interface {
	init() tea.Cmd
	update(msg tea.Msg) tea.Cmd
	view() string
	// setKeys enables the bindings that work right now.
	setKeys(k *KeyMap)
	// capturesText is true while a text field has focus: q and ? type.
	capturesText() bool
	// handleBack gives the screen a chance to use esc itself (close a
	// prompt); false lets the root go back a screen.
	handleBack() bool
}

// common is what every screen may read.
type common struct {
	ctx    context.Context
	opts   Options
	st     Styles
	log    *debugLog
	width  int
	height int
	bodyH  int // rows available to a screen's view (set before each view)
	// rememberMu serialises the config writes (saveRemembered).
	rememberMu *sync.Mutex
}

// bodyHeight is the number of rows a screen may use.
func (c *common) bodyHeight() int {
	if c.bodyH > 0 {
		return c.bodyH
	}
	h := c.height
	if h <= 0 {
		h = 24
	}
	return h - 3
}

// contentWidth is the usable width (content is capped for readability).
func (c *common) contentWidth() int {
	w := c.width
	if w <= 0 {
		w = 80
	}
	if w > 100 {
		w = 100
	}
	return w - 2 // App padding
}

// Model is the root model: it owns the connection and the choices, routes
// messages to the current screen and moves between screens.
type Model struct {
	c *common

	conn    steps.Conn
	inputs  steps.Inputs
	clients *steps.Clients
	facts   steps.Facts

	screens map[screenID]screen
	cur     screenID
	history []screenID

	keys     KeyMap
	help     help.Model
	showHelp bool

	result  *steps.Result
	removed bool
	aborted bool
	// unfinished is set while the last apply failed or was cancelled
	// (and no later one succeeded): Run then reports ErrIncomplete.
	unfinished bool
	quitting   bool
	cancel     context.CancelFunc

	// typed counts runes typed into text fields (the "typed values" figure).
	typed int
	// resumeAuthentik: the wizard sent the user back to the Proxmox
	// screen (TOTP prompt, Proxmox login failed); a complete Authentik
	// screen is passed without a key press afterwards.
	resumeAuthentik bool
}

// New returns the wizard's root model (tests drive it with teatest).
func New(ctx context.Context, opts Options) *Model {
	opts = opts.withDefaults()
	return newModel(ctx, opts, &debugLog{})
}

func newModel(ctx context.Context, opts Options, log *debugLog) *Model {
	ctx, cancel := context.WithCancel(ctx)
	c := &common{ctx: ctx, opts: opts, st: NewStyles(opts.Renderer, DefaultTheme()), log: log, rememberMu: &sync.Mutex{}}
	m := &Model{
		c:       c,
		conn:    opts.Conn,
		inputs:  opts.Inputs,
		screens: map[screenID]screen{},
		keys:    DefaultKeyMap(),
		help:    help.New(),
		cancel:  cancel,
	}
	m.help.Styles.ShortKey = c.st.Bold
	m.help.Styles.ShortDesc = c.st.Help
	m.help.Styles.FullKey = c.st.Bold
	m.help.Styles.FullDesc = c.st.Help
	m.help.Styles.ShortSeparator = c.st.Help
	m.help.Styles.FullSeparator = c.st.Help
	m.screens[scrWelcome] = newWelcome(c, m.conn)
	m.cur = scrWelcome
	return m
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return m.screen().init() }

func (m *Model) screen() screen { return m.screens[m.cur] }

// Update implements tea.Model. It never blocks: all I/O runs in commands.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.c.log.printf("msg %T on %s", msg, m.cur)
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		m.help.Width = m.c.contentWidth()
		return m, m.screen().update(msg)

	case tea.KeyMsg:
		if cmd, done := m.handleKey(msg); done {
			return m, cmd
		}

	case backMsg:
		return m, m.back()
	case quitMsg:
		m.quitting = true
		return m, tea.Quit

	case welcomeDoneMsg:
		return m, m.push(scrProxmox, func() screen { return newConnScreen(m.c, sideProxmox, m.conn) })

	case pinAcceptedMsg:
		return m, tea.Batch(m.rememberPin(msg), m.screen().update(msg))

	case connDoneMsg:
		return m, m.connDone(msg)

	case discoveredMsg:
		if msg.tfa != nil {
			if cmd, ok := m.askOTP(msg); ok {
				return m, cmd
			}
		}
		if msg.err == nil && msg.clients != nil {
			m.clients = msg.clients
			m.facts = msg.facts
			if msg.inputs != nil && m.cur == scrDiscover {
				m.inputs = *msg.inputs
			}
		}
		return m, m.routeDiscovered(msg)

	case optionsDoneMsg:
		m.inputs = msg.inputs
		return m, m.push(scrChecks, func() screen { return newChecksScreen(m.c, m.clients, m.inputs) })

	case gotoPlanMsg:
		return m, m.push(scrPlan, func() screen { return newPlanScreen(m.c, msg.mode, m.clients, m.inputs) })

	case gotoApplyMsg:
		return m, m.push(scrApply, func() screen {
			return newApplyScreen(m.c, msg.mode, msg.engine, msg.plan, msg.orig, msg.allowConflicts, m.clients, m.inputs)
		})

	case applyFinishedMsg:
		// Remember the choices as soon as the plan is applied: a user who
		// quits on the apply screen has the same setup as one who goes on
		// to the done screen, and a rerun must read the same choices.
		// The summary printed after the program ends needs the result too.
		cmd := m.screen().update(msg)
		if a, ok := m.screen().(*applyScreen); ok && a.gen == msg.gen {
			m.unfinished = msg.err != nil
		}
		if a, ok := m.screen().(*applyScreen); ok && a.gen == msg.gen && msg.err == nil && msg.result != nil {
			m.result, m.removed = msg.result, a.mode == planRemove
			if !m.removed {
				cmd = tea.Batch(cmd, m.remember())
			}
		}
		return m, cmd

	case gotoDoneMsg:
		m.result, m.removed = msg.result, msg.removed
		var save tea.Cmd
		if !msg.removed && msg.result != nil {
			save = m.remember()
		}
		// The done screen is a fresh start: esc does not re-apply.
		m.history = nil
		return m, tea.Batch(save, m.replace(scrDone, func() screen {
			return newDoneScreen(m.c, m.clients, m.inputs, m.conn, msg.result, msg.removed)
		}))

	case menuChoiceMsg:
		return m, m.menuChoice(msg.choice)
	}
	return m, m.screen().update(msg)
}

// handleKey applies the global keys; done=false lets the screen have it.
func (m *Model) handleKey(msg tea.KeyMsg) (tea.Cmd, bool) {
	if msg.Type == tea.KeyRunes && m.screen().capturesText() {
		m.typed += len(msg.Runes)
	}
	switch {
	case key.Matches(msg, m.keys.Abort):
		if m.cur == scrApply {
			return nil, false // the apply screen asks first
		}
		m.aborted = true
		m.quitting = true
		return tea.Quit, true
	case msg.String() == "f1", key.Matches(msg, m.keys.Help) && !m.screen().capturesText():
		m.showHelp = !m.showHelp
		return nil, true
	case key.Matches(msg, m.keys.Quit) && !m.screen().capturesText() && m.cur != scrApply:
		m.quitting = true
		return tea.Quit, true
	case key.Matches(msg, m.keys.Back):
		if m.screen().handleBack() {
			return nil, true
		}
		if d, ok := m.screen().(*discoverScreen); ok && d.failed(sideProxmox) && !d.failed(sideAuthentik) {
			// only Proxmox failed: esc goes straight to its screen
			if i := slices.Index(m.history, scrProxmox); i >= 0 {
				m.history = m.history[:i+1]
				m.resumeAuthentik = true
				if ps, ok := m.screens[scrProxmox].(*connScreen); ok {
					ps.errText = d.failure(sideProxmox)
				}
			}
		}
		return m.back(), true
	}
	return nil, false
}

// push shows screen id, creating it on first visit (later visits keep the
// values typed there).
func (m *Model) push(id screenID, mk func() screen) tea.Cmd {
	if m.cur != id {
		m.history = append(m.history, m.cur)
	}
	return m.show(id, mk)
}

// replace shows id without remembering the current screen.
func (m *Model) replace(id screenID, mk func() screen) tea.Cmd {
	return m.show(id, mk)
}

func (m *Model) show(id screenID, mk func() screen) tea.Cmd {
	s, ok := m.screens[id]
	if !ok || mk != nil && !reusable(id) {
		s = mk()
		m.screens[id] = s
	}
	m.cur = id
	m.c.log.printf("screen %s", id)
	return tea.Batch(s.init(), func() tea.Msg { return tea.WindowSizeMsg{Width: m.c.width, Height: m.c.height} })
}

// reusable screens keep their state between visits (typed values); the
// others are rebuilt from the current choices every time.
func reusable(id screenID) bool {
	switch id {
	case scrProxmox, scrAuthentik, scrOptions, scrWelcome:
		return true
	case scrDiscover, scrMenu, scrChecks, scrPlan, scrApply, scrDone, scrUsers:
	}
	return false
}

// back returns to the previous screen.
func (m *Model) back() tea.Cmd {
	if len(m.history) == 0 {
		return nil
	}
	prev := m.history[len(m.history)-1]
	m.history = m.history[:len(m.history)-1]
	if _, ok := m.screens[prev]; !ok {
		return nil
	}
	m.cur = prev
	m.c.log.printf("back to %s", prev)
	if r, ok := m.screens[prev].(interface{ reenter() tea.Cmd }); ok {
		return r.reenter()
	}
	return nil
}

func (m *Model) connDone(msg connDoneMsg) tea.Cmd {
	switch msg.side {
	case sideProxmox:
		m.conn.ProxmoxURL = msg.conn.ProxmoxURL
		m.conn.ProxmoxToken = msg.conn.ProxmoxToken
		m.conn.ProxmoxUser = msg.conn.ProxmoxUser
		m.conn.ProxmoxPassword = msg.conn.ProxmoxPassword
		m.conn.ProxmoxOTP = msg.conn.ProxmoxOTP
		m.conn.ProxmoxPin = msg.conn.ProxmoxPin
		m.inputs.ProxmoxURL = msg.conn.ProxmoxURL
		m.c.log.addSecret(msg.conn.ProxmoxToken, msg.conn.ProxmoxPassword, msg.conn.ProxmoxOTP)
		if i := strings.LastIndex(msg.conn.ProxmoxToken, "="); i >= 0 {
			m.c.log.addSecret(msg.conn.ProxmoxToken[i+1:])
		}
		if as, ok := m.screens[scrAuthentik].(*connScreen); ok && m.resumeAuthentik && as.complete() {
			// back from the TOTP prompt or a Proxmox fix: the Authentik
			// side is done
			as.auto = true
		}
		m.resumeAuthentik = false
		return m.push(scrAuthentik, func() screen { return newConnScreen(m.c, sideAuthentik, m.conn) })
	case sideAuthentik:
		m.conn.AuthentikURL = msg.conn.AuthentikURL
		m.conn.AuthentikToken = msg.conn.AuthentikToken
		m.conn.AuthentikPin = msg.conn.AuthentikPin
		m.inputs.AuthentikURL = msg.conn.AuthentikURL
		m.c.log.addSecret(msg.conn.AuthentikToken)
		return m.push(scrDiscover, func() screen { return newDiscoverScreen(m.c, m.conn, m.inputs) })
	}
	return nil
}

// askOTP goes back to the Proxmox screen when Proxmox challenged the
// password login, showing the TOTP field; once it is filled in, the
// (complete) Authentik screen is passed without a key press.
func (m *Model) askOTP(msg discoveredMsg) (tea.Cmd, bool) {
	d, ok := m.screen().(*discoverScreen)
	ps, ok2 := m.screens[scrProxmox].(*connScreen)
	if !ok || !ok2 || msg.gen != d.gen {
		return nil, false
	}
	i := slices.Index(m.history, scrProxmox)
	if i < 0 {
		return nil, false
	}
	m.history = m.history[:i]
	m.cur = scrProxmox
	m.resumeAuthentik = true
	m.c.log.printf("proxmox asks for a second factor (%v)", msg.tfa.methods)
	return ps.requireOTP(msg.tfa.methods), true
}

// routeDiscovered picks the next screen after the first read: the rerun
// menu when pvesso's setup exists, else the options.
func (m *Model) routeDiscovered(msg discoveredMsg) tea.Cmd {
	if msg.err != nil || m.cur != scrDiscover || !connected(msg.report) {
		return m.screen().update(msg)
	}
	d, ok := m.screen().(*discoverScreen)
	if !ok || msg.gen != d.gen {
		return nil
	}
	// Leave the discover screen out of the history: esc from the next
	// screen returns to the Authentik connection.
	m.cur = m.history[len(m.history)-1]
	m.history = m.history[:len(m.history)-1]
	if setupExists(msg.facts) {
		return m.push(scrMenu, func() screen {
			return newMenuScreen(m.c, m.clients, m.inputs, msg.facts, msg.status, msg.akUsers, msg.realmUsers)
		})
	}
	return m.push(scrOptions, func() screen { return newOptionsScreen(m.c, m.inputs, msg.facts, msg.akUsers) })
}

// connected reports whether both servers could be read with the given
// credentials (the engine's connect checks passed).
func connected(r *steps.Report) bool {
	if r == nil {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK && (c.ID == "authentik-connect" || c.ID == "proxmox-connect") {
			return false
		}
	}
	return true
}

// setupExists says whether pvesso's objects are already there.
func setupExists(f steps.Facts) bool {
	return f.RealmExists && (f.ProviderExists || f.ApplicationExists)
}

func (m *Model) menuChoice(c menuChoice) tea.Cmd {
	switch c {
	case menuAddUsers:
		ms, _ := m.screens[scrMenu].(*menuScreen)
		return m.push(scrUsers, func() screen { return newUsersScreen(m.c, m.clients, m.inputs, ms.akUsers, ms.realmUsers) })
	case menuStatus:
		return m.push(scrPlan, func() screen { return newPlanScreen(m.c, planStatus, m.clients, m.inputs) })
	case menuRepair:
		return m.push(scrChecks, func() screen { return newChecksScreen(m.c, m.clients, m.inputs) })
	case menuOptions:
		return m.push(scrOptions, func() screen { return newOptionsScreen(m.c, m.inputs, m.facts, m.akUsersFromMenu()) })
	case menuRemove:
		return m.push(scrPlan, func() screen { return newPlanScreen(m.c, planRemove, m.clients, m.inputs) })
	case menuQuit:
		m.quitting = true
		return tea.Quit
	}
	return nil
}

func (m *Model) akUsersFromMenu() []steps.UserInfo {
	if ms, ok := m.screens[scrMenu].(*menuScreen); ok {
		return ms.akUsers
	}
	return nil
}

func (m *Model) rememberPin(msg pinAcceptedMsg) tea.Cmd {
	if m.c.opts.Remember == nil {
		return nil
	}
	// Only the connection: the options are not chosen yet, and writing
	// their defaults now would overwrite what a rerun should read (e.g.
	// all_nodes). Remembered.Inputs stays empty until an apply succeeds.
	r := Remembered{AuthentikURL: m.conn.AuthentikURL, AuthentikPin: m.conn.AuthentikPin,
		ProxmoxURL: m.conn.ProxmoxURL, ProxmoxPin: m.conn.ProxmoxPin}
	switch msg.side {
	case sideProxmox:
		r.ProxmoxURL, r.ProxmoxPin = msg.url, msg.pin
	case sideAuthentik:
		r.AuthentikURL, r.AuthentikPin = msg.url, msg.pin
	}
	return saveRemembered(m.c, r)
}

func (m *Model) remember() tea.Cmd {
	if m.c.opts.Remember == nil {
		return nil
	}
	r := Remembered{AuthentikURL: m.conn.AuthentikURL, AuthentikPin: m.conn.AuthentikPin,
		ProxmoxURL: m.conn.ProxmoxURL, ProxmoxPin: m.conn.ProxmoxPin, Inputs: m.inputs}
	return saveRemembered(m.c, r)
}

// saveRemembered hands r to Options.Remember in a command: writing the
// config file is I/O and stays out of Update. One write at a time, so a
// load-merge-save of the file never loses another.
func saveRemembered(c *common, r Remembered) tea.Cmd {
	fn, log, mu := c.opts.Remember, c.log, c.rememberMu
	return func() tea.Msg {
		mu.Lock()
		defer mu.Unlock()
		err := fn(r)
		if err != nil {
			log.printf("remember: %v", err)
		}
		return rememberedMsg{err: err}
	}
}

// View implements tea.Model.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	st := m.c.st
	w := m.c.contentWidth()

	header := m.header(w)
	keys := DefaultKeyMap()
	m.screen().setKeys(&keys)
	m.help.ShowAll = m.showHelp
	helpView := m.help.View(keys)
	if !m.showHelp && visibleWidth(helpView) > w {
		// bubbles' help can overshoot its width by one item; cut it.
		helpView = truncateANSI(helpView, w)
	}

	// Fit the body between the header and the help line.
	h := m.c.height
	if h <= 0 {
		h = 24
	}
	avail := h - lipgloss.Height(header) - lipgloss.Height(helpView) - 1
	m.c.bodyH = avail
	body := m.screen().view()
	body = clipLines(body, avail)
	body = st.Body.Width(w).Render(body)
	gap := avail - lipgloss.Height(body)
	if gap < 0 {
		gap = 0
	}
	out := header + "\n" + body + strings.Repeat("\n", gap) + "\n" + helpView
	return st.App.Render(out)
}

func (m *Model) header(w int) string {
	st := m.c.st
	left := st.Title.Render("pvesso")
	name := m.cur.String()
	if t, ok := m.screen().(interface{ title() string }); ok {
		name = t.title()
	}
	_, rerun := m.screens[scrMenu]
	if n := m.cur.stepNumber(); n > 0 && !rerun {
		name = fmt.Sprintf("%d/7 %s", n, name)
	}
	left += st.Header.Render(" · " + name)
	right := ""
	if m.c.opts.Demo != nil {
		right = st.Warn.Render("DEMO (simulated servers)")
	}
	space := w - lipgloss.Width(left) - lipgloss.Width(right)
	if space < 1 {
		return left
	}
	return left + strings.Repeat(" ", space) + right
}

// clipLines keeps at most n lines, marking the cut.
func clipLines(s string, n int) string {
	if n <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	lines = lines[:n]
	lines[n-1] = "…"
	return strings.Join(lines, "\n")
}

// shutdown stops background work after the program ends.
func (m *Model) shutdown() { m.cancel() }

// Typed returns the number of characters typed into text fields so far
// (the "typed values" figure).
func (m *Model) Typed() int { return m.typed }

// Current returns the name of the current screen (tests, debug log).
func (m *Model) Current() string { return m.cur.String() }

// summary is printed after the TUI ends (outside the alternate screen).
func (m *Model) summary() string {
	if m.result == nil {
		return ""
	}
	if m.removed {
		return "pvesso: removed the objects it manages.\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pvesso: single sign-on from Authentik into Proxmox VE is set up.\n")
	fmt.Fprintf(&b, "  realm %s  group %s (%s on %s)\n", m.inputs.Realm, m.inputs.Group, m.inputs.Role, m.inputs.ACLPath)
	if m.result.IssuerURL != "" {
		fmt.Fprintf(&b, "  issuer %s\n", m.result.IssuerURL)
	}
	fmt.Fprintf(&b, "  log in at %s and pick the %q realm\n", m.inputs.ProxmoxURL, m.inputs.Realm)
	return b.String()
}
