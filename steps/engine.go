package steps

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/proxmox"
)

// Engine runs the steps. It is the Runner shared by the CLI, the wizard and
// the tests. Its methods are not meant to be called concurrently.
type Engine struct {
	c      *Clients
	in     Inputs
	rand   io.Reader
	now    func() time.Time
	lookup func(ctx context.Context, host string) ([]string, error)

	state *State // last check pass (Preflight → Plan reuse it)
	// pveOnly: the inputs adopted from Proxmox alone (RealmUserGroups
	// before any check pass).
	pveOnly *Inputs
}

// Connect builds both clients from c (no network I/O). Bad input gives a
// *UsageError naming the flag or environment variable.
func Connect(ctx context.Context, c Conn) (*Clients, error) {
	if err := checkHTTPS(c.AuthentikURL); err != nil {
		return nil, &UsageError{Flag: "--authentik-url / AUTHENTIK_URL", Detail: err.Error()}
	}
	if _, err := Origin(c.ProxmoxURL); err != nil {
		return nil, &UsageError{Flag: "--proxmox-url / PROXMOX_VE_ENDPOINT", Detail: err.Error()}
	}
	if strings.TrimSpace(c.AuthentikToken) == "" {
		return nil, &UsageError{Flag: "AUTHENTIK_TOKEN / --authentik-token-file", Detail: "an Authentik API token is required"}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	akPin, pvePin := c.AuthentikPin, c.ProxmoxPin
	if akPin != "" {
		if _, err := tlstrust.NormalizePin(akPin); err != nil {
			return nil, &UsageError{Flag: "--authentik-fingerprint / AUTHENTIK_FINGERPRINT", Detail: err.Error()}
		}
	}
	if pvePin != "" {
		if _, err := tlstrust.NormalizePin(pvePin); err != nil {
			return nil, &UsageError{Flag: "--proxmox-fingerprint / PROXMOX_VE_FINGERPRINT", Detail: err.Error()}
		}
	}
	akHTTP, err := tlstrust.NewHTTPClient(tlstrust.Config{CAFile: c.CAFile, Pin: akPin, Roots: c.AuthentikRoots}, timeout)
	if err != nil {
		return nil, &UsageError{Flag: "--ca-file", Detail: err.Error()}
	}
	pveHTTP, err := tlstrust.NewHTTPClient(tlstrust.Config{CAFile: c.CAFile, Pin: pvePin, Roots: c.ProxmoxRoots}, timeout)
	if err != nil {
		return nil, &UsageError{Flag: "--ca-file", Detail: err.Error()}
	}
	ak, err := authentik.New(c.AuthentikURL, c.AuthentikToken, authentik.WithHTTPClient(akHTTP))
	if err != nil {
		return nil, &UsageError{Flag: "--authentik-url / AUTHENTIK_URL / AUTHENTIK_TOKEN", Detail: err.Error()}
	}
	var auth proxmox.Auth
	switch {
	case c.ProxmoxToken != "":
		auth, err = proxmox.TokenAuth(c.ProxmoxToken)
		if err != nil {
			return nil, &UsageError{Flag: "PROXMOX_VE_API_TOKEN", Detail: err.Error()}
		}
	case c.ProxmoxUser != "" && c.ProxmoxPassword != "":
		auth = proxmox.PasswordAuth(c.ProxmoxUser, c.ProxmoxPassword, c.ProxmoxOTP)
	default:
		return nil, &UsageError{Flag: "PROXMOX_VE_API_TOKEN or PROXMOX_VE_USERNAME + PROXMOX_VE_PASSWORD", Detail: "Proxmox credentials are required"}
	}
	pve, err := proxmox.New(c.ProxmoxURL, auth, proxmox.WithHTTPClient(pveHTTP))
	if err != nil {
		return nil, &UsageError{Flag: "--proxmox-url / PROXMOX_VE_ENDPOINT", Detail: err.Error()}
	}
	return &Clients{Authentik: ak, Proxmox: pve, AuthentikHTTP: akHTTP}, nil
}

// New returns an Engine for in (empty fields take the defaults).
func New(c *Clients, in Inputs, opts ...Option) *Engine {
	e := &Engine{c: c, in: in.WithDefaults(), rand: rand.Reader, now: time.Now,
		lookup: func(ctx context.Context, host string) ([]string, error) {
			return net.DefaultResolver.LookupHost(ctx, host)
		}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Inputs returns the engine's inputs with defaults filled in and, after a
// check pass with Adopting inputs, the values adopted from the existing
// managed setup.
func (e *Engine) Inputs() Inputs {
	if e.state != nil {
		return e.state.In
	}
	if e.pveOnly != nil {
		return *e.pveOnly
	}
	return e.in
}

// setupSteps in plan order (dependencies first).
func setupSteps() []step {
	return []step{preflightStep{}, signingKeyStep{}, providerStep{}, applicationStep{}, issuerStep{}, realmStep{}, groupStep{}, aclStep{}, usersStep{}, loginStep{}}
}

// stages group the writes: each stage depends only on earlier ones, its
// steps run concurrently. Critical path of a fresh setup: reads (one
// round trip: the authentik version is detected alongside) → provider ∥ realm ∥ group → application ∥ ACL ∥ users → issuer
// check ∥ auth-url. The key stage only costs when a key is generated.
func stages() [][]step {
	return [][]step{
		{signingKeyStep{}},
		{providerStep{}, realmStep{}, groupStep{}},
		{applicationStep{}, aclStep{}, usersStep{}},
		{issuerStep{}, loginStep{}},
	}
}

// check runs the checks of steps concurrently on a fresh State.
func (e *Engine) check(ctx context.Context, in Inputs, steps []step) *State {
	return e.checkState(ctx, e.newState(ctx, in, ""), steps)
}

// newState starts a check pass. With in.AdoptExisting the existing managed
// setup is read first (memoised: the checks reuse the reads) and fills the
// inputs not given explicitly.
func (e *Engine) newState(ctx context.Context, in Inputs, mode string) *State {
	rd := newReader(e.c, in)
	var ex *Existing
	if in.Validate() == nil {
		in, ex = adopt(ctx, rd, in, mode == "")
	}
	s := &State{In: in, e: e, now: e.now(), rd: rd, mode: mode}
	s.Facts.Existing = ex
	s.Facts.Inputs = in
	return s
}

func (e *Engine) checkState(ctx context.Context, s *State, steps []step) *State {
	in := s.In
	s.checks = make([][]checkRec, len(steps))
	if err := in.Validate(); err != nil {
		var ue *UsageError
		fix := ""
		if errors.As(err, &ue) {
			fix = ue.Flag
		}
		s.checks[0] = []checkRec{fail("inputs", "Inputs are valid", err.Error(), fix)}
		return s
	}
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Go(func() { s.checks[i] = st.Check(ctx, s) })
	}
	wg.Wait()
	return s
}

// Preflight runs the read-only checks of every step. The report lists each
// check; an error is returned only when ctx ends.
func (e *Engine) Preflight(ctx context.Context) (*Report, error) {
	s := e.check(ctx, e.in, setupSteps())
	e.state = s
	if err := ctx.Err(); err != nil {
		return s.report(), err
	}
	return s.report(), nil
}

// Facts returns what the last Preflight/Plan/Status discovered.
func (e *Engine) Facts() Facts {
	if e.state == nil {
		return Facts{}
	}
	f := e.state.Facts
	return f
}

// State returns the state of the last check pass (nil before any).
func (e *Engine) State() *State { return e.state }

// Report returns the checks of the last check pass (Preflight, Plan,
// Status, PlanUsers or PlanRemove); nil before any.
func (e *Engine) Report() *Report {
	if e.state == nil {
		return nil
	}
	return e.state.report()
}

func preflightError(r *Report) error {
	var details, fixes []string
	for _, c := range r.Failed() {
		details = append(details, c.Title+": "+c.Detail)
		if c.Fix != "" && !slices.Contains(fixes, c.Fix) {
			fixes = append(fixes, c.Fix)
		}
	}
	return &CheckError{Step: StepPreflight, Detail: strings.Join(details, "; "), Fix: strings.Join(fixes, "; "), Report: r}
}

// Plan computes what Apply would do. It reuses the checks of an immediately
// preceding Preflight; it never writes. Failed checks give a *CheckError.
func (e *Engine) Plan(ctx context.Context) (*Plan, error) {
	s := e.state
	if s == nil || s.applied || s.plan != nil || s.mode != "" {
		s = e.check(ctx, e.in, setupSteps())
		e.state = s
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r := s.report(); !r.OK() {
		return nil, preflightError(r)
	}
	return buildPlan(s, setupSteps()), nil
}

func buildPlan(s *State, steps []step) *Plan {
	p := &Plan{state: s}
	var login step
	for _, st := range steps {
		if st.ID() == StepLoginTest {
			login = st
			continue
		}
		p.Items = append(p.Items, st.Plan(s)...)
	}
	s.changes = p.HasChanges()
	s.stages = stages()
	if login != nil {
		p.Items = append(p.Items, login.Plan(s)...)
	}
	if ex := s.Facts.Existing; ex != nil && len(ex.Adopted) > 0 && s.mode == "" {
		var kept []string
		for _, n := range ex.Adopted {
			kept = append(kept, "--"+n+" "+adoptedValue(s.In, ex, n))
		}
		p.Notes = append(p.Notes, "kept from the existing setup (not given as flags or in the config file): "+strings.Join(kept, ", "))
	}
	for _, d := range s.departed {
		p.Notes = append(p.Notes, "redirect URI "+d+" is registered but matches no current node or input; kept (remove it in authentik if the node is gone)")
	}
	p.Problems = append(p.Problems, s.blocked...)
	p.Problems = append(p.Problems, s.problems...)
	s.plan = p
	return p
}

// Status is a read-only plan of what is missing or drifted: a fresh read,
// or the checks of an immediately preceding Preflight. The setup is in
// place when the plan is OK(): no changes (missing or drifted objects) and
// no Problems (what no change fixes, such as an http:// issuer).
func (e *Engine) Status(ctx context.Context) (*Plan, error) { return e.Plan(ctx) }

func (e *Engine) emitter(o ApplyOptions) func(Event) {
	if o.OnEvent == nil {
		return func(Event) {}
	}
	return o.OnEvent
}

func title(id string) string { return StepTitles[id] }

// Apply carries out p (made by Plan, PlanUsers or PlanRemove of this
// engine). Conflicts need o.AllowConflicts, else a *ConflictError is
// returned before anything is written. Events arrive in a fixed order: for
// each stage, the start (or "nothing to do") events in step order, then the
// outcomes in step order.
func (e *Engine) Apply(ctx context.Context, p *Plan, o ApplyOptions) (*Result, error) {
	if p == nil || p.state == nil || p.state.e != e {
		return nil, errors.New("steps: the plan was not made by this engine (call Plan first)")
	}
	s := p.state
	if s.applied {
		return nil, errors.New("steps: the plan was already applied; make a new plan")
	}
	if c := p.Conflicts(); len(c) > 0 && !o.AllowConflicts {
		return nil, &ConflictError{Items: c}
	}
	if len(s.blocked) > 0 {
		return nil, &CheckError{Step: StepPreflight, Detail: strings.Join(s.blocked, "; "), Fix: "change the inputs named above"}
	}
	s.applied = true
	emit := e.emitter(o)
	emit(Event{Step: StepPreflight, Title: title(StepPreflight), Phase: PhaseDone, Message: "checks passed"})
	if !p.HasChanges() {
		for _, st := range s.stages {
			for _, x := range st {
				emit(Event{Step: x.ID(), Title: title(x.ID()), Phase: PhaseNone, Message: "nothing to do"})
			}
		}
		if len(s.problems) > 0 {
			// nothing to write, but the setup does not work as it is
			return e.result(s), &CheckError{Step: StepIssuer, Detail: strings.Join(s.problems, "; "), Fix: "fix the problem named above in authentik, then rerun"}
		}
		return e.result(s), nil
	}
	if err := e.prepareSecrets(s); err != nil {
		return nil, err
	}
	err := e.runStages(ctx, s, s.stages, o, emit)
	return e.result(s), err
}

func (e *Engine) result(s *State) *Result {
	r := s.Out
	r.Realm = s.In.Realm
	if r.IssuerURL == "" {
		r.IssuerURL = s.issuer()
	}
	r.ClientID = s.clientID
	r.Users = s.userIDs()
	r.Writes = int(s.writes.Load())
	return &r
}

// prepareSecrets generates the client id and secret where needed
// (crypto/rand unless WithSecretSource).
func (e *Engine) prepareSecrets(s *State) error {
	if s.prov.action == ActionCreate && s.clientID == "" {
		id, err := randomString(e.rand, clientIDLen)
		if err != nil {
			return err
		}
		s.clientID = id
	}
	if s.clientSecret == "" && (s.prov.action == ActionCreate || s.prov.newKey) {
		sec, err := randomString(e.rand, clientSecretLen)
		if err != nil {
			return err
		}
		s.clientSecret = sec
	}
	return nil
}

// retrier is a step that may run again after its stage.
type retrier interface{ Retry(s *State) bool }

// runStages runs the stages in order; a failing stage stops the run after
// its other steps finished. The next run completes from what exists.
func (e *Engine) runStages(ctx context.Context, s *State, stg [][]step, o ApplyOptions, emit func(Event)) error {
	for _, stage := range stg {
		var run []step
		for _, st := range stage {
			if st.Pending(s) {
				run = append(run, st)
				emit(Event{Step: st.ID(), Title: title(st.ID()), Phase: PhaseStart})
			} else {
				emit(Event{Step: st.ID(), Title: title(st.ID()), Phase: PhaseNone, Message: "nothing to do"})
			}
		}
		errs := make([]error, len(run))
		var wg sync.WaitGroup
		for i, st := range run {
			wg.Go(func() { errs[i] = st.Apply(ctx, s, o) })
		}
		wg.Wait()
		// a step that failed only because a sibling fixed its cause in the
		// same stage runs once more (auth-url after the issuer correction)
		for i, st := range run {
			if r, ok := st.(retrier); ok && errs[i] != nil && r.Retry(s) {
				errs[i] = st.Apply(ctx, s, o)
			}
		}
		var failed []error
		for i, st := range run {
			if errs[i] != nil {
				err := &StepError{Step: st.ID(), Err: s.scrub(errs[i])}
				failed = append(failed, err)
				emit(Event{Step: st.ID(), Title: title(st.ID()), Phase: PhaseFail, Message: err.Err.Error(), Err: err})
			} else {
				emit(Event{Step: st.ID(), Title: title(st.ID()), Phase: PhaseDone})
			}
		}
		if len(failed) > 0 {
			return errors.Join(failed...)
		}
	}
	return nil
}

// PlanUsers plans the users step only (create the users if missing, add
// the group with append=1). Its checks are the ones `users add` needs: the
// connections, the rights to create users and change their groups, the
// existing realm, group and provider, and the users themselves; the setup's
// other checks (signing key, flows, ...) do not block it. Userids follow
// the existing realm's username-claim and the provider's sub_mode. Apply
// carries the plan out.
func (e *Engine) PlanUsers(ctx context.Context, users []string) (*Plan, error) {
	in := e.in
	in.Users = users
	if len(users) == 0 {
		return nil, &UsageError{Flag: "--user", Detail: "name at least one Authentik user (username or email)"}
	}
	s := e.newState(ctx, in, "users")
	e.checkState(ctx, s, []step{preflightStep{}, providerLookup{}, realmStep{}, groupStep{}, usersStep{}})
	e.state = s
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := s.report()
	if !r.OK() {
		return nil, preflightError(r)
	}
	var missing []string
	if s.realm.existing == nil {
		missing = append(missing, fmt.Sprintf("the Proxmox realm %q", in.Realm))
	}
	if s.group.existing == nil {
		missing = append(missing, fmt.Sprintf("the Proxmox group %q", in.Group))
	}
	if len(missing) > 0 {
		verb := " does not exist yet"
		if len(missing) > 1 {
			verb = " do not exist yet"
		}
		return nil, &CheckError{Step: StepUsers, Detail: strings.Join(missing, " and ") + verb,
			Fix: "run pvesso setup first (it takes --user too)", Report: r}
	}
	p := &Plan{state: s, Items: (usersStep{}).Plan(s)}
	s.stages = [][]step{{usersStep{}}}
	s.plan = p
	return p, nil
}

// AddUsers is PlanUsers followed by Apply.
func (e *Engine) AddUsers(ctx context.Context, users []string, o ApplyOptions) (*Result, error) {
	p, err := e.PlanUsers(ctx, users)
	if err != nil {
		return nil, err
	}
	return e.Apply(ctx, p, o)
}

// providerLookup only reads the provider (for AddUsers).
type providerLookup struct{}

func (providerLookup) ID() string { return StepProvider }
func (providerLookup) Check(ctx context.Context, s *State) []checkRec {
	m, err := s.provider(ctx)
	if err != nil {
		return []checkRec{readFail("authentik", "authentik-providers", "Authentik providers readable", err)}
	}
	s.prov.match = m
	s.providerFacts()
	return nil
}
func (providerLookup) Plan(*State) []Item                                { return nil }
func (providerLookup) Apply(context.Context, *State, ApplyOptions) error { return nil }
func (providerLookup) Pending(*State) bool                               { return false }

// RealmUser is a Proxmox user of the realm and its groups.
type RealmUser struct {
	UserID string   `json:"userid"`
	Groups []string `json:"groups"`
}

// RealmUserGroups lists the Proxmox users of the realm with their groups,
// sorted by userid (one read).
func (e *Engine) RealmUserGroups(ctx context.Context) ([]RealmUser, error) {
	if err := e.c.Proxmox.Login(ctx); err != nil {
		return nil, err
	}
	us, err := e.c.Proxmox.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if e.state == nil && e.in.AdoptExisting && e.pveOnly == nil {
		// no check pass yet: the realm and group from Proxmox alone
		rd := newReader(e.c, e.in)
		rd.pveLogin.get(func() (struct{}, error) { return struct{}{}, nil }) // logged in above
		in := adoptPVE(ctx, rd, e.in)
		e.pveOnly = &in
	}
	var out []RealmUser
	for _, u := range us {
		if strings.HasSuffix(u.UserID, "@"+e.Inputs().Realm) {
			out = append(out, RealmUser{UserID: u.UserID, Groups: append([]string{}, u.Groups...)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// RealmUsers lists the Proxmox users of the realm, sorted.
func (e *Engine) RealmUsers(ctx context.Context) ([]string, error) {
	us, err := e.RealmUserGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.UserID
	}
	return out, nil
}

// LoginURL asks Proxmox for a fresh login test link (POST
// /access/openid/auth-url with the Proxmox origin). It leaves a pending
// login state on the node, so it counts as a write and is not part of a
// no-op rerun.
func (e *Engine) LoginURL(ctx context.Context) (string, error) {
	origin, err := Origin(e.in.ProxmoxURL)
	if err != nil {
		return "", &UsageError{Flag: "--proxmox-url / PROXMOX_VE_ENDPOINT", Detail: err.Error()}
	}
	return e.c.Proxmox.OpenIDAuthURL(ctx, e.Inputs().Realm, origin)
}
