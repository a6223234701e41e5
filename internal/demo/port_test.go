package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
)

// freePort returns a port free on 127.0.0.1-3 right now (skips where the
// host has no 127.0.0.2/.3).
func freePort(t *testing.T) int {
	t.Helper()
	port, err := simkit.FreePort("127.0.0.1", "127.0.0.2", "127.0.0.3")
	if errors.Is(err, simkit.ErrAddrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestPreferredPortOnEveryNode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port := freePort(t)
	d, err := Start(ctx, Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.PortNote != "" {
		t.Fatalf("note on a free port: %q", d.PortNote)
	}
	for i := 1; i <= 3; i++ {
		if got, want := d.Proxmox.NodeURL(i), fmt.Sprintf("https://127.0.0.%d:%d", i, port); got != want {
			t.Errorf("node %d at %s, want %s", i, got, want)
		}
	}
	if d.Conn.ProxmoxURL != d.Proxmox.NodeURL(1) || d.Inputs.ProxmoxURL != d.Conn.ProxmoxURL {
		t.Fatalf("conn %q, inputs %q", d.Conn.ProxmoxURL, d.Inputs.ProxmoxURL)
	}
}

// TestPreferredPortTakenFallsBack occupies the preferred port on one node's
// address: the demo starts anyway, every node on a random port, pinned and
// reachable, and says why.
func TestPreferredPortTakenFallsBack(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "127.0.0.3"} {
		t.Run(ip, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			port := freePort(t)
			busy, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				t.Fatal(err)
			}
			defer busy.Close()
			d, err := Start(ctx, Options{Port: port})
			if err != nil {
				t.Fatalf("no fallback: %v", err)
			}
			defer d.Close()
			if !strings.Contains(d.PortNote, "Port "+strconv.Itoa(port)+" is not free") {
				t.Fatalf("note %q", d.PortNote)
			}
			for i := 1; i <= 3; i++ {
				u := d.Proxmox.NodeURL(i)
				if u == "" || strings.HasSuffix(u, ":"+strconv.Itoa(port)) {
					t.Errorf("node %d at %q", i, u)
				}
			}
			hc, err := tlstrust.NewHTTPClient(tlstrust.Config{Pin: d.Conn.ProxmoxPin}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Get(d.Conn.ProxmoxURL + "/")
			if err != nil {
				t.Fatalf("fallback node 1 with pin: %v", err)
			}
			resp.Body.Close()
			// The occupied port is still ours.
			if _, err := net.Listen("tcp", busy.Addr().String()); err == nil {
				t.Fatal("the occupied port was free again")
			}
		})
	}
}

// TestDefaultPortMatchesNodeOrigins: on PVE's port the redirect URIs the
// engine registers for the cluster's nodes (https://<ip>:8006) are the
// simulated nodes themselves, and the first one is the wizard's URL.
func TestDefaultPortMatchesNodeOrigins(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.PortNote != "" {
		t.Skipf("port %d busy here: %s", PVEPort, d.PortNote)
	}
	c, err := steps.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	in := d.Inputs
	in.AllNodes = true
	noDNS := steps.WithResolver(func(context.Context, string) ([]string, error) {
		return nil, &net.DNSError{Err: "no DNS in tests", IsNotFound: true}
	})
	e := steps.New(c, in, noDNS)
	if _, err := e.Preflight(ctx); err != nil {
		t.Fatal(err)
	}
	nodes := e.Facts().Nodes
	if len(nodes) != 3 {
		t.Fatalf("nodes %+v", nodes)
	}
	for i, n := range nodes {
		if len(n.Origins) != 1 || n.Origins[0] != d.Proxmox.NodeURL(i+1) {
			t.Errorf("%s: origins %v, node listens at %s", n.Name, n.Origins, d.Proxmox.NodeURL(i+1))
		}
	}
	if nodes[0].Origins[0] != d.Conn.ProxmoxURL {
		t.Errorf("pve1 %s is not the wizard's URL %s", nodes[0].Origins[0], d.Conn.ProxmoxURL)
	}
}
