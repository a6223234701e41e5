package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pvesso/pvesso/proxmox"
)

type realmDecision struct {
	existing *proxmox.Realm
	owned    bool
	action   Action
	fields   map[string]bool // fields to update
	pushKey  bool
}

// realmComment marks the realm as managed by pvesso (shown in the login
// realm selector too).
const realmComment = "Authentik SSO (" + ManagedMarker + ")"

type realmStep struct{}

func (realmStep) ID() string { return StepRealm }

func (realmStep) Check(ctx context.Context, s *State) []checkRec {
	r, err := s.rd.Realm(ctx)
	if err != nil {
		return []checkRec{readFail("proxmox", "proxmox-realm", "Proxmox realm readable", err)}
	}
	s.realm.existing = r
	s.Facts.RealmExists = r != nil
	if r != nil {
		s.realm.owned = realmOwned(r)
		s.Facts.RealmManaged = s.realm.owned
	}
	return nil
}

func normClaim(c string) string {
	if c == "" || c == "sub" {
		return "subject"
	}
	return c
}

// normScopes compares scope lists independent of separators (PVE splits
// on spaces, commas and semicolons; the default is "email profile").
func normScopes(s string) string {
	if strings.TrimSpace(s) == "" {
		s = "email profile"
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' })
	return strings.Join(f, " ")
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (realmStep) Plan(s *State) []Item {
	in := s.In
	d := &s.realm
	r := d.existing
	it := Item{Step: StepRealm, Side: "proxmox", Kind: "realm", Name: in.Realm}
	iss := s.issuer()
	s.Facts.ClientID = s.clientID
	if r == nil {
		d.action = ActionCreate
		d.pushKey = true
		cid := s.clientID
		if cid == "" {
			cid = "(generated, same as the provider)"
		}
		it.Action = ActionCreate
		it.Changes = []Change{
			{Field: "type", New: "openid"},
			{Field: "issuer-url", New: iss},
			{Field: "client-id", New: cid},
			{Field: "client-key", New: SecretMask, Secret: true},
			{Field: "username-claim", New: in.UsernameClaim},
			{Field: "autocreate", New: "1"},
			{Field: "scopes", New: DefaultScopes},
			{Field: "comment", New: realmComment},
		}
		if in.DefaultRealm {
			it.Changes = append(it.Changes, Change{Field: "default", New: "1"})
		}
		return []Item{it}
	}
	d.fields = map[string]bool{}
	var ch []Change
	add := func(field, old, new string) {
		if old != new {
			ch = append(ch, Change{Field: field, Old: old, New: new})
			d.fields[field] = true
		}
	}
	if r.Type != "openid" {
		s.blocked = append(s.blocked, fmt.Sprintf("realm %q exists with type %s; Proxmox cannot change a realm's type (choose another --realm)", in.Realm, r.Type))
		it.Action = ActionConflict
		it.Changes = []Change{{Field: "type", Old: r.Type, New: "openid"}}
		it.Note = "cannot be changed"
		d.action = ActionConflict
		return []Item{it}
	}
	if normClaim(r.UsernameClaim) != in.UsernameClaim {
		s.blocked = append(s.blocked, fmt.Sprintf("realm %q has username-claim %s, which Proxmox fixes at creation (rerun with --username-claim %s, or remove the realm)", in.Realm, normClaim(r.UsernameClaim), normClaim(r.UsernameClaim)))
		ch = append(ch, Change{Field: "username-claim", Old: normClaim(r.UsernameClaim), New: in.UsernameClaim})
	}
	add("issuer-url", r.IssuerURL, iss)
	wantID := s.clientID
	if wantID == "" && s.prov.action == ActionCreate {
		wantID = "(generated, same as the provider)"
	}
	add("client-id", r.ClientID, wantID)
	// client-key: PVE may or may not return it (proxmox-api.md §4 vs the
	// bpg docs). When it does, the client compares a hash; when it does
	// not, drift cannot be seen and the key is pushed whenever the secret
	// is new (provider created or its secret reset) or the client id changes.
	switch {
	case s.prov.newKey || d.fields["client-id"]:
		d.pushKey = true
	case r.ClientKeySet && s.clientSecret != "" && !r.ClientKeyEquals(s.clientSecret):
		d.pushKey = true
	}
	if d.pushKey {
		old := SecretMask
		if !r.ClientKeySet {
			old = ""
		}
		ch = append(ch, Change{Field: "client-key", Old: old, New: SecretMask, Secret: true})
	}
	add("autocreate", boolText(r.Autocreate), "1")
	add("scopes", normScopes(r.Scopes), DefaultScopes)
	if !d.owned {
		add("comment", r.Comment, realmComment)
	}
	if in.DefaultRealm {
		add("default", boolText(r.Default), "1")
	}
	it.Changes = ch
	switch {
	case len(ch) == 0:
		it.Action = ActionNone
	case d.owned:
		it.Action = ActionUpdate
	default:
		it.Action = ActionConflict
		it.Note = "not marked as managed by pvesso"
	}
	for _, c := range ch {
		if c.Field == "username-claim" {
			it.Action = ActionConflict
			it.Note = "username-claim is fixed at creation"
		}
	}
	d.action = it.Action
	return []Item{it}
}

func (realmStep) Pending(s *State) bool {
	a := s.realm.action
	return a == ActionCreate || a == ActionUpdate || a == ActionConflict
}

func ptr[T any](v T) *T { return &v }

func (realmStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	in := s.In
	d := &s.realm
	if s.clientID == "" || s.clientSecret == "" {
		return errors.New("the client id and secret are unknown")
	}
	iss := s.issuer()
	if d.action == ActionCreate {
		rc := proxmox.RealmCreate{Realm: in.Realm, IssuerURL: iss, ClientID: s.clientID, ClientKey: s.clientSecret,
			UsernameClaim: in.UsernameClaim, Scopes: DefaultScopes, Comment: realmComment, Autocreate: ptr(true)}
		if in.DefaultRealm {
			rc.Default = ptr(true)
		}
		return s.write(func() error { return s.rd.pve.CreateRealm(ctx, rc) })
	}
	u := proxmox.RealmUpdate{Digest: d.existing.Digest}
	if d.fields["issuer-url"] {
		u.IssuerURL = &iss
	}
	if d.fields["client-id"] {
		u.ClientID = ptr(s.clientID)
	}
	if d.pushKey {
		u.ClientKey = ptr(s.clientSecret)
	}
	if d.fields["autocreate"] {
		u.Autocreate = ptr(true)
	}
	if d.fields["scopes"] {
		u.Scopes = ptr(DefaultScopes)
	}
	if d.fields["comment"] {
		u.Comment = ptr(realmComment)
	}
	if d.fields["default"] {
		u.Default = ptr(true)
	}
	return s.write(func() error { return s.rd.pve.UpdateRealm(ctx, in.Realm, u) })
}
