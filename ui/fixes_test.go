package ui

import (
	"regexp"
	"testing"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
	"github.com/pvesso/pvesso/steps"
)

// The engine's fixes for the connections name flags and environment
// variables; in the wizard they name the screens instead.
func TestWizardFixNamesScreens(t *testing.T) {
	cli := regexp.MustCompile(`--[a-z]|[A-Z]+_[A-Z]+`)
	for _, c := range []struct {
		side string
		err  error
	}{
		{"proxmox", proxmox.ErrUnauthenticated},
		{"proxmox", proxmox.ErrForbidden},
		{"proxmox", steps.ErrTFARequired},
		{"authentik", authentik.ErrUnauthenticated},
		{"authentik", authentik.ErrForbidden},
	} {
		_, fix := steps.Explain(c.side, c.err)
		if fix == "" {
			t.Fatalf("%s %v: no fix", c.side, c.err)
		}
		if got := wizardFix(fix); cli.MatchString(got) {
			t.Errorf("%s %v: %q still names a flag or variable", c.side, c.err, got)
		}
	}
	// Usage errors of the connection (explain writes "set " + Flag).
	for _, flag := range []string{"AUTHENTIK_TOKEN / --authentik-token-file", "--authentik-url / AUTHENTIK_URL / AUTHENTIK_TOKEN",
		"--authentik-url / AUTHENTIK_URL", "PROXMOX_VE_API_TOKEN or PROXMOX_VE_USERNAME + PROXMOX_VE_PASSWORD", "PROXMOX_VE_API_TOKEN",
		"--proxmox-url / PROXMOX_VE_ENDPOINT", "--proxmox-fingerprint / PROXMOX_VE_FINGERPRINT", "--authentik-fingerprint / AUTHENTIK_FINGERPRINT"} {
		_, fix := explain(&steps.UsageError{Flag: flag, Detail: "x"})
		if cli.MatchString(fix) {
			t.Errorf("usage error %q: fix %q still names a flag or variable", flag, fix)
		}
	}
	if got := wizardFix("use --subject-mode user_username, --username-claim username, or a shorter --realm"); got != "use Subject mode user_username, Username claim username, or a shorter Realm" {
		t.Errorf("options fix: %q", got)
	}
}
