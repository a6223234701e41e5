package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

// Commands capture values, never the model, and return exactly one
// message. Network calls are bounded by the clients' request timeouts
// (steps.Conn.Timeout) and, where they loop or wait, by their own.

const probeTimeout = 10 * time.Second

// probeServer checks that rawURL answers over TLS with a trusted (or
// pinned) certificate. Any HTTP answer counts: credentials are checked
// later by the engine.
func probeServer(ctx context.Context, s side, gen int, rawURL string, cfg tlstrust.Config) tea.Cmd {
	return func() tea.Msg {
		return probeDoneMsg{side: s, gen: gen, cert: nil, err: nil}.with(probe(ctx, rawURL, cfg))
	}
}

func (m probeDoneMsg) with(ce *tlstrust.CertError, err error) probeDoneMsg {
	m.cert, m.err = ce, err
	return m
}

func probe(ctx context.Context, rawURL string, cfg tlstrust.Config) (*tlstrust.CertError, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	hc, err := tlstrust.NewHTTPClient(cfg, probeTimeout)
	if err != nil {
		return nil, err
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		return nil, nil
	}
	var ce *tlstrust.CertError
	if errors.As(err, &ce) {
		c := *ce
		return &c, nil
	}
	return nil, explainNetErr(err, rawURL)
}

// explainNetErr turns a transport error into one sentence naming the fix.
func explainNetErr(err error, rawURL string) error {
	host := rawURL
	if u, perr := url.Parse(rawURL); perr == nil {
		host = u.Host
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot resolve %s: check the host name", dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s refused the connection: check the port and that the service runs", host)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Errorf("%s did not answer within %s: check the address and firewall", host, probeTimeout)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("cannot reach %s: %v", host, unwrapURLErr(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func unwrapURLErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// newEngine builds an engine for one operation.
func newEngine(c *steps.Clients, in steps.Inputs, opts []steps.Option) *steps.Engine {
	return steps.New(c, in, opts...)
}

// discover connects to both servers and reads what exists.
func discover(ctx context.Context, gen int, conn steps.Conn, in steps.Inputs, opts []steps.Option) tea.Cmd {
	return func() tea.Msg {
		msg := discoveredMsg{gen: gen}
		clients, err := steps.Connect(ctx, conn)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.clients = clients
		// Read with every cluster node so the options can offer them as
		// redirect URIs (the engine only lists nodes with AllNodes).
		all := in
		all.AllNodes = true
		e := newEngine(clients, all, opts)
		report, err := e.Preflight(ctx)
		msg.report = copyReport(report)
		msg.facts = copyFacts(e.Facts())
		if err != nil {
			msg.err = err
			return msg
		}
		if !connected(report) && conn.ProxmoxToken == "" && conn.ProxmoxPassword != "" {
			// Did the password login stop at a second factor? Ask
			// again (nothing is written; the reports do not carry the
			// error itself) and tell the wizard to ask for the code.
			if err := clients.Proxmox.Login(ctx); errors.Is(err, steps.ErrTFARequired) {
				msg.tfa = &tfaChallenge{methods: steps.TFAMethods(err)}
			}
			return msg
		}
		if ex := msg.facts.Existing; ex != nil && (ex.Realm != "" || ex.AppSlug != "" || ex.SubjectMode != "") {
			// a rerun: prefill from what exists (flags and the config
			// file still win; they are the explicit inputs)
			adopted := e.Inputs()
			adopted.AllNodes = in.AllNodes
			in = adopted
			msg.inputs = &adopted
		}
		if msg.facts.RealmExists || msg.facts.ProviderExists || msg.facts.ApplicationExists {
			r := readStatus(ctx, 0, clients, in, opts)().(statusReadMsg)
			msg.status, msg.realmUsers = r.status, r.realmUsers
		}
		msg.akUsers = authentikUsers(ctx, clients, in, opts)
		if kps := keyPairs(ctx, clients, in, opts); kps != nil {
			// the same pairs and eligibility as the preflight, with sizes
			msg.facts.KeyPairs = kps
		}
		return msg
	}
}

// readStatus reads the rerun menu's figures: the status plan (nil when it
// cannot be made) and the realm's users with their groups.
func readStatus(ctx context.Context, gen int, c *steps.Clients, in steps.Inputs, opts []steps.Option) tea.Cmd {
	return func() tea.Msg {
		msg := statusReadMsg{gen: gen}
		e := newEngine(c, in, opts)
		status, err := e.Status(ctx)
		if err == nil {
			msg.status = copyPlan(status)
		}
		users, err := e.RealmUserGroups(ctx)
		if err == nil {
			msg.realmUsers = copyRealmUsers(users)
		}
		msg.err = err
		return msg
	}
}

func copyRealmUsers(us []steps.RealmUser) []steps.RealmUser {
	out := make([]steps.RealmUser, len(us))
	for i, u := range us {
		out[i] = steps.RealmUser{UserID: u.UserID, Groups: append([]string(nil), u.Groups...)}
	}
	return out
}

// runChecks runs Preflight with the chosen inputs.
func runChecks(ctx context.Context, gen int, c *steps.Clients, in steps.Inputs, opts []steps.Option) tea.Cmd {
	return func() tea.Msg {
		e := newEngine(c, in, opts)
		report, err := e.Preflight(ctx)
		return checksDoneMsg{gen: gen, report: copyReport(report), facts: copyFacts(e.Facts()), err: err}
	}
}

// buildPlan computes a plan of the given mode.
func buildPlan(ctx context.Context, gen int, mode planMode, c *steps.Clients, in steps.Inputs, opts []steps.Option) tea.Cmd {
	return func() tea.Msg {
		e := newEngine(c, in, opts)
		var p *steps.Plan
		var err error
		switch mode {
		case planSetup:
			p, err = e.Plan(ctx)
		case planStatus:
			p, err = e.Status(ctx)
		case planRemove:
			p, err = e.PlanRemove(ctx)
		}
		return planReadyMsg{gen: gen, mode: mode, plan: copyPlan(p), orig: p, engine: e, err: err}
	}
}

// startApply runs Apply (or Remove) on e in the background; events arrive
// through the returned channel, read one at a time by waitForApply.
func startApply(ctx context.Context, gen int, mode planMode, e *steps.Engine, p *steps.Plan, allowConflicts bool) tea.Cmd {
	return func() tea.Msg {
		actx, cancel := context.WithCancel(ctx)
		ch := make(chan applyUpdate, 64)
		plan := p // the engine's own plan (it carries the engine's state)
		go func() {
			defer close(ch)
			opts := steps.ApplyOptions{AllowConflicts: allowConflicts, OnEvent: func(ev steps.Event) {
				ev2 := ev
				select {
				case ch <- applyUpdate{event: &ev2}:
				case <-actx.Done():
				}
			}}
			var res *steps.Result
			var err error
			if mode == planRemove {
				res, err = e.Remove(actx, plan, opts)
			} else {
				res, err = e.Apply(actx, plan, opts)
			}
			ch <- applyUpdate{result: copyResult(res), err: err, done: true}
		}()
		return applyStartedMsg{gen: gen, events: ch, cancel: cancel}
	}
}

// waitForApply reads one update from the apply channel.
func waitForApply(gen int, ch <-chan applyUpdate) tea.Cmd {
	return func() tea.Msg {
		u, ok := <-ch
		if !ok {
			return applyFinishedMsg{gen: gen, err: errors.New("apply ended without a result")}
		}
		if u.done {
			return applyFinishedMsg{gen: gen, result: u.result, err: u.err}
		}
		return applyEventMsg{gen: gen, ev: *u.event, events: ch}
	}
}

// fetchLoginURL asks Proxmox for a fresh login link (the state in an
// auth-url link is single-use), falling back to the one from Apply.
func fetchLoginURL(ctx context.Context, c *steps.Clients, in steps.Inputs, opts []steps.Option, fallback string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		u, err := newEngine(c, in, opts).LoginURL(ctx)
		if err != nil || u == "" {
			if fallback != "" {
				return loginURLMsg{url: fallback}
			}
			return loginURLMsg{err: err}
		}
		return loginURLMsg{url: u}
	}
}

// openBrowser opens url with the launcher.
func openBrowser(ctx context.Context, l browser.Launcher, url string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		o, err := l.Open(ctx, url)
		return browserOpenedMsg{url: url, opened: o, err: err}
	}
}

// pollRealmUsers waits d, then lists the realm's users.
func pollRealmUsers(ctx context.Context, gen int, d time.Duration, c *steps.Clients, in steps.Inputs, opts []steps.Option) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg {
		return listRealmUsers(ctx, gen, c, in, opts)()
	})
}

func listRealmUsers(ctx context.Context, gen int, c *steps.Clients, in steps.Inputs, opts []steps.Option) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		users, err := newEngine(c, in, opts).RealmUsers(ctx)
		return realmUsersMsg{gen: gen, users: append([]string(nil), users...), err: err}
	}
}

// addUsers adds users (Authentik usernames/emails or Proxmox userids) to
// the admin group: PlanUsers (its own small check pass), then Apply. The
// message carries what the plan said per user (created, added, already
// in the group) and, when the checks failed, which ones.
func addUsers(ctx context.Context, gen int, c *steps.Clients, in steps.Inputs, opts []steps.Option, users []string) tea.Cmd {
	users = append([]string(nil), users...)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		msg := usersAddedMsg{gen: gen, users: users}
		e := newEngine(c, in, opts)
		p, err := e.PlanUsers(ctx, users)
		if err != nil {
			msg.err = err
			if r := e.Report(); r != nil {
				msg.failed = append([]steps.Check(nil), r.Failed()...)
			}
			return msg
		}
		msg.items = copyPlan(p).Items
		res, err := e.Apply(ctx, p, steps.ApplyOptions{})
		msg.result, msg.err = copyResult(res), err
		return msg
	}
}

// simulateLogin runs the demo's browser-less login.
func simulateLogin(ctx context.Context, fn func(context.Context, string, string) error, loginURL, user string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return simulatedLoginMsg{user: user, err: fn(ctx, loginURL, user)}
	}
}

// --- copies ------------------------------------------------------------

func copyReport(r *steps.Report) *steps.Report {
	if r == nil {
		return nil
	}
	return &steps.Report{Checks: append([]steps.Check(nil), r.Checks...)}
}

func copyPlan(p *steps.Plan) *steps.Plan {
	if p == nil {
		return nil
	}
	c := &steps.Plan{Items: make([]steps.Item, len(p.Items)), Notes: append([]string(nil), p.Notes...),
		Problems: append([]string(nil), p.Problems...)}
	for i, it := range p.Items {
		it.Changes = append([]steps.Change(nil), it.Changes...)
		c.Items[i] = it
	}
	return c
}

func copyResult(r *steps.Result) *steps.Result {
	if r == nil {
		return nil
	}
	c := *r
	c.Users = append([]string(nil), r.Users...)
	return &c
}

func copyFacts(f steps.Facts) steps.Facts {
	f.KeyPairs = append([]steps.KeyPairFact(nil), f.KeyPairs...)
	nodes := make([]steps.NodeFact, len(f.Nodes))
	for i, n := range f.Nodes {
		n.Origins = append([]string(nil), n.Origins...)
		nodes[i] = n
	}
	f.Nodes = nodes
	users := make([]steps.UserFact, len(f.Users))
	for i, u := range f.Users {
		u.Groups = append([]string(nil), u.Groups...)
		users[i] = u
	}
	f.Users = users
	f.RedirectURIs = append([]string(nil), f.RedirectURIs...)
	return f
}
