package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/pvesso/pvesso/authentik"
)

type appDecision struct {
	existing *authentik.Application
	action   Action
}

// appDescription marks the application as managed by pvesso.
const appDescription = "Proxmox VE single sign-on (" + ManagedMarker + ")"

type applicationStep struct{}

func (applicationStep) ID() string { return StepApplication }

func (applicationStep) Check(ctx context.Context, s *State) []checkRec {
	a, err := s.rd.App(ctx)
	if err != nil {
		return []checkRec{readFail("authentik", "authentik-application", "Authentik application readable", err)}
	}
	s.app.existing = a
	s.Facts.ApplicationExists = a != nil
	return nil
}

func (s *State) launchURL() string {
	o, _ := Origin(s.In.ProxmoxURL)
	return o
}

func (s *State) providerLabel(pk *int) string {
	if pk == nil {
		return "none"
	}
	if p := s.prov.match.p; p != nil && p.PK == *pk {
		return p.Name
	}
	return fmt.Sprintf("provider #%d", *pk)
}

func (applicationStep) Plan(s *State) []Item {
	in := s.In
	a := s.app.existing
	it := Item{Step: StepApplication, Side: "authentik", Kind: "application", Name: in.AppSlug}
	provName := s.prov.req.Name
	if a == nil {
		it.Action = ActionCreate
		it.Changes = []Change{
			{Field: "name", New: in.AppName},
			{Field: "slug", New: in.AppSlug},
			{Field: "provider", New: provName},
			{Field: "meta_launch_url", New: s.launchURL()},
			{Field: "meta_description", New: appDescription},
		}
		s.app.action = ActionCreate
		return []Item{it}
	}
	var ch []Change
	add := func(field, old, new string) {
		if old != new {
			ch = append(ch, Change{Field: field, Old: old, New: new})
		}
	}
	add("name", a.Name, in.AppName)
	if s.prov.match.p == nil || a.Provider == nil || *a.Provider != s.prov.match.p.PK {
		add("provider", s.providerLabel(a.Provider), provName)
	}
	add("meta_launch_url", a.MetaLaunchURL, s.launchURL())
	it.Changes = ch
	switch {
	case len(ch) == 0:
		it.Action = ActionNone
	case appOwned(a):
		it.Action = ActionUpdate
	default:
		it.Action = ActionConflict
	}
	if !appOwned(a) && it.Action != ActionNone {
		it.Note = "not marked as managed by pvesso"
	}
	s.app.action = it.Action
	return []Item{it}
}

func (applicationStep) Pending(s *State) bool {
	return s.app.action == ActionCreate || s.app.action == ActionUpdate || s.app.action == ActionConflict
}

func (applicationStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	pk := s.providerPK()
	if pk == 0 {
		return fmt.Errorf("the provider's id is unknown (the provider step did not run)")
	}
	req := authentik.ApplicationRequest{Name: s.In.AppName, Slug: s.In.AppSlug, Provider: &pk,
		MetaLaunchURL: s.launchURL(), MetaDescription: appDescription, PolicyEngineMode: "any"}
	return s.write(func() error {
		if s.app.action == ActionCreate {
			_, err := s.rd.ak.CreateApplication(ctx, req)
			return err
		}
		a := s.app.existing
		// keep what pvesso does not manage
		req.PolicyEngineMode, req.Group, req.OpenInNewTab = a.PolicyEngineMode, a.Group, a.OpenInNewTab
		if a.MetaDescription != "" && !strings.Contains(a.MetaDescription, ManagedMarker) {
			req.MetaDescription = a.MetaDescription + " (" + ManagedMarker + ")"
		} else if a.MetaDescription != "" {
			req.MetaDescription = a.MetaDescription
		}
		_, err := s.rd.ak.UpdateApplication(ctx, a.Slug, req)
		return err
	})
}
