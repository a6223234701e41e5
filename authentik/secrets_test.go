package authentik_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/authentik"
)

// A provider's client secret never reaches an error string: not when the
// server echoes the secret pvesso sent in a validation message, and not
// when a provider read comes back with a non-JSON content type (the
// excerpt of the answer would otherwise carry the stored secret).
func TestClientSecretNeverInErrors(t *testing.T) {
	const sent = "sent-client-secret-0123456789abcdefghij"
	const stored = "stored-client-secret-9876543210zyxwvut"
	f := newFake(t, "2025.8.1")
	f.on("POST", "/providers/oauth2/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 400, map[string]any{
			"detail":        "secret " + sent + " refused",
			"client_secret": []string{"value " + sent + " is too weak"},
		})
	})
	f.on("GET", "/providers/oauth2/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(`{"pagination":{"next":0},"results":[{"pk":1,"client_secret": "` + stored + `","name":"Proxmox VE"}]}`))
	})
	c := f.client()
	r := proxmoxProvider()
	r.ClientSecret = sent
	_, err := c.CreateOAuth2Provider(context.Background(), r)
	if err == nil {
		t.Fatal("the 400 answer was not an error")
	}
	if msg := err.Error(); strings.Contains(msg, sent) || !strings.Contains(msg, "too weak") {
		t.Errorf("create error %q: want the message without the secret", msg)
	}
	_, err = c.ListOAuth2Providers(context.Background(), authentik.ListProvidersOptions{})
	if err == nil {
		t.Fatal("the text/plain answer was not an error")
	}
	if msg := err.Error(); strings.Contains(msg, stored) || !strings.Contains(msg, "not JSON") {
		t.Errorf("list error %q: want the excerpt without the secret", msg)
	}
}

// A transport failure names the client and the call, keeps the cause
// (errors.As still finds it) and never the token.
func TestTransportErrorNamesTheCall(t *testing.T) {
	f := newFake(t, "2025.8.1")
	c := f.client()
	f.srv.Close()
	_, err := c.ListGroups(context.Background(), authentik.ListGroupsOptions{})
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		t.Fatalf("want a wrapped *url.Error, got %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "authentik: ") || !strings.Contains(msg, "GET /api/v3/admin/version/: ") || strings.Contains(msg, testToken) {
		t.Errorf("transport error %q", msg)
	}
}
