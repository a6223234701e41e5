package steps_test

import (
	"context"
	"testing"
	"time"

	aksim "github.com/pvesso/pvesso/authentik/sim"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
	"github.com/pvesso/pvesso/steps"
)

// env is a pair of simulators on loopback with clients that trust them.
type env struct {
	t    testing.TB
	ak   *aksim.Server
	pve  *pvesim.Server
	conn steps.Conn
	in   steps.Inputs
}

type envOpts struct {
	akVersion  string
	pveVersion string
	nodes      int
	latency    time.Duration
	timeout    time.Duration
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ak := aksim.New(aksim.Options{Version: o.akVersion, Latency: o.latency})
	if err := ak.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ak.Close)
	akURL, akRoots := ak.URL(), ak.CertPool()
	pve := pvesim.New(pvesim.Options{Version: o.pveVersion, Nodes: o.nodes, OIDCRoots: akRoots, Latency: o.latency})
	if err := pve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pve.Close)
	timeout := o.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	e := &env{t: t, ak: ak, pve: pve,
		conn: steps.Conn{AuthentikURL: akURL, AuthentikToken: ak.AdminToken(), ProxmoxURL: pve.URL(), ProxmoxToken: pve.RootToken(),
			AuthentikRoots: akRoots, ProxmoxRoots: pve.CertPool(), Timeout: timeout}}
	in := steps.DefaultInputs()
	in.AuthentikURL, in.ProxmoxURL = akURL, pve.URL()
	e.in = in
	return e
}

// engine connects fresh clients (as a new CLI run would).
func (e *env) engine(in steps.Inputs, opts ...steps.Option) *steps.Engine {
	e.t.Helper()
	c, err := steps.Connect(context.Background(), e.conn)
	if err != nil {
		e.t.Fatal(err)
	}
	return steps.New(c, in, opts...)
}

// writes counts the requests that could change state on either server.
// POST /access/ticket (a password login) is a POST by protocol but changes
// nothing; it is not counted.
func (e *env) writes() int {
	n := e.ak.Kit().Writes()
	for _, r := range e.pve.Kit().Requests() {
		if r.IsWrite() && r.Path != "/api2/json/access/ticket" {
			n++
		}
	}
	return n
}

func (e *env) resetLogs() {
	e.ak.Kit().ResetLog()
	e.pve.Kit().ResetLog()
}

// setup runs Plan + Apply like `pvesso setup --yes`.
func (e *env) setup(in steps.Inputs, o steps.ApplyOptions, opts ...steps.Option) (*steps.Plan, *steps.Result, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	eng := e.engine(in, opts...)
	p, err := eng.Plan(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := eng.Apply(ctx, p, o)
	return p, r, err
}

func mustSetup(t testing.TB, e *env, in steps.Inputs) (*steps.Plan, *steps.Result) {
	t.Helper()
	p, r, err := e.setup(in, steps.ApplyOptions{})
	if err != nil {
		t.Fatalf("setup: %v\nplan:\n%v", err, p)
	}
	return p, r
}
