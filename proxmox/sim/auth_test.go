package sim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	pvesim "github.com/pvesso/pvesso/proxmox/sim"
)

func TestUnauthenticatedCallsGet401WithoutBody(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	r := p.do("GET", "/version", nil, noAuth)
	p.want(r, 401, "No ticket")
	if len(r.Raw) != 0 {
		t.Fatalf("auth failures have no body, got %q", r.Raw)
	}
	p.want(p.do("GET", "/version", nil, ticket("PVE:root@pam:00000000::Zm9v", "")), 401, "permission denied - invalid PVE ticket")
}

func TestAPITokenErrors(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	id, _, _ := strings.Cut(p.root, "=")
	cases := []struct{ spec, reason string }{
		{id + "=00000000-0000-0000-0000-000000000000", "invalid token value!"},
		{"root@pam!nope=x", "no such token 'nope' for user 'root@pam'"},
		{"ghost@pve!tk=x", "no such user ('ghost@pve')"},
		{"root@pam=x", "'root@pam' is not a valid token ID - not able to split into user and token parts"},
		{"root@pam!pvesso", "no tokenid specified"},
	}
	for _, c := range cases {
		p.want(p.do("GET", "/version", nil, token(c.spec)), 401, c.reason)
	}
	// the header also accepts a space instead of the first '='
	r := p.do("GET", "/version", nil, func(r *http.Request) { r.Header.Set("Authorization", "PVEAPIToken "+p.root) })
	p.ok(r)
	// a disabled owner disables the token
	spec := p.s.CreateToken("bob@pve", "ci", false)
	p.ok(p.do("PUT", "/access/users/bob@pve", vals("enable", "0"), token(p.root)))
	p.want(p.do("GET", "/version", nil, token(spec)), 401, "user 'bob@pve' is disabled")
}

func TestTicketLoginCSRFAndRenewal(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	r := p.do("POST", "/access/ticket", vals("username", "root@pam", "password", "wrong"), noAuth)
	p.want(r, 401, "authentication failure")
	if len(p.s.Log()) == 0 || !strings.Contains(p.s.Log()[len(p.s.Log())-1], "authentication failure; rhost=127.0.0.1 user=root@pam") {
		t.Fatalf("the reason goes to the node log: %v", p.s.Log())
	}
	// user@realm or user + realm
	d := p.ok(p.do("POST", "/access/ticket", vals("username", "root", "realm", "pam", "password", p.s.RootPassword()), noAuth)).dataMap()
	tk, csrf := d["ticket"].(string), d["CSRFPreventionToken"].(string)
	if d["username"] != "root@pam" || !strings.HasPrefix(tk, "PVE:root@pam:") || !strings.Contains(tk, "::") || len(strings.Split(csrf, ":")[0]) != 8 {
		t.Fatalf("ticket answer %v", d)
	}
	capa, _ := d["cap"].(map[string]any)
	access, _ := capa["access"].(map[string]any)
	if access["Group.Allocate"] != float64(1) || access["User.Modify"] != float64(1) || access["Permissions.Modify"] != float64(1) {
		t.Fatalf("cap.access = %v", capa["access"])
	}
	if _, ok := d["clustername"]; ok {
		t.Fatal("standalone nodes report no cluster name")
	}
	// GET needs only the cookie; writes need the CSRF token too
	p.ok(p.do("GET", "/access/groups", nil, ticket(tk, "")))
	p.want(p.do("POST", "/access/groups", vals("groupid", "admin"), ticket(tk, "")), 401, "Permission denied - invalid csrf token")
	p.want(p.do("POST", "/access/groups", vals("groupid", "admin"), ticket(tk, "00000000:bogus")), 401, "Permission denied - invalid csrf token")
	p.ok(p.do("POST", "/access/groups", vals("groupid", "admin"), ticket(tk, csrf)))
	// the ticket also works in the Authorization header
	p.ok(p.do("GET", "/access/groups", nil, func(r *http.Request) { r.Header.Set("Authorization", "PVEAuthCookie="+url.QueryEscape(tk)) }))
	// renewal: the ticket as password
	d2 := p.ok(p.do("POST", "/access/ticket", vals("username", "root@pam", "password", tk), noAuth)).dataMap()
	if d2["ticket"] == "" {
		t.Fatal("no renewed ticket")
	}
	// a user's ticket only renews that user
	p.s.SetUserPassword("carol@pve", "carol-password")
	ctk, _ := p.login("carol@pve", "carol-password")
	p.want(p.do("POST", "/access/ticket", vals("username", "dave@pve", "password", ctk), noAuth), 401, "authentication failure")
	// API tokens cannot create tickets
	p.want(p.do("POST", "/access/ticket", vals("username", "root@pam", "password", "x"), token(p.root)), 403,
		"Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.")
	// OpenID users cannot log in with a password
	p.openidRealm("authentik", "https://127.0.0.1:1/application/o/pve/")
	p.s.SetUserPassword("alice@example.com@authentik", "whatever1")
	p.want(p.do("POST", "/access/ticket", vals("username", "alice@example.com@authentik", "password", "whatever1"), noAuth), 401, "authentication failure")
	logs := p.s.Log()
	if !strings.Contains(logs[len(logs)-1], "OpenID realm does not allow password verification.") {
		t.Fatalf("log %v", logs[len(logs)-1])
	}
}

func TestTicketExpiry(t *testing.T) {
	t.Parallel()
	var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := startPVE(t, pvesim.Options{Now: clock})
	tk, _ := p.login("root@pam", p.s.RootPassword())
	now = now.Add(119 * time.Minute)
	p.ok(p.do("GET", "/version", nil, ticket(tk, "")))
	now = now.Add(2 * time.Minute)
	p.want(p.do("GET", "/version", nil, ticket(tk, "")), 401, "permission denied - invalid PVE ticket")
}

func TestTOTPTwoStepLogin(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	const secret = "JBSWY3DPEHPK3PXP"
	p.s.SetUserPassword("eve@pve", "eve-password")
	p.s.SetTOTP("eve@pve", secret)

	d := p.ok(p.do("POST", "/access/ticket", vals("username", "eve@pve", "password", "eve-password"), noAuth)).dataMap()
	if d["NeedTFA"] != float64(1) || d["cap"] != nil {
		t.Fatalf("step 1 = %v, want NeedTFA and no cap", d)
	}
	half := d["ticket"].(string)
	if !strings.HasPrefix(half, `PVE:!tfa!{"totp"%3Atrue}:`) {
		t.Fatalf("challenge ticket %q", half)
	}
	// the half ticket is no session
	p.want(p.do("GET", "/version", nil, ticket(half, "")), 401, "permission denied - invalid PVE ticket")
	// wrong code, otp together with tfa-challenge
	p.want(p.do("POST", "/access/ticket", vals("username", "eve@pve", "tfa-challenge", half, "password", "totp:000000"), noAuth), 401, "authentication failure")
	p.want(p.do("POST", "/access/ticket", vals("username", "eve@pve", "tfa-challenge", half, "password", "totp:"+p.s.TOTPCode(secret), "otp", "1"), noAuth), 401, "authentication failure")
	// a challenge of another user does not fit
	p.s.SetUserPassword("mallory@pve", "mallory-password")
	p.want(p.do("POST", "/access/ticket", vals("username", "mallory@pve", "tfa-challenge", half, "password", "totp:"+p.s.TOTPCode(secret)), noAuth), 401, "authentication failure")
	// the right code gives a full ticket with cap
	d2 := p.ok(p.do("POST", "/access/ticket", vals("username", "eve@pve", "tfa-challenge", half, "password", "totp:"+p.s.TOTPCode(secret)), noAuth)).dataMap()
	if d2["NeedTFA"] != nil || d2["cap"] == nil || !strings.HasPrefix(d2["ticket"].(string), "PVE:eve@pve:") {
		t.Fatalf("step 2 = %v", d2)
	}
	p.ok(p.do("GET", "/version", nil, ticket(d2["ticket"].(string), "")))
	// a one-step otp is checked but the challenge still comes back
	d3 := p.ok(p.do("POST", "/access/ticket", vals("username", "eve@pve", "password", "eve-password", "otp", "totp:"+p.s.TOTPCode(secret)), noAuth)).dataMap()
	if d3["NeedTFA"] != float64(1) {
		t.Fatalf("one-step otp = %v", d3)
	}
	p.want(p.do("POST", "/access/ticket", vals("username", "eve@pve", "password", "eve-password", "otp", "totp:111111"), noAuth), 401, "authentication failure")
}

func TestPrivsepTokenHasNoRightsWithoutItsOwnACL(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	sep := p.s.CreateToken("root@pam", "sep", true)
	realm := vals("realm", "authentik", "type", "openid", "issuer-url", "https://127.0.0.1:1/", "client-id", "c")
	p.want(p.do("POST", "/access/domains", realm, token(sep)), 403, "Permission check failed (/access/realm, Realm.Allocate)")
	p.want(p.do("GET", "/cluster/status", nil, token(sep)), 403, "Permission check failed (/, Sys.Audit)")
	// its own ACL grants it
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "tokens", "root@pam!sep", "roles", "Administrator"), token(p.root)))
	p.ok(p.do("POST", "/access/domains", realm, token(sep)))

	// a privsep token of a normal user: the intersection of user and token rights
	p.ok(p.do("POST", "/access/users", vals("userid", "ops@pve"), token(p.root)))
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "users", "ops@pve", "roles", "PVEAuditor"), token(p.root)))
	opsTok := p.s.CreateToken("ops@pve", "tk", true)
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "tokens", "ops@pve!tk", "roles", "Administrator"), token(p.root)))
	perm := p.ok(p.do("GET", "/access/permissions", vals("path", "/"), token(opsTok))).dataMap()["/"].(map[string]any)
	if _, ok := perm["Sys.Audit"]; !ok {
		t.Fatalf("token lost Sys.Audit: %v", perm)
	}
	if _, ok := perm["Realm.Allocate"]; ok {
		t.Fatalf("token got more than its user: %v", perm)
	}
	p.want(p.do("POST", "/access/domains", vals("realm", "x1", "type", "openid", "issuer-url", "https://x/", "client-id", "c"), token(opsTok)),
		403, "Permission check failed (/access/realm, Realm.Allocate)")
	// privsep=0: exactly the user's rights
	full := p.s.CreateToken("ops@pve", "full", false)
	perm2 := p.ok(p.do("GET", "/access/permissions", vals("path", "/"), token(full))).dataMap()["/"].(map[string]any)
	if len(perm2) != len(perm) {
		t.Fatalf("privsep=0 token %v vs user-bounded privsep token %v", perm2, perm)
	}
}

func TestPermissionChecksNameThePrivilege(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	p.s.SetUserPassword("nobody@pve", "nobody-password")
	tk, csrf := p.login("nobody@pve", "nobody-password")
	a := ticket(tk, csrf)
	p.want(p.do("POST", "/access/domains", vals("realm", "r1", "type", "openid", "issuer-url", "https://x/", "client-id", "c"), a),
		403, "Permission check failed (/access/realm, Realm.Allocate)")
	p.want(p.do("GET", "/access/domains/pam", nil, a), 403, "Permission check failed (/access/realm, Realm.Allocate|Sys.Audit)")
	p.want(p.do("POST", "/access/groups", vals("groupid", "admin"), a), 403, "Permission check failed (/access/groups, Group.Allocate)")
	p.want(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator"), a), 403, "Permission check failed (/, Permissions.Modify)")
	p.want(p.do("GET", "/cluster/status", nil, a), 403, "Permission check failed (/, Sys.Audit)")
	p.want(p.do("POST", "/access/users", vals("userid", "x@pve"), a), 403, "Permission check failed (/access/realm/pve, Realm.AllocateUser)")
	// the permission check comes before parameter verification
	p.want(p.do("POST", "/access/groups", vals("groupid", "bad group", "junk", "1"), a), 403, "Permission check failed (/access/groups, Group.Allocate)")
	// lists are filtered, not refused
	p.ok(p.do("POST", "/access/groups", vals("groupid", "admin"), token(p.root)))
	if l := p.ok(p.do("GET", "/access/groups", nil, a)).dataList(); len(l) != 0 {
		t.Fatalf("groups visible without rights: %v", l)
	}
	if l := p.ok(p.do("GET", "/access/users", nil, a)).dataList(); len(l) != 1 || l[0]["userid"] != "nobody@pve" {
		t.Fatalf("users list must contain only the caller: %v", l)
	}
	// the same user in an admin group with Administrator on / may do all of it
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "groups", "admin", "roles", "Administrator"), token(p.root)))
	p.ok(p.do("PUT", "/access/users/nobody@pve", vals("groups", "admin", "append", "1"), token(p.root)))
	p.ok(p.do("POST", "/access/domains", vals("realm", "r1", "type", "openid", "issuer-url", "https://x/", "client-id", "c"), a))
	p.ok(p.do("GET", "/cluster/status", nil, a))
	// NoAccess on a deeper path wins
	p.ok(p.do("PUT", "/access/acl", vals("path", "/access", "users", "nobody@pve", "roles", "NoAccess"), token(p.root)))
	p.want(p.do("POST", "/access/groups", vals("groupid", "g2"), a), 403, "Permission check failed (/access/groups, Group.Allocate)")
}

func TestPermissionsEndpoint(t *testing.T) {
	t.Parallel()
	p := startPVE(t, pvesim.Options{})
	root := p.ok(p.do("GET", "/access/permissions", vals("path", "/"), token(p.root))).dataMap()["/"].(map[string]any)
	for _, priv := range []string{"Realm.Allocate", "Realm.AllocateUser", "Permissions.Modify", "Group.Allocate", "User.Modify", "Sys.Audit"} {
		if root[priv] != float64(1) {
			t.Errorf("root lacks %s: %v", priv, root)
		}
	}
	p.ok(p.do("POST", "/access/users", vals("userid", "aud@pve"), token(p.root)))
	p.ok(p.do("PUT", "/access/acl", vals("path", "/", "users", "aud@pve", "roles", "PVEAuditor", "propagate", "0"), token(p.root)))
	// another user's permissions need Sys.Audit on /access
	tree := p.ok(p.do("GET", "/access/permissions", vals("userid", "aud@pve"), token(p.root))).dataMap()
	if sa := tree["/"].(map[string]any)["Sys.Audit"]; sa != float64(0) {
		t.Fatalf("propagate flag of a non-propagating ACL = %v", sa)
	}
	if _, ok := tree["/access"]; ok {
		t.Fatalf("non-propagating ACL leaked to /access: %v", tree)
	}
	p.s.SetUserPassword("aud@pve", "aud-password1")
	tk, _ := p.login("aud@pve", "aud-password1")
	p.ok(p.do("GET", "/access/permissions", nil, ticket(tk, "")))
	p.want(p.do("GET", "/access/permissions", vals("userid", "root@pam"), ticket(tk, "")), 403, "Permission check failed (/access, Sys.Audit)")
	if d := p.ok(p.do("GET", "/access/permissions", vals("path", "/vms/100"), ticket(tk, ""))).dataMap(); len(d["/vms/100"].(map[string]any)) != 0 {
		t.Fatalf("a path without rights maps to an empty object: %v", d)
	}
}
