package sim

import (
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options configure a simulated Proxmox VE installation.
type Options struct {
	// Version is the pve-manager version reported by /version and selects
	// the version-dependent behaviour ("8.4.14" by default; 8.0–8.4 and
	// 9.0–9.2 are modelled).
	Version string
	// Nodes is 1 (standalone, default) or 3 (cluster pve1..pve3 with the
	// node IPs 127.0.0.1, 127.0.0.2, 127.0.0.3).
	Nodes int
	// OIDCRoots is the nodes' own trust store, used for every request to an
	// OpenID issuer (discovery, JWKS, token, userinfo). nil means the
	// system roots, like an unmodified PVE node.
	OIDCRoots *x509.CertPool
	// Latency delays every request (simkit).
	Latency time.Duration
	// Now is the clock (tickets, CSRF tokens, OpenID state expiry, ID token
	// expiry). Default time.Now.
	Now func() time.Time
	// AuthFailureDelay delays every 401 answer. Real pveproxy waits 3
	// seconds (AnyEvent.pm "always delay unauthorized calls by 3 seconds");
	// the simulator defaults to 0 so that tests stay fast.
	AuthFailureDelay time.Duration
	// ClusterName of a 3-node cluster (default "pvesso-sim").
	ClusterName string
	// Port is the TCP port every node listens on, on its own address
	// (127.0.0.i). 0 means a free port per node (tests). A real node's GUI
	// and API listen on 8006 (pveproxy), which is what clients derive a
	// node's URL from (https://<ip>:8006): `pvesso demo` asks for 8006 so
	// that those URLs reach the simulated nodes. With a fixed port Start
	// fails when any node's address:port is taken (nodes cannot share
	// 127.0.0.1 then); the caller may retry with 0.
	Port int
}

// Version is a parsed pve-manager version.
type Version struct{ Major, Minor, Patch int }

// ParseVersion parses "8.4.14" / "9.2.0" / "8.4".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("invalid PVE version %q", s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("invalid PVE version %q", s)
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// features are the version-dependent behaviours, each with its evidence.
type features struct {
	// libpve-http-server-perl 5.2.0 (2025-01-28, fix #6503): JSON error
	// bodies carry "message"; updated 8.3 installs, 8.4 and 9.x
	// (proxmox-api.md §1). Modelled from 8.4.
	messageField bool
	// libpve-access-control 8.2.1 (PVE 8.4): groups-claim mapping at
	// OpenID login and the query-userinfo switch (before: always queried).
	openidGroups bool
	// libpve-access-control 9.1.1 (PVE 9.2): 'audiences' realm option.
	audiences bool
	// openidconnect 4.x (PVE 9): the ID-token algorithms are the
	// discovery document's id_token_signing_alg_values_supported. For 8.x
	// the crate minor is unverified (proxmox-openid-realm.md §4);
	// ASSUMPTION: PVE 8 behaves like openidconnect 2.4 (RS256 only), the
	// conservative reading also given by authentik-proxmox-guide.md §2.
	algsFromDiscovery bool
	// openidconnect 4.x appends " at <url>" to non-200 discovery errors
	// (proxmox-api.md §5).
	discoveryURLInErrors bool
	// Group names (format pve-groupid, and the names taken from an OpenID
	// groups claim) briefly accepted a few more characters: from
	// access-control 8.2.1 (PVE 8.4) until the fix for bug 7102 in 9.0.5
	// (PVE 9.1), proxmox-api.md §6 and the version table ("a 8.4-era regex
	// had let `:` through"). The source of that era (pve-access-control
	// src/PVE/Auth/Plugin.pm) defines
	//   our $groupname_regex_chars = qr/A-Za-z0-9\.\-_/;
	// a qr// object, which stringifies as "(?^:A-Za-z0-9\.\-_)" when it is
	// interpolated into a bracket expression, so the class also holds
	// '(', '?', '^', ':' and ')'.
	// ASSUMPTION: verify_groupname used "[$groupname_regex_chars]" (its
	// name says so; the using line was not in the evidence), i.e. exactly
	// those five extra characters; modelled for 8.4.x and 9.0.x.
	groupNameLeak bool
}

func featuresFor(v Version) features {
	return features{
		messageField:         v.AtLeast(8, 4),
		openidGroups:         v.AtLeast(8, 4),
		audiences:            v.AtLeast(9, 2),
		algsFromDiscovery:    v.Major >= 9,
		discoveryURLInErrors: v.Major >= 9,
		groupNameLeak:        v.AtLeast(8, 4) && !v.AtLeast(9, 1),
	}
}

// privileges returns the valid privilege names of a version: the names
// used in the permission checks of the official schema (8.0 resp. 9.2)
// plus Sys.AccessNetwork, added in libpve-access-control 8.1.2 (2024-02-28).
// ASSUMPTION: no privilege exists that no API permission check names.
func privileges(v Version) []string {
	base := []string{
		"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
		"Group.Allocate",
		"Mapping.Audit", "Mapping.Modify", "Mapping.Use",
		"Permissions.Modify",
		"Pool.Allocate", "Pool.Audit",
		"Realm.Allocate", "Realm.AllocateUser",
		"SDN.Allocate", "SDN.Audit", "SDN.Use",
		"Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
		"User.Modify",
		"VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU",
		"VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
		"VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate", "VM.PowerMgmt",
		"VM.Snapshot", "VM.Snapshot.Rollback",
	}
	if v.AtLeast(8, 1) {
		base = append(base, "Sys.AccessNetwork")
	}
	if v.Major >= 9 {
		// the 9.2 schema: VM.GuestAgent.* and VM.Replicate, no VM.Monitor
		base = append(base, "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt",
			"VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted", "VM.Replicate")
	} else {
		base = append(base, "VM.Monitor")
	}
	return base
}

// builtinRoles derives the predefined roles like create_roles() in
// PVE::AccessControl: per category, "root" privileges are only in
// Administrator, "admin" ones in PVE<cat>Admin and PVEAdmin, "user" ones
// in PVE<cat>User, "audit" ones in PVEAuditor. Since 8.0
// (access-control 8.0.0~2) Permissions.Modify is only in Administrator.
// ASSUMPTION: the category of privileges newer than the source read
// (Sys.Incoming, Sys.AccessNetwork: root; Mapping.*, SDN.Use,
// VM.GuestAgent.*, VM.Replicate as below) — only Administrator matters to
// pvesso.
func builtinRoles(v Version) map[string]map[string]bool {
	type cat struct{ root, admin, user, audit []string }
	valid := map[string]bool{}
	for _, p := range privileges(v) {
		valid[p] = true
	}
	keep := func(l ...string) []string {
		var out []string
		for _, p := range l {
			if valid[p] {
				out = append(out, p)
			}
		}
		return out
	}
	cats := map[string]cat{
		"VM": {
			admin: keep("VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
				"VM.Config.HWType", "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.Migrate",
				"VM.Monitor", "VM.Snapshot", "VM.Snapshot.Rollback", "VM.Replicate",
				"VM.GuestAgent.FileRead", "VM.GuestAgent.FileWrite", "VM.GuestAgent.FileSystemMgmt",
				"VM.GuestAgent.Unrestricted"),
			user:  keep("VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.PowerMgmt", "VM.GuestAgent.Audit"),
			audit: keep("VM.Audit"),
		},
		"Sys": {
			root:  keep("Sys.PowerMgmt", "Sys.Modify", "Permissions.Modify", "Sys.Incoming", "Sys.AccessNetwork"),
			admin: keep("Sys.Console", "Sys.Syslog"),
			audit: keep("Sys.Audit"),
		},
		"Datastore": {
			admin: keep("Datastore.Allocate", "Datastore.AllocateTemplate"),
			user:  keep("Datastore.AllocateSpace"),
			audit: keep("Datastore.Audit"),
		},
		"SDN": {
			admin: keep("SDN.Allocate", "SDN.Audit"),
			user:  keep("SDN.Use"),
			audit: keep("SDN.Audit"),
		},
		"User": {
			root:  keep("Realm.Allocate"),
			admin: keep("User.Modify", "Group.Allocate", "Realm.AllocateUser"),
		},
		"Pool": {
			admin: keep("Pool.Allocate"),
			user:  keep("Pool.Audit"),
			audit: keep("Pool.Audit"),
		},
		"Mapping": {
			admin: keep("Mapping.Modify"),
			user:  keep("Mapping.Use"),
			audit: keep("Mapping.Audit"),
		},
	}
	roles := map[string]map[string]bool{
		"NoAccess":      {},
		"Administrator": valid,
	}
	add := func(role string, privs ...string) {
		if roles[role] == nil {
			roles[role] = map[string]bool{}
		}
		for _, p := range privs {
			roles[role][p] = true
		}
	}
	for name, c := range cats {
		all := append(append(append([]string{}, c.admin...), c.user...), c.audit...)
		add("PVE"+name+"Admin", all...)
		add("PVEAdmin", all...)
		if len(c.user) > 0 {
			add("PVE"+name+"User", append(append([]string{}, c.user...), c.audit...)...)
		}
		add("PVEAuditor", c.audit...)
	}
	roles["PVETemplateUser"] = map[string]bool{"VM.Clone": true, "VM.Audit": true}
	return roles
}
