package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pvesso/pvesso/internal/contract"
	yaml "go.yaml.in/yaml/v4"
)

// Every /api/v3 response the tests receive is validated against the
// official schema of the simulated release (when one is committed or in
// ../shared), with internal/contract (kin-openapi, strict: undeclared
// response properties are violations too).
//
// The full schema from ../../../shared/reference is preferred when present
// (it covers operations the trimmed testdata drops, such as PATCH or group
// membership); on a fresh clone the trimmed schema is used and operations
// it lacks are not checked.

var (
	validatorsMu sync.Mutex
	validators   = map[string]*contract.AuthentikValidator{}
	noValidator  = map[string]bool{}
)

func sharedSchema(version string) string {
	p := filepath.Join("..", "..", "..", "shared", "reference", "authentik", "schema-"+version+".yml")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// Known differences between the real server and its own schema are
// excused with internal/contract's documented deviations
// (contract.AuthentikNullRelations: relations rendered as null where the
// older schemas lack nullable); every other problem fails the test.

func validatorFor(t testing.TB, version string) *contract.AuthentikValidator {
	t.Helper()
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if v, ok := validators[version]; ok {
		return v
	}
	if noValidator[version] {
		return nil
	}
	known := false
	for _, v := range contract.AuthentikSchemaVersions {
		if v == version {
			known = true
		}
	}
	if !known {
		noValidator[version] = true
		return nil
	}
	file := sharedSchema(version)
	if file == "" {
		file = contract.AuthentikSchemaPath(version)
	}
	trimmed, err := trimmedSchema(file)
	if err != nil {
		t.Fatalf("schema %s: %v", file, err)
	}
	defer os.Remove(trimmed)
	v, err := contract.NewAuthentikValidator(trimmed)
	if err != nil {
		t.Fatalf("load schema %s: %v", file, err)
	}
	v.AllowDeviations(contract.AuthentikNullRelations...)
	validators[version] = v
	return v
}

// trimmedSchema writes a JSON copy of the schema that keeps only the paths
// the simulator serves and the components they reach (loading the full
// 1.7 MB schema in kin-openapi is slow); nothing else changes.
func trimmedSchema(file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	paths, _ := doc["paths"].(map[string]any)
	kept := map[string]any{}
	for _, tmpl := range operationTemplates {
		if pi, ok := paths[tmpl]; ok {
			kept[tmpl] = pi
		}
	}
	doc["paths"] = kept
	comps, _ := doc["components"].(map[string]any)
	reach := map[string]bool{}
	var walk func(any)
	walk = func(n any) {
		switch x := n.(type) {
		case map[string]any:
			for k, v := range x {
				if s, ok := v.(string); ok && (k == "$ref" || k == "mapping") {
					if !reach[s] && strings.HasPrefix(s, "#/components/") {
						reach[s] = true
						parts := strings.Split(strings.TrimPrefix(s, "#/components/"), "/")
						if len(parts) == 2 {
							if kind, ok := comps[parts[0]].(map[string]any); ok {
								walk(kind[parts[1]])
							}
						}
					}
					continue
				}
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(kept)
	walk(comps["securitySchemes"])
	for kind, v := range comps {
		m, ok := v.(map[string]any)
		if !ok || kind == "securitySchemes" {
			continue
		}
		for name := range m {
			if !reach["#/components/"+kind+"/"+name] {
				delete(m, name)
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "aksim-schema-*.json")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(out); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// validateResponse checks one API exchange; a violation fails the test.
func validateResponse(t testing.TB, version, method, path string, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if !strings.HasPrefix(path, "/api/v3/") {
		return
	}
	v := validatorFor(t, version)
	if v == nil {
		return
	}
	rel := strings.TrimPrefix(req.URL.Path, "/api/v3")
	if !hasOperationFor(v, method, rel) {
		return
	}
	var reqBody []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	switch {
	case status >= 500:
		// Server errors are not part of the API description (the simulator
		// answers 500 where authentik's code raises, e.g. a duplicate
		// generated key pair name).
		return
	case status == http.StatusNotFound && method == "GET" && req.URL.Query().Has("page") && isListPath(rel):
		// DRF's PageNumberPagination answers 404 {"detail": "Invalid page."}
		// on list operations; drf-spectacular does not declare it.
		checkDetailBody(t, body)
		return
	case status == http.StatusBadRequest && (rel == "/crypto/certificatekeypairs/generate/" || strings.HasSuffix(rel, "/preview_user/")):
		// Both declare a bare 400 "Bad request", but answer with field
		// errors: generate() returns Response(serializer.errors, status=400)
		// [authentik/crypto/api.py]; preview_user raises
		// ValidationError({"for_user": "..."}) [providers/oauth2/api/providers.py].
		checkFieldErrors(t, body)
		return
	}
	if err := v.ValidateResponse(req, reqBody, status, header, body); err != nil {
		t.Errorf("%v", err)
	}
}

func isListPath(rel string) bool {
	for _, tmpl := range operationTemplates {
		if tmpl == rel && !strings.Contains(tmpl, "{") {
			return true
		}
	}
	return false
}

func checkDetailBody(t testing.TB, body []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 {
		t.Errorf("error body %s is not {\"detail\": ...}", body)
		return
	}
	if _, ok := m["detail"].(string); !ok {
		t.Errorf("error body %s is not {\"detail\": ...}", body)
	}
}

func checkFieldErrors(t testing.TB, body []byte) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || len(m) == 0 {
		t.Errorf("error body %s is not {field: messages}", body)
		return
	}
	for k, v := range m {
		switch x := v.(type) {
		case string:
		case []any:
			for _, e := range x {
				if _, ok := e.(string); !ok {
					t.Errorf("error body %s: %s has a non-string message", body, k)
				}
			}
		default:
			t.Errorf("error body %s: %s is neither a message nor a list", body, k)
		}
	}
}

// hasOperationFor maps a concrete path to a schema path template.
func hasOperationFor(v *contract.AuthentikValidator, method, path string) bool {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, tmpl := range operationTemplates {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		ok := true
		for i := range ts {
			if strings.HasPrefix(ts[i], "{") {
				continue
			}
			if ts[i] != segs[i] {
				ok = false
				break
			}
		}
		if ok && v.HasOperation(method, tmpl) {
			return true
		}
	}
	return false
}

var operationTemplates = []string{
	"/admin/version/", "/core/users/me/", "/core/users/", "/core/users/{id}/",
	"/core/groups/", "/core/groups/{group_uuid}/", "/core/groups/{group_uuid}/add_user/", "/core/groups/{group_uuid}/remove_user/",
	"/flows/instances/", "/flows/instances/{slug}/",
	"/propertymappings/provider/scope/", "/propertymappings/provider/scope/{pm_uuid}/",
	"/crypto/certificatekeypairs/", "/crypto/certificatekeypairs/generate/", "/crypto/certificatekeypairs/{kp_uuid}/",
	"/crypto/certificatekeypairs/{kp_uuid}/view_certificate/",
	"/providers/oauth2/", "/providers/oauth2/{id}/", "/providers/oauth2/{id}/setup_urls/", "/providers/oauth2/{id}/preview_user/",
	"/core/applications/", "/core/applications/{slug}/",
	"/policies/bindings/", "/policies/bindings/{policy_binding_uuid}/",
}

// TestContractHarness proves the schema check is live: it rejects an
// invented property and a missing required one, and it excuses exactly the
// documented nulls.
func TestContractHarness(t *testing.T) {
	for _, version := range []string{"2025.8.1", "2026.8.3"} {
		v := validatorFor(t, version)
		if v == nil {
			t.Fatalf("no validator for %s", version)
		}
		ts := startSim(t, version)
		r := ts.api("POST", "/providers/oauth2/", ts.providerBody("harness", "https://h.example", ""))
		ts.mustStatus(r, 201)
		good := r.raw
		req, _ := http.NewRequest("GET", ts.s.URL()+"/api/v3/providers/oauth2/1/", nil)
		h := http.Header{"Content-Type": []string{"application/json"}}
		if err := v.ValidateResponse(req, nil, 200, h, good); err != nil {
			t.Errorf("%s: real answer (unassigned provider, null assigned_application_*) refused: %v", version, err)
		}
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		m["invented_field"] = 1
		bad, _ := json.Marshal(m)
		if err := v.ValidateResponse(req, nil, 200, h, bad); err == nil || !strings.Contains(err.Error(), "invented_field") {
			t.Errorf("%s: invented property not reported: %v", version, err)
		}
		delete(m, "invented_field")
		delete(m, "name")
		bad, _ = json.Marshal(m)
		if err := v.ValidateResponse(req, nil, 200, h, bad); err == nil {
			t.Errorf("%s: missing required name not reported", version)
		}
		m["name"] = nil
		bad, _ = json.Marshal(m)
		if err := v.ValidateResponse(req, nil, 200, h, bad); err == nil {
			t.Errorf("%s: null name not reported", version)
		}
	}
}
