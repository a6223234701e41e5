package sim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// The cluster-wide configuration: what PVE keeps in /etc/pve/domains.cfg
// (realms) and /etc/pve/user.cfg (users, tokens, groups, ACL), plus the
// password and TFA stores. Guarded by Server.mu.

type realm struct {
	id    string
	typ   string
	props map[string]any // string or int64 (booleans/integers are numbers once parsed)
	order int
	// ldapPassword is the bind password of an LDAP/AD realm; PVE keeps it
	// in /etc/pve/priv/realm/<realm>.pw, never in the returned section.
	ldapPassword string
}

type token struct {
	privsep int64
	expire  int64
	comment string
	secret  string
}

type user struct {
	enable    int64
	expire    int64
	firstname string
	lastname  string
	email     string
	comment   string
	keys      string
	tokens    map[string]*token // nil until the first token (user.cfg)
	password  string            // pam/pve realm password ("" = none)
	totp      string            // base32 TOTP secret ("" = no TFA)
}

type group struct {
	comment string
	users   map[string]bool
}

type aclNode struct {
	users  map[string]map[string]int64 // userid -> role -> propagate
	groups map[string]map[string]int64
	tokens map[string]map[string]int64
}

func newACLNode() *aclNode {
	return &aclNode{
		users:  map[string]map[string]int64{},
		groups: map[string]map[string]int64{},
		tokens: map[string]map[string]int64{},
	}
}

func (n *aclNode) kind(t string) map[string]map[string]int64 {
	switch t {
	case "user":
		return n.users
	case "group":
		return n.groups
	default:
		return n.tokens
	}
}

type state struct {
	realms     map[string]*realm
	realmOrder int
	users      map[string]*user
	groups     map[string]*group
	acl        map[string]*aclNode
	roles      map[string]map[string]bool
}

func newState(v Version) *state {
	st := &state{
		realms: map[string]*realm{},
		users:  map[string]*user{"root@pam": {enable: 1}},
		groups: map[string]*group{},
		acl:    map[string]*aclNode{},
		roles:  builtinRoles(v),
	}
	st.ensureBuiltinRealms()
	return st
}

// ensureBuiltinRealms is what PVE::Auth::Plugin::parse_config does on every
// read of domains.cfg: pam and pve always exist, with default comments.
func (st *state) ensureBuiltinRealms() {
	if _, ok := st.realms["pam"]; !ok {
		st.realmOrder++
		st.realms["pam"] = &realm{id: "pam", typ: "pam", props: map[string]any{}, order: st.realmOrder}
	}
	if _, ok := st.realms["pve"]; !ok {
		st.realmOrder++
		st.realms["pve"] = &realm{id: "pve", typ: "pve", props: map[string]any{}, order: st.realmOrder}
	}
	pam := st.realms["pam"]
	pam.typ = "pam"
	pam.props["plugin"] = "PVE::Auth::PAM"
	if c, _ := pam.props["comment"].(string); c == "" {
		pam.props["comment"] = "Linux PAM standard authentication"
	}
	pve := st.realms["pve"]
	pve.typ = "pve"
	if c, _ := pve.props["comment"].(string); c == "" {
		pve.props["comment"] = "Proxmox VE authentication server"
	}
}

// domainsDigest is the SHA-1 of the serialised domains.cfg, the value
// SectionConfig reports as "digest".
func (st *state) domainsDigest() string {
	rs := make([]*realm, 0, len(st.realms))
	for _, r := range st.realms {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].order < rs[j].order })
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s: %s\n", r.typ, r.id)
		keys := make([]string, 0, len(r.props))
		for k := range r.props {
			if k == "plugin" {
				continue
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\t%s %v\n", k, r.props[k])
		}
		b.WriteString("\n")
	}
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func (st *state) userGroups(userid string) []string {
	var out []string
	for g, d := range st.groups {
		if d.users[userid] {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

func (st *state) deleteUserGroups(userid string) {
	for _, g := range st.groups {
		delete(g.users, userid)
	}
}

func (st *state) aclNode(path string) *aclNode {
	n, ok := st.acl[path]
	if !ok {
		n = newACLNode()
		st.acl[path] = n
	}
	return n
}

// splitTokenID is PVE::AccessControl::split_tokenid.
func splitTokenID(id string) (userid, tokenid string, ok bool) {
	m := reTokenid.FindStringSubmatch(id)
	if m == nil {
		return "", "", false
	}
	return m[1], m[4], true
}

// tokenInfo returns the token of a full token id, or nil.
func (st *state) tokenInfo(fullid string) *token {
	uid, tid, ok := splitTokenID(fullid)
	if !ok {
		return nil
	}
	u := st.users[uid]
	if u == nil || u.tokens == nil {
		return nil
	}
	return u.tokens[tid]
}

// normalizePath is PVE::AccessControl::normalize_path ("" = undef).
func normalizePath(p string) string {
	if p == "" {
		return ""
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		p = "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !reACLPathOK.MatchString(p) {
		return ""
	}
	return p
}

// checkACLPath is PVE::AccessControl::check_path (the ACL object paths).
func checkACLPath(p string) bool {
	return reACLPaths.MatchString(p)
}

// reACLPaths is check_path of PVE::AccessControl (source read at
// pve-access-control 6809537), extended by the object paths its changelog
// adds for 8.x: /mapping/... and /sdn/zones/<zone>/<vnet>[/<vlan>]
// (8.0.0~3), nested pools (8.0.7). ASSUMPTION: the exact 8.x/9.x regex
// was not available; only "/" matters to pvesso.
var reACLPaths = regexp.MustCompile(`^(` +
	`/` +
	`|/access` +
	`|/access/groups` +
	`|/access/groups/[[:alnum:]\.\-\_]+` +
	`|/access/realm` +
	`|/access/realm/[[:alnum:]\.\-\_]+` +
	`|/mapping` +
	`|/mapping/[[:alnum:]\.\-\_]+` +
	`|/mapping/[[:alnum:]\.\-\_]+/[[:alnum:]\.\-\_]+` +
	`|/nodes` +
	`|/nodes/[[:alnum:]\.\-\_]+` +
	`|/pool` +
	`|/pool/[[:alnum:]\.\-\_]+(/[[:alnum:]\.\-\_]+){0,2}` +
	`|/sdn` +
	`|/sdn/zones/[[:alnum:]\.\-\_]+` +
	`|/sdn/zones/[[:alnum:]\.\-\_]+/[[:alnum:]\.\-\_]+(/[1-9][0-9]{0,3})?` +
	`|/sdn/vnets/[[:alnum:]\.\-\_]+` +
	`|/storage` +
	`|/storage/[[:alnum:]\.\-\_]+` +
	`|/vms` +
	`|/vms/[1-9][0-9]{2,}` +
	`)$`)
