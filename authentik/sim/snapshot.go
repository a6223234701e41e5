package sim

import "sort"

// Read-only copies of the simulator state, for tests and the demo. They
// never alias the live state.

// RedirectURI is one allowed redirect URI of a provider.
type RedirectURI struct {
	MatchingMode string // "strict" | "regex"
	URL          string
	Type         string // "authorization" | "logout" (>= 2026.5), else ""
}

// ProviderSnapshot is an OAuth2 provider.
type ProviderSnapshot struct {
	PK                     int
	Name                   string
	AuthorizationFlow      string // flow pk
	AuthenticationFlow     string // "" = none
	InvalidationFlow       string // "" = none
	ClientType             string
	ClientID               string
	ClientSecret           string
	RedirectURIs           []RedirectURI
	RedirectURIsRaw        string // the newline string of releases before 2024.8.5 / 2024.10.3
	SigningKey             string // key pair pk, "" = none (HS256)
	EncryptionKey          string
	SubMode                string
	IssuerMode             string
	PropertyMappings       []string // scope mapping pks
	IncludeClaimsInIDToken bool
	AccessCodeValidity     string
	AccessTokenValidity    string
	RefreshTokenValidity   string
	GrantTypes             []string // >= 2026.5
	ApplicationSlug        string   // "" = not assigned
}

// ApplicationSnapshot is an application.
type ApplicationSnapshot struct {
	PK               string
	Name             string
	Slug             string
	Provider         *int
	MetaLaunchURL    string
	PolicyEngineMode string
	Group            string
	OpenInNewTab     bool
}

// PolicyBindingSnapshot is a policy binding.
type PolicyBindingSnapshot struct {
	PK      string
	Target  string
	Group   string // group pk or ""
	User    *int
	Policy  string
	Order   int
	Enabled bool
	Negate  bool
	Timeout int
}

// GroupSnapshot is a group with its members' usernames.
type GroupSnapshot struct {
	PK          string
	Name        string
	IsSuperuser bool
	Members     []string
}

// UserSnapshot is a user.
type UserSnapshot struct {
	PK          int
	UUID        string
	UID         string // sha256 hashed id (sub for hashed_user_id)
	Username    string
	Name        string
	Email       string
	IsActive    bool
	IsSuperuser bool
	Groups      []string
}

// FlowSnapshot is a flow.
type FlowSnapshot struct {
	PK, Slug, Name, Title, Designation string
}

// KeyPairSnapshot is a certificate-key pair.
type KeyPairSnapshot struct {
	PK                string
	Name              string
	HasPrivateKey     bool
	KeyType           string // "rsa" | "ec" | "ed25519"
	FingerprintSHA256 string
	KID               string
	CertPEM           string
}

// ScopeMappingSnapshot is a scope mapping.
type ScopeMappingSnapshot struct {
	PK, Managed, Name, ScopeName string
}

// Providers returns the OAuth2 providers, ordered by pk.
func (s *Server) Providers() []ProviderSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProviderSnapshot, 0, len(s.st.providers))
	for _, p := range s.st.providers {
		ps := ProviderSnapshot{
			PK: p.pk, Name: p.name, AuthorizationFlow: p.authorizationFlow, AuthenticationFlow: p.authenticationFlow,
			InvalidationFlow: p.invalidationFlow, ClientType: p.clientType, ClientID: p.clientID, ClientSecret: p.clientSecret,
			RedirectURIsRaw: p.redirectRaw, SigningKey: p.signingKey, EncryptionKey: p.encryptionKey, SubMode: p.subMode,
			IssuerMode: p.issuerMode, PropertyMappings: append([]string(nil), p.propertyMappings...),
			IncludeClaimsInIDToken: p.includeClaimsInIDToken, AccessCodeValidity: p.accessCodeValidity,
			AccessTokenValidity: p.accessTokenValidity, RefreshTokenValidity: p.refreshTokenValidity,
			GrantTypes: append([]string(nil), p.grantTypes...),
		}
		for _, r := range p.redirectURIs {
			ps.RedirectURIs = append(ps.RedirectURIs, RedirectURI{MatchingMode: r.MatchingMode, URL: r.URL, Type: r.Type})
		}
		if a := s.st.appOfProvider(p.pk); a != nil {
			ps.ApplicationSlug = a.slug
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PK < out[j].PK })
	return out
}

// Applications returns the applications, ordered by slug.
func (s *Server) Applications() []ApplicationSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ApplicationSnapshot, 0, len(s.st.applications))
	for _, a := range s.st.applications {
		as := ApplicationSnapshot{PK: a.pk, Name: a.name, Slug: a.slug, MetaLaunchURL: a.metaLaunchURL,
			PolicyEngineMode: a.policyEngineMode, Group: a.group, OpenInNewTab: a.openInNewTab}
		if a.provider != nil {
			v := *a.provider
			as.Provider = &v
		}
		out = append(out, as)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// PolicyBindings returns the policy bindings, ordered by target and order.
func (s *Server) PolicyBindings() []PolicyBindingSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PolicyBindingSnapshot, 0, len(s.st.bindings))
	for _, b := range s.st.bindings {
		bs := PolicyBindingSnapshot{PK: b.pk, Target: b.target, Group: b.group, Policy: b.policy, Order: b.order,
			Enabled: b.enabled, Negate: b.negate, Timeout: b.timeout}
		if b.user != nil {
			v := *b.user
			bs.User = &v
		}
		out = append(out, bs)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Order < out[j].Order
	})
	return out
}

// Groups returns the groups, ordered by name.
func (s *Server) Groups() []GroupSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]GroupSnapshot, 0, len(s.st.groups))
	for _, g := range s.st.groups {
		gs := GroupSnapshot{PK: g.uuid, Name: g.name, IsSuperuser: g.isSuperuser}
		for _, pk := range g.users {
			if u := s.st.userByPK(pk); u != nil {
				gs.Members = append(gs.Members, u.username)
			}
		}
		sort.Strings(gs.Members)
		out = append(out, gs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Users returns the users, ordered by pk.
func (s *Server) Users() []UserSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]UserSnapshot, 0, len(s.st.users))
	for _, u := range s.st.users {
		us := UserSnapshot{PK: u.pk, UUID: u.uuid, UID: s.st.uid(u), Username: u.username, Name: u.name,
			Email: u.email, IsActive: u.isActive, IsSuperuser: s.st.isSuperuser(u)}
		for _, g := range s.st.groupsOf(u) {
			us.Groups = append(us.Groups, g.name)
		}
		out = append(out, us)
	}
	return out
}

// Flows returns the flows, ordered by slug.
func (s *Server) Flows() []FlowSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FlowSnapshot, 0, len(s.st.flows))
	for _, f := range s.st.flows {
		out = append(out, FlowSnapshot{PK: f.pk, Slug: f.slug, Name: f.name, Title: f.title, Designation: f.designation})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}

// KeyPairs returns the key pairs the API lists, ordered by name.
func (s *Server) KeyPairs() []KeyPairSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]KeyPairSnapshot, 0, len(s.st.keyPairs))
	for _, k := range s.st.keyPairs {
		if k.hidden {
			continue
		}
		kt, _ := k.keyType().(string)
		out = append(out, KeyPairSnapshot{PK: k.pk, Name: k.name, HasPrivateKey: k.keyPEM != "", KeyType: kt,
			FingerprintSHA256: k.fingerprintSHA256(), KID: k.kid(), CertPEM: k.certPEM})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ScopeMappings returns the scope mappings, ordered by name.
func (s *Server) ScopeMappings() []ScopeMappingSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ScopeMappingSnapshot, 0, len(s.st.scopeMappings))
	for _, m := range s.st.scopeMappings {
		out = append(out, ScopeMappingSnapshot{PK: m.pk, Managed: m.managed, Name: m.name, ScopeName: m.scopeName})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PendingCodes counts authorization codes not yet exchanged.
func (s *Server) PendingCodes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.st.codes)
}
