package sim

import (
	"sort"
	"strconv"
	"strings"
)

// /access/users, /access/groups, /access/acl and API tokens, read from
// pve-access-control src/PVE/API2/{User,Group,ACL}.pm. Errors inside the
// user.cfg lock carry the handler's prefix ("create user failed: ", ...)
// and are HTTP 500.

// userData is $extract_user_data: the properties a user has in user.cfg.
// After the user.cfg round trip, empty names/comment/keys are absent.
func userData(u *user, full bool, st *state, userid string) map[string]any {
	out := map[string]any{"enable": u.enable, "expire": u.expire}
	for k, v := range map[string]string{"firstname": u.firstname, "lastname": u.lastname, "email": u.email,
		"comment": u.comment, "keys": u.keys} {
		if v != "" {
			out[k] = v
		}
	}
	if !full {
		return out
	}
	groups := st.userGroups(userid)
	if groups == nil {
		groups = []string{}
	}
	out["groups"] = groups
	if u.tokens == nil {
		out["tokens"] = nil
	} else {
		toks := map[string]any{}
		for id, t := range u.tokens {
			toks[id] = tokenData(t)
		}
		out["tokens"] = toks
	}
	return out
}

func tokenData(t *token) map[string]any {
	d := map[string]any{"privsep": t.privsep, "expire": t.expire}
	if t.comment != "" {
		d["comment"] = t.comment
	}
	return d
}

func hUserList(c *call) (any, *apiError) {
	st := c.s.st
	privs := []string{"User.Modify", "Sys.Audit"}
	canUserMod := st.checkAny(c.authid, "/access/groups", privs) == nil
	allowed := map[string]bool{}
	for g := range st.filterGroups(c.authid, privs) {
		for u := range st.groups[g].users {
			allowed[u] = true
		}
	}
	full := c.params["full"] == "1"
	enabled, hasEnabled := c.params["enabled"]
	ids := make([]string, 0, len(st.users))
	for id := range st.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []map[string]any{}
	for _, id := range ids {
		if !(canUserMod || id == c.authid) && !allowed[id] {
			continue
		}
		u := st.users[id]
		e := userData(u, full, st, id)
		if hasEnabled {
			if u.enable != 0 && enabled != "1" || u.enable == 0 && enabled == "1" {
				continue
			}
		}
		if full {
			e["groups"] = strings.Join(e["groups"].([]string), ",")
			if u.tokens != nil {
				tids := make([]string, 0, len(u.tokens))
				for t := range u.tokens {
					tids = append(tids, t)
				}
				sort.Strings(tids)
				var toks []map[string]any
				for _, t := range tids {
					d := tokenData(u.tokens[t])
					d["tokenid"] = t
					toks = append(toks, d)
				}
				e["tokens"] = toks
			}
		}
		if i := strings.LastIndex(id, "@"); i >= 0 {
			if r := st.realms[id[i+1:]]; r != nil {
				e["realm-type"] = r.typ
			}
		}
		e["userid"] = id
		out = append(out, e)
	}
	return out, nil
}

func hUserCreate(c *call) (any, *apiError) {
	st := c.s.st
	fail := func(e *apiError) (any, *apiError) { return nil, wrap("create user failed", e) }
	p := c.params
	id := p["userid"]
	_, realm, msg := verifyUsername(id)
	if msg != "" {
		return fail(die("%s", msg))
	}
	if st.users[id] != nil {
		return fail(die("user '%s' already exists", id))
	}
	u := &user{enable: 1}
	if pw, ok := p["password"]; ok {
		// domain_set_password: the realm must exist and store passwords
		r := st.realms[realm]
		if r == nil {
			return fail(die("auth domain '%s' does not exist", realm))
		}
		if r.typ != "pam" && r.typ != "pve" {
			return fail(die("can't set password on auth type '%s'", r.typ))
		}
		u.password = pw
	}
	if v, ok := p["enable"]; ok {
		u.enable, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := p["expire"]; v != "" && v != "0" {
		u.expire, _ = strconv.ParseInt(v, 10, 64)
	}
	var groups []string
	if gl := p["groups"]; gl != "" {
		for _, g := range splitList(gl) {
			if st.groups[g] == nil {
				return fail(die("no such group '%s'", g))
			}
			groups = append(groups, g)
		}
	}
	u.firstname, u.lastname, u.email, u.comment, u.keys = p["firstname"], p["lastname"], p["email"], p["comment"], p["keys"]
	st.users[id] = u
	for _, g := range groups {
		st.groups[g].users[id] = true
	}
	return nil, nil
}

func hUserRead(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["userid"]
	if e := st.checkUserExist(id); e != nil {
		return nil, e
	}
	return userData(st.users[id], true, st, id), nil
}

func hUserUpdate(c *call) (any, *apiError) {
	st := c.s.st
	fail := func(e *apiError) (any, *apiError) { return nil, wrap("update user failed", e) }
	p := c.params
	id := p["userid"]
	if e := st.checkUserExist(id); e != nil {
		return fail(e)
	}
	u := st.users[id]
	// all or nothing, like the locked user.cfg update
	nu := *u
	member := map[string]bool{}
	for _, g := range st.userGroups(id) {
		member[g] = true
	}
	if v, ok := p["enable"]; ok {
		nu.enable, _ = strconv.ParseInt(v, 10, 64)
	}
	if v, ok := p["expire"]; ok {
		nu.expire, _ = strconv.ParseInt(v, 10, 64)
	}
	gl, hasGroups := p["groups"]
	if p["append"] != "1" && hasGroups {
		// without append=1, 'groups' REPLACES all group memberships
		member = map[string]bool{}
	}
	if gl != "" {
		for _, g := range splitList(gl) {
			if st.groups[g] == nil {
				return fail(die("no such group '%s'", g))
			}
			member[g] = true
		}
	}
	for k, dst := range map[string]*string{"firstname": &nu.firstname, "lastname": &nu.lastname,
		"email": &nu.email, "comment": &nu.comment, "keys": &nu.keys} {
		if v, ok := p[k]; ok {
			*dst = v
		}
	}
	*u = nu
	for g, grp := range st.groups {
		if member[g] {
			grp.users[id] = true
		} else {
			delete(grp.users, id)
		}
	}
	return nil, nil
}

func hUserDelete(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["userid"]
	if _, _, msg := verifyUsername(id); msg != "" {
		return nil, wrap("delete user failed", die("%s", msg))
	}
	// Like User.pm, a missing user is not an error (the handler disables and
	// deletes whatever entry there is); the permission check before it
	// rejects unknown users for everybody but root@pam.
	delete(st.users, id)
	st.deleteUserGroups(id)
	for _, n := range st.acl {
		delete(n.users, id)
		for tid := range n.tokens {
			if uid, _, ok := splitTokenID(tid); ok && uid == id {
				delete(n.tokens, tid)
			}
		}
	}
	return nil, nil
}

// --- tokens ----------------------------------------------------------------

func hTokenList(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["userid"]
	if e := st.checkUserExist(id); e != nil {
		return nil, e
	}
	out := []map[string]any{}
	u := st.users[id]
	tids := make([]string, 0, len(u.tokens))
	for t := range u.tokens {
		tids = append(tids, t)
	}
	sort.Strings(tids)
	for _, t := range tids {
		d := tokenData(u.tokens[t])
		d["tokenid"] = t
		out = append(out, d)
	}
	return out, nil
}

// existingToken finds the call's {userid}/{tokenid} token, or answers as
// PVE does for a missing user or token.
func existingToken(c *call) (u *user, id, tid string, e *apiError) {
	st := c.s.st
	id, tid = c.params["userid"], c.params["tokenid"]
	if e := st.checkUserExist(id); e != nil {
		return nil, "", "", e
	}
	u = st.users[id]
	if u.tokens == nil || u.tokens[tid] == nil {
		return nil, "", "", die("no such token '%s' for user '%s'", tid, id)
	}
	return u, id, tid, nil
}

func hTokenRead(c *call) (any, *apiError) {
	u, _, tid, e := existingToken(c)
	if e != nil {
		return nil, e
	}
	return tokenData(u.tokens[tid]), nil
}

func hTokenCreate(c *call) (any, *apiError) {
	st := c.s.st
	id, tid := c.params["userid"], c.params["tokenid"]
	if e := st.checkUserExist(id); e != nil {
		return nil, e
	}
	u := st.users[id]
	if u.tokens != nil && u.tokens[tid] != nil {
		return nil, paramExc(map[string]string{"tokenid": "Token already exists."})
	}
	t := &token{privsep: 1, secret: newUUID(), comment: c.params["comment"]}
	if v, ok := c.params["privsep"]; ok {
		t.privsep, _ = strconv.ParseInt(v, 10, 64)
	}
	if v, ok := c.params["expire"]; ok {
		t.expire, _ = strconv.ParseInt(v, 10, 64)
	}
	if u.tokens == nil {
		u.tokens = map[string]*token{}
	}
	u.tokens[tid] = t
	return map[string]any{"info": tokenData(t), "value": t.secret, "full-tokenid": id + "!" + tid}, nil
}

func hTokenDelete(c *call) (any, *apiError) {
	u, id, tid, e := existingToken(c)
	if e != nil {
		return nil, e
	}
	delete(u.tokens, tid)
	for _, n := range c.s.st.acl {
		delete(n.tokens, id+"!"+tid)
	}
	return nil, nil
}

// --- groups ----------------------------------------------------------------

func hGroupList(c *call) (any, *apiError) {
	st := c.s.st
	ids := make([]string, 0, len(st.groups))
	for id := range st.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := []map[string]any{}
	for _, id := range ids {
		if st.checkAny(c.authid, "/access/groups/"+id, []string{"User.Modify", "Sys.Audit", "Group.Allocate"}) != nil {
			continue
		}
		g := st.groups[id]
		e := map[string]any{"groupid": id}
		if g.comment != "" {
			e["comment"] = g.comment
		}
		var members []string
		for u := range g.users {
			members = append(members, u)
		}
		sort.Strings(members)
		// defined even when empty: "users":"" for a group without members
		e["users"] = strings.Join(members, ",")
		out = append(out, e)
	}
	return out, nil
}

func hGroupCreate(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["groupid"]
	if st.groups[id] != nil {
		return nil, wrap("create group failed", die("group '%s' already exists", id))
	}
	st.groups[id] = &group{comment: c.params["comment"], users: map[string]bool{}}
	return nil, nil
}

func hGroupRead(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["groupid"]
	g := st.groups[id]
	if g == nil {
		return nil, die("group '%s' does not exist", id)
	}
	members := []string{}
	for u := range g.users {
		members = append(members, u)
	}
	sort.Strings(members)
	out := map[string]any{"members": members}
	if g.comment != "" {
		out["comment"] = g.comment
	}
	return out, nil
}

func hGroupUpdate(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["groupid"]
	g := st.groups[id]
	if g == nil {
		return nil, wrap("update group failed", die("group '%s' does not exist", id))
	}
	if v, ok := c.params["comment"]; ok {
		g.comment = v
	}
	return nil, nil
}

func hGroupDelete(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["groupid"]
	if st.groups[id] == nil {
		return nil, wrap("delete group failed", die("group '%s' does not exist", id))
	}
	delete(st.groups, id)
	for _, n := range st.acl {
		delete(n.groups, id)
	}
	return nil, nil
}

// --- ACL -------------------------------------------------------------------

func hACLRead(c *call) (any, *apiError) {
	st := c.s.st
	audit := st.check(c.authid, "/access", []string{"Sys.Audit"}) == nil
	entries := c.s.aclEntries(func(path string) bool {
		return audit || st.checkPermModify(c.authid, path) == nil
	})
	out := []map[string]any{}
	for _, e := range entries {
		prop := 0
		if e.Propagate {
			prop = 1
		}
		out = append(out, map[string]any{"path": e.Path, "type": e.Type, "ugid": e.UGID, "roleid": e.RoleID, "propagate": prop})
	}
	return out, nil
}

func hACLUpdate(c *call) (any, *apiError) {
	st := c.s.st
	p := c.params
	if p["users"] == "" && p["groups"] == "" && p["tokens"] == "" {
		msg := "either 'users', 'groups' or 'tokens' is required."
		return nil, paramExc(map[string]string{"users": msg, "groups": msg, "tokens": msg})
	}
	path := normalizePath(p["path"])
	if path == "" {
		return nil, paramExc(map[string]string{"path": "invalid ACL path '" + p["path"] + "'"})
	}
	del := p["delete"] == "1"
	if !del && !checkACLPath(path) {
		return nil, paramExc(map[string]string{"path": "invalid ACL path '" + p["path"] + "'"})
	}
	fail := func(e *apiError) (any, *apiError) { return nil, wrap("ACL update failed", e) }
	authPrivs := st.permissions(c.authid, path)
	propagate := int64(1)
	if v, ok := p["propagate"]; ok && v == "0" {
		propagate = 0
	}
	// validate everything first: the real update happens in a locked
	// closure that is only written when it finishes
	type change struct {
		kind, id, role string
	}
	var changes []change
	for _, role := range splitList(p["roles"]) {
		privs, ok := st.roles[role]
		if !ok {
			return fail(die("role '%s' does not exist", role))
		}
		if _, ok := authPrivs["Permissions.Modify"]; !ok {
			verb := "add"
			if del {
				verb = "remove"
			}
			names := make([]string, 0, len(privs))
			for pr := range privs {
				names = append(names, pr)
			}
			sort.Strings(names)
			for _, pr := range names {
				have, ok := authPrivs[pr]
				if !ok {
					return fail(paramExc(map[string]string{"role": "Cannot " + verb + " role '" + role + "' - requires 'Permissions.Modify' or superset of privileges."}))
				}
				if propagate != 0 && have != propagate && !del {
					return fail(paramExc(map[string]string{"role": "Cannot " + verb + " role '" + role + "' with propagation - requires 'Permissions.Modify' or propagated superset of privileges."}))
				}
			}
			if role == "NoAccess" {
				return fail(paramExc(map[string]string{"role": "Cannot " + verb + " role '" + role + "' - requires 'Permissions.Modify'"}))
			}
		}
		for _, g := range splitList(p["groups"]) {
			if st.groups[g] == nil {
				return fail(die("group '%s' does not exist", g))
			}
			changes = append(changes, change{"group", g, role})
		}
		for _, u := range splitList(p["users"]) {
			if _, _, msg := verifyUsername(u); msg != "" {
				return fail(die("%s", msg))
			}
			if st.users[u] == nil {
				return fail(die("user '%s' does not exist", u))
			}
			changes = append(changes, change{"user", u, role})
		}
		for _, t := range splitList(p["tokens"]) {
			uid, tid, ok := splitTokenID(t)
			if !ok {
				return fail(die("'%s' is not a valid token ID - not able to split into user and token parts", t))
			}
			if e := st.checkUserExist(uid); e != nil {
				return fail(e)
			}
			if u := st.users[uid]; u.tokens == nil || u.tokens[tid] == nil {
				return fail(die("no such token '%s' for user '%s'", tid, uid))
			}
			changes = append(changes, change{"token", t, role})
		}
	}
	for _, ch := range changes {
		n := st.aclNode(path)
		m := n.kind(ch.kind)
		if del {
			if m[ch.id] != nil {
				delete(m[ch.id], ch.role)
				if len(m[ch.id]) == 0 {
					delete(m, ch.id)
				}
			}
		} else {
			if m[ch.id] == nil {
				m[ch.id] = map[string]int64{}
			}
			m[ch.id][ch.role] = propagate
		}
		if len(n.users)+len(n.groups)+len(n.tokens) == 0 {
			delete(st.acl, path)
		}
	}
	return nil, nil
}
