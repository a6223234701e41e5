package steps_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/steps"
)

// customSetup makes a managed setup with non-default settings everywhere
// a rerun can read back: subject mode, username claim, signing key (a
// second RSA pair), realm, group, slug, name and the default-realm flag.
func customSetup(t *testing.T) (*env, steps.Inputs) {
	t.Helper()
	e := newEnv(t, envOpts{})
	ak, _ := e.clients()
	if _, err := ak.GenerateKeyPair(context.Background(), authentik.GenerateKeyPairRequest{CommonName: "pvesso-test-rsa", ValidityDays: 365, Alg: "rsa"}); err != nil {
		t.Fatal(err)
	}
	in := e.in
	in.Realm, in.Group, in.AppSlug, in.AppName = "sso", "ops", "pve-lab", "PVE Lab"
	in.SubjectMode, in.UsernameClaim, in.SigningKey, in.DefaultRealm = "user_username", "username", "pvesso-test-rsa", true
	mustSetup(t, e, in)
	return e, in
}

// bare is a rerun with no config file and no flags: only the URLs.
func bare(e *env, explicit ...string) steps.Inputs {
	return steps.Inputs{AuthentikURL: e.in.AuthentikURL, ProxmoxURL: e.in.ProxmoxURL}.Adopting(explicit...)
}

func TestRerunAdoptsExistingSetup(t *testing.T) {
	e, made := customSetup(t)

	// Without adoption the defaults are wanted: the plan would change things.
	if p, err := e.engine(e.in).Plan(context.Background()); err == nil && p.OK() {
		t.Fatal("plain defaults planned nothing against a non-default setup: the test proves nothing")
	}

	e.resetLogs()
	eng := e.engine(bare(e))
	p, err := eng.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.OK() {
		t.Fatalf("rerun without flags plans changes:\n%v\nproblems: %v", p, p.Problems)
	}
	if _, err := eng.Apply(context.Background(), p, steps.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("rerun wrote %d times", n)
	}
	got := eng.Inputs()
	if got.Realm != made.Realm || got.Group != made.Group || got.AppSlug != made.AppSlug || got.AppName != made.AppName ||
		got.SubjectMode != made.SubjectMode || got.UsernameClaim != made.UsernameClaim || !got.DefaultRealm {
		t.Errorf("adopted inputs %+v, setup was made with %+v", got, made)
	}
	f := eng.Facts()
	ex := f.Existing
	if ex == nil {
		t.Fatal("Facts.Existing is nil")
	}
	if ex.Realm != "sso" || ex.Group != "ops" || ex.AppSlug != "pve-lab" || ex.AppName != "PVE Lab" || ex.SubjectMode != "user_username" ||
		ex.UsernameClaim != "username" || ex.SigningKey != "pvesso-test-rsa" || !ex.DefaultRealm || len(ex.RedirectURIs) != 1 {
		t.Errorf("existing = %+v", ex)
	}
	if f.SigningKey != "pvesso-test-rsa" || f.Inputs.SubjectMode != "user_username" {
		t.Errorf("facts: signing key %q, inputs %+v", f.SigningKey, f.Inputs)
	}
	for _, n := range []string{steps.InputRealm, steps.InputGroup, steps.InputAppSlug, steps.InputSubjectMode, steps.InputUsernameClaim, steps.InputSigningKey, steps.InputDefaultRealm} {
		if !slices.Contains(ex.Adopted, n) {
			t.Errorf("adopted %v lacks %s", ex.Adopted, n)
		}
	}
}

func TestExplicitInputOverridesExistingSetup(t *testing.T) {
	e, _ := customSetup(t)
	e.resetLogs()

	// an explicit subject mode is an update diff on the provider
	in := bare(e, steps.InputSubjectMode)
	in.SubjectMode = "user_email"
	p, err := e.engine(in).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var diff *steps.Change
	for _, it := range p.Items {
		for i, c := range it.Changes {
			if it.Kind == "provider" && c.Field == "sub_mode" {
				diff = &it.Changes[i]
				if it.Action != steps.ActionUpdate {
					t.Errorf("provider action %v", it.Action)
				}
			}
		}
	}
	if diff == nil || diff.Old != "user_username" || diff.New != "user_email" {
		t.Fatalf("no sub_mode diff user_username → user_email:\n%v", p)
	}
	// the default counts as explicit when it was given: the default
	// signing key replaces the existing one
	in = bare(e, steps.InputSigningKey)
	in.SigningKey = "authentik Self-signed Certificate"
	if p, err = e.engine(in).Plan(context.Background()); err != nil || !strings.Contains(p.String(), "signing_key") {
		t.Fatalf("explicit signing key: %v\n%v", err, p)
	}

	// a different explicit username-claim stays a refusal
	in = bare(e, steps.InputUsernameClaim)
	in.UsernameClaim = "subject"
	p, err = e.engine(in).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) == 0 || !strings.Contains(strings.Join(p.Problems, "\n"), "--username-claim username") {
		t.Errorf("explicit claim change not refused: %v", p.Problems)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("planning wrote %d times", n)
	}
}

func TestAdoptionSkipsAmbiguousRealm(t *testing.T) {
	e, _ := customSetup(t)
	// a second managed realm makes the realm ambiguous: the default stays
	in := e.in
	in.Realm, in.AppSlug = "sso2", "pve-two"
	mustSetup(t, e, in)
	eng := e.engine(bare(e))
	if _, err := eng.Preflight(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := eng.Inputs().Realm; got != steps.DefaultRealm {
		t.Errorf("realm %q adopted from two managed realms", got)
	}
	// naming one adopts the rest from it
	in = bare(e, steps.InputRealm)
	in.Realm = "sso"
	eng = e.engine(in)
	p, err := eng.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := eng.Inputs(); got.AppSlug != "pve-lab" || got.SubjectMode != "user_username" {
		t.Errorf("inputs %+v", got)
	}
	if p.HasChanges() {
		t.Errorf("plan for the named realm changes things:\n%v", p)
	}
}
