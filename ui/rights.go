package ui

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/proxmox"
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

// lookupRights reads a user's groups (GET /access/users) and effective
// privileges on path (GET /access/permissions?userid=&path=).
func lookupRights(ctx context.Context, gen int, c *steps.Clients, userid, path string) tea.Cmd {
	return func() tea.Msg {
		msg := userRightsMsg{gen: gen, userid: userid}
		if c == nil || c.Proxmox == nil {
			return msg
		}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		users, err := c.Proxmox.ListUsers(ctx)
		if err != nil {
			msg.err = err
			return msg
		}
		for _, u := range users {
			if u.UserID == userid {
				msg.groups = append([]string(nil), u.Groups...)
			}
		}
		perms, err := c.Proxmox.Permissions(ctx, proxmox.PermissionsOptions{Path: path, UserID: userid})
		if err != nil {
			msg.err = err
			return msg
		}
		for p := range perms[path] {
			msg.privs = append(msg.privs, p)
		}
		sort.Strings(msg.privs)
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
