package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

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

// shellUnquote undoes POSIX single quoting ('a'\”b').
func shellUnquote(v string) string {
	if !strings.HasPrefix(v, "'") {
		return v
	}
	return strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), `'\''`, "'")
}

// TestDemoServeFeedsThePlainCLI: `pvesso demo --serve` prints the contract's
// KEY=VALUE lines, and pvesso driven only by them sets up SSO on the served
// simulators; ctrl+c (ctx) stops the simulators.
func TestDemoServeFeedsThePlainCLI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--serve"}, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	}()
	keys := []string{envAuthentikURL, envAuthentikToken, envAuthentikPin, envProxmoxURL, envProxmoxToken, envProxmoxPin}
	env := map[string]string{}
	deadline := time.Now().Add(20 * time.Second)
	for len(env) < len(keys) {
		if time.Now().After(deadline) {
			t.Fatalf("demo --serve printed %q (stderr %q)", out.String(), errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("demo --serve ended early with %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = shellUnquote(v)
			}
		}
	}
	for _, k := range keys {
		if env[k] == "" {
			t.Fatalf("demo --serve lacks %s: %q", k, out.String())
		}
	}
	r := runCLI(t, env, "setup", "--yes", "--user", "alice")
	expectCode(t, r, 0)
	r = runCLI(t, env, "status")
	expectCode(t, r, 0)

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("demo --serve exit %d after interrupt", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo --serve did not stop on interrupt")
	}
	// The simulators are gone.
	r = runCLI(t, env, "status")
	if r.code != 1 {
		t.Errorf("status against stopped simulators: exit %d", r.code)
	}
}

func TestDemoWizardNeedsATerminal(t *testing.T) {
	r := runCLI(t, nil, "demo")
	if r.code != exitUsage || !strings.Contains(r.stderr, "demo --serve") {
		t.Errorf("exit %d, %q", r.code, r.stderr)
	}
}
