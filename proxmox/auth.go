package proxmox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

type authKind int

const (
	authNone authKind = iota
	authToken
	authPassword
	authTicket
)

// Auth holds credentials. Its fields are unexported and its String/Format
// methods never print a secret. The zero value sends no credentials.
type Auth struct {
	kind authKind
	// token
	tokenID string // user@realm!tokenid
	secret  string
	// password / ticket
	username string
	password string
	otp      string
	ticket   string
	csrf     string
}

// PVE token id: <user>@<realm>!<tokenid>, tokenid like a realm name
// (pve-access-control: $token_subid_regex = $realm_regex).
var tokenIDRE = regexp.MustCompile(`^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$`)

// TokenAuth parses an API token "USER@REALM!TOKENID=SECRET" (an optional
// leading "PVEAPIToken=" is accepted). The value is split at the last "=",
// as the server does. Errors never repeat the secret.
func TokenAuth(spec string) (Auth, error) {
	spec = strings.TrimSpace(spec)
	spec = strings.TrimPrefix(spec, "PVEAPIToken=")
	i := strings.LastIndex(spec, "=")
	if i <= 0 || i == len(spec)-1 {
		return Auth{}, invalidf("API token must look like USER@REALM!TOKENID=SECRET")
	}
	id, secret := spec[:i], spec[i+1:]
	if !tokenIDRE.MatchString(id) {
		return Auth{}, invalidf("API token id must look like USER@REALM!TOKENID (REALM and TOKENID: a letter, then at least one more of A-Z a-z 0-9 . - _)")
	}
	if user := id[:strings.LastIndex(id, "!")]; len(user) > 64 {
		return Auth{}, invalidf("API token user id is longer than 64 characters")
	}
	if strings.ContainsAny(secret, " \t\r\n") {
		return Auth{}, invalidf("API token secret contains whitespace")
	}
	return Auth{kind: authToken, tokenID: id, secret: secret}, nil
}

// PasswordAuth logs in with a ticket (POST /access/ticket). otp is the
// current TOTP code ("123456") or "recovery:<key>"; it is only used when the
// server asks for a second factor, and may be "" for accounts without one.
func PasswordAuth(username, password, otp string) Auth {
	return Auth{kind: authPassword, username: strings.TrimSpace(username), password: password, otp: strings.TrimSpace(otp)}
}

// TicketAuth uses an existing ticket (e.g. from OpenIDLogin). The client
// cannot renew it; after its 2-hour lifetime calls fail with ErrUnauthenticated.
func TicketAuth(t Ticket) Auth {
	return Auth{kind: authTicket, username: t.Username, ticket: t.Ticket, csrf: t.CSRFPreventionToken}
}

// String describes the credential without its secret.
func (a Auth) String() string {
	switch a.kind {
	case authToken:
		return "API token " + a.tokenID
	case authPassword:
		return "password login of " + a.username
	case authTicket:
		return "ticket of " + a.username
	}
	return "no credentials"
}

// GoString is String (so %#v cannot leak the secret).
func (a Auth) GoString() string { return "proxmox.Auth{" + a.String() + "}" }

// Format prints String for every verb.
func (a Auth) Format(f fmt.State, verb rune) { fmt.Fprint(f, a.String()) }

// session is a ticket obtained by login.
type session struct {
	username string
	ticket   string
	csrf     string
	cap      map[string]map[string]int
	issued   time.Time
	fixed    bool // from TicketAuth: cannot be renewed
}

// Tickets live 2 h (pve-access-control $ticket_lifetime); renew after 1 h.
const (
	ticketLifetime  = 2 * time.Hour
	ticketRenewAge  = time.Hour
	ticketSafetyGap = 5 * time.Minute
)

func (c *Client) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

func (c *Client) dropSession() {
	c.mu.Lock()
	if c.sess != nil && !c.sess.fixed {
		c.sess = nil
	}
	c.mu.Unlock()
}

// AuthUser is the authenticated user: the token's owner ("user@realm") or
// the login name (as normalised by the server after login).
func (c *Client) AuthUser() string {
	switch c.auth.kind {
	case authToken:
		return c.auth.tokenID[:strings.LastIndex(c.auth.tokenID, "!")]
	case authPassword, authTicket:
		if s := c.session(); s != nil && s.username != "" {
			return s.username
		}
		return c.auth.username
	}
	return ""
}

// TokenID is "user@realm!tokenid" for token auth, else "".
func (c *Client) TokenID() string {
	if c.auth.kind == authToken {
		return c.auth.tokenID
	}
	return ""
}

// Login makes sure the client holds a valid ticket for password auth (no-op
// for other kinds): it logs in when there is none and reuses — or renews —
// a live one. Calls log in lazily anyway; Login lets a caller check
// credentials up front. Reusing the ticket matters with a second factor: a
// TOTP code is good for about a minute, a ticket for two hours, so a second
// Login must not send the same code again.
func (c *Client) Login(ctx context.Context) error {
	if c.auth.kind != authPassword {
		return nil
	}
	return c.ensureTicket(ctx)
}

// ensureTicket logs in when there is no ticket, and renews an old one.
func (c *Client) ensureTicket(ctx context.Context) error {
	if s := c.session(); s != nil && (s.fixed || c.now().Sub(s.issued) < ticketRenewAge) {
		return nil
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	s := c.session()
	if s != nil && c.now().Sub(s.issued) < ticketRenewAge {
		return nil // another goroutine renewed it
	}
	if s != nil && c.now().Sub(s.issued) < ticketLifetime-ticketSafetyGap {
		// Renew: the old ticket is a valid password (no second factor needed).
		if err := c.renewLocked(ctx, s); err == nil {
			return nil
		}
	}
	return c.loginLocked(ctx)
}

type ticketResponse struct {
	Username            string                    `json:"username"`
	Ticket              string                    `json:"ticket"`
	CSRFPreventionToken string                    `json:"CSRFPreventionToken"`
	Cap                 map[string]map[string]int `json:"cap"`
	ClusterName         string                    `json:"clustername"`
	NeedTFA             flexBool                  `json:"NeedTFA"`
}

func (c *Client) postTicket(ctx context.Context, params url.Values, extraSecrets ...string) (*ticketResponse, error) {
	var res ticketResponse
	err := c.send(ctx, call{
		method: http.MethodPost, path: "/access/ticket", params: params, noAuth: true,
		secret: append([]string{params.Get("password"), params.Get("tfa-challenge")}, extraSecrets...),
	}, &res)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func (c *Client) renewLocked(ctx context.Context, s *session) error {
	res, err := c.postTicket(ctx, url.Values{"username": {s.username}, "password": {s.ticket}}, s.ticket)
	if err != nil {
		return err
	}
	if res.NeedTFA.or(false) || res.Ticket == "" {
		return errors.New("proxmox: ticket renewal did not return a full ticket")
	}
	c.setSession(res)
	return nil
}

func (c *Client) setSession(res *ticketResponse) {
	c.mu.Lock()
	c.sess = &session{
		username: res.Username, ticket: res.Ticket, csrf: res.CSRFPreventionToken,
		cap: res.Cap, issued: c.now(),
	}
	c.mu.Unlock()
}

func (c *Client) loginLocked(ctx context.Context) error {
	a := c.auth
	if a.username == "" || a.password == "" {
		return invalidf("password login needs a user name and a password")
	}
	params := url.Values{"username": {a.username}, "password": {a.password}, "new-format": {"1"}}
	res, err := c.postTicket(ctx, params)
	legacy := false
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest && ae.Errors["new-format"] != "" {
		// PVE 7.0 (access-control < 7.0-7) does not know new-format
		// (proxmox-api.md §2.2); retry without it.
		legacy = true
		params.Del("new-format")
		res, err = c.postTicket(ctx, params)
	}
	if err != nil {
		return err
	}
	if res.NeedTFA.or(false) {
		if legacy {
			return &TFARequiredError{Username: a.username, Reason: "this Proxmox VE 7.0 server uses the old second-factor flow (/access/tfa), which pvesso does not support; use an API token"}
		}
		res, err = c.secondFactor(ctx, res)
		if err != nil {
			return err
		}
	}
	if res.Ticket == "" || res.CSRFPreventionToken == "" {
		return fmt.Errorf("proxmox: login answer lacks ticket or CSRF token")
	}
	c.setSession(res)
	return nil
}

// tfaChallenge is the JSON inside a "PVE:!tfa!<challenge>:..." ticket
// (proxmox-tfa TfaChallenge, kebab-case keys).
type tfaChallenge struct {
	TOTP     bool            `json:"totp"`
	Recovery json.RawMessage `json:"recovery"`
	WebAuthn json.RawMessage `json:"webauthn"`
	U2F      json.RawMessage `json:"u2f"`
	Yubico   bool            `json:"yubico"`
}

func (t tfaChallenge) methods() []string {
	var m []string
	present := func(r json.RawMessage) bool {
		s := strings.TrimSpace(string(r))
		return s != "" && s != "null" && s != "[]" && s != "false"
	}
	if t.TOTP {
		m = append(m, "totp")
	}
	if present(t.Recovery) {
		m = append(m, "recovery")
	}
	if present(t.WebAuthn) {
		m = append(m, "webauthn")
	}
	if present(t.U2F) {
		m = append(m, "u2f")
	}
	if t.Yubico {
		m = append(m, "yubico")
	}
	return m
}

// parseTFAChallenge decodes the challenge the way the GUI does: the part
// between the first and second ':' of the ticket, minus "!tfa!",
// URI-unescaped, is JSON.
func parseTFAChallenge(ticket string) (tfaChallenge, bool) {
	var ch tfaChallenge
	parts := strings.SplitN(ticket, ":", 3)
	if len(parts) < 2 || !strings.HasPrefix(parts[1], "!tfa!") {
		return ch, false
	}
	raw, err := url.PathUnescape(strings.TrimPrefix(parts[1], "!tfa!"))
	if err != nil {
		return ch, false
	}
	if json.Unmarshal([]byte(raw), &ch) != nil {
		return ch, false
	}
	return ch, true
}

// secondFactor answers a NeedTFA challenge: POST /access/ticket with
// username, tfa-challenge=<the !tfa! ticket> and password=<type>:<response>.
func (c *Client) secondFactor(ctx context.Context, first *ticketResponse) (*ticketResponse, error) {
	a := c.auth
	ch, parsed := parseTFAChallenge(first.Ticket)
	methods := ch.methods()
	if a.otp == "" {
		return nil, &TFARequiredError{Username: a.username, Methods: methods, Reason: "no one-time password given"}
	}
	kind, response := "totp", a.otp
	if k, v, ok := strings.Cut(a.otp, ":"); ok && (k == "totp" || k == "recovery") {
		kind, response = k, v
	}
	if parsed && !slices.Contains(methods, kind) {
		return nil, &TFARequiredError{Username: a.username, Methods: methods, Reason: "the account has no " + kind + " factor"}
	}
	user := first.Username
	if user == "" {
		user = a.username
	}
	res, err := c.postTicket(ctx, url.Values{
		"username":      {user},
		"tfa-challenge": {first.Ticket},
		"password":      {kind + ":" + response},
	}, response)
	if err != nil {
		return nil, err
	}
	if res.NeedTFA.or(false) {
		return nil, &TFARequiredError{Username: a.username, Methods: methods, Reason: "the server asked for a second factor again"}
	}
	return res, nil
}
