package sim_test

import (
	"reflect"
	"strings"
	"testing"

	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

func TestGroups(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	root := token(p.root)
	p.ok(p.do("POST", "/access/groups", vals("groupid", "admin", "comment", "System Administrators"), root))
	p.want(p.do("POST", "/access/groups", vals("groupid", "admin"), root), 500, "create group failed: group 'admin' already exists")
	// (':' is refused from 9.1 on; 8.4–9.0 let it through, see TestGroupNameValidationPerVersion)
	p.wantErr(p.do("POST", "/access/groups", vals("groupid", "a b"), root), "groupid", "invalid format - group name 'a b' contains invalid characters\n")
	p.ok(p.do("POST", "/access/groups", vals("groupid", "empty"), root))
	l := p.ok(p.do("GET", "/access/groups", nil, root)).dataList()
	if len(l) != 2 || l[0]["groupid"] != "admin" || l[0]["comment"] != "System Administrators" || l[0]["users"] != "" {
		t.Fatalf("groups = %v", l)
	}
	p.ok(p.do("POST", "/access/users", vals("userid", "bob@pve", "groups", "admin"), root))
	p.ok(p.do("POST", "/access/users", vals("userid", "amy@pve", "groups", "admin"), root))
	d := p.ok(p.do("GET", "/access/groups/admin", nil, root)).dataMap()
	if !reflect.DeepEqual(d["members"], []any{"amy@pve", "bob@pve"}) || d["comment"] != "System Administrators" {
		t.Fatalf("group = %v", d)
	}
	if l := p.ok(p.do("GET", "/access/groups", nil, root)).dataList(); l[0]["users"] != "amy@pve,bob@pve" {
		t.Fatalf("users = %v", l[0]["users"])
	}
	p.ok(p.do("PUT", "/access/groups/admin", vals("comment", "admins"), root))
	p.want(p.do("PUT", "/access/groups/nope", vals("comment", "x"), root), 500, "update group failed: group 'nope' does not exist")
	p.want(p.do("GET", "/access/groups/nope", nil, root), 500, "group 'nope' does not exist")
	// deleting a group drops its memberships and ACL entries
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator"), root))
	p.ok(p.do("DELETE", "/access/groups/admin", nil, root))
	p.want(p.do("DELETE", "/access/groups/admin", nil, root), 500, "delete group failed: group 'admin' does not exist")
	if len(p.s.ACL()) != 0 {
		t.Fatalf("ACL left: %v", p.s.ACL())
	}
	if g := p.ok(p.do("GET", "/access/users/bob@pve", nil, root)).dataMap()["groups"]; !reflect.DeepEqual(g, []any{}) {
		t.Fatalf("bob's groups %v", g)
	}
}

func TestACL(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	root := token(p.root)
	p.ok(p.do("POST", "/access/groups", vals("groupid", "admin"), root))
	grant := vals("path", "/", "groups", "admin", "roles", "Administrator")
	p.ok(p.do("PUT", "/access/acl", grant, root))
	p.ok(p.do("PUT", "/access/acl", grant, root)) // idempotent
	l := p.ok(p.do("GET", "/access/acl", nil, root)).dataList()
	if len(l) != 1 || l[0]["path"] != "/" || l[0]["type"] != "group" || l[0]["ugid"] != "admin" ||
		l[0]["roleid"] != "Administrator" || l[0]["propagate"] != float64(1) {
		t.Fatalf("acl = %v", l)
	}
	// re-adding only resets propagate
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator", "propagate", "0"), root))
	if l := p.ok(p.do("GET", "/access/acl", nil, root)).dataList(); len(l) != 1 || l[0]["propagate"] != float64(0) {
		t.Fatalf("acl = %v", l)
	}
	msg := "either 'users', 'groups' or 'tokens' is required."
	r := p.do("PUT", "/access/acl", vals("path", "/", "roles", "Administrator"), root)
	p.want(r, 400, "Parameter verification failed.")
	if r.Errors["users"] != msg || r.Errors["groups"] != msg || r.Errors["tokens"] != msg {
		t.Fatalf("errors %v", r.Errors)
	}
	p.wantErr(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin"), root), "roles", "property is missing and it is not optional")
	p.wantErr(p.do("PUT", "/access/acl", vals("path", "/nonsense", "groups", "admin", "roles", "Administrator"), root), "path", "invalid ACL path '/nonsense'")
	p.want(p.do("PUT", "/access/acl", vals("path", "/", "groups", "ghosts", "roles", "Administrator"), root), 500, "ACL update failed: group 'ghosts' does not exist")
	p.want(p.do("PUT", "/access/acl", vals("path", "/", "users", "ghost@pve", "roles", "Administrator"), root), 500, "ACL update failed: user 'ghost@pve' does not exist")
	p.want(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Superuser"), root), 500, "ACL update failed: role 'Superuser' does not exist")
	p.want(p.do("PUT", "/access/acl", vals("path", "/", "tokens", "root@pam!none", "roles", "Administrator"), root), 500, "ACL update failed: no such token 'none' for user 'root@pam'")
	p.ok(p.do("PUT", "/access/acl", vals("path", "/vms/100", "groups", "admin", "roles", "PVEVMUser"), root))
	// delete
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator", "delete", "1"), root))
	if a := p.s.ACL(); len(a) != 1 || a[0].Path != "/vms/100" {
		t.Fatalf("acl after delete %v", a)
	}
	// without Permissions.Modify a user may only hand out a subset of its own privileges
	p.ok(p.do("POST", "/access/users", vals("userid", "vmadmin@pve"), root))
	p.ok(p.do("PUT", "/access/acl", vals("path", "/vms/100", "users", "vmadmin@pve", "roles", "PVEVMAdmin"), root))
	p.s.SetUserPassword("vmadmin@pve", "vmadmin-pass")
	tk, csrf := p.login("vmadmin@pve", "vmadmin-pass")
	p.ok(p.do("PUT", "/access/acl", vals("path", "/vms/100", "groups", "admin", "roles", "PVEVMUser", "propagate", "0"), ticket(tk, csrf)))
	r = p.do("PUT", "/access/acl", vals("path", "/vms/100", "groups", "admin", "roles", "Administrator"), ticket(tk, csrf))
	p.want(r, 500, "ACL update failed: 400 Parameter verification failed.")
	if !strings.Contains(r.Message.(string), "role: Cannot add role 'Administrator' - requires 'Permissions.Modify' or superset of privileges.") {
		t.Fatalf("message %q", r.Message)
	}
	// the ACL list is filtered to paths the caller may modify
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "PVEAuditor"), root))
	if l := p.ok(p.do("GET", "/access/acl", nil, ticket(tk, ""))).dataList(); len(l) != 2 || len(p.s.ACL()) != 3 {
		t.Fatalf("vmadmin sees %v", l)
	}
	p.want(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "PVEVMUser"), ticket(tk, csrf)), 403, "Permission check failed (/, Permissions.Modify)")
}

func TestUsers(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	root := token(p.root)
	p.ok(p.do("POST", "/access/groups", vals("groupid", "admin"), root))
	p.ok(p.do("POST", "/access/groups", vals("groupid", "ops"), root))
	alice := "alice@example.com@authentik"
	// OpenID users can be pre-created before the realm exists
	p.ok(p.do("POST", "/access/users", vals("userid", alice, "groups", "ops", "email", "alice@example.com", "firstname", "Alice"), root))
	p.want(p.do("POST", "/access/users", vals("userid", alice), root), 500, "create user failed: user '"+alice+"' already exists")
	p.want(p.do("POST", "/access/users", vals("userid", "bob@pve", "groups", "nope"), root), 500, "create user failed: no such group 'nope'")
	p.want(p.do("POST", "/access/users", vals("userid", "bob@nowhere", "password", "longenough"), root), 500, "create user failed: auth domain 'nowhere' does not exist")
	long := strings.Repeat("a", 50) + "@example.com@authentik" // 72 characters
	// root@pam skips the permission check, so the parameter check answers
	rootTk, rootCSRF := p.login("root@pam", p.s.RootPassword())
	p.wantErr(p.do("POST", "/access/users", vals("userid", long), ticket(rootTk, rootCSRF)), "userid", "invalid format - user name '"+long+"' is too long (72 > 64)\n")
	p.wantErr(p.do("POST", "/access/users", vals("userid", "no-realm"), ticket(rootTk, rootCSRF)), "userid", "invalid format - value 'no-realm' does not look like a valid user name\n")
	// anybody else (even root@pam's token) runs the 'userid-param' permission
	// check first, which dies on the bad user id: HTTP 500
	p.want(p.do("POST", "/access/users", vals("userid", long), root), 500, "user name '"+long+"' is too long (72 > 64)")
	p.wantErr(p.do("POST", "/access/users", vals("userid", "x@pve", "email", "not-an-email"), root), "email", "invalid format - value does not look like a valid email address\n")

	d := p.ok(p.do("GET", "/access/users/"+alice, nil, root)).dataMap()
	if d["enable"] != float64(1) || d["email"] != "alice@example.com" || d["firstname"] != "Alice" ||
		!reflect.DeepEqual(d["groups"], []any{"ops"}) || d["tokens"] != nil {
		t.Fatalf("user = %v", d)
	}
	// groups= replaces, append=1 adds
	p.ok(p.do("PUT", "/access/users/"+alice, vals("groups", "admin", "append", "1"), root))
	if g := p.s.Users()[0].Groups; !reflect.DeepEqual(g, []string{"admin", "ops"}) {
		t.Fatalf("after append %v", g)
	}
	p.ok(p.do("PUT", "/access/users/"+alice, vals("groups", "admin"), root))
	if g := p.s.Users()[0].Groups; !reflect.DeepEqual(g, []string{"admin"}) {
		t.Fatalf("after replace %v", g)
	}
	p.wantErr(p.do("PUT", "/access/users/"+alice, vals("append", "1"), root), "groups", "missing property - 'append' requires this property")
	p.want(p.do("PUT", "/access/users/"+alice, vals("groups", "ghosts", "append", "1"), root), 500, "update user failed: no such group 'ghosts'")
	if g := p.s.Users()[0].Groups; !reflect.DeepEqual(g, []string{"admin"}) {
		t.Fatalf("a failed update changed groups: %v", g)
	}
	p.want(p.do("PUT", "/access/users/ghost@pve", vals("comment", "x"), ticket(rootTk, rootCSRF)), 500, "update user failed: no such user ('ghost@pve')")
	// for everybody but root@pam the permission check ('userid-group') finds it first
	p.want(p.do("PUT", "/access/users/ghost@pve", vals("comment", "x"), root), 500, "no such user ('ghost@pve')")
	p.want(p.do("GET", "/access/users/ghost@pve", nil, root), 500, "no such user ('ghost@pve')")
	// list: groups only with full=1, realm-type when the realm exists
	p.openidRealm("authentik", issuer)
	l := p.ok(p.do("GET", "/access/users", nil, root)).dataList()
	if len(l) != 2 || l[0]["userid"] != alice || l[0]["realm-type"] != "openid" || l[0]["groups"] != nil {
		t.Fatalf("list = %v", l)
	}
	lf := p.ok(p.do("GET", "/access/users", vals("full", "1"), root)).dataList()
	if lf[0]["groups"] != "admin" || lf[1]["userid"] != "root@pam" {
		t.Fatalf("full list = %v", lf)
	}
	if toks, ok := lf[1]["tokens"].([]any); !ok || len(toks) != 1 || toks[0].(map[string]any)["tokenid"] != "pvesso" {
		t.Fatalf("root tokens = %v", lf[1]["tokens"])
	}
	p.ok(p.do("PUT", "/access/users/"+alice, vals("enable", "0"), root))
	if l := p.ok(p.do("GET", "/access/users", vals("enabled", "1"), root)).dataList(); len(l) != 1 {
		t.Fatalf("enabled filter %v", l)
	}
	// delete drops memberships and ACLs
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "users", alice, "roles", "PVEAuditor"), root))
	p.ok(p.do("DELETE", "/access/users/"+alice, nil, root))
	if len(p.s.ACL()) != 0 || len(p.s.Groups()[0].Members) != 0 {
		t.Fatalf("leftovers %v %v", p.s.ACL(), p.s.Groups())
	}
}

func TestTokenEndpoints(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	root := token(p.root)
	p.ok(p.do("POST", "/access/users", vals("userid", "ci@pve"), root))
	d := p.ok(p.do("POST", "/access/users/ci@pve/token/deploy", vals("privsep", "0", "comment", "ci"), root)).dataMap()
	if d["full-tokenid"] != "ci@pve!deploy" || len(d["value"].(string)) != 36 || d["info"].(map[string]any)["privsep"] != float64(0) {
		t.Fatalf("token = %v", d)
	}
	p.ok(p.do("GET", "/version", nil, token("ci@pve!deploy="+d["value"].(string))))
	p.wantErr(p.do("POST", "/access/users/ci@pve/token/deploy", nil, root), "tokenid", "Token already exists.")
	if l := p.ok(p.do("GET", "/access/users/ci@pve/token", nil, root)).dataList(); len(l) != 1 || l[0]["tokenid"] != "deploy" {
		t.Fatalf("tokens = %v", l)
	}
	p.ok(p.do("DELETE", "/access/users/ci@pve/token/deploy", nil, root))
	p.want(p.do("GET", "/version", nil, token("ci@pve!deploy="+d["value"].(string))), 401, "no such token 'deploy' for user 'ci@pve'")
}
