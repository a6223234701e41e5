package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/steps"
)

// TestE2ERerunWithoutConfigKeepsExistingSetup: a setup made with a
// non-default subject mode and signing key, then a rerun from a machine
// without the config file and without flags: nothing to do, zero writes.
// An explicit different flag is still an update that needs --yes.
func TestE2ERerunWithoutConfigKeepsExistingSetup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := steps.Connect(ctx, steps.Conn{AuthentikURL: f.ak.URL(), AuthentikToken: f.ak.AdminToken(), AuthentikPin: f.ak.Fingerprint(),
		ProxmoxURL: f.pve.URL(), ProxmoxToken: f.pve.RootToken(), ProxmoxPin: f.pve.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authentik.GenerateKeyPair(ctx, authentik.GenerateKeyPairRequest{CommonName: "lab-rsa", ValidityDays: 365, Alg: "rsa"}); err != nil {
		t.Fatal(err)
	}
	expectCode(t, f.run(nil, "setup", "--yes", "--subject-mode", "user_username", "--signing-key", "lab-rsa", "--realm", "sso", "--user", "alice"), 0)
	if err := os.Remove(f.configFile()); err != nil {
		t.Fatal(err)
	}
	f.resetLogs()

	r := f.run(nil, "setup", "--plan")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "nothing to do") || !strings.Contains(r.stdout, "realm       sso: ok") {
		t.Errorf("--plan without config proposes changes:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "kept from the existing setup") || !strings.Contains(r.stdout, "--subject-mode user_username") {
		t.Errorf("the plan does not say what it kept:\n%s", r.stdout)
	}
	r = f.run(nil, "setup")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("rerun without config:\n%s", r.stdout)
	}
	if w := f.writes(); w != 0 {
		t.Fatalf("rerun without config wrote %d", w)
	}
	// the rerun remembers what exists, not the defaults
	cfg, err := loadConfig(f.configFile())
	if err != nil || cfg.SubjectMode != "user_username" || cfg.Realm != "sso" {
		t.Errorf("remembered %+v, %v", cfg, err)
	}
	r = f.run(nil, "users", "list")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "alice@sso") {
		t.Errorf("users list does not follow the existing realm:\n%s", r.stdout)
	}

	// an explicit flag still asks for the change
	os.Remove(f.configFile())
	r = f.run(nil, "setup", "--subject-mode", "user_email")
	expectCode(t, r, 1)
	if !strings.Contains(r.stdout, "sub_mode") || !strings.Contains(r.stdout, "user_username") || !strings.Contains(r.stdout, "--yes") {
		t.Errorf("explicit --subject-mode shows no diff:\n%s", r.stdout)
	}
	if w := f.writes(); w != 0 {
		t.Fatalf("change without --yes wrote %d", w)
	}
	// a different explicit username-claim is refused
	r = f.run(nil, "setup", "--username-claim", "email", "--yes")
	expectCode(t, r, 1)
	if !strings.Contains(r.stdout+r.stderr, "--username-claim subject") {
		t.Errorf("claim change not refused:\n%s%s", r.stdout, r.stderr)
	}
	if w := f.writes(); w != 0 {
		t.Fatalf("refused claim change wrote %d", w)
	}
}
