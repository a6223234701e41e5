package tlstrust_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/internal/tlstrust"
)

func server(t *testing.T, names ...string) *simkit.TLSServer {
	t.Helper()
	s, err := simkit.StartTLS(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), "127.0.0.1:0", names...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, cfg tlstrust.Config, url string) error {
	t.Helper()
	c, err := tlstrust.NewHTTPClient(cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(url)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestUntrustedCarriesFingerprint(t *testing.T) {
	s := server(t)
	err := get(t, tlstrust.Config{}, s.URL())
	var ce *tlstrust.CertError
	if !errors.As(err, &ce) {
		t.Fatalf("want *CertError, got %v", err)
	}
	if ce.Fingerprint != s.Fingerprint() || ce.PinMismatch || ce.Host != "127.0.0.1" {
		t.Fatalf("CertError = %+v, want fingerprint %s host 127.0.0.1", ce, s.Fingerprint())
	}
	if !strings.Contains(ce.Error(), s.Fingerprint()) {
		t.Fatalf("message lacks fingerprint: %s", ce.Error())
	}
}

func TestPinAcceptsAndRefuses(t *testing.T) {
	s := server(t)
	lowerNoColons := strings.ToLower(strings.ReplaceAll(s.Fingerprint(), ":", ""))
	if err := get(t, tlstrust.Config{Pin: lowerNoColons}, s.URL()); err != nil {
		t.Fatalf("pinned certificate refused: %v", err)
	}
	other := server(t)
	err := get(t, tlstrust.Config{Pin: other.Fingerprint()}, s.URL())
	var ce *tlstrust.CertError
	if !errors.As(err, &ce) || !ce.PinMismatch || ce.Fingerprint != s.Fingerprint() {
		t.Fatalf("want pin mismatch carrying %s, got %v", s.Fingerprint(), err)
	}
	// the pin wins over a chain that verifies: a different leaf is refused
	err = get(t, tlstrust.Config{Pin: other.Fingerprint(), Roots: s.CertPool()}, s.URL())
	if !errors.As(err, &ce) || !ce.PinMismatch {
		t.Fatalf("trusted chain with another pin: want pin mismatch, got %v", err)
	}
}

func TestCAFileAndRoots(t *testing.T) {
	s := server(t)
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, s.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := get(t, tlstrust.Config{CAFile: f}, s.URL()); err != nil {
		t.Fatalf("CA file not used: %v", err)
	}
	if err := get(t, tlstrust.Config{Roots: s.CertPool()}, s.URL()); err != nil {
		t.Fatalf("Roots not used: %v", err)
	}
	// A certificate for another name is refused even with a trusted root.
	wrong := server(t, "pve.invalid")
	err := get(t, tlstrust.Config{Roots: wrong.CertPool()}, "https://localhost:"+strings.Split(wrong.Addr(), ":")[1])
	var ce *tlstrust.CertError
	if !errors.As(err, &ce) || ce.Reason != "issued for another host name" {
		t.Fatalf("want host name error, got %v", err)
	}
	if _, err := tlstrust.NewHTTPClient(tlstrust.Config{CAFile: filepath.Join(t.TempDir(), "missing.pem")}, time.Second); err == nil {
		t.Fatal("missing CA file accepted")
	}
}

func TestNormalizePin(t *testing.T) {
	good := strings.Repeat("ab", 32)
	got, err := tlstrust.NormalizePin("SHA256:" + strings.ToUpper(good))
	if err != nil || !strings.HasPrefix(got, "AB:AB:") || len(got) != 95 {
		t.Fatalf("NormalizePin = %q, %v", got, err)
	}
	for _, bad := range []string{"abc", strings.Repeat("zz", 32), strings.Repeat("ab", 20)} {
		if _, err := tlstrust.NormalizePin(bad); !errors.Is(err, tlstrust.ErrBadPin) {
			t.Errorf("NormalizePin(%q) err = %v", bad, err)
		}
	}
	if got, err := tlstrust.NormalizePin(""); got != "" || err != nil {
		t.Fatalf("empty pin: %q %v", got, err)
	}
}
