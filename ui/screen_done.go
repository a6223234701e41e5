package ui

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

type loginState int

const (
	loginIdle    loginState = iota
	loginOpening            // fetching the link / starting the browser
	loginWaiting            // polling for the first login
	loginSeen               // a realm user logged in: offer to add them
	loginAdding             // adding them to the group
	loginAdded              // done
)

// doneScreen sums up what exists now, opens the login test in a private
// window, waits for the first login of a realm user (polling Proxmox) and
// offers to add that user to the admin group: the closed loop.
type doneScreen struct {
	c       *common
	clients *steps.Clients
	in      steps.Inputs
	conn    steps.Conn
	result  *steps.Result
	removed bool

	state    loginState
	gen      int
	baseline map[string]bool
	polled   bool
	loginURL string
	opened   *browser.Opened
	noWindow bool // show the URL to copy
	who      string
	simLogin bool // the login was the demo's simulated one (no browser session)
	already  bool // the user who logged in was in the group already
	declined bool // the user answered n to adding them
	rights   *userRightsMsg
	err      error
	pollErr  error
	spin     spinner.Model
}

func newDoneScreen(c *common, cl *steps.Clients, in steps.Inputs, conn steps.Conn, res *steps.Result, removed bool) *doneScreen {
	s := &doneScreen{c: c, clients: cl, in: in, conn: conn, result: res, removed: removed,
		spin: spinner.New(spinner.WithSpinner(spinner.Dot))}
	s.spin.Style = c.st.Accent
	return s
}

// init starts watching the realm's users right away (the user may open the
// link by hand); the first answer is the baseline.
func (s *doneScreen) init() tea.Cmd {
	if s.removed || s.clients == nil {
		return nil
	}
	s.gen++
	return tea.Batch(s.spin.Tick, listRealmUsers(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions))
}

func (s *doneScreen) capturesText() bool { return false }
func (s *doneScreen) handleBack() bool   { return true } // nothing to go back to

func (s *doneScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		return tick(&s.spin, s.state == loginOpening || s.state == loginWaiting || s.state == loginAdding, msg)
	case realmUsersMsg:
		return s.onUsers(msg)
	case loginURLMsg:
		if msg.err != nil {
			s.err = msg.err
			s.state = loginIdle
			return nil
		}
		s.loginURL = msg.url
		if s.c.opts.NoBrowser {
			s.noWindow = true
			return s.wait()
		}
		return openBrowser(s.c.ctx, s.c.opts.Launcher, msg.url)
	case browserOpenedMsg:
		if msg.err != nil {
			s.noWindow = true
			if !errors.Is(msg.err, browser.ErrNoDisplay) {
				s.err = msg.err
			}
		} else {
			o := msg.opened
			s.opened = &o
		}
		return s.wait()
	case simulatedLoginMsg:
		if msg.err != nil {
			s.err = fmt.Errorf("simulated login as %s failed: %w", msg.user, msg.err)
		}
		return nil
	case usersAddedMsg:
		if msg.gen != s.gen {
			return nil
		}
		if msg.err != nil {
			s.err, s.state = msg.err, loginSeen
			return nil
		}
		s.state, s.err = loginAdded, nil
		s.rights = nil
		return lookupRights(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions, s.who)
	case userRightsMsg:
		if msg.gen == s.gen {
			r := msg
			s.rights = &r
			// Already in the group (e.g. through a groups claim): nothing
			// to offer, the loop is closed.
			if s.state == loginSeen && msg.err == nil && slices.Contains(msg.groups, s.in.Group) {
				s.state, s.already = loginAdded, true
			}
		}
		return nil
	case tea.KeyMsg:
		return s.key(msg)
	}
	return nil
}

func (s *doneScreen) onUsers(msg realmUsersMsg) tea.Cmd {
	if msg.gen != s.gen {
		return nil
	}
	next := pollRealmUsers(s.c.ctx, s.gen, s.c.opts.PollInterval, s.clients, s.in, s.c.opts.EngineOptions)
	if msg.err != nil {
		s.pollErr = msg.err
		return next // keep trying; the error is shown
	}
	s.pollErr = nil
	if !s.polled {
		s.polled = true
		s.baseline = map[string]bool{}
		for _, u := range msg.users {
			s.baseline[u] = true
		}
		return next
	}
	var fresh []string
	for _, u := range msg.users {
		if !s.baseline[u] {
			fresh = append(fresh, u)
		}
	}
	if len(fresh) == 0 {
		return next
	}
	sort.Strings(fresh)
	s.who = fresh[0]
	s.state = loginSeen
	s.gen++ // stop polling
	s.rights = nil
	return lookupRights(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions, s.who)
}

func (s *doneScreen) wait() tea.Cmd {
	if s.state < loginWaiting {
		s.state = loginWaiting
	}
	return s.spin.Tick
}

func (s *doneScreen) key(k tea.KeyMsg) tea.Cmd {
	if s.removed {
		if key.Matches(k, kEnter) {
			return func() tea.Msg { return quitMsg{} }
		}
		return nil
	}
	switch {
	case k.String() == "o" && (s.state == loginIdle || s.state == loginWaiting):
		s.err = nil
		if s.state == loginIdle {
			s.state = loginOpening
		}
		return tea.Batch(s.spin.Tick, fetchLoginURL(s.c.ctx, s.clients, s.in, s.c.opts.EngineOptions, s.fallbackURL()))
	case k.String() == "s" && s.c.opts.Demo != nil && s.c.opts.Demo.SimulateLogin != nil && (s.state == loginIdle || s.state == loginWaiting):
		user := s.demoUser()
		s.err, s.simLogin = nil, true
		cmds := []tea.Cmd{s.wait()}
		fn, in, cl, opts := s.c.opts.Demo.SimulateLogin, s.in, s.clients, s.c.opts.EngineOptions
		ctx := s.c.ctx
		cmds = append(cmds, func() tea.Msg {
			u := fetchLoginURL(ctx, cl, in, opts, "")().(loginURLMsg)
			if u.err != nil {
				return simulatedLoginMsg{user: user, err: u.err}
			}
			return simulateLogin(ctx, fn, u.url, user)()
		})
		return tea.Batch(cmds...)
	case k.String() == "y" && s.state == loginSeen:
		s.state = loginAdding
		s.gen++
		return tea.Batch(s.spin.Tick, addUsers(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions, []string{s.authentikName(s.who)}))
	case k.String() == "n" && s.state == loginSeen:
		s.state = loginAdded
		s.declined = true
		return nil
	case key.Matches(k, kEnter) && (s.state == loginAdded):
		return func() tea.Msg { return quitMsg{} }
	}
	return nil
}

// authentikName maps a Proxmox userid back to what AddUsers accepts: the
// part before "@<realm>" is the claim value (email or username).
// ASSUMPTION: with subject modes that send opaque ids (hashed_user_id,
// user_id, user_uuid) the engine resolves the userid itself; it is passed
// unchanged then.
func (s *doneScreen) authentikName(userid string) string {
	suffix := "@" + s.in.Realm
	switch s.in.SubjectMode {
	case "user_email", "user_username", "":
		if strings.HasSuffix(userid, suffix) {
			return strings.TrimSuffix(userid, suffix)
		}
	}
	return userid
}

func (s *doneScreen) demoUser() string {
	if d := s.c.opts.Demo; d != nil && len(d.Users) > 0 {
		return d.Users[0].Username
	}
	return "alice"
}

func (s *doneScreen) fallbackURL() string {
	if s.result != nil && s.result.AuthURL != "" {
		return s.result.AuthURL
	}
	return s.in.ProxmoxURL
}

func (s *doneScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Back, &k.Up, &k.Down, &k.Toggle, &k.Retry, &k.Details} {
		b.SetEnabled(false)
	}
	k.Open.SetEnabled(!s.removed && (s.state == loginIdle || s.state == loginWaiting))
	k.Open.SetHelp("o", "open private window")
	if s.c.opts.Demo != nil && s.c.opts.Demo.SimulateLogin != nil {
		k.Details.SetKeys("s")
		k.Details.SetHelp("s", "simulate a login")
		k.Details.SetEnabled(k.Open.Enabled())
	}
	k.Yes.SetEnabled(s.state == loginSeen)
	k.No.SetEnabled(s.state == loginSeen)
	k.Yes.SetHelp("y", "add to "+s.in.Group)
	k.No.SetHelp("n", "leave as is")
	k.Next.SetEnabled(s.removed || s.state == loginAdded)
	k.Next.SetHelp("enter", "finish")
}

func (s *doneScreen) view() string {
	st := s.c.st
	var b strings.Builder
	if s.removed {
		b.WriteString(st.OK.Render(glyphOK+" Removed.") + " " + wrapText("What pvesso managed is gone (the list on the plan screen). Users that Proxmox created at a login stay; delete them in Proxmox if needed.", s.c.contentWidth()-11) + "\n")
		return b.String()
	}
	in := s.in
	b.WriteString(st.OK.Render(glyphOK+" Single sign-on is set up.") + "\n\n")
	kv := func(k, v string) { fmt.Fprintf(&b, "  %-13s %s\n", k, v) }
	kv("Authentik", fmt.Sprintf("application %q (%s), OAuth2 provider", in.AppName, in.AppSlug))
	if s.result != nil && s.result.IssuerURL != "" {
		kv("Issuer", truncate(s.result.IssuerURL, s.c.contentWidth()-17))
	}
	kv("Proxmox", fmt.Sprintf("realm %q, group %q = %s on %s", in.Realm, in.Group, in.Role, in.ACLPath))
	if s.result != nil && len(s.result.Users) > 0 {
		kv("In the group", truncate(strings.Join(s.result.Users, ", "), s.c.contentWidth()-17))
	}
	b.WriteString("\n")
	b.WriteString(s.loginView())
	if s.err != nil {
		b.WriteString("\n" + errorBlock(st, s.err))
	}
	if s.pollErr != nil && s.state == loginWaiting {
		msg, _ := explain(s.pollErr)
		b.WriteString(st.Warn.Render("Cannot list realm users yet: "+truncate(msg, 50)) + " (retrying)\n")
	}
	return b.String()
}

func (s *doneScreen) loginView() string {
	st := s.c.st
	var b strings.Builder
	b.WriteString(st.Bold.Render("Login test") + "\n")
	switch s.state {
	case loginIdle:
		b.WriteString("  " + st.Bold.Render("o") + "  Open a private browser window to test the login\n")
		if s.c.opts.Demo != nil && s.c.opts.Demo.SimulateLogin != nil {
			fmt.Fprintf(&b, "  %s  Simulate %s logging in (demo, no browser needed)\n", st.Bold.Render("s"), s.demoUser())
		}
		b.WriteString(st.Muted.Render(fmt.Sprintf("  On the Proxmox login pick the realm %q, then log in at Authentik.", s.in.Realm)) + "\n")
	case loginOpening:
		b.WriteString("  " + strings.TrimSpace(s.spin.View()) + " Opening the login page …\n")
	case loginWaiting:
		switch {
		case s.noWindow:
			// The auth-url link is too long to copy from a terminal; the
			// Proxmox login page starts the same flow.
			b.WriteString("  No browser can be opened here. In a private window, open\n")
			b.WriteString("    " + st.Code.Render(s.in.ProxmoxURL) + "\n")
			fmt.Fprintf(&b, "  and log in with the realm %q.\n", s.in.Realm)
		case s.opened != nil && s.opened.Private:
			fmt.Fprintf(&b, "  %s Opened a private %s window.\n", st.glyph(glyphOK), orDefault(s.opened.Browser, "browser"))
		case s.opened != nil:
			b.WriteString("  " + st.Warn.Render(s.opened.Note) + "\n")
		}
		fmt.Fprintf(&b, "  %s Waiting for the first login through the realm %q …\n", strings.TrimSpace(s.spin.View()), s.in.Realm)
		if s.result != nil && len(s.result.Users) > 0 {
			// Proxmox records no logins: only new users show one.
			b.WriteString(st.Muted.Render("  (users pvesso just created show no login; log in as another user to see it)") + "\n")
		}
		b.WriteString(st.Muted.Render(fmt.Sprintf("  (pvesso asks Proxmox for new users every %s)", s.c.opts.PollInterval)) + "\n")
		if s.c.opts.Demo != nil && s.c.opts.Demo.SimulateLogin != nil {
			fmt.Fprintf(&b, "  %s  Simulate %s logging in (demo)\n", st.Bold.Render("s"), s.demoUser())
		}
	case loginSeen:
		fmt.Fprintf(&b, "  %s %s logged in.\n", st.glyph(glyphOK), st.Code.Render(s.who))
		b.WriteString(s.rightsView())
		fmt.Fprintf(&b, "  Add %s to %q (%s on %s)?  y / n\n", s.who, s.in.Group, s.in.Role, s.in.ACLPath)
	case loginAdding:
		fmt.Fprintf(&b, "  %s Adding %s to %q …\n", strings.TrimSpace(s.spin.View()), s.who, s.in.Group)
	case loginAdded:
		who := s.who
		if s.declined {
			fmt.Fprintf(&b, "  %s %s logged in; left without group (add later: pvesso users add).\n", st.glyph(glyphOK), who)
		} else {
			now := "now "
			if s.already {
				now = "already "
			}
			fmt.Fprintf(&b, "  %s %s logged in and is %sin %q.\n", st.glyph(glyphOK), st.Code.Render(who), now, s.in.Group)
			b.WriteString(s.rightsView())
			if !s.simLogin && !s.already {
				b.WriteString("    Log out and in again in that window to use them.\n")
			}
		}
		b.WriteString(st.OK.Render("  The closed loop works: Authentik → Proxmox → rights.") + "\n")
	}
	return b.String()
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (s *doneScreen) rightsView() string {
	g, p := rightsLines(s.rights, s.in.ACLPath, s.c.contentWidth()-24)
	out := fmt.Sprintf("    %-19s %s\n", "Proxmox groups:", g)
	if p != "" {
		out += fmt.Sprintf("    %-19s %s\n", "Privileges on "+s.in.ACLPath+":", p)
	}
	return out
}
