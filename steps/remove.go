package steps

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
)

// removeStep deletes what pvesso manages of one kind.
type removeStep struct {
	id    string
	items []Item
	run   func(ctx context.Context, s *State) error
}

func (r *removeStep) ID() string                                                { return r.id }
func (r *removeStep) Check(context.Context, *State) []checkRec                  { return nil }
func (r *removeStep) Plan(*State) []Item                                        { return r.items }
func (r *removeStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error { return r.run(ctx, s) }
func (r *removeStep) Pending(*State) bool {
	for _, it := range r.items {
		if it.Action == ActionDelete {
			return true
		}
	}
	return false
}

// removeReads is the check of PlanRemove: every object pvesso might manage.
type removeReads struct{}

func (removeReads) ID() string { return "remove" }
func (removeReads) Check(ctx context.Context, s *State) []checkRec {
	var wg sync.WaitGroup
	var errs [6]error
	wg.Go(func() { _, errs[0] = s.provider(ctx) })
	wg.Go(func() { _, errs[1] = s.rd.App(ctx) })
	wg.Go(func() { _, errs[2] = s.rd.Realm(ctx) })
	wg.Go(func() { _, errs[3] = s.rd.Groups(ctx) })
	wg.Go(func() { _, errs[4] = s.rd.ACL(ctx) })
	wg.Go(func() { _, errs[5] = s.rd.PVEUsers(ctx) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			side := "proxmox"
			if i < 2 {
				side = "authentik"
			}
			return []checkRec{readFail(side, "remove-read", "Objects readable", err)}
		}
	}
	return nil
}
func (removeReads) Plan(*State) []Item                                { return nil }
func (removeReads) Apply(context.Context, *State, ApplyOptions) error { return nil }
func (removeReads) Pending(*State) bool                               { return false }

// PlanRemove plans deleting what pvesso manages: the application marked as
// managed, the provider found by the managed realm's client id or bound to
// that application, the realm with the managed comment, the users pvesso
// created in it, and the group it created (with its ACL entry). Everything
// else is listed as kept. Nothing is written.
func (e *Engine) PlanRemove(ctx context.Context) (*Plan, error) {
	s := e.newState(ctx, e.in, "remove")
	e.checkState(ctx, s, []step{preflightStep{}, removeReads{}})
	e.state = s
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r := s.report(); !r.OK() {
		return nil, preflightError(r)
	}
	bg := context.Background() // all reads are cached by now
	in := s.In
	m, _ := s.provider(bg)
	app, _ := s.rd.App(bg)
	realm, _ := s.rd.Realm(bg)
	groups, _ := s.rd.Groups(bg)
	acl, _ := s.rd.ACL(bg)
	users, _ := s.rd.PVEUsers(bg)

	kept := func(side, kind, name, why string) Item {
		return Item{Step: "remove", Side: side, Kind: kind, Name: name, Action: ActionNone, Note: "kept: " + why}
	}
	del := func(side, kind, name string) Item {
		return Item{Step: "remove", Side: side, Kind: kind, Name: name, Action: ActionDelete}
	}
	var st1, st2 []step
	p := &Plan{state: s}

	appStep := &removeStep{id: StepApplication}
	if app != nil {
		if appOwned(app) {
			appStep.items = []Item{del("authentik", "application", app.Slug)}
			slug := app.Slug
			appStep.run = func(ctx context.Context, s *State) error {
				return ignoreNotFound(s.write(func() error { return s.rd.ak.DeleteApplication(ctx, slug) }))
			}
		} else {
			appStep.items = []Item{kept("authentik", "application", app.Slug, "not marked as managed by pvesso")}
		}
	}
	provStep := &removeStep{id: StepProvider}
	if m.p != nil {
		if m.owned {
			provStep.items = []Item{del("authentik", "provider", m.p.Name)}
			pk := m.p.PK
			provStep.run = func(ctx context.Context, s *State) error {
				return ignoreNotFound(s.write(func() error { return s.rd.ak.DeleteOAuth2Provider(ctx, pk) }))
			}
		} else {
			provStep.items = []Item{kept("authentik", "provider", m.p.Name, "not linked to a realm or application pvesso manages")}
		}
	}
	realmStp := &removeStep{id: StepRealm}
	if realm != nil {
		if realmOwned(realm) {
			realmStp.items = []Item{del("proxmox", "realm", realm.Realm)}
			realmStp.run = func(ctx context.Context, s *State) error {
				return ignoreNotFound(s.write(func() error { return s.rd.pve.DeleteRealm(ctx, in.Realm) }))
			}
		} else {
			realmStp.items = []Item{kept("proxmox", "realm", realm.Realm, "its comment does not mark it as managed by pvesso")}
		}
	}
	usersStp := &removeStep{id: StepUsers}
	var delUsers []string
	others := 0
	for _, u := range users {
		if !strings.HasSuffix(u.UserID, "@"+in.Realm) {
			continue
		}
		if strings.Contains(u.Comment, ManagedMarker) {
			delUsers = append(delUsers, u.UserID)
		} else {
			others++
		}
	}
	sort.Strings(delUsers)
	for _, u := range delUsers {
		usersStp.items = append(usersStp.items, del("proxmox", "user", u))
	}
	if others > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d user(s) of realm %s were not created by pvesso (e.g. autocreated at login) and are kept", others, in.Realm))
	}
	usersStp.run = func(ctx context.Context, s *State) error {
		errs := make([]error, len(delUsers))
		var wg sync.WaitGroup
		for i, u := range delUsers {
			wg.Go(func() { errs[i] = ignoreNotFound(s.write(func() error { return s.rd.pve.DeleteUser(ctx, u) })) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	var group *proxmox.Group
	for i := range groups {
		if groups[i].GroupID == in.Group {
			group = &groups[i]
		}
	}
	groupOwned := group != nil && strings.Contains(group.Comment, ManagedMarker)
	aclStp := &removeStep{id: StepACL}
	for _, a := range acl {
		if a.Path == in.ACLPath && a.Type == "group" && a.UGID == in.Group && a.RoleID == in.Role {
			name := s.aclName()
			if groupOwned {
				aclStp.items = []Item{del("proxmox", "acl", name)}
				aclStp.run = func(ctx context.Context, s *State) error {
					return ignoreNotFound(s.write(func() error {
						return s.rd.pve.UpdateACL(ctx, proxmox.ACLUpdate{Path: in.ACLPath, Roles: []string{in.Role}, Groups: []string{in.Group}, Delete: true})
					}))
				}
			} else {
				aclStp.items = []Item{kept("proxmox", "acl", name, "the group was not created by pvesso")}
			}
		}
	}
	groupStp := &removeStep{id: StepGroup}
	if group != nil {
		if groupOwned {
			groupStp.items = []Item{del("proxmox", "group", group.GroupID)}
			groupStp.run = func(ctx context.Context, s *State) error {
				return ignoreNotFound(s.write(func() error { return s.rd.pve.DeleteGroup(ctx, in.Group) }))
			}
		} else {
			groupStp.items = []Item{kept("proxmox", "group", group.GroupID, "not created by pvesso")}
		}
	}
	// the application before its provider; users and the ACL before the group
	st1 = []step{appStep, realmStp, usersStp, aclStp}
	st2 = []step{provStep, groupStp}
	for _, st := range append(append([]step{}, st1...), st2...) {
		p.Items = append(p.Items, st.Plan(s)...)
	}
	if len(p.Items) == 0 {
		p.Notes = append(p.Notes, "nothing of pvesso's was found")
	}
	p.Notes = append(p.Notes, "signing key pairs are never removed (other providers may use them)")
	s.stages = [][]step{st1, st2}
	s.plan = p
	return p, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, authentik.ErrNotFound) || errors.Is(err, proxmox.ErrNotFound) {
		return nil
	}
	return err
}

// Remove carries out a plan of PlanRemove (it is Apply for such plans):
// the application before the provider, users and the ACL before the group.
// Objects already gone are fine (a rerun after a failure completes).
func (e *Engine) Remove(ctx context.Context, p *Plan, o ApplyOptions) (*Result, error) {
	if p == nil || p.state == nil || p.state.mode != "remove" {
		return nil, errors.New("steps: the plan was not made by PlanRemove")
	}
	return e.Apply(ctx, p, o)
}
