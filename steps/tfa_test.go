package steps_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/pvesso/pvesso/steps"
)

// A password login with a TOTP second factor and no code: the error
// matches steps.ErrTFARequired and names the challenge's methods, so a UI
// can ask for the code only then (without importing proxmox).
func TestTFARequiredThroughSteps(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.pve.SetTOTP("root@pam", "JBSWY3DPEHPK3PXP")
	c := e.conn
	c.ProxmoxToken, c.ProxmoxUser, c.ProxmoxPassword = "", "root@pam", e.pve.RootPassword()
	cl, err := steps.Connect(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	err = cl.Proxmox.Login(context.Background())
	if !errors.Is(err, steps.ErrTFARequired) || !slices.Contains(steps.TFAMethods(err), "totp") {
		t.Fatalf("login without a code: %v (methods %v)", err, steps.TFAMethods(err))
	}
	if m := steps.TFAMethods(errors.New("other")); m != nil {
		t.Errorf("methods of another error: %v", m)
	}
	c.ProxmoxOTP = e.pve.TOTPCode("JBSWY3DPEHPK3PXP")
	if cl, err = steps.Connect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := cl.Proxmox.Login(context.Background()); err != nil || steps.TFAMethods(err) != nil {
		t.Fatalf("login with the code: %v", err)
	}
}
