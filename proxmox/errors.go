package proxmox

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrUnauthenticated: HTTP 401 (bad/expired ticket or token, wrong
	// password — PVE answers every login failure with 401
	// "authentication failure").
	ErrUnauthenticated = errors.New("proxmox: not authenticated")
	// ErrForbidden: HTTP 403, e.g. "Permission check failed (/access/realm, Realm.Allocate)".
	ErrForbidden = errors.New("proxmox: permission denied")
	// ErrNotFound: HTTP 404, or a handler failure (HTTP 500) saying that an
	// object "does not exist" / "no such user|group".
	ErrNotFound = errors.New("proxmox: not found")
	// ErrAlreadyExists: a create failed (HTTP 500) because the object "already exists".
	ErrAlreadyExists = errors.New("proxmox: already exists")
	// ErrTFARequired: the password login needs a second factor that was not
	// given (or that pvesso cannot provide). See *TFARequiredError.
	ErrTFARequired = errors.New("proxmox: second factor required")
	// ErrUnsupported: an option the detected server version does not have.
	// See *UnsupportedError.
	ErrUnsupported = errors.New("proxmox: not supported by this server version")
	// ErrInvalidArgument: the call was refused before sending because an
	// argument cannot be valid for the PVE API.
	ErrInvalidArgument = errors.New("proxmox: invalid argument")
)

// APIError is a non-2xx answer of the PVE API. It never contains request
// bodies; secrets the client knows (password, token secret, ticket, client
// key, OTP, OpenID code) are masked if the server echoes them.
type APIError struct {
	StatusCode int
	Method     string
	Path       string // API path without /api2/json, e.g. /access/domains/authentik
	// Reason is the status line's reason phrase: PVE puts the error message
	// there (first line only).
	Reason string
	// Message is the JSON body's "message" (libpve-http-server >= 5.2.0,
	// i.e. PVE 8.4/9.x), without the trailing newline; "" on older servers.
	Message string
	// Errors is the per-parameter map of a 400 "Parameter verification failed."
	Errors map[string]string
}

func (e *APIError) Error() string {
	msg := e.Text()
	if msg == "" {
		msg = "(no message)"
	}
	s := fmt.Sprintf("proxmox: %s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
	if len(e.Errors) > 0 {
		keys := sortedKeys(e.Errors)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + e.Errors[k]
		}
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// Text is the server's message: the body's "message" if present, else the
// reason phrase.
func (e *APIError) Text() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Reason
}

// Is matches the sentinels.
func (e *APIError) Is(target error) bool {
	text := strings.ToLower(e.Reason + "\n" + e.Message)
	switch target {
	case ErrUnauthenticated:
		return e.StatusCode == 401
	case ErrForbidden:
		return e.StatusCode == 403
	case ErrNotFound:
		if e.StatusCode == 404 {
			return true
		}
		// Evidence (proxmox-api.md): "domain 'x' does not exist",
		// "group 'x' does not exist", "no such user ('x@r')",
		// "create user failed: no such group 'admin'" — all HTTP 500.
		return e.StatusCode == 500 && (strings.Contains(text, "does not exist") ||
			strings.Contains(text, "no such user") || strings.Contains(text, "no such group"))
	case ErrAlreadyExists:
		return e.StatusCode == 500 && strings.Contains(text, "already exists")
	}
	return false
}

// TFARequiredError reports that the password was accepted but a second factor
// is needed. Methods lists what the server's challenge offers ("totp",
// "recovery", "webauthn", "u2f", "yubico"); pvesso can answer totp and
// recovery.
type TFARequiredError struct {
	Username string
	Methods  []string
	// Reason says why the login cannot go on, e.g. "no one-time password given".
	Reason string
}

func (e *TFARequiredError) Error() string {
	m := "unknown"
	if len(e.Methods) > 0 {
		m = strings.Join(e.Methods, ", ")
	}
	return fmt.Sprintf("proxmox: login of %s needs a second factor (server offers: %s): %s", e.Username, m, e.Reason)
}

// Unwrap makes errors.Is(err, ErrTFARequired) work.
func (e *TFARequiredError) Unwrap() error { return ErrTFARequired }

// UnsupportedError reports an option the server version does not know.
type UnsupportedError struct {
	Option  string // API parameter name, e.g. "groups-claim"
	Need    string // first release having it, e.g. "8.4"
	Release string // the server's release
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("proxmox: option %s needs Proxmox VE %s or later (server is %s)", e.Option, e.Need, e.Release)
}

// Unwrap makes errors.Is(err, ErrUnsupported) work.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, a...)...)
}

// redact replaces every occurrence of the given secrets in s. Secrets shorter
// than 4 characters are ignored (masking them would shred ordinary words; PVE
// passwords are at least 5 characters, tokens are UUIDs).
// Escaped spellings (query/path escaping, as in cookies and URLs) are masked
// too.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			if strings.Contains(s, form) {
				s = strings.ReplaceAll(s, form, "[REDACTED]")
			}
		}
	}
	return s
}
