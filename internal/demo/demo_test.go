package demo

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
)

func TestStartPinsAndTrust(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := Start(ctx, Options{RandomPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, u := range []string{d.Conn.AuthentikURL, d.Conn.ProxmoxURL} {
		if !strings.HasPrefix(u, "https://127.") {
			t.Fatalf("not loopback https: %q", u)
		}
	}
	if d.Conn.AuthentikPin != d.Authentik.Fingerprint() || d.Conn.ProxmoxPin != d.Proxmox.Fingerprint() {
		t.Fatal("pins are not the simulators' fingerprints")
	}
	// The pins alone must be enough to talk to both servers.
	for _, c := range []struct{ url, pin string }{{d.Conn.AuthentikURL, d.Conn.AuthentikPin}, {d.Conn.ProxmoxURL, d.Conn.ProxmoxPin}} {
		hc, err := tlstrust.NewHTTPClient(tlstrust.Config{Pin: c.pin}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(c.url + "/")
		if err != nil {
			t.Fatalf("%s with pin: %v", c.url, err)
		}
		resp.Body.Close()
	}
	if len(d.Users) != 2 || d.Users[0].Username != "alice" || d.Users[0].Password == "" || d.Users[1].Email != "bob@example.com" {
		t.Fatalf("demo users = %+v", d.Users)
	}
	if !strings.Contains(d.Conn.ProxmoxToken, "root@pam!") {
		t.Fatalf("proxmox token = %q", d.Conn.ProxmoxToken)
	}
}

func TestWriteEnvIsPasteable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := Start(ctx, Options{Nodes: 1, RandomPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var buf bytes.Buffer
	if err := WriteEnv(&buf, d); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "# ") {
			continue // a shell comment (the port note)
		}
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("line %q is not KEY=VALUE", sc.Text())
		}
		got[k] = strings.Trim(v, "'")
	}
	want := map[string]string{
		"AUTHENTIK_URL": d.Conn.AuthentikURL, "AUTHENTIK_TOKEN": d.Conn.AuthentikToken, "AUTHENTIK_FINGERPRINT": d.Conn.AuthentikPin,
		"PROXMOX_VE_ENDPOINT": d.Conn.ProxmoxURL, "PROXMOX_VE_API_TOKEN": d.Conn.ProxmoxToken, "PROXMOX_VE_FINGERPRINT": d.Conn.ProxmoxPin,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.Contains(text, "PROXMOX_VE_API_TOKEN='root@pam!") {
		t.Errorf("the token with '!' must be single-quoted for the shell:\n%s", text)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, &out) }()
	deadline := time.After(20 * time.Second)
	for strings.Count(out.String(), "\n") < 6 {
		select {
		case err := <-done:
			t.Fatalf("Serve returned early: %v", err)
		case <-deadline:
			t.Fatalf("no environment printed: %q", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(out.String(), "AUTHENTIK_URL=https://127.") {
		t.Fatalf("output %q", out.String())
	}
	select {
	case err := <-done:
		t.Fatalf("Serve must keep running until cancelled, returned %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
}

func TestSimulatedLoginClosesTheLoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{RandomPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := steps.Connect(ctx, d.Conn)
	if err != nil {
		t.Fatal(err)
	}
	e := steps.New(c, d.Inputs)
	p, err := e.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(ctx, p, steps.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url, err := steps.New(c, d.Inputs).LoginURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	who, err := d.SimulateLogin(ctx, url, "alice")
	if err != nil {
		t.Fatalf("login: %v (auth url from apply: %q)", err, res.AuthURL)
	}
	if who != "alice@example.com@authentik" {
		t.Fatalf("logged in as %q", who)
	}
	users, err := steps.New(c, d.Inputs).RealmUsers(ctx)
	if err != nil || len(users) != 1 || users[0] != who {
		t.Fatalf("realm users %v, %v", users, err)
	}
	// Starting from the Proxmox login page works as well (bob).
	who, err = d.SimulateLogin(ctx, "", "bob")
	if err != nil || who != "bob@example.com@authentik" {
		t.Fatalf("login from the page: %q, %v", who, err)
	}
	if _, err := d.SimulateLogin(ctx, "https://example.com/", "bob"); err == nil {
		t.Fatal("a non-loopback URL must be refused")
	}
}
