package proxmox

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Every realm option is one line of domains.cfg: PVE refuses a value with a
// line break ("property contains a line feed", HTTP 500), so the client
// refuses it before sending, naming the option but never the value.
func TestRealmValuesOnOneLine(t *testing.T) {
	f := newFake(t)
	f.onData("POST /access/domains", nil)
	f.onData("PUT /access/domains/authentik", nil)
	c := f.client(tokenAuth(t), WithRelease("9.2"))
	const secret = "line-one-secret\nline-two"
	err := c.CreateRealm(ctx(t), RealmCreate{Realm: "authentik", IssuerURL: "https://a.example/", ClientID: "c", ClientKey: secret})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "client-key") || strings.Contains(err.Error(), "line-one") {
		t.Fatalf("create: %v", err)
	}
	for _, u := range []RealmUpdate{{Comment: ptr("a\nb")}, {ClientKey: ptr("x\r")}, {IssuerURL: ptr("https://a.example/\n")}} {
		if err := c.UpdateRealm(ctx(t), "authentik", u); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("update %+v: %v", u, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if err := c.UpdateRealm(ctx(t), "authentik", RealmUpdate{Comment: ptr("one line")}); err != nil {
		t.Fatal(err)
	}
}

// PVE answers an authentication failure with 401 and the die message as the
// reason phrase (pve-manager PVE/HTTPServer.pm auth_handler: "No ticket",
// verify_ticket's and verify_token's messages, the CSRF check; /access/ticket
// and /access/openid/login: "authentication failure"). proxmox-api.md words
// it as "Authentication failed!". Whatever the text and whether a body
// follows (none before libpve-http-server-perl 5.2.0; 5.2.0 adds the message
// to an empty body), it is ErrUnauthenticated with the reason kept.
func TestUnauthenticatedReasons(t *testing.T) {
	reasons := []string{"No ticket", "invalid token value!", "permission denied - invalid PVE ticket",
		"Permission denied - invalid csrf token", "no such token 'x' for user 'root@pam'", "user 'bob@pve' is disabled",
		"Authentication failed!", "authentication failure"}
	bodies := map[string]func(reason string) string{
		"none":  func(string) string { return "" },
		"text":  func(reason string) string { return reason + "\n" },
		"json":  func(reason string) string { return fmt.Sprintf(`{"data":null,"message":%q}`, reason+"\n") },
		"other": func(string) string { return "<html>401</html>" },
	}
	f := newFake(t)
	c := f.client(tokenAuth(t))
	var mu sync.Mutex
	var reason, kind string // the answer of the next call
	f.on("GET /version", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reason, b := reason, bodies[kind](reason)
		mu.Unlock()
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 401 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", reason, len(b), b)
		buf.Flush()
	})
	for _, rs := range reasons {
		for k := range bodies {
			mu.Lock()
			reason, kind = rs, k
			mu.Unlock()
			_, err := c.Version(ctx(t))
			var ae *APIError
			if !errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrForbidden) || !errors.As(err, &ae) || ae.Reason != rs {
				t.Errorf("%q with %s body: %v", rs, k, err)
				continue
			}
			if k == "json" && ae.Message != rs {
				t.Errorf("%q: message %q", rs, ae.Message)
			}
			if ae.Text() != rs {
				t.Errorf("%q with %s body: text %q", rs, k, ae.Text())
			}
		}
	}
}

// Group names with the characters 8.4–9.0 let through by accident (bug
// 7102, ':' among them) are never sent.
func TestGroupIDStrictOnEveryRelease(t *testing.T) {
	f := newFake(t)
	c := f.client(tokenAuth(t), WithRelease("8.4"))
	for _, g := range []string{"team:blue", "a(b)", "a?b", "x^y", "a b"} {
		if err := c.CreateGroup(ctx(t), g, ""); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: %v", g, err)
		}
		if err := c.AddUserToGroups(ctx(t), "alice@authentik", g); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: %v", g, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}
