// Package proxmox is a small typed client for the parts of the Proxmox VE
// API that pvesso needs: version and cluster discovery, OpenID realms,
// groups, ACLs, users, effective permissions and the OpenID login endpoints.
//
// Facts about the API come from the official API-viewer schemas (7.0, 8.0,
// 9.2) and the source-derived notes in the project's reference material:
// form-encoded request bodies with booleans as 1/0, the {"data": ...}
// envelope, error messages in the HTTP reason phrase (plus "message" on
// 8.4+ and an "errors" map on 400), API-token and ticket authentication
// (CSRFPreventionToken on writes, two-step TOTP).
//
// The client never prints or logs; secrets (token secret, password, OTP,
// ticket, client key, OpenID code) never appear in its errors. TLS trust
// comes from internal/tlstrust; there is no way to skip verification.
package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pvesso/pvesso/internal/tlstrust"
)

// APIPrefix is the path of the JSON API below the base URL.
const APIPrefix = "/api2/json"

// DefaultTimeout bounds every request of a client built without WithHTTPClient.
const DefaultTimeout = 30 * time.Second

// maxBody bounds how much of a response is read.
const maxBody = 16 << 20

// Client talks to one Proxmox VE node. It is safe for concurrent use.
type Client struct {
	base string // https://host:port[/prefix], no trailing slash
	hc   *http.Client
	auth Auth
	now  func() time.Time

	loginMu sync.Mutex // serialises ticket logins
	mu      sync.Mutex
	sess    *session
	release *release // detected or configured server release
}

type release struct {
	major, minor int
	text         string
}

func (r release) atLeast(major, minor int) bool {
	return r.major > major || (r.major == major && r.minor >= minor)
}

// Option configures a Client.
type Option func(*config) error

type config struct {
	hc      *http.Client
	tls     *tlstrust.Config
	timeout time.Duration
	release *release
	now     func() time.Time
}

// WithHTTPClient uses hc for every request (its transport decides TLS
// trust). Exclusive with WithTLS.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("proxmox: WithHTTPClient(nil)")
		}
		c.hc = hc
		return nil
	}
}

// WithTLS trusts the server per cfg (system roots, CA file, leaf pin).
func WithTLS(cfg tlstrust.Config) Option {
	return func(c *config) error {
		c.tls = &cfg
		return nil
	}
}

// WithTimeout sets the per-request timeout of the built-in HTTP client
// (default DefaultTimeout). Ignored with WithHTTPClient.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		c.timeout = d
		return nil
	}
}

// WithRelease tells the client the server's release ("8.4", "9.2") so that
// version-dependent options are checked without a GET /version.
func WithRelease(rel string) Option {
	return func(c *config) error {
		r, err := parseRelease(rel)
		if err != nil {
			return err
		}
		c.release = &r
		return nil
	}
}

// withClock is for tests (ticket age).
func withClock(now func() time.Time) Option {
	return func(c *config) error {
		c.now = now
		return nil
	}
}

// New returns a client for baseURL ("https://host:8006"; a trailing
// "/api2/json" is accepted and dropped). The URL must be https: pveproxy
// serves nothing else, and credentials must not travel in clear text.
func New(baseURL string, auth Auth, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("proxmox: bad base URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("proxmox: base URL must be https://host[:port], got %q", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("proxmox: base URL must not carry a query, fragment or user info")
	}
	path := strings.TrimSuffix(strings.TrimSuffix(u.EscapedPath(), "/"), APIPrefix)
	path = strings.TrimSuffix(path, "/")
	cfg := config{timeout: DefaultTimeout}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.hc != nil && cfg.tls != nil {
		return nil, errors.New("proxmox: WithHTTPClient and WithTLS are exclusive")
	}
	hc := cfg.hc
	if hc == nil {
		tc := tlstrust.Config{}
		if cfg.tls != nil {
			tc = *cfg.tls
		}
		hc, err = tlstrust.NewHTTPClient(tc, cfg.timeout)
		if err != nil {
			return nil, fmt.Errorf("proxmox: TLS setup: %w", err)
		}
	}
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	c := &Client{
		base:    u.Scheme + "://" + u.Host + path,
		hc:      hc,
		auth:    auth,
		now:     now,
		release: cfg.release,
	}
	if auth.kind == authTicket {
		c.sess = &session{username: auth.username, ticket: auth.ticket, csrf: auth.csrf, issued: now(), fixed: true}
	}
	return c, nil
}

// BaseURL returns the base URL (without /api2/json).
func (c *Client) BaseURL() string { return c.base }

// call describes one API request.
type call struct {
	method string
	path   string // API path, segments already escaped, e.g. "/access/users/a%40b"
	params url.Values
	noAuth bool     // "world" endpoints: send no credentials at all
	secret []string // parameter values to mask in errors
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// do performs an authenticated call and decodes "data" into out (may be nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if cl.noAuth || c.auth.kind != authPassword {
		return c.send(ctx, cl, out)
	}
	if err := c.ensureTicket(ctx); err != nil {
		return err
	}
	err := c.send(ctx, cl, out)
	if errors.Is(err, ErrUnauthenticated) && !isTicketPath(cl.path) {
		// The ticket expired or was revoked. A 401 means the handler never
		// ran, so one retry after a fresh login is safe even for writes.
		c.dropSession()
		if lerr := c.ensureTicket(ctx); lerr != nil {
			return lerr
		}
		err = c.send(ctx, cl, out)
	}
	return err
}

func isTicketPath(p string) bool { return p == "/access/ticket" }

func (c *Client) send(ctx context.Context, cl call, out any) error {
	if ctx == nil {
		return errors.New("proxmox: nil context")
	}
	target := c.base + APIPrefix + cl.path
	var body io.Reader
	switch cl.method {
	case http.MethodGet, http.MethodDelete:
		if len(cl.params) > 0 {
			target += "?" + cl.params.Encode()
		}
	case http.MethodPost, http.MethodPut:
		body = strings.NewReader(cl.params.Encode())
	default:
		return fmt.Errorf("proxmox: unsupported method %s", cl.method)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return fmt.Errorf("proxmox: build request %s %s: %w", cl.method, cl.path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pvesso")
	secrets := append(c.secrets(), cl.secret...)
	if !cl.noAuth {
		switch c.auth.kind {
		case authToken:
			req.Header.Set("Authorization", "PVEAPIToken="+c.auth.tokenID+"="+c.auth.secret)
		case authPassword, authTicket:
			if s := c.session(); s != nil {
				// The server URI-unescapes the cookie, like the GUI's escaped one.
				req.Header.Set("Cookie", "PVEAuthCookie="+url.QueryEscape(s.ticket))
				if cl.method != http.MethodGet {
					req.Header.Set("CSRFPreventionToken", s.csrf)
				}
				secrets = append(secrets, s.ticket, s.csrf)
			}
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error keeps the cause (e.g. *tlstrust.CertError) for errors.As.
		// The URL carries only GET query parameters, which are never secret.
		return fmt.Errorf("proxmox: %s %s: %w", cl.method, cl.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("proxmox: %s %s: read response: %w", cl.method, cl.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(cl, resp, raw, secrets)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("proxmox: %s %s: response is not PVE JSON (HTTP %d, %d bytes)", cl.method, cl.path, resp.StatusCode, len(raw))
	}
	if out == nil || len(env.Data) == 0 || string(env.Data) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("proxmox: %s %s: decode data: %w", cl.method, cl.path, err)
	}
	return nil
}

func newAPIError(cl call, resp *http.Response, raw []byte, secrets []string) error {
	e := &APIError{StatusCode: resp.StatusCode, Method: cl.method, Path: unescapePath(cl.path)}
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode)))
	e.Reason = redact(reason, secrets)
	var body struct {
		Message string         `json:"message"`
		Errors  map[string]any `json:"errors"`
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &body) == nil {
		e.Message = redact(strings.TrimRight(body.Message, "\r\n"), secrets)
		if len(body.Errors) > 0 {
			e.Errors = make(map[string]string, len(body.Errors))
			for k, v := range body.Errors {
				s, ok := v.(string)
				if !ok {
					b, _ := json.Marshal(v)
					s = string(b)
				}
				e.Errors[k] = redact(strings.TrimRight(s, "\r\n"), secrets)
			}
		}
	}
	return e
}

func unescapePath(p string) string {
	u, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return u
}

// secrets the client holds, for masking.
func (c *Client) secrets() []string {
	return []string{c.auth.secret, c.auth.password, c.auth.otp}
}
