package authentik

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Discovery is the OpenID Connect discovery document of an application
// (issuer_mode per_provider).
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	AuthorizationEndpoint            string   `json:"authorization_endpoint"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	UserinfoEndpoint                 string   `json:"userinfo_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	EndSessionEndpoint               string   `json:"end_session_endpoint"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported    []string `json:"code_challenge_methods_supported"`
}

// Discovery fetches GET <base>/application/o/<slug>/.well-known/openid-configuration.
// The document is public, so the API token is not sent. It exists only once
// the application has an OAuth2 provider (ErrNotFound otherwise).
func (c *Client) Discovery(ctx context.Context, slug string) (*Discovery, error) {
	if slug == "" {
		return nil, fmt.Errorf("%w: empty application slug", ErrInvalidRequest)
	}
	p := "/application/o/" + url.PathEscape(slug) + "/.well-known/openid-configuration"
	u := *c.base
	u.Path = c.base.Path + p
	u.RawPath = ""
	var d Discovery
	if err := c.send(ctx, http.MethodGet, u.String(), p, false, nil, &d); err != nil {
		return nil, err
	}
	if d.Issuer == "" || d.AuthorizationEndpoint == "" || d.TokenEndpoint == "" || d.JWKSURI == "" {
		return nil, &ResponseError{Method: http.MethodGet, Path: p, StatusCode: 200, Reason: "discovery document lacks issuer, authorization, token or jwks endpoint"}
	}
	return &d, nil
}
