package authentik

import (
	"context"
	"errors"
	"net/url"
)

// Managed identifiers of authentik's default OAuth2 scope mappings
// (blueprints/system/providers-oauth2.yaml).
const (
	ScopeOpenID        = "goauthentik.io/providers/oauth2/scope-openid"
	ScopeEmail         = "goauthentik.io/providers/oauth2/scope-email"
	ScopeProfile       = "goauthentik.io/providers/oauth2/scope-profile"
	ScopeOfflineAccess = "goauthentik.io/providers/oauth2/scope-offline_access"
)

// ScopeMapping is an OAuth2 scope (property) mapping.
type ScopeMapping struct {
	PK        string
	Managed   string
	Name      string
	ScopeName string
}

type scopeMappingJSON struct {
	PK        string  `json:"pk"`
	Managed   *string `json:"managed"`
	Name      string  `json:"name"`
	ScopeName string  `json:"scope_name"`
}

func (s *scopeMappingJSON) valid() error {
	if s.PK == "" {
		return errors.New("scope mapping without pk")
	}
	return nil
}

// scopeMappingPath is /propertymappings/provider/scope/ from 2024.8.0 and
// /propertymappings/scope/ before.
func scopeMappingPath(v Version) string {
	if v.scopeMappingsUnderProvider() {
		return "/propertymappings/provider/scope/"
	}
	return "/propertymappings/scope/"
}

// ScopeMappingsByManaged lists the scope mappings whose managed id is one of
// managed (all scope mappings when none is given). The path depends on the
// server version.
func (c *Client) ScopeMappingsByManaged(ctx context.Context, managed ...string) ([]ScopeMapping, error) {
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	want := map[string]bool{}
	for _, m := range managed {
		q.Add("managed", m)
		want[m] = true
	}
	raw, err := list[scopeMappingJSON](ctx, c, scopeMappingPath(v), q)
	if err != nil {
		return nil, err
	}
	out := make([]ScopeMapping, 0, len(raw))
	for _, r := range raw {
		m := ScopeMapping{PK: r.PK, Name: r.Name, ScopeName: r.ScopeName}
		if r.Managed != nil {
			m.Managed = *r.Managed
		}
		if len(want) > 0 && !want[m.Managed] {
			continue // defensive: the filter is exact
		}
		out = append(out, m)
	}
	return out, nil
}
