package sim

import (
	"fmt"
	"sort"
	"strings"
)

// /version, /cluster/status, /nodes (pve-manager PVE/API2.pm,
// PVE/API2/Cluster.pm, PVE/API2/Nodes.pm as summarised in
// proxmox-api.md §3), /access, /access/roles, /access/permissions.

func hVersion(c *call) (any, *apiError) {
	v := c.s.version
	return map[string]any{
		"version": c.s.opts.Version,
		"release": fmt.Sprintf("%d.%d", v.Major, v.Minor),
		"repoid":  c.s.repoID,
	}, nil
}

func hClusterStatus(c *call) (any, *apiError) {
	s := c.s
	var out []map[string]any
	if len(s.nodes) == 1 {
		n := s.nodes[0]
		// standalone: a single node entry, nodeid 0
		return []map[string]any{{
			"type": "node", "id": "node/" + n.name, "name": n.name, "nodeid": 0,
			"ip": n.ip, "local": 1, "online": 1, "level": "",
		}}, nil
	}
	// ASSUMPTION: corosync config version 3 for a 3-node cluster.
	out = append(out, map[string]any{
		"type": "cluster", "id": "cluster", "name": s.opts.ClusterName,
		"nodes": len(s.nodes), "quorate": 1, "version": len(s.nodes),
	})
	for _, n := range s.nodes {
		local := 0
		if n == c.n {
			local = 1
		}
		out = append(out, map[string]any{
			"type": "node", "id": "node/" + n.name, "name": n.name, "nodeid": n.index,
			"ip": n.ip, "local": local, "online": 1, "level": "",
		})
	}
	return out, nil
}

func hNodes(c *call) (any, *apiError) {
	s := c.s
	var out []map[string]any
	for _, n := range s.nodes {
		// PVE::API2Tools::extract_node_stats: the usage figures only for
		// callers with Sys.Audit on /nodes/<node>; the support level
		// (subscription, "" without one) for everybody. ssl_fingerprint is
		// set for every node (pve-manager PVE/API2/Nodes.pm, index).
		e := map[string]any{"node": n.name, "status": "online", "level": ""}
		if s.st.check(c.authid, "/nodes/"+n.name, []string{"Sys.Audit"}) == nil {
			// ASSUMPTION: static stats of an idle node
			e["cpu"] = 0.01
			e["maxcpu"] = 4
			e["mem"] = 2147483648
			e["maxmem"] = 8589934592
			e["uptime"] = 86400
		}
		if srv := n.srv; srv != nil {
			e["ssl_fingerprint"] = srv.Fingerprint()
		}
		out = append(out, e)
	}
	return out, nil
}

func hAccessIndex(c *call) (any, *apiError) {
	var out []map[string]any
	for _, d := range []string{"users", "groups", "roles", "acl", "domains", "openid", "tfa", "ticket", "password"} {
		out = append(out, map[string]any{"subdir": d})
	}
	return out, nil
}

func hOpenIDIndex(c *call) (any, *apiError) {
	return []map[string]any{{"subdir": "auth-url"}, {"subdir": "login"}}, nil
}

func hRoles(c *call) (any, *apiError) {
	st := c.s.st
	ids := make([]string, 0, len(st.roles))
	for id := range st.roles {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []map[string]any
	for _, id := range ids {
		var privs []string
		for p := range st.roles[id] {
			privs = append(privs, p)
		}
		sort.Strings(privs)
		// all simulated roles are built-in ("special")
		out = append(out, map[string]any{"roleid": id, "privs": strings.Join(privs, ","), "special": 1})
	}
	return out, nil
}

// hPermissions is API2/AccessControl.pm `permissions`.
func hPermissions(c *call) (any, *apiError) {
	st := c.s.st
	userid, ok := c.params["userid"]
	if !ok {
		userid = c.authid
	}
	owner, _, isTok := splitTokenID(userid)
	self := userid == c.authid
	ownedToken := isTok && owner == c.authid
	if !(self || ownedToken) {
		if e := st.check(c.authid, "/access", []string{"Sys.Audit"}); e != nil {
			return nil, e
		}
	}
	if path, ok := c.params["path"]; ok && path != "" {
		return map[string]any{path: st.permissions(userid, path)}, nil
	}
	return st.effectivePermissions(userid), nil
}
