package authentik_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/internal/tlstrust"
)

func tlsServer(t *testing.T) *simkit.TLSServer {
	t.Helper()
	s, err := simkit.StartTLS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"version_current": "2025.8.1", "version_latest": "2025.8.1",
			"version_latest_valid": true, "build_hash": "", "outdated": false, "outpost_outdated": false})
	}), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestTLSTrust(t *testing.T) {
	ctx := context.Background()
	s := tlsServer(t)
	other := tlsServer(t)

	// untrusted by default (system roots): a CertError with the fingerprint
	c, err := authentik.New(s.URL(), testToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ServerVersion(ctx)
	var ce *tlstrust.CertError
	if !errors.As(err, &ce) || ce.PinMismatch || ce.Fingerprint != s.Fingerprint() {
		t.Fatalf("want an untrusted CertError with %s, got %v", s.Fingerprint(), err)
	}
	noToken(t, err)

	// pin of this certificate (any case, no colons): trusted
	pin := strings.ToLower(strings.ReplaceAll(s.Fingerprint(), ":", ""))
	c, err = authentik.New(s.URL(), testToken, authentik.WithTLS(tlstrust.Config{Pin: pin}))
	if err != nil {
		t.Fatal(err)
	}
	vi, err := c.ServerVersion(ctx)
	if err != nil || vi.Current != "2025.8.1" {
		t.Fatalf("pinned: %+v, %v", vi, err)
	}

	// pin of another certificate: mismatch, carrying the presented fingerprint
	c, err = authentik.New(s.URL(), testToken, authentik.WithTLS(tlstrust.Config{Pin: other.Fingerprint()}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(ctx)
	ce = nil
	if !errors.As(err, &ce) || !ce.PinMismatch || ce.Fingerprint != s.Fingerprint() || !strings.Contains(err.Error(), s.Fingerprint()) {
		t.Fatalf("want a pin mismatch with %s, got %v", s.Fingerprint(), err)
	}
	noToken(t, err)

	// CA file: trusted
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = authentik.New(s.URL(), testToken, authentik.WithTLS(tlstrust.Config{CAFile: ca}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatalf("CA file: %v", err)
	}
	// ... but only for that server
	c, err = authentik.New(other.URL(), testToken, authentik.WithTLS(tlstrust.Config{CAFile: ca}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServerVersion(ctx); !errors.As(err, &ce) {
		t.Fatalf("other server trusted through the CA file: %v", err)
	}

	// a bad pin is refused at construction
	if _, err := authentik.New(s.URL(), testToken, authentik.WithTLS(tlstrust.Config{Pin: "nope"})); err == nil {
		t.Fatal("bad pin accepted")
	}
}
