package sim

import (
	"fmt"
	"net/http"
	"strings"
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
			req, _ := http.NewRequest("GET", ts.s.URL()+"/api/v3/admin/version/", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := ts.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if c.detail == "" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				return
			}
			r := ts.apiAs(strings.TrimPrefix(c.header, "Bearer "), "GET", "/admin/version/", nil)
			if c.header == "" || !strings.HasPrefix(c.header, "Bearer ") || c.header == "Bearer " {
				r = rawGet(t, ts, "/api/v3/admin/version/", c.header)
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

func rawGet(t *testing.T, ts *testServer, path, authz string) apiResp {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.s.URL()+path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out apiResp
	out.status = resp.StatusCode
	out.header = resp.Header
	buf := new(strings.Builder)
	_, _ = fmt.Fprint(buf, "")
	b := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for {
		n, err := resp.Body.Read(tmp)
		b = append(b, tmp[:n]...)
		if err != nil {
			break
		}
	}
	out.raw = b
	_ = jsonInto(b, &out.body)
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
