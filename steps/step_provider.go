package steps

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pvesso/pvesso/authentik"
)

type provDecision struct {
	match   provMatch
	authz   *authentik.Flow
	inval   *authentik.Flow
	scopes  map[string]string // mapping pk -> scope name (the required three)
	req     authentik.OAuth2ProviderRequest
	action  Action
	pk      int
	newKey  bool // the realm needs the client secret pushed
	reuseID bool // the new provider reuses the realm's client id
}

type providerStep struct{}

func (providerStep) ID() string { return StepProvider }

func (providerStep) Check(ctx context.Context, s *State) []checkRec {
	var (
		wg                  sync.WaitGroup
		authz, inval        *authentik.Flow
		authzErr, invalErr  error
		maps                []authentik.ScopeMapping
		mapsErr, provErr    error
		nodes               []NodeFact
		redirects           []string
		redirErr            error
		const1, const2, ttl = "authentik-flows", "authentik-scopes", "Authentik default flows"
	)
	wg.Go(func() { authz, authzErr = s.rd.AuthzFlow(ctx) })
	wg.Go(func() { inval, invalErr = s.rd.InvalidationFlow(ctx) })
	wg.Go(func() { maps, mapsErr = s.rd.Mappings(ctx) })
	wg.Go(func() { s.prov.match, provErr = s.provider(ctx) })
	wg.Go(func() { nodes, redirects, redirErr = s.wantedRedirects(ctx) })
	wg.Wait()

	var out []checkRec
	switch {
	case authzErr != nil && errors.Is(authzErr, authentik.ErrNotFound):
		out = append(out, fail(const1, ttl, "the flow "+authentik.FlowImplicitConsent+" does not exist",
			"restore authentik's default blueprints (System > Blueprints: default-provider-authorization-implicit-consent)"))
	case authzErr != nil:
		out = append(out, readFail("authentik", const1, ttl, authzErr))
	case invalErr != nil && errors.Is(invalErr, authentik.ErrNotFound):
		out = append(out, fail(const1, ttl, "the flow "+authentik.FlowProviderInvalidation+" does not exist (default-invalidation-flow would log users out of authentik)",
			"restore authentik's default blueprints (System > Blueprints: default-provider-invalidation-flow)"))
	case invalErr != nil:
		out = append(out, readFail("authentik", const1, ttl, invalErr))
	default:
		s.prov.authz, s.prov.inval = authz, inval
		d := authz.Slug
		if inval != nil {
			d += ", " + inval.Slug
		}
		out = append(out, ok(const1, ttl, d))
	}
	if mapsErr != nil {
		out = append(out, readFail("authentik", const2, "Authentik openid/email/profile scope mappings", mapsErr))
	} else {
		s.prov.scopes = map[string]string{}
		var missing []string
		for _, rs := range requiredScopes {
			found := false
			for _, m := range maps {
				if m.Managed == rs.Managed {
					s.prov.scopes[m.PK] = rs.Scope
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, rs.Managed)
			}
		}
		if len(missing) > 0 {
			out = append(out, fail(const2, "Authentik openid/email/profile scope mappings", "missing managed scope mappings: "+strings.Join(missing, ", "),
				"restore authentik's system blueprint providers-oauth2.yaml"))
		} else {
			out = append(out, ok(const2, "Authentik openid/email/profile scope mappings", "openid, email, profile"))
		}
	}
	if provErr != nil {
		out = append(out, readFail("authentik", "authentik-providers", "Authentik providers readable", provErr))
	} else {
		s.providerFacts()
	}
	if redirErr != nil {
		var ue *UsageError
		if errors.As(redirErr, &ue) {
			out = append(out, fail("redirect-uris", "Redirect URIs", ue.Error(), ue.Flag))
		} else {
			out = append(out, readFail("proxmox", "cluster", "Proxmox cluster nodes (--all-nodes)", redirErr))
		}
	} else {
		s.redirects = redirects
		s.Facts.Nodes = nodes
		s.Facts.RedirectURIs = redirects
	}
	return out
}

// providerFacts records the provider found again (the client id is not a
// secret; the client secret never becomes a fact).
func (s *State) providerFacts() {
	if p := s.prov.match.p; p != nil {
		s.Facts.ProviderExists, s.Facts.ProviderPK, s.Facts.ClientID = true, p.PK, p.ClientID
	}
}

// mergeRedirects keeps every registered URI (departed nodes are reported,
// not removed), turns a wanted URL registered as regex into strict and
// appends the missing wanted ones as strict.
func mergeRedirects(existing []authentik.RedirectURI, wanted []string) (merged []authentik.RedirectURI, departed []string) {
	want := map[string]bool{}
	for _, w := range wanted {
		want[w] = true
	}
	have := map[string]bool{}
	for _, r := range existing {
		if r.Type == authentik.RedirectLogout {
			merged = append(merged, r)
			continue
		}
		if want[r.URL] {
			if have[r.URL] {
				continue // duplicate entry of a wanted URL
			}
			r.MatchingMode = authentik.MatchStrict
			have[r.URL] = true
		} else {
			departed = append(departed, r.URL)
		}
		merged = append(merged, r)
	}
	for _, w := range wanted {
		if !have[w] {
			merged = append(merged, authentik.RedirectURI{MatchingMode: authentik.MatchStrict, URL: w})
		}
	}
	return merged, departed
}

func renderRedirects(list []authentik.RedirectURI) string {
	parts := make([]string, 0, len(list))
	for _, r := range list {
		s := r.URL
		if r.MatchingMode != "" && r.MatchingMode != authentik.MatchStrict {
			s += " (" + r.MatchingMode + ")"
		}
		if r.Type == authentik.RedirectLogout {
			s += " (logout)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func (s *State) keyName(pk string) string {
	if pk == "" {
		return "none (HS256)"
	}
	if n, ok := s.key.names[pk]; ok {
		return n
	}
	return pk
}

func (s *State) flowName(pk string) string {
	for _, f := range []*authentik.Flow{s.prov.authz, s.prov.inval} {
		if f != nil && f.PK == pk {
			return f.Slug
		}
	}
	if pk == "" {
		return "none"
	}
	return pk
}

func (s *State) mappingNames(pks []string) string {
	names := make([]string, 0, len(pks))
	for _, pk := range pks {
		if n, ok := s.prov.scopes[pk]; ok {
			names = append(names, n)
		} else {
			names = append(names, pk)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (s *State) grantTypesSupported() bool { return s.akVer.AtLeast(2026, 5, 0) }

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func (providerStep) Plan(s *State) []Item {
	d := &s.prov
	in := s.In
	p := d.match.p
	var keyPK string
	if s.key.chosen != nil {
		keyPK = s.key.chosen.PK
	}
	req := authentik.OAuth2ProviderRequest{
		Name:                   in.ProviderName,
		AuthorizationFlow:      d.authz.PK,
		ClientType:             "confidential",
		SigningKey:             keyPK,
		SubMode:                in.SubjectMode,
		IssuerMode:             "per_provider",
		IncludeClaimsInIDToken: true,
	}
	if d.inval != nil {
		req.InvalidationFlow = d.inval.PK
	}
	if s.grantTypesSupported() {
		req.GrantTypes = []string{"authorization_code"}
	}
	required := sortedKeys(d.scopes)
	it := Item{Step: StepProvider, Side: "authentik", Kind: "provider", Name: in.ProviderName}
	if p == nil {
		req.RedirectURIs, _ = mergeRedirects(nil, s.redirects)
		req.PropertyMappings = required
		d.req = req
		d.action = ActionCreate
		d.newKey = true
		it.Action = ActionCreate
		idNote := "(generated)"
		if realm, _ := s.rd.Realm(context.Background()); realm != nil && realm.ClientID != "" && realm.Type == "openid" {
			// found again by stable identity: keep the realm's client id
			s.clientID = realm.ClientID
			d.reuseID = true
			idNote = realm.ClientID
		}
		it.Changes = []Change{
			{Field: "client_type", New: "confidential"},
			{Field: "client_id", New: idNote},
			{Field: "client_secret", New: SecretMask, Secret: true},
			{Field: "redirect_uris", New: renderRedirects(req.RedirectURIs) + " (strict)"},
			{Field: "signing_key", New: s.keyName(keyPK) + generatedNote(s)},
			{Field: "sub_mode", New: in.SubjectMode},
			{Field: "property_mappings", New: s.mappingNames(required)},
			{Field: "authorization_flow", New: d.authz.Slug},
		}
		if d.inval != nil {
			it.Changes = append(it.Changes, Change{Field: "invalidation_flow", New: d.inval.Slug})
		}
		it.Changes = append(it.Changes,
			Change{Field: "issuer_mode", New: "per_provider"},
			Change{Field: "include_claims_in_id_token", New: "true"},
			Change{Field: "encryption_key", New: "none"})
		if req.GrantTypes != nil {
			it.Changes = append(it.Changes, Change{Field: "grant_types", New: "authorization_code"})
		}
		return []Item{it}
	}

	// existing provider: keep identity (name, client id/secret) and the
	// settings pvesso does not manage (token validities)
	req.Name = p.Name
	it.Name = p.Name
	req.ClientID, req.ClientSecret = p.ClientID, p.ClientSecret
	req.AccessCodeValidity, req.AccessTokenValidity, req.RefreshTokenValidity = p.AccessCodeValidity, p.AccessTokenValidity, p.RefreshTokenValidity
	s.clientID, s.clientSecret = p.ClientID, p.ClientSecret
	var departed []string
	req.RedirectURIs, departed = mergeRedirects(p.RedirectURIs, s.redirects)
	s.departed = departed
	pm := map[string]bool{}
	for _, m := range p.PropertyMappings {
		pm[m] = true
	}
	for _, m := range required {
		pm[m] = true
	}
	req.PropertyMappings = sortedKeys(pm)

	var ch []Change
	add := func(field, old, new string) {
		if old != new {
			ch = append(ch, Change{Field: field, Old: old, New: new})
		}
	}
	add("client_type", p.ClientType, req.ClientType)
	add("redirect_uris", renderRedirects(p.RedirectURIs), renderRedirects(req.RedirectURIs))
	add("signing_key", s.keyName(p.SigningKey), s.keyName(req.SigningKey)+generatedNote(s))
	if p.EncryptionKey != "" {
		// an encrypted (JWE) id_token cannot be read by Proxmox
		add("encryption_key", s.keyName(p.EncryptionKey), "none")
	}
	add("sub_mode", p.SubMode, req.SubMode)
	add("property_mappings", s.mappingNames(sortedCopy(p.PropertyMappings)), s.mappingNames(req.PropertyMappings))
	add("authorization_flow", s.flowName(p.AuthorizationFlow), s.flowName(req.AuthorizationFlow))
	if req.InvalidationFlow != "" {
		add("invalidation_flow", s.flowName(p.InvalidationFlow), s.flowName(req.InvalidationFlow))
	}
	if p.IssuerMode != "" {
		add("issuer_mode", p.IssuerMode, req.IssuerMode)
	}
	add("include_claims_in_id_token", fmt.Sprint(p.IncludeClaimsInIDToken), "true")
	if req.GrantTypes != nil {
		add("grant_types", strings.Join(sortedCopy(p.GrantTypes), ", "), "authorization_code")
	}
	if p.ClientSecret == "" {
		// a provider without a readable secret: pvesso sets a new one
		ch = append(ch, Change{Field: "client_secret", Old: "", New: SecretMask, Secret: true})
		d.newKey = true
	}
	d.req = req
	var notes []string
	if d.match.how != "name" {
		notes = append(notes, "found by "+d.match.how)
	}
	if len(departed) > 0 {
		notes = append(notes, "kept redirect URIs that match no current node or input (departed?): "+strings.Join(departed, ", "))
	}
	if a := p.AssignedApplicationSlug; a != "" && a != in.AppSlug {
		notes = append(notes, "bound to application "+a)
		s.blocked = append(s.blocked, fmt.Sprintf("provider %q is bound to the application %q; an authentik provider serves one application (use another --app-slug or unbind it)", p.Name, a))
		it.Action = ActionConflict
	}
	it.Changes = ch
	it.Note = strings.Join(notes, "; ")
	switch {
	case it.Action == ActionConflict:
	case len(ch) == 0:
		it.Action = ActionNone
	case d.match.owned:
		it.Action = ActionUpdate
	default:
		it.Action = ActionConflict
	}
	d.action = it.Action
	return []Item{it}
}

func generatedNote(s *State) string {
	if s.key.generate && s.key.chosen == nil {
		return s.key.genName + " (to be generated)"
	}
	return ""
}

func (providerStep) Pending(s *State) bool {
	return s.prov.action == ActionCreate || s.prov.action == ActionUpdate || s.prov.action == ActionConflict
}

func (providerStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	d := &s.prov
	req := d.req
	if s.key.chosen != nil {
		req.SigningKey = s.key.chosen.PK
	}
	req.ClientID, req.ClientSecret = s.clientID, s.clientSecret
	var p *authentik.OAuth2Provider
	err := s.write(func() error {
		var err error
		if d.action == ActionCreate {
			p, err = s.rd.ak.CreateOAuth2Provider(ctx, req)
		} else {
			p, err = s.rd.ak.UpdateOAuth2Provider(ctx, d.match.p.PK, req)
		}
		return err
	})
	if err != nil {
		return err
	}
	d.pk = p.PK
	return nil
}

// providerPK is the provider's pk once known (existing or created).
func (s *State) providerPK() int {
	if s.prov.pk != 0 {
		return s.prov.pk
	}
	if s.prov.match.p != nil {
		return s.prov.match.p.PK
	}
	return 0
}
