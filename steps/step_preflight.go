package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// step is one unit of the setup. Check only reads (concurrently with the
// other steps' checks; shared reads are sent once), Plan is pure (it turns
// the facts into plan items and decisions), Apply carries out the decisions
// idempotently. Pending reports whether Apply has anything to do.
type step interface {
	ID() string
	Check(ctx context.Context, s *State) []checkRec
	Plan(s *State) []Item
	Apply(ctx context.Context, s *State, o ApplyOptions) error
	Pending(s *State) bool
}

// privNeed is one Proxmox privilege the setup needs (apidoc `permissions`
// of the endpoints in shared/reference/proxmox/pve-8.0-apidoc.json).
type privNeed struct{ path, priv, why string }

func privNeeds(in Inputs, mode string) []privNeed {
	switch mode {
	case "users":
		return []privNeed{
			{"/access/groups/" + in.Group, "User.Modify", "PUT /access/users/{userid} groups=" + in.Group + "&append=1"},
			{"/access/realm/" + in.Realm, "Realm.AllocateUser", "POST /access/users (create the realm's users)"},
		}
	case "remove":
		in.Users = []string{"(pvesso's users)"}
	}
	needs := []privNeed{
		{"/access/realm", "Realm.Allocate", "POST/PUT /access/domains (create and update the realm)"},
		{"/access/groups", "Group.Allocate", "POST /access/groups (create the group)"},
		{in.ACLPath, "Permissions.Modify", "PUT /access/acl (grant " + in.Role + " on " + in.ACLPath + ")"},
		{"/access/groups/" + in.Group, "User.Modify", "PUT /access/users/{userid} groups=" + in.Group + "&append=1"},
	}
	if len(in.Users) > 0 {
		needs = append(needs, privNeed{"/access/realm/" + in.Realm, "Realm.AllocateUser", "POST /access/users (create the realm's users)"})
	}
	if in.AllNodes {
		needs = append(needs, privNeed{"/", "Sys.Audit", "GET /cluster/status (--all-nodes)"})
	}
	return needs
}

type preflightStep struct{}

func (preflightStep) ID() string { return StepPreflight }

func (preflightStep) Check(ctx context.Context, s *State) []checkRec {
	var ak, pve []checkRec
	var wg sync.WaitGroup
	wg.Go(func() { ak = checkAuthentik(ctx, s) })
	wg.Go(func() { pve = checkProxmox(ctx, s) })
	wg.Wait()
	out := append(ak, pve...)
	if s.mode != "" {
		return out
	}
	if p := structuralUserIDProblem(s.In); p != "" {
		out = append(out, fail("userid-length", "Proxmox userids fit in 64 characters", p,
			"--subject-mode user_email (default) or user_username, or --username-claim username"))
	} else {
		detail := fmt.Sprintf("sub_mode %s, username-claim %s, realm %s", s.In.SubjectMode, s.In.UsernameClaim, s.In.Realm)
		if s.In.SubjectMode == "user_upn" && s.In.UsernameClaim == "subject" {
			detail += "; only users with a upn attribute can log in (the others get the 64-character hashed id)"
		}
		out = append(out, ok("userid-length", "Proxmox userids fit in 64 characters", detail))
	}
	return out
}

func checkAuthentik(ctx context.Context, s *State) []checkRec {
	const title = "Authentik reachable, TLS trusted, token valid"
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = s.rd.Me(ctx) })
	vi, err := s.rd.AuthentikVersion(ctx)
	wg.Wait()
	if err != nil {
		return []checkRec{readFail("authentik", "authentik-connect", title, err)}
	}
	me, err := s.rd.Me(ctx)
	if err != nil {
		return []checkRec{readFail("authentik", "authentik-connect", title, err)}
	}
	s.akVer = vi.Parsed
	s.Facts.AuthentikVersion = vi.Current
	s.Facts.AuthentikUser = me.Username
	s.Facts.AuthentikSuperuser = me.IsSuperuser
	out := []checkRec{ok("authentik-connect", title, fmt.Sprintf("authentik %s, token of %s", vi.Current, me.Username))}
	// ASSUMPTION: pvesso asks for a superuser token (authentik-api.md §1);
	// object-level RBAC grants are not evaluated.
	if s.mode == "users" {
		return out // reading users is enough
	}
	if !me.IsSuperuser {
		out = append(out, fail("authentik-rights", "Authentik token may create providers and applications",
			fmt.Sprintf("the token's user %q is not a superuser, so it may not create OAuth2 providers and applications", me.Username),
			"use an API token of a superuser such as akadmin (AUTHENTIK_TOKEN or --authentik-token-file)"))
	} else {
		out = append(out, ok("authentik-rights", "Authentik token may create providers and applications", me.Username+" is a superuser"))
	}
	return out
}

func checkProxmox(ctx context.Context, s *State) []checkRec {
	const title = "Proxmox reachable, TLS trusted, credentials valid"
	needs := privNeeds(s.In, s.mode)
	paths := map[string]bool{}
	for _, n := range needs {
		paths[n.path] = true
	}
	var wg sync.WaitGroup
	for _, p := range sortedKeys(paths) {
		wg.Go(func() { _, _ = s.rd.Perms(ctx, p) })
	}
	vi, err := s.rd.PVEVersion(ctx)
	wg.Wait()
	if err != nil {
		return []checkRec{readFail("proxmox", "proxmox-connect", title, err)}
	}
	s.Facts.ProxmoxVersion = vi.Version
	s.Facts.ProxmoxUser = s.rd.pve.AuthUser()
	out := []checkRec{ok("proxmox-connect", title, fmt.Sprintf("Proxmox VE %s, as %s", vi.Version, s.Facts.ProxmoxUser))}
	if maj, _ := vi.ParsedVersion(); maj > 0 && maj < 7 {
		out = append(out, fail("proxmox-version", "Proxmox VE 7.0 or later", "Proxmox VE "+vi.Version+" has no OpenID Connect realms", "upgrade Proxmox VE"))
	}
	var missing []string
	for _, n := range needs {
		perms, err := s.rd.Perms(ctx, n.path)
		if err != nil {
			return append(out, readFail("proxmox", "proxmox-rights", "Proxmox credentials have the needed privileges", err))
		}
		if !hasPriv(perms, n.path, n.priv) {
			missing = append(missing, fmt.Sprintf("%s on %s (for %s)", n.priv, n.path, n.why))
		}
	}
	if len(missing) > 0 {
		return append(out, fail("proxmox-rights", "Proxmox credentials have the needed privileges",
			fmt.Sprintf("%s lacks %s", s.Facts.ProxmoxUser, strings.Join(missing, "; ")),
			"use root@pam or a token whose user has the Administrator role on / (PROXMOX_VE_API_TOKEN, privilege separation off)"))
	}
	var privs []string
	for _, n := range needs {
		privs = append(privs, n.priv+" on "+n.path)
	}
	sort.Strings(privs)
	return append(out, ok("proxmox-rights", "Proxmox credentials have the needed privileges", strings.Join(privs, ", ")))
}

func (preflightStep) Plan(*State) []Item                                { return nil }
func (preflightStep) Apply(context.Context, *State, ApplyOptions) error { return nil }
func (preflightStep) Pending(*State) bool                               { return false }
