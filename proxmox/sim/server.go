package sim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pvesso/pvesso/internal/simkit"
)

// Server is a simulated Proxmox VE installation (one node or a 3-node
// cluster). It is an http.Handler (serving as node 1) and safe for
// concurrent use.
type Server struct {
	opts     Options
	version  Version
	features features
	schema   apiSchema
	valid    *validator
	kit      *simkit.Kit
	now      func() time.Time

	mu    sync.Mutex // guards st and the fields below
	st    *state
	roots *x509.CertPool
	// oidcTransport is the connection pool towards OpenID issuers; it is
	// replaced whenever roots change.
	oidcTransport *http.Transport
	log           []string // syslog-like lines (authentication failures, OpenID login results)

	ticketKey ed25519.PrivateKey
	csrfKey   []byte
	rootPass  string
	repoID    string

	nodes      []*node
	handler    http.Handler
	routeTable []*route
}

// node is one cluster member. Cluster configuration is shared; the OpenID
// auth state is node-local like /var/lib/pve-manager/proxmox-openid-auth-state-*.
type node struct {
	s       *Server
	index   int // 1-based
	name    string
	ip      string
	srv     *simkit.TLSServer
	handler http.Handler

	mu     sync.Mutex
	states map[string][]*authState // realm -> pending states
}

// New creates a fresh installation: realms pam and pve, user root@pam, no
// groups, an empty ACL, the built-in roles.
func New(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = "8.4.14"
	}
	v, err := ParseVersion(opts.Version)
	if err != nil {
		panic(err)
	}
	if v.Major < 8 || v.Major > 9 {
		panic(fmt.Sprintf("proxmox/sim: PVE %s is not simulated (8.x and 9.x are)", opts.Version))
	}
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.Nodes != 1 && opts.Nodes != 3 {
		panic("proxmox/sim: Nodes must be 1 or 3")
	}
	if opts.ClusterName == "" {
		opts.ClusterName = "pvesso-sim"
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s80, err := loadSchema("pve-8.0.json")
	if err != nil {
		panic(err)
	}
	s92, err := loadSchema("pve-9.2.json")
	if err != nil {
		panic(err)
	}
	privs := map[string]bool{}
	for _, p := range privileges(v) {
		privs[p] = true
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256([]byte("pve-manager " + v.String()))
	feat := featuresFor(v)
	s := &Server{
		opts:      opts,
		version:   v,
		features:  feat,
		schema:    buildSchema(v, s80, s92),
		valid:     &validator{privs: privs, groupNameLeak: feat.groupNameLeak},
		kit:       simkit.NewKit(),
		now:       now,
		st:        newState(v),
		roots:     opts.OIDCRoots,
		ticketKey: key,
		csrfKey:   randomBytes(32),
		rootPass:  randomString(20),
		// ASSUMPTION: the real repoid is the pve-manager git short hash;
		// the simulator derives a stable one from the version.
		repoID: hex.EncodeToString(sum[:8]),
	}
	s.routeTable = s.routes()
	s.kit.SetLatency(opts.Latency)
	for i := 1; i <= opts.Nodes; i++ {
		n := &node{s: s, index: i, name: fmt.Sprintf("pve%d", i), ip: fmt.Sprintf("127.0.0.%d", i), states: map[string][]*authState{}}
		n.handler = s.kit.Wrap(http.HandlerFunc(n.serve))
		s.nodes = append(s.nodes, n)
	}
	s.handler = s.nodes[0].handler
	return s
}

// ServeHTTP serves the request as node 1 (with the simkit request log,
// latency and faults).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Start serves every node over TLS with its own self-signed certificate:
// node i on 127.0.0.i. With Options.Port 0 each node gets a free port
// (falling back to 127.0.0.1 where the host has no such loopback
// address); with a fixed port every node must get exactly
// 127.0.0.i:Port, else Start stops the nodes it started and fails.
func (s *Server) Start() error {
	if s.opts.Port < 0 || s.opts.Port > 65535 {
		return fmt.Errorf("proxmox/sim: invalid port %d", s.opts.Port)
	}
	for _, n := range s.nodes {
		if n.srv != nil {
			continue
		}
		names := []string{n.name, "localhost", n.ip}
		srv, err := simkit.StartTLS(n.handler, net.JoinHostPort(n.ip, strconv.Itoa(s.opts.Port)), names...)
		if err != nil && n.ip != "127.0.0.1" && s.opts.Port == 0 {
			srv, err = simkit.StartTLS(n.handler, "127.0.0.1:0", append(names, "127.0.0.1")...)
		}
		if err != nil {
			s.Close()
			return fmt.Errorf("proxmox/sim: node %s: %w", n.name, err)
		}
		s.mu.Lock()
		n.srv = srv
		s.mu.Unlock()
	}
	return nil
}

// Close stops all listeners.
func (s *Server) Close() {
	s.mu.Lock()
	if s.oidcTransport != nil {
		s.oidcTransport.CloseIdleConnections()
	}
	s.mu.Unlock()
	for _, n := range s.nodes {
		s.mu.Lock()
		srv := n.srv
		n.srv = nil
		s.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
	}
}

func (s *Server) nodeSrv(i int) *simkit.TLSServer {
	if i < 1 || i > len(s.nodes) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[i-1].srv
}

// URL is node 1's base URL (https://127.0.0.1:port), "" before Start.
func (s *Server) URL() string { return s.NodeURL(1) }

// NodeURL is the base URL of node i (1-based).
func (s *Server) NodeURL(i int) string {
	if srv := s.nodeSrv(i); srv != nil {
		return srv.URL()
	}
	return ""
}

// Fingerprint is the SHA-256 fingerprint of node 1's certificate.
func (s *Server) Fingerprint() string { return s.NodeFingerprint(1) }

// NodeFingerprint is the "AB:CD:..." fingerprint of node i's certificate.
func (s *Server) NodeFingerprint(i int) string {
	if srv := s.nodeSrv(i); srv != nil {
		return srv.Fingerprint()
	}
	return ""
}

// CertPool trusts every node's certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	for i := range s.nodes {
		if srv := s.nodeSrv(i + 1); srv != nil {
			p.AddCert(srv.Certificate())
		}
	}
	return p
}

// CertPEM is node 1's certificate in PEM form.
func (s *Server) CertPEM() []byte {
	if srv := s.nodeSrv(1); srv != nil {
		return srv.CertPEM()
	}
	return nil
}

// Kit is the request log, latency and fault injection of all nodes.
func (s *Server) Kit() *simkit.Kit { return s.kit }

// Version is the simulated pve-manager version.
func (s *Server) Version() Version { return s.version }

// RootPassword is root@pam's password.
func (s *Server) RootPassword() string { return s.rootPass }

// SetOIDCRoots replaces the nodes' trust store for OpenID issuers
// (nil: system roots).
func (s *Server) SetOIDCRoots(p *x509.CertPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots = p
	if s.oidcTransport != nil {
		s.oidcTransport.CloseIdleConnections()
		s.oidcTransport = nil
	}
}

// SetUserPassword sets the password of a pam or pve realm user (creating
// the user when missing), for ticket logins in tests.
func (s *Server) SetUserPassword(userid, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.ensureUser(userid)
	u.password = password
}

// SetTOTP enables a TOTP second factor (base32 secret) for a user, so a
// ticket login needs the NeedTFA / tfa-challenge step. "" removes it.
func (s *Server) SetTOTP(userid, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.ensureUser(userid)
	u.totp = strings.ToUpper(strings.ReplaceAll(secret, " ", ""))
}

// CreateToken creates an API token like
// POST /access/users/{userid}/token/{tokenid} and returns its spec
// "USER@REALM!TOKENID=SECRET". A missing user is created (enabled);
// an existing token is replaced.
func (s *Server) CreateToken(userid, tokenid string, privsep bool) string {
	if _, _, msg := verifyUsername(userid); msg != "" {
		panic("proxmox/sim: CreateToken: " + msg)
	}
	if !reRealm.MatchString(tokenid) {
		panic("proxmox/sim: CreateToken: invalid token id " + tokenid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.ensureUser(userid)
	if u.tokens == nil {
		u.tokens = map[string]*token{}
	}
	ps := int64(0)
	if privsep {
		ps = 1
	}
	t := &token{privsep: ps, secret: newUUID()}
	u.tokens[tokenid] = t
	return userid + "!" + tokenid + "=" + t.secret
}

// RootToken returns the spec of root@pam!pvesso (privsep=0: all
// privileges), creating it on first use.
func (s *Server) RootToken() string {
	s.mu.Lock()
	if u := s.st.users["root@pam"]; u != nil && u.tokens != nil {
		if t := u.tokens["pvesso"]; t != nil && t.privsep == 0 {
			s.mu.Unlock()
			return "root@pam!pvesso=" + t.secret
		}
	}
	s.mu.Unlock()
	return s.CreateToken("root@pam", "pvesso", false)
}

func (s *Server) ensureUser(userid string) *user {
	u := s.st.users[userid]
	if u == nil {
		u = &user{enable: 1}
		s.st.users[userid] = u
	}
	return u
}

// Log returns the node journal lines the simulator records: every
// authentication failure with its real reason (which the API hides behind
// "authentication failure"), e.g.
// "openid authentication failure; rhost=127.0.0.1 msg=no openid auth state found (possible timeout)".
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *Server) syslog(format string, a ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syslogLocked(format, a...)
}

func (s *Server) syslogLocked(format string, a ...any) {
	line := strings.TrimRight(fmt.Sprintf(format, a...), "\n")
	s.log = append(s.log, line)
	if len(s.log) > 1000 {
		s.log = s.log[len(s.log)-1000:]
	}
}

// --- snapshots for tests -----------------------------------------------

// RealmSnapshot is a copy of one realm section (values as the API returns
// them: strings and numbers).
type RealmSnapshot struct {
	Realm string
	Type  string
	Props map[string]any
}

// GroupSnapshot is a copy of one group.
type GroupSnapshot struct {
	GroupID string
	Comment string
	Members []string
}

// UserSnapshot is a copy of one user.
type UserSnapshot struct {
	UserID    string
	Enable    bool
	Expire    int64
	Email     string
	Firstname string
	Lastname  string
	Comment   string
	Groups    []string
	Tokens    []string // token ids
	HasTOTP   bool
}

// ACLSnapshot is one ACL entry.
type ACLSnapshot struct {
	Path, Type, UGID, RoleID string
	Propagate                bool
}

// Realms returns all realms sorted by id.
func (s *Server) Realms() []RealmSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RealmSnapshot
	for _, r := range s.st.realms {
		props := map[string]any{}
		for k, v := range r.props {
			props[k] = v
		}
		out = append(out, RealmSnapshot{Realm: r.id, Type: r.typ, Props: props})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Realm < out[j].Realm })
	return out
}

// Groups returns all groups sorted by id.
func (s *Server) Groups() []GroupSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []GroupSnapshot
	for id, g := range s.st.groups {
		var m []string
		for u := range g.users {
			m = append(m, u)
		}
		sort.Strings(m)
		out = append(out, GroupSnapshot{GroupID: id, Comment: g.comment, Members: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GroupID < out[j].GroupID })
	return out
}

// Users returns all users sorted by id.
func (s *Server) Users() []UserSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserSnapshot
	for id, u := range s.st.users {
		var toks []string
		for t := range u.tokens {
			toks = append(toks, t)
		}
		sort.Strings(toks)
		out = append(out, UserSnapshot{UserID: id, Enable: u.enable != 0, Expire: u.expire, Email: u.email,
			Firstname: u.firstname, Lastname: u.lastname, Comment: u.comment,
			Groups: s.st.userGroups(id), Tokens: toks, HasTOTP: u.totp != ""})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

// ACL returns all ACL entries sorted by path, type, id, role.
func (s *Server) ACL() []ACLSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aclEntries(func(string) bool { return true })
}

func (s *Server) aclEntries(visible func(path string) bool) []ACLSnapshot {
	var out []ACLSnapshot
	for path, n := range s.st.acl {
		if !visible(path) {
			continue
		}
		for _, typ := range []string{"user", "group", "token"} {
			for id, roles := range n.kind(typ) {
				for role, prop := range roles {
					out = append(out, ACLSnapshot{Path: path, Type: typ, UGID: id, RoleID: role, Propagate: prop != 0})
				}
			}
		}
	}
	order := map[string]int{"user": 0, "group": 1, "token": 2}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Type != b.Type {
			return order[a.Type] < order[b.Type]
		}
		if a.UGID != b.UGID {
			return a.UGID < b.UGID
		}
		return a.RoleID < b.RoleID
	})
	return out
}

// PendingOpenIDStates reports how many auth-url states node i holds for a
// realm (expired ones excluded).
func (s *Server) PendingOpenIDStates(i int, realm string) int {
	if i < 1 || i > len(s.nodes) {
		return 0
	}
	n := s.nodes[i-1]
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.liveStates(realm))
}

// Endpoint is one API method the simulator serves.
type Endpoint struct{ Method, Path string }

// Endpoints lists the served API methods (path templates below /api2/json).
func (s *Server) Endpoints() []Endpoint {
	var out []Endpoint
	for _, r := range s.routeTable {
		for m := range r.methods {
			out = append(out, Endpoint{Method: m, Path: r.tmpl})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}
