package proxmox

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Group is a PVE group.
type Group struct {
	GroupID string
	Comment string
	Users   []string // members (user ids)
}

// ListGroups reads GET /access/groups (filtered by the caller's rights).
func (c *Client) ListGroups(ctx context.Context) ([]Group, error) {
	var raw []struct {
		GroupID flexString `json:"groupid"`
		Comment flexString `json:"comment"`
		Users   flexList   `json:"users"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/groups"}, &raw); err != nil {
		return nil, err
	}
	out := make([]Group, len(raw))
	for i, r := range raw {
		out[i] = Group{GroupID: string(r.GroupID), Comment: string(r.Comment), Users: []string(r.Users)}
	}
	return out, nil
}

// GetGroup reads GET /access/groups/{groupid}; a missing group gives ErrNotFound.
func (c *Client) GetGroup(ctx context.Context, groupid string) (*Group, error) {
	if err := checkGroupID(groupid); err != nil {
		return nil, err
	}
	var raw struct {
		Comment flexString `json:"comment"`
		Members flexList   `json:"members"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/groups/" + seg(groupid)}, &raw); err != nil {
		return nil, err
	}
	return &Group{GroupID: groupid, Comment: string(raw.Comment), Users: []string(raw.Members)}, nil
}

// CreateGroup creates a group (POST /access/groups); ErrAlreadyExists if it exists.
func (c *Client) CreateGroup(ctx context.Context, groupid, comment string) error {
	if err := checkGroupID(groupid); err != nil {
		return err
	}
	p := url.Values{"groupid": {groupid}}
	putStr(p, "comment", comment)
	return c.do(ctx, call{method: http.MethodPost, path: "/access/groups", params: p}, nil)
}

// UpdateGroup sets a group's comment (PUT /access/groups/{groupid}).
func (c *Client) UpdateGroup(ctx context.Context, groupid, comment string) error {
	if err := checkGroupID(groupid); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodPut, path: "/access/groups/" + seg(groupid), params: url.Values{"comment": {comment}}}, nil)
}

// DeleteGroup removes a group (and, server-side, its ACL entries).
func (c *Client) DeleteGroup(ctx context.Context, groupid string) error {
	if err := checkGroupID(groupid); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: "/access/groups/" + seg(groupid)}, nil)
}

// ACLEntry is one element of GET /access/acl.
type ACLEntry struct {
	Path      string
	Type      string // user | group | token
	UGID      string // user id, group id or token id
	RoleID    string
	Propagate bool
}

// ListACL reads GET /access/acl.
func (c *Client) ListACL(ctx context.Context) ([]ACLEntry, error) {
	var raw []struct {
		Path      flexString `json:"path"`
		Type      flexString `json:"type"`
		UGID      flexString `json:"ugid"`
		RoleID    flexString `json:"roleid"`
		Propagate flexBool   `json:"propagate"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/acl"}, &raw); err != nil {
		return nil, err
	}
	out := make([]ACLEntry, len(raw))
	for i, r := range raw {
		out[i] = ACLEntry{Path: string(r.Path), Type: string(r.Type), UGID: string(r.UGID), RoleID: string(r.RoleID),
			Propagate: r.Propagate.or(true)} // schema default 1
	}
	return out, nil
}

// ACLUpdate is PUT /access/acl. At least one of Users, Groups, Tokens is
// needed. Adding an existing entry only (re)sets its propagate flag.
type ACLUpdate struct {
	Path      string
	Roles     []string
	Groups    []string
	Users     []string
	Tokens    []string // "user@realm!tokenid"
	Propagate *bool    // nil: server default (1)
	Delete    bool     // remove instead of add
}

// UpdateACL adds (or with Delete removes) ACL entries.
func (c *Client) UpdateACL(ctx context.Context, u ACLUpdate) error {
	if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return invalidf("ACL path must start with '/'")
	}
	if len(u.Roles) == 0 {
		return invalidf("ACL update needs at least one role")
	}
	if len(u.Users)+len(u.Groups)+len(u.Tokens) == 0 {
		return invalidf("ACL update needs users, groups or tokens")
	}
	if err := checkAll(checkGroupID, u.Groups); err != nil {
		return err
	}
	if err := checkAll(checkUserID, u.Users); err != nil {
		return err
	}
	p := url.Values{"path": {u.Path}, "roles": {strings.Join(u.Roles, ",")}}
	putStr(p, "groups", strings.Join(u.Groups, ","))
	putStr(p, "users", strings.Join(u.Users, ","))
	putStr(p, "tokens", strings.Join(u.Tokens, ","))
	putBool(p, "propagate", u.Propagate)
	if u.Delete {
		p.Set("delete", "1")
	}
	return c.do(ctx, call{method: http.MethodPut, path: "/access/acl", params: p}, nil)
}

// User is a PVE user.
type User struct {
	UserID    string
	Email     string
	Firstname string
	Lastname  string
	Comment   string
	RealmType string // list only: type of the user's realm
	Enable    bool
	Expire    int64 // seconds since epoch, 0 = never
	Groups    []string
	Tokens    []string // token ids (without the user part)
}

type rawUser struct {
	UserID    flexString `json:"userid"`
	Email     flexString `json:"email"`
	Firstname flexString `json:"firstname"`
	Lastname  flexString `json:"lastname"`
	Comment   flexString `json:"comment"`
	RealmType flexString `json:"realm-type"`
	Enable    flexBool   `json:"enable"`
	Expire    flexInt    `json:"expire"`
	Groups    flexList   `json:"groups"`
}

func (r rawUser) user() User {
	return User{
		UserID: string(r.UserID), Email: string(r.Email), Firstname: string(r.Firstname),
		Lastname: string(r.Lastname), Comment: string(r.Comment), RealmType: string(r.RealmType),
		Enable: r.Enable.or(true), Expire: int64(r.Expire), Groups: []string(r.Groups),
	}
}

// ListUsers reads GET /access/users?full=1 (full adds groups and tokens).
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var raw []struct {
		rawUser
		Tokens []struct {
			TokenID flexString `json:"tokenid"`
		} `json:"tokens"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/users", params: url.Values{"full": {"1"}}}, &raw); err != nil {
		return nil, err
	}
	out := make([]User, len(raw))
	for i, r := range raw {
		out[i] = r.user()
		for _, t := range r.Tokens {
			out[i].Tokens = append(out[i].Tokens, string(t.TokenID))
		}
	}
	return out, nil
}

// GetUser reads GET /access/users/{userid}; an unknown user gives ErrNotFound.
func (c *Client) GetUser(ctx context.Context, userid string) (*User, error) {
	if err := checkUserID(userid); err != nil {
		return nil, err
	}
	var raw struct {
		rawUser
		Tokens map[string]any `json:"tokens"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/users/" + seg(userid)}, &raw); err != nil {
		return nil, err
	}
	u := raw.user()
	u.UserID = userid
	for id := range raw.Tokens {
		u.Tokens = append(u.Tokens, id)
	}
	sort.Strings(u.Tokens)
	return &u, nil
}

// UserCreate is POST /access/users. OpenID users have no password, so
// there is no password field.
type UserCreate struct {
	UserID    string
	Email     string
	Comment   string
	Firstname string
	Lastname  string
	Groups    []string // must exist
	Enable    *bool    // nil: server default (1)
	Expire    int64    // 0: never (not sent)
}

// CreateUser creates a user; ErrAlreadyExists if it exists, ErrNotFound if
// a group does not exist.
func (c *Client) CreateUser(ctx context.Context, u UserCreate) error {
	if err := checkUserID(u.UserID); err != nil {
		return err
	}
	if err := checkAll(checkGroupID, u.Groups); err != nil {
		return err
	}
	p := url.Values{"userid": {u.UserID}}
	putStr(p, "email", u.Email)
	putStr(p, "comment", u.Comment)
	putStr(p, "firstname", u.Firstname)
	putStr(p, "lastname", u.Lastname)
	putStr(p, "groups", strings.Join(u.Groups, ","))
	putBool(p, "enable", u.Enable)
	if u.Expire > 0 {
		p.Set("expire", strconv.FormatInt(u.Expire, 10))
	}
	return c.do(ctx, call{method: http.MethodPost, path: "/access/users", params: p}, nil)
}

// UserUpdate is PUT /access/users/{userid}. Groups REPLACES the user's whole
// group list unless Append is set; an empty Groups is not sent (use
// AddUserToGroups to add without dropping anything).
type UserUpdate struct {
	Groups    []string
	Append    bool
	Email     *string
	Comment   *string
	Firstname *string
	Lastname  *string
	Enable    *bool
	Expire    *int64
}

// UpdateUser changes a user. An update without changes sends nothing.
func (c *Client) UpdateUser(ctx context.Context, userid string, u UserUpdate) error {
	if err := checkUserID(userid); err != nil {
		return err
	}
	if u.Append && len(u.Groups) == 0 {
		return invalidf("append needs groups")
	}
	if err := checkAll(checkGroupID, u.Groups); err != nil {
		return err
	}
	p := url.Values{}
	putStr(p, "groups", strings.Join(u.Groups, ","))
	if u.Append {
		p.Set("append", "1")
	}
	for _, s := range []struct {
		k string
		v *string
	}{{"email", u.Email}, {"comment", u.Comment}, {"firstname", u.Firstname}, {"lastname", u.Lastname}} {
		if s.v != nil {
			p.Set(s.k, *s.v)
		}
	}
	putBool(p, "enable", u.Enable)
	if u.Expire != nil {
		if *u.Expire < 0 {
			return invalidf("expire must not be negative")
		}
		p.Set("expire", strconv.FormatInt(*u.Expire, 10))
	}
	if len(p) == 0 {
		return nil
	}
	return c.do(ctx, call{method: http.MethodPut, path: "/access/users/" + seg(userid), params: p}, nil)
}

// AddUserToGroups adds userid to groups without dropping its other groups
// (PUT groups=...&append=1). No groups: nothing is sent.
func (c *Client) AddUserToGroups(ctx context.Context, userid string, groups ...string) error {
	if len(groups) == 0 {
		return nil
	}
	return c.UpdateUser(ctx, userid, UserUpdate{Groups: groups, Append: true})
}

// DeleteUser removes a user.
func (c *Client) DeleteUser(ctx context.Context, userid string) error {
	if err := checkUserID(userid); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: "/access/users/" + seg(userid)}, nil)
}

// Permissions maps ACL path -> privilege -> propagate flag. A privilege
// present in the map is granted.
type Permissions map[string]map[string]bool

// Has reports whether priv is granted on exactly path.
func (p Permissions) Has(path, priv string) bool {
	_, ok := p[path][priv]
	return ok
}

// Missing returns the privileges of privs not granted on path, sorted.
func (p Permissions) Missing(path string, privs ...string) []string {
	var out []string
	for _, pr := range privs {
		if !p.Has(path, pr) {
			out = append(out, pr)
		}
	}
	sort.Strings(out)
	return out
}

// PermissionsOptions selects what GET /access/permissions reports.
type PermissionsOptions struct {
	Path   string // "" = whole tree
	UserID string // "" = the caller; a user id or full token id
}

// Permissions reads the effective permissions (GET /access/permissions).
// For a privilege-separated token this already is the intersection with the
// owner's rights.
func (c *Client) Permissions(ctx context.Context, o PermissionsOptions) (Permissions, error) {
	p := url.Values{}
	putStr(p, "path", o.Path)
	putStr(p, "userid", o.UserID)
	var raw map[string]map[string]flexInt
	if err := c.do(ctx, call{method: http.MethodGet, path: "/access/permissions", params: p}, &raw); err != nil {
		return nil, err
	}
	out := make(Permissions, len(raw))
	for path, privs := range raw {
		m := make(map[string]bool, len(privs))
		for k, v := range privs {
			m[k] = v != 0
		}
		out[path] = m
	}
	return out, nil
}
