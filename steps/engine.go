package steps

import (
	"context"
	"errors"
	"io"
	"time"
)

// AuthentikAPI is the part of *authentik.Client the engine uses.
// (Method set filled in once the client package lands.)
type AuthentikAPI interface {
	BaseURL() string
}

// ProxmoxAPI is the part of *proxmox.Client the engine uses.
type ProxmoxAPI interface {
	AuthUser() string
}

var errNotYet = errors.New("steps: not implemented yet")

// Engine runs the steps. It is the Runner shared by the CLI, the wizard and
// the tests. Methods are not safe for concurrent use on one Engine.
type Engine struct {
	c      *Clients
	in     Inputs
	rand   io.Reader
	now    func() time.Time
	lookup func(ctx context.Context, host string) ([]string, error)
}

// Connect builds both clients from c.
func Connect(ctx context.Context, c Conn) (*Clients, error) { return nil, errNotYet }

// New returns an Engine for in.
func New(c *Clients, in Inputs, opts ...Option) *Engine {
	e := &Engine{c: c, in: in, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Inputs returns the engine's inputs (with defaults filled in).
func (e *Engine) Inputs() Inputs { return e.in }

// Preflight runs the read-only checks.
func (e *Engine) Preflight(ctx context.Context) (*Report, error) { return nil, errNotYet }

// Facts returns what the last Preflight/Plan discovered.
func (e *Engine) Facts() Facts { return Facts{} }

// Plan computes what Apply would do.
func (e *Engine) Plan(ctx context.Context) (*Plan, error) { return nil, errNotYet }

// Apply carries out p.
func (e *Engine) Apply(ctx context.Context, p *Plan, o ApplyOptions) (*Result, error) {
	return nil, errNotYet
}

// AddUsers plans and applies the users step only (append=1).
func (e *Engine) AddUsers(ctx context.Context, users []string, o ApplyOptions) (*Result, error) {
	return nil, errNotYet
}

// Status is a read-only plan: what is missing or drifted.
func (e *Engine) Status(ctx context.Context) (*Plan, error) { return nil, errNotYet }

// PlanRemove plans deleting what pvesso manages.
func (e *Engine) PlanRemove(ctx context.Context) (*Plan, error) { return nil, errNotYet }

// Remove deletes what PlanRemove listed.
func (e *Engine) Remove(ctx context.Context, p *Plan, o ApplyOptions) (*Result, error) {
	return nil, errNotYet
}

// RealmUsers lists the Proxmox users of the realm.
func (e *Engine) RealmUsers(ctx context.Context) ([]string, error) { return nil, errNotYet }

// LoginURL asks Proxmox for a fresh login test link (POST
// /access/openid/auth-url; it leaves a pending login state on the node, so
// it counts as a write and is not part of a no-op rerun).
func (e *Engine) LoginURL(ctx context.Context) (string, error) { return "", errNotYet }

// UserID predicts the Proxmox userid of an Authentik user for the given
// subject mode, username claim and realm.
func UserID(subjectMode, usernameClaim, realm string, u UserInfo) (string, error) {
	return "", errNotYet
}

// Preview is UserID with the modes taken from in.
func Preview(in Inputs, u UserInfo) (string, error) {
	return UserID(in.SubjectMode, in.UsernameClaim, in.Realm, u)
}
