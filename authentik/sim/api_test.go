package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// versions every version-independent test runs against.
var testVersions = []string{"2025.8.1", "2026.8.3"}

func TestVersionEndpoint(t *testing.T) {
	for _, v := range []string{"2024.8.4", "2024.12.3", "2025.8.1", "2026.8.3"} {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			r := ts.api("GET", "/admin/version/", nil)
			ts.mustStatus(r, 200)
			if got := r.obj()["version_current"]; got != v {
				t.Errorf("version_current = %v, want %s", got, v)
			}
			if _, ok := r.obj()["outpost_outdated"]; !ok {
				t.Error("outpost_outdated missing (since 2024.8)")
			}
		})
	}
}

func TestAuthenticationFailures(t *testing.T) {
	ts := startSim(t, "2025.8.1")
	cases := []struct {
		name, header, detail string
	}{
		{"no header", "", msgNotAuthn},
		{"unknown token", "Bearer nope", msgTokenInvalid},
		{"lower-case scheme works", "bearer " + ts.token, ""},
		{"other scheme ignored", "Basic " + ts.token, msgNotAuthn},
		{"empty bearer ignored", "Bearer ", msgNotAuthn},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.apiAuthz(c.header, "GET", "/admin/version/", nil)
			if c.detail == "" {
				if r.status != 200 {
					t.Fatalf("status %d", r.status)
				}
				return
			}
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403 (authentik answers 403, not 401)", r.status)
			}
			if r.obj()["detail"] != c.detail {
				t.Errorf("detail %v, want %q", r.obj()["detail"], c.detail)
			}
		})
	}
}

// rawGet sends a GET without checking the answer against the schema (for
// redirects and injected faults).
func rawGet(t *testing.T, ts *testServer, path, authz string) apiResp {
	t.Helper()
	req, err := http.NewRequest("GET", ts.s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := apiResp{status: resp.StatusCode, header: resp.Header}
	out.raw, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.raw, &out.body)
	return out
}

func TestProviderRoundTrip(t *testing.T) {
	for _, v := range testVersions {
		t.Run(v, func(t *testing.T) {
			ts := startSim(t, v)
			r := ts.api("POST", "/providers/oauth2/", ts.providerBody("Proxmox VE", "https://pve.example:8006", ts.keyPK(SelfSignedCertName)))
			ts.mustStatus(r, 201)
			p := r.obj()
			pk := int(p["pk"].(float64))
			if len(p["client_secret"].(string)) != 128 || len(p["client_id"].(string)) != 40 {
				t.Errorf("generated client id/secret lengths %d/%d, want 40/128", len(p["client_id"].(string)), len(p["client_secret"].(string)))
			}
			g := ts.api("GET", fmt.Sprintf("/providers/oauth2/%d/", pk), nil)
			ts.mustStatus(g, 200)
			if g.obj()["assigned_application_slug"] != nil {
				t.Errorf("unassigned provider: assigned_application_slug = %v, want null", g.obj()["assigned_application_slug"])
			}
		})
	}
}
