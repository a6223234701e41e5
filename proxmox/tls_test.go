package proxmox

import (
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/internal/tlstrust"
)

func TestTLSTrust(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeData(w, map[string]any{"version": "9.2.1", "release": "9.2", "repoid": "0123abcd"})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected here
	srv.StartTLS()
	defer srv.Close()
	leaf := srv.Certificate()
	fp := tlstrust.Fingerprint(leaf)
	auth := tokenAuth(t)

	get := func(cfg tlstrust.Config) error {
		c, err := New(srv.URL, auth, WithTLS(cfg))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Version(ctx(t))
		return err
	}

	// Untrusted (empty root pool, no pin): typed error with fingerprint and subject.
	err := get(tlstrust.Config{Roots: x509.NewCertPool()})
	var ce *tlstrust.CertError
	if !errors.As(err, &ce) {
		t.Fatalf("want *tlstrust.CertError, got %T %v", err, err)
	}
	if ce.Fingerprint != fp || ce.PinMismatch || ce.Subject == "" {
		t.Errorf("CertError %+v", ce)
	}
	if !strings.Contains(err.Error(), fp) || strings.Contains(err.Error(), "5a1e9d2c-0000") {
		t.Errorf("error text %v", err)
	}

	// Pinned leaf: trusted although the chain is not (colons/case free).
	if err := get(tlstrust.Config{Roots: x509.NewCertPool(), Pin: strings.ToLower(strings.ReplaceAll(fp, ":", ""))}); err != nil {
		t.Errorf("pinned: %v", err)
	}

	// Pin of another certificate: mismatch.
	err = get(tlstrust.Config{Pin: strings.Repeat("ab", 32)})
	if !errors.As(err, &ce) || !ce.PinMismatch || ce.Fingerprint != fp {
		t.Errorf("mismatch: %v", err)
	}

	// The issuing root in the pool: trusted by chain.
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	if err := get(tlstrust.Config{Roots: pool}); err != nil {
		t.Errorf("roots: %v", err)
	}

	// A bad pin is refused at construction.
	if _, err := New(srv.URL, auth, WithTLS(tlstrust.Config{Pin: "zz"})); err == nil {
		t.Error("bad pin accepted")
	}
}
