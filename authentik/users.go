package authentik

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// User is an authentik user as pvesso needs it.
type User struct {
	PK       int
	Username string
	Name     string
	Email    string
	UID      string
	// UUID is the user's uuid (User.uuid, read-only, required in every
	// schema 2024.8.4 … 2026.8.3): the id_token sub under sub_mode
	// user_uuid. Only ListUsers fills it: UserSelf (Me) has no uuid.
	UUID string
	// UPN is attributes["upn"] (sub_mode user_upn), "" when the attribute
	// is absent or not a string. Only ListUsers fills it: UserSelf (Me) has
	// no attributes.
	UPN         string
	Type        string // internal, external, service_account, internal_service_account
	IsActive    bool
	IsSuperuser bool
	// Groups are group names (from groups_obj / UserSelf.groups; empty when
	// the server did not include them).
	Groups []string
	// GroupPKs are the group uuids.
	GroupPKs []string
	// SystemPermissions is only filled by Me.
	SystemPermissions []string
}

type groupRefJSON struct {
	PK   string `json:"pk"`
	Name string `json:"name"`
}

// userSelfJSON is UserSelf (GET /core/users/me/ -> {user: UserSelf}).
type userSelfJSON struct {
	PK                *int           `json:"pk"`
	Username          string         `json:"username"`
	Name              string         `json:"name"`
	Email             string         `json:"email"`
	UID               string         `json:"uid"`
	Type              string         `json:"type"`
	IsActive          bool           `json:"is_active"`
	IsSuperuser       bool           `json:"is_superuser"`
	Groups            []groupRefJSON `json:"groups"`
	SystemPermissions []string       `json:"system_permissions"`
}

// userJSON is User (the /core/users/ list).
type userJSON struct {
	PK          *int           `json:"pk"`
	Username    string         `json:"username"`
	Name        string         `json:"name"`
	Email       string         `json:"email"`
	UID         string         `json:"uid"`
	Type        string         `json:"type"`
	IsActive    bool           `json:"is_active"`
	IsSuperuser bool           `json:"is_superuser"`
	Groups      []string       `json:"groups"`
	GroupsObj   []groupRefJSON `json:"groups_obj"`
	UUID        string         `json:"uuid"`
	// Attributes is kept raw: only "upn" is read, and other attributes may
	// hold any JSON.
	Attributes map[string]json.RawMessage `json:"attributes"`
}

func (u *userJSON) valid() error {
	if u.PK == nil || u.Username == "" {
		return errors.New("user without pk or username")
	}
	return nil
}

func (u *userJSON) user() User {
	out := User{PK: *u.PK, Username: u.Username, Name: u.Name, Email: u.Email, UID: u.UID, UUID: u.UUID,
		UPN: stringAttr(u.Attributes, "upn"), Type: u.Type,
		IsActive: u.IsActive, IsSuperuser: u.IsSuperuser, GroupPKs: u.Groups}
	for _, g := range u.GroupsObj {
		out.Groups = append(out.Groups, g.Name)
	}
	return out
}

// stringAttr returns attrs[key] when it is a JSON string, else "".
func stringAttr(attrs map[string]json.RawMessage, key string) string {
	raw, ok := attrs[key]
	if !ok {
		return ""
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "" // null, a number, a list, ...: not a usable upn
	}
	return v
}

// Me returns the user the token belongs to (GET /core/users/me/). UserSelf
// has neither uuid nor attributes (schemas 2024.8.4 … 2026.8.3), so UUID and
// UPN stay empty; ListUsers reports them.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var su struct {
		User *userSelfJSON `json:"user"`
	}
	if err := c.do(ctx, http.MethodGet, "/core/users/me/", nil, nil, &su); err != nil {
		return nil, err
	}
	if su.User == nil || su.User.PK == nil || su.User.Username == "" {
		return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + "/core/users/me/", StatusCode: 200, Reason: "no user object with pk and username"}
	}
	u := su.User
	out := &User{PK: *u.PK, Username: u.Username, Name: u.Name, Email: u.Email, UID: u.UID, Type: u.Type,
		IsActive: u.IsActive, IsSuperuser: u.IsSuperuser, SystemPermissions: u.SystemPermissions}
	for _, g := range u.Groups {
		out.Groups = append(out.Groups, g.Name)
		out.GroupPKs = append(out.GroupPKs, g.PK)
	}
	return out, nil
}

// User types (UserTypeEnum, 2024.8.4 … 2026.8.3).
const (
	UserTypeInternal               = "internal"
	UserTypeExternal               = "external"
	UserTypeServiceAccount         = "service_account"
	UserTypeInternalServiceAccount = "internal_service_account"
)

// ListUsersOptions filters ListUsers; empty fields do not filter.
type ListUsersOptions struct {
	Username string // exact
	Email    string // exact
	Search   string
	// Active filters on is_active when not nil.
	Active *bool
	// Types keeps only these user types (the type filter, repeatable).
	Types []string
	// Max stops after this many users (no further pages are read); 0 =
	// all.
	Max int
}

// ListUsers lists users (GET /core/users/), following pagination.
func (c *Client) ListUsers(ctx context.Context, o ListUsersOptions) ([]User, error) {
	q := filterQuery("username", o.Username, "email", o.Email, "search", o.Search)
	if o.Active != nil {
		q.Set("is_active", strconv.FormatBool(*o.Active))
	}
	for _, t := range o.Types {
		q.Add("type", t)
	}
	if o.Max < 0 {
		return nil, fmt.Errorf("%w: negative Max", ErrInvalidRequest)
	}
	q.Set("include_groups", "true")
	// defensive: a filter the server ignored must not leak others (nor
	// count towards Max)
	keep := func(u *userJSON) bool {
		return (o.Username == "" || u.Username == o.Username) && (o.Email == "" || u.Email == o.Email) &&
			(o.Active == nil || u.IsActive == *o.Active) && (len(o.Types) == 0 || slices.Contains(o.Types, u.Type))
	}
	raw, err := listMax(ctx, c, "/core/users/", q, o.Max, keep)
	if err != nil {
		return nil, err
	}
	if o.Max > 0 && len(raw) > o.Max {
		raw = raw[:o.Max]
	}
	out := make([]User, 0, len(raw))
	for i := range raw {
		out = append(out, raw[i].user())
	}
	return out, nil
}
