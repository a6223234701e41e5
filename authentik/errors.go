package authentik

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrUnauthenticated: the token is missing, unknown, expired or revoked.
	// authentik answers this with 403 and a "detail" (not 401), see
	// shared/reference/authentik-api.md §0; a 401 is mapped here too.
	ErrUnauthenticated = errors.New("authentik: not authenticated (token invalid or expired)")
	// ErrForbidden: the token is valid but lacks the permission.
	ErrForbidden = errors.New("authentik: permission denied")
	// ErrNotFound: the object (or endpoint) does not exist.
	ErrNotFound = errors.New("authentik: not found")
	// ErrUnexpectedResponse: the server answered with something that is not
	// the documented shape (not JSON, missing fields, a redirect, ...).
	ErrUnexpectedResponse = errors.New("authentik: unexpected response")
	// ErrInvalidRequest: the client refused to send a request that the
	// detected server version would reject or misread.
	ErrInvalidRequest = errors.New("authentik: invalid request")
)

// APIError is an HTTP error answer of the authentik API.
type APIError struct {
	StatusCode int
	Method     string
	// Path is the request path (no host, no query).
	Path string
	// Detail is GenericError.detail, or the joined non_field_errors, or a
	// short excerpt of a non-JSON body.
	Detail string
	// Code is the optional DRF error code ("authentication_failed", ...).
	Code string
	// Fields holds DRF validation messages by field. Nested errors are
	// flattened: "redirect_uris[0].matching_mode". Messages without a field
	// are under "non_field_errors".
	Fields map[string][]string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "authentik: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		if k == "non_field_errors" && e.Detail != "" {
			continue // already in Detail
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 && e.Detail == "" {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, strings.Join(e.Fields[k], " "))
	}
	return b.String()
}

// mask rewrites the server-provided texts (Detail and field messages)
// through redact.
func (e *APIError) mask(redact func(string) string) {
	e.Detail = redact(e.Detail)
	for _, msgs := range e.Fields {
		for i := range msgs {
			msgs[i] = redact(msgs[i])
		}
	}
}

// Is maps status codes and DRF codes to the sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthenticated:
		return e.unauthenticated()
	case ErrForbidden:
		return e.StatusCode == 403 && !e.unauthenticated()
	case ErrNotFound:
		return e.StatusCode == 404
	}
	return false
}

// Field returns the messages for one field ("" if none).
func (e *APIError) Field(name string) string { return strings.Join(e.Fields[name], " ") }

// authFailureDetails are DRF's messages for failed or missing authentication
// (rest_framework/exceptions.py AuthenticationFailed / NotAuthenticated) and
// authentik's TokenAuthentication message (authentik-api.md §0).
// ASSUMPTION: authentik-api.md marks the 403-instead-of-401 behaviour and the
// wording as unverified on a live server; the "code" key, when present, is
// trusted first, then these messages.
var authFailureDetails = []string{
	"token invalid/expired",
	"authentication credentials were not provided",
	"incorrect authentication credentials",
	"invalid token",
}

func (e *APIError) unauthenticated() bool {
	if e.StatusCode == 401 {
		return true
	}
	if e.StatusCode != 403 {
		return false
	}
	switch e.Code {
	case "authentication_failed", "not_authenticated":
		return true
	case "permission_denied":
		return false
	}
	d := strings.ToLower(e.Detail)
	for _, m := range authFailureDetails {
		if strings.Contains(d, m) {
			return true
		}
	}
	return false
}

// parseErrorBody fills Detail/Code/Fields from a DRF error body. It accepts
// GenericError {"detail": "...", "code": "..."} and ValidationError
// {"field": ["msg"], "non_field_errors": ["msg"]}, with nesting.
func (e *APIError) parseErrorBody(body []byte, contentType string) {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		e.Detail = excerpt(trimmed)
		if !strings.Contains(contentType, "json") {
			e.Detail = "non-JSON answer (" + strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]) + "): " + e.Detail
		}
		return
	}
	switch t := v.(type) {
	case map[string]any:
		if d, ok := t["detail"].(string); ok {
			e.Detail = d
		}
		if c, ok := t["code"].(string); ok {
			e.Code = c
		}
		for k, val := range t {
			if k == "detail" || k == "code" {
				if _, isStr := val.(string); isStr {
					continue
				}
			}
			flattenErrors(e, k, val)
		}
		if e.Detail == "" && len(e.Fields["non_field_errors"]) > 0 {
			e.Detail = strings.Join(e.Fields["non_field_errors"], " ")
		}
	case []any:
		// DRF raises ValidationError(["msg"]) at top level as a plain list.
		flattenErrors(e, "non_field_errors", t)
		e.Detail = strings.Join(e.Fields["non_field_errors"], " ")
	case string:
		e.Detail = excerpt(t)
	default:
		e.Detail = excerpt(trimmed)
	}
}

func flattenErrors(e *APIError, key string, v any) {
	add := func(msg string) {
		if e.Fields == nil {
			e.Fields = map[string][]string{}
		}
		e.Fields[key] = append(e.Fields[key], msg)
	}
	switch t := v.(type) {
	case string:
		add(t)
	case []any:
		for i, item := range t {
			switch it := item.(type) {
			case string:
				add(it)
			case map[string]any:
				for k, sub := range it {
					flattenErrors(e, fmt.Sprintf("%s[%d].%s", key, i, k), sub)
				}
			case []any:
				flattenErrors(e, fmt.Sprintf("%s[%d]", key, i), it)
			default:
				add(fmt.Sprint(it))
			}
		}
	case map[string]any:
		for k, sub := range t {
			// DRF ListField errors are keyed by index: {"0": ["msg"]}.
			if n, err := strconv.Atoi(k); err == nil && n >= 0 {
				flattenErrors(e, key+"["+k+"]", sub)
			} else {
				flattenErrors(e, key+"."+k, sub)
			}
		}
	case nil:
	default:
		add(fmt.Sprint(t))
	}
}

func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// ResponseError reports an answer whose shape the client does not accept
// (wrong content type, missing or mistyped fields, broken pagination).
// errors.Is(err, ErrUnexpectedResponse) is true.
type ResponseError struct {
	Method, Path string
	StatusCode   int
	Reason       string
	Err          error
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("authentik: %s %s: HTTP %d: unexpected response: %s", e.Method, e.Path, e.StatusCode, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ResponseError) Is(target error) bool { return target == ErrUnexpectedResponse }

func (e *ResponseError) Unwrap() error { return e.Err }
