package authentik

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Redirect URI matching modes (MatchingModeEnum).
const (
	MatchStrict = "strict"
	MatchRegex  = "regex"
)

// Redirect URI types (RedirectURITypeEnum, >= 2026.5).
const (
	RedirectAuthorization = "authorization"
	RedirectLogout        = "logout"
)

// Grant types (GrantTypeEnum, >= 2026.5) pvesso uses.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// Issuer modes (IssuerModeEnum). Only per_provider gives the
// <base>/application/o/<slug>/ issuer that a relying party can discover;
// global makes the issuer the site root, which serves no discovery document.
const (
	IssuerModePerProvider = "per_provider"
	IssuerModeGlobal      = "global"
)

// Sub modes (SubModeEnum) pvesso uses.
const (
	SubModeHashedUserID = "hashed_user_id"
	SubModeUserEmail    = "user_email"
	SubModeUsername     = "user_username"
)

// RedirectURI is one allowed redirect URI of an OAuth2 provider.
type RedirectURI struct {
	MatchingMode string // "strict" | "regex"
	URL          string
	// Type is "authorization" (default) or "logout"; only servers >= 2026.5
	// know it. Empty is sent as "authorization" there.
	Type string
}

// OAuth2ProviderRequest is the writable part of an OAuth2 provider. Empty
// strings are left out of the request (server default on create, unchanged
// on update) except SigningKey/EncryptionKey, where "" means null.
type OAuth2ProviderRequest struct {
	Name              string
	AuthorizationFlow string // flow uuid
	// InvalidationFlow (flow uuid) is required from 2024.10 and never sent
	// to older servers.
	InvalidationFlow string
	ClientType       string // "confidential" | "public"
	ClientID         string
	ClientSecret     string
	// RedirectURIs are encoded per server version: a newline-separated
	// string of regular expressions before 2024.8.5 and in 2024.10.0-2
	// (strict entries are regex-escaped), a list of objects after.
	RedirectURIs           []RedirectURI
	SigningKey             string // key pair uuid; "" = none (HS256 with the client secret)
	EncryptionKey          string // key pair uuid; "" = none (>= 2024.10; must stay none for Proxmox)
	SubMode                string
	IssuerMode             string
	PropertyMappings       []string // scope mapping uuids (always sent; empty = no scopes)
	IncludeClaimsInIDToken bool
	AccessCodeValidity     string
	AccessTokenValidity    string
	RefreshTokenValidity   string
	// GrantTypes is only sent to servers >= 2026.5 and only when not empty
	// (older servers have no such field; authentik refuses an empty list).
	// On >= 2026.5 a provider created without grant_types permits no grant
	// at all (authentik stores []; every authorize answers invalid_request),
	// so a create for a relying party must list at least
	// GrantAuthorizationCode. A PUT without it keeps the stored list.
	GrantTypes []string
}

// OAuth2Provider is an OAuth2/OpenID provider as the server reports it.
type OAuth2Provider struct {
	PK                      int
	Name                    string
	AuthorizationFlow       string
	InvalidationFlow        string
	ClientType              string
	ClientID                string
	ClientSecret            string
	RedirectURIs            []RedirectURI
	SigningKey              string
	EncryptionKey           string
	SubMode                 string
	IssuerMode              string
	PropertyMappings        []string
	AssignedApplicationSlug string
	AssignedApplicationName string
	GrantTypes              []string
	IncludeClaimsInIDToken  bool
	AccessCodeValidity      string
	AccessTokenValidity     string
	RefreshTokenValidity    string
}

type redirectURIJSON struct {
	MatchingMode string `json:"matching_mode"`
	URL          string `json:"url"`
	Type         string `json:"redirect_uri_type,omitempty"`
}

type oauth2ProviderJSON struct {
	PK                      *int            `json:"pk"`
	Name                    string          `json:"name"`
	AuthorizationFlow       *string         `json:"authorization_flow"`
	InvalidationFlow        *string         `json:"invalidation_flow"`
	ClientType              string          `json:"client_type"`
	ClientID                string          `json:"client_id"`
	ClientSecret            string          `json:"client_secret"`
	RedirectURIs            json.RawMessage `json:"redirect_uris"`
	SigningKey              *string         `json:"signing_key"`
	EncryptionKey           *string         `json:"encryption_key"`
	SubMode                 string          `json:"sub_mode"`
	IssuerMode              string          `json:"issuer_mode"`
	PropertyMappings        []string        `json:"property_mappings"`
	AssignedApplicationSlug *string         `json:"assigned_application_slug"`
	AssignedApplicationName *string         `json:"assigned_application_name"`
	GrantTypes              []string        `json:"grant_types"`
	IncludeClaimsInIDToken  bool            `json:"include_claims_in_id_token"`
	AccessCodeValidity      string          `json:"access_code_validity"`
	AccessTokenValidity     string          `json:"access_token_validity"`
	RefreshTokenValidity    string          `json:"refresh_token_validity"`
}

func (p *oauth2ProviderJSON) valid() error {
	if p.PK == nil || p.Name == "" {
		return errors.New("provider without pk or name")
	}
	return nil
}

func (p *oauth2ProviderJSON) provider(v Version) (OAuth2Provider, error) {
	out := OAuth2Provider{
		PK: *p.PK, Name: p.Name, AuthorizationFlow: str(p.AuthorizationFlow), InvalidationFlow: str(p.InvalidationFlow),
		ClientType: p.ClientType, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		SigningKey: str(p.SigningKey), EncryptionKey: str(p.EncryptionKey), SubMode: p.SubMode, IssuerMode: p.IssuerMode,
		PropertyMappings: p.PropertyMappings, AssignedApplicationSlug: str(p.AssignedApplicationSlug),
		AssignedApplicationName: str(p.AssignedApplicationName), GrantTypes: p.GrantTypes,
		IncludeClaimsInIDToken: p.IncludeClaimsInIDToken, AccessCodeValidity: p.AccessCodeValidity,
		AccessTokenValidity: p.AccessTokenValidity, RefreshTokenValidity: p.RefreshTokenValidity,
	}
	uris, err := decodeRedirectURIs(p.RedirectURIs, v)
	if err != nil {
		return OAuth2Provider{}, err
	}
	out.RedirectURIs = uris
	return out, nil
}

// decodeRedirectURIs reads redirect_uris in the form of server version v.
// A form that does not fit the version is an error: it means the version
// was misdetected, and guessing would hide that.
func decodeRedirectURIs(raw json.RawMessage, v Version) ([]RedirectURI, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("redirect_uris missing")
	}
	if v.redirectURIObjects() {
		if raw[0] != '[' {
			return nil, fmt.Errorf("redirect_uris is not a list, which authentik %s sends", v)
		}
		var list []redirectURIJSON
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("redirect_uris: %w", err)
		}
		out := make([]RedirectURI, 0, len(list))
		for _, r := range list {
			if r.MatchingMode == "" || r.URL == "" {
				return nil, errors.New("redirect_uris entry without matching_mode or url")
			}
			typ := r.Type
			if typ == "" && v.hasGrantTypes() {
				typ = RedirectAuthorization
			}
			out = append(out, RedirectURI{MatchingMode: r.MatchingMode, URL: r.URL, Type: typ})
		}
		return out, nil
	}
	if raw[0] != '"' {
		return nil, fmt.Errorf("redirect_uris is not a string, which authentik %s sends", v)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("redirect_uris: %w", err)
	}
	return parseRedirectString(s), nil
}

// parseRedirectString reads the pre-2024.8.5 string form. authentik splits
// it with Python's str.split() (any white space, not only the newlines the
// UI writes) and full-matches every part as a regular expression
// [providers/oauth2/views/authorize.py and token.py of those releases]; a
// part that is a fully escaped literal (what encodeRedirectString writes for
// strict entries, or Python's re.escape) reads back as strict.
func parseRedirectString(s string) []RedirectURI {
	out := []RedirectURI{}
	for _, line := range strings.Fields(s) {
		if lit, ok := unquoteLiteral(line); ok {
			out = append(out, RedirectURI{MatchingMode: MatchStrict, URL: lit})
		} else {
			out = append(out, RedirectURI{MatchingMode: MatchRegex, URL: line})
		}
	}
	return out
}

// unquoteLiteral undoes regexp.QuoteMeta and Python's re.escape: it
// succeeds only if s has no unescaped metacharacter and every escape is of a
// character one of them escapes (re.escape since Python 3.7 also escapes
// - & ~ # and white space).
func unquoteLiteral(s string) (string, bool) {
	const meta = `\.+*?()|[]{}^$`
	const escaped = meta + "-&~# "
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '\\' {
			if i+1 >= len(s) || !strings.ContainsRune(escaped, rune(s[i+1])) {
				return "", false
			}
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if strings.ContainsRune(meta, rune(ch)) {
			return "", false
		}
		b.WriteByte(ch)
	}
	return b.String(), true
}

// encodeRedirectString writes the pre-2024.8.5 form. authentik matched each
// line with re.fullmatch, so strict entries are escaped to keep them exact.
// ASSUMPTION: regexp.QuoteMeta's output (backslash before \.+*?()|[]{}^$) is
// a literal pattern for Python's re as well; both treat these escapes alike.
func encodeRedirectString(uris []RedirectURI) (string, error) {
	lines := make([]string, 0, len(uris))
	for _, u := range uris {
		if strings.ContainsAny(u.URL, "\r\n") {
			return "", fmt.Errorf("%w: redirect URI contains a line break", ErrInvalidRequest)
		}
		if u.URL == "" || strings.IndexFunc(u.URL, unicode.IsSpace) >= 0 {
			// authentik splits the string on any white space
			return "", fmt.Errorf("%w: redirect URI %q is empty or contains white space", ErrInvalidRequest, u.URL)
		}
		switch u.MatchingMode {
		case MatchStrict, "":
			lines = append(lines, regexp.QuoteMeta(u.URL))
		case MatchRegex:
			lines = append(lines, u.URL)
		default:
			return "", fmt.Errorf("%w: unknown matching mode %q", ErrInvalidRequest, u.MatchingMode)
		}
		if u.Type == RedirectLogout {
			return "", fmt.Errorf("%w: logout redirect URIs need authentik 2026.5 or later", ErrInvalidRequest)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// providerBody builds the JSON body for server version v.
func providerBody(r OAuth2ProviderRequest, v Version) (map[string]any, error) {
	if r.Name == "" || r.AuthorizationFlow == "" {
		return nil, fmt.Errorf("%w: a provider needs a name and an authorization flow", ErrInvalidRequest)
	}
	b := map[string]any{
		"name":                       r.Name,
		"authorization_flow":         r.AuthorizationFlow,
		"include_claims_in_id_token": r.IncludeClaimsInIDToken,
	}
	pm := r.PropertyMappings
	if pm == nil {
		pm = []string{}
	}
	b["property_mappings"] = pm
	if v.hasInvalidationFlow() && r.InvalidationFlow != "" {
		// required from 2024.10; when empty the server's own
		// "This field is required." is the better message
		b["invalidation_flow"] = r.InvalidationFlow
	}
	set := func(k, val string) {
		if val != "" {
			b[k] = val
		}
	}
	set("client_type", r.ClientType)
	set("client_id", r.ClientID)
	set("client_secret", r.ClientSecret)
	set("sub_mode", r.SubMode)
	set("issuer_mode", r.IssuerMode)
	set("access_code_validity", r.AccessCodeValidity)
	set("access_token_validity", r.AccessTokenValidity)
	set("refresh_token_validity", r.RefreshTokenValidity)
	nullable := func(val string) any {
		if val == "" {
			return nil
		}
		return val
	}
	b["signing_key"] = nullable(r.SigningKey)
	if v.hasEncryptionKey() {
		b["encryption_key"] = nullable(r.EncryptionKey)
	} else if r.EncryptionKey != "" {
		return nil, fmt.Errorf("%w: authentik %s has no encryption_key (2024.10 and later)", ErrInvalidRequest, v)
	}
	if v.redirectURIObjects() {
		list := make([]redirectURIJSON, 0, len(r.RedirectURIs))
		for _, u := range r.RedirectURIs {
			mm := u.MatchingMode
			if mm == "" {
				mm = MatchStrict
			}
			e := redirectURIJSON{MatchingMode: mm, URL: u.URL}
			if v.hasGrantTypes() {
				e.Type = u.Type
				if e.Type == "" {
					e.Type = RedirectAuthorization
				}
			} else if u.Type == RedirectLogout {
				return nil, fmt.Errorf("%w: logout redirect URIs need authentik 2026.5 or later", ErrInvalidRequest)
			}
			list = append(list, e)
		}
		b["redirect_uris"] = list
	} else {
		s, err := encodeRedirectString(r.RedirectURIs)
		if err != nil {
			return nil, err
		}
		b["redirect_uris"] = s
	}
	if v.hasGrantTypes() && len(r.GrantTypes) > 0 {
		b["grant_types"] = r.GrantTypes
	}
	return b, nil
}

// ListProvidersOptions filters ListOAuth2Providers (exact matches).
type ListProvidersOptions struct {
	Name     string
	ClientID string
}

// ListOAuth2Providers lists OAuth2 providers (GET /providers/oauth2/).
//
// The request is the same on every version (only the decoding of
// redirect_uris differs), so on a fresh client it is sent together with the
// version detection.
func (c *Client) ListOAuth2Providers(ctx context.Context, o ListProvidersOptions) ([]OAuth2Provider, error) {
	q := filterQuery("name", o.Name, "client_id", o.ClientID)
	var (
		raw     []oauth2ProviderJSON
		readErr error
	)
	v, err := c.versionAlongside(ctx, func(ctx context.Context) {
		raw, readErr = list[oauth2ProviderJSON](ctx, c, "/providers/oauth2/", q)
	})
	if err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	out := make([]OAuth2Provider, 0, len(raw))
	for i := range raw {
		p, err := raw[i].provider(v)
		if err != nil {
			return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + "/providers/oauth2/", StatusCode: 200, Reason: "results[" + strconv.Itoa(i) + "]", Err: err}
		}
		if (o.Name != "" && p.Name != o.Name) || (o.ClientID != "" && p.ClientID != o.ClientID) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func providerPath(pk int) string { return "/providers/oauth2/" + strconv.Itoa(pk) + "/" }

// GetOAuth2Provider returns one provider by its integer pk.
func (c *Client) GetOAuth2Provider(ctx context.Context, pk int) (*OAuth2Provider, error) {
	return c.providerCall(ctx, http.MethodGet, pk, nil)
}

// CreateOAuth2Provider creates a provider (POST /providers/oauth2/).
func (c *Client) CreateOAuth2Provider(ctx context.Context, r OAuth2ProviderRequest) (*OAuth2Provider, error) {
	return c.providerCall(ctx, http.MethodPost, 0, &r)
}

// UpdateOAuth2Provider replaces a provider's settings (PUT, full update).
// Redirect URIs are replaced as a whole.
func (c *Client) UpdateOAuth2Provider(ctx context.Context, pk int, r OAuth2ProviderRequest) (*OAuth2Provider, error) {
	return c.providerCall(ctx, http.MethodPut, pk, &r)
}

func (c *Client) providerCall(ctx context.Context, method string, pk int, r *OAuth2ProviderRequest) (*OAuth2Provider, error) {
	if method != http.MethodPost && pk <= 0 {
		return nil, fmt.Errorf("%w: provider pk %d", ErrInvalidRequest, pk)
	}
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	p := "/providers/oauth2/"
	if method != http.MethodPost {
		p = providerPath(pk)
	}
	var body any
	if r != nil {
		b, err := providerBody(*r, v)
		if err != nil {
			return nil, err
		}
		body = b
	}
	var raw oauth2ProviderJSON
	if err := c.do(ctx, method, p, nil, body, &raw); err != nil {
		// the server may quote the client secret it was sent
		if ae, ok := err.(*APIError); ok && r != nil {
			ae.mask(func(s string) string { return maskSecret(s, r.ClientSecret) })
		}
		return nil, err
	}
	if err := raw.valid(); err != nil {
		return nil, &ResponseError{Method: method, Path: APIPrefix + p, StatusCode: 200, Reason: err.Error()}
	}
	out, err := raw.provider(v)
	if err != nil {
		return nil, &ResponseError{Method: method, Path: APIPrefix + p, StatusCode: 200, Reason: "provider", Err: err}
	}
	return &out, nil
}

// DeleteOAuth2Provider deletes a provider.
func (c *Client) DeleteOAuth2Provider(ctx context.Context, pk int) error {
	if pk <= 0 {
		return fmt.Errorf("%w: provider pk %d", ErrInvalidRequest, pk)
	}
	return c.do(ctx, http.MethodDelete, providerPath(pk), nil, nil, nil)
}

// ProviderSetupURLs are the OIDC URLs of a provider attached to an
// application (GET /providers/oauth2/{id}/setup_urls/).
type ProviderSetupURLs struct {
	Issuer       string `json:"issuer"`
	Authorize    string `json:"authorize"`
	Token        string `json:"token"`
	UserInfo     string `json:"user_info"`
	ProviderInfo string `json:"provider_info"`
	Logout       string `json:"logout"`
	JWKS         string `json:"jwks"`
}

// OAuth2ProviderSetupURLs returns the provider's OIDC URLs as authentik
// computes them (404 / ErrNotFound while no application uses the provider).
func (c *Client) OAuth2ProviderSetupURLs(ctx context.Context, pk int) (*ProviderSetupURLs, error) {
	if pk <= 0 {
		return nil, fmt.Errorf("%w: provider pk %d", ErrInvalidRequest, pk)
	}
	p := providerPath(pk) + "setup_urls/"
	var s ProviderSetupURLs
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &s); err != nil {
		return nil, err
	}
	if s.Issuer == "" || s.Authorize == "" || s.Token == "" {
		return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + p, StatusCode: 200, Reason: "issuer, authorize or token missing"}
	}
	return &s, nil
}
