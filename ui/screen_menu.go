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
type menuScreen struct {
	c          *common
	facts      steps.Facts
	status     *steps.Plan
	akUsers    []steps.UserInfo
	realmUsers []string
	entries    []menuEntry
	cursor     int
}

func newMenuScreen(c *common, f steps.Facts, status *steps.Plan, ak []steps.UserInfo, realmUsers []string) *menuScreen {
	s := &menuScreen{c: c, facts: f, status: status, akUsers: ak, realmUsers: realmUsers}
	s.entries = []menuEntry{
		{menuAddUsers, "Add users to the admin group", "from Authentik or seen in Proxmox"},
		{menuStatus, "Check status", "read-only: missing or drifted?"},
		{menuRepair, "Repair", "checks, plan, then fix the drift"},
		{menuOptions, "Change options", "realm, key, subject mode, nodes"},
		{menuRemove, "Remove", "delete what pvesso manages (asks)"},
		{menuQuit, "Quit", ""},
	}
	switch {
	case s.status != nil && s.status.HasChanges():
		s.cursor = 2 // Repair fixes what is missing or drifted
	case s.drifted():
		s.cursor = 1 // problems no change fixes: Check status explains them
	}
	return s
}

func (s *menuScreen) drifted() bool { return s.status != nil && !s.status.OK() }

func (s *menuScreen) init() tea.Cmd      { return nil }
func (s *menuScreen) capturesText() bool { return false }
func (s *menuScreen) handleBack() bool   { return false }

func (s *menuScreen) update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, kUp, key.NewBinding(key.WithKeys("k"))):
		if s.cursor > 0 {
			s.cursor--
		}
	case key.Matches(k, kDown, key.NewBinding(key.WithKeys("j"))):
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
}

func (s *menuScreen) view() string {
	st := s.c.st
	var b strings.Builder
	f := s.facts
	b.WriteString(st.Bold.Render("pvesso's setup already exists.") + "\n")
	fmt.Fprintf(&b, "  Authentik %s · Proxmox %s · %d realm user(s)\n", orDefault(f.AuthentikVersion, "?"), orDefault(f.ProxmoxVersion, "?"), len(s.realmUsers))
	switch {
	case s.status == nil:
	case s.drifted():
		n := 0
		for _, it := range s.status.Items {
			if it.Action != steps.ActionNone {
				n++
			}
		}
		if n > 0 {
			b.WriteString("  " + st.Warn.Render(fmt.Sprintf("~ %d object(s) missing or drifted: choose Repair.", n)) + "\n")
		}
		for _, p := range s.status.Problems {
			b.WriteString("  " + st.Err.Render(truncate(glyphFail+" "+p, s.c.contentWidth()-2)) + "\n")
		}
	default:
		b.WriteString("  " + st.OK.Render(glyphOK+" Healthy: everything is in place.") + "\n")
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
