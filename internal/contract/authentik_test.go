package contract

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	uuidA = "7d4a1c2e-3b5f-4a6d-8e9f-0a1b2c3d4e5f"
	uuidB = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	uuidC = "11111111-2222-4333-8444-555555555555"
)

func loadV(t *testing.T, version string) *AuthentikValidator {
	t.Helper()
	v, err := LoadAuthentikValidator(version)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version() != version {
		t.Fatalf("schema says info.version %q, file name %q", v.Version(), version)
	}
	return v
}

func req(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "https://auth.test"+target, rd)
	r.Header.Set("Authorization", "Bearer secret-token")
	if body != "" || method == "POST" || method == "PUT" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

func wantErr(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("want an error containing %q, got:\n%v", substr, err)
	}
}

func wantOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected violation:\n%v", err)
	}
}

func TestAuthentikSchemasHaveTheClientOperations(t *testing.T) {
	for _, ver := range AuthentikSchemaVersions {
		v := loadV(t, ver)
		for _, op := range AuthentikOperations {
			has := v.HasOperation(op.Method, op.Path)
			if op.Path == "/propertymappings/scope/" {
				if has {
					t.Errorf("%s: the pre-2024.8 scope path should be absent", ver)
				}
				continue
			}
			if !has {
				t.Errorf("%s: trimmed schema lacks %s %s", ver, op.Method, op.Path)
			}
		}
	}
}

func providerBody(redirects string, extra string) string {
	return `{"name":"Proxmox","authorization_flow":"` + uuidA + `","invalidation_flow":"` + uuidB + `",` +
		`"redirect_uris":` + redirects + `,"signing_key":null,"property_mappings":["` + uuidC + `"]` + extra + `}`
}

func TestRedirectURIFormatsPerVersion(t *testing.T) {
	list := `[{"matching_mode":"strict","url":"https://pve:8006"}]`
	str := `"https://pve:8006"`
	old := loadV(t, "2024.8.4")
	mid := loadV(t, "2025.8.1")
	wantOK(t, old.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(`{"name":"P","authorization_flow":"`+uuidA+`","redirect_uris":`+str+`}`)))
	wantErr(t, old.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(`{"name":"P","authorization_flow":"`+uuidA+`","redirect_uris":`+list+`}`)), "redirect_uris")
	wantOK(t, mid.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(providerBody(list, ""))))
	wantErr(t, mid.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(providerBody(str, ""))), "redirect_uris")
	// invalidation_flow is required from 2024.10
	wantErr(t, mid.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""),
		[]byte(`{"name":"P","authorization_flow":"`+uuidA+`","redirect_uris":`+list+`}`)), "invalidation_flow")
	// and unknown to 2024.8.4 (strict mode)
	wantErr(t, old.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""),
		[]byte(`{"name":"P","authorization_flow":"`+uuidA+`","invalidation_flow":"`+uuidB+`","redirect_uris":`+str+`}`)), "invalidation_flow")
}

func TestGrantTypesOnlyIn2026(t *testing.T) {
	list := `[{"matching_mode":"strict","url":"https://pve:8006","redirect_uri_type":"authorization"}]`
	plain := `[{"matching_mode":"strict","url":"https://pve:8006"}]`
	grants := `,"grant_types":["authorization_code"]`
	mid := loadV(t, "2025.8.1")
	late := loadV(t, "2026.8.3")
	wantOK(t, late.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(providerBody(list, grants))))
	wantErr(t, mid.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(providerBody(plain, grants))), "body at /grant_types: property is not declared")
	wantErr(t, mid.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(providerBody(list, ""))), "body at /redirect_uris/0/redirect_uri_type: property is not declared")
	wantErr(t, late.ValidateRequest(req("POST", "/api/v3/providers/oauth2/", ""), []byte(providerBody(plain, `,"grant_types":["magic"]`))), "grant_types")
}

func TestRequestChecks(t *testing.T) {
	v := loadV(t, "2025.8.1")
	// security: the Bearer header is required
	r := req("GET", "/api/v3/admin/version/", "")
	r.Header.Del("Authorization")
	wantErr(t, v.ValidateRequest(r, nil), "Bearer")
	r.Header.Set("Authorization", "Token abc")
	wantErr(t, v.ValidateRequest(r, nil), "Bearer")
	wantOK(t, v.ValidateRequest(req("GET", "/api/v3/admin/version/", ""), nil))
	// path parameters are typed
	wantOK(t, v.ValidateRequest(req("GET", "/api/v3/providers/oauth2/12/", ""), nil))
	wantErr(t, v.ValidateRequest(req("GET", "/api/v3/providers/oauth2/abc/", ""), nil), "id")
	wantErr(t, v.ValidateRequest(req("DELETE", "/api/v3/policies/bindings/not-a-uuid/", ""), nil), "uuid")
	// unknown operations and methods
	wantErr(t, v.ValidateRequest(req("GET", "/api/v3/propertymappings/scope/", ""), nil), "no such operation")
	wantErr(t, v.ValidateRequest(req("PATCH", "/api/v3/providers/oauth2/12/", `{}`), []byte(`{}`)), "no such operation")
	// query parameters: typed and declared
	wantOK(t, v.ValidateRequest(req("GET", "/api/v3/propertymappings/provider/scope/?managed=a&managed=b&page=1&page_size=100", ""), nil))
	wantErr(t, v.ValidateRequest(req("GET", "/api/v3/core/groups/?page=x", ""), nil), "page")
	wantErr(t, v.ValidateRequest(req("GET", "/api/v3/crypto/certificatekeypairs/?key_type=rsa", ""), nil), `"key_type" is not declared`)
	wantOK(t, loadV(t, "2026.8.3").ValidateRequest(req("GET", "/api/v3/crypto/certificatekeypairs/?key_type=rsa", ""), nil))
	// request bodies: required, typed, formats
	wantErr(t, v.ValidateRequest(req("POST", "/api/v3/policies/bindings/", ""), nil), "required")
	wantErr(t, v.ValidateRequest(req("POST", "/api/v3/policies/bindings/", ""), []byte(`{"target":"`+uuidA+`","group":"admins","order":0}`)), "uuid")
	wantOK(t, v.ValidateRequest(req("POST", "/api/v3/policies/bindings/", ""), []byte(`{"target":"`+uuidA+`","group":"`+uuidB+`","order":0}`)))
	wantErr(t, v.ValidateRequest(req("POST", "/api/v3/core/applications/", ""), []byte(`{"name":"x","slug":"bad slug"}`)), "slug")
	// a body on an operation without one
	wantErr(t, v.ValidateRequest(req("DELETE", "/api/v3/core/applications/x/", `{}`), []byte(`{}`)), "takes none")
	// wrong content type
	r = req("POST", "/api/v3/core/applications/", `{"name":"x","slug":"x"}`)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	wantErr(t, v.ValidateRequest(r, []byte(`{"name":"x","slug":"x"}`)), "Content-Type")
}

func TestResponseChecks(t *testing.T) {
	v := loadV(t, "2025.8.1")
	get := req("GET", "/api/v3/admin/version/", "")
	good := `{"version_current":"2025.8.1","version_latest":"2025.8.1","version_latest_valid":true,"build_hash":"","outdated":false,"outpost_outdated":false}`
	wantOK(t, v.ValidateResponse(get, nil, 200, jsonHeader(), []byte(good)))
	wantErr(t, v.ValidateResponse(get, nil, 200, jsonHeader(), []byte(`{"version_current":"2025.8.1"}`)), "version_latest")
	wantErr(t, v.ValidateResponse(get, nil, 200, jsonHeader(), []byte(strings.Replace(good, `"build_hash":""`, `"build_hash":"","extra":1`, 1))), "body at /extra: property is not declared")
	wantErr(t, v.ValidateResponse(get, nil, 200, http.Header{"Content-Type": {"text/html"}}, []byte(good)), "Content-Type")
	wantErr(t, v.ValidateResponse(get, nil, 500, jsonHeader(), []byte(`{"detail":"x"}`)), "status")
	wantErr(t, v.ValidateResponse(get, nil, 302, http.Header{"Location": {"/if/flow/x/"}}, nil), "redirect")
	// 403 with a GenericError is declared everywhere
	wantOK(t, v.ValidateResponse(get, nil, 403, jsonHeader(), []byte(`{"detail":"Token invalid/expired"}`)))
	wantErr(t, v.ValidateResponse(get, nil, 403, jsonHeader(), []byte(`{"error":"Token invalid/expired"}`)), "detail")
	// 400 ValidationError: free-form field lists
	post := req("POST", "/api/v3/core/applications/", "")
	wantOK(t, v.ValidateResponse(post, nil, 400, jsonHeader(), []byte(`{"slug":["Application with this slug already exists."]}`)))
	// 404 only on single-object operations, and only with a GenericError
	one := req("GET", "/api/v3/core/applications/nope/", "")
	wantOK(t, v.ValidateResponse(one, nil, 404, jsonHeader(), []byte(`{"detail":"No Application matches the given query."}`)))
	wantErr(t, v.ValidateResponse(one, nil, 404, jsonHeader(), []byte(`{"message":"nope"}`)), "GenericError")
	wantErr(t, v.ValidateResponse(req("GET", "/api/v3/core/applications/", ""), nil, 404, jsonHeader(), []byte(`{"detail":"x"}`)), "status")
	// 204 without body
	del := req("DELETE", "/api/v3/core/applications/x/", "")
	wantOK(t, v.ValidateResponse(del, nil, 204, http.Header{}, nil))
	wantErr(t, v.ValidateResponse(del, nil, 204, jsonHeader(), []byte(`{}`)), "no body")
	wantErr(t, v.ValidateResponse(del, nil, 200, jsonHeader(), []byte(`{}`)), "status")
}

func TestOutsideAPIIsReportedNotValidated(t *testing.T) {
	v := loadV(t, "2025.8.1")
	err := v.ValidateExchange(req("GET", "/application/o/pve/.well-known/openid-configuration", ""), nil, 200, jsonHeader(), []byte(`{}`))
	if !IsOutsideAPI(err) {
		t.Fatalf("want outside-API error, got %v", err)
	}
}

func TestTransportRecordsWithoutAltering(t *testing.T) {
	v := loadV(t, "2025.8.1")
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v3/core/applications/":
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"pk":"` + uuidA + `"}`)) // lacks required fields
		default:
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"version_current":"2025.8.1","version_latest":"2025.8.1","version_latest_valid":true,"build_hash":"","outdated":false,"outpost_outdated":false}`))
		}
	}))
	defer srv.Close()
	tr := v.Transport(nil)
	hc := &http.Client{Transport: tr}
	do := func(method, path, body string) string {
		var rd io.Reader
		if body != "" {
			rd = bytes.NewBufferString(body)
		}
		r, _ := http.NewRequest(method, srv.URL+path, rd)
		r.Header.Set("Authorization", "Bearer t")
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if b := do("GET", "/api/v3/admin/version/", ""); !strings.Contains(b, "2025.8.1") {
		t.Fatalf("response body altered: %q", b)
	}
	body := `{"name":"x","slug":"x","extra_field":true}`
	do("POST", "/api/v3/core/applications/", body)
	if gotBody != body {
		t.Fatalf("server saw %q, client sent %q", gotBody, body)
	}
	vs := tr.Violations()
	if len(vs) != 2 {
		t.Fatalf("want a request and a response violation, got %d: %v", len(vs), vs)
	}
	if !strings.Contains(vs[0].Err, "request POST") || len(vs[0].Problems) != 1 || vs[0].Problems[0].Pointer != "/extra_field" {
		t.Errorf("request violation = %+v", vs[0])
	}
	if !strings.Contains(vs[1].Err, "response 201") || !strings.Contains(vs[1].Err, `/launch_url: property "launch_url" is missing`) {
		t.Errorf("response violation = %+v", vs[1])
	}
	ops := tr.Operations()
	if ops["admin_version_retrieve"] != 1 || ops["core_applications_create"] != 1 {
		t.Fatalf("operations = %v", ops)
	}
}

func TestMiddlewareValidatesServerSide(t *testing.T) {
	v := loadV(t, "2026.8.3")
	h, rec := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"detail":"Token invalid/expired","code":"authentication_failed"}`))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	r, _ := http.NewRequest("GET", srv.URL+"/api/v3/core/users/me/", nil)
	r.Header.Set("Authorization", "Bearer bad")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "Token invalid") {
		t.Fatalf("middleware changed the answer: %d %s", resp.StatusCode, b)
	}
	if vs := rec.Violations(); len(vs) != 0 {
		t.Fatalf("unexpected violations: %v", vs)
	}
	if rec.Operations()["core_users_me_retrieve"] != 1 {
		t.Fatalf("operations = %v", rec.Operations())
	}
}

// TestTrimmedSchemasUpToDate re-trims the official schemas when the shared
// reference directory is present (it is not in a fresh clone).
func TestTrimmedSchemasUpToDate(t *testing.T) {
	src := filepath.Join("..", "..", "..", "shared", "reference", "authentik")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("official schemas not available at %s (fresh clone): %v", src, err)
	}
	for _, ver := range AuthentikSchemaVersions {
		full, err := os.ReadFile(filepath.Join(src, "schema-"+ver+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		got, missing, err := TrimAuthentikSchema(full)
		if err != nil {
			t.Fatal(err)
		}
		if len(missing) != 1 || missing[0] != "GET /propertymappings/scope/" {
			t.Errorf("%s: missing operations %v", ver, missing)
		}
		committed, err := os.ReadFile(AuthentikSchemaPath(ver))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("%s: committed trimmed schema differs from a fresh trim; run go run ./internal/contract/aktrim", ver)
		}
	}
}

func TestDeclaredBodylessErrorStatus(t *testing.T) {
	v := loadV(t, "2025.8.1")
	r := req("GET", "/api/v3/providers/oauth2/3/setup_urls/", "")
	// setup_urls declares 404 without a body description; DRF's Http404
	// still sends {"detail": ...}
	wantOK(t, v.ValidateResponse(r, nil, 404, jsonHeader(), []byte(`{"detail":"Not found."}`)))
	wantOK(t, v.ValidateResponse(r, nil, 404, http.Header{}, nil))
	wantErr(t, v.ValidateResponse(r, nil, 404, http.Header{"Content-Type": {"text/html"}}, []byte("<h1>Not Found</h1>")), "content type")
	wantErr(t, v.ValidateResponse(r, nil, 404, jsonHeader(), []byte(`{"detail":"x","extra":1}`)), "/extra")
}

func TestProblemsAreStructured(t *testing.T) {
	v := loadV(t, "2025.8.1")
	r := req("GET", "/api/v3/core/applications/", "")
	body := `{"pagination":{"next":0,"previous":0,"count":1,"current":1,"total_pages":1,"start_index":1,"end_index":1},"autocomplete":{},` +
		`"results":[{"pk":"` + uuidA + `","name":"a","slug":"a","provider_obj":null,"backchannel_providers_obj":[],"launch_url":null,"meta_icon":null,"bogus":1}]}`
	err := v.ValidateResponse(r, nil, 200, jsonHeader(), []byte(body))
	var ee *ExchangeError
	if !errors.As(err, &ee) {
		t.Fatalf("want *ExchangeError, got %v", err)
	}
	got := map[string]string{}
	for _, p := range ee.Problems {
		got[p.Pointer] = p.Message
	}
	if got["/results/0/provider_obj"] != "Value is not nullable" || got["/results/0/bogus"] != "property is not declared by the schema" || len(got) != 2 {
		t.Fatalf("problems = %+v", ee.Problems)
	}
}

func TestDeviationsAreOptInAndNarrow(t *testing.T) {
	v := loadV(t, "2025.8.1")
	v.AllowDeviations(AuthentikNullRelations...)
	r := req("GET", "/api/v3/core/applications/x/", "")
	app := func(extra string) []byte {
		return []byte(`{"pk":"` + uuidA + `","name":"a","slug":"x","provider_obj":null,"backchannel_providers_obj":[],"launch_url":null,"meta_icon":null` + extra + `}`)
	}
	// excused: provider_obj null
	wantOK(t, v.ValidateResponse(r, nil, 200, jsonHeader(), app("")))
	// not excused: another non-nullable field null, even next to an excused one
	err := v.ValidateResponse(r, nil, 200, jsonHeader(), app(`,"group":null`))
	wantErr(t, err, "/group: Value is not nullable")
	var ee *ExchangeError
	if !errors.As(err, &ee) || len(ee.Problems) != 1 || len(ee.Excused) != 1 || ee.Excused[0].Pointer != "/provider_obj" {
		t.Fatalf("problems %+v excused %+v", ee.Problems, ee.Excused)
	}
	// a different complaint about an excused field is not excused
	wantErr(t, v.ValidateResponse(r, nil, 200, jsonHeader(), []byte(`{"pk":"`+uuidA+`","name":"a","slug":"x","provider_obj":5,"backchannel_providers_obj":[],"launch_url":null,"meta_icon":null}`)), "/provider_obj")
	// without AllowDeviations the same body fails
	wantErr(t, loadV(t, "2025.8.1").ValidateResponse(r, nil, 200, jsonHeader(), app("")), "/provider_obj: Value is not nullable")
	// the recorder keeps the excused problems visible
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(app(""))
	}))
	defer srv.Close()
	tr := v.Transport(nil)
	rq, _ := http.NewRequest("GET", srv.URL+"/api/v3/core/applications/x/", nil)
	rq.Header.Set("Authorization", "Bearer t")
	resp, err := (&http.Client{Transport: tr}).Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(tr.Violations()) != 0 || len(tr.Excused()) != 1 {
		t.Fatalf("violations %v excused %v", tr.Violations(), tr.Excused())
	}
}
