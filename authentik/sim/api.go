package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// call is one REST API request being served. Handlers run with Server.mu
// held, so they read and change s.st directly.
type call struct {
	s      *Server
	r      *http.Request
	user   *user
	super  bool
	params map[string]string
	q      url.Values
}

type handler func(c *call) (int, any, *apiErr)

// access says who may use a route.
type access int

const (
	// anyUser: DRF IsAuthenticated (e.g. /admin/version/, /core/users/me/).
	anyUser access = iota
	// adminOnly: authentik's RBAC ObjectPermissions + ObjectFilter. A user
	// without the model permission and without object permissions gets 403
	// PermissionDenied on list, retrieve, create, update and delete
	// [authentik/rbac/permissions.py, authentik/rbac/filters.py]. The
	// simulator grants the model permissions to superusers only.
	adminOnly
	// appList: the application list filters by policy for non-superusers
	// instead of refusing them.
	appList
)

type apiRoute struct {
	pattern string // "/core/users/{id}/"
	methods map[string]handler
	access  access
}

func (s *Server) apiRoutes() []apiRoute {
	scopePath := "/propertymappings/provider/scope/"
	if !s.ver.scopePathProvider() {
		scopePath = "/propertymappings/scope/"
	}
	return []apiRoute{
		{"/admin/version/", map[string]handler{"GET": (*call).getVersion}, anyUser},
		{"/core/users/me/", map[string]handler{"GET": (*call).getMe}, anyUser},
		{"/core/users/", map[string]handler{"GET": (*call).listUsers}, adminOnly},
		{"/core/users/{id}/", map[string]handler{"GET": (*call).getUser}, adminOnly},
		{"/core/groups/", map[string]handler{"GET": (*call).listGroups, "POST": (*call).createGroup}, adminOnly},
		{"/core/groups/{group_uuid}/", map[string]handler{
			"GET": (*call).getGroup, "PUT": (*call).updateGroup, "PATCH": (*call).patchGroup, "DELETE": (*call).deleteGroup}, adminOnly},
		{"/core/groups/{group_uuid}/add_user/", map[string]handler{"POST": (*call).groupAddUser}, adminOnly},
		{"/core/groups/{group_uuid}/remove_user/", map[string]handler{"POST": (*call).groupRemoveUser}, adminOnly},
		{"/flows/instances/", map[string]handler{"GET": (*call).listFlows}, adminOnly},
		{"/flows/instances/{slug}/", map[string]handler{"GET": (*call).getFlow}, adminOnly},
		{scopePath, map[string]handler{"GET": (*call).listScopeMappings}, adminOnly},
		{scopePath + "{pm_uuid}/", map[string]handler{"GET": (*call).getScopeMapping}, adminOnly},
		{"/crypto/certificatekeypairs/", map[string]handler{"GET": (*call).listKeyPairs}, adminOnly},
		{"/crypto/certificatekeypairs/generate/", map[string]handler{"POST": (*call).generateKeyPair}, adminOnly},
		{"/crypto/certificatekeypairs/{kp_uuid}/", map[string]handler{"GET": (*call).getKeyPair, "DELETE": (*call).deleteKeyPair}, adminOnly},
		{"/crypto/certificatekeypairs/{kp_uuid}/view_certificate/", map[string]handler{"GET": (*call).viewCertificate}, adminOnly},
		{"/providers/oauth2/", map[string]handler{"GET": (*call).listProviders, "POST": (*call).createProvider}, adminOnly},
		{"/providers/oauth2/{id}/", map[string]handler{
			"GET": (*call).getProvider, "PUT": (*call).putProvider, "PATCH": (*call).patchProvider, "DELETE": (*call).deleteProvider}, adminOnly},
		{"/providers/oauth2/{id}/setup_urls/", map[string]handler{"GET": (*call).providerSetupURLs}, adminOnly},
		{"/providers/oauth2/{id}/preview_user/", map[string]handler{"GET": (*call).providerPreviewUser}, adminOnly},
		{"/core/applications/", map[string]handler{"GET": (*call).listApplications, "POST": (*call).createApplication}, appList},
		{"/core/applications/{slug}/", map[string]handler{
			"GET": (*call).getApplication, "PUT": (*call).putApplication, "PATCH": (*call).patchApplication, "DELETE": (*call).deleteApplication}, adminOnly},
		{"/policies/bindings/", map[string]handler{"GET": (*call).listBindings, "POST": (*call).createBinding}, adminOnly},
		{"/policies/bindings/{policy_binding_uuid}/", map[string]handler{
			"GET": (*call).getBinding, "PUT": (*call).putBinding, "PATCH": (*call).patchBinding, "DELETE": (*call).deleteBinding}, adminOnly},
	}
}

// matchRoute matches a path like "/core/users/5/" against a pattern; a
// "{x}" segment matches DRF's default lookup regex [^/.]+.
func matchRoute(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) || !strings.HasSuffix(path, "/") {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			if xs[i] == "" || strings.ContainsAny(xs[i], "/.") {
				return nil, false
			}
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				return nil, false
			}
			params[strings.Trim(p, "{}")] = v
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	var rt *apiRoute
	var params map[string]string
	routes := s.apiRoutes()
	for i := range routes {
		if p, ok := matchRoute(routes[i].pattern, path); ok {
			rt, params = &routes[i], p
			break
		}
	}
	if rt == nil && !strings.HasSuffix(path, "/") {
		// Django's CommonMiddleware (APPEND_SLASH, on by default) redirects
		// to the path with a slash when that one resolves.
		for i := range routes {
			if _, ok := matchRoute(routes[i].pattern, path+"/"); ok {
				target := r.URL.Path + "/"
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				w.Header().Set("Location", target)
				w.WriteHeader(http.StatusMovedPermanently)
				return
			}
		}
	}
	if rt == nil {
		// ASSUMPTION: an unknown API path answers 404 {"detail": "Not found."}.
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": msgNotFound})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	u, aerr := s.authenticate(r)
	if aerr != nil {
		writeJSON(w, aerr.status, aerr.body)
		return
	}
	if u == nil {
		// DRF NotAuthenticated; no authenticate_header -> 403, not 401
		// [authentik-api.md §0].
		writeJSON(w, http.StatusForbidden, map[string]any{"detail": msgNotAuthn})
		return
	}
	c := &call{s: s, r: r, user: u, super: s.st.isSuperuser(u), params: params, q: r.URL.Query()}
	if !c.super && (rt.access == adminOnly || rt.access == appList && r.Method != http.MethodGet) {
		writeJSON(w, http.StatusForbidden, map[string]any{"detail": msgNoPermission})
		return
	}
	h, ok := rt.methods[r.Method]
	if !ok {
		if r.Method == http.MethodOptions {
			// ASSUMPTION: DRF answers OPTIONS with view metadata; the simulator
			// returns a minimal object.
			writeJSON(w, http.StatusOK, map[string]any{"name": "authentik simulator"})
			return
		}
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"detail": fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
		return
	}
	status, body, herr := h(c)
	if herr != nil {
		writeJSON(w, herr.status, herr.body)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, status, body)
}

// authenticate mirrors authentik.api.authentication.TokenAuthentication as
// described in authentik-api.md §0: "Bearer <key>" (scheme case-insensitive,
// header trimmed); no header, a header without a value, or another scheme
// count as no credentials; an unknown key or an inactive user is
// AuthenticationFailed("Token invalid/expired") -> 403. OAuth2 access tokens
// with the goauthentik.io/api scope are accepted too.
func (s *Server) authenticate(r *http.Request) (*user, *apiErr) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" || !strings.Contains(h, " ") {
		return nil, nil
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return nil, nil
	}
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return nil, nil
	}
	for _, t := range s.st.tokens {
		if t.key == cred {
			u := s.st.userByPK(t.user)
			if u == nil || !u.isActive {
				return nil, detailErr(http.StatusForbidden, msgTokenInvalid)
			}
			return u, nil
		}
	}
	if at, ok := s.st.accessTokens[cred]; ok && !at.revoked && s.now().Before(at.expires) && slices.Contains(at.scopes, "goauthentik.io/api") {
		if u := s.st.userByPK(at.user); u != nil && u.isActive {
			return u, nil
		}
	}
	return nil, detailErr(http.StatusForbidden, msgTokenInvalid)
}

// baseURL is scheme://host of the request, like Django's
// request.build_absolute_uri (the simulator trusts the Host header), or
// Options.IssuerBase when set. Callers hold s.mu.
func (s *Server) baseURL(r *http.Request) string {
	if s.issuerBase != "" {
		return s.issuerBase
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
