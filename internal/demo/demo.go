// Package demo runs the simulators behind `pvesso demo`: an Authentik
// simulator and a 3-node Proxmox VE cluster simulator, both over TLS on
// loopback, the cluster trusting Authentik's certificate for OpenID. It
// hands out the prefilled, pinned connection for the wizard, performs a
// browser-less login (the closed loop without a browser), and serves the
// simulators alone for `pvesso demo --serve`.
package demo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	aksim "github.com/pvesso/pvesso/authentik/sim"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
	"github.com/pvesso/pvesso/steps"
)

// Options choose what is simulated. The zero value is the seed's setup:
// Authentik 2025.8.1 and a 3-node Proxmox VE 8.4.14 cluster.
type Options struct {
	AuthentikVersion string
	ProxmoxVersion   string
	Nodes            int // 1 or 3 (default 3)
	Latency          time.Duration
	// Port is the port the simulated nodes try first (0 = 8006, the port
	// of a real node's GUI and API). pvesso registers every node's origin
	// as https://<ip>:8006, so only then do those redirect URIs reach the
	// simulated nodes. When it is taken on any of 127.0.0.1-3 the nodes
	// listen on free ports instead (Demo.PortNote says so).
	Port int
	// RandomPorts skips the preferred port (tests).
	RandomPorts bool
}

// PVEPort is the port a Proxmox VE node's GUI and API listen on.
const PVEPort = 8006

// User is a simulated Authentik user whose password the demo shows.
type User struct {
	Username, Email, Password string
}

// Demo is a running pair of simulators.
type Demo struct {
	Authentik *aksim.Server
	Proxmox   *pvesim.Server
	// Conn is the prefilled connection: URLs, the admin tokens, and both
	// certificates pinned by SHA-256 fingerprint.
	Conn steps.Conn
	// Inputs are the defaults with both URLs.
	Inputs steps.Inputs
	// Users are the demo's Authentik users (alice and bob).
	Users []User
	// PortNote is "" when the nodes listen on the preferred port, else
	// one sentence saying why they do not and what that means.
	PortNote string
}

// DemoUsers are the Authentik users the demo offers for logging in.
var DemoUsers = []string{"alice", "bob"}

// Start starts both simulators. Close stops them; Start also stops them
// when ctx ends.
func Start(ctx context.Context, opts Options) (*Demo, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	ak, err := aksim.NewServer(aksim.Options{Version: opts.AuthentikVersion, Latency: opts.Latency})
	if err != nil {
		return nil, fmt.Errorf("authentik simulator: %w", err)
	}
	if err := ak.Start(); err != nil {
		return nil, fmt.Errorf("authentik simulator: %w", err)
	}
	// The cluster reaches the issuer with its own trust store, which
	// trusts the simulated Authentik's self-signed certificate (like an
	// admin who installed the CA on the nodes).
	popts := pvesim.Options{Version: opts.ProxmoxVersion, Nodes: opts.Nodes, OIDCRoots: ak.CertPool(), Latency: opts.Latency}
	pve, note, err := startProxmox(popts, opts)
	if err != nil {
		ak.Close()
		return nil, fmt.Errorf("proxmox simulator: %w", err)
	}
	d := &Demo{Authentik: ak, Proxmox: pve, PortNote: note}
	d.Conn = steps.Conn{
		AuthentikURL:   ak.URL(),
		AuthentikToken: ak.AdminToken(),
		AuthentikPin:   ak.Fingerprint(),
		ProxmoxURL:     pve.URL(),
		ProxmoxToken:   pve.RootToken(),
		ProxmoxPin:     pve.Fingerprint(),
	}
	d.Inputs = steps.DefaultInputs()
	d.Inputs.AuthentikURL, d.Inputs.ProxmoxURL = d.Conn.AuthentikURL, d.Conn.ProxmoxURL
	for _, name := range DemoUsers {
		u := User{Username: name, Password: ak.UserPassword(name)}
		for _, snap := range ak.Users() {
			if snap.Username == name {
				u.Email = snap.Email
			}
		}
		d.Users = append(d.Users, u)
	}
	go func() {
		<-ctx.Done()
		d.Close()
	}()
	return d, nil
}

// startProxmox starts the cluster on the preferred port on every node,
// else on free ports (with a note saying so).
func startProxmox(po pvesim.Options, opts Options) (*pvesim.Server, string, error) {
	port := opts.Port
	if port == 0 {
		port = PVEPort
	}
	if !opts.RandomPorts {
		po.Port = port
		pve, err := newProxmox(po)
		if err == nil {
			if err = pve.Start(); err == nil {
				return pve, "", nil
			}
		}
		// ASSUMPTION: any failure on the fixed port (taken, or no
		// 127.0.0.2/.3 on this host) is worth a retry on free ports; a
		// real problem fails that retry too.
		po.Port = 0
		pve, err2 := newProxmox(po)
		if err2 == nil {
			err2 = pve.Start()
		}
		if err2 != nil {
			return nil, "", err2
		}
		return pve, fmt.Sprintf("Port %d is not free on every simulated node, so they listen on random ports: the nodes' redirect URIs (https://<ip>:%d) do not reach them in this demo.", port, port), nil
	}
	pve, err := newProxmox(po)
	if err != nil {
		return nil, "", err
	}
	if err := pve.Start(); err != nil {
		return nil, "", err
	}
	return pve, "", nil
}

// newProxmox turns the simulator's panics on bad options into errors.
func newProxmox(o pvesim.Options) (s *pvesim.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return pvesim.New(o), nil
}

// Close stops both simulators (safe to call twice).
func (d *Demo) Close() {
	d.Authentik.Close()
	d.Proxmox.Close()
}

// HTTPClient is a browser stand-in: it trusts both simulators (every
// cluster node), keeps cookies, follows at most 10 redirects and only
// talks to loopback.
func (d *Demo) HTTPClient() *http.Client {
	roots := d.Proxmox.CertPool() // a fresh pool with every node's certificate
	roots.AppendCertsFromPEM(d.Authentik.CertPEM())
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}, DisableKeepAlives: true}
	return &http.Client{
		Transport: tr,
		Jar:       jar,
		Timeout:   20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			if !isLoopback(req.URL) {
				return fmt.Errorf("refusing to leave loopback: %s", req.URL.Host)
			}
			return nil
		},
	}
}

func isLoopback(u *url.URL) bool {
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

var loggedInRE = regexp.MustCompile(`id="result">logged in as ([^<]+)<`)
var loginErrRE = regexp.MustCompile(`id="error">([^<]+)<`)

// SimulateLogin logs username in through Proxmox the way a browser would:
// the Authentik simulator treats the next authorization request as made by
// a logged-in username (its LoginHook), and the client follows the
// redirects Authentik → Proxmox, whose page completes the OpenID login.
// loginURL is an auth-url link (or "" to start at the Proxmox login page).
// It returns the userid Proxmox logged in.
func (d *Demo) SimulateLogin(ctx context.Context, loginURL, username string) (string, error) {
	if loginURL == "" {
		loginURL = d.Conn.ProxmoxURL + "/?realm=" + url.QueryEscape(d.Inputs.Realm) + "&start=1"
	}
	u, err := url.Parse(loginURL)
	if err != nil || !isLoopback(u) {
		return "", fmt.Errorf("not a loopback login URL: %q", loginURL)
	}
	d.Authentik.LoginHook(username)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loginURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := d.HTTPClient().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if m := loggedInRE.FindSubmatch(body); m != nil {
		return string(m[1]), nil
	}
	if m := loginErrRE.FindSubmatch(body); m != nil {
		return "", fmt.Errorf("proxmox: %s", m[1])
	}
	return "", fmt.Errorf("login did not complete (last page %s, status %d)", resp.Request.URL.Redacted(), resp.StatusCode)
}

// Serve starts the simulators, writes the environment the CLI reads as
// KEY=VALUE lines (ready to paste after `export`), and runs until ctx ends.
func Serve(ctx context.Context, w io.Writer) error {
	d, err := Start(ctx, Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := WriteEnv(w, d); err != nil {
		return err
	}
	if d.PortNote != "" {
		// a shell comment: harmless when the lines are pasted
		if _, err := fmt.Fprintf(w, "# %s\n", d.PortNote); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// WriteEnv writes the contract's environment variables for d.
//
// The tokens are printed on purpose: they are the simulators' own,
// throw-away credentials, valid only on loopback for the life of this
// process, and printing them is the point of --serve.
func WriteEnv(w io.Writer, d *Demo) error {
	lines := []struct{ k, v string }{
		{"AUTHENTIK_URL", d.Conn.AuthentikURL},
		{"AUTHENTIK_TOKEN", d.Conn.AuthentikToken},
		{"AUTHENTIK_FINGERPRINT", d.Conn.AuthentikPin},
		{"PROXMOX_VE_ENDPOINT", d.Conn.ProxmoxURL},
		{"PROXMOX_VE_API_TOKEN", d.Conn.ProxmoxToken},
		{"PROXMOX_VE_FINGERPRINT", d.Conn.ProxmoxPin},
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s=%s\n", l.k, shellQuote(l.v))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes v for POSIX shells when it holds anything but safe
// characters (the Proxmox token has '!' and '@').
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
