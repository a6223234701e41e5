package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The request pipeline of pveproxy/pvedaemon (pve-http-server
// src/PVE/APIServer/AnyEvent.pm, pve-manager PVE/HTTPServer.pm):
// authentication (401, no body) → handler lookup (501) → API-token
// restriction (403) → permission check (403) → parameter verification
// (400) → the handler (500 for plain errors).

// call is one API request after authentication.
type call struct {
	s       *Server
	n       *node
	r       *http.Request
	authid  string // user or full token id; "" for unauthenticated world calls
	isToken bool   // an API token header was sent
	params  map[string]string
	path    string // rel URI, e.g. /access/domains/authentik
}

type handlerFunc func(c *call) (any, *apiError)

type route struct {
	tmpl    string
	segs    []string
	methods map[string]handlerFunc
	// unlocked handlers manage Server.mu themselves (OpenID: network I/O)
	unlocked map[string]bool
}

func (s *Server) routes() []*route {
	def := func(tmpl string, m map[string]handlerFunc, unlocked ...string) *route {
		r := &route{tmpl: tmpl, segs: strings.Split(strings.Trim(tmpl, "/"), "/"), methods: m, unlocked: map[string]bool{}}
		for _, u := range unlocked {
			r.unlocked[u] = true
		}
		return r
	}
	return []*route{
		def("/version", map[string]handlerFunc{"GET": hVersion}),
		def("/cluster/status", map[string]handlerFunc{"GET": hClusterStatus}),
		def("/nodes", map[string]handlerFunc{"GET": hNodes}),
		def("/access", map[string]handlerFunc{"GET": hAccessIndex}),
		def("/access/ticket", map[string]handlerFunc{"GET": hTicketGet, "POST": hTicketCreate}, "POST"),
		def("/access/permissions", map[string]handlerFunc{"GET": hPermissions}),
		def("/access/roles", map[string]handlerFunc{"GET": hRoles}),
		def("/access/domains", map[string]handlerFunc{"GET": hRealmList, "POST": hRealmCreate}),
		def("/access/domains/{realm}", map[string]handlerFunc{"GET": hRealmRead, "PUT": hRealmUpdate, "DELETE": hRealmDelete}),
		def("/access/groups", map[string]handlerFunc{"GET": hGroupList, "POST": hGroupCreate}),
		def("/access/groups/{groupid}", map[string]handlerFunc{"GET": hGroupRead, "PUT": hGroupUpdate, "DELETE": hGroupDelete}),
		def("/access/acl", map[string]handlerFunc{"GET": hACLRead, "PUT": hACLUpdate}),
		def("/access/users", map[string]handlerFunc{"GET": hUserList, "POST": hUserCreate}),
		def("/access/users/{userid}", map[string]handlerFunc{"GET": hUserRead, "PUT": hUserUpdate, "DELETE": hUserDelete}),
		def("/access/users/{userid}/token", map[string]handlerFunc{"GET": hTokenList}),
		def("/access/users/{userid}/token/{tokenid}", map[string]handlerFunc{"GET": hTokenRead, "POST": hTokenCreate, "DELETE": hTokenDelete}),
		def("/access/openid", map[string]handlerFunc{"GET": hOpenIDIndex}),
		def("/access/openid/auth-url", map[string]handlerFunc{"POST": hOpenIDAuthURL}, "POST"),
		def("/access/openid/login", map[string]handlerFunc{"POST": hOpenIDLogin}, "POST"),
	}
}

func (rt *route) match(path string) (map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	vars := map[string]string{}
	for i, t := range rt.segs {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return nil, false
			}
			vars[t[1:len(t)-1]] = segs[i]
			continue
		}
		if t != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

var reAbsURI = regexp.MustCompile(`^/api2/+([a-z][a-z0-9]+)(/.*)?$`)

func (n *node) serve(w http.ResponseWriter, r *http.Request) {
	s := n.s
	if !strings.HasPrefix(r.URL.Path, "/api2/") && r.URL.Path != "/api2" {
		n.serveWeb(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		s.writeError(w, r, &apiError{status: http.StatusNotImplemented, msg: fmt.Sprintf("method '%s' not available\n", r.Method), bare: true})
		return
	}
	m := reAbsURI.FindStringSubmatch(r.URL.Path)
	if m == nil {
		s.writeError(w, r, &apiError{status: http.StatusNotImplemented, msg: "no such uri\n", bare: true})
		return
	}
	format, rel := m[1], m[2]
	if rel == "" {
		rel = "/"
	}
	c := &call{s: s, n: n, r: r, path: rel}
	if e := c.authenticate(); e != nil {
		s.writeError(w, r, e)
		return
	}
	if format != "json" {
		// ASSUMPTION: only the json formatter is simulated (PVE also has
		// extjs, html, spiceconfig, png).
		s.writeError(w, r, &apiError{status: http.StatusNotImplemented, msg: fmt.Sprintf("unknown format '%s' (the simulator serves json)\n", format)})
		return
	}
	params, e := readParams(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	c.params = params
	data, e := c.dispatch()
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	s.writeData(w, data)
}

// authenticate is auth_handler: tickets (cookie PVEAuthCookie or an
// "Authorization: PVEAuthCookie=" header), then API tokens
// ("Authorization: PVEAPIToken=USER@REALM!ID=SECRET"); CSRF token on
// writes with a ticket. Whitelisted calls need no authentication.
func (c *call) authenticate() *apiError {
	r := c.r
	s := c.s
	ticket := extractAuthValue(r.Header.Values("Cookie"), "PVEAuthCookie")
	if ticket == "" {
		ticket = extractAuthValue(r.Header.Values("Authorization"), "PVEAuthCookie")
	}
	var apiToken string
	if ticket == "" {
		apiToken = extractAuthValue(r.Header.Values("Authorization"), "PVEAPIToken")
	}
	c.isToken = apiToken != ""
	m, p := r.Method, strings.TrimRight(c.path, "/")
	if (p == "/access/domains" && m == "GET") ||
		(p == "/access/ticket" && (m == "GET" || m == "POST")) ||
		(p == "/access/vncticket" && m == "POST") ||
		(p == "/access/openid/login" && m == "POST") ||
		(p == "/access/openid/auth-url" && m == "POST") {
		return nil
	}
	unauth := func(e *apiError) *apiError {
		e.status = http.StatusUnauthorized
		e.bare = true
		s.syslogLocked("authentication failure; rhost=%s msg=%s", clientIP(r), e.msg)
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Unix()
	if apiToken != "" {
		id, e := s.verifyToken(apiToken, now)
		if e != nil {
			return unauth(e)
		}
		c.authid = id
		return nil
	}
	if ticket == "" {
		return unauth(die("No ticket"))
	}
	username, ok := s.verifyTicket(ticket, "")
	if !ok || strings.HasPrefix(username, "!tfa!") {
		return unauth(raise(http.StatusUnauthorized, "permission denied - invalid PVE ticket"))
	}
	if e := s.st.checkUserEnabled(username, now); e != nil {
		return unauth(e)
	}
	if m != "GET" && !s.verifyCSRF(username, r.Header.Get("CSRFPreventionToken")) {
		return unauth(raise(http.StatusUnauthorized, "Permission denied - invalid csrf token"))
	}
	c.authid = username
	return nil
}

// extractAuthValue is PVE::APIServer::Formatter::extract_auth_value.
var authValueRE = map[string]*regexp.Regexp{
	"PVEAuthCookie": regexp.MustCompile(`(?:^|\s)PVEAuthCookie(?:=| )([^;]*)`),
	"PVEAPIToken":   regexp.MustCompile(`(?:^|\s)PVEAPIToken(?:=| )([^;]*)`),
}

func extractAuthValue(headers []string, key string) string {
	re := authValueRE[key]
	for _, h := range headers {
		if m := re.FindStringSubmatch(h); m != nil && m[1] != "" {
			v, err := url.PathUnescape(m[1])
			if err != nil {
				v = m[1]
			}
			return v
		}
	}
	return ""
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

const maxPost = 64 * 1024 // AnyEvent.pm $limit_max_post

// readParams merges the query string and a form or JSON body into one
// parameter set (values as strings; repeated keys joined by NUL like
// decode_urlencoded, which split_list understands).
func readParams(r *http.Request) (map[string]string, *apiError) {
	params := map[string]string{}
	addValues := func(vals url.Values) {
		for k, vs := range vals {
			params[k] = strings.Join(vs, "\x00")
		}
	}
	if r.ContentLength > 0 || r.Body != nil && r.Body != http.NoBody {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			body, _ := io.ReadAll(io.LimitReader(r.Body, maxPost+1))
			if len(body) > 0 {
				return nil, &apiError{status: http.StatusNotImplemented, msg: fmt.Sprintf("Unexpected content for method '%s'\n", r.Method), bare: true}
			}
		} else {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxPost+1))
			if err != nil {
				return nil, die("unable to read request body")
			}
			if len(body) > maxPost {
				return nil, &apiError{status: http.StatusNotImplemented, msg: "for data too large\n", bare: true}
			}
			ct := r.Header.Get("Content-Type")
			mt := ""
			if ct != "" {
				mt, _, _ = mime.ParseMediaType(ct)
			}
			switch {
			case len(body) == 0:
			case mt == "" || mt == "application/x-www-form-urlencoded":
				vals, err := url.ParseQuery(string(body))
				if err != nil {
					return nil, paramExc(map[string]string{"_root": "unable to decode form data"})
				}
				addValues(vals)
			case mt == "application/json":
				var obj map[string]any
				if err := json.Unmarshal(body, &obj); err != nil {
					return nil, paramExc(map[string]string{"_root": "unable to decode JSON body"})
				}
				for k, v := range obj {
					params[k] = jsonParam(v)
				}
			default:
				return nil, &apiError{status: 506, msg: fmt.Sprintf("upload 'Content-Type '%s' not implemented\n", ct), bare: true}
			}
		}
	}
	addValues(r.URL.Query())
	return params, nil
}

// jsonParam turns a JSON body value into the string the schema checker
// sees. JSON true/false are accepted for booleans since pve-common's fix
// #4778 (PVE 8.0).
func jsonParam(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// dispatch is rest_handler + RESTHandler::handle.
func (c *call) dispatch() (any, *apiError) {
	s := c.s
	path := c.path
	if len(path) > 1 {
		path = strings.TrimRight(path, "/")
	}
	var rt *route
	var vars map[string]string
	for _, cand := range s.routeTable {
		if v, ok := cand.match(path); ok {
			rt, vars = cand, v
			break
		}
	}
	notImpl := &apiError{status: http.StatusNotImplemented, msg: fmt.Sprintf("Method '%s %s' not implemented\n", c.r.Method, c.path)}
	if rt == nil {
		return nil, notImpl
	}
	h, ok := rt.methods[c.r.Method]
	if !ok {
		return nil, notImpl
	}
	schema := s.schema[rt.tmpl][c.r.Method]
	if schema == nil {
		return nil, notImpl
	}
	keys := make([]string, 0, len(c.params))
	for k := range c.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := vars[k]; ok && v != c.params[k] {
			return nil, paramExc(map[string]string{k: "duplicate parameter (already defined in URI) with conflicting values!"})
		}
	}
	for k, v := range vars {
		c.params[k] = v
	}
	if c.isToken && !schema.AllowToken {
		return nil, permExc(fmt.Sprintf("URI '%s' not available with API token, need proper ticket.\n", c.path))
	}
	locked := !rt.unlocked[c.r.Method]
	s.mu.Lock()
	if locked {
		defer s.mu.Unlock()
	}
	err := s.st.checkAPI2(schema.Perm, c.authid, c.params)
	if !locked {
		s.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	if errs := s.valid.validate(schema, c.params); errs != nil {
		return nil, paramExc(errs)
	}
	return h(c)
}
