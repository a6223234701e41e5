package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
)

// groupComment marks a group pvesso created.
const groupComment = "Authentik SSO administrators (" + ManagedMarker + ")"

type groupDecision struct {
	existing *proxmox.Group
	action   Action
}

type groupStep struct{}

func (groupStep) ID() string { return StepGroup }

func (groupStep) Check(ctx context.Context, s *State) []checkRec {
	gs, err := s.rd.Groups(ctx)
	if err != nil {
		return []checkRec{readFail("proxmox", "proxmox-groups", "Proxmox groups readable", err)}
	}
	for i := range gs {
		if gs[i].GroupID == s.In.Group {
			s.group.existing = &gs[i]
		}
	}
	s.Facts.GroupExists = s.group.existing != nil
	return nil
}

func (groupStep) Plan(s *State) []Item {
	it := Item{Step: StepGroup, Side: "proxmox", Kind: "group", Name: s.In.Group, Action: ActionNone}
	if s.group.existing == nil {
		it.Action = ActionCreate
		it.Changes = []Change{{Field: "comment", New: groupComment}}
	} else if !strings.Contains(s.group.existing.Comment, ManagedMarker) {
		it.Note = "existing group, used as is"
	}
	s.group.action = it.Action
	return []Item{it}
}

func (groupStep) Pending(s *State) bool { return s.group.action == ActionCreate }

func (groupStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	err := s.write(func() error { return s.rd.pve.CreateGroup(ctx, s.In.Group, groupComment) })
	if errors.Is(err, proxmox.ErrAlreadyExists) {
		return nil // created meanwhile: a group has nothing else to compare
	}
	return err
}

type aclDecision struct {
	existing *proxmox.ACLEntry
	action   Action
}

type aclStep struct{}

func (aclStep) ID() string { return StepACL }

func (aclStep) Check(ctx context.Context, s *State) []checkRec {
	acl, err := s.rd.ACL(ctx)
	if err != nil {
		return []checkRec{readFail("proxmox", "proxmox-acl", "Proxmox ACL readable", err)}
	}
	for i := range acl {
		e := acl[i]
		if e.Path == s.In.ACLPath && e.Type == "group" && e.UGID == s.In.Group && e.RoleID == s.In.Role {
			s.acl.existing = &acl[i]
		}
	}
	s.Facts.ACLExists = s.acl.existing != nil
	return nil
}

func (s *State) aclName() string {
	return fmt.Sprintf("%s: group %s = %s", s.In.ACLPath, s.In.Group, s.In.Role)
}

func (aclStep) Plan(s *State) []Item {
	it := Item{Step: StepACL, Side: "proxmox", Kind: "acl", Name: s.aclName(), Action: ActionNone}
	switch e := s.acl.existing; {
	case e == nil:
		it.Action = ActionCreate
		it.Changes = []Change{{Field: "propagate", New: "1"}}
	case !e.Propagate:
		// someone chose propagate=0 deliberately: ask before widening it
		it.Action = ActionConflict
		it.Changes = []Change{{Field: "propagate", Old: "0", New: "1"}}
	}
	s.acl.action = it.Action
	return []Item{it}
}

func (aclStep) Pending(s *State) bool { return s.acl.action != ActionNone && s.acl.action != "" }

func (aclStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	// PUT /access/acl is idempotent: adding an existing entry only sets propagate
	return s.write(func() error {
		return s.rd.pve.UpdateACL(ctx, proxmox.ACLUpdate{Path: s.In.ACLPath, Roles: []string{s.In.Role}, Groups: []string{s.In.Group}, Propagate: ptr(true)})
	})
}

// userComment marks Proxmox users pvesso created.
const userComment = "Authentik user (" + ManagedMarker + ")"

type userDecision struct {
	fact   UserFact
	action Action
}

type usersStep struct{}

func (usersStep) ID() string { return StepUsers }

// userModes are the subject mode and username claim userids follow: the
// inputs for setup; for `users add`, the existing provider's and realm's.
func (s *State) userModes(ctx context.Context) (sub, claim string) {
	sub, claim = s.In.SubjectMode, s.In.UsernameClaim
	if s.mode != "users" {
		return
	}
	if r, _ := s.rd.Realm(ctx); r != nil {
		claim = normClaim(r.UsernameClaim)
	}
	if m, _ := s.provider(ctx); m.p != nil && m.p.SubMode != "" {
		sub = m.p.SubMode
	}
	return
}

func (usersStep) Check(ctx context.Context, s *State) []checkRec {
	const id, title = "users", "Users exist in Authentik and give valid Proxmox userids"
	if len(s.In.Users) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	found := make([][]authentik.User, len(s.In.Users))
	errs := make([]error, len(s.In.Users))
	for i, u := range s.In.Users {
		wg.Go(func() { found[i], errs[i] = s.rd.AuthentikUser(ctx, u) })
	}
	var pveUsers []proxmox.User
	var pveErr error
	wg.Go(func() { pveUsers, pveErr = s.rd.PVEUsers(ctx) })
	sub, claim := s.userModes(ctx)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return []checkRec{readFail("authentik", id, title, err)}
		}
	}
	if pveErr != nil {
		return []checkRec{readFail("proxmox", id, title, pveErr)}
	}
	byID := map[string]*proxmox.User{}
	for i := range pveUsers {
		byID[pveUsers[i].UserID] = &pveUsers[i]
	}
	var problems []string
	facts := make([]UserFact, 0, len(s.In.Users))
	for i, in := range s.In.Users {
		f := UserFact{Input: in}
		switch len(found[i]) {
		case 0:
			f.Problem = fmt.Sprintf("no Authentik user %q", in)
		case 1:
			u := found[i][0]
			f.Found, f.Username, f.Email = true, u.Username, u.Email
			uid, err := UserID(sub, claim, s.In.Realm, UserInfoOf(u))
			if err != nil {
				var ce *CheckError
				if errors.As(err, &ce) {
					f.Problem = ce.Detail
				} else {
					f.Problem = err.Error()
				}
				break
			}
			f.UserID = uid
			if pu := byID[uid]; pu != nil {
				f.Exists = true
				f.Groups = append([]string(nil), pu.Groups...)
			}
		default:
			f.Problem = fmt.Sprintf("%d Authentik users match %q; give the username", len(found[i]), in)
		}
		if f.Problem != "" {
			problems = append(problems, f.Problem)
		}
		facts = append(facts, f)
	}
	s.Facts.Users = facts
	if len(problems) > 0 {
		return []checkRec{fail(id, title, strings.Join(problems, "; "), "--user USER (an Authentik username or email); or --subject-mode / --username-claim for valid userids")}
	}
	ids := make([]string, 0, len(facts))
	for _, f := range facts {
		ids = append(ids, f.UserID)
	}
	return []checkRec{ok(id, title, strings.Join(ids, ", "))}
}

func (usersStep) Plan(s *State) []Item {
	var items []Item
	s.users = nil
	for _, f := range s.Facts.Users {
		it := Item{Step: StepUsers, Side: "proxmox", Kind: "user", Name: f.UserID}
		switch {
		case !f.Exists:
			it.Action = ActionCreate
			it.Changes = []Change{{Field: "groups", New: s.In.Group}, {Field: "comment", New: userComment}}
			if f.Email != "" {
				it.Changes = append(it.Changes, Change{Field: "email", New: f.Email})
			}
		case slices.Contains(f.Groups, s.In.Group):
			it.Action = ActionNone
		default:
			it.Action = ActionUpdate
			it.Changes = []Change{{Field: "groups", Old: strings.Join(f.Groups, ","), New: strings.Join(append(append([]string(nil), f.Groups...), s.In.Group), ",")}}
			it.Note = "added with append=1; other groups stay"
		}
		s.users = append(s.users, userDecision{fact: f, action: it.Action})
		items = append(items, it)
	}
	return items
}

func (usersStep) Pending(s *State) bool {
	for _, u := range s.users {
		if u.action != ActionNone {
			return true
		}
	}
	return false
}

func (usersStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.users))
	for i, u := range s.users {
		if u.action == ActionNone {
			continue
		}
		wg.Go(func() {
			uid := u.fact.UserID
			if u.action == ActionCreate {
				err := s.write(func() error {
					return s.rd.pve.CreateUser(ctx, proxmox.UserCreate{UserID: uid, Email: u.fact.Email, Comment: userComment,
						Groups: []string{s.In.Group}, Enable: ptr(true)})
				})
				if !errors.Is(err, proxmox.ErrAlreadyExists) {
					if err != nil {
						errs[i] = fmt.Errorf("%s: %w", uid, err)
					}
					return
				}
				// created meanwhile (first login with autocreate): add the group
			}
			if err := s.write(func() error { return s.rd.pve.AddUserToGroups(ctx, uid, s.In.Group) }); err != nil {
				errs[i] = fmt.Errorf("%s: %w", uid, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *State) userIDs() []string {
	var out []string
	for _, u := range s.users {
		out = append(out, u.fact.UserID)
	}
	sort.Strings(out)
	return out
}

type loginStep struct{}

func (loginStep) ID() string { return StepLoginTest }

func (loginStep) Check(context.Context, *State) []checkRec { return nil }

func (loginStep) Plan(s *State) []Item {
	it := Item{Step: StepLoginTest, Side: "proxmox", Kind: "auth-url", Name: s.In.Realm, Action: ActionNone}
	if s.changes {
		it.Note = "POST /access/openid/auth-url after the changes: proves the node reaches and trusts the issuer"
	} else {
		it.Note = "not sent on a rerun without changes (it leaves a login state on the node)"
	}
	return []Item{it}
}

func (loginStep) Pending(s *State) bool { return s.changes }

// Retry: the issuer check corrected the realm's issuer-url in the same
// stage, so Proxmox's discovery failed for a reason that is gone now.
func (loginStep) Retry(s *State) bool { return s.iss.fixed }

func (loginStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	origin, _ := Origin(s.In.ProxmoxURL)
	var u string
	err := s.write(func() error {
		var err error
		u, err = s.rd.pve.OpenIDAuthURL(ctx, s.In.Realm, origin)
		return err
	})
	if err != nil {
		return &CheckError{Step: StepLoginTest, Detail: "Proxmox could not start an OpenID login: " + err.Error(),
			Fix: "every Proxmox node must resolve, reach and trust " + s.iss.planned + " (install authentik's CA under /usr/local/share/ca-certificates and run update-ca-certificates)", Err: err}
	}
	s.Out.AuthURL = u
	return nil
}
