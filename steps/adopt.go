package steps

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pvesso/pvesso/proxmox"
)

// Names of the inputs a rerun can adopt from the existing managed setup
// (the CLI's flag names). Inputs.Explicit lists those the user gave.
const (
	InputRealm         = "realm"
	InputGroup         = "group"
	InputAppSlug       = "app-slug"
	InputAppName       = "app-name"
	InputSigningKey    = "signing-key"
	InputSubjectMode   = "subject-mode"
	InputUsernameClaim = "username-claim"
	InputDefaultRealm  = "default-realm"
)

// Existing describes the setup pvesso already manages, as read back from
// both servers (Facts.Existing; only found when Inputs.AdoptExisting is
// set). Empty fields could not be discovered unambiguously.
type Existing struct {
	// Realm is the openid realm whose comment marks it as managed by pvesso
	// (the only one, or the one named by --realm).
	Realm         string `json:"realm,omitempty"`
	UsernameClaim string `json:"username_claim,omitempty"`
	DefaultRealm  bool   `json:"default_realm"`
	// AppSlug is the application the realm's issuer URL names (or the
	// managed application with the given slug); AppName its name.
	AppSlug string `json:"app_slug,omitempty"`
	AppName string `json:"app_name,omitempty"`
	// Provider settings: the provider the realm's client id belongs to (or
	// the one bound to the managed application).
	SubjectMode  string   `json:"subject_mode,omitempty"`
	SigningKey   string   `json:"signing_key,omitempty"` // key pair name
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// Group is the only Proxmox group whose comment marks it as managed.
	Group string `json:"group,omitempty"`
	// Adopted lists the inputs (Input* names) that took the existing value
	// because they were not given explicitly and differ from the default.
	Adopted []string `json:"adopted,omitempty"`
}

// Adopting returns in set to keep the existing managed setup's settings
// for every adoptable input not named in explicit (Input* names). The
// precedence is then: explicit value > existing managed setup > default.
// Without it (the zero Inputs) every field is taken as wanted.
func (in Inputs) Adopting(explicit ...string) Inputs {
	in.AdoptExisting = true
	in.Explicit = slices.Clone(explicit)
	return in
}

// IsExplicit reports whether the input name (Input*) was given explicitly;
// always true unless AdoptExisting is set.
func (in Inputs) IsExplicit(name string) bool {
	return !in.AdoptExisting || slices.Contains(in.Explicit, name)
}

// adopt reads the existing managed setup through r (the reads are
// memoised, so the check pass that follows reuses them) and returns in with
// the existing values for the inputs not given explicitly. Read errors are
// ignored here: the check pass reports them. keyName says whether to read
// the key pairs for the signing key's name (setup reads them anyway; the
// users and remove passes do not).
func adopt(ctx context.Context, r *reader, in Inputs, keyName bool) (Inputs, *Existing) {
	if !in.AdoptExisting {
		return in, nil
	}
	ex := &Existing{}
	def := DefaultInputs()
	// the reads that do not depend on the realm go out at once (memoised:
	// the check pass that follows reuses them)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = r.Providers(ctx) })
	wg.Go(func() { _, _ = r.Groups(ctx) })
	if keyName {
		wg.Go(func() { _, _ = r.KeyPairs(ctx) })
	}
	defer wg.Wait()
	// 1. the realm: the only managed openid realm, unless --realm names one
	if !in.IsExplicit(InputRealm) {
		if name := managedRealm(ctx, r); name != "" {
			in.Realm = name
		}
	}
	r.in.Realm = in.Realm // before the first Realm read
	realm, _ := r.Realm(ctx)
	if realm != nil && (realm.Type == "" || realm.Type == "openid") && realmOwned(realm) {
		ex.Realm = realm.Realm
		ex.UsernameClaim = normClaim(realm.UsernameClaim)
		ex.DefaultRealm = realm.Default
		if slug := slugFromIssuer(r, realm); slug != "" {
			ex.AppSlug = slug
			if !in.IsExplicit(InputAppSlug) {
				in.AppSlug = slug
			}
		}
	} else {
		realm = nil
	}
	r.in.AppSlug = in.AppSlug // before the first App read
	app, _ := r.App(ctx)
	if app != nil && appOwned(app) {
		ex.AppSlug, ex.AppName = app.Slug, app.Name
		if ex.AppSlug == "" {
			ex.AppSlug = in.AppSlug
		}
	}
	// 2. the provider: by the realm's client id, else bound to the app
	if provs, err := r.Providers(ctx); err == nil {
		for i := range provs {
			p := &provs[i]
			byRealm := realm != nil && realm.ClientID != "" && p.ClientID == realm.ClientID
			byApp := realm == nil && app != nil && appOwned(app) && app.Provider != nil && *app.Provider == p.PK
			if !byRealm && !byApp {
				continue
			}
			ex.SubjectMode = p.SubMode
			for _, u := range p.RedirectURIs {
				ex.RedirectURIs = append(ex.RedirectURIs, u.URL)
			}
			if p.SigningKey != "" && keyName {
				if kps, err := r.KeyPairs(ctx); err == nil {
					for _, kp := range kps {
						if kp.PK == p.SigningKey {
							ex.SigningKey = kp.Name
						}
					}
				}
			}
			break
		}
	}
	// 3. the group: the only managed one
	ex.Group = managedGroup(ctx, r)

	take := func(name string, p *string, v, dflt string, ok bool) {
		if v == "" || !ok || in.IsExplicit(name) || *p == v {
			return
		}
		*p = v
		if v != dflt {
			ex.Adopted = append(ex.Adopted, name)
		}
	}
	if ex.Realm != "" && in.Realm != def.Realm && !in.IsExplicit(InputRealm) {
		ex.Adopted = append(ex.Adopted, InputRealm)
	}
	if in.AppSlug != def.AppSlug && !in.IsExplicit(InputAppSlug) {
		ex.Adopted = append(ex.Adopted, InputAppSlug)
	}
	take(InputGroup, &in.Group, ex.Group, def.Group, true)
	if ex.AppName != "" && !in.IsExplicit(InputAppName) && in.AppName != ex.AppName {
		// the provider keeps its name: it is found by client id, not name
		if in.ProviderName == "" || in.ProviderName == in.AppName {
			in.ProviderName = ""
		}
		take(InputAppName, &in.AppName, ex.AppName, def.AppName, true)
		in = in.WithDefaults()
	}
	take(InputSubjectMode, &in.SubjectMode, ex.SubjectMode, def.SubjectMode, slices.Contains(SubjectModes, ex.SubjectMode))
	take(InputUsernameClaim, &in.UsernameClaim, ex.UsernameClaim, def.UsernameClaim, slices.Contains(UsernameClaims, ex.UsernameClaim))
	if ex.Realm != "" && ex.DefaultRealm && !in.DefaultRealm && !in.IsExplicit(InputDefaultRealm) {
		in.DefaultRealm = true
		ex.Adopted = append(ex.Adopted, InputDefaultRealm)
	}
	// The signing key stays an empty input: the key step keeps the
	// provider's key while it is eligible (and proposes another when it
	// has expired), which an explicit name would refuse instead.
	if ex.SigningKey != "" && !in.IsExplicit(InputSigningKey) {
		ex.Adopted = append(ex.Adopted, InputSigningKey)
	}
	r.in = in
	return in, ex
}

// adoptPVE adopts the realm and group from the Proxmox side alone (for
// listing realm users without reading Authentik).
func adoptPVE(ctx context.Context, r *reader, in Inputs) Inputs {
	if !in.IsExplicit(InputRealm) {
		if name := managedRealm(ctx, r); name != "" {
			in.Realm = name
		}
	}
	if !in.IsExplicit(InputGroup) {
		if g := managedGroup(ctx, r); g != "" {
			in.Group = g
		}
	}
	return in
}

// managedRealm is the only openid realm marked as managed, "" when there
// is none or more than one.
func managedRealm(ctx context.Context, r *reader) string {
	list, err := r.Realms(ctx)
	if err != nil {
		return ""
	}
	var managed []string
	for _, s := range list {
		if s.Type == "openid" && strings.Contains(s.Comment, ManagedMarker) {
			managed = append(managed, s.Realm)
		}
	}
	if len(managed) == 1 {
		return managed[0]
	}
	return ""
}

// managedGroup is the only Proxmox group marked as managed, "" when there
// is none or more than one.
func managedGroup(ctx context.Context, r *reader) string {
	groups, err := r.Groups(ctx)
	if err != nil {
		return ""
	}
	var managed []string
	for _, g := range groups {
		if strings.Contains(g.Comment, ManagedMarker) {
			managed = append(managed, g.GroupID)
		}
	}
	if len(managed) == 1 {
		return managed[0]
	}
	return ""
}

// slugFromIssuer is the application slug the realm's issuer URL names
// (<authentik>/application/o/<slug>/), "" when it names none.
func slugFromIssuer(r *reader, realm *proxmox.Realm) string {
	prefix := strings.TrimSuffix(r.ak.IssuerURL(""), "/")
	rest, ok := strings.CutPrefix(realm.IssuerURL, prefix)
	if !ok {
		return ""
	}
	slug := strings.Trim(rest, "/")
	if !slugRe.MatchString(slug) || reservedSlugs[slug] {
		return ""
	}
	return slug
}

// adoptedValue is the value an adopted input took, for the plan's note.
func adoptedValue(in Inputs, ex *Existing, name string) string {
	switch name {
	case InputRealm:
		return in.Realm
	case InputGroup:
		return in.Group
	case InputAppSlug:
		return in.AppSlug
	case InputAppName:
		return strconv.Quote(in.AppName)
	case InputSubjectMode:
		return in.SubjectMode
	case InputUsernameClaim:
		return in.UsernameClaim
	case InputSigningKey:
		return strconv.Quote(ex.SigningKey)
	case InputDefaultRealm:
		return "(on)"
	}
	return ""
}
