// Package contract validates HTTP exchanges against the servers' official
// API descriptions. It is test tooling: the clients and simulators never
// import it outside their tests.
package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// AuthentikAPIPrefix is the server URL of authentik's schema (servers: /api/v3).
const AuthentikAPIPrefix = "/api/v3"

// AuthentikSchemaVersions are the versions with a trimmed schema in testdata.
var AuthentikSchemaVersions = []string{"2024.8.4", "2024.12.3", "2025.8.1", "2026.8.3"}

// AuthentikSchemaPath returns the path of testdata/authentik-<version>.yml,
// independent of the caller's working directory.
func AuthentikSchemaPath(version string) string {
	return testdataPath("authentik-" + version + ".yml")
}

// testdataPath returns the path of a file in this package's testdata,
// independent of the caller's working directory.
func testdataPath(name string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", name)
	}
	return filepath.Join(filepath.Dir(file), "testdata", name)
}

// AuthentikValidator checks requests to and responses from authentik against
// one version of its OpenAPI schema with kin-openapi's openapi3filter, plus
// two checks the schema cannot express on its own (see Strict).
type AuthentikValidator struct {
	doc        *openapi3.T
	router     routers.Router
	version    string
	deviations []Deviation
	// Strict (default true) additionally reports
	//   - query parameters the operation does not declare (authentik ignores
	//     unknown filters silently, so a client would get unfiltered lists);
	//   - JSON object properties the schema does not declare, in request
	//     bodies (fields of another version) and in responses (a simulator
	//     inventing fields). Free-form objects (no properties, or
	//     additionalProperties) are exempt.
	Strict bool
}

// NewAuthentikValidator loads a (trimmed or full) authentik schema file.
func NewAuthentikValidator(schemaFile string) (*AuthentikValidator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(schemaFile)
	if err != nil {
		return nil, fmt.Errorf("contract: load %s: %w", schemaFile, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("contract: schema %s is not valid OpenAPI: %w", schemaFile, err)
	}
	// Formats used by authentik's schema that kin-openapi does not check by
	// default. "uuid" matters: it catches a slug sent where a pk belongs.
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))
	// Django's EmailField allows blank values (authentik users may have no
	// e-mail; the schema still says format: email), so "" passes.
	doc.SetStringFormatValidator("email", openapi3.NewRegexpFormatValidator(`(^$|^[^@\s]+@[^@\s]+$)`))
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: router for %s: %w", schemaFile, err)
	}
	v := &AuthentikValidator{doc: doc, router: router, Strict: true}
	if doc.Info != nil {
		v.version = doc.Info.Version
	}
	return v, nil
}

// LoadAuthentikValidator loads testdata/authentik-<version>.yml.
func LoadAuthentikValidator(version string) (*AuthentikValidator, error) {
	return NewAuthentikValidator(AuthentikSchemaPath(version))
}

// Version is the schema's info.version.
func (v *AuthentikValidator) Version() string { return v.version }

// HasOperation reports whether the schema has method+path (path relative to
// /api/v3, e.g. "/providers/oauth2/{id}/").
func (v *AuthentikValidator) HasOperation(method, path string) bool {
	pi := v.doc.Paths.Value(path)
	return pi != nil && pi.GetOperation(strings.ToUpper(method)) != nil
}

func (v *AuthentikValidator) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		SkipSettingDefaults:   true,
		// authentik's only security scheme is `authentik: {type: http,
		// scheme: bearer}`; the server reads "Bearer <key>" (scheme matched
		// case-insensitively, authentik-api.md §0).
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			ss := in.SecurityScheme
			if ss == nil || ss.Type != "http" || !strings.EqualFold(ss.Scheme, "bearer") {
				return in.NewError(fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName))
			}
			h := strings.TrimSpace(in.RequestValidationInput.Request.Header.Get("Authorization"))
			scheme, cred, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(cred) == "" {
				return in.NewError(errors.New("no `Authorization: Bearer <token>` header"))
			}
			return nil
		},
		// short messages ("Error at /field: reason") instead of schema dumps
		SchemaValidationOptions: append(v.doc.GetSchemaValidationOptions(), openapi3.DisableSchemaErrorDetails()),
	}
}

// route finds the operation of req. Requests outside /api/v3 are not part
// of the schema and return errOutsideAPI.
var errOutsideAPI = errors.New("path is outside " + AuthentikAPIPrefix)

func (v *AuthentikValidator) route(req *http.Request) (*routers.Route, map[string]string, error) {
	if !strings.HasPrefix(req.URL.Path, AuthentikAPIPrefix+"/") {
		return nil, nil, errOutsideAPI
	}
	r, params, err := v.router.FindRoute(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: no such operation in authentik %s schema: %w", req.Method, req.URL.Path, v.version, err)
	}
	return r, params, nil
}

// cloneRequest returns a copy of req whose body is body, for validation
// (kin-openapi reads the body).
func cloneRequest(req *http.Request, body []byte) *http.Request {
	c := req.Clone(req.Context())
	if c.URL.Host == "" {
		c.URL.Host = req.Host
	}
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return c
}

// Problem is one schema violation of a request or a response.
type Problem struct {
	Phase string // "request" or "response"
	// Pointer is the JSON pointer of the offending value in the body
	// ("/results/0/provider_obj"), or "" for problems not about a body
	// value (status, headers, parameters).
	Pointer string
	Message string
}

func (p Problem) String() string {
	if p.Pointer != "" {
		return fmt.Sprintf("%s body at %s: %s", p.Phase, p.Pointer, p.Message)
	}
	return p.Phase + ": " + p.Message
}

// ExchangeError lists the problems of one request and/or response.
type ExchangeError struct {
	Method, Path string // Path with query
	OperationID  string
	Status       int // 0 when only the request was checked
	Version      string
	Problems     []Problem
	// Excused are problems matched by a Deviation (not in Problems).
	Excused []Problem
}

func (e *ExchangeError) Error() string {
	var b strings.Builder
	if e.Status == 0 {
		fmt.Fprintf(&b, "request %s %s (%s) violates authentik %s schema:", e.Method, e.Path, e.OperationID, e.Version)
	} else {
		fmt.Fprintf(&b, "response %d to %s %s (%s) violates authentik %s schema:", e.Status, e.Method, e.Path, e.OperationID, e.Version)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Deviation excuses one known difference between a real authentik server
// and its own schema. Validators have none unless a test adds them with
// AllowDeviations; every excused problem stays visible (ExchangeError.Excused,
// Recorder.Excused).
type Deviation struct {
	Phase   string // "request" or "response"
	Field   string // last segment of the problem's JSON pointer
	Message string // the exact problem message, e.g. "Value is not nullable"
	// Evidence says why the real server behaves so.
	Evidence string
}

func (d Deviation) matches(p Problem) bool {
	if p.Phase != d.Phase || p.Message != d.Message || p.Pointer == "" {
		return false
	}
	return p.Pointer[strings.LastIndex(p.Pointer, "/")+1:] == d.Field
}

// AuthentikNullRelations are the response fields that a real authentik
// renders as null although the schemas before 2026.2 do not mark them
// nullable. A missing relation is serialised as None by DRF
// (rest_framework.fields.get_attribute returns None on ObjectDoesNotExist;
// a nested serializer of a None attribute renders None), and authentik's
// later schemas declare exactly these fields nullable: assigned_*
// application fields from 2026.2.0, provider_obj from 2026.2.2
// (shared/reference/authentik-versions.md, "Use nullable types"), and
// policy_obj/group_obj/user_obj in the 2026.8.3 schema.
// ASSUMPTION: the runtime behaviour (null) predates the schema fix; the
// reference documents only the schema change.
var AuthentikNullRelations = func() []Deviation {
	var ds []Deviation
	for _, f := range []string{"assigned_application_slug", "assigned_application_name",
		"assigned_backchannel_application_slug", "assigned_backchannel_application_name",
		"provider_obj", "policy_obj", "group_obj", "user_obj"} {
		ds = append(ds, Deviation{Phase: "response", Field: f, Message: "Value is not nullable",
			Evidence: "DRF renders a missing relation as null; authentik's schema marks it nullable from 2026.2"})
	}
	return ds
}()

// AllowDeviations adds excused deviations (call before use).
func (v *AuthentikValidator) AllowDeviations(ds ...Deviation) {
	v.deviations = append(v.deviations, ds...)
}

// ValidateRequest checks one request (body given separately, req.Body is
// not read). It returns nil or an *ExchangeError listing every problem.
func (v *AuthentikValidator) ValidateRequest(req *http.Request, body []byte) error {
	in, ps, err := v.validateRequest(req, body)
	if err != nil {
		return err
	}
	return v.result(in.Route, req, 0, ps)
}

// result builds the error of a checked exchange (nil if nothing is left
// after deviations).
func (v *AuthentikValidator) result(route *routers.Route, req *http.Request, status int, ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	e := &ExchangeError{Method: req.Method, Path: req.URL.RequestURI(), OperationID: route.Operation.OperationID, Status: status, Version: v.version}
	for _, p := range ps {
		if slices.ContainsFunc(v.deviations, func(d Deviation) bool { return d.matches(p) }) {
			e.Excused = append(e.Excused, p)
		} else {
			e.Problems = append(e.Problems, p)
		}
	}
	if len(e.Problems) == 0 {
		return &excusedOnly{e}
	}
	return e
}

// excusedOnly carries excused problems of an otherwise valid exchange; the
// exported functions turn it into nil.
type excusedOnly struct{ e *ExchangeError }

func (x *excusedOnly) Error() string { return "only excused deviations" }

func nilIfExcused(err error) error {
	var x *excusedOnly
	if errors.As(err, &x) {
		return nil
	}
	return err
}

func (v *AuthentikValidator) validateRequest(req *http.Request, body []byte) (*openapi3filter.RequestValidationInput, []Problem, error) {
	c := cloneRequest(req, body)
	route, params, err := v.route(c)
	if err != nil {
		return nil, nil, err
	}
	in := &openapi3filter.RequestValidationInput{Request: c, PathParams: params, Route: route, Options: v.options()}
	var ps []Problem
	if err := openapi3filter.ValidateRequest(c.Context(), in); err != nil {
		ps = append(ps, flatten("request", err)...)
	}
	if len(body) > 0 && route.Operation.RequestBody == nil {
		ps = append(ps, Problem{Phase: "request", Message: "request has a body but the operation takes none"})
	}
	if v.Strict {
		for _, m := range unknownQuery(route, c.URL.Query()) {
			ps = append(ps, Problem{Phase: "request", Message: m})
		}
		if len(body) > 0 && route.Operation.RequestBody != nil && route.Operation.RequestBody.Value != nil {
			if mt := route.Operation.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				ps = append(ps, unknownProperties(mt.Schema, body, "request")...)
			}
		}
	}
	// a clean input for the response check (the body was consumed)
	in.Request = cloneRequest(req, body)
	return in, ps, nil
}

// ValidateResponse checks a response to req (reqBody is the request's body).
// The request is routed but not validated again.
func (v *AuthentikValidator) ValidateResponse(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	c := cloneRequest(req, reqBody)
	route, params, err := v.route(c)
	if err != nil {
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: c, PathParams: params, Route: route, Options: v.options()}
	return nilIfExcused(v.result(route, req, status, v.validateResponse(in, status, header, body)))
}

// undeclared404 reports whether a 404 is accepted although the schema does
// not list it. ASSUMPTION (authentik-api.md §0: "A missing object gets 404
// {"detail": ...}"): drf-spectacular does not document DRF's 404 of
// get_object(), so every operation on a single object (a path with a
// parameter) may answer 404 with a GenericError body; list and create
// operations may not.
func undeclared404(route *routers.Route, status int) bool {
	return status == http.StatusNotFound && strings.Contains(route.Path, "{")
}

func (v *AuthentikValidator) validateResponse(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) []Problem {
	route := in.Route
	one := func(msg string) []Problem { return []Problem{{Phase: "response", Message: msg}} }
	if status >= 300 && status < 400 {
		return one(fmt.Sprintf("status %d: redirects are not part of the API", status))
	}
	declared := route.Operation.Responses.Status(status)
	if declared == nil && undeclared404(route, status) {
		return v.checkGenericError(status, header, body)
	}
	if declared != nil && declared.Value != nil && len(declared.Value.Content) == 0 {
		// A status the schema lists without a body description: 204 must
		// be empty (HTTP); an error status may carry DRF's {"detail": ...}
		// (e.g. setup_urls' 404 raised as Http404), which must then be a
		// GenericError.
		if len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		if status == http.StatusNoContent || status < 400 {
			return one(fmt.Sprintf("status %d: the schema declares no body for this status but one was sent", status))
		}
		return v.checkGenericError(status, header, body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: v.options()}
	out.SetBodyBytes(body)
	var ps []Problem
	if err := openapi3filter.ValidateResponse(in.Request.Context(), out); err != nil {
		ps = append(ps, flatten("response", err)...)
	}
	if rr := declared; rr != nil && rr.Value != nil && v.Strict && len(body) > 0 {
		if mt := rr.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			ps = append(ps, unknownProperties(mt.Schema, body, "response")...)
		}
	}
	return ps
}

// checkGenericError checks an error body that the schema does not describe
// against GenericError ({"detail": string, "code"?: string}).
func (v *AuthentikValidator) checkGenericError(status int, header http.Header, body []byte) []Problem {
	one := func(msg string) []Problem { return []Problem{{Phase: "response", Message: msg}} }
	gen := v.doc.Components.Schemas["GenericError"]
	if gen == nil {
		return one(fmt.Sprintf("status %d has no body schema and the schema has no GenericError to check it against", status))
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return one(fmt.Sprintf("status %d: body has content type %q, want application/json", status, ct))
	}
	var val any
	if err := jsonUnmarshal(body, &val); err != nil {
		return one(fmt.Sprintf("status %d: body is not JSON: %v", status, err))
	}
	var ps []Problem
	if err := gen.Value.VisitJSON(val, append(v.doc.GetSchemaValidationOptions(), openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails())...); err != nil {
		for _, p := range flatten("response", err) {
			p.Message = fmt.Sprintf("status %d body is not a GenericError: %s", status, p.Message)
			ps = append(ps, p)
		}
	}
	if v.Strict {
		ps = append(ps, unknownProperties(gen, body, "response")...)
	}
	return ps
}

// flatten turns kin-openapi's error tree into problems: one per failing
// value (schema errors carry full JSON pointers at their leaves), or the
// error's own message when it is not about a body value.
func flatten(phase string, err error) []Problem {
	var out []Problem
	var walk func(error, string)
	walk = func(err error, ctx string) {
		switch e := err.(type) {
		case nil:
			return
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, ctx)
			}
			return
		case *openapi3filter.RequestError:
			c := "request body"
			if e.Parameter != nil {
				c = fmt.Sprintf("%s parameter %q", e.Parameter.In, e.Parameter.Name)
			} else if e.RequestBody == nil {
				c = "request"
			}
			if e.Err == nil || !hasSchemaError(e.Err) {
				out = append(out, Problem{Phase: phase, Message: e.Error()})
				return
			}
			walk(e.Err, c)
			return
		case *openapi3filter.ResponseError:
			if e.Err == nil || !hasSchemaError(e.Err) {
				out = append(out, Problem{Phase: phase, Message: e.Error()})
				return
			}
			walk(e.Err, "response body")
			return
		case *openapi3.SchemaError:
			if e.Origin != nil && hasSchemaError(e.Origin) {
				walk(e.Origin, ctx)
				return
			}
			msg := e.Reason
			if msg == "" {
				msg = fmt.Sprintf("doesn't match schema %q", e.SchemaField)
			}
			ptr := "/" + strings.Join(e.JSONPointer(), "/")
			if ctx != "request body" && ctx != "response body" {
				// a parameter value: no body pointer
				out = append(out, Problem{Phase: phase, Message: ctx + ": " + msg})
				return
			}
			out = append(out, Problem{Phase: phase, Pointer: ptr, Message: msg})
			return
		}
		if m, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range m.Unwrap() {
				walk(x, ctx)
			}
			return
		}
		if u := errors.Unwrap(err); u != nil && hasSchemaError(u) {
			walk(u, ctx)
			return
		}
		out = append(out, Problem{Phase: phase, Message: err.Error()})
	}
	walk(err, "")
	return out
}

func hasSchemaError(err error) bool {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return true
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		for _, x := range me {
			if hasSchemaError(x) {
				return true
			}
		}
	}
	return false
}

// ValidateExchange validates a recorded request and its response. It
// returns nil, an *ExchangeError for the request and/or one for the
// response (joined), or an error for which IsOutsideAPI is true.
func (v *AuthentikValidator) ValidateExchange(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	reqErr, respErr, err := v.validateExchange(req, reqBody, status, header, respBody)
	if err != nil {
		return err
	}
	return errors.Join(nilIfExcused(reqErr), nilIfExcused(respErr))
}

func (v *AuthentikValidator) validateExchange(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) (reqErr, respErr, err error) {
	in, ps, err := v.validateRequest(req, reqBody)
	if err != nil {
		return nil, nil, err
	}
	reqErr = v.result(in.Route, req, 0, ps)
	respErr = v.result(in.Route, req, status, v.validateResponse(in, status, header, respBody))
	return reqErr, respErr, nil
}

// IsOutsideAPI reports whether err says the request was not an /api/v3 call
// (for example the OIDC discovery document), which the schema does not cover.
func IsOutsideAPI(err error) bool { return errors.Is(err, errOutsideAPI) }

// Violation is one request or response that broke the schema.
type Violation struct {
	Method, Path string
	Err          string
	Problems     []Problem
}

func (x Violation) String() string { return x.Err }

// Recorder collects what a validating transport or middleware saw.
type Recorder struct {
	v  *AuthentikValidator
	mu sync.Mutex
	// Violations found so far.
	violations []Violation
	// operations counts validated exchanges by operationId.
	operations map[string]int
	// outside lists requests outside /api/v3 (not validated).
	outside []string
	// excused are problems matched by the validator's deviations.
	excused []Problem
}

func (r *Recorder) record(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	reqErr, respErr, err := r.v.validateExchange(req, reqBody, status, header, respBody)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if errors.Is(err, errOutsideAPI) {
			r.outside = append(r.outside, req.Method+" "+req.URL.Path)
			return
		}
		r.violations = append(r.violations, Violation{Method: req.Method, Path: req.URL.Path, Err: err.Error()})
		return
	}
	if route, _, rerr := r.v.route(cloneRequest(req, nil)); rerr == nil {
		r.operations[route.Operation.OperationID]++
	}
	for _, e := range []error{reqErr, respErr} {
		var x *excusedOnly
		var ee *ExchangeError
		switch {
		case e == nil:
		case errors.As(e, &x):
			r.excused = append(r.excused, x.e.Excused...)
		case errors.As(e, &ee):
			r.excused = append(r.excused, ee.Excused...)
			r.violations = append(r.violations, Violation{Method: req.Method, Path: req.URL.Path, Err: ee.Error(), Problems: ee.Problems})
		}
	}
}

// Excused returns the problems excused by the validator's deviations.
func (r *Recorder) Excused() []Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Problem(nil), r.excused...)
}

// Violations returns the violations recorded so far.
func (r *Recorder) Violations() []Violation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Violation(nil), r.violations...)
}

// Operations returns how many exchanges of each operationId were validated.
func (r *Recorder) Operations() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.operations)
}

// Outside returns the requests that were outside /api/v3 (not validated).
func (r *Recorder) Outside() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.outside...)
}

// Check fails tb with every violation recorded.
func (r *Recorder) Check(tb testing.TB) {
	tb.Helper()
	for _, x := range r.Violations() {
		tb.Errorf("contract violation: %s", x.Err)
	}
}

// Transport wraps next (nil = http.DefaultTransport) so that every exchange
// is validated. The exchange itself is never altered or refused: problems
// are collected in the returned Transport's Recorder.
func (v *AuthentikValidator) Transport(next http.RoundTripper) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &Transport{Recorder: &Recorder{v: v, operations: map[string]int{}}, next: next}
}

// Transport is a validating http.RoundTripper.
type Transport struct {
	*Recorder
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
	}
	// forward an identical request (RoundTrippers must not modify req)
	fwd := req.Clone(req.Context())
	if len(reqBody) > 0 {
		fwd.Body = io.NopCloser(bytes.NewReader(reqBody))
		fwd.ContentLength = int64(len(reqBody))
		fwd.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	} else if req.Body != nil {
		fwd.Body = http.NoBody
		fwd.ContentLength = 0
		fwd.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	resp, err := t.next.RoundTrip(fwd)
	if err != nil {
		return nil, err
	}
	respBody, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if rerr != nil {
		return resp, nil // let the client see the truncated body; nothing to validate
	}
	t.record(req, reqBody, resp.StatusCode, resp.Header, respBody)
	return resp, nil
}

// Middleware wraps a server-side handler (a simulator) so that every
// exchange it serves is validated; results land in the returned Recorder.
func (v *AuthentikValidator) Middleware(next http.Handler) (http.Handler, *Recorder) {
	rec := &Recorder{v: v, operations: map[string]int{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body.Close()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rw := httptest.NewRecorder()
		next.ServeHTTP(rw, r)
		for k, vals := range rw.Header() {
			w.Header()[k] = vals
		}
		w.WriteHeader(rw.Code)
		_, _ = w.Write(rw.Body.Bytes())
		vr := cloneRequest(r, body)
		rec.record(vr, body, rw.Code, rw.Header(), rw.Body.Bytes())
	}), rec
}

// unknownQuery lists query parameters the operation does not declare.
func unknownQuery(route *routers.Route, q url.Values) []string {
	declared := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var out []string
	keys := slices.Sorted(maps.Keys(q))
	for _, k := range keys {
		if !declared[k] {
			out = append(out, fmt.Sprintf("query parameter %q is not declared by the operation", k))
		}
	}
	return out
}

var indexRE = regexp.MustCompile(`/\d+(/|$)`)

// unknownProperties walks a JSON document along its schema and lists object
// properties the schema does not declare (one problem per property name and
// array position pattern).
func unknownProperties(ref *openapi3.SchemaRef, body []byte, phase string) []Problem {
	var val any
	if err := jsonUnmarshal(body, &val); err != nil {
		return nil // the schema validation reports undecodable bodies
	}
	var out []Problem
	seen := map[string]bool{}
	walkUnknown(ref, val, "", func(path string) {
		key := indexRE.ReplaceAllString(path, "/*")
		if !seen[key] {
			seen[key] = true
			out = append(out, Problem{Phase: phase, Pointer: path, Message: "property is not declared by the schema"})
		}
	}, 0)
	return out
}

func walkUnknown(ref *openapi3.SchemaRef, val any, path string, report func(string), depth int) {
	if ref == nil || ref.Value == nil || depth > 32 {
		return
	}
	s := ref.Value
	// oneOf/anyOf: the branch is not known without more machinery; the
	// schema validation has already checked it.
	if len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
		return
	}
	switch t := val.(type) {
	case map[string]any:
		props := map[string]*openapi3.SchemaRef{}
		free := false
		var collect func(*openapi3.SchemaRef, int)
		collect = func(r *openapi3.SchemaRef, d int) {
			if r == nil || r.Value == nil || d > 32 {
				return
			}
			x := r.Value
			if len(x.OneOf) > 0 || len(x.AnyOf) > 0 {
				free = true
			}
			if x.AdditionalProperties.Has != nil && *x.AdditionalProperties.Has || x.AdditionalProperties.Schema != nil {
				free = true
			}
			for k, p := range x.Properties {
				props[k] = p
			}
			for _, a := range x.AllOf {
				collect(a, d+1)
			}
		}
		collect(ref, depth)
		if len(props) == 0 {
			free = true
		}
		keys := slices.Sorted(maps.Keys(t))
		for _, k := range keys {
			p, ok := props[k]
			if !ok {
				if !free {
					report(path + "/" + k)
				}
				continue
			}
			walkUnknown(p, t[k], path+"/"+k, report, depth+1)
		}
	case []any:
		items := s.Items
		if items == nil && len(s.AllOf) == 1 {
			items = s.AllOf[0].Value.Items
		}
		for i, it := range t {
			walkUnknown(items, it, fmt.Sprintf("%s/%d", path, i), report, depth+1)
		}
	}
}
