package authentik

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Flow designations (FlowDesignationEnum).
const (
	DesignationAuthentication = "authentication"
	DesignationAuthorization  = "authorization"
	DesignationInvalidation   = "invalidation"
)

// Slugs of the default flows created by authentik's blueprints.
const (
	FlowImplicitConsent      = "default-provider-authorization-implicit-consent"
	FlowExplicitConsent      = "default-provider-authorization-explicit-consent"
	FlowProviderInvalidation = "default-provider-invalidation-flow" // since 2024.10.0
)

// Flow is an authentik flow. PK is the uuid a provider's authorization_flow
// and invalidation_flow take (not the slug).
type Flow struct {
	PK             string `json:"pk"`
	Slug           string `json:"slug"`
	Name           string `json:"name"`
	Title          string `json:"title"`
	Designation    string `json:"designation"`
	Authentication string `json:"authentication"`
}

func (f *Flow) valid() error {
	if f.PK == "" || f.Slug == "" {
		return errors.New("flow without pk or slug")
	}
	return nil
}

// FlowBySlug returns the flow with that slug (GET /flows/instances/{slug}/),
// or an error matching ErrNotFound.
func (c *Client) FlowBySlug(ctx context.Context, slug string) (*Flow, error) {
	if slug == "" {
		return nil, fmt.Errorf("%w: empty flow slug", ErrInvalidRequest)
	}
	p := "/flows/instances/" + url.PathEscape(slug) + "/"
	var f Flow
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &f); err != nil {
		return nil, err
	}
	if err := f.valid(); err != nil {
		return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + p, StatusCode: 200, Reason: err.Error()}
	}
	if f.Slug != slug {
		return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + p, StatusCode: 200, Reason: fmt.Sprintf("asked for flow %q, got %q", slug, f.Slug)}
	}
	return &f, nil
}

// FlowsByDesignation lists the flows of one designation
// (GET /flows/instances/?designation=...).
func (c *Client) FlowsByDesignation(ctx context.Context, designation string) ([]Flow, error) {
	if designation == "" {
		return nil, fmt.Errorf("%w: empty flow designation", ErrInvalidRequest)
	}
	q := url.Values{"designation": {designation}}
	fs, err := list[Flow](ctx, c, "/flows/instances/", q)
	if err != nil {
		return nil, err
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Designation == designation {
			out = append(out, f)
		}
	}
	return out, nil
}
