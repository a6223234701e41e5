package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

// usersScreen adds users to the admin group on a rerun: Authentik users
// and users already seen in Proxmox through the realm.
type usersScreen struct {
	c       *common
	clients *steps.Clients
	in      steps.Inputs
	list    pickList
	split   int // index of the first Proxmox-only entry
	gen     int
	busy    bool
	added   *steps.Result
	ids     []string        // the Proxmox userid of each list item ("" unknown)
	inGroup map[string]bool // userids in the group
	items   []steps.Item    // what the users plan said per user
	failed  []steps.Check   // checks that refused the plan
	err     error
	spin    spinner.Model
}

func newUsersScreen(c *common, cl *steps.Clients, in steps.Inputs, ak []steps.UserInfo, realmUsers []steps.RealmUser) *usersScreen {
	s := &usersScreen{c: c, clients: cl, in: in, spin: spinner.New(spinner.WithSpinner(spinner.Line)), inGroup: map[string]bool{}}
	s.spin.Style = c.st.Accent
	for _, u := range realmUsers {
		if contains(u.Groups, in.Group) {
			s.inGroup[u.UserID] = true
		}
	}
	known := map[string]bool{}
	for _, u := range ak {
		detail, id := u.Email, ""
		if uid, err := steps.Preview(in, u); err == nil {
			detail, id = "→ "+uid, uid
			known[uid] = true
		}
		s.list.items = append(s.list.items, listItem{label: u.Username, detail: detail, value: u.Username})
		s.ids = append(s.ids, id)
	}
	s.split = len(s.list.items)
	for _, u := range realmUsers {
		if known[u.UserID] {
			continue
		}
		// The section header says where these come from; the row keeps
		// the width for the whole userid.
		s.list.items = append(s.list.items, listItem{label: u.UserID, value: u.UserID})
		s.ids = append(s.ids, u.UserID)
	}
	return s
}

func (s *usersScreen) init() tea.Cmd      { return nil }
func (s *usersScreen) capturesText() bool { return false }
func (s *usersScreen) handleBack() bool   { return s.busy }

func (s *usersScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		return tick(&s.spin, s.busy, msg)
	case usersAddedMsg:
		if msg.gen != s.gen {
			return nil
		}
		s.busy = false
		s.added, s.err, s.items, s.failed = msg.result, msg.err, msg.items, msg.failed
		if s.err == nil {
			for i := range s.list.items {
				s.list.items[i].checked = false
			}
			for _, it := range s.items {
				s.inGroup[it.Name] = true
			}
		}
	case tea.KeyMsg:
		if s.busy {
			return nil
		}
		switch {
		case key.Matches(msg, kLineUp):
			s.list.move(-1)
		case key.Matches(msg, kLineDown):
			s.list.move(1)
		case key.Matches(msg, kSpace, key.NewBinding(key.WithKeys("x"))):
			s.list.toggle()
		case key.Matches(msg, kEnter):
			users := s.list.checkedValues()
			if len(users) == 0 {
				if s.added != nil {
					return func() tea.Msg { return backMsg{} }
				}
				s.err = fmt.Errorf("no user chosen: move to a user and press space")
				return nil
			}
			s.gen++
			s.busy, s.err, s.added, s.items, s.failed = true, nil, nil, nil, nil
			return tea.Batch(s.spin.Tick, addUsers(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions, users))
		}
	}
	return nil
}

func (s *usersScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Yes, &k.No, &k.Retry, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Up.SetHelp("↑/↓", "move")
	k.Down.SetEnabled(false)
	k.Toggle.SetHelp("space", "pick")
	k.Next.SetHelp("enter", "add to "+s.in.Group)
	if s.added != nil && len(s.list.checkedValues()) == 0 {
		k.Next.SetHelp("enter", "back to the menu")
	}
}

func (s *usersScreen) view() string {
	st := s.c.st
	var lines []string
	lines = append(lines, fmt.Sprintf("Pick users for the group %q (%s on %s).", s.in.Group, s.in.Role, s.in.ACLPath))
	switch {
	case s.busy:
		lines = append(lines, s.spin.View()+" Adding …")
	case s.err != nil && len(s.failed) > 0:
		lines = append(lines, st.Err.Render(glyphFail+" Nothing was added:"))
		lines = append(lines, strings.Split(strings.TrimRight(checkLines(st, s.failed), "\n"), "\n")...)
	case s.err != nil:
		lines = append(lines, strings.Split(strings.TrimRight(errorBlock(st, s.err), "\n"), "\n")...)
	case s.added != nil:
		lines = append(lines, s.outcomeLines()...)
		lines = append(lines, st.Muted.Render("They get the rights at their next login."), "")
	default:
		lines = append(lines, "")
	}
	focus := 0
	for i, it := range s.list.items {
		if i == 0 && s.split > 0 {
			lines = append(lines, st.Bold.Render("Authentik users"))
		}
		if i == s.split {
			lines = append(lines, st.Bold.Render(fmt.Sprintf("Seen in Proxmox (realm %s)", s.in.Realm)))
		}
		if i == s.list.cursor {
			focus = len(lines)
		}
		cur := "  "
		if i == s.list.cursor {
			cur = st.Selected.Render(glyphCursor) + " "
		}
		box := "[ ]"
		if it.checked {
			box = "[x]"
		}
		detail := st.Muted.Render(it.detail)
		if i < len(s.ids) && s.inGroup[s.ids[i]] {
			detail += "  " + st.OK.Render(glyphOK+" in "+s.in.Group)
		}
		labelW := 24
		if i >= s.split { // a Proxmox userid, no detail column
			labelW = max(labelW, s.c.contentWidth()-len(s.in.Group)-18)
		}
		lines = append(lines, truncateANSI(strings.TrimRight(fmt.Sprintf("%s%s %-*s %s", cur, box, labelW, truncate(it.label, labelW), detail), " "), s.c.contentWidth()))
	}
	if len(s.list.items) == 0 {
		lines = append(lines, st.Muted.Render("No users found in Authentik or in the realm."))
	}
	return window(lines, focus, s.c.bodyHeight())
}

// outcomeLines says per user what happened, from the users plan.
func (s *usersScreen) outcomeLines() []string {
	st := s.c.st
	if len(s.items) == 0 {
		return []string{st.OK.Render(fmt.Sprintf("%s In %q now: %s", glyphOK, s.in.Group, strings.Join(s.added.Users, ", ")))}
	}
	var out []string
	for _, it := range s.items {
		var line string
		switch it.Action {
		case steps.ActionCreate:
			line = st.glyph(glyphOK) + fmt.Sprintf(" %s created, in %q now", it.Name, s.in.Group)
		case steps.ActionUpdate:
			line = st.glyph(glyphOK) + fmt.Sprintf(" %s added to %q (other groups stay)", it.Name, s.in.Group)
		case steps.ActionNone:
			line = st.glyph(glyphNone) + fmt.Sprintf(" %s was already in %q", it.Name, s.in.Group)
		case steps.ActionConflict, steps.ActionDelete:
			line = st.glyph(glyphFail) + fmt.Sprintf(" %s: %s", it.Name, it.Action)
		}
		out = append(out, truncateANSI(line, s.c.contentWidth()))
	}
	return out
}
