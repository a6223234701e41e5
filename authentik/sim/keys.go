package sim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5" //nolint:gosec // authentik's key id is md5 of the key PEM, not a security property
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the certificate's SHA-1 fingerprint is an API field
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

// Names of the key pairs a fresh simulator holds.
const (
	// SelfSignedCertName is created by authentik at first start (RSA 4096,
	// with private key) [authentik-api.md §4].
	SelfSignedCertName = "authentik Self-signed Certificate"
	// DemoECCertName is an EC P-256 pair with private key (what
	// /crypto/certificatekeypairs/generate/ with alg=ecdsa makes). Not part
	// of a real fresh install: the simulator adds it so that tests and the
	// demo have a non-RSA signing key.
	DemoECCertName = "pvesso demo ECDSA certificate"
	// DemoCACertName is a certificate without private key (as after
	// importing a CA certificate). Also a simulator addition.
	DemoCACertName = "pvesso demo CA certificate (no private key)"
)

var (
	seedRSAOnce sync.Once
	seedRSAKey  *rsa.PrivateKey
	seedRSAErr  error
)

// seedRSA returns the process-wide RSA 4096 key of the self-signed
// certificate. Generating a 4096-bit key takes about a second, so every
// simulator of one process shares it; each simulator still issues its own
// certificate.
func seedRSA() (*rsa.PrivateKey, error) {
	seedRSAOnce.Do(func() { seedRSAKey, seedRSAErr = rsa.GenerateKey(rand.Reader, 4096) })
	return seedRSAKey, seedRSAErr
}

// generateKey mirrors authentik.crypto.builder: RSA keys are 4096 bits,
// ECDSA keys use P-256 [authentik-api.md §4]; ed25519 exists since 2026.2.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "rsa":
		return rsa.GenerateKey(rand.Reader, 4096)
	case "ecdsa":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unsupported key algorithm %q", alg)
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// builderName encodes the subject the way authentik's CertificateBuilder
// orders it: CN, O=authentik, OU=Self-signed.
func builderName(cn string) ([]byte, error) {
	seq := pkix.RDNSequence{
		{{Type: oidCN, Value: cn}},
		{{Type: oidO, Value: "authentik"}},
		{{Type: oidOU, Value: "Self-signed"}},
	}
	return asn1.Marshal(seq)
}

func cnName(cn string) ([]byte, error) {
	return asn1.Marshal(pkix.RDNSequence{{{Type: oidCN, Value: cn}}})
}

// buildKeyPair issues a certificate for key: subject per builderName,
// issuer "CN=authentik <version>", validity days from now, SANs as given.
// withKey decides whether the private key is kept (private_key_available).
func buildKeyPair(name, cn string, key crypto.Signer, sans []string, validityDays int,
	ver version, now time.Time, withKey bool) (*keyPair, error) {
	subj, err := builderName(cn)
	if err != nil {
		return nil, err
	}
	iss, err := cnName("authentik " + ver.String())
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		RawSubject:   subj,
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(time.Duration(validityDays) * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if len(sans) > 0 {
		// The builder adds the subject alternative names as a critical
		// extension (AA §4: "SAN (marked critical)").
		ext, err := criticalSAN(sans)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
	}
	parent := &x509.Certificate{RawSubject: iss}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kp := &keyPair{
		pk:      newUUID(),
		name:    name,
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		cert:    cert,
	}
	if withKey {
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		kp.keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
		kp.key = key
	}
	return kp, nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// criticalSAN encodes DNS names as a subjectAltName extension marked
// critical (GeneralName dNSName is [2] IA5String).
func criticalSAN(names []string) (pkix.Extension, error) {
	var raw []asn1.RawValue
	for _, n := range names {
		raw = append(raw, asn1.RawValue{Tag: 2, Class: asn1.ClassContextSpecific, Bytes: []byte(strings.TrimSpace(n))})
	}
	val, err := asn1.Marshal(raw)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSubjectAltName, Critical: true, Value: val}, nil
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// fingerprintSHA256 mirrors CertificateKeyPair.fingerprint_sha256:
// hexlify(digest, ":") — lower-case hex pairs joined by colons.
func (k *keyPair) fingerprintSHA256() string {
	s := sha256.Sum256(k.cert.Raw)
	return colonHex(s[:])
}

func (k *keyPair) fingerprintSHA1() string {
	s := sha1.Sum(k.cert.Raw) //nolint:gosec // API field
	return colonHex(s[:])
}

// kid mirrors CertificateKeyPair.kid: md5 of the key PEM, hex ("" without
// a private key).
func (k *keyPair) kid() string {
	if k.keyPEM == "" {
		return ""
	}
	s := md5.Sum([]byte(k.keyPEM)) //nolint:gosec // key id only
	return hex.EncodeToString(s[:])
}

// subject mirrors certificate.subject.rfc4514_string().
func (k *keyPair) subject() string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(k.cert.RawSubject, &seq); err != nil {
		return k.cert.Subject.String()
	}
	return seq.String()
}

// keyType mirrors CertificateKeyPair.key_type (>= 2025.12): derived from
// the certificate's public key, so it is set even without a private key.
func (k *keyPair) keyType() any {
	switch k.cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return "rsa"
	case *ecdsa.PublicKey:
		return "ec"
	case ed25519.PublicKey:
		return "ed25519"
	}
	return nil
}

// privateKeyType mirrors the serializer's private_key_type (<= 2025.10):
// the private key's class name with "_" and "privatekey" removed, lower
// case, or null without a private key. With the Rust-backed classes of
// cryptography >= 42 (RSAPrivateKey, ECPrivateKey, Ed25519PrivateKey) this
// gives "rsa", "ec", "ed25519". ASSUMPTION: authentik 2024.x/2025.x ship a
// cryptography release with those class names (authentik-api.md leaves
// "ec" vs "ellipticcurve" unverified).
func (k *keyPair) privateKeyType() any {
	switch k.key.(type) {
	case *rsa.PrivateKey:
		return "rsa"
	case *ecdsa.PrivateKey:
		return "ec"
	case ed25519.PrivateKey:
		return "ed25519"
	}
	return nil
}

// jwtAlg mirrors OAuth2Provider.jwt_key / JWTAlgorithms.from_private_key:
// RS256 for RSA, ES256/ES384/ES512 by curve (since 2025.4; ES256 for every
// EC key before), an error for anything else.
func jwtAlgFor(key crypto.Signer, ver version) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return "RS256", nil
	case *ecdsa.PrivateKey:
		if !ver.ecCurveAlgs() {
			return "ES256", nil
		}
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	}
	return "", fmt.Errorf("Invalid private key type: %T", key)
}
