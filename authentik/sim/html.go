package sim

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The browser-facing pages. authentik renders its flows with a JavaScript
// app (/if/flow/<slug>/) driven by the flow executor API; the simulator
// replaces that with plain HTML forms that a test or a person can submit:
// an identification+password form for authentication flows and a consent
// form for the explicit-consent authorization flow.

type pageError struct {
	status         int
	title, message string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Title}} - authentik</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="message">{{.Message}}</p>{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Login}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="next" value="{{.Next}}">
<label>Email or Username <input name="uid_field" autocomplete="username" value="{{.UID}}" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button>
</form>
{{end}}
{{if .Consent}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="query" value="{{.Query}}">
<p>{{.App}} would like to access:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<button type="submit" name="consent" value="yes">Continue</button>
</form>
{{end}}
{{if .AutoSubmit}}
<form method="post" action="{{.Action}}" id="autosubmit">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<button type="submit">Continue</button>
</form>
<script>document.getElementById("autosubmit").submit();</script>
{{end}}
</main></body></html>
`))

type pageData struct {
	Title, Message, Error string
	Login                 bool
	Action, Next, UID     string
	Consent               bool
	Query, App            string
	Scopes                []string
	AutoSubmit            bool
	Fields                map[string]string
}

func renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// htmlPage mirrors authentik's bad_request_message / error pages: a title
// and a message.
func htmlPage(w http.ResponseWriter, status int, title, msg string) {
	renderPage(w, status, pageData{Title: title, Message: msg})
}

// notFoundPage is Django's 404 page.
func notFoundPage(w http.ResponseWriter) {
	htmlPage(w, http.StatusNotFound, "Not Found", "The requested resource was not found on this server.")
}

// serverErrorPage is Django's 500 page.
func serverErrorPage(w http.ResponseWriter) {
	htmlPage(w, http.StatusInternalServerError, "Server Error (500)", "")
}

// autoSubmit renders the form_post response mode.
func autoSubmit(w http.ResponseWriter, action string, v url.Values) {
	fields := map[string]string{}
	for k := range v {
		fields[k] = v.Get(k)
	}
	renderPage(w, http.StatusOK, pageData{Title: "Redirecting", AutoSubmit: true, Action: action, Fields: fields})
}

// safeNext keeps a post-login redirect on this server (a relative path).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) serveFlowUI(w http.ResponseWriter, r *http.Request) {
	slug := strings.Trim(strings.TrimPrefix(r.URL.Path, "/if/flow/"), "/")
	if strings.Contains(slug, "/") || slug == "" {
		notFoundPage(w)
		return
	}
	if err := r.ParseForm(); err != nil {
		htmlPage(w, http.StatusBadRequest, "Bad Request", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.flowBySlug(slug)
	if f == nil {
		notFoundPage(w)
		return
	}
	switch f.designation {
	case "authentication":
		s.loginFlow(w, r, f)
	case "authorization":
		s.authorizationFlow(w, r, f)
	default:
		// ASSUMPTION: other flows (enrollment, recovery, settings, ...) are
		// not simulated; their page only shows the flow title.
		htmlPage(w, http.StatusOK, f.title, "This flow is not simulated.")
	}
}

// loginFlow is the default authentication flow: identification (username
// or email) and password in one form; on success a session cookie and a
// redirect to next.
func (s *Server) loginFlow(w http.ResponseWriter, r *http.Request, f *flow) {
	action := "/if/flow/" + f.slug + "/"
	next := r.Form.Get("next")
	if r.Method != http.MethodPost {
		renderPage(w, http.StatusOK, pageData{Title: f.title, Login: true, Action: action, Next: next})
		return
	}
	uid := strings.TrimSpace(r.PostForm.Get("uid_field"))
	var u *user
	for _, cand := range s.st.users {
		if cand.username == uid || (cand.email != "" && strings.EqualFold(cand.email, uid)) {
			u = cand
			break
		}
	}
	if u == nil || !u.isActive {
		// ASSUMPTION: the identification stage's error text.
		renderPage(w, http.StatusOK, pageData{Title: f.title, Login: true, Action: action, Next: next, UID: uid, Error: "Failed to authenticate."})
		return
	}
	if r.PostForm.Get("password") != u.password {
		// The password stage answers "Invalid password" [authentik-api.md §8].
		renderPage(w, http.StatusOK, pageData{Title: f.title, Login: true, Action: action, Next: next, UID: uid, Error: "Invalid password"})
		return
	}
	s.newSession(w, u)
	w.Header().Set("Location", safeNext(next))
	w.WriteHeader(http.StatusFound)
}

// authorizationFlow finishes an authorization started at /authorize: the
// consent screen of the explicit-consent flow, or (before 2024.12, when
// authorize always went through the flow) the immediate redirect.
func (s *Server) authorizationFlow(w http.ResponseWriter, r *http.Request, f *flow) {
	rawQuery := r.URL.RawQuery
	if r.Method == http.MethodPost {
		rawQuery = r.PostForm.Get("query")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil || len(q) == 0 {
		htmlPage(w, http.StatusBadRequest, "Bad Request", "Missing authorization parameters.")
		return
	}
	ap := s.authorizeRequest(w, r, q)
	if ap == nil {
		return
	}
	sess, u := s.sessionOf(r)
	if u == nil {
		next := "/if/flow/" + f.slug + "/?" + rawQuery
		http.Redirect(w, r, "/if/flow/"+FlowAuthentication+"/?next="+url.QueryEscape(next), http.StatusFound)
		return
	}
	if !s.userMayAccess(ap.app, u) {
		htmlPage(w, http.StatusForbidden, "Permission denied", "You don't have access to this application.")
		return
	}
	if s.needsConsent(f, ap, sess) {
		if r.Method == http.MethodPost && r.PostForm.Get("consent") == "yes" {
			if f.consent {
				// The explicit-consent flow remembers consent; the
				// in-memory ALWAYS_REQUIRE stage of prompt=consent does not.
				sess.consents[ap.app.slug] = true
			}
		} else {
			var scopes []string
			for _, m := range s.st.scopesOf(ap.provider) {
				if slices.Contains(ap.scopes, m.scopeName) && m.description != "" {
					scopes = append(scopes, m.description)
				}
			}
			renderPage(w, http.StatusOK, pageData{Title: strings.ReplaceAll(f.title, "%(app)s", ap.app.name),
				Consent: true, Action: "/if/flow/" + f.slug + "/", Query: rawQuery, App: ap.app.name, Scopes: scopes})
			return
		}
	}
	s.finishAuthorize(w, r, ap, u, sess, true)
}
