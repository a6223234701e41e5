package sim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---- /admin/version/ -----------------------------------------------------

// getVersion mirrors authentik/admin/api/version.py; fields per the Version
// schema of the simulated release [authentik-api.md §1].
func (c *call) getVersion() (int, any, *apiErr) {
	v := c.s.ver
	out := map[string]any{
		"version_current": v.String(),
		// ASSUMPTION: the simulator has no update check; latest = current.
		"version_latest": v.String(),
		"build_hash":     c.s.build,
		"outdated":       false,
	}
	if v.atLeast(2024, 4, 0) {
		out["version_latest_valid"] = true
	}
	if v.atLeast(2024, 8, 0) {
		out["outpost_outdated"] = false
	}
	return http.StatusOK, out, nil
}

// ---- users ---------------------------------------------------------------

// pyTime mirrors DRF DateTimeField.to_representation (isoformat, "+00:00"
// written as "Z").
func pyTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000Z")
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return pyTime(*t)
}

// avatar: ASSUMPTION: authentik's avatar setting renders initials as an SVG
// data URI when gravatar is not reachable; the simulator always does that.
func avatar(u *user) string {
	initials := ""
	for _, p := range strings.Fields(u.name) {
		initials += strings.ToUpper(string([]rune(p)[0]))
		if len(initials) == 2 {
			break
		}
	}
	if initials == "" && u.username != "" {
		initials = strings.ToUpper(u.username[:1])
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" fill="#3b82f6"/><text x="50" y="62" font-size="40" text-anchor="middle" fill="#fff">` + initials + `</text></svg>`
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg))
}

// partialUser is GroupMember (<= 2025.10) / PartialUser (2026.8.3): the
// same fields under two names.
func (c *call) partialUser(u *user) map[string]any {
	return map[string]any{
		"pk": u.pk, "username": u.username, "name": u.name, "is_active": u.isActive,
		"last_login": optTime(u.lastLogin), "email": u.email, "attributes": u.attributes,
		"uid": c.s.st.uid(u),
	}
}

// userGroupObj is UserGroup (parent, parent_name) before 2025.12 and
// PartialGroup after the parent field was replaced by parents.
func (c *call) userGroupObj(g *group) map[string]any {
	out := map[string]any{
		"pk": g.uuid, "num_pk": g.numPK, "name": g.name, "is_superuser": g.isSuperuser,
		"attributes": g.attributes,
	}
	if !c.s.ver.groupParents() {
		out["parent"], out["parent_name"] = c.parentOf(g)
	}
	return out
}

func (c *call) parentOf(g *group) (any, any) {
	if len(g.parents) == 0 {
		return nil, nil
	}
	if p := c.s.st.groupByUUID(g.parents[0]); p != nil {
		return p.uuid, p.name
	}
	return nil, nil
}

// userJSON mirrors UserSerializer.
func (c *call) userJSON(u *user, includeGroups bool) map[string]any {
	st := &c.s.st
	groups := []string{}
	var groupsObj any
	objs := []any{}
	for _, g := range st.groupsOf(u) {
		groups = append(groups, g.uuid)
		objs = append(objs, c.userGroupObj(g))
	}
	if includeGroups {
		groupsObj = objs
	}
	out := map[string]any{
		"pk": u.pk, "username": u.username, "name": u.name, "is_active": u.isActive,
		"last_login": optTime(u.lastLogin), "is_superuser": st.isSuperuser(u),
		"groups": groups, "groups_obj": groupsObj, "email": u.email, "avatar": avatar(u),
		"attributes": u.attributes, "uid": st.uid(u), "path": u.path, "type": u.typ, "uuid": u.uuid,
	}
	// ASSUMPTION: date_joined, password_change_date and last_updated first
	// appear in the 2025.8.1 schema (absent in 2024.12.3); the simulator
	// starts them at 2025.8.0.
	if c.s.ver.autocomplete() {
		out["date_joined"] = pyTime(u.dateJoined)
		out["password_change_date"] = pyTime(u.passwordDate)
		out["last_updated"] = pyTime(u.lastUpdated)
	}
	if c.s.ver.userRoles() {
		out["roles"] = []string{}
		out["roles_obj"] = []any{}
	}
	return out
}

// userSelf mirrors UserSelfSerializer.
func (c *call) userSelf(u *user) map[string]any {
	st := &c.s.st
	groups := []any{}
	for _, g := range st.groupsOf(u) {
		groups = append(groups, map[string]any{"pk": g.uuid, "name": g.name})
	}
	out := map[string]any{
		"pk": u.pk, "username": u.username, "name": u.name, "is_active": u.isActive,
		"is_superuser": st.isSuperuser(u), "groups": groups, "email": u.email, "avatar": avatar(u),
		"uid": st.uid(u), "settings": map[string]any{}, "type": u.typ,
		// ASSUMPTION: system permissions come from RBAC roles, which the
		// simulator does not model; always empty.
		"system_permissions": []string{},
	}
	if c.s.ver.userRoles() {
		out["roles"] = []any{}
	}
	if c.s.ver.partialSerializers() {
		out["is_current"] = true
	}
	return out
}

// getMe mirrors GET /core/users/me/ -> SessionUser {user, original?}
// (+ users since 2026.8).
func (c *call) getMe() (int, any, *apiErr) {
	self := c.userSelf(c.user)
	out := map[string]any{"user": self}
	if c.s.ver.partialSerializers() {
		out["users"] = []any{self}
	}
	return http.StatusOK, out, nil
}

func (c *call) listUsers() (int, any, *apiErr) {
	lp := listParams{c.q}
	st := &c.s.st
	rows := append([]*user(nil), st.users...)
	var out []*user
	for _, u := range rows {
		if !lp.exact(map[string]string{"username": u.username, "email": u.email, "name": u.name,
			"uuid": u.uuid, "path": u.path}) {
			continue
		}
		if v, ok := lp.boolFilter("is_active"); ok && u.isActive != v {
			continue
		}
		if v, ok := lp.boolFilter("is_superuser"); ok && st.isSuperuser(u) != v {
			continue
		}
		if names := c.q["groups_by_name"]; len(names) > 0 && !inGroups(st.groupsOf(u), names, func(g *group) string { return g.name }) {
			continue
		}
		if ids := c.q["groups_by_pk"]; len(ids) > 0 && !inGroups(st.groupsOf(u), ids, func(g *group) string { return g.uuid }) {
			continue
		}
		if types := c.q["type"]; len(types) > 0 && !slices.Contains(types, u.typ) {
			continue
		}
		if !lp.search(u.username, u.name, u.email) {
			continue
		}
		out = append(out, u)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*user) string{
		"username": func(u *user) string { return u.username },
		"name":     func(u *user) string { return u.name },
		"email":    func(u *user) string { return u.email },
		"pk":       func(u *user) string { return fmt.Sprintf("%012d", u.pk) },
	}, "username")
	includeGroups := true
	if v, ok := lp.boolFilter("include_groups"); ok {
		includeGroups = v
	}
	return listAnswer(c, out, func(u *user) map[string]any { return c.userJSON(u, includeGroups) })
}

func inGroups(gs []*group, want []string, key func(*group) string) bool {
	for _, g := range gs {
		if slices.Contains(want, key(g)) {
			return true
		}
	}
	return false
}

func (c *call) getUser() (int, any, *apiErr) {
	pk, err := strconv.Atoi(c.params["id"])
	if err != nil {
		return 0, nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	u := c.s.st.userByPK(pk)
	if u == nil {
		return 0, nil, notFound("User")
	}
	return http.StatusOK, c.userJSON(u, true), nil
}

// ---- groups --------------------------------------------------------------

// groupJSON mirrors GroupSerializer for the simulated release.
func (c *call) groupJSON(g *group, includeUsers, includeChildren, includeParents bool) map[string]any {
	st := &c.s.st
	v := c.s.ver
	users := []int{}
	members := []any{}
	for _, pk := range g.users {
		if u := st.userByPK(pk); u != nil {
			users = append(users, pk)
			members = append(members, c.partialUser(u))
		}
	}
	var usersObj any
	if includeUsers {
		usersObj = members
	}
	out := map[string]any{
		"pk": g.uuid, "num_pk": g.numPK, "name": g.name, "is_superuser": g.isSuperuser,
		"users": users, "users_obj": usersObj, "attributes": g.attributes,
		"roles": []string{}, "roles_obj": []any{},
	}
	children := []string{}
	childObjs := []any{}
	for _, other := range st.groups {
		if slices.Contains(other.parents, g.uuid) {
			children = append(children, other.uuid)
			childObjs = append(childObjs, relatedGroup(other))
		}
	}
	if v.groupParents() {
		parents := append([]string{}, g.parents...)
		parentObjs := []any{}
		for _, id := range g.parents {
			if p := st.groupByUUID(id); p != nil {
				parentObjs = append(parentObjs, relatedGroup(p))
			}
		}
		out["parents"] = parents
		out["parents_obj"] = nil
		if includeParents {
			out["parents_obj"] = parentObjs
		}
	} else {
		out["parent"], out["parent_name"] = c.parentOf(g)
	}
	if v.groupChildren() {
		out["children"] = children
		out["children_obj"] = nil
		if includeChildren {
			out["children_obj"] = childObjs
		}
	}
	if v.partialSerializers() {
		out["inherited_roles_obj"] = nil
	}
	return out
}

// relatedGroup is a parent or child group in children_obj / parents_obj.
func relatedGroup(g *group) map[string]any {
	return map[string]any{
		"pk": g.uuid, "name": g.name, "is_superuser": g.isSuperuser,
		"attributes": g.attributes, "group_uuid": g.uuid,
	}
}

func (c *call) groupFlags() (bool, bool, bool) {
	lp := listParams{c.q}
	users, children, parents := true, false, false
	if v, ok := lp.boolFilter("include_users"); ok {
		users = v
	}
	if v, ok := lp.boolFilter("include_children"); ok {
		children = v
	}
	if v, ok := lp.boolFilter("include_parents"); ok {
		parents = v
	}
	return users, children, parents
}

func (c *call) listGroups() (int, any, *apiErr) {
	lp := listParams{c.q}
	st := &c.s.st
	var out []*group
	for _, g := range st.groups {
		if !lp.exact(map[string]string{"name": g.name}) {
			continue
		}
		if v, ok := lp.boolFilter("is_superuser"); ok && g.isSuperuser != v {
			continue
		}
		if names := c.q["members_by_username"]; len(names) > 0 && !groupHasMember(st, g, func(u *user) bool { return slices.Contains(names, u.username) }) {
			continue
		}
		if pks := c.q["members_by_pk"]; len(pks) > 0 && !groupHasMember(st, g, func(u *user) bool { return slices.Contains(pks, strconv.Itoa(u.pk)) }) {
			continue
		}
		if !lp.search(g.name) {
			continue
		}
		out = append(out, g)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*group) string{
		"name":         func(g *group) string { return g.name },
		"is_superuser": func(g *group) string { return strconv.FormatBool(g.isSuperuser) },
	}, "name")
	return listAnswer(c, out, c.groupAnswer)
}

func groupHasMember(st *state, g *group, pred func(*user) bool) bool {
	for _, pk := range g.users {
		if u := st.userByPK(pk); u != nil && pred(u) {
			return true
		}
	}
	return false
}

func (c *call) lookupGroup() (*group, *apiErr) {
	id, ok := normUUID(c.params["group_uuid"])
	if !ok {
		return nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	g := c.s.st.groupByUUID(id)
	if g == nil {
		return nil, notFound("Group")
	}
	return g, nil
}

func (c *call) getGroup() (int, any, *apiErr) {
	g, err := c.lookupGroup()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, c.groupAnswer(g), nil
}

// groupForm validates a GroupRequest. Group names are unique since 2024.6
// [authentik-versions.md]; ASSUMPTION: the uniqueness message is Django's
// "Group with this name already exists.".
func (c *call) groupForm(f *form, g *group) *group {
	st := &c.s.st
	v := c.s.ver
	out := &group{attributes: map[string]any{}}
	if g != nil {
		cp := *g
		out = &cp
		out.users = append([]int(nil), g.users...)
		out.parents = append([]string(nil), g.parents...)
	}
	maxLen := 0
	if !v.atLeast(2024, 8, 0) {
		maxLen = 80
	}
	if name, ok := f.str("name", strOpts{required: true, maxLen: maxLen}); ok {
		if v.atLeast(2024, 6, 0) && taken(st.groups, g, func(o *group) bool { return o.name == name }) {
			f.fail("name", "Group with this name already exists.")
		}
		out.name = name
	}
	if b, ok := f.boolean("is_superuser"); ok {
		out.isSuperuser = b
	}
	groupExists := func(id string) bool { return st.groupByUUID(id) != nil }
	if v.groupParents() {
		if ids, ok := f.uuidRefList("parents", groupExists); ok {
			out.parents = ids
		}
	} else if id, ok := f.uuidRef("parent", false, true, groupExists); ok {
		out.parents = nil
		if id != "" {
			out.parents = []string{id}
		}
	}
	if pks, ok := f.intRefList("users", func(pk int) bool { return st.userByPK(pk) != nil }); ok {
		out.users = pks
	}
	if m, ok := f.dict("attributes"); ok {
		out.attributes = m
	}
	if _, ok := f.get("roles", false); ok {
		// ASSUMPTION: RBAC roles are not simulated; any role pk is unknown.
		f.uuidRefList("roles", func(string) bool { return false })
	}
	return out
}

// groupAnswer is groupJSON with the include_* flags of the request.
func (c *call) groupAnswer(g *group) map[string]any {
	iu, ic, ip := c.groupFlags()
	return c.groupJSON(g, iu, ic, ip)
}

func (c *call) createGroup() (int, any, *apiErr) {
	g, err := validated(c, false, nil, c.groupForm)
	if err != nil {
		return 0, nil, err
	}
	g.uuid = newUUID()
	g.numPK = numPKFromUUID(g.uuid)
	c.s.st.groups = append(c.s.st.groups, g)
	return http.StatusCreated, c.groupAnswer(g), nil
}

func (c *call) updateGroup() (int, any, *apiErr) {
	return update(c, false, c.lookupGroup, c.groupForm, c.groupAnswer)
}

func (c *call) patchGroup() (int, any, *apiErr) {
	return update(c, true, c.lookupGroup, c.groupForm, c.groupAnswer)
}

func (c *call) deleteGroup() (int, any, *apiErr) {
	g, err := c.lookupGroup()
	if err != nil {
		return 0, nil, err
	}
	st := &c.s.st
	st.groups = without(st.groups, g)
	// Bindings to the group are deleted with it (on_delete CASCADE).
	st.bindings = slices.DeleteFunc(st.bindings, func(b *policyBinding) bool { return b.group == g.uuid })
	return http.StatusNoContent, nil, nil
}

// groupMembership mirrors add_user/remove_user: body {"pk": <user pk>},
// 204 on success, 404 "User not found" [authentik-api.md §7].
func (c *call) groupMembership(add bool) (int, any, *apiErr) {
	g, err := c.lookupGroup()
	if err != nil {
		return 0, nil, err
	}
	f, err := parseBody(c.r, false)
	if err != nil {
		return 0, nil, err
	}
	pk, ok := f.integer("pk", intOpts{required: true})
	if !f.ok() || !ok {
		return 0, nil, f.err()
	}
	u := c.s.st.userByPK(int(pk))
	if u == nil {
		return 0, nil, detailErr(http.StatusNotFound, "User not found")
	}
	member := slices.Contains(g.users, u.pk)
	if add && !member {
		g.users = append(g.users, u.pk)
	}
	if !add && member {
		g.users = slices.DeleteFunc(g.users, func(pk int) bool { return pk == u.pk })
	}
	return http.StatusNoContent, nil, nil
}

func (c *call) groupAddUser() (int, any, *apiErr)    { return c.groupMembership(true) }
func (c *call) groupRemoveUser() (int, any, *apiErr) { return c.groupMembership(false) }

// slugRE is Django's slug pattern as in the schemas (^[-a-zA-Z0-9_]+$).
var slugRE = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)
