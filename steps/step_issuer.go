package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/pvesso/pvesso/proxmox"
)

type issuerDecision struct {
	planned   string // the issuer as planned (read-only during Apply)
	predicted string
	disc      *discovery
	discErr   error
	problems  []string
	verified  bool
	fixed     bool // Apply corrected the realm's issuer-url
}

type issuerStep struct{}

func (issuerStep) ID() string { return StepIssuer }

func (issuerStep) Check(ctx context.Context, s *State) []checkRec {
	d := &s.iss
	d.predicted = s.rd.ak.IssuerURL(s.In.AppSlug)
	a, err := s.rd.App(ctx)
	if err != nil || a == nil || a.Provider == nil {
		return nil // nothing to discover yet
	}
	d.disc, d.discErr = discover(ctx, s.rd, d.predicted)
	if d.discErr == nil && d.disc.Mismatch && isHTTPS(d.disc.Issuer) {
		// read the document again under the issuer it states (rare)
		if again, err := discover(ctx, s.rd, d.disc.Issuer); err == nil && !again.Mismatch {
			again.Mismatch = true
			d.disc = again
		}
	}
	return nil
}

// issuer is the issuer the realm must carry: the discovery document's when
// known (and https), else the prediction <authentik>/application/o/<slug>/.
func (s *State) issuer() string {
	if s.iss.disc != nil && isHTTPS(s.iss.disc.Issuer) {
		return s.iss.disc.Issuer
	}
	return s.iss.predicted
}

func isHTTPS(u string) bool { return strings.HasPrefix(u, "https://") }

func (s *State) signingFingerprint() string {
	if s.key.chosen != nil {
		return s.key.chosen.FingerprintSHA256
	}
	return ""
}

func (issuerStep) Plan(s *State) []Item {
	d := &s.iss
	it := Item{Step: StepIssuer, Side: "authentik", Kind: "issuer", Name: s.issuer(), Action: ActionNone}
	s.Facts.IssuerURL = s.issuer()
	d.planned = s.issuer()
	switch {
	case d.disc == nil && d.discErr == nil:
		it.Note = "predicted; verified from the discovery document after apply"
	case d.discErr != nil:
		it.Note = "discovery failed: " + d.discErr.Error()
		d.problems = []string{it.Note}
	default:
		s.Facts.IssuerVerified = true
		var notes []string
		if d.disc.Mismatch && d.disc.Issuer != d.predicted {
			notes = append(notes, fmt.Sprintf("authentik states %q, not the predicted %q; the realm uses the stated one", d.disc.Issuer, d.predicted))
		}
		d.problems = verifyDiscovery(d.disc, s.issuer(), s.signingFingerprint())
		switch {
		case len(d.problems) == 0:
			d.verified = true
			notes = append(notes, "verified: RS256 advertised, signing key in the JWKS")
		case s.issuerFixable():
			notes = append(notes, "re-checked after the changes: "+strings.Join(d.problems, "; "))
		default:
			notes = append(notes, "PROBLEM: "+strings.Join(d.problems, "; "))
		}
		it.Note = strings.Join(notes, "; ")
	}
	if len(d.problems) > 0 && !s.issuerFixable() {
		s.problems = append(s.problems, "issuer check: "+strings.Join(d.problems, "; "))
	}
	return []Item{it}
}

// issuerFixable: the plan changes what the discovery document depends on
// (the provider, its application) and the issuer is https, so the problems
// found now are checked again after Apply. An http:// issuer is a reverse
// proxy setting no change of pvesso's fixes.
func (s *State) issuerFixable() bool {
	if d := s.iss.disc; d != nil && d.Issuer != "" && !isHTTPS(d.Issuer) {
		return false
	}
	return s.prov.action != ActionNone || s.app.action != ActionNone
}

// Pending: verify after any change on the authentik side or of the realm.
func (issuerStep) Pending(s *State) bool {
	return !s.iss.verified || s.prov.action != ActionNone || s.app.action != ActionNone || s.realm.action != ActionNone || s.key.generate
}

func (issuerStep) Apply(ctx context.Context, s *State, o ApplyOptions) error {
	d := &s.iss
	want := s.issuer()
	disc, err := discover(ctx, s.rd, want)
	if err != nil {
		return fmt.Errorf("discovery of %s: %w", want, err)
	}
	if disc.Mismatch && !isHTTPS(disc.Issuer) {
		return fmt.Errorf("%s", httpIssuerProblem(disc.Issuer))
	}
	if disc.Mismatch {
		// authentik builds the issuer from the request; the realm needs the
		// stated one byte for byte (pitfalls.md §3)
		if !(s.realm.owned || s.realm.action == ActionCreate || o.AllowConflicts) {
			return fmt.Errorf("the discovery document states the issuer %q, but the realm has %q", disc.Issuer, want)
		}
		iss := disc.Issuer
		if err := s.write(func() error {
			return s.rd.pve.UpdateRealm(ctx, s.In.Realm, proxmox.RealmUpdate{IssuerURL: &iss})
		}); err != nil {
			return fmt.Errorf("correcting the realm's issuer-url: %w", err)
		}
		d.fixed = true
		if disc, err = discover(ctx, s.rd, iss); err != nil {
			return fmt.Errorf("discovery of %s: %w", iss, err)
		}
	}
	d.disc = disc
	if p := verifyDiscovery(disc, disc.Issuer, s.signingFingerprint()); len(p) > 0 {
		return fmt.Errorf("%s", strings.Join(p, "; "))
	}
	d.verified = true
	s.Out.IssuerURL = disc.Issuer
	return nil
}
