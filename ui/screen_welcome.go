package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

// welcomeScreen says what will happen on each side and what is needed.
type welcomeScreen struct {
	c    *common
	conn steps.Conn
}

func newWelcome(c *common, conn steps.Conn) *welcomeScreen {
	return &welcomeScreen{c: c, conn: conn}
}

func (s *welcomeScreen) init() tea.Cmd      { return nil }
func (s *welcomeScreen) capturesText() bool { return false }
func (s *welcomeScreen) handleBack() bool   { return true } // nothing before the first screen

func (s *welcomeScreen) update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && key.Matches(k, key.NewBinding(key.WithKeys("enter", " "))) {
		return func() tea.Msg { return welcomeDoneMsg{} }
	}
	return nil
}

func (s *welcomeScreen) setKeys(k *KeyMap) {
	k.Back.SetEnabled(false)
	k.Up.SetEnabled(false)
	k.Down.SetEnabled(false)
	k.Toggle.SetEnabled(false)
	k.Yes.SetEnabled(false)
	k.No.SetEnabled(false)
	k.Retry.SetEnabled(false)
	k.Open.SetEnabled(false)
	k.Details.SetEnabled(false)
	k.Next.SetHelp("enter", "start")
}

func (s *welcomeScreen) view() string {
	st := s.c.st
	in := s.c.opts.Inputs
	var b strings.Builder
	// Lines are wrapped to the terminal (at most 72 columns, as designed
	// for 80), so that a narrower window does not push the header off.
	w := min(s.c.contentWidth(), 72)
	b.WriteString(st.Bold.Render("Single sign-on from Authentik into Proxmox VE") + "\n\n")
	row := func(label, text string) {
		lines := strings.Split(wrapText(text, max(20, w-11)), "\n")
		fmt.Fprintf(&b, "%s %s\n", st.Accent.Render(fmt.Sprintf("%-10s", label)), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "%-10s %s\n", "", l)
		}
	}
	row("Authentik", fmt.Sprintf("an OAuth2/OpenID provider and the application %q", in.AppName))
	row("Proxmox", fmt.Sprintf("the OpenID realm %q, the group %q with the %s role on %s, and the users you pick", in.Realm, in.Group, in.Role, in.ACLPath))
	row("Then", "a login test in a private browser window")
	b.WriteString("\n")
	b.WriteString(st.Muted.Render(wrapText("Nothing changes before you have seen the plan. Rerun pvesso any time: it only fixes what is missing, and adds users to the admin group.", w)) + "\n\n")

	if d := s.c.opts.Demo; d != nil {
		b.WriteString(st.Warn.Render("Demo:") + wrapText(" a simulated Authentik and a 3-node Proxmox cluster on 127.0.0.1–3.", s.c.contentWidth()-5) + "\n")
		b.WriteString(wrapText("The connection is prefilled and the certificates are pinned.", s.c.contentWidth()) + "\n")
		for _, u := range d.Users {
			fmt.Fprintf(&b, "  Authentik login  %s password %s\n", st.Code.Render(fmt.Sprintf("%-6s", u.Username)), st.Code.Render(u.Password))
		}
		if d.Note != "" {
			b.WriteString(st.Warn.Render(wrapText(d.Note, s.c.contentWidth())) + "\n")
		}
		return b.String()
	}

	b.WriteString(st.Bold.Render("You need") + "\n")
	bullet := func(text string) {
		b.WriteString("• " + strings.ReplaceAll(wrapText(text, w-2), "\n", "\n  ") + "\n")
	}
	bullet("an Authentik API token of a superuser: admin interface → Directory → Tokens and App passwords → Create, intent API Token")
	bullet("a Proxmox API token of root@pam without privilege separation (Datacenter → Permissions → API Tokens), or the root password")
	if s.conn.ProxmoxURL != "" && s.conn.AuthentikURL != "" && (s.conn.ProxmoxToken != "" || s.conn.ProxmoxPassword != "") && s.conn.AuthentikToken != "" {
		b.WriteString("\n" + st.OK.Render(glyphOK) + " Both connections are prefilled from the environment.\n")
	}
	return b.String()
}
