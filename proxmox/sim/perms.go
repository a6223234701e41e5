package sim

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Effective permissions, read from pve-access-control
// src/PVE/AccessControl.pm (roles) and src/PVE/RPCEnvironment.pm
// (permissions, compute_api_permission, exec_api2_perm_check). Pools are
// not simulated.

// roles is PVE::AccessControl::roles: walk the ACL paths from / down to
// path; at each level token ACLs, then user ACLs, then group ACLs replace
// what was collected above (only entries with propagate, or on path
// itself, count); NoAccess wins.
func (st *state) rolesOf(authid, path string) map[string]int64 {
	if strings.Contains(authid, "!") {
		uid, _, _ := splitTokenID(authid)
		tok := st.tokenInfo(authid)
		if tok == nil {
			return map[string]int64{}
		}
		if tok.privsep == 0 {
			return st.rolesOf(uid, path)
		}
	}
	paths := make([]string, 0, len(st.acl))
	for p := range st.acl {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	roles := map[string]int64{}
	for _, p := range paths {
		final := p == path
		if !(p == "/" || final || strings.HasPrefix(path, p+"/")) {
			continue
		}
		n := st.acl[p]
		collect := func(ri map[string]int64) map[string]int64 {
			var out map[string]int64
			for role, prop := range ri {
				if final || prop != 0 {
					if out == nil {
						out = map[string]int64{}
					}
					out[role] = prop
				}
			}
			return out
		}
		if nw := collect(n.tokens[authid]); nw != nil {
			roles = nw
			continue
		}
		if nw := collect(n.users[authid]); nw != nil {
			roles = nw
			continue
		}
		var nw map[string]int64
		for g, ri := range n.groups {
			if grp := st.groups[g]; grp == nil || !grp.users[authid] {
				continue
			}
			for role, prop := range collect(ri) {
				if nw == nil {
					nw = map[string]int64{}
				}
				nw[role] = prop
			}
		}
		if nw != nil {
			roles = nw
		}
	}
	if prop, ok := roles["NoAccess"]; ok {
		return map[string]int64{"NoAccess": prop}
	}
	return roles
}

// permissions is RPCEnvironment::permissions: privilege -> propagate flag.
// A privilege-separated token gets the intersection of its own ACL privileges
// and its owner's.
func (st *state) permissions(authid, path string) map[string]int64 {
	if authid == "root@pam" {
		out := map[string]int64{}
		for p := range st.roles["Administrator"] {
			out[p] = 1
		}
		return out
	}
	if path == "" {
		return map[string]int64{}
	}
	var owner string
	if strings.Contains(authid, "!") {
		uid, _, ok := splitTokenID(authid)
		tok := st.tokenInfo(authid)
		if !ok || tok == nil {
			return map[string]int64{}
		}
		if tok.privsep == 0 {
			return st.permissions(uid, path)
		}
		owner = uid
	} else if _, _, msg := verifyUsername(authid); msg != "" {
		return map[string]int64{}
	}
	privs := map[string]int64{}
	for role, prop := range st.rolesOf(authid, path) {
		for p := range st.roles[role] {
			if old, ok := privs[p]; !ok || (old == 0 && prop != 0) {
				privs[p] = prop
			}
		}
	}
	if owner != "" && owner != "root@pam" {
		up := st.permissions(owner, path)
		out := map[string]int64{}
		for p, prop := range privs {
			if uprop, ok := up[p]; ok {
				v := int64(0)
				if uprop != 0 && prop != 0 {
					v = 1
				}
				out[p] = v
			}
		}
		privs = out
	}
	return privs
}

func (st *state) check(authid, path string, privs []string) *apiError {
	perm := st.permissions(authid, path)
	for _, p := range privs {
		if _, ok := perm[p]; !ok {
			return permExc(path + ", " + p)
		}
	}
	return nil
}

func (st *state) checkAny(authid, path string, privs []string) *apiError {
	perm := st.permissions(authid, path)
	for _, p := range privs {
		if _, ok := perm[p]; ok {
			return nil
		}
	}
	return permExc(path + ", " + strings.Join(privs, "|"))
}

// checkPermModify is RPCEnvironment::check_perm_modify.
func (st *state) checkPermModify(authid, path string) *apiError {
	if path == "" {
		return st.check(authid, "/access", []string{"Permissions.Modify"})
	}
	test := []string{"Permissions.Modify"}
	switch {
	case strings.HasPrefix(path, "/storage/") && len(path) > len("/storage/"):
		test = append(test, "Datastore.Allocate")
	case strings.HasPrefix(path, "/vms/") && len(path) > len("/vms/"):
		test = append(test, "VM.Allocate")
	case strings.HasPrefix(path, "/pool/") && len(path) > len("/pool/"):
		test = append(test, "Pool.Allocate")
	}
	return st.checkAny(authid, path, test)
}

// filterGroups returns the groups on whose /access/groups/<g> authid holds
// any of privs.
func (st *state) filterGroups(authid string, privs []string) map[string]bool {
	out := map[string]bool{}
	for g := range st.groups {
		if st.checkAny(authid, "/access/groups/"+g, privs) == nil {
			out[g] = true
		}
	}
	return out
}

func (st *state) checkUserExist(userid string) *apiError {
	if _, _, msg := verifyUsername(userid); msg != "" {
		return die("%s", msg)
	}
	if st.users[userid] == nil {
		return die("no such user ('%s')", userid)
	}
	return nil
}

// checkUserEnabled is PVE::AccessControl::check_user_enabled.
func (st *state) checkUserEnabled(userid string, now int64) *apiError {
	if e := st.checkUserExist(userid); e != nil {
		return e
	}
	u := st.users[userid]
	if u.enable == 0 {
		return die("user '%s' is disabled", userid)
	}
	if u.expire != 0 && u.expire < now {
		return die("user '%s' access expired", userid)
	}
	return nil
}

var reTemplate = regexp.MustCompile(`\{([^}]+)\}`)

// execCheck interprets a permission check of the schema's "permissions"
// section like RPCEnvironment::exec_api2_perm_check. ok=false with a nil
// error is a silent "no" (noerr); errors are the exceptions it raises.
func (st *state) execCheck(check []any, authid string, params map[string]string, noerr bool) (bool, *apiError) {
	if len(check) == 0 {
		return false, die("no permission test specified")
	}
	test, _ := check[0].(string)
	fail := func(e *apiError) (bool, *apiError) {
		if noerr {
			return false, nil
		}
		return false, e
	}
	switch test {
	case "and":
		for _, sub := range check[1:] {
			sc, _ := sub.([]any)
			if _, err := st.execCheck(sc, authid, params, false); err != nil {
				return false, err
			}
		}
		return true, nil
	case "or":
		for _, sub := range check[1:] {
			sc, _ := sub.([]any)
			if ok, _ := st.execCheck(sc, authid, params, true); ok {
				return true, nil
			}
		}
		return fail(permExc(""))
	case "perm":
		if len(check) < 3 {
			return false, die("missing parameters")
		}
		tmpl, _ := check[1].(string)
		privs := strList(check[2])
		opts := map[string]any{}
		for i := 3; i+1 < len(check); i += 2 {
			if k, ok := check[i].(string); ok {
				opts[k] = check[i+1]
			}
		}
		if rp, ok := opts["require_param"].(string); ok {
			if _, has := params[rp]; !has {
				return fail(permExc(""))
			}
		}
		path := normalizePath(templateReplace(tmpl, params))
		var err *apiError
		if truthy(opts["any"]) {
			err = st.checkAny(authid, path, privs)
		} else {
			err = st.check(authid, path, privs)
		}
		if err != nil {
			return fail(err)
		}
		return true, nil
	case "userid-group":
		privs := strList(check[1])
		opts := map[string]any{}
		for i := 2; i+1 < len(check); i += 2 {
			if k, ok := check[i].(string); ok {
				opts[k] = check[i+1]
			}
		}
		gp, _ := opts["groups_param"].(string)
		checkExisting := gp != "create"
		userid := params["userid"]
		if checkExisting {
			if e := st.checkUserExist(userid); e != nil {
				return fail(e)
			}
		}
		if st.checkAny(authid, "/access/groups", privs) != nil {
			groups := st.filterGroups(authid, privs)
			if gp != "" {
				gl := splitList(params["groups"])
				if len(gl) == 0 {
					return false, permExc("/access/groups, " + strings.Join(privs, "|"))
				}
				for _, g := range gl {
					if !groups[g] {
						return false, permExc("/access/groups/" + g + ", " + strings.Join(privs, "|"))
					}
				}
			}
			if checkExisting {
				allowed := false
				for g := range groups {
					if st.groups[g] != nil && st.groups[g].users[userid] {
						allowed = true
						break
					}
				}
				if !allowed {
					return fail(permExc(""))
				}
			}
		}
		return true, nil
	case "userid-param":
		_, realm, msg := verifyUsername(params["userid"])
		if msg != "" {
			return false, die("%s", msg)
		}
		sub, _ := check[1].(string)
		switch sub {
		case "self":
			if e := st.checkUserExist(params["userid"]); e != nil {
				return fail(e)
			}
			if authid == params["userid"] {
				return true, nil
			}
			return fail(permExc(""))
		case "Realm.AllocateUser":
			if e := st.check(authid, "/access/realm/"+realm, []string{"Realm.AllocateUser"}); e != nil {
				return fail(e)
			}
			return true, nil
		}
		return false, die("unknown userid-param test")
	case "perm-modify":
		tmpl, _ := check[1].(string)
		path := normalizePath(templateReplace(tmpl, params))
		if path == "" {
			// "should already die in API2::ACL": the handler rejects the path
			return false, nil
		}
		if e := st.checkPermModify(authid, path); e != nil {
			return fail(e)
		}
		return true, nil
	}
	return false, die("unknown permission test")
}

// checkAPI2 is RPCEnvironment::check_api2_permissions.
func (st *state) checkAPI2(perm permSpec, authid string, params map[string]string) *apiError {
	if authid == "" && perm.User == "world" {
		return nil
	}
	if authid == "" {
		return permExc("user != null")
	}
	if authid == "root@pam" {
		return nil
	}
	if perm.User == "all" {
		return nil
	}
	if len(perm.Check) > 0 {
		_, err := st.execCheck(perm.Check, authid, params, false)
		return err
	}
	return permExc("")
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// templateReplace is PVE::Tools::template_replace ("/vms/{vmid}").
func templateReplace(tmpl string, params map[string]string) string {
	return reTemplate.ReplaceAllStringFunc(tmpl, func(m string) string {
		return params[m[1:len(m)-1]]
	})
}

// effectivePermissions is RPCEnvironment::get_effective_permissions.
func (st *state) effectivePermissions(authid string) map[string]map[string]int64 {
	paths := map[string]bool{"/": true, "/access": true, "/access/groups": true, "/nodes": true,
		"/pool": true, "/sdn": true, "/storage": true, "/vms": true}
	for p := range st.acl {
		paths[p] = true
	}
	out := map[string]map[string]int64{}
	for p := range paths {
		if perms := st.permissions(authid, p); len(perms) > 0 {
			out[p] = perms
		}
	}
	return out
}

// computeCap is RPCEnvironment::compute_api_permission, the "cap" of a
// ticket answer.
var (
	capRE = map[string]*regexp.Regexp{
		"vms":     regexp.MustCompile(`^(VM\.|Permissions\.Modify)`),
		"access":  regexp.MustCompile(`^((User|Group)\.|Permissions\.Modify)`),
		"storage": regexp.MustCompile(`^(Datastore\.|Permissions\.Modify)`),
		"nodes":   regexp.MustCompile(`^(Sys\.|Permissions\.Modify)`),
		"sdn":     regexp.MustCompile(`^(SDN\.|Permissions\.Modify)`),
		"dc":      regexp.MustCompile(`^(Sys\.Audit|Sys\.Modify|SDN\.)`),
		"mapping": regexp.MustCompile(`^(Mapping\.|Permissions.Modify)`),
	}
	reTop = regexp.MustCompile(`^/(\w+)`)
)

func (st *state) computeCap(authid string) map[string]map[string]int {
	reMap := capRE
	res := map[string]map[string]int{}
	for k := range reMap {
		res[k] = map[string]int{}
	}
	paths := []string{"/", "/nodes", "/access/groups", "/vms", "/storage", "/sdn", "/mapping"}
	defined := make([]string, 0, len(st.acl))
	for p := range st.acl {
		defined = append(defined, p)
	}
	sort.Strings(defined)
	paths = append(paths, defined...)
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		perms := st.permissions(authid, p)
		top := "dc"
		if m := reTop.FindStringSubmatch(p); m != nil {
			top = m[1]
		}
		if top == "pool" {
			for priv := range perms {
				switch {
				case strings.HasPrefix(priv, "VM."):
					res["vms"][priv] = 1
				case strings.HasPrefix(priv, "Datastore."):
					res["storage"][priv] = 1
				case priv == "Permissions.Modify":
					res["storage"][priv] = 1
					res["vms"][priv] = 1
				}
			}
			continue
		}
		re, ok := reMap[top]
		if !ok {
			continue
		}
		for priv := range perms {
			if re.MatchString(priv) {
				res[top][priv] = 1
			}
		}
	}
	return res
}
