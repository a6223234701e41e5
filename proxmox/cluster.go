package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// VersionInfo is GET /version.
type VersionInfo struct {
	Version string // "8.4.14" (7.x: "7.4-3")
	Release string // "8.4"
	RepoID  string
	Console string
}

// ParsedVersion returns the release's major and minor number ("8.4" -> 8, 4),
// falling back to Version when Release is empty. Zeros if unparsable.
func (v VersionInfo) ParsedVersion() (major, minor int) {
	r, _ := v.release()
	return r.major, r.minor
}

// release parses Release, else Version.
func (v VersionInfo) release() (release, bool) {
	for _, s := range []string{v.Release, v.Version} {
		if r, err := parseRelease(s); err == nil {
			return r, true
		}
	}
	return release{}, false
}

func parseRelease(s string) (release, error) {
	s = strings.TrimSpace(s)
	maj, rest, _ := strings.Cut(s, ".")
	min := rest
	if i := strings.IndexAny(rest, ".-"); i >= 0 {
		min = rest[:i]
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil || a <= 0 || b < 0 {
		return release{}, fmt.Errorf("proxmox: cannot parse release %q", s)
	}
	return release{major: a, minor: b, text: fmt.Sprintf("%d.%d", a, b)}, nil
}

// Version reads GET /version and remembers the release for version checks.
func (c *Client) Version(ctx context.Context) (*VersionInfo, error) {
	var raw struct {
		Version flexString `json:"version"`
		Release flexString `json:"release"`
		RepoID  flexString `json:"repoid"`
		Console flexString `json:"console"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/version"}, &raw); err != nil {
		return nil, err
	}
	v := &VersionInfo{Version: string(raw.Version), Release: string(raw.Release), RepoID: string(raw.RepoID), Console: string(raw.Console)}
	if r, ok := v.release(); ok {
		c.mu.Lock()
		c.release = &r
		c.mu.Unlock()
	}
	return v, nil
}

// knownRelease returns the server release if known (WithRelease or a
// previous Version call).
func (c *Client) knownRelease() (release, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.release == nil {
		return release{}, false
	}
	return *c.release, true
}

// ClusterStatusEntry is one element of GET /cluster/status: a "cluster"
// entry (clustered only) or a "node" entry per member.
type ClusterStatusEntry struct {
	Type    string // "cluster" | "node"
	ID      string // "cluster" | "node/<name>"
	Name    string
	IP      string // node: corosync/resolved address
	Online  bool
	Local   bool // node: the node that answered
	NodeID  int
	Level   string
	Nodes   int  // cluster: member count
	Quorate bool // cluster
	Version int  // cluster: corosync config version
}

// ClusterStatus reads GET /cluster/status (needs Sys.Audit on /).
func (c *Client) ClusterStatus(ctx context.Context) ([]ClusterStatusEntry, error) {
	var raw []struct {
		Type    flexString `json:"type"`
		ID      flexString `json:"id"`
		Name    flexString `json:"name"`
		IP      flexString `json:"ip"`
		Online  flexBool   `json:"online"`
		Local   flexBool   `json:"local"`
		NodeID  flexInt    `json:"nodeid"`
		Level   flexString `json:"level"`
		Nodes   flexInt    `json:"nodes"`
		Quorate flexBool   `json:"quorate"`
		Version flexInt    `json:"version"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/cluster/status"}, &raw); err != nil {
		return nil, err
	}
	out := make([]ClusterStatusEntry, len(raw))
	for i, r := range raw {
		out[i] = ClusterStatusEntry{
			Type: string(r.Type), ID: string(r.ID), Name: string(r.Name), IP: string(r.IP),
			Online: r.Online.or(false), Local: r.Local.or(false), NodeID: int(r.NodeID),
			Level: string(r.Level), Nodes: int(r.Nodes), Quorate: r.Quorate.or(false), Version: int(r.Version),
		}
	}
	return out, nil
}

// Node is one element of GET /nodes.
type Node struct {
	Node           string
	Status         string // online | offline | unknown
	SSLFingerprint string // SHA-256 "AA:BB:..." of the node's API certificate
	Level          string
	CPU            float64
	MaxCPU         int
	Mem, MaxMem    int64
	Uptime         int64
}

// Nodes reads GET /nodes.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var raw []struct {
		Node           flexString `json:"node"`
		Status         flexString `json:"status"`
		SSLFingerprint flexString `json:"ssl_fingerprint"`
		Level          flexString `json:"level"`
		CPU            flexFloat  `json:"cpu"`
		MaxCPU         flexInt    `json:"maxcpu"`
		Mem            flexInt    `json:"mem"`
		MaxMem         flexInt    `json:"maxmem"`
		Uptime         flexInt    `json:"uptime"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: "/nodes"}, &raw); err != nil {
		return nil, err
	}
	out := make([]Node, len(raw))
	for i, r := range raw {
		out[i] = Node{
			Node: string(r.Node), Status: string(r.Status), SSLFingerprint: string(r.SSLFingerprint),
			Level: string(r.Level), CPU: float64(r.CPU), MaxCPU: int(r.MaxCPU),
			Mem: int64(r.Mem), MaxMem: int64(r.MaxMem), Uptime: int64(r.Uptime),
		}
	}
	return out, nil
}
