package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestAccessibleDemoRun runs the whole setup in line mode (TERM=dumb)
// against the simulators, answering on stdin like a screen-reader user.
func TestAccessibleDemoRun(t *testing.T) {
	d, ctx := startDemo(t)
	var out bytes.Buffer
	opts := DemoOptions(d, testOptions(&out))
	opts.Getenv = func(k string) string {
		if k == "TERM" {
			return "dumb"
		}
		return ""
	}
	opts.PollInterval = 20 * time.Millisecond
	opts.Renderer = nil
	answers := strings.Join([]string{
		"",  // use these options
		"",  // no users now
		"y", // apply
		"y", // simulate alice logging in
		"y", // add alice to admin
	}, "\n") + "\n"
	opts.Input = strings.NewReader(answers)
	if err := Run(ctx, opts); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"== Options ==", "preview: alice → alice@example.com@authentik", "not usable:",
		"== Checks ==", "== Plan ==", "+ provider", "== Apply ==", "✓ Authentik OAuth2 provider",
		"alice@example.com@authentik logged in.", "is now in \"admin\"", "Permissions.Modify",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "\x1b[") {
		t.Error("escape sequences in line mode")
	}
	if t.Failed() || testing.Verbose() {
		t.Log(got)
	}
	for _, u := range d.Proxmox.Users() {
		if u.UserID == "alice@example.com@authentik" && contains(u.Groups, "admin") {
			return
		}
	}
	t.Fatal("alice is not in admin")
}
