// Package sim is an in-process simulator of an authentik server: the parts
// of the REST API (/api/v3) that pvesso uses and the OAuth2/OpenID Connect
// provider endpoints (/application/o/...), with the behaviour of a chosen
// authentik release.
//
// Every behaviour is taken from the official OpenAPI schemas and the facts
// in shared/reference (authentik-api.md, authentik-versions.md) or from
// authentik's source; where the evidence is silent the code says
// "ASSUMPTION". The simulator deliberately does not import the authentik
// client package: it is an independent reading of the same evidence.
package sim

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pvesso/pvesso/internal/simkit"
)

// DefaultVersion is the authentik release simulated when Options.Version
// is empty (the seed's version).
const DefaultVersion = "2025.8.1"

// Options configure a simulator.
type Options struct {
	// Version is the authentik release to behave like, e.g. "2025.8.1",
	// "2026.8.3", "2024.8.4". Default DefaultVersion.
	Version string
	// Latency delays every request (via the Kit).
	Latency time.Duration
	// Now is the clock (tokens, codes, certificates). Default time.Now.
	Now func() time.Time
	// BuildHash is reported by /admin/version/. Default "".
	BuildHash string
	// IssuerBase, when set (scheme://host[:port], no path), replaces the
	// scheme and host of every absolute URL the simulator builds: the
	// issuer (discovery, setup_urls, the iss claim) and the endpoint URLs
	// of the discovery document and setup_urls. authentik builds them with
	// request.build_absolute_uri from the Host and scheme the request
	// arrived with (authentik-api.md §6), so behind a reverse proxy whose
	// X-Forwarded-* headers it does not trust (2026.8: proxies outside
	// AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS, authentik-versions.md) the
	// issuer comes out with the proxy's view, e.g. "http://auth.example".
	// Use it to make the issuer differ from the URL a client predicts.
	// Empty (default): the request's own scheme and Host header, as
	// authentik does when it sees the client directly. See SetIssuerBase.
	IssuerBase string
}

// Server is a stateful, concurrency-safe authentik simulator. It is an
// http.Handler; Start serves it over TLS on loopback.
type Server struct {
	ver     version
	now     func() time.Time
	kit     *simkit.Kit
	handler http.Handler
	build   string

	issuerBase string // guarded by mu; see Options.IssuerBase

	mu sync.Mutex
	st state

	tlsMu sync.Mutex
	tls   *simkit.TLSServer
}

// New returns a simulator in the state of a fresh install. It panics on an
// unparsable Options.Version (a programming error in a test).
func New(opts Options) *Server {
	s, err := NewServer(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// NewServer is New returning an error instead of panicking.
func NewServer(opts Options) (*Server, error) {
	vs := opts.Version
	if vs == "" {
		vs = DefaultVersion
	}
	ver, err := parseVersion(vs)
	if err != nil {
		return nil, err
	}
	s := &Server{ver: ver, now: opts.Now, kit: simkit.NewKit(), build: opts.BuildHash}
	if err := s.SetIssuerBase(opts.IssuerBase); err != nil {
		return nil, err
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.seed(s.now()); err != nil {
		return nil, err
	}
	if opts.Latency > 0 {
		s.kit.SetLatency(opts.Latency)
	}
	s.handler = s.kit.Wrap(http.HandlerFunc(s.route))
	return s, nil
}

// ServeHTTP serves the simulated authentik (through the Kit's request log,
// latency and faults).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Kit returns the request log, latency and fault controls.
func (s *Server) Kit() *simkit.Kit { return s.kit }

// Version is the simulated authentik release, e.g. "2025.8.1".
func (s *Server) Version() string { return s.ver.String() }

// Start serves the simulator over TLS on 127.0.0.1 with a fresh
// self-signed certificate.
func (s *Server) Start() error {
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	if s.tls != nil {
		return errors.New("authentik simulator already started")
	}
	srv, err := simkit.StartTLS(s, "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.tls = srv
	return nil
}

func (s *Server) started() *simkit.TLSServer {
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	return s.tls
}

// URL is the base URL (https://127.0.0.1:port) once started, else "".
func (s *Server) URL() string {
	if t := s.started(); t != nil {
		return t.URL()
	}
	return ""
}

// Fingerprint is the SHA-256 fingerprint of the TLS certificate
// ("AB:CD:..."), once started.
func (s *Server) Fingerprint() string {
	if t := s.started(); t != nil {
		return t.Fingerprint()
	}
	return ""
}

// CertPool holds the TLS certificate, once started.
func (s *Server) CertPool() *x509.CertPool {
	if t := s.started(); t != nil {
		return t.CertPool()
	}
	return nil
}

// CertPEM is the TLS certificate in PEM, once started.
func (s *Server) CertPEM() []byte {
	if t := s.started(); t != nil {
		return t.CertPEM()
	}
	return nil
}

// Close stops the TLS listener (if started).
func (s *Server) Close() {
	s.tlsMu.Lock()
	defer s.tlsMu.Unlock()
	if s.tls != nil {
		s.tls.Close()
		s.tls = nil
	}
}

// ---- test hooks ----------------------------------------------------------

// SetIssuerBase changes Options.IssuerBase at run time (for example to
// "http://127.0.0.1:<port>" once the port is known, like a TLS-terminating
// proxy whose X-Forwarded-Proto authentik ignores). "" restores the default
// (the request's own scheme and host). The value must be an absolute
// http(s) URL without path, query or fragment.
func (s *Server) SetIssuerBase(base string) error {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("authentik simulator: IssuerBase %q: want scheme://host[:port]", base)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuerBase = base
	return nil
}

// AdminToken returns the API token of akadmin (a superuser), like the
// AUTHENTIK_BOOTSTRAP_TOKEN (identifier authentik-bootstrap-token).
func (s *Server) AdminToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.st.tokens {
		if t.identifier == "authentik-bootstrap-token" {
			return t.key
		}
	}
	return ""
}

// CreateToken creates a non-expiring API token (intent api) for the user
// and returns its key; "" if the user does not exist. A token of a user
// without superuser status gets 403 on the admin endpoints (authentik's
// RBAC: no model permission and no object permission).
func (s *Server) CreateToken(username string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.userByName(username)
	if u == nil {
		return ""
	}
	t := &apiToken{key: generateID(60), identifier: "pvesso-" + strings.ToLower(generateID(8)), user: u.pk}
	s.st.tokens = append(s.st.tokens, t)
	return t.key
}

// RevokeToken deletes an API token; later requests with it get 403
// "Token invalid/expired".
func (s *Server) RevokeToken(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.tokens = slices.DeleteFunc(s.st.tokens, func(t *apiToken) bool { return t.key == key })
}

// UserPassword is the password of a simulated user (for the HTML login
// form), "" for an unknown user.
func (s *Server) UserPassword(username string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.userByName(username); u != nil {
		return u.password
	}
	return ""
}

// LoginHook makes the next /application/o/authorize/ request count as made
// by a browser logged in as username (who also clicks through an explicit
// consent screen), without the HTML login form.
func (s *Server) LoginHook(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.loginHook = username
}

// SetUserActive activates or deactivates a user (a deactivated user's
// tokens fail with "Token invalid/expired" and the user cannot log in).
func (s *Server) SetUserActive(username string, active bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.userByName(username)
	if u == nil {
		return false
	}
	u.isActive = active
	return true
}

// AddUser creates an internal user with a generated password and returns
// its pk (0 if the username exists).
func (s *Server) AddUser(username, name, email string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.userByName(username) != nil {
		return 0
	}
	return s.st.addUser(username, name, email, s.now()).pk
}

// SetUserAttribute sets a user attribute (e.g. "upn" for sub_mode user_upn).
func (s *Server) SetUserAttribute(username, key string, value any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.userByName(username)
	if u == nil {
		return false
	}
	u.attributes[key] = value
	return true
}

// ---- routing -------------------------------------------------------------

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v3/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(p, "/application/o/"):
		s.serveOIDC(w, r)
	case strings.HasPrefix(p, "/if/flow/"):
		s.serveFlowUI(w, r)
	default:
		notFoundPage(w)
	}
}
