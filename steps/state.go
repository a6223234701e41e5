package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/proxmox"
)

// State is what one run knows: the inputs, the facts the step checks
// discovered, the decisions of the plan and the outputs of Apply.
type State struct {
	In    Inputs
	Facts Facts
	Out   Result

	rd  *reader
	e   *Engine
	now time.Time

	mu     sync.Mutex
	checks [][]checkRec // per step index

	// decisions
	akVer     authentik.Version
	redirects []string
	departed  []string
	key       keyDecision
	prov      provDecision
	app       appDecision
	iss       issuerDecision
	realm     realmDecision
	group     groupDecision
	acl       aclDecision
	users     []userDecision
	blocked   []string // conflicts no consent resolves (Apply refuses)
	problems  []string // what the plan cannot fix (issuer check)

	findProv memo[provMatch]

	// mode is "" for setup, "users" for PlanUsers (userids follow the
	// existing provider and realm) and "remove" for PlanRemove.
	mode    string
	changes bool // the plan changes something
	applied bool
	plan    *Plan
	// stages are the write stages Apply runs for this plan.
	stages [][]step

	// secrets: never rendered, never in errors
	clientID     string
	clientSecret string

	writes atomic.Int64
}

type checkRec struct {
	Check
	side    string // "authentik" | "proxmox" | ""
	readErr bool   // the check failed because a read failed
}

// counted wraps a write: Result.Writes counts every write attempted.
func (s *State) write(f func() error) error {
	s.writes.Add(1)
	return s.scrub(f())
}

// scrub makes sure no error carries the client secret (defence in depth:
// the clients already mask what they send).
func (s *State) scrub(err error) error {
	if err == nil || s.clientSecret == "" || !strings.Contains(err.Error(), s.clientSecret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.clientSecret, SecretMask))
}

func (s *State) report() *Report {
	down := map[string]bool{}
	for _, recs := range s.checks {
		for _, c := range recs {
			if !c.OK && strings.HasSuffix(c.ID, "-connect") {
				down[c.side] = true
			}
		}
	}
	r := &Report{}
	for _, recs := range s.checks {
		for _, c := range recs {
			if c.readErr && down[c.side] && !strings.HasSuffix(c.ID, "-connect") {
				continue // the connection check already says why
			}
			r.Checks = append(r.Checks, c.Check)
		}
	}
	return r
}

func ok(id, title, detail string) checkRec {
	return checkRec{Check: Check{ID: id, Title: title, OK: true, Detail: detail}}
}

func fail(id, title, detail, fix string) checkRec {
	return checkRec{Check: Check{ID: id, Title: title, Detail: detail, Fix: fix}}
}

// readFail turns a failed read into a check naming the fix.
func readFail(side, id, title string, err error) checkRec {
	d, f := Explain(side, err)
	return checkRec{Check: Check{ID: id, Title: title, Detail: d, Fix: f}, side: side, readErr: true}
}

// Explain describes err from one side ("authentik" or "proxmox") and names
// the fix: the flag or environment variable to use. It never includes a
// secret (the clients keep secrets out of their errors).
func Explain(side string, err error) (detail, fix string) {
	if err == nil {
		return "", ""
	}
	urlFlag, fpFlag, credFix := "--authentik-url / AUTHENTIK_URL", "--authentik-fingerprint / AUTHENTIK_FINGERPRINT", "set AUTHENTIK_TOKEN (or --authentik-token-file) to a valid API token of a superuser"
	if side == "proxmox" {
		urlFlag, fpFlag, credFix = "--proxmox-url / PROXMOX_VE_ENDPOINT", "--proxmox-fingerprint / PROXMOX_VE_FINGERPRINT", "set PROXMOX_VE_API_TOKEN (USER@REALM!TOKENID=SECRET) or PROXMOX_VE_USERNAME and PROXMOX_VE_PASSWORD"
	}
	detail = err.Error()
	var ce *tlstrust.CertError
	var ne net.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &ce):
		if ce.PinMismatch {
			return detail, fmt.Sprintf("the pinned fingerprint does not match; check the server and correct %s", fpFlag)
		}
		return detail, fmt.Sprintf("compare the fingerprint %s with the server's certificate and pin it with %s, or trust its CA with --ca-file", ce.Fingerprint, fpFlag)
	case errors.Is(err, authentik.ErrUnauthenticated), errors.Is(err, proxmox.ErrUnauthenticated):
		return detail, credFix
	case errors.Is(err, proxmox.ErrTFARequired):
		return detail, "set PROXMOX_VE_OTP to the current one-time code, or use PROXMOX_VE_API_TOKEN"
	case errors.Is(err, authentik.ErrForbidden):
		return detail, "use an API token of an Authentik superuser (AUTHENTIK_TOKEN)"
	case errors.Is(err, proxmox.ErrForbidden):
		return detail, "use root@pam or a token with the Administrator role on / (PROXMOX_VE_API_TOKEN, privilege separation off)"
	case errors.Is(err, context.DeadlineExceeded):
		return detail, fmt.Sprintf("the server did not answer in time; check %s and the network", urlFlag)
	case errors.As(err, &dnsErr), errors.As(err, &opErr), errors.As(err, &ne):
		return detail, fmt.Sprintf("check that the host is reachable and %s is right", urlFlag)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return detail, fmt.Sprintf("check %s", urlFlag)
	}
	return detail, ""
}

// provMatch is the provider found again by stable identity.
type provMatch struct {
	p     *authentik.OAuth2Provider
	how   string // "client id" | "application" | "name"
	owned bool
}

// provider finds pvesso's provider: by the realm's client id, by the
// application pvesso manages, else by name. Owned means pvesso manages it:
// the managed realm uses its client id, or the managed application is bound
// to it.
func (s *State) provider(ctx context.Context) (provMatch, error) {
	return s.findProv.get(func() (provMatch, error) {
		provs, err := s.rd.Providers(ctx)
		if err != nil {
			return provMatch{}, err
		}
		realm, _ := s.rd.Realm(ctx)
		app, _ := s.rd.App(ctx)
		var m provMatch
		for i := range provs {
			p := &provs[i]
			switch {
			case realm != nil && realm.ClientID != "" && p.ClientID == realm.ClientID:
				m = provMatch{p: p, how: "client id"}
			case m.p == nil && app != nil && app.Provider != nil && *app.Provider == p.PK && appOwned(app):
				m = provMatch{p: p, how: "application"}
			}
			if m.how == "client id" {
				break
			}
		}
		if m.p == nil {
			for i := range provs {
				if provs[i].Name == s.In.ProviderName {
					m = provMatch{p: &provs[i], how: "name"}
					break
				}
			}
		}
		if m.p != nil {
			m.owned = (realm != nil && realmOwned(realm) && realm.ClientID == m.p.ClientID) ||
				(app != nil && appOwned(app) && app.Provider != nil && *app.Provider == m.p.PK)
		}
		return m, nil
	})
}

func realmOwned(r *proxmox.Realm) bool { return strings.Contains(r.Comment, ManagedMarker) }

func appOwned(a *authentik.Application) bool {
	return strings.Contains(a.MetaDescription, ManagedMarker)
}

// wantedRedirects computes the strict redirect URIs: the Proxmox origin,
// --redirect-uri values and, with --all-nodes, every node's origin.
func (s *State) wantedRedirects(ctx context.Context) ([]NodeFact, []string, error) {
	origin, err := Origin(s.In.ProxmoxURL)
	if err != nil {
		return nil, nil, err
	}
	out := []string{origin}
	seen := map[string]bool{origin: true}
	add := func(u string) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, r := range s.In.RedirectURIs {
		o, err := redirectOrigin(r)
		if err != nil {
			return nil, nil, err
		}
		add(o)
	}
	if !s.In.AllNodes {
		return nil, out, nil
	}
	entries, err := s.rd.Cluster(ctx)
	if err != nil {
		return nil, nil, err
	}
	var nodes []NodeFact
	for _, e := range entries {
		if e.Type != "node" {
			continue
		}
		nodes = append(nodes, NodeFact{Name: e.Name, IP: e.IP, Online: e.Online})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	// resolve node names concurrently (injectable; tests use loopback only)
	var wg sync.WaitGroup
	resolves := make([]bool, len(nodes))
	for i := range nodes {
		if nodes[i].Name == "" || s.e.lookup == nil {
			continue
		}
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			addrs, err := s.e.lookup(rctx, nodes[i].Name)
			resolves[i] = err == nil && len(addrs) > 0
		})
	}
	wg.Wait()
	for i := range nodes {
		if nodes[i].IP != "" {
			nodes[i].Origins = append(nodes[i].Origins, nodeOrigin(nodes[i].IP))
		}
		if resolves[i] {
			nodes[i].Origins = append(nodes[i].Origins, nodeOrigin(nodes[i].Name))
		}
		for _, o := range nodes[i].Origins {
			add(o)
		}
	}
	return nodes, out, nil
}

// Format prints a summary without any secret (the State holds the client
// secret in memory for the realm's client-key).
func (s *State) Format(f fmt.State, verb rune) {
	if s == nil {
		fmt.Fprint(f, "steps.State(nil)")
		return
	}
	fmt.Fprintf(f, "steps.State{realm: %s, app: %s, client_id: %s, client_secret: %s, writes: %d}",
		s.In.Realm, s.In.AppSlug, s.clientID, SecretMask, s.writes.Load())
}
