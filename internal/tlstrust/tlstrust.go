// Package tlstrust decides whether pvesso trusts a server's TLS certificate.
//
// Trust comes from the system roots, an optional CA file, or an optional
// SHA-256 pin of the leaf certificate. There is deliberately no switch that
// skips verification: a certificate that is neither chain-valid nor pinned
// yields a *CertError carrying its fingerprint and subject, so the caller can
// ask the user to compare and pin it.
package tlstrust

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Config says what to trust beyond the system roots.
type Config struct {
	// CAFile is a PEM bundle of extra root certificates.
	CAFile string
	// Pin is the SHA-256 fingerprint of the leaf certificate's DER bytes,
	// hex, colons optional, any case. When set, a matching leaf is trusted
	// even if its chain is not, and a different leaf is refused.
	Pin string
	// Roots replaces the system roots (tests and the demo use it). CAFile is
	// still added on top.
	Roots *x509.CertPool
}

// CertError reports a certificate that was not trusted.
type CertError struct {
	Host        string
	Fingerprint string // SHA-256, "AB:CD:..." upper-case hex
	Subject     string
	Issuer      string
	NotAfter    time.Time
	// PinMismatch is true when a pin was configured and the leaf differs.
	PinMismatch bool
	// Reason is the verifier's explanation (unknown authority, expired, ...).
	Reason string
}

func (e *CertError) Error() string {
	if e.PinMismatch {
		return fmt.Sprintf("TLS certificate of %s does not match the pinned fingerprint: it presents %s (subject %q)", e.Host, e.Fingerprint, e.Subject)
	}
	return fmt.Sprintf("TLS certificate of %s is not trusted (%s): SHA-256 fingerprint %s, subject %q", e.Host, e.Reason, e.Fingerprint, e.Subject)
}

// Fingerprint returns the SHA-256 fingerprint of cert as upper-case hex
// bytes separated by colons, the form Proxmox shows in its GUI.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return formatHex(sum[:])
}

func formatHex(b []byte) string {
	s := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(s[i : i+2])
	}
	return sb.String()
}

// ErrBadPin is returned by NormalizePin for input that is not a SHA-256 fingerprint.
var ErrBadPin = errors.New("a certificate pin must be a SHA-256 fingerprint: 64 hex digits, colons optional")

// NormalizePin turns a user-supplied fingerprint into the canonical
// "AB:CD:..." form. An empty input returns "".
func NormalizePin(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	s = strings.TrimPrefix(strings.ToLower(s), "sha256:")
	s = strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", ErrBadPin
	}
	return formatHex(b), nil
}

// NewTLSConfig builds a tls.Config that applies cfg. Verification is done in
// VerifyConnection so that a pinned leaf can be accepted without a valid
// chain; every other certificate must verify against the roots and the host.
// host is the name or IP literal the caller dials (the connection state's
// ServerName is empty for IP literals, which send no SNI).
func NewTLSConfig(cfg Config, host string) (*tls.Config, error) {
	roots, pin, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return newTLSConfig(host, roots, pin), nil
}

func newTLSConfig(host string, roots *x509.CertPool, pin string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host,
		// Chain and host verification happen in VerifyConnection below,
		// always; this only moves them there so a pin can take effect.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verify(cs, host, roots, pin)
		},
	}
}

// resolve loads the root pool (nil = system roots) and normalises the pin.
func (cfg Config) resolve() (*x509.CertPool, string, error) {
	pin, err := NormalizePin(cfg.Pin)
	if err != nil {
		return nil, "", err
	}
	roots := cfg.Roots
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, "", fmt.Errorf("read CA file: %w", err)
		}
		if roots == nil {
			roots, err = x509.SystemCertPool()
			if err != nil || roots == nil {
				roots = x509.NewCertPool()
			}
		} else {
			roots = roots.Clone()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, "", fmt.Errorf("CA file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	return roots, pin, nil
}

func verify(cs tls.ConnectionState, host string, roots *x509.CertPool, pin string) error {
	if len(cs.PeerCertificates) == 0 {
		return &CertError{Host: host, Reason: "no certificate presented"}
	}
	leaf := cs.PeerCertificates[0]
	fp := Fingerprint(leaf)
	certErr := func(reason string, mismatch bool) *CertError {
		return &CertError{
			Host: host, Fingerprint: fp, Subject: leaf.Subject.String(),
			Issuer: leaf.Issuer.String(), NotAfter: leaf.NotAfter,
			PinMismatch: mismatch, Reason: reason,
		}
	}
	if pin != "" {
		if fp != pin {
			return certErr("fingerprint mismatch", true)
		}
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host}); err != nil {
		return certErr(reason(err), false)
	}
	return nil
}

func reason(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "signed by an unknown authority"
	case errors.As(err, &hn):
		return "issued for another host name"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "expired or not yet valid"
	default:
		return err.Error()
	}
}

// NewTransport returns an HTTP transport that trusts per cfg. It dials TLS
// itself so that every connection is verified against the host it dials.
func NewTransport(cfg Config) (*http.Transport, error) {
	roots, pin, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dialer.DialContext
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := tls.Client(raw, newTLSConfig(host, roots, pin))
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
	return t, nil
}

// NewHTTPClient returns an http.Client with NewTransport and the timeout.
func NewHTTPClient(cfg Config, timeout time.Duration) (*http.Client, error) {
	t, err := NewTransport(cfg)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, Timeout: timeout}, nil
}
