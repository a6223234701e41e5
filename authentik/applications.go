package authentik

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// ApplicationRequest is the writable part of an application. Empty
// MetaLaunchURL and PolicyEngineMode are left out (server default on create,
// unchanged on update).
type ApplicationRequest struct {
	Name             string
	Slug             string
	Provider         *int // OAuth2 provider pk; nil = none (null)
	MetaLaunchURL    string
	MetaDescription  string
	PolicyEngineMode string // "any" (default) | "all"
	Group            string // UI grouping label, not an authentik group
	OpenInNewTab     bool
}

// Application is an authentik application. PK is its uuid, the target of
// policy bindings.
type Application struct {
	PK               string
	Name             string
	Slug             string
	Provider         *int
	MetaLaunchURL    string
	MetaDescription  string
	PolicyEngineMode string
	Group            string
	OpenInNewTab     bool
	LaunchURL        string
}

type applicationJSON struct {
	PK               string  `json:"pk"`
	Name             string  `json:"name"`
	Slug             string  `json:"slug"`
	Provider         *int    `json:"provider"`
	MetaLaunchURL    string  `json:"meta_launch_url"`
	MetaDescription  string  `json:"meta_description"`
	PolicyEngineMode string  `json:"policy_engine_mode"`
	Group            string  `json:"group"`
	OpenInNewTab     bool    `json:"open_in_new_tab"`
	LaunchURL        *string `json:"launch_url"`
}

func (a *applicationJSON) valid() error {
	if a.PK == "" || a.Slug == "" {
		return errors.New("application without pk or slug")
	}
	return nil
}

func (a *applicationJSON) app() Application {
	return Application{PK: a.PK, Name: a.Name, Slug: a.Slug, Provider: a.Provider, MetaLaunchURL: a.MetaLaunchURL,
		MetaDescription: a.MetaDescription, PolicyEngineMode: a.PolicyEngineMode, Group: a.Group,
		OpenInNewTab: a.OpenInNewTab, LaunchURL: str(a.LaunchURL)}
}

type applicationBody struct {
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	Provider         *int   `json:"provider"`
	OpenInNewTab     bool   `json:"open_in_new_tab"`
	MetaLaunchURL    string `json:"meta_launch_url,omitempty"`
	MetaDescription  string `json:"meta_description"`
	PolicyEngineMode string `json:"policy_engine_mode,omitempty"`
	Group            string `json:"group"`
}

var slugRE = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// reservedSlugs are refused by authentik >= 2025.10 (they collide with the
// /application/o/<name>/ OAuth2 endpoints; commit aeb5c9a24).
var reservedSlugs = map[string]bool{"authorize": true, "token": true, "device": true, "userinfo": true, "introspect": true, "revoke": true}

func checkSlug(slug string, v Version) error {
	if !slugRE.MatchString(slug) {
		return fmt.Errorf("%w: application slug %q must match ^[-a-zA-Z0-9_]+$", ErrInvalidRequest, slug)
	}
	if reservedSlugs[slug] && (v.IsZero() || v.reservedAppSlugs()) {
		return fmt.Errorf("%w: application slug %q is reserved by authentik", ErrInvalidRequest, slug)
	}
	return nil
}

// ListApplicationsOptions filters ListApplications (exact matches).
type ListApplicationsOptions struct {
	Slug string
	Name string
}

// ListApplications lists applications. It always asks for
// superuser_full_list=true: without it authentik lists only the
// applications the calling user may open, cached per user.
func (c *Client) ListApplications(ctx context.Context, o ListApplicationsOptions) ([]Application, error) {
	q := filterQuery("slug", o.Slug, "name", o.Name)
	q.Set("superuser_full_list", "true")
	raw, err := list[applicationJSON](ctx, c, "/core/applications/", q)
	if err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(raw))
	for i := range raw {
		a := raw[i].app()
		if (o.Slug != "" && a.Slug != o.Slug) || (o.Name != "" && a.Name != o.Name) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func appPath(slug string) string { return "/core/applications/" + url.PathEscape(slug) + "/" }

// GetApplication returns the application with that slug (ErrNotFound when
// absent).
func (c *Client) GetApplication(ctx context.Context, slug string) (*Application, error) {
	if slug == "" {
		return nil, fmt.Errorf("%w: empty application slug", ErrInvalidRequest)
	}
	return c.appCall(ctx, http.MethodGet, appPath(slug), nil)
}

// CreateApplication creates an application (POST /core/applications/).
func (c *Client) CreateApplication(ctx context.Context, r ApplicationRequest) (*Application, error) {
	body, err := c.appBody(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.appCall(ctx, http.MethodPost, "/core/applications/", body)
}

// UpdateApplication replaces the application's settings (PUT). The slug in r
// may differ from slug (renaming).
func (c *Client) UpdateApplication(ctx context.Context, slug string, r ApplicationRequest) (*Application, error) {
	if slug == "" {
		return nil, fmt.Errorf("%w: empty application slug", ErrInvalidRequest)
	}
	body, err := c.appBody(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.appCall(ctx, http.MethodPut, appPath(slug), body)
}

// DeleteApplication deletes an application (not its provider).
func (c *Client) DeleteApplication(ctx context.Context, slug string) error {
	if slug == "" {
		return fmt.Errorf("%w: empty application slug", ErrInvalidRequest)
	}
	return c.do(ctx, http.MethodDelete, appPath(slug), nil, nil, nil)
}

func (c *Client) appBody(ctx context.Context, r ApplicationRequest) (*applicationBody, error) {
	if r.Name == "" {
		return nil, fmt.Errorf("%w: an application needs a name", ErrInvalidRequest)
	}
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkSlug(r.Slug, v); err != nil {
		return nil, err
	}
	return &applicationBody{Name: r.Name, Slug: r.Slug, Provider: r.Provider, OpenInNewTab: r.OpenInNewTab,
		MetaLaunchURL: r.MetaLaunchURL, MetaDescription: r.MetaDescription, PolicyEngineMode: r.PolicyEngineMode,
		Group: r.Group}, nil
}

func (c *Client) appCall(ctx context.Context, method, p string, body any) (*Application, error) {
	var raw applicationJSON
	if err := c.do(ctx, method, p, nil, body, &raw); err != nil {
		return nil, err
	}
	if err := raw.valid(); err != nil {
		return nil, &ResponseError{Method: method, Path: APIPrefix + p, StatusCode: 200, Reason: err.Error()}
	}
	a := raw.app()
	return &a, nil
}
