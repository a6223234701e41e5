package sim_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/internal/simkit"
	pvesim "github.com/pvesso/pvesso/proxmox/sim"
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

func TestFixedPortPerNode(t *testing.T) {
	port := freePort(t)
	s := pvesim.New(pvesim.Options{Nodes: 3, Port: port})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= 3; i++ {
		if got, want := s.NodeURL(i), fmt.Sprintf("https://127.0.0.%d:%d", i, port); got != want {
			t.Errorf("node %d at %s, want %s", i, got, want)
		}
	}
}

func TestFixedPortTakenFailsAndReleases(t *testing.T) {
	port := freePort(t)
	// Node 2's address is taken: Start fails naming it and releases node 1.
	busy, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := pvesim.New(pvesim.Options{Nodes: 3, Port: port})
	err = s.Start()
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded on a taken address")
	}
	if !strings.Contains(err.Error(), "pve2") {
		t.Fatalf("error does not name the node: %v", err)
	}
	if s.NodeURL(1) != "" {
		t.Fatalf("node 1 still listening at %s", s.NodeURL(1))
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("node 1's port was not released: %v", err)
	}
	l.Close()
	// Port 0 still works next to the taken address.
	s2 := pvesim.New(pvesim.Options{Nodes: 3})
	if err := s2.Start(); err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestInvalidPort(t *testing.T) {
	s := pvesim.New(pvesim.Options{Port: 70000})
	if err := s.Start(); err == nil {
		s.Close()
		t.Fatal("port 70000 accepted")
	}
}
