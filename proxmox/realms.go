package proxmox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// RealmSummary is one element of GET /access/domains.
type RealmSummary struct {
	Realm   string
	Type    string // pam, pve, openid, ldap, ad
	Comment string
	Default bool
	TFA     string
}

// ListRealms reads GET /access/domains. The endpoint needs no
// authentication (the login window uses it), so none is sent.
func (c *Client) ListRealms(ctx context.Context) ([]RealmSummary, error) {
	var raw []struct {
		Realm   flexString `json:"realm"`
		Type    flexString `json:"type"`
		Comment flexString `json:"comment"`
		Default flexBool   `json:"default"`
		TFA     flexString `json:"tfa"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/domains", noAuth: true}, &raw); err != nil {
		return nil, err
	}
	out := make([]RealmSummary, len(raw))
	for i, r := range raw {
		out[i] = RealmSummary{Realm: string(r.Realm), Type: string(r.Type), Comment: string(r.Comment), Default: r.Default.or(false), TFA: string(r.TFA)}
	}
	return out, nil
}

// Realm is GET /access/domains/{realm}.
type Realm struct {
	Realm         string
	Type          string
	IssuerURL     string
	ClientID      string
	UsernameClaim string
	Scopes        string
	Prompt        string
	ACRValues     string
	GroupsClaim   string
	Audiences     string
	Comment       string
	Digest        string

	Autocreate       bool
	Default          bool
	GroupsAutocreate bool
	GroupsOverwrite  bool
	// QueryUserinfo is nil when unset (server default: 1).
	QueryUserinfo *bool

	// ClientKeySet is true when the server returned a non-empty client-key.
	// (By code reading PVE returns it; the value itself is never kept in
	// clear text here — compare with ClientKeyEquals.)
	ClientKeySet bool
	// Options holds every returned option as text (client-key excluded),
	// e.g. to find options to delete.
	Options map[string]string

	clientKeySum []byte
}

// ClientKeyEquals reports whether the server returned a client-key equal
// to key (false if it returned none).
func (r *Realm) ClientKeyEquals(key string) bool {
	if !r.ClientKeySet {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(sum[:], r.clientKeySum) == 1
}

// GetRealm reads GET /access/domains/{realm}. A missing realm gives ErrNotFound.
func (c *Client) GetRealm(ctx context.Context, realm string) (*Realm, error) {
	if err := checkRealm(realm); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/domains/" + seg(realm)}, &raw); err != nil {
		return nil, err
	}
	r := &Realm{Realm: realm, Options: map[string]string{}}
	str := func(k string) string {
		var s flexString
		if v, ok := raw[k]; ok {
			_ = json.Unmarshal(v, &s)
		}
		return string(s)
	}
	boolean := func(k string) flexBool {
		var b flexBool
		if v, ok := raw[k]; ok {
			_ = json.Unmarshal(v, &b)
		}
		return b
	}
	for k := range raw {
		if k == "client-key" {
			continue
		}
		r.Options[k] = str(k)
	}
	if key := str("client-key"); key != "" {
		sum := sha256.Sum256([]byte(key))
		r.ClientKeySet, r.clientKeySum = true, sum[:]
	}
	r.Type = str("type")
	r.IssuerURL = str("issuer-url")
	r.ClientID = str("client-id")
	r.UsernameClaim = str("username-claim")
	r.Scopes = str("scopes")
	r.Prompt = str("prompt")
	r.ACRValues = str("acr-values")
	r.GroupsClaim = str("groups-claim")
	r.Audiences = str("audiences")
	r.Comment = str("comment")
	r.Digest = str("digest")
	r.Autocreate = boolean("autocreate").or(false)
	r.Default = boolean("default").or(false)
	r.GroupsAutocreate = boolean("groups-autocreate").or(false)
	r.GroupsOverwrite = boolean("groups-overwrite").or(false)
	if q := boolean("query-userinfo"); q.Set {
		v := q.Value
		r.QueryUserinfo = &v
	}
	return r, nil
}

// RealmCreate creates an OpenID Connect realm (type=openid).
type RealmCreate struct {
	Realm         string
	IssuerURL     string // must equal the IdP's "issuer" exactly (authentik: trailing slash)
	ClientID      string
	ClientKey     string // secret; "" = public client
	UsernameClaim string // fixed after creation
	Scopes        string // default "email profile"
	Prompt        string
	ACRValues     string
	GroupsClaim   string // PVE 8.4+
	Audiences     string // PVE 9.2+
	Comment       string

	Autocreate       *bool
	Default          *bool
	GroupsAutocreate *bool // PVE 8.4+
	GroupsOverwrite  *bool // PVE 8.4+
	QueryUserinfo    *bool // PVE 8.4+
}

// RealmUpdate changes an OpenID realm. username-claim is fixed after
// creation and therefore not part of it; nil fields are left alone.
type RealmUpdate struct {
	IssuerURL   *string
	ClientID    *string
	ClientKey   *string
	Scopes      *string
	Prompt      *string
	ACRValues   *string
	GroupsClaim *string
	Audiences   *string
	Comment     *string

	Autocreate       *bool
	Default          *bool
	GroupsAutocreate *bool
	GroupsOverwrite  *bool
	QueryUserinfo    *bool

	// Delete lists options to remove (e.g. "comment", "groups-claim").
	Delete []string
	// Digest makes the update fail if the realm changed since it was read.
	Digest string
}

// Minimum release per OpenID option (proxmox-api.md, access-control
// changelog): scopes/prompt/acr-values arrived in 7.1-3 (PVE 7.1 updates),
// groups-*/query-userinfo in 8.2.1 (PVE 8.4), audiences in 9.1.1.
// ASSUMPTION: access-control 9.1.1 ("PVE 9.2-era") means release 9.2; the 9.2
// API schema has audiences.
var optionSince = map[string]release{
	"scopes":            {7, 1, "7.1"},
	"prompt":            {7, 1, "7.1"},
	"acr-values":        {7, 1, "7.1"},
	"groups-claim":      {8, 4, "8.4"},
	"groups-autocreate": {8, 4, "8.4"},
	"groups-overwrite":  {8, 4, "8.4"},
	"query-userinfo":    {8, 4, "8.4"},
	"audiences":         {9, 2, "9.2"},
}

// Options an OpenID realm has (pve-access-control Auth/OpenId.pm); the only
// keys this client ever sends for a realm besides realm/type/delete/digest.
var openIDOptions = map[string]bool{
	"issuer-url": true, "client-id": true, "client-key": true, "autocreate": true,
	"username-claim": true, "prompt": true, "scopes": true, "acr-values": true,
	"default": true, "comment": true, "groups-claim": true, "groups-autocreate": true,
	"groups-overwrite": true, "query-userinfo": true, "audiences": true,
}

// Options that cannot be deleted: required for openid, or fixed.
var undeletable = map[string]string{
	"issuer-url":     "required",
	"client-id":      "required",
	"username-claim": "fixed after creation",
}

// checkSupported refuses options the server release lacks. With an unknown
// release it asks GET /version first (only when a gated option is used).
func (c *Client) checkSupported(ctx context.Context, keys []string) error {
	var gated []string
	for _, k := range keys {
		if _, ok := optionSince[k]; ok {
			gated = append(gated, k)
		}
	}
	if len(gated) == 0 {
		return nil
	}
	rel, ok := c.knownRelease()
	if !ok {
		if _, err := c.Version(ctx); err != nil {
			return err
		}
		if rel, ok = c.knownRelease(); !ok {
			return nil // unparsable version: let the server decide
		}
	}
	sort.Strings(gated)
	for _, k := range gated {
		need := optionSince[k]
		if !rel.atLeast(need.major, need.minor) {
			return &UnsupportedError{Option: k, Need: need.text, Release: rel.text}
		}
	}
	return nil
}

func putStr(p url.Values, k, v string) {
	if v != "" {
		p.Set(k, v)
	}
}

// putBool sets a PVE boolean ("1"/"0") unless v is nil.
func putBool(p url.Values, k string, v *bool) {
	switch {
	case v == nil:
	case *v:
		p.Set(k, "1")
	default:
		p.Set(k, "0")
	}
}

// CreateRealm creates an OpenID realm (POST /access/domains, type=openid).
// An existing realm gives ErrAlreadyExists.
func (c *Client) CreateRealm(ctx context.Context, r RealmCreate) error {
	if err := checkRealm(r.Realm); err != nil {
		return err
	}
	if r.Realm == "pam" || r.Realm == "pve" {
		return invalidf("realm %q is reserved", r.Realm)
	}
	if r.IssuerURL == "" || r.ClientID == "" {
		return invalidf("an OpenID realm needs issuer-url and client-id")
	}
	p := url.Values{"realm": {r.Realm}, "type": {"openid"}}
	putStr(p, "issuer-url", r.IssuerURL)
	putStr(p, "client-id", r.ClientID)
	putStr(p, "client-key", r.ClientKey)
	putStr(p, "username-claim", r.UsernameClaim)
	putStr(p, "scopes", r.Scopes)
	putStr(p, "prompt", r.Prompt)
	putStr(p, "acr-values", r.ACRValues)
	putStr(p, "groups-claim", r.GroupsClaim)
	putStr(p, "audiences", r.Audiences)
	putStr(p, "comment", r.Comment)
	putBool(p, "autocreate", r.Autocreate)
	putBool(p, "default", r.Default)
	putBool(p, "groups-autocreate", r.GroupsAutocreate)
	putBool(p, "groups-overwrite", r.GroupsOverwrite)
	putBool(p, "query-userinfo", r.QueryUserinfo)
	if err := checkOneLine(p); err != nil {
		return err
	}
	if err := c.checkSupported(ctx, sortedKeys(p)); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodPost, path: "/access/domains", params: p, secret: []string{r.ClientKey}}, nil)
}

// UpdateRealm changes an OpenID realm (PUT /access/domains/{realm}). It never
// sends username-claim and only sends keys an OpenID realm has. An update
// without changes sends nothing.
func (c *Client) UpdateRealm(ctx context.Context, realm string, u RealmUpdate) error {
	if err := checkRealm(realm); err != nil {
		return err
	}
	p := url.Values{}
	strs := []struct {
		k string
		v *string
	}{
		{"issuer-url", u.IssuerURL}, {"client-id", u.ClientID}, {"client-key", u.ClientKey},
		{"scopes", u.Scopes}, {"prompt", u.Prompt}, {"acr-values", u.ACRValues},
		{"groups-claim", u.GroupsClaim}, {"audiences", u.Audiences}, {"comment", u.Comment},
	}
	for _, s := range strs {
		if s.v == nil {
			continue
		}
		if *s.v == "" {
			return invalidf("%s: an empty value cannot be set; list the option in Delete to remove it", s.k)
		}
		p.Set(s.k, *s.v)
	}
	putBool(p, "autocreate", u.Autocreate)
	putBool(p, "default", u.Default)
	putBool(p, "groups-autocreate", u.GroupsAutocreate)
	putBool(p, "groups-overwrite", u.GroupsOverwrite)
	putBool(p, "query-userinfo", u.QueryUserinfo)
	gated := sortedKeys(p)
	del, err := deletable(u.Delete, p)
	if err != nil {
		return err
	}
	if len(del) > 0 {
		p.Set("delete", strings.Join(del, ","))
		gated = append(gated, del...)
	}
	if len(p) == 0 {
		return nil // PVE would answer "no options specified"
	}
	if err := checkOneLine(p); err != nil {
		return err
	}
	if u.Digest != "" {
		p.Set("digest", u.Digest)
	}
	if err := c.checkSupported(ctx, gated); err != nil {
		return err
	}
	var secret []string
	if u.ClientKey != nil {
		secret = []string{*u.ClientKey}
	}
	return c.do(ctx, call{method: http.MethodPut, path: "/access/domains/" + seg(realm), params: p, secret: secret}, nil)
}

// deletable checks the options an update deletes (trimmed, without blanks
// and repeats): OpenID realm options that may be removed and are not also
// set in p.
func deletable(options []string, p url.Values) ([]string, error) {
	var del []string
	for _, k := range options {
		k = strings.TrimSpace(k)
		if k == "" || slices.Contains(del, k) {
			continue
		}
		if why, bad := undeletable[k]; bad {
			return nil, invalidf("option %s cannot be deleted (%s)", k, why)
		}
		if !openIDOptions[k] {
			return nil, invalidf("option %s is not an OpenID realm option", k)
		}
		if p.Has(k) {
			return nil, invalidf("option %s is both set and deleted", k)
		}
		del = append(del, k)
	}
	return del, nil
}

// DeleteRealm removes a realm (DELETE /access/domains/{realm}). PVE keeps the
// realm's users, their group memberships and ACLs.
func (c *Client) DeleteRealm(ctx context.Context, realm string) error {
	if err := checkRealm(realm); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: "/access/domains/" + seg(realm)}, nil)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// checkOneLine refuses option values with a line break: every realm option
// is one line of domains.cfg, and SectionConfig's check_value dies with
// "property contains a line feed" (HTTP 500) for them. The error names the
// option, never the value (client-key is a secret).
func checkOneLine(p url.Values) error {
	for _, k := range sortedKeys(p) {
		if strings.ContainsAny(p.Get(k), "\r\n") {
			return invalidf("%s must not contain a line break", k)
		}
	}
	return nil
}
