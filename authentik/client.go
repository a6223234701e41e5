// Package authentik is a small typed client for the authentik REST API
// (/api/v3) covering what pvesso needs to set up an OAuth2/OIDC provider and
// application for Proxmox VE.
//
// Behaviour that differs between authentik releases is chosen from the
// server version (detected once through /admin/version/, or given with
// WithVersion), never by trying one form and falling back to another. The
// evidence for every difference is shared/reference/authentik-versions.md.
//
// The API token is only ever put into the Authorization header; it is never
// part of an error, a log line or a printed value.
package authentik

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pvesso/pvesso/internal/tlstrust"
)

// APIPrefix is the base path of the authentik REST API.
const APIPrefix = "/api/v3"

const (
	// DefaultTimeout bounds every request of the default HTTP client.
	DefaultTimeout = 30 * time.Second
	// PageSize is the page_size sent on list calls: authentik caps page_size
	// at 100 from 2025.12 (tenant pagination_max_page_size) and honours any
	// value before.
	PageSize = 100
	// MaxPages bounds the pagination loop of a single list call.
	MaxPages = 200
	// maxBody bounds how much of one response is read.
	maxBody = 16 << 20
)

// Client talks to one authentik server. It is safe for concurrent use.
type Client struct {
	base  *url.URL // scheme://host[:port][/prefix], no trailing slash
	token string
	hc    *http.Client

	mu       sync.Mutex
	version  Version
	detected bool // version came from the server or WithVersion
	vinfo    *VersionInfo
	// asking is the GET /admin/version/ in flight, shared by every caller
	// that needs the version meanwhile (nil when none is).
	asking *versionCall
}

// versionCall is one GET /admin/version/ that concurrent callers share.
type versionCall struct {
	done chan struct{}
	vi   *VersionInfo
	err  error
}

// Option configures a Client.
type Option func(*clientConfig) error

type clientConfig struct {
	hc      *http.Client
	tls     *tlstrust.Config
	timeout time.Duration
	version *Version
}

// WithHTTPClient uses hc for every request (it must do its own TLS trust).
// The client never follows redirects, whatever hc.CheckRedirect says.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error {
		if hc == nil {
			return errors.New("authentik: WithHTTPClient(nil)")
		}
		c.hc = hc
		c.tls = nil
		return nil
	}
}

// WithTLS trusts per cfg (system roots, CA file, leaf pin). There is no way
// to skip verification.
func WithTLS(cfg tlstrust.Config) Option {
	return func(c *clientConfig) error {
		c.tls = &cfg
		c.hc = nil
		return nil
	}
}

// WithTimeout sets the per-request timeout of the default HTTP client.
func WithTimeout(d time.Duration) Option {
	return func(c *clientConfig) error {
		if d <= 0 {
			return errors.New("authentik: WithTimeout needs a positive duration")
		}
		c.timeout = d
		return nil
	}
}

// WithVersion skips version detection and encodes requests for v.
func WithVersion(v Version) Option {
	return func(c *clientConfig) error {
		if v.IsZero() {
			return errors.New("authentik: WithVersion needs a version")
		}
		c.version = &v
		return nil
	}
}

// New returns a client for the authentik server at baseURL (for example
// https://auth.example.com:9443, without /api/v3). Plain http is refused
// except for loopback addresses, because the token would travel in clear
// (a pvesso design choice, not an authentik rule).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("authentik: base URL: %w", err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("authentik: base URL %q must look like https://host[:port]", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("authentik: base URL must not carry credentials, a query or a fragment")
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("authentik: refusing plain http to %s: the API token would be sent unencrypted; use https", u.Host)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.Path = strings.TrimSuffix(u.Path, APIPrefix)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if token == "" {
		return nil, errors.New("authentik: an API token is required")
	}
	if strings.ContainsAny(token, " \t\r\n") {
		// never echo the token
		return nil, errors.New("authentik: the API token contains white space")
	}

	cfg := clientConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	hc := cfg.hc
	if hc == nil {
		tc := tlstrust.Config{}
		if cfg.tls != nil {
			tc = *cfg.tls
		}
		hc, err = tlstrust.NewHTTPClient(tc, cfg.timeout)
		if err != nil {
			return nil, fmt.Errorf("authentik: TLS: %w", err)
		}
	}
	// A shallow copy so that redirects are never followed (a redirect would
	// hide a wrong base URL or a login page) without touching the caller's
	// client.
	hcCopy := *hc
	hcCopy.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{base: u, token: token, hc: &hcCopy}
	if cfg.version != nil {
		c.version = *cfg.version
		c.detected = true
	}
	return c, nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// BaseURL returns the server's base URL (no trailing slash, no /api/v3).
func (c *Client) BaseURL() string { return c.base.String() }

// IssuerURL predicts the OIDC issuer of the application slug with
// issuer_mode per_provider: <base>/application/o/<slug>/ (trailing slash).
// authentik builds the real issuer from the request's host and scheme, so
// verify it with Discovery.
func (c *Client) IssuerURL(slug string) string {
	return c.BaseURL() + "/application/o/" + url.PathEscape(slug) + "/"
}

// Version returns the server version in use: the one given with WithVersion,
// or the one detected by ServerVersion (zero if neither happened yet).
func (c *Client) Version() Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// ServerVersion asks GET /api/v3/admin/version/ and records the version for
// the version-dependent calls (unless WithVersion fixed it). Concurrent
// callers (including the detection of version-dependent calls) share one
// request.
func (c *Client) ServerVersion(ctx context.Context) (*VersionInfo, error) {
	return c.versionInfo(ctx, false)
}

// DetectVersion is ServerVersion without a second request: it returns the
// answer the client already has (from ServerVersion or from the detection
// of a version-dependent call), joins the request in flight, or asks.
func (c *Client) DetectVersion(ctx context.Context) (*VersionInfo, error) {
	return c.versionInfo(ctx, true)
}

func (c *Client) versionInfo(ctx context.Context, reuse bool) (*VersionInfo, error) {
	if ctx == nil {
		return nil, errors.New("authentik: nil context")
	}
	c.mu.Lock()
	if reuse && c.vinfo != nil {
		out := *c.vinfo
		c.mu.Unlock()
		return &out, nil
	}
	call := c.asking
	leader := call == nil
	if leader {
		call = &versionCall{done: make(chan struct{})}
		c.asking = call
	}
	c.mu.Unlock()
	if leader {
		// askVersion records vinfo before the call is cleared, so a caller
		// that finds no call in flight finds the recorded answer.
		call.vi, call.err = c.askVersion(ctx)
		c.mu.Lock()
		c.asking = nil
		c.mu.Unlock()
		close(call.done)
	} else {
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if call.err != nil {
		return nil, call.err
	}
	out := *call.vi
	return &out, nil
}

func (c *Client) askVersion(ctx context.Context) (*VersionInfo, error) {
	var vi VersionInfo
	if err := c.do(ctx, http.MethodGet, "/admin/version/", nil, nil, &vi); err != nil {
		return nil, err
	}
	if vi.Current == "" {
		return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + "/admin/version/", StatusCode: 200, Reason: "version_current is empty"}
	}
	v, err := ParseVersion(vi.Current)
	if err != nil {
		return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + "/admin/version/", StatusCode: 200, Reason: "version_current", Err: err}
	}
	vi.Parsed = v
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vinfo = &vi
	if !c.detected || c.version.IsZero() {
		c.version = v
		c.detected = true
	}
	return &vi, nil
}

// knownVersion returns the version when WithVersion gave it or it was
// detected already.
func (c *Client) knownVersion() (Version, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version, c.detected
}

// serverVersion returns the version to encode for, detecting it once
// (concurrent callers share the request).
func (c *Client) serverVersion(ctx context.Context) (Version, error) {
	if v, ok := c.knownVersion(); ok {
		return v, nil
	}
	if _, err := c.DetectVersion(ctx); err != nil {
		return Version{}, fmt.Errorf("authentik: detecting the server version: %w", err)
	}
	v, _ := c.knownVersion() // WithVersion wins over the detected one
	return v, nil
}

// versionAlongside runs read — a request that does not depend on the
// server version, only its decoding does — concurrently with the version
// detection when the version is not known yet, so a fresh client needs one
// round trip instead of two. It returns once both are back. A failed
// detection cancels read and is the error returned; read's own outcome is
// left to read (it records it in its closure), and the caller decodes only
// with the version in hand.
func (c *Client) versionAlongside(ctx context.Context, read func(ctx context.Context)) (Version, error) {
	if v, ok := c.knownVersion(); ok {
		read(ctx)
		return v, nil
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		read(rctx)
	}()
	v, err := c.serverVersion(ctx)
	if err != nil {
		cancel()
	}
	<-done
	return v, err
}

// apiURL builds <base>/api/v3<path>?<query>.
func (c *Client) apiURL(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + APIPrefix + path
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// do sends one API request. body (if not nil) is JSON-encoded; out (if not
// nil) receives the JSON answer of a 2xx response.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	return c.send(ctx, method, c.apiURL(path, q), APIPrefix+path, true, body, out)
}

func (c *Client) send(ctx context.Context, method, rawURL, errPath string, auth bool, body, out any) error {
	if ctx == nil {
		return errors.New("authentik: nil context")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("authentik: encoding %s %s: %w", method, errPath, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return fmt.Errorf("authentik: %s %s: %w", method, errPath, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.scrub(fmt.Errorf("authentik: %s %s: %w", method, errPath, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return c.scrub(fmt.Errorf("authentik: %s %s: reading the answer: %w", method, errPath, err))
	}
	if len(data) > maxBody {
		return &ResponseError{Method: method, Path: errPath, StatusCode: resp.StatusCode, Reason: "answer larger than 16 MiB"}
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{StatusCode: resp.StatusCode, Method: method, Path: errPath}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			ae.Detail = "unexpected redirect"
			if loc := resp.Header.Get("Location"); loc != "" {
				ae.Detail += " to " + excerpt(loc)
			}
		} else {
			ae.parseErrorBody(data, ct)
		}
		ae.mask(c.redact)
		return ae
	}
	if out == nil {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return &ResponseError{Method: method, Path: errPath, StatusCode: resp.StatusCode,
			Reason: fmt.Sprintf("content type %q is not JSON: %s", ct, c.redact(excerpt(string(data))))}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &ResponseError{Method: method, Path: errPath, StatusCode: resp.StatusCode, Reason: "cannot decode JSON", Err: err}
	}
	return nil
}

// clientSecretField matches a "client_secret" JSON member, its value cut
// off or whole: provider answers carry the stored secret.
var clientSecretField = regexp.MustCompile(`("client_secret"\s*:\s*")[^"]*"?`)

// redact removes the token and any client_secret value from a
// server-provided string (defence in depth: authentik does not echo the
// token, but an excerpt of a provider answer would hold its secret).
func (c *Client) redact(s string) string {
	s = clientSecretField.ReplaceAllString(s, `${1}[REDACTED]"`)
	return maskSecret(s, c.token)
}

// maskSecret replaces every occurrence of secret in s ("" masks nothing).
func maskSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// scrub makes sure a transport error cannot carry the token.
func (c *Client) scrub(err error) error {
	if err == nil || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return errors.New(c.redact(err.Error()))
}

// filterQuery builds a query from name, value pairs, leaving out the empty
// values (an empty filter value does not filter).
func filterQuery(pairs ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q
}

// pagination is authentik's pagination object; next/previous are page
// numbers, 0 meaning none.
type pagination struct {
	Next       *float64 `json:"next"`
	Previous   *float64 `json:"previous"`
	Count      *float64 `json:"count"`
	Current    *float64 `json:"current"`
	TotalPages *float64 `json:"total_pages"`
}

type page struct {
	Pagination *pagination        `json:"pagination"`
	Results    *[]json.RawMessage `json:"results"`
}

// item is implemented by the raw JSON shapes of list results so the list
// loop can reject entries that lack their primary key.
type item interface{ valid() error }

// list follows pagination.next until the last page and decodes every result
// into T. The loop is bounded by MaxPages and refuses a next page that does
// not advance.
func list[T any, PT interface {
	*T
	item
}](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	return listMax[T, PT](ctx, c, path, q, 0, nil)
}

// listMax is list that keeps only the results keep accepts (nil = all) and
// stops reading pages once it has limit of them (0 = no limit). It may
// return more than limit (the rest of the last page).
func listMax[T any, PT interface {
	*T
	item
}](ctx context.Context, c *Client, path string, q url.Values, limit int, keep func(*T) bool) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	var out []T
	pageNo := 1
	for n := 0; ; n++ {
		if n >= MaxPages {
			return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + path, StatusCode: 200,
				Reason: fmt.Sprintf("more than %d pages", MaxPages)}
		}
		q.Set("page", strconv.Itoa(pageNo))
		q.Set("page_size", strconv.Itoa(PageSize))
		var p page
		if err := c.do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
			return nil, err
		}
		bad := func(reason string, err error) error {
			return &ResponseError{Method: http.MethodGet, Path: APIPrefix + path, StatusCode: 200, Reason: reason, Err: err}
		}
		if p.Results == nil {
			return nil, bad("no results array", nil)
		}
		if p.Pagination == nil || p.Pagination.Next == nil {
			return nil, bad("no pagination.next", nil)
		}
		for i, raw := range *p.Results {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, bad(fmt.Sprintf("results[%d]", i), err)
			}
			if err := PT(&v).valid(); err != nil {
				return nil, bad(fmt.Sprintf("results[%d]", i), err)
			}
			if keep == nil || keep(&v) {
				out = append(out, v)
			}
		}
		next := *p.Pagination.Next
		if next == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		if next != float64(int(next)) || int(next) <= pageNo {
			return nil, bad(fmt.Sprintf("pagination.next %v does not follow page %d", next, pageNo), nil)
		}
		pageNo = int(next)
	}
}
