package sim

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// A minimal stand-in for the PVE web GUI's login window (pve-manager
// www/manager6/window/LoginWindow.js), enough for the demo's private
// browser window: pick a realm; for OpenID realms the page calls auth-url
// with redirect-url = location.origin and sends the browser to the IdP;
// when the IdP redirects back to "<origin>/?code=...&state=...", the page
// calls login with the same origin, like the GUI does.

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Node}} - Proxmox Virtual Environment</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;background:#f5f5f5;margin:0}
.win{width:420px;margin:80px auto;background:#fff;border:1px solid #c0c0c0;box-shadow:0 2px 6px #aaa}
.hd{background:#e57000;color:#fff;padding:8px 12px;font-weight:bold}
.bd{padding:16px 18px}
label{display:block;margin:8px 0 2px;font-size:13px}
input,select{width:100%;box-sizing:border-box;padding:5px}
button{margin-top:14px;padding:6px 18px;background:#e57000;color:#fff;border:0}
.err{color:#b00020;margin:8px 0}
.ok{color:#1b5e20;font-size:18px;margin:8px 0}
</style></head><body><div class="win"><div class="hd">Proxmox VE Login ({{.Node}}, simulated {{.Version}})</div><div class="bd">
{{if .LoggedIn}}<p class="ok" id="result">logged in as {{.LoggedIn}}</p>
{{else}}{{if .Error}}<p class="err" id="error">{{.Error}}</p>{{end}}
<form method="get" action="/">
<label for="realm">Realm</label>
<select id="realm" name="realm">{{range .Realms}}<option value="{{.ID}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>
<button type="submit" name="start" value="1">Login (OpenID redirect)</button>
</form>
<form method="post" action="/">
<label for="username">User name (pam/pve realms)</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<label for="otp">TOTP code (if enabled)</label><input id="otp" name="otp" autocomplete="one-time-code">
<select name="realm">{{range .Realms}}{{if not .OpenID}}<option value="{{.ID}}">{{.Label}}</option>{{end}}{{end}}</select>
<button type="submit">Login</button>
</form>{{end}}
</div></div></body></html>
`))

type pageRealm struct {
	ID, Label        string
	OpenID, Selected bool
}

type pageData struct {
	Node, Version, Error, LoggedIn string
	Realms                         []pageRealm
}

func (n *node) serveWeb(w http.ResponseWriter, r *http.Request) {
	s := n.s
	if r.URL.Path != "/" {
		s.writeError(w, r, &apiError{status: http.StatusNotImplemented, msg: "no such file '" + r.URL.Path + "'\n", bare: true})
		return
	}
	origin := "https://" + r.Host
	if r.TLS == nil {
		origin = "http://" + r.Host
	}
	data := pageData{Node: n.name, Version: s.opts.Version}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost:
		if err := r.ParseForm(); err == nil {
			data.LoggedIn, data.Error = n.passwordLogin(w, r)
		}
	case q.Get("code") != "" && q.Get("state") != "":
		res, err := n.login(r.Context(), q.Get("code"), q.Get("state"), origin, clientIP(r))
		if err != nil {
			data.Error = "OpenID login failed, please try again: authentication failure (401)"
		} else {
			data.LoggedIn = res["username"].(string)
			setAuthCookie(w, res["ticket"].(string))
		}
	case q.Get("start") != "" && q.Get("realm") != "":
		u, err := n.authURL(r.Context(), q.Get("realm"), origin)
		if err == nil {
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
		data.Error = "OpenID redirect failed: " + err.Error() + " (500)"
	}
	s.mu.Lock()
	s.st.ensureBuiltinRealms()
	var ids []string
	defRealm := ""
	for id, rm := range s.st.realms {
		ids = append(ids, id)
		if isTrue(rm.props["default"]) {
			defRealm = id
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		rm := s.st.realms[id]
		label := id
		if c, _ := rm.props["comment"].(string); c != "" {
			label = c
		}
		data.Realms = append(data.Realms, pageRealm{ID: id, Label: label, OpenID: rm.typ == "openid",
			Selected: id == defRealm || (defRealm == "" && q.Get("realm") == id)})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = loginPage.Execute(w, data)
}

func setAuthCookie(w http.ResponseWriter, ticket string) {
	// the GUI's setAuthData: session cookie, path /, secure, SameSite=Lax
	w.Header().Add("Set-Cookie", "PVEAuthCookie="+url.QueryEscape(ticket)+"; path=/; secure; SameSite=Lax")
}

func (n *node) passwordLogin(w http.ResponseWriter, r *http.Request) (string, string) {
	s := n.s
	username := strings.TrimSpace(r.PostForm.Get("username"))
	if realm := r.PostForm.Get("realm"); realm != "" && !strings.Contains(username, "@") {
		username += "@" + realm
	}
	c := &call{s: s, n: n, r: r, params: map[string]string{"username": username, "password": r.PostForm.Get("password")}}
	s.mu.Lock()
	defer s.mu.Unlock()
	res, e := s.createTicket(c, username)
	if e == nil && res["NeedTFA"] != nil {
		otp := strings.TrimSpace(r.PostForm.Get("otp"))
		c.params = map[string]string{"username": username, "password": "totp:" + otp, "tfa-challenge": res["ticket"].(string)}
		res, e = s.createTicket(c, username)
	}
	if e != nil {
		s.syslogLocked("authentication failure; rhost=%s user=%s msg=%s", clientIP(r), username, e.msg)
		return "", "Login failed. Please try again: authentication failure (401)"
	}
	setAuthCookie(w, res["ticket"].(string))
	return username, ""
}
