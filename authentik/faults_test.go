package authentik_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	aksim "github.com/pvesso/pvesso/authentik/sim"
	"github.com/pvesso/pvesso/internal/simkit"
	"github.com/pvesso/pvesso/internal/tlstrust"
)

// TestFaultsAgainstSimulator checks how the client reports the failures the
// simulator can inject: a gateway error page, a reset connection and a hang.
// The simulator's own TLS certificate is trusted by pin.
func TestFaultsAgainstSimulator(t *testing.T) {
	s := aksim.New(aksim.Options{Version: "2025.8.1"})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	token := s.AdminToken()
	c, err := authentik.New(s.URL(), token, authentik.WithTLS(tlstrust.Config{Pin: s.Fingerprint()}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	leaks := func(err error) {
		t.Helper()
		if err != nil && strings.Contains(err.Error(), token) {
			t.Fatalf("token in error: %v", err)
		}
	}

	s.Kit().InjectFault(simkit.Fault{Method: "GET", Path: "/api/v3/core/users/me/", Kind: simkit.FaultStatus, Status: 502, Body: "<html>Bad Gateway</html>"})
	_, err = c.Me(ctx)
	var ae *authentik.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 502 || !strings.Contains(ae.Detail, "Bad Gateway") {
		t.Fatalf("502: %v", err)
	}
	leaks(err)
	if _, err := c.Me(ctx); err != nil { // the fault fires once
		t.Fatalf("after the fault: %v", err)
	}

	// a reset on a write: reported, and not retried behind the caller's back
	flows, err := c.FlowsByDesignation(ctx, authentik.DesignationAuthorization)
	if err != nil || len(flows) == 0 {
		t.Fatalf("flows: %v", err)
	}
	s.Kit().InjectFault(simkit.Fault{Method: "POST", Path: "/api/v3/providers/oauth2/", Kind: simkit.FaultReset})
	_, err = c.CreateOAuth2Provider(ctx, authentik.OAuth2ProviderRequest{Name: "reset", AuthorizationFlow: flows[0].PK})
	if err == nil {
		t.Fatal("reset: no error")
	}
	leaks(err)
	n := 0
	for _, r := range s.Kit().Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/v3/providers/oauth2/" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d provider creations sent, want 1 (no retry of a write)", n)
	}

	s.Kit().InjectFault(simkit.Fault{Path: "/api/v3/core/groups/", Kind: simkit.FaultHang})
	hctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.ListGroups(hctx, authentik.ListGroupsOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("hang: %v after %v", err, time.Since(start))
	}
	leaks(err)

}
