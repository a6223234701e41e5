package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Ticket is a PVE login ticket (from OpenIDLogin). Its String/Format never
// print the ticket or CSRF token.
type Ticket struct {
	Username            string
	Ticket              string
	CSRFPreventionToken string
	ClusterName         string
	Cap                 map[string]map[string]int
}

// String describes the ticket without its secrets.
func (t Ticket) String() string { return "PVE ticket of " + t.Username }

// GoString is String.
func (t Ticket) GoString() string { return "proxmox.Ticket{" + t.String() + "}" }

// Format prints String for every verb.
func (t Ticket) Format(f fmt.State, verb rune) { fmt.Fprint(f, t.String()) }

// OpenIDAuthURL asks the node for the IdP authorization URL
// (POST /access/openid/auth-url; no authentication). redirectURL is the
// origin the browser uses, e.g. "https://pve1.example.com:8006". A 200 proves
// the node reaches, trusts and matches the issuer; failures are HTTP 500
// with the library's message (e.g. "Request failed").
func (c *Client) OpenIDAuthURL(ctx context.Context, realm, redirectURL string) (string, error) {
	if err := checkRealm(realm); err != nil {
		return "", err
	}
	if redirectURL == "" || len(redirectURL) > 255 {
		return "", invalidf("redirect-url must have 1-255 characters")
	}
	var out flexString
	err := c.do(ctx, call{method: http.MethodPost, path: "/access/openid/auth-url", noAuth: true,
		params: url.Values{"realm": {realm}, "redirect-url": {redirectURL}}}, &out)
	if err != nil {
		return "", err
	}
	if out == "" {
		return "", fmt.Errorf("proxmox: auth-url returned no URL")
	}
	return string(out), nil
}

// OpenIDLogin finishes an OpenID login (POST /access/openid/login; no
// authentication) with the code and state the IdP sent to redirectURL.
// Every failure is 401 "authentication failure" (ErrUnauthenticated); the
// cause is only in the node's journal.
func (c *Client) OpenIDLogin(ctx context.Context, code, state, redirectURL string) (*Ticket, error) {
	if code == "" || state == "" || redirectURL == "" {
		return nil, invalidf("code, state and redirect-url are required")
	}
	var raw struct {
		Username            flexString                `json:"username"`
		Ticket              flexString                `json:"ticket"`
		CSRFPreventionToken flexString                `json:"CSRFPreventionToken"`
		ClusterName         flexString                `json:"clustername"`
		Cap                 map[string]map[string]int `json:"cap"`
	}
	err := c.do(ctx, call{method: http.MethodPost, path: "/access/openid/login", noAuth: true,
		params: url.Values{"code": {code}, "state": {state}, "redirect-url": {redirectURL}},
		secret: []string{code}}, &raw)
	if err != nil {
		return nil, err
	}
	return &Ticket{Username: string(raw.Username), Ticket: string(raw.Ticket), CSRFPreventionToken: string(raw.CSRFPreventionToken),
		ClusterName: string(raw.ClusterName), Cap: raw.Cap}, nil
}
