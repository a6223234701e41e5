// Package steps is pvesso's setup engine: it reads both servers, computes a
// plan (create / update with a field-by-field diff / nothing to do /
// conflict), applies it idempotently and verifies the result. It is UI-free:
// the CLI, the wizard and the tests drive the same Engine (the "Runner").
//
// Imports flow main → ui → steps → clients; this package never imports ui/,
// bubbletea or lipgloss.
//
// Design notes:
//
//   - Steps (preflight, signing key, provider, application, issuer, realm,
//     group, ACL, users, login test) each have Check (read-only), Plan
//     (pure: facts → items and decisions) and Apply (idempotent). All
//     checks run concurrently; shared reads are memoised so each request is
//     sent once. Apply runs the writes in dependency stages whose steps run
//     concurrently: key generation (only when consented) → provider ∥ realm
//     ∥ group → application ∥ ACL ∥ users → issuer check ∥ auth-url. The
//     realm can be written together with the provider because pvesso
//     generates the client id and secret itself and predicts the issuer
//     (then verifies it through discovery, correcting the realm if needed).
//   - Identity: the provider is found by the realm's client id, else by the
//     managed application's binding, else by name; the application by slug,
//     the realm and group by id, users by the predicted userid. So a run that
//     failed half way is completed by the next run without duplicates.
//   - Ownership: the realm's comment, the application's description, the
//     groups and users pvesso creates carry ManagedMarker; the provider is
//     owned when the managed realm uses its client id or the managed
//     application is bound to it. Changes to owned objects are updates;
//     changes to anything else are conflicts (Apply needs AllowConflicts).
//     Some conflicts cannot be resolved at all (a realm of another type or
//     with another username-claim) and are refused with the flag to use.
//   - Plan.Problems lists what no change of pvesso's fixes (those
//     conflicts; an issuer check that fails while the provider and the
//     application stay as they are, e.g. an http:// issuer behind an
//     untrusted reverse proxy). Plan.OK() is "nothing to change and no
//     problem": what `pvesso status` exits 0 on.
//   - Modes: Plan (setup), PlanUsers (`users add`: only the checks and the
//     step users need) and PlanRemove each make their own check pass
//     (Report() returns it); Apply carries out any of their plans.
//   - The client secret: Authentik returns an existing provider's
//     client_secret; it is reused as the realm's client-key. Proxmox may or
//     may not return client-key (the code says it does, third-party docs say
//     it does not): when it does, the proxmox client compares hashes and a
//     stale key shows as drift; when it does not, drift cannot be seen and
//     pvesso pushes the key whenever the secret is new (provider created,
//     secret reset) or the realm's client id changes.
//   - A rerun with nothing to change sends no write at all. auth-url (a POST
//     that leaves a login state on the node) runs only after changes; the
//     login test link is available any time from LoginURL.
//   - Secrets (tokens, client secret) are never part of a plan, an event, a
//     result or an error; plans show "(secret)".
package steps

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Defaults for Inputs (see DefaultInputs).
const (
	DefaultRealm         = "authentik"
	DefaultGroup         = "admin"
	DefaultRole          = "Administrator"
	DefaultACLPath       = "/"
	DefaultAppSlug       = "proxmox"
	DefaultAppName       = "Proxmox VE"
	DefaultSubjectMode   = "user_email"
	DefaultUsernameClaim = "subject"
	DefaultScopes        = "openid email profile"

	// ManagedMarker marks objects pvesso manages: the Proxmox realm, group
	// and user comments and the Authentik application description carry it.
	ManagedMarker = "managed by pvesso"
)

// Inputs is everything the user chooses. Start from DefaultInputs().
type Inputs struct {
	AuthentikURL string `json:"authentik_url"`
	ProxmoxURL   string `json:"proxmox_url"`

	Realm   string `json:"realm"`    // Proxmox realm id (default "authentik")
	Group   string `json:"group"`    // Proxmox group (default "admin")
	Role    string `json:"role"`     // role granted to the group (default "Administrator")
	ACLPath string `json:"acl_path"` // ACL path (default "/")
	AppSlug string `json:"app_slug"` // Authentik application slug (default "proxmox")
	AppName string `json:"app_name"` // Authentik application name (default "Proxmox VE")
	// ProviderName is the Authentik OAuth2 provider name; "" = AppName.
	ProviderName string `json:"provider_name,omitempty"`

	// SigningKey is the name of the Authentik key pair; "" = the default RSA
	// pair that has a private key and is not expired.
	SigningKey string `json:"signing_key,omitempty"`
	// SubjectMode is the provider's sub_mode: user_email (default) |
	// hashed_user_id | user_id | user_uuid | user_username | user_upn.
	SubjectMode string `json:"subject_mode"`
	// UsernameClaim is the realm's username-claim: subject (default) |
	// username | email. Proxmox fixes it at realm creation.
	UsernameClaim string `json:"username_claim"`

	// RedirectURIs are extra strict redirect URIs; the origin of ProxmoxURL
	// is always included.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// AllNodes adds every cluster node's origin (https://<ip>:8006 and the
	// node name when it resolves).
	AllNodes bool `json:"all_nodes,omitempty"`
	// Users are Authentik users (username or email) to add to Group.
	Users []string `json:"users,omitempty"`
	// DefaultRealm makes the realm the login screen's default.
	DefaultRealm bool `json:"default_realm,omitempty"`
	// GenerateKey consents to generating an RSA key pair when none qualifies.
	GenerateKey bool `json:"generate_key,omitempty"`

	// AdoptExisting makes a rerun keep the existing managed setup's
	// settings (Facts.Existing) for every adoptable input not listed in
	// Explicit (Input* names); see Adopting. Off: every field is wanted.
	AdoptExisting bool     `json:"-"`
	Explicit      []string `json:"-"`
}

// DefaultInputs returns the seed defaults.
func DefaultInputs() Inputs {
	return Inputs{
		Realm:         DefaultRealm,
		Group:         DefaultGroup,
		Role:          DefaultRole,
		ACLPath:       DefaultACLPath,
		AppSlug:       DefaultAppSlug,
		AppName:       DefaultAppName,
		SubjectMode:   DefaultSubjectMode,
		UsernameClaim: DefaultUsernameClaim,
	}
}

// Conn holds connection parameters. Secrets live in memory only.
type Conn struct {
	AuthentikURL   string
	AuthentikToken string
	AuthentikPin   string

	ProxmoxURL      string
	ProxmoxToken    string // USER@REALM!TOKENID=SECRET
	ProxmoxUser     string
	ProxmoxPassword string
	ProxmoxOTP      string
	ProxmoxPin      string

	CAFile string
	// Roots replace the system roots (tests and demo only; nil = system).
	AuthentikRoots, ProxmoxRoots *x509.CertPool
	// Timeout bounds each HTTP request (0 = 30s).
	Timeout time.Duration
}

// Runner is the engine under the name the issue uses: the CLI, the wizard
// and the tests all drive the same *Engine.
type Runner = Engine

// Clients are the two API clients behind small consumer-side interfaces.
type Clients struct {
	Authentik AuthentikAPI
	Proxmox   ProxmoxAPI
	// AuthentikHTTP is the TLS-trusting HTTP client for the OIDC discovery
	// check (go-oidc). nil: the check uses Authentik.Discovery and cannot
	// read the JWKS.
	AuthentikHTTP *http.Client
}

// Option configures an Engine.
type Option func(*Engine)

// WithSecretSource sets the randomness for the client id and secret
// (crypto/rand by default).
func WithSecretSource(r io.Reader) Option { return func(e *Engine) { e.rand = r } }

// WithClock sets the clock used for key expiry checks.
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithResolver makes node-name resolution injectable (--all-nodes adds
// https://<name>:8006 only when the name resolves). The default uses
// net.DefaultResolver.LookupHost.
func WithResolver(lookup func(ctx context.Context, host string) ([]string, error)) Option {
	return func(e *Engine) { e.lookup = lookup }
}

// Report is the result of Preflight.
type Report struct {
	Checks []Check `json:"checks"`
}

// Check is one preflight check.
type Check struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	if r == nil {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failed returns the checks that did not pass.
func (r *Report) Failed() []Check {
	var out []Check
	if r == nil {
		return nil
	}
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Facts is what the engine discovered on both servers.
type Facts struct {
	AuthentikVersion   string `json:"authentik_version,omitempty"`
	AuthentikUser      string `json:"authentik_user,omitempty"`
	AuthentikSuperuser bool   `json:"authentik_superuser"`
	ProxmoxVersion     string `json:"proxmox_version,omitempty"`
	ProxmoxUser        string `json:"proxmox_user,omitempty"`

	KeyPairs []KeyPairFact `json:"key_pairs,omitempty"`
	// SigningKey is the chosen key pair ("" when none qualifies).
	SigningKey string     `json:"signing_key,omitempty"`
	Nodes      []NodeFact `json:"nodes,omitempty"`
	Users      []UserFact `json:"users,omitempty"`

	// RedirectURIs are the strict redirect URIs pvesso wants registered.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// IssuerURL is the issuer (from discovery when available, else predicted).
	IssuerURL string `json:"issuer_url,omitempty"`
	// IssuerVerified is true when IssuerURL came from the discovery document.
	IssuerVerified bool `json:"issuer_verified"`

	ProviderExists    bool   `json:"provider_exists"`
	ProviderPK        int    `json:"provider_pk,omitempty"`
	ClientID          string `json:"client_id,omitempty"`
	ApplicationExists bool   `json:"application_exists"`
	RealmExists       bool   `json:"realm_exists"`
	RealmManaged      bool   `json:"realm_managed"`
	GroupExists       bool   `json:"group_exists"`
	ACLExists         bool   `json:"acl_exists"`

	// Existing is the managed setup read back (nil unless the inputs were
	// Adopting); Inputs is what the check pass used (defaults and adopted
	// values filled in).
	Existing *Existing `json:"existing,omitempty"`
	Inputs   Inputs    `json:"-"`
}

// KeyPairFact describes one Authentik certificate-key pair.
type KeyPairFact struct {
	PK            string    `json:"pk"`
	Name          string    `json:"name"`
	KeyType       string    `json:"key_type,omitempty"`
	KeySize       int       `json:"key_size,omitempty"` // bits; only Engine.KeyPairs reads it (0 = unknown)
	Expiry        time.Time `json:"expiry"`
	HasPrivateKey bool      `json:"has_private_key"`
	Eligible      bool      `json:"eligible"`
	Reason        string    `json:"reason,omitempty"` // why not eligible
}

// NodeFact is one Proxmox cluster node.
type NodeFact struct {
	Name    string   `json:"name"`
	IP      string   `json:"ip,omitempty"`
	Online  bool     `json:"online"`
	Origins []string `json:"origins,omitempty"`
}

// UserFact is one requested user.
type UserFact struct {
	Input    string   `json:"input"`              // as given (username or email)
	Username string   `json:"username,omitempty"` // Authentik username
	Email    string   `json:"email,omitempty"`
	Found    bool     `json:"found"`            // found in Authentik
	UserID   string   `json:"userid,omitempty"` // Proxmox userid
	Exists   bool     `json:"exists"`           // exists in Proxmox
	Groups   []string `json:"groups,omitempty"` // Proxmox groups
	Problem  string   `json:"problem,omitempty"`
}

// Action is what a plan item does.
type Action string

// Plan actions.
const (
	ActionCreate   Action = "create"
	ActionUpdate   Action = "update"
	ActionNone     Action = "none"
	ActionConflict Action = "conflict"
	ActionDelete   Action = "delete"
)

// Plan is an ordered list of items.
type Plan struct {
	Items []Item `json:"items"`
	// Notes are plan-wide remarks (departed nodes, skipped checks, ...).
	Notes []string `json:"notes,omitempty"`
	// Problems are what is wrong and cannot be fixed by applying the plan
	// (a conflict no consent resolves, an issuer Proxmox cannot use). A
	// plan with problems is not OK even when it changes nothing.
	Problems []string `json:"problems,omitempty"`

	state *State
}

// Item is one object the plan looks at.
type Item struct {
	Step    string   `json:"step"`
	Side    string   `json:"side"` // "authentik" | "proxmox"
	Kind    string   `json:"kind"` // provider, application, realm, group, acl, user, keypair, issuer, login
	Name    string   `json:"name"`
	Action  Action   `json:"action"`
	Changes []Change `json:"changes,omitempty"`
	Note    string   `json:"note,omitempty"`
}

// Change is one field of an item. Secret values are never stored.
type Change struct {
	Field  string `json:"field"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Secret bool   `json:"secret,omitempty"`
}

// SecretMask is how secret values are rendered.
const SecretMask = "(secret)"

// MarshalJSON renders secret values as "(secret)".
func (c Change) MarshalJSON() ([]byte, error) {
	type plain Change
	p := plain(c)
	if p.Secret {
		if p.Old != "" {
			p.Old = SecretMask
		}
		if p.New != "" {
			p.New = SecretMask
		}
	}
	return json.Marshal(p)
}

func (c Change) display() (string, string) {
	if c.Secret {
		o, n := "", SecretMask
		if c.Old != "" {
			o = SecretMask
		}
		return o, n
	}
	return c.Old, c.New
}

// HasChanges reports whether applying the plan would write anything
// (conflicts count: they are changes awaiting consent).
func (p *Plan) HasChanges() bool {
	if p == nil {
		return false
	}
	for _, it := range p.Items {
		if it.Action != ActionNone {
			return true
		}
	}
	return false
}

// OK reports whether everything is in place: nothing to change and no
// problem (the status command exits 1 otherwise).
func (p *Plan) OK() bool { return p != nil && !p.HasChanges() && len(p.Problems) == 0 }

// Conflicts returns the items that change something pvesso does not own.
func (p *Plan) Conflicts() []Item {
	if p == nil {
		return nil
	}
	var out []Item
	for _, it := range p.Items {
		if it.Action == ActionConflict {
			out = append(out, it)
		}
	}
	return out
}

// String renders the plan as a readable diff.
func (p *Plan) String() string {
	if p == nil {
		return "no plan\n"
	}
	var b strings.Builder
	for _, it := range p.Items {
		sym := map[Action]string{ActionCreate: "+", ActionUpdate: "~", ActionNone: "=", ActionConflict: "!", ActionDelete: "-"}[it.Action]
		fmt.Fprintf(&b, "%s %-9s %-11s %s", sym, it.Side, it.Kind, it.Name)
		switch it.Action {
		case ActionNone:
			b.WriteString(": ok")
		case ActionConflict:
			b.WriteString(": CONFLICT (exists with other settings; not changed without consent)")
		default:
			fmt.Fprintf(&b, ": %s", it.Action)
		}
		if it.Note != "" {
			fmt.Fprintf(&b, " (%s)", it.Note)
		}
		b.WriteByte('\n')
		for _, c := range it.Changes {
			o, n := c.display()
			switch {
			case it.Action == ActionCreate || (o == "" && n != ""):
				fmt.Fprintf(&b, "      %s: %s\n", c.Field, n)
			default:
				fmt.Fprintf(&b, "      %s: %s -> %s\n", c.Field, quoteEmpty(o), quoteEmpty(n))
			}
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, n := range p.Problems {
		fmt.Fprintf(&b, "problem: %s\n", n)
	}
	switch {
	case p.OK():
		b.WriteString("nothing to do\n")
	case !p.HasChanges():
		b.WriteString("nothing to change, but the problems above need fixing\n")
	}
	return b.String()
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// ApplyOptions control Apply.
type ApplyOptions struct {
	// AllowConflicts consents to changing objects that exist with other
	// settings (the CLI's --yes, or the wizard's confirmation).
	AllowConflicts bool
	// OnEvent receives progress events, in a deterministic order, from the
	// goroutine that called Apply.
	OnEvent func(Event)
}

// Phase of an event.
type Phase string

// Event phases.
const (
	PhaseStart Phase = "start"
	PhaseDone  Phase = "done"
	PhaseNone  Phase = "none" // nothing to do
	PhaseFail  Phase = "fail"
)

// Event reports progress of one step.
type Event struct {
	Step    string `json:"step"`
	Title   string `json:"title"`
	Phase   Phase  `json:"phase"`
	Message string `json:"message,omitempty"`
	Err     error  `json:"-"`
}

// Result is what Apply (and AddUsers, Remove) achieved.
type Result struct {
	Realm     string `json:"realm"`
	IssuerURL string `json:"issuer_url,omitempty"`
	// AuthURL is the login test link from /access/openid/auth-url.
	AuthURL  string   `json:"auth_url,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Users    []string `json:"users,omitempty"`
	Writes   int      `json:"writes"`
}

// Step ids, in order.
const (
	StepPreflight   = "preflight"
	StepSigningKey  = "signing-key"
	StepProvider    = "provider"
	StepApplication = "application"
	StepIssuer      = "issuer"
	StepRealm       = "realm"
	StepGroup       = "group"
	StepACL         = "acl"
	StepUsers       = "users"
	StepLoginTest   = "login-test"
)

// StepTitles gives a human title per step id.
var StepTitles = map[string]string{
	StepPreflight:   "Preflight",
	StepSigningKey:  "Signing key",
	StepProvider:    "Authentik OAuth2 provider",
	StepApplication: "Authentik application",
	StepIssuer:      "Issuer check",
	StepRealm:       "Proxmox OpenID realm",
	StepGroup:       "Proxmox group",
	StepACL:         "Proxmox ACL",
	StepUsers:       "Proxmox users",
	StepLoginTest:   "Proxmox-side preflight (auth-url)",
}

// StepOrder lists the step ids in order.
var StepOrder = []string{StepPreflight, StepSigningKey, StepProvider, StepApplication, StepIssuer, StepRealm, StepGroup, StepACL, StepUsers, StepLoginTest}

// CheckError is a failed check or precondition. Fix names the flag or
// environment variable to use. It never carries a secret.
type CheckError struct {
	Step   string
	Detail string
	Fix    string
	Err    error
	// Report is the full preflight report when the error comes from it.
	Report *Report
}

func (e *CheckError) Error() string {
	s := e.Step + ": " + e.Detail
	if e.Fix != "" {
		s += " (fix: " + e.Fix + ")"
	}
	return s
}

func (e *CheckError) Unwrap() error { return e.Err }

// ConflictError is returned by Apply when the plan has conflicts and
// AllowConflicts is false; nothing has been written.
type ConflictError struct {
	Items []Item
}

func (e *ConflictError) Error() string {
	names := make([]string, 0, len(e.Items))
	for _, it := range e.Items {
		names = append(names, it.Kind+" "+it.Name)
	}
	return "conflicts need consent: " + strings.Join(names, ", ") + " exist with other settings (fix: review the plan and rerun with --yes)"
}

// UsageError is bad input (a malformed URL, a missing token, an invalid
// name). The CLI exits 2 on it. Flag names the flag or environment variable.
type UsageError struct {
	Flag   string
	Detail string
}

func (e *UsageError) Error() string { return e.Flag + ": " + e.Detail }

// StepError wraps the failure of one step during Apply.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// UserInfo is what the engine needs to know about an Authentik user to
// predict the Proxmox userid.
type UserInfo struct {
	PK       int
	Username string
	Name     string // display name
	Email    string
	UID      string // hashed user id
	UUID     string // User.uuid: the sub under user_uuid
	UPN      string // attributes.upn ("" = none: user_upn falls back to UID)
}
