package steps

import (
	"errors"
	"slices"

	"github.com/pvesso/pvesso/proxmox"
)

// ErrTFARequired matches (errors.Is) a Proxmox password login that was
// answered with a second-factor challenge pvesso could not complete (no
// code given, or a method it cannot answer). TFAMethods says what the
// challenge offers.
var ErrTFARequired = proxmox.ErrTFARequired

// TFAMethods returns the second-factor methods of the challenge behind err
// ("totp", "recovery", "webauthn", "u2f", "yubico"), or nil when err is not
// such a challenge. pvesso can answer totp and recovery only.
func TFAMethods(err error) []string {
	var te *proxmox.TFARequiredError
	if !errors.As(err, &te) {
		return nil
	}
	return slices.Clone(te.Methods)
}
