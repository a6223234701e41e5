package authentik

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Normalised key types of KeyPair.KeyType.
const (
	KeyTypeRSA     = "rsa"
	KeyTypeECDSA   = "ecdsa"
	KeyTypeDSA     = "dsa"
	KeyTypeEd25519 = "ed25519"
	KeyTypeEd448   = "ed448"
)

// SelfSignedCertificateName is the name of the key pair authentik creates on
// first start (RSA; not marked managed, so the name is the only test).
const SelfSignedCertificateName = "authentik Self-signed Certificate"

// KeyPair is a certificate-key pair (/crypto/certificatekeypairs/).
type KeyPair struct {
	PK                  string
	Name                string
	FingerprintSHA256   string
	FingerprintSHA1     string
	CertSubject         string
	CertExpiry          time.Time // zero if the server did not say
	PrivateKeyAvailable bool
	Managed             string
	// KeyType is "rsa", "ecdsa", "dsa", "ed25519", "ed448" or "" (unknown),
	// normalised from key_type (>= 2025.12) or private_key_type (before;
	// only set there when the pair has a private key).
	KeyType string
	// KeyTypeRaw is the server's value before normalisation.
	KeyTypeRaw string
	// KeySize is the key size in bits; only InspectKeyPair fills it (0 =
	// unknown).
	KeySize int
}

type keyPairJSON struct {
	PK                  string  `json:"pk"`
	Name                string  `json:"name"`
	FingerprintSHA256   *string `json:"fingerprint_sha256"`
	FingerprintSHA1     *string `json:"fingerprint_sha1"`
	CertExpiry          *string `json:"cert_expiry"`
	CertSubject         *string `json:"cert_subject"`
	PrivateKeyAvailable *bool   `json:"private_key_available"`
	PrivateKeyType      *string `json:"private_key_type"`
	KeyType             *string `json:"key_type"`
	Managed             *string `json:"managed"`
}

func (k *keyPairJSON) valid() error {
	if k.PK == "" || k.PrivateKeyAvailable == nil {
		return errors.New("key pair without pk or private_key_available")
	}
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// keyPair converts by server version: key_type from 2025.12, else
// private_key_type.
func (k *keyPairJSON) keyPair(v Version) (KeyPair, error) {
	kp := KeyPair{
		PK: k.PK, Name: k.Name, FingerprintSHA256: str(k.FingerprintSHA256), FingerprintSHA1: str(k.FingerprintSHA1),
		CertSubject: str(k.CertSubject), PrivateKeyAvailable: *k.PrivateKeyAvailable, Managed: str(k.Managed),
	}
	if k.CertExpiry != nil && *k.CertExpiry != "" {
		t, err := time.Parse(time.RFC3339Nano, *k.CertExpiry)
		if err != nil {
			return KeyPair{}, fmt.Errorf("cert_expiry: %w", err)
		}
		kp.CertExpiry = t
	}
	if v.hasKeyTypeField() {
		kp.KeyTypeRaw = str(k.KeyType)
	} else {
		kp.KeyTypeRaw = str(k.PrivateKeyType)
	}
	kp.KeyType = normaliseKeyType(kp.KeyTypeRaw)
	return kp, nil
}

// normaliseKeyType maps key_type (rsa|ec|dsa|ed25519|ed448) and the older
// private_key_type strings to the KeyType constants.
// ASSUMPTION: private_key_type spells EC keys "ec" or "ellipticcurve"
// (authentik-api.md §4 marks the exact spelling unverified); both are mapped.
func normaliseKeyType(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "rsa":
		return KeyTypeRSA
	case "ec", "ecdsa", "ellipticcurve", "elliptic_curve":
		return KeyTypeECDSA
	case "dsa":
		return KeyTypeDSA
	case "ed25519":
		return KeyTypeEd25519
	case "ed448":
		return KeyTypeEd448
	}
	return ""
}

// ListKeyPairsOptions filters ListKeyPairs.
type ListKeyPairsOptions struct {
	// HasKey: true = only pairs with a private key; false = only pairs
	// without (filtered by the client: authentik's has_key=false keeps all);
	// nil = all.
	HasKey *bool
	Name   string // exact
	// KeyTypes keeps only these normalised types. It is sent as the key_type
	// filter on >= 2025.12 and applied by the client on older servers.
	KeyTypes []string
}

// ListKeyPairs lists certificate-key pairs.
//
// Without KeyTypes the request is the same on every version (only the
// decoding of the key type differs), so on a fresh client it is sent
// together with the version detection. With KeyTypes the query depends on
// the version (key_type exists from 2025.12) and waits for it.
func (c *Client) ListKeyPairs(ctx context.Context, o ListKeyPairsOptions) ([]KeyPair, error) {
	q := filterQuery("name", o.Name)
	if o.HasKey != nil && *o.HasKey {
		q.Set("has_key", "true")
	}
	want := map[string]bool{}
	for _, t := range o.KeyTypes {
		n := normaliseKeyType(t)
		if n == "" {
			return nil, fmt.Errorf("%w: unknown key type %q", ErrInvalidRequest, t)
		}
		want[n] = true
	}
	var (
		raw     []keyPairJSON
		readErr error
		v       Version
		err     error
	)
	const p = "/crypto/certificatekeypairs/"
	if len(want) == 0 {
		v, err = c.versionAlongside(ctx, func(ctx context.Context) {
			raw, readErr = list[keyPairJSON](ctx, c, p, q)
		})
	} else if v, err = c.serverVersion(ctx); err == nil {
		if v.hasKeyTypeField() {
			for _, t := range o.KeyTypes {
				if n := normaliseKeyType(t); n == KeyTypeECDSA {
					q.Add("key_type", "ec")
				} else {
					q.Add("key_type", n)
				}
			}
		}
		raw, readErr = list[keyPairJSON](ctx, c, p, q)
	}
	if err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	out := make([]KeyPair, 0, len(raw))
	for i := range raw {
		kp, err := raw[i].keyPair(v)
		if err != nil {
			return nil, &ResponseError{Method: http.MethodGet, Path: APIPrefix + "/crypto/certificatekeypairs/", StatusCode: 200, Reason: "results[" + strconv.Itoa(i) + "]", Err: err}
		}
		if o.HasKey != nil && kp.PrivateKeyAvailable != *o.HasKey {
			continue
		}
		if o.Name != "" && kp.Name != o.Name {
			continue
		}
		if len(want) > 0 && !want[kp.KeyType] {
			continue
		}
		out = append(out, kp)
	}
	return out, nil
}

// GetKeyPair returns one key pair by uuid (ErrNotFound when absent).
func (c *Client) GetKeyPair(ctx context.Context, pk string) (*KeyPair, error) {
	if pk == "" {
		return nil, fmt.Errorf("%w: empty key pair id", ErrInvalidRequest)
	}
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	p := "/crypto/certificatekeypairs/" + url.PathEscape(pk) + "/"
	var raw keyPairJSON
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &raw); err != nil {
		return nil, err
	}
	return decodedKeyPair(&raw, v, http.MethodGet, p)
}

func decodedKeyPair(raw *keyPairJSON, v Version, method, p string) (*KeyPair, error) {
	if err := raw.valid(); err != nil {
		return nil, &ResponseError{Method: method, Path: APIPrefix + p, StatusCode: 200, Reason: err.Error()}
	}
	kp, err := raw.keyPair(v)
	if err != nil {
		return nil, &ResponseError{Method: method, Path: APIPrefix + p, StatusCode: 200, Reason: "key pair", Err: err}
	}
	return &kp, nil
}

// KeyPairCertificate fetches and parses the certificate of a key pair
// (GET /crypto/certificatekeypairs/{kp_uuid}/view_certificate/). Only the
// public certificate is read, never the private key.
func (c *Client) KeyPairCertificate(ctx context.Context, pk string) (*x509.Certificate, error) {
	if pk == "" {
		return nil, fmt.Errorf("%w: empty key pair id", ErrInvalidRequest)
	}
	p := "/crypto/certificatekeypairs/" + url.PathEscape(pk) + "/view_certificate/"
	var cd struct {
		Data *string `json:"data"`
	}
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &cd); err != nil {
		return nil, err
	}
	bad := func(reason string, err error) error {
		return &ResponseError{Method: http.MethodGet, Path: APIPrefix + p, StatusCode: 200, Reason: reason, Err: err}
	}
	if cd.Data == nil {
		return nil, bad("no data", nil)
	}
	block, _ := pem.Decode([]byte(*cd.Data))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, bad("data is not a PEM certificate", nil)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, bad("certificate", err)
	}
	return cert, nil
}

// InspectKeyPair reads the key pair's certificate and fills KeySize and,
// when the server did not report it, KeyType.
func (c *Client) InspectKeyPair(ctx context.Context, kp *KeyPair) error {
	cert, err := c.KeyPairCertificate(ctx, kp.PK)
	if err != nil {
		return err
	}
	t, size := publicKeyInfo(cert.PublicKey)
	if kp.KeyType == "" {
		kp.KeyType = t
	}
	kp.KeySize = size
	return nil
}

func publicKeyInfo(pub any) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return KeyTypeRSA, k.N.BitLen()
	case *ecdsa.PublicKey:
		return KeyTypeECDSA, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return KeyTypeEd25519, 256
	}
	return "", 0
}

// GenerateKeyPairRequest is the body of POST /crypto/certificatekeypairs/generate/.
type GenerateKeyPairRequest struct {
	CommonName     string
	SubjectAltName string
	ValidityDays   int
	// Alg is "rsa" (authentik's default, RSA-4096) or "ecdsa" (P-256;
	// >= 2024.6); "ed25519"/"ed448" need >= 2026.2. "" = server default.
	Alg string
}

type generateJSON struct {
	CommonName     string `json:"common_name"`
	SubjectAltName string `json:"subject_alt_name,omitempty"`
	ValidityDays   int    `json:"validity_days"`
	Alg            string `json:"alg,omitempty"`
}

// GenerateKeyPair creates a self-signed certificate with a private key.
func (c *Client) GenerateKeyPair(ctx context.Context, r GenerateKeyPairRequest) (*KeyPair, error) {
	if r.CommonName == "" || r.ValidityDays <= 0 {
		return nil, fmt.Errorf("%w: a key pair needs a common name and a positive validity", ErrInvalidRequest)
	}
	v, err := c.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	body := generateJSON{CommonName: r.CommonName, SubjectAltName: r.SubjectAltName, ValidityDays: r.ValidityDays}
	switch r.Alg {
	case "":
	case "rsa":
		if v.hasGenerateAlg() {
			body.Alg = r.Alg
		} // before 2024.6 RSA is the only choice and alg does not exist
	case "ecdsa":
		if !v.hasGenerateAlg() {
			return nil, fmt.Errorf("%w: authentik %s cannot generate ECDSA keys (alg arrived in 2024.6)", ErrInvalidRequest, v)
		}
		body.Alg = r.Alg
	case "ed25519", "ed448":
		if !v.hasEdwardsGenerateAlg() {
			return nil, fmt.Errorf("%w: authentik %s cannot generate %s keys (2026.2 and later can)", ErrInvalidRequest, v, r.Alg)
		}
		body.Alg = r.Alg
	default:
		return nil, fmt.Errorf("%w: unknown key algorithm %q", ErrInvalidRequest, r.Alg)
	}
	const p = "/crypto/certificatekeypairs/generate/"
	var raw keyPairJSON
	if err := c.do(ctx, http.MethodPost, p, nil, body, &raw); err != nil {
		return nil, err
	}
	return decodedKeyPair(&raw, v, http.MethodPost, p)
}
