package sim

import (
	"sort"
	"strconv"
	"strings"
)

// /access/domains, read from pve-access-control src/PVE/API2/Domains.pm,
// src/PVE/Auth/{Plugin,OpenId,LDAP,AD}.pm and pve-common's SectionConfig
// (check_config / check_value). Errors inside the domains.cfg lock are
// prefixed "add/update/delete auth server failed: " and are HTTP 500.

// realmOptions are the per-type options() of the auth plugins:
// option -> required. username-claim is "fixed" (create only).
func (s *Server) realmOptions(typ string) map[string]bool {
	switch typ {
	case "openid":
		o := map[string]bool{"issuer-url": true, "client-id": true, "client-key": false, "autocreate": false,
			"username-claim": false, "prompt": false, "scopes": false, "acr-values": false,
			"default": false, "comment": false}
		if s.features.openidGroups {
			for _, k := range []string{"groups-claim", "groups-autocreate", "groups-overwrite", "query-userinfo"} {
				o[k] = false
			}
		}
		if s.features.audiences {
			o["audiences"] = false
		}
		return o
	case "pam", "pve":
		// ASSUMPTION: PAM.pm / PVE.pm options (not read): tfa, default, comment.
		return map[string]bool{"tfa": false, "default": false, "comment": false}
	case "ldap":
		return map[string]bool{"server1": true, "server2": false, "base_dn": true, "bind_dn": false, "password": false,
			"user_attr": true, "port": false, "secure": false, "sslversion": false, "default": false, "comment": false,
			"tfa": false, "verify": false, "capath": false, "cert": false, "certkey": false, "filter": false,
			"sync_attributes": false, "user_classes": false, "group_dn": false, "group_name_attr": false,
			"group_filter": false, "group_classes": false, "sync-defaults-options": false, "mode": false,
			"case-sensitive": false}
	case "ad":
		return map[string]bool{"server1": true, "server2": false, "domain": true, "port": false, "secure": false,
			"sslversion": false, "default": false, "comment": false, "tfa": false, "verify": false, "capath": false,
			"cert": false, "certkey": false, "base_dn": false, "bind_dn": false, "password": false, "user_attr": false,
			"filter": false, "sync_attributes": false, "user_classes": false, "group_dn": false,
			"group_name_attr": false, "group_filter": false, "group_classes": false, "sync-defaults-options": false,
			"mode": false, "case-sensitive": false}
	}
	return nil
}

// checkConfig is SectionConfig::check_config with $skipSchemaCheck (the API
// already validated the values): unknown options of the type die with
// "unexpected property", missing required ones on create with
// "missing value for required option". Booleans/integers become numbers.
// ASSUMPTION: Perl walks the hash in random order; keys are checked sorted.
func (s *Server) checkConfig(typ string, config map[string]string, create bool) (map[string]any, *apiError) {
	opts := s.realmOptions(typ)
	if opts == nil {
		return nil, die("unknown section type '%s'", typ)
	}
	create0 := s.schema["/access/domains"]["POST"]
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	for _, k := range keys {
		v := config[k]
		if k == "type" && v == typ {
			continue
		}
		if !create && k == "username-claim" {
			return nil, die("can't change value of fixed parameter '%s'", k)
		}
		if _, ok := opts[k]; !ok {
			return nil, die("unexpected property '%s'", k)
		}
		// SectionConfig::check_value, before (and regardless of) the
		// skipped schema check: a value must fit on one domains.cfg line
		if strings.ContainsAny(v, "\n\r") {
			return nil, die("property contains a line feed")
		}
		if p := create0.Props[k]; p != nil && (p.Type == "boolean" || p.Type == "integer") {
			n, _ := strconv.ParseInt(v, 10, 64)
			out[k] = n
		} else {
			out[k] = v
		}
	}
	if create {
		req := make([]string, 0)
		for k, r := range opts {
			if r {
				req = append(req, k)
			}
		}
		sort.Strings(req)
		for _, k := range req {
			if _, ok := config[k]; !ok {
				return nil, die("missing value for required option '%s'", k)
			}
		}
	}
	return out, nil
}

func hRealmList(c *call) (any, *apiError) {
	st := c.s.st
	st.ensureBuiltinRealms()
	ids := make([]string, 0, len(st.realms))
	for id := range st.realms {
		ids = append(ids, id)
	}
	// ASSUMPTION: Perl returns hash order; the simulator sorts by id.
	sort.Strings(ids)
	var out []map[string]any
	for _, id := range ids {
		r := st.realms[id]
		e := map[string]any{"realm": id, "type": r.typ}
		if cm, _ := r.props["comment"].(string); cm != "" {
			e["comment"] = cm
		}
		if isTrue(r.props["default"]) {
			e["default"] = 1
		}
		if tfa, _ := r.props["tfa"].(string); tfa != "" {
			for _, part := range strings.Split(tfa, ",") {
				if k, v, ok := strings.Cut(part, "="); ok && k == "type" {
					e["tfa"] = v
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func hRealmCreate(c *call) (any, *apiError) {
	s := c.s
	st := s.st
	fail := func(e *apiError) (any, *apiError) { return nil, wrap("add auth server failed", e) }
	param := copyParams(c.params)
	password, hasPassword := param["password"]
	delete(param, "password")
	id := param["realm"]
	delete(param, "realm")
	typ := param["type"]
	checkConn, hasCheckConn := param["check-connection"]
	delete(param, "check-connection")
	st.ensureBuiltinRealms()
	if st.realms[id] != nil {
		return fail(die("domain '%s' already exists", id))
	}
	if id == "pam" || id == "pve" {
		return fail(die("unable to use reserved name '%s'", id))
	}
	if typ == "pam" || typ == "pve" {
		return fail(die("unable to create builtin type '%s'", typ))
	}
	if hasCheckConn && typ != "ldap" && typ != "ad" {
		return fail(die("'check-connection' parameter can only be set for realms of type 'ldap' or 'ad'"))
	}
	config, e := s.checkConfig(typ, param, true)
	if e != nil {
		return fail(e)
	}
	if checkConn == "1" {
		// ASSUMPTION: no LDAP server is simulated, so a bind check fails.
		return fail(die("check connection failed: LDAP servers are not simulated"))
	}
	if isTrue(config["default"]) {
		for _, r := range st.realms {
			delete(r.props, "default")
		}
	}
	st.realmOrder++
	r := &realm{id: id, typ: typ, props: config, order: st.realmOrder}
	if hasPassword && (typ == "ldap" || typ == "ad") {
		r.ldapPassword = password
	}
	st.realms[id] = r
	return nil, nil
}

func hRealmRead(c *call) (any, *apiError) {
	st := c.s.st
	st.ensureBuiltinRealms()
	id := c.params["realm"]
	r := st.realms[id]
	if r == nil {
		return nil, die("domain '%s' does not exist", id)
	}
	// The stored section as is (Domains.pm `read`): type, every option set —
	// for OpenID including client-key, which domains.cfg holds in clear
	// text (proxmox-api.md §4, by code reading) — and the digest.
	out := map[string]any{"type": r.typ, "digest": st.domainsDigest()}
	for k, v := range r.props {
		out[k] = v
	}
	return out, nil
}

func hRealmUpdate(c *call) (any, *apiError) {
	s := c.s
	st := s.st
	fail := func(e *apiError) (any, *apiError) { return nil, wrap("update auth server failed", e) }
	param := copyParams(c.params)
	password, hasPassword := param["password"]
	delete(param, "password")
	st.ensureBuiltinRealms()
	if d, ok := param["digest"]; ok {
		delete(param, "digest")
		if d != "" && d != st.domainsDigest() {
			return fail(die("detected modified configuration - file changed by other user? Try again."))
		}
	}
	id := param["realm"]
	delete(param, "realm")
	r := st.realms[id]
	if r == nil {
		return fail(die("domain '%s' does not exist", id))
	}
	if _, ok := param["check-connection"]; ok {
		delete(param, "check-connection")
		if r.typ != "ldap" && r.typ != "ad" {
			return fail(die("'check-connection' parameter can only be set for realms of type 'ldap' or 'ad'"))
		}
	}
	deleteStr, hasDelete := param["delete"]
	delete(param, "delete")
	if (!hasDelete || deleteStr == "") && len(param) == 0 && !hasPassword {
		return fail(die("no options specified"))
	}
	props := map[string]any{}
	for k, v := range r.props {
		props[k] = v
	}
	for _, opt := range splitList(deleteStr) {
		delete(props, opt)
	}
	config, e := s.checkConfig(r.typ, param, false)
	if e != nil {
		return fail(e)
	}
	if isTrue(config["default"]) {
		for _, other := range st.realms {
			delete(other.props, "default")
		}
		delete(props, "default")
	}
	for k, v := range config {
		props[k] = v
	}
	r.props = props
	if hasPassword && (r.typ == "ldap" || r.typ == "ad") {
		r.ldapPassword = password
	}
	st.ensureBuiltinRealms()
	return nil, nil
}

func hRealmDelete(c *call) (any, *apiError) {
	st := c.s.st
	id := c.params["realm"]
	st.ensureBuiltinRealms()
	if st.realms[id] == nil {
		return nil, wrap("delete auth server failed", die("authentication domain '%s' does not exist", id))
	}
	delete(st.realms, id)
	// parse_config re-adds pam and pve on the next read
	st.ensureBuiltinRealms()
	return nil, nil
}

func copyParams(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

func isTrue(v any) bool {
	switch x := v.(type) {
	case int64:
		return x != 0
	case string:
		return x != "" && x != "0"
	}
	return false
}
