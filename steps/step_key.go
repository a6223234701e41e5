package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pvesso/pvesso/authentik"
)

type keyDecision struct {
	chosen   *authentik.KeyPair
	generate bool
	genName  string
	names    map[string]string // pk -> name, for readable diffs
	all      []authentik.KeyPair
}

// keyEligibility says whether kp can sign id_tokens Proxmox accepts.
// Proxmox verifies RS256 only (authentik-proxmox-guide.md §2 "ID-token
// verification"); authentik signs with RS256 only for RSA keys and falls
// back to HS256 without a key (authentik-api.md §4).
func keyEligibility(kp authentik.KeyPair, now time.Time) (bool, string) {
	if !kp.PrivateKeyAvailable {
		return false, "no private key: authentik cannot sign with it (a provider without a usable key signs HS256, which Proxmox refuses)"
	}
	switch kp.KeyType {
	case authentik.KeyTypeRSA:
	case authentik.KeyTypeECDSA:
		return false, "EC key: authentik would sign ES256/ES384/ES512, but Proxmox verifies RS256 only"
	case authentik.KeyTypeEd25519, authentik.KeyTypeEd448:
		return false, "EdDSA key: Proxmox verifies RS256 only"
	case authentik.KeyTypeDSA:
		return false, "DSA key: authentik cannot sign id_tokens with it; Proxmox verifies RS256 only"
	default:
		return false, "unknown key type: Proxmox verifies RS256 only, so the key must be RSA"
	}
	if !kp.CertExpiry.IsZero() && !kp.CertExpiry.After(now) {
		return false, "certificate expired on " + kp.CertExpiry.UTC().Format("2006-01-02")
	}
	return true, ""
}

// generatedKeyName is the common name of the key pair pvesso generates.
func generatedKeyName(in Inputs) string { return "pvesso-" + in.AppSlug + "-rs256" }

// generatedKeyValidityDays: ASSUMPTION: 10 years; neither authentik nor
// Proxmox checks the certificate dates of a JWT signing key
// (authentik-proxmox-guide.md §3), but pvesso itself refuses expired ones.
const generatedKeyValidityDays = 3650

type signingKeyStep struct{}

func (signingKeyStep) ID() string { return StepSigningKey }

func (signingKeyStep) Check(ctx context.Context, s *State) []checkRec {
	const id, title = "signing-key", "RSA signing key (Proxmox verifies RS256 only)"
	kps, err := s.rd.KeyPairs(ctx)
	if err != nil {
		return []checkRec{readFail("authentik", id, title, err)}
	}
	m, _ := s.provider(ctx)
	d := &s.key
	d.all = kps
	d.names = map[string]string{}
	var eligible []authentik.KeyPair
	var facts []KeyPairFact
	for _, kp := range kps {
		d.names[kp.PK] = kp.Name
		okk, why := keyEligibility(kp, s.now)
		facts = append(facts, KeyPairFact{PK: kp.PK, Name: kp.Name, KeyType: kp.KeyType, Expiry: kp.CertExpiry,
			HasPrivateKey: kp.PrivateKeyAvailable, Eligible: okk, Reason: why})
		if okk {
			eligible = append(eligible, kp)
		}
	}
	sort.Slice(facts, func(i, j int) bool { return facts[i].Name < facts[j].Name })
	s.Facts.KeyPairs = facts

	if s.In.SigningKey != "" {
		for i := range kps {
			if kps[i].Name != s.In.SigningKey {
				continue
			}
			if okk, why := keyEligibility(kps[i], s.now); !okk {
				return []checkRec{fail(id, title, fmt.Sprintf("key pair %q cannot be used: %s", kps[i].Name, why), "choose an RSA key pair with a private key: --signing-key NAME"+eligibleList(eligible))}
			}
			d.chosen = &kps[i]
			s.Facts.SigningKey = kps[i].Name
			return []checkRec{ok(id, title, "using "+kps[i].Name)}
		}
		return []checkRec{fail(id, title, fmt.Sprintf("there is no key pair named %q", s.In.SigningKey), "--signing-key NAME"+eligibleList(eligible))}
	}
	// Default: keep the provider's key when it qualifies (no churn), then a
	// key pvesso generated earlier, then others; the stock self-signed
	// certificate last (the seed report had trouble with it, although the
	// code says it is a fine RSA key).
	if m.p != nil && m.p.SigningKey != "" {
		for i := range eligible {
			if eligible[i].PK == m.p.SigningKey {
				d.chosen = &eligible[i]
			}
		}
	}
	if d.chosen == nil && len(eligible) > 0 {
		gen := generatedKeyName(s.In)
		rank := func(k authentik.KeyPair) int {
			switch {
			case k.Name == gen:
				return 0
			case k.Name == authentik.SelfSignedCertificateName:
				return 2
			}
			return 1
		}
		sort.SliceStable(eligible, func(i, j int) bool {
			ri, rj := rank(eligible[i]), rank(eligible[j])
			if ri != rj {
				return ri < rj
			}
			if !eligible[i].CertExpiry.Equal(eligible[j].CertExpiry) {
				return eligible[i].CertExpiry.After(eligible[j].CertExpiry)
			}
			return eligible[i].Name < eligible[j].Name
		})
		d.chosen = &eligible[0]
	}
	if d.chosen != nil {
		s.Facts.SigningKey = d.chosen.Name
		return []checkRec{ok(id, title, "using "+d.chosen.Name)}
	}
	var reasons []string
	for _, f := range facts {
		reasons = append(reasons, fmt.Sprintf("%s: %s", f.Name, f.Reason))
	}
	detail := "no RSA key pair with a private key that has not expired"
	if len(reasons) > 0 {
		detail += " (" + strings.Join(reasons, "; ") + ")"
	}
	if s.In.GenerateKey {
		d.generate = true
		d.genName = generatedKeyName(s.In)
		s.Facts.SigningKey = d.genName
		return []checkRec{ok(id, title, detail+"; pvesso will generate the RSA key pair "+d.genName)}
	}
	return []checkRec{fail(id, title, detail,
		"import an RSA certificate with its private key into Authentik and pass --signing-key NAME, or let pvesso generate an RSA key pair (confirm in the wizard)")}
}

func eligibleList(eligible []authentik.KeyPair) string {
	if len(eligible) == 0 {
		return ""
	}
	names := make([]string, len(eligible))
	for i, k := range eligible {
		names[i] = k.Name
	}
	sort.Strings(names)
	return " (usable: " + strings.Join(names, ", ") + ")"
}

func (signingKeyStep) Plan(s *State) []Item {
	it := Item{Step: StepSigningKey, Side: "authentik", Kind: "keypair"}
	switch {
	case s.key.generate:
		it.Name = s.key.genName
		it.Action = ActionCreate
		it.Changes = []Change{{Field: "algorithm", New: "RSA (RS256)"}, {Field: "validity_days", New: fmt.Sprint(generatedKeyValidityDays)}}
	case s.key.chosen != nil:
		it.Name = s.key.chosen.Name
		it.Action = ActionNone
		note := "RSA"
		if !s.key.chosen.CertExpiry.IsZero() {
			note += ", expires " + s.key.chosen.CertExpiry.UTC().Format("2006-01-02")
		}
		it.Note = note
	default:
		return nil
	}
	return []Item{it}
}

func (signingKeyStep) Pending(s *State) bool { return s.key.generate && s.key.chosen == nil }

func (signingKeyStep) Apply(ctx context.Context, s *State, _ ApplyOptions) error {
	var kp *authentik.KeyPair
	err := s.write(func() error {
		var err error
		kp, err = s.rd.ak.GenerateKeyPair(ctx, authentik.GenerateKeyPairRequest{
			CommonName: s.key.genName, ValidityDays: generatedKeyValidityDays, Alg: "rsa"})
		return err
	})
	if err != nil {
		return err
	}
	s.key.chosen = kp
	s.key.names[kp.PK] = kp.Name
	s.prov.req.SigningKey = kp.PK
	return nil
}
