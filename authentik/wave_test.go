package authentik_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
)

// versionWaitsFor makes GET /admin/version/ answer only once every path in
// paths has been requested (or after a bound), and reports whether they
// all arrived while the version request was still open.
func versionWaitsFor(f *fake, version string, paths ...string) (overlapped func() bool) {
	var mu sync.Mutex
	ok := false
	f.on("GET", "/admin/version/", func(w http.ResponseWriter, _ *http.Request) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			all := true
			for _, p := range paths {
				if len(f.calls("GET", p)) == 0 {
					all = false
				}
			}
			if all {
				mu.Lock()
				ok = true
				mu.Unlock()
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		writeJSON(w, 200, map[string]any{"version_current": version, "version_latest": version,
			"version_latest_valid": true, "build_hash": "", "outdated": false, "outpost_outdated": false})
	})
	return func() bool { mu.Lock(); defer mu.Unlock(); return ok }
}

// On a fresh client the provider, key pair and scope mapping lists are
// requested while the version detection is still open (one round trip),
// the version is asked once for all of them, and the answers are decoded
// for the detected version.
func TestReadsGoOutWithTheVersionDetection(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, "")
	overlapped := versionWaitsFor(f, "2024.12.3", "/providers/oauth2/", "/crypto/certificatekeypairs/", "/propertymappings/provider/scope/")
	// 2024.12 decodes redirect_uris as objects and the key type from
	// private_key_type (key_type arrives in 2025.12)
	f.replyList("/providers/oauth2/", map[string]any{"pk": 1, "name": "p", "client_id": "c",
		"redirect_uris": []any{map[string]any{"matching_mode": "strict", "url": "https://pve:8006"}}})
	f.replyList("/crypto/certificatekeypairs/", map[string]any{"pk": keyK, "name": "k", "private_key_available": true,
		"private_key_type": "rsa", "key_type": "ec"})
	f.replyList("/propertymappings/provider/scope/", map[string]any{"pk": mapM1, "managed": authentik.ScopeOpenID, "name": "openid", "scope_name": "openid"})
	c := f.client()

	var (
		wg   sync.WaitGroup
		ps   []authentik.OAuth2Provider
		kps  []authentik.KeyPair
		ms   []authentik.ScopeMapping
		errs [3]error
	)
	wg.Go(func() { ps, errs[0] = c.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{}) })
	wg.Go(func() { kps, errs[1] = c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{}) })
	wg.Go(func() { ms, errs[2] = c.ScopeMappingsByManaged(ctx, authentik.ScopeOpenID) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !overlapped() {
		t.Error("the lists were not requested while the version detection was open")
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 1 {
		t.Errorf("version asked %d times, want 1", n)
	}
	if len(ps) != 1 || len(ps[0].RedirectURIs) != 1 || ps[0].RedirectURIs[0].URL != "https://pve:8006" {
		t.Errorf("providers %+v", ps)
	}
	if len(kps) != 1 || kps[0].KeyType != authentik.KeyTypeRSA {
		t.Errorf("key pairs %+v (want rsa from private_key_type on 2024.12)", kps)
	}
	if len(ms) != 1 || ms[0].PK != mapM1 {
		t.Errorf("mappings %+v", ms)
	}
	if len(f.requests()) != 4 {
		t.Errorf("%d requests, want 4: %+v", len(f.requests()), f.requests())
	}
	// the version is known now: no further detection
	if _, err := c.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 1 {
		t.Errorf("version asked %d times after detection, want 1", n)
	}
}

// The decoding follows the detected version, not the order of arrival: the
// same key pair answer decodes differently for 2025.12 (key_type).
func TestAlongsideDecodesForTheDetectedVersion(t *testing.T) {
	f := newFake(t, "")
	versionWaitsFor(f, "2025.12.0", "/crypto/certificatekeypairs/")
	f.replyList("/crypto/certificatekeypairs/", map[string]any{"pk": keyK, "name": "k", "private_key_available": true,
		"private_key_type": "rsa", "key_type": "ec"})
	kps, err := f.client().ListKeyPairs(context.Background(), authentik.ListKeyPairsOptions{})
	if err != nil || len(kps) != 1 || kps[0].KeyType != authentik.KeyTypeECDSA {
		t.Fatalf("key pairs %+v, %v (want ecdsa from key_type on 2025.12)", kps, err)
	}
}

// A key type filter is part of the query only from 2025.12, so that list
// waits for the version instead of going out with the detection.
func TestKeyTypeFilterWaitsForTheVersion(t *testing.T) {
	f := newFake(t, "2026.8.3")
	f.replyList("/crypto/certificatekeypairs/")
	if _, err := f.client().ListKeyPairs(context.Background(), authentik.ListKeyPairsOptions{KeyTypes: []string{"rsa"}}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Path != "/api/v3/admin/version/" || reqs[1].Query["key_type"][0] != "rsa" {
		t.Fatalf("requests %+v", reqs)
	}
}

// Before 2024.8 the speculative answer of /propertymappings/provider/scope/
// is discarded because of the version, even when it is a well-formed list:
// the mappings come from /propertymappings/scope/.
func TestOlderServerDiscardsTheSpeculativeScopeRead(t *testing.T) {
	f := newFake(t, "2024.6.3")
	const other = "aaaaaaaa-0000-4000-8000-0000000000ff"
	f.replyList("/propertymappings/provider/scope/", map[string]any{"pk": other, "managed": authentik.ScopeOpenID, "name": "openid", "scope_name": "openid"})
	f.replyList("/propertymappings/scope/", map[string]any{"pk": mapM1, "managed": authentik.ScopeOpenID, "name": "openid", "scope_name": "openid"})
	ms, err := f.client().ScopeMappingsByManaged(context.Background(), authentik.ScopeOpenID)
	if err != nil || len(ms) != 1 || ms[0].PK != mapM1 {
		t.Fatalf("mappings %+v, %v (want %s from the old path)", ms, err, mapM1)
	}
	if q := f.only("GET", "/propertymappings/scope/").Query["managed"]; len(q) != 1 || q[0] != authentik.ScopeOpenID {
		t.Fatalf("old path query %v", q)
	}
	// and on >= 2024.8 an error of that path is the answer (no fallback)
	f2 := newFake(t, "2025.8.1")
	f2.reply("GET", "/propertymappings/provider/scope/", 403, map[string]any{"detail": "You do not have permission to perform this action."})
	f2.replyList("/propertymappings/scope/")
	if _, err := f2.client().ScopeMappingsByManaged(context.Background()); err == nil {
		t.Fatal("a failed read on 2025.8.1 must fail, not fall back")
	}
	if n := len(f2.calls("GET", "/propertymappings/scope/")); n != 0 {
		t.Fatalf("fell back to the old path %d times", n)
	}
}

// A detection that fails cancels the read sent with it.
func TestFailedDetectionCancelsTheRead(t *testing.T) {
	f := newFake(t, "")
	release := make(chan struct{})
	defer close(release)
	cancelled := make(chan struct{})
	f.on("GET", "/providers/oauth2/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-release:
		}
	})
	f.on("GET", "/admin/version/", func(w http.ResponseWriter, _ *http.Request) {
		for len(f.calls("GET", "/providers/oauth2/")) == 0 {
			time.Sleep(time.Millisecond)
		}
		writeJSON(w, 403, map[string]any{"detail": "Token invalid/expired"})
	})
	done := make(chan error, 1)
	go func() {
		_, err := f.client().ListOAuth2Providers(context.Background(), authentik.ListProvidersOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, authentik.ErrUnauthenticated) {
			t.Fatalf("want the detection's 403, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed detection did not cancel the read")
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the read cancelled")
	}
}

// DetectVersion shares the detection of the version-dependent calls (in
// flight or done); ServerVersion always asks.
func TestDetectVersionReusesTheDetection(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, "")
	overlapped := versionWaitsFor(f, "2025.8.1", "/providers/oauth2/")
	f.replyList("/providers/oauth2/")
	c := f.client()
	var (
		wg   sync.WaitGroup
		vi   *authentik.VersionInfo
		errs [2]error
	)
	wg.Go(func() { _, errs[0] = c.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{}) })
	wg.Go(func() { vi, errs[1] = c.DetectVersion(ctx) })
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || vi.Current != "2025.8.1" || !overlapped() {
		t.Fatalf("%v %v %+v overlapped=%v", errs[0], errs[1], vi, overlapped())
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 1 {
		t.Fatalf("version asked %d times, want 1", n)
	}
	if vi, err := c.DetectVersion(ctx); err != nil || vi.Parsed != authentik.MustParseVersion("2025.8.1") {
		t.Fatalf("DetectVersion after detection: %+v, %v", vi, err)
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 1 {
		t.Fatalf("DetectVersion asked again (%d)", n)
	}
	if _, err := c.ServerVersion(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 2 {
		t.Fatalf("ServerVersion did not ask (%d)", n)
	}
}
