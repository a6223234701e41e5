package authentik_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
)

func TestNewValidatesInput(t *testing.T) {
	cases := []struct{ url, token, want string }{
		{"ftp://auth.example", testToken, "https://host"},
		{"auth.example", testToken, "https://host"},
		{"http://auth.example.com:9000", testToken, "plain http"},
		{"https://user:pw@auth.example.com", testToken, "credentials"},
		{"https://auth.example.com", "", "token is required"},
		{"https://auth.example.com", "abc def", "white space"},
		{"https://auth.example.com", testToken + "\n", "white space"},
	}
	for _, c := range cases {
		_, err := authentik.New(c.url, c.token)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q): want error with %q, got %v", c.url, c.want, err)
		}
		if err != nil && c.token != "" && strings.Contains(err.Error(), strings.TrimSpace(c.token)) {
			t.Errorf("New(%q): error repeats the token: %v", c.url, err)
		}
	}
	for _, ok := range []string{"http://127.0.0.1:9000", "http://[::1]:9000", "http://localhost:9000", "https://auth.example.com"} {
		if _, err := authentik.New(ok, testToken); err != nil {
			t.Errorf("New(%q): %v", ok, err)
		}
	}
}

func TestBaseAndIssuerURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://auth.example.com:9443/":       "https://auth.example.com:9443",
		"https://auth.example.com:9443/api/v3": "https://auth.example.com:9443",
		"https://auth.example.com/sso/":        "https://auth.example.com/sso",
	} {
		c, err := authentik.New(in, testToken)
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL() != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, c.BaseURL(), want)
		}
		if got := c.IssuerURL("pve"); got != want+"/application/o/pve/" {
			t.Errorf("IssuerURL = %q", got)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]authentik.Version{
		"2025.8.1":     {Major: 2025, Minor: 8, Patch: 1},
		"2026.5.0-rc1": {Major: 2026, Minor: 5, Patch: 0, Pre: "rc1"},
		"2024.10":      {Major: 2024, Minor: 10},
		" 2024.12.3 ":  {Major: 2024, Minor: 12, Patch: 3},
	} {
		got, err := authentik.ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2025", "8.4.1", "2025.x.1", "2025.8.1.2", "latest"} {
		if _, err := authentik.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	v := authentik.MustParseVersion("2024.10.3")
	for _, c := range []struct {
		a, b, p int
		want    bool
	}{{2024, 10, 3, true}, {2024, 10, 4, false}, {2024, 8, 5, true}, {2024, 11, 0, false}, {2025, 1, 0, false}, {2023, 12, 9, true}} {
		if got := v.AtLeast(c.a, c.b, c.p); got != c.want {
			t.Errorf("%s.AtLeast(%d,%d,%d) = %v", v, c.a, c.b, c.p, got)
		}
	}
	if authentik.MustParseVersion("2026.5.0-rc1").String() != "2026.5.0-rc1" || (authentik.Version{}).String() != "unknown" {
		t.Error("String()")
	}
}

func TestServerVersionDetectedOnce(t *testing.T) {
	f := newFake(t, "2025.8.1")
	f.replyList("/propertymappings/provider/scope/")
	f.replyList("/providers/oauth2/")
	f.replyList("/core/groups/")
	c := f.client()
	if !c.Version().IsZero() {
		t.Fatal("version known before detection")
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.ScopeMappingsByManaged(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListGroups(ctx, authentik.ListGroupsOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 1 {
		t.Fatalf("version asked %d times, want 1", n)
	}
	if c.Version() != authentik.MustParseVersion("2025.8.1") {
		t.Fatalf("Version() = %v", c.Version())
	}
	vi, err := c.ServerVersion(ctx)
	if err != nil || vi.Current != "2025.8.1" || vi.Parsed.Minor != 8 || !vi.LatestValid {
		t.Fatalf("ServerVersion = %+v, %v", vi, err)
	}
	// WithVersion: no detection at all
	f2 := newFake(t, "2025.8.1")
	f2.replyList("/propertymappings/provider/scope/")
	if _, err := f2.clientAt("2026.8.3").ScopeMappingsByManaged(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f2.calls("GET", "/admin/version/")); n != 0 {
		t.Fatalf("version asked %d times despite WithVersion", n)
	}
}

func TestServerVersionRejectsGarbage(t *testing.T) {
	f := newFake(t, "")
	f.reply("GET", "/admin/version/", 200, map[string]any{"version_current": "banana"})
	_, err := f.client().ServerVersion(context.Background())
	if !errors.Is(err, authentik.ErrUnexpectedResponse) {
		t.Fatalf("want ErrUnexpectedResponse, got %v", err)
	}
	f.reply("GET", "/admin/version/", 200, map[string]any{})
	// the list request does not depend on the version and goes out with the
	// detection; without a version its answer is never decoded or returned
	f.replyList("/providers/oauth2/", map[string]any{"pk": 1, "name": "p", "redirect_uris": "https://a"})
	ps, err := f.client().ListOAuth2Providers(context.Background(), authentik.ListProvidersOptions{})
	if !errors.Is(err, authentik.ErrUnexpectedResponse) || !strings.Contains(err.Error(), "detecting the server version") || ps != nil {
		t.Fatalf("want a detection error and no providers, got %+v, %v", ps, err)
	}
}

func TestBearerHeader(t *testing.T) {
	f := newFake(t, "2025.8.1")
	f.reply("GET", "/core/users/me/", 200, map[string]any{"user": map[string]any{"pk": 7, "username": "akadmin",
		"name": "authentik Default Admin", "email": "root@example.com", "is_active": true, "is_superuser": true,
		"uid": "abc", "groups": []any{map[string]any{"pk": "g1", "name": "authentik Admins"}}, "system_permissions": []any{"x"}}})
	u, err := f.client().Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.PK != 7 || u.Username != "akadmin" || !u.IsSuperuser || len(u.Groups) != 1 || u.Groups[0] != "authentik Admins" || u.SystemPermissions[0] != "x" {
		t.Fatalf("Me = %+v", u)
	}
	if got := f.only("GET", "/core/users/me/").Auth; got != "Bearer "+testToken {
		t.Fatalf("Authorization = %q", got)
	}
	f.reply("GET", "/core/users/me/", 200, map[string]any{"detail": "x"})
	if _, err := f.client().Me(context.Background()); !errors.Is(err, authentik.ErrUnexpectedResponse) {
		t.Fatalf("want ErrUnexpectedResponse for a body without user, got %v", err)
	}
}

func TestErrorMapping(t *testing.T) {
	type want struct {
		unauth, forbidden, notFound bool
		detail                      string
		fields                      map[string]string
	}
	cases := []struct {
		name   string
		status int
		body   string
		ctype  string
		want   want
	}{
		{"bad token", 403, `{"detail":"Token invalid/expired"}`, "", want{unauth: true, detail: "Token invalid/expired"}},
		{"bad token with code", 403, `{"detail":"Something","code":"authentication_failed"}`, "", want{unauth: true, detail: "Something"}},
		{"no credentials", 403, `{"detail":"Authentication credentials were not provided."}`, "", want{unauth: true}},
		{"401", 401, `{"detail":"Unauthorized"}`, "", want{unauth: true}},
		{"permission", 403, `{"detail":"You do not have permission to perform this action."}`, "", want{forbidden: true}},
		{"permission code", 403, `{"detail":"Token invalid/expired","code":"permission_denied"}`, "", want{forbidden: true}},
		{"not found", 404, `{"detail":"No Application matches the given query."}`, "", want{notFound: true, detail: "No Application matches the given query."}},
		{"validation", 400, `{"name":["OAuth2 Provider with this name already exists."],"redirect_uris":[{},{"matching_mode":["\"x\" is not a valid choice."]}]}`, "",
			want{fields: map[string]string{"name": "OAuth2 Provider with this name already exists.", "redirect_uris[1].matching_mode": `"x" is not a valid choice.`}}},
		{"non field", 400, `{"non_field_errors":["Only one of group, user, policy can be set."]}`, "", want{detail: "Only one of group, user, policy can be set.",
			fields: map[string]string{"non_field_errors": "Only one of group, user, policy can be set."}}},
		{"string field", 400, `{"intent":"Invalid intent"}`, "", want{fields: map[string]string{"intent": "Invalid intent"}}},
		{"indexed list", 400, `{"property_mappings":{"0":["Invalid pk"]}}`, "", want{fields: map[string]string{"property_mappings[0]": "Invalid pk"}}},
		{"top-level list", 400, `["Bad thing"]`, "", want{detail: "Bad thing", fields: map[string]string{"non_field_errors": "Bad thing"}}},
		{"html 502", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", want{detail: "non-JSON answer (text/html): <html><body><h1>502 Bad Gateway</h1></body></html>"}},
		{"echoed token", 400, `{"detail":"bad key ` + testToken + `"}`, "", want{detail: "bad key [REDACTED]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, "2025.8.1")
			f.on("GET", "/core/applications/pve/", func(w http.ResponseWriter, _ *http.Request) {
				ct := c.ctype
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			})
			_, err := f.clientAt("2025.8.1").GetApplication(context.Background(), "pve")
			noToken(t, err)
			var ae *authentik.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("want *APIError, got %T %v", err, err)
			}
			if ae.StatusCode != c.status || ae.Method != "GET" || ae.Path != "/api/v3/core/applications/pve/" {
				t.Fatalf("APIError = %+v", ae)
			}
			if errors.Is(err, authentik.ErrUnauthenticated) != c.want.unauth || errors.Is(err, authentik.ErrForbidden) != c.want.forbidden ||
				errors.Is(err, authentik.ErrNotFound) != c.want.notFound {
				t.Fatalf("sentinels: unauth=%v forbidden=%v notfound=%v for %v", errors.Is(err, authentik.ErrUnauthenticated),
					errors.Is(err, authentik.ErrForbidden), errors.Is(err, authentik.ErrNotFound), err)
			}
			if c.want.detail != "" && ae.Detail != c.want.detail {
				t.Fatalf("Detail = %q, want %q", ae.Detail, c.want.detail)
			}
			for k, v := range c.want.fields {
				if ae.Field(k) != v {
					t.Fatalf("Field(%q) = %q, want %q (all %v)", k, ae.Field(k), v, ae.Fields)
				}
				if !strings.Contains(err.Error(), v) {
					t.Fatalf("Error() lacks %q: %s", v, err)
				}
			}
			if len(ae.Fields) != len(c.want.fields) {
				t.Fatalf("Fields = %v, want %v", ae.Fields, c.want.fields)
			}
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newFake(t, "2025.8.1")
	f := newFake(t, "2025.8.1")
	f.on("GET", "/core/users/me/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+"/if/flow/default-authentication-flow/", http.StatusFound)
	})
	_, err := f.client().Me(context.Background())
	var ae *authentik.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 302 || !strings.Contains(ae.Detail, "redirect") {
		t.Fatalf("want a 302 APIError, got %v", err)
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the redirect was followed (%d requests)", n)
	}
}

func TestNonJSONSuccessIsUnexpected(t *testing.T) {
	f := newFake(t, "2025.8.1")
	f.on("GET", "/core/users/me/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>login</html>"))
	})
	_, err := f.client().Me(context.Background())
	if !errors.Is(err, authentik.ErrUnexpectedResponse) || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("want ErrUnexpectedResponse, got %v", err)
	}
}

func TestContextBoundsAHang(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, "2025.8.1")
	f.on("GET", "/core/users/me/", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client().Me(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("hang not bounded by the context")
	}
	noToken(t, err)
}

func TestPaginationFollowsNext(t *testing.T) {
	f := newFake(t, "2025.8.1")
	const total = 250
	f.on("GET", "/core/groups/", func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
		var res []any
		for i := (p - 1) * size; i < p*size && i < total; i++ {
			res = append(res, map[string]any{"pk": "00000000-0000-4000-8000-" + strconv.FormatInt(int64(100000000000+i), 10), "num_pk": i, "name": "g" + strconv.Itoa(i), "is_superuser": false})
		}
		next := p + 1
		if p*size >= total {
			next = 0
		}
		writeJSON(w, 200, pageOf(res, p, next))
	})
	gs, err := f.client().ListGroups(context.Background(), authentik.ListGroupsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != total || gs[0].Name != "g0" || gs[total-1].Name != "g249" || gs[5].NumPK != 5 {
		t.Fatalf("got %d groups", len(gs))
	}
	calls := f.calls("GET", "/core/groups/")
	if len(calls) != 3 {
		t.Fatalf("want 3 pages, got %d", len(calls))
	}
	for i, c := range calls {
		if c.Query["page"][0] != strconv.Itoa(i+1) || c.Query["page_size"][0] != "100" || c.Query["include_users"][0] != "false" {
			t.Fatalf("page %d query %q", i+1, c.RawQuery)
		}
	}
}

func TestPaginationIsBoundedAndChecked(t *testing.T) {
	ctx := context.Background()
	grp := map[string]any{"pk": "00000000-0000-4000-8000-000000000001", "num_pk": 1, "name": "g", "is_superuser": false}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"endless", func(w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("page"))
			writeJSON(w, 200, pageOf([]any{grp}, p, p+1))
		}, "more than 200 pages"},
		{"backwards", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, pageOf([]any{grp}, 1, 1)) }, "does not follow"},
		{"no results", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"pagination": map[string]any{"next": 0}})
		}, "no results"},
		{"no pagination", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"results": []any{}}) }, "pagination"},
		{"plain array", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{grp}) }, "decode"},
		{"item without pk", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, pageOf([]any{map[string]any{"name": "x"}}, 1, 0))
		}, "results[0]"},
		{"mistyped item", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, pageOf([]any{map[string]any{"pk": 5, "name": "x"}}, 1, 0))
		}, "results[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, "2025.8.1")
			f.on("GET", "/core/groups/", c.handler)
			_, err := f.clientAt("2025.8.1").ListGroups(ctx, authentik.ListGroupsOptions{})
			if !errors.Is(err, authentik.ErrUnexpectedResponse) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want ErrUnexpectedResponse with %q, got %v", c.want, err)
			}
			if n := len(f.calls("GET", "/core/groups/")); n > authentik.MaxPages {
				t.Fatalf("%d requests, more than MaxPages", n)
			}
		})
	}
}

func TestConcurrentCallsDetectOnce(t *testing.T) {
	f := newFake(t, "2025.8.1")
	f.replyList("/core/groups/")
	c := f.client()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := c.ListGroups(context.Background(), authentik.ListGroupsOptions{})
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.calls("GET", "/admin/version/")); n != 1 {
		t.Fatalf("version asked %d times", n)
	}
}
