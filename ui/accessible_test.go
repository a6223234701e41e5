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
	var remembered []Remembered
	opts.Remember = func(r Remembered) error { remembered = append(remembered, r); return nil }
	if err := Run(ctx, opts); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	// Line mode, too, hands the applied choices to the config file.
	if n := len(remembered); n == 0 || remembered[n-1].Inputs.Realm != "authentik" || remembered[n-1].Inputs.SubjectMode == "" {
		t.Errorf("remembered %+v", remembered)
	}
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

// TestAccessibleAsksTOTPWhenProxmoxDoes: in line mode a password login
// gets no TOTP question up front; Proxmox's challenge brings one, and the
// run reaches the options. (The code is computed before the run starts;
// the simulator accepts the neighbouring 30 s steps too.)
func TestAccessibleAsksTOTPWhenProxmoxDoes(t *testing.T) {
	d, ctx := startDemo(t)
	const secret = "JBSWY3DPEHPK3PXP"
	d.Proxmox.SetTOTP("root@pam", secret)
	var out bytes.Buffer
	opts := DemoOptions(d, testOptions(&out))
	opts.Accessible = true
	opts.Renderer = nil
	opts.Conn.ProxmoxToken = ""
	opts.Conn.ProxmoxUser, opts.Conn.ProxmoxPassword = "root@pam", d.Proxmox.RootPassword()
	code := d.Proxmox.TOTPCode(secret)
	opts.Input = strings.NewReader(code + "\n")
	err := Run(ctx, opts) // ends when the input does (at the options)
	got := out.String()
	if !strings.Contains(got, "Proxmox asks root@pam for a second factor") || !strings.Contains(got, "== Options ==") {
		t.Fatalf("err %v, output:\n%s", err, got)
	}
	if strings.Contains(got, code) {
		t.Fatal("the code was printed")
	}
	if strings.Count(got, "TOTP code") != 1 {
		t.Fatalf("asked %d times:\n%s", strings.Count(got, "TOTP code"), got)
	}
}
