package ui

import (
	"context"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

// userRightsMsg is what Proxmox says a user may do: the user's groups and
// the effective privileges on the ACL path.
type userRightsMsg struct {
	gen    int
	userid string
	groups []string
	privs  []string
	err    error
}

// lookupRights reads a user's groups and effective privileges on the ACL
// path through the engine (Engine.UserAccess).
func lookupRights(ctx context.Context, gen int, c *steps.Clients, in steps.Inputs, opts []steps.Option, userid string) tea.Cmd {
	return func() tea.Msg {
		msg := userRightsMsg{gen: gen, userid: userid}
		if c == nil || c.Proxmox == nil {
			return msg
		}
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		a, err := newEngine(c, in, opts).UserAccess(ctx, userid)
		msg.groups = append([]string(nil), a.Groups...)
		msg.privs = append([]string(nil), a.Privileges...)
		msg.err = err
		return msg
	}
}

// rightsLines renders the groups and the privileges on path.
func rightsLines(m *userRightsMsg, path string, width int) (groups, privs string) {
	if m == nil {
		return "checking …", ""
	}
	if m.err != nil {
		msg, _ := explain(m.err)
		return "could not read them: " + truncate(msg, width-22), ""
	}
	groups = "none"
	if len(m.groups) > 0 {
		groups = strings.Join(m.groups, ", ")
	}
	privs = "none"
	if n := len(m.privs); n > 0 {
		privs = strconv.Itoa(n) + " (" + strings.Join(pickPrivs(m.privs), ", ")
		if n > 3 {
			privs += ", …"
		}
		privs += ")"
	}
	return truncate(groups, width), truncate(privs, width)
}

// pickPrivs shows the telling privileges first.
func pickPrivs(all []string) []string {
	var out []string
	for _, p := range []string{"Permissions.Modify", "Sys.Modify", "VM.Allocate"} {
		for _, a := range all {
			if a == p {
				out = append(out, p)
			}
		}
	}
	for _, a := range all {
		if len(out) >= 3 {
			break
		}
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
