package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiError is a failed API call the way pve-http-server renders it: an HTTP
// status, a message whose first line becomes the status line's reason
// phrase, and for parameter errors an "errors" map.
//
// exc distinguishes a PVE::Exception (raise, raise_param_exc,
// raise_perm_exc: carries a code) from a plain Perl die (HTTP 500).
type apiError struct {
	status int
	msg    string
	errors map[string]string
	exc    bool
	// bare: an authentication failure answered before any formatter runs
	// (pve-http-server's auth_handler path): status line only, empty body.
	bare bool
}

func (e *apiError) Error() string { return e.msg }

// die is a plain Perl die: HTTP 500, message as reason.
func die(format string, a ...any) *apiError {
	return &apiError{status: http.StatusInternalServerError, msg: fmt.Sprintf(format, a...) + "\n"}
}

// raise is PVE::Exception::raise with a code.
func raise(code int, format string, a ...any) *apiError {
	return &apiError{status: code, msg: fmt.Sprintf(format, a...) + "\n", exc: true}
}

// paramExc is raise_param_exc.
func paramExc(errs map[string]string) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: "Parameter verification failed.\n", errors: errs, exc: true}
}

// permExc is raise_perm_exc: "Permission check failed (<what>)".
func permExc(what string) *apiError {
	msg := "Permission check failed"
	if what != "" {
		msg += " (" + what + ")"
	}
	return &apiError{status: http.StatusForbidden, msg: msg + "\n", exc: true}
}

// stringify is PVE::Exception::stringify (used when an exception is
// interpolated into a string, e.g. by lock_user_config's "$errmsg: $err").
func (e *apiError) stringify() string {
	if !e.exc {
		return e.msg
	}
	msg := fmt.Sprintf("%d %s", e.status, e.msg)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	keys := make([]string, 0, len(e.errors))
	for k := range e.errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg += k + ": " + e.errors[k] + "\n"
	}
	return msg
}

// wrap is `die "$errmsg: $err"` of lock_user_config / lock_domain_config:
// the result is a plain die (HTTP 500).
func wrap(prefix string, e *apiError) *apiError {
	if e == nil {
		return nil
	}
	return &apiError{status: http.StatusInternalServerError, msg: prefix + ": " + e.stringify()}
}

// reasonPhrase is what pve-http-server puts on the status line: the first
// line of the message (AnyEvent.pm, `response`).
func reasonPhrase(status int, msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	if line == "" {
		line = http.StatusText(status)
	}
	return line
}

func (s *Server) commonHeaders(h http.Header) {
	date := s.now().UTC().Format(http.TimeFormat)
	h.Set("Date", date)
	h.Set("Expires", date)
	h.Set("Cache-Control", "max-age=0")
	h.Set("Pragma", "no-cache")
	h.Set("Server", "pve-api-daemon/3.0")
}

// writeData answers 200 with {"data": data}.
func (s *Server) writeData(w http.ResponseWriter, data any) {
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		s.writeError(w, nil, die("unable to encode result: %v", err))
		return
	}
	s.commonHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeError renders e like pve-http-server: the message's first line is
// the reason phrase of the status line; the JSON body is {"data":null}
// plus "errors" (parameter errors) plus, from libpve-http-server-perl 5.2.0
// (PVE 8.4 on), "message" (Formatter/Standard.pm, prepare_response_data).
// Errors from the authentication stage carry no body at all.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	h := http.Header{}
	s.commonHeaders(h)
	var body []byte
	if !e.bare {
		out := map[string]any{"data": nil}
		if len(e.errors) > 0 {
			out["errors"] = e.errors
		}
		if s.features.messageField {
			out["message"] = e.msg
		}
		body, _ = json.Marshal(out)
		h.Set("Content-Type", "application/json;charset=UTF-8")
	}
	status := e.status
	reason := reasonPhrase(status, e.msg)
	if strings.ContainsRune(reason, '\r') {
		// pveproxy answers a bare "400 Bad Request" when the first line of
		// the message contains a CR (proxmox-api.md §1).
		status, reason, body = http.StatusBadRequest, "Bad Request", nil
		h.Del("Content-Type")
	}
	if e.status == http.StatusUnauthorized && s.opts.AuthFailureDelay > 0 && r != nil {
		t := time.NewTimer(s.opts.AuthFailureDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	writeStatusLine(w, r, status, reason, h, body)
}

// writeStatusLine sends a response whose status line carries a custom
// reason phrase.
//
// net/http always writes the canonical reason (http.StatusText) and offers
// no way to change it, so for HTTP/1.x the connection is hijacked (this
// works over TLS too: the hijacked net.Conn is the *tls.Conn, and simkit
// offers only "http/1.1" in ALPN) and the response is written raw:
// "HTTP/1.1 403 Permission check failed (/access/realm, Realm.Allocate)".
// Like pveproxy for codes >= 400 (AnyEvent.pm: keep_alive = 0), the
// connection is then closed. Where hijacking is impossible (HTTP/2, an
// httptest.ResponseRecorder) the canonical reason is used instead; the
// message is still in the body's "message" field on 8.4+.
func writeStatusLine(w http.ResponseWriter, r *http.Request, status int, reason string, h http.Header, body []byte) {
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	if r != nil && r.ProtoMajor == 1 {
		recordStatus(w, status)
		conn, bufrw, err := http.NewResponseController(w).Hijack()
		if err == nil {
			proto := "HTTP/1.1"
			if r.ProtoMinor == 0 {
				proto = "HTTP/1.0"
			}
			var buf bytes.Buffer
			fmt.Fprintf(&buf, "%s %03d %s\r\n", proto, status, reason)
			_ = h.Write(&buf)
			buf.WriteString("\r\n")
			buf.Write(body)
			// Send only once the handler chain has returned (net/http cancels
			// the request context right after ServeHTTP, hijacked or not), so
			// that wrapping middleware such as simkit's request log has
			// recorded the request before the client sees the answer.
			ctx := r.Context()
			go func() {
				t := time.NewTimer(5 * time.Second)
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_, _ = bufrw.Write(buf.Bytes())
				_ = bufrw.Flush()
				_ = conn.Close()
			}()
			return
		}
	}
	for k, v := range h {
		if k == "Connection" {
			continue
		}
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// recordStatus lets a wrapping request logger learn the status of a
// response that is written on a hijacked connection, if it offers a
// RecordStatus(int) method somewhere in its Unwrap chain.
func recordStatus(w http.ResponseWriter, status int) {
	for w != nil {
		if rs, ok := w.(interface{ RecordStatus(int) }); ok {
			rs.RecordStatus(status)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
