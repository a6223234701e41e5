package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

type menuChoice int

const (
	menuAddUsers menuChoice = iota
	menuStatus
	menuRepair
	menuOptions
	menuRemove
	menuQuit
)

type menuEntry struct {
	choice menuChoice
	label  string
	hint   string
}

// menuScreen is the rerun menu shown when pvesso's setup already exists.
// It reads the status again whenever the user comes back to it (after
// adding users or a repair, what it showed is stale).
type menuScreen struct {
	c          *common
	clients    *steps.Clients
	in         steps.Inputs
	facts      steps.Facts
	status     *steps.Plan
	akUsers    []steps.UserInfo
	realmUsers []steps.RealmUser
	entries    []menuEntry
	cursor     int
	gen        int
	reading    bool
}

func newMenuScreen(c *common, cl *steps.Clients, in steps.Inputs, f steps.Facts, status *steps.Plan, ak []steps.UserInfo, realmUsers []steps.RealmUser) *menuScreen {
	s := &menuScreen{c: c, clients: cl, in: in, facts: f, status: status, akUsers: ak, realmUsers: realmUsers}
	s.entries = []menuEntry{
		{menuAddUsers, fmt.Sprintf("Add users to %q", truncate(in.Group, 16)), "from Authentik or seen in Proxmox"},
		{menuStatus, "Check status", "read-only: missing or drifted?"},
		{menuRepair, "Repair", "checks, plan, then fix the drift"},
		{menuOptions, "Change options", "realm, key, subject mode, nodes"},
		{menuRemove, "Remove", "delete what pvesso manages (asks)"},
		{menuQuit, "Quit", ""},
	}
	s.pointCursor()
	return s
}

// pointCursor puts the cursor where the status suggests.
func (s *menuScreen) pointCursor() {
	switch {
	case s.status != nil && s.status.HasChanges():
		s.cursor = 2 // Repair fixes what is missing or drifted
	case s.drifted():
		s.cursor = 1 // problems no change fixes: Check status explains them
	}
}

func (s *menuScreen) drifted() bool { return s.status != nil && !s.status.OK() }

func (s *menuScreen) init() tea.Cmd      { return nil }
func (s *menuScreen) capturesText() bool { return false }
func (s *menuScreen) handleBack() bool   { return false }

// reenter reads the status and the realm's users again.
func (s *menuScreen) reenter() tea.Cmd {
	if s.clients == nil {
		return nil
	}
	s.gen++
	s.reading = true
	return readStatus(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions)
}

func (s *menuScreen) update(msg tea.Msg) tea.Cmd {
	if r, ok := msg.(statusReadMsg); ok {
		if r.gen == s.gen && s.reading {
			s.reading = false
			drifted := s.drifted()
			if r.status != nil {
				s.status = r.status
			}
			if r.err == nil {
				s.realmUsers = r.realmUsers
			}
			if s.drifted() != drifted {
				s.pointCursor()
			}
		}
		return nil
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, kLineUp):
		if s.cursor > 0 {
			s.cursor--
		}
	case key.Matches(k, kLineDown):
		if s.cursor < len(s.entries)-1 {
			s.cursor++
		}
	case key.Matches(k, kEnter):
		c := s.entries[s.cursor].choice
		return func() tea.Msg { return menuChoiceMsg{choice: c} }
	default:
		// digits pick directly
		if r := k.String(); len(r) == 1 && r[0] >= '1' && int(r[0]-'1') < len(s.entries) {
			c := s.entries[r[0]-'1'].choice
			return func() tea.Msg { return menuChoiceMsg{choice: c} }
		}
	}
	return nil
}

func (s *menuScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Toggle, &k.Yes, &k.No, &k.Retry, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Up.SetHelp("↑/↓ 1-6", "choose")
	k.Down.SetEnabled(false)
	k.Next.SetHelp("enter", "select")
	k.Back.SetHelp("esc", "connection")
}

// usersLine says who uses the realm: how many Proxmox users it has and how
// many of them are in the admin group.
func (s *menuScreen) usersLine() string {
	n, in := len(s.realmUsers), 0
	for _, u := range s.realmUsers {
		if contains(u.Groups, s.in.Group) {
			in++
		}
	}
	switch n {
	case 0:
		return fmt.Sprintf("realm %q: no users yet (they appear at their first login)", s.in.Realm)
	case 1:
		return fmt.Sprintf("realm %q: 1 user, %d in %q", s.in.Realm, in, s.in.Group)
	}
	return fmt.Sprintf("realm %q: %d users, %d in %q", s.in.Realm, n, in, s.in.Group)
}

func (s *menuScreen) view() string {
	st := s.c.st
	w := s.c.contentWidth()
	var b strings.Builder
	f := s.facts
	b.WriteString(st.Bold.Render("pvesso's setup exists on both sides.") + "\n")
	fmt.Fprintf(&b, "  Authentik %s · Proxmox VE %s\n", orDefault(f.AuthentikVersion, "?"), orDefault(f.ProxmoxVersion, "?"))
	b.WriteString("  " + truncate(s.usersLine(), w-2) + "\n")
	switch {
	case s.status == nil:
		b.WriteString("  " + st.Muted.Render("(status unknown: choose Check status)") + "\n")
	case s.drifted():
		var changed []steps.Item
		for _, it := range s.status.Items {
			if it.Action != steps.ActionNone && !isLoginTest(it) {
				changed = append(changed, it)
			}
		}
		if n := len(changed); n > 0 {
			b.WriteString("  " + st.Warn.Render(fmt.Sprintf("~ %d object(s) missing or drifted; Repair fixes:", n)) + "\n")
			for i, it := range changed {
				if i == 3 && n > 4 {
					fmt.Fprintf(&b, "      … and %d more (Check status lists them)\n", n-3)
					break
				}
				g, word := actionGlyph(st, it.Action)
				b.WriteString(truncateANSI(fmt.Sprintf("    %s %s %s (%s)", g, it.Kind, it.Name, word), w) + "\n")
			}
		}
		for _, p := range s.status.Problems {
			b.WriteString("  " + st.Err.Render(truncate(glyphFail+" "+p, w-2)) + "\n")
		}
	default:
		b.WriteString("  " + st.OK.Render(glyphOK+" Healthy: nothing missing or drifted.") + "\n")
	}
	b.WriteString("\n")
	for i, e := range s.entries {
		cur := "  "
		label := fmt.Sprintf("%d  %s", i+1, e.label)
		if i == s.cursor {
			cur = st.Selected.Render(glyphCursor) + " "
			label = st.Selected.Render(label)
		}
		line := cur + padRight(label, 34)
		if e.hint != "" {
			line += st.Muted.Render(e.hint)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
