package sim

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	clientTypes   = []string{"confidential", "public"}
	subModes      = []string{"hashed_user_id", "user_id", "user_uuid", "user_username", "user_email", "user_upn"}
	issuerModes   = []string{"global", "per_provider"}
	matchingModes = []string{"strict", "regex"}
	redirectTypes = []string{"authorization", "logout"}
	logoutMethods = []string{"backchannel", "frontchannel"}
)

// grantTypeChoices is GrantTypeEnum (2026.5; token-exchange since 2026.8).
func (v version) grantTypeChoices() []string {
	g := []string{"authorization_code", "implicit", "hybrid", "refresh_token", "client_credentials", "password",
		"urn:ietf:params:oauth:grant-type:device_code"}
	if v.atLeast(2026, 8, 0) {
		g = append(g, "urn:ietf:params:oauth:grant-type:token-exchange")
	}
	return g
}

// defaultGrantTypes is what a provider created through the API without
// grant_types gets: an empty list, which permits no grant at all.
// authentik-versions.md could not verify this default; the evidence found
// since: the model field is ArrayField(..., default=list) (migration
// providers/oauth2/0033_alter_oauth2provider_grant_types), and independent
// reports of 2026.5 and 2026.8.2 installs (claytono/infra PR #2525 "Authentik
// 2026.5 creates new OAuth2 providers with an empty grant list when the
// setting is omitted"; CowDogMoo/Walls-of-Excellence PR #1828; several
// operator notes quoting "Invalid grant_type for provider"). Only the
// migration of existing providers (PR goauthentik/authentik#20363) and the
// admin UI select all grant types. ASSUMPTION: a comment in the Terraform
// provider (resource_provider_oauth2.go, 2026) says the server "otherwise
// derives the value from the provider configuration"; that may describe a
// release after 2026.8, which the simulator does not model.
func (v version) defaultGrantTypes() []string { return []string{} }

// msgListEmpty is DRF ListField's "empty" message. An empty grant_types
// list is refused (peers.md: the Terraform provider sends grant_types "only
// when set, because the API rejects an empty list"; DRF maps an ArrayField
// without blank=True to ListField(allow_empty=False)). ASSUMPTION: the
// wording is DRF's default.
const msgListEmpty = "This list may not be empty."

// providerBaseJSON is ProviderSerializer (also provider_obj of applications).
func (c *call) providerBaseJSON(p *provider) map[string]any {
	st := &c.s.st
	var authn, inval any
	if p.authenticationFlow != "" {
		authn = p.authenticationFlow
	}
	if p.invalidationFlow != "" {
		inval = p.invalidationFlow
	}
	var appSlug, appName any
	if a := st.appOfProvider(p.pk); a != nil {
		appSlug, appName = a.slug, a.name
	}
	out := map[string]any{
		"pk": p.pk, "name": p.name, "authentication_flow": authn, "authorization_flow": p.authorizationFlow,
		"property_mappings": append([]string{}, p.propertyMappings...),
		"component":         "ak-provider-oauth2-form",
		// ObjectDoesNotExist on the reverse relation is rendered as null by
		// DRF's get_attribute (the schema marks these nullable only since
		// 2026.2, authentik-versions.md).
		"assigned_application_slug": appSlug, "assigned_application_name": appName,
		"assigned_backchannel_application_slug": nil, "assigned_backchannel_application_name": nil,
		"verbose_name": "OAuth2/OpenID Provider", "verbose_name_plural": "OAuth2/OpenID Providers",
		"meta_model_name": "authentik_providers_oauth2.oauth2provider",
	}
	if c.s.ver.invalidationFlow() {
		out["invalidation_flow"] = inval
	}
	return out
}

// providerJSON is OAuth2ProviderSerializer for the simulated release.
func (c *call) providerJSON(p *provider) map[string]any {
	v := c.s.ver
	out := c.providerBaseJSON(p)
	var signing any
	if p.signingKey != "" {
		signing = p.signingKey
	}
	out["client_type"] = p.clientType
	out["client_id"] = p.clientID
	out["client_secret"] = p.clientSecret
	out["access_code_validity"] = p.accessCodeValidity
	out["access_token_validity"] = p.accessTokenValidity
	out["refresh_token_validity"] = p.refreshTokenValidity
	out["include_claims_in_id_token"] = p.includeClaimsInIDToken
	out["signing_key"] = signing
	out["sub_mode"] = p.subMode
	out["issuer_mode"] = p.issuerMode
	if v.redirectURIObjects() {
		list := make([]any, 0, len(p.redirectURIs))
		for _, r := range p.redirectURIs {
			e := map[string]any{"matching_mode": r.MatchingMode, "url": r.URL}
			if v.grantTypes() {
				e["redirect_uri_type"] = r.Type
			}
			list = append(list, e)
		}
		out["redirect_uris"] = list
	} else {
		out["redirect_uris"] = p.redirectRaw
	}
	if v.encryptionKey() {
		var enc any
		if p.encryptionKey != "" {
			enc = p.encryptionKey
		}
		out["encryption_key"] = enc
	}
	if v.jwtFederation() {
		out["jwt_federation_sources"] = append([]string{}, p.jwtFederationSources...)
		out["jwt_federation_providers"] = append([]int{}, p.jwtFederationProviders...)
	} else {
		out["jwks_sources"] = append([]string{}, p.jwtFederationSources...)
	}
	if v.backchannelLogoutURI() {
		out["backchannel_logout_uri"] = p.backchannelLogoutURI
	}
	if v.logoutURI() {
		out["logout_uri"] = p.logoutURI
		out["logout_method"] = p.logoutMethod
		out["refresh_token_threshold"] = p.refreshTokenThreshold
	}
	if v.grantTypes() {
		out["grant_types"] = append([]string{}, p.grantTypes...)
	}
	return out
}

func (c *call) listProviders() (int, any, *apiErr) {
	lp := listParams{c.q}
	st := &c.s.st
	clientType, hasCT, err := lp.choiceFilter("client_type", clientTypes)
	if err != nil {
		return 0, nil, err
	}
	subMode, hasSM, err := lp.choiceFilter("sub_mode", subModes)
	if err != nil {
		return 0, nil, err
	}
	issuerMode, hasIM, err := lp.choiceFilter("issuer_mode", issuerModes)
	if err != nil {
		return 0, nil, err
	}
	// FK filters are django-filter ModelChoiceFilters: an unknown pk is 400.
	modelFilter := func(key string, exists func(string) bool) (string, bool, *apiErr) {
		if c.q.Get(key) == "" {
			return "", false, nil
		}
		id, ok := normUUID(c.q.Get(key))
		if !ok || !exists(id) {
			return "", false, &apiErr{status: http.StatusBadRequest, body: map[string]any{key: []string{msgFilterModel}}}
		}
		return id, true, nil
	}
	authzFlow, hasAF, err := modelFilter("authorization_flow", func(id string) bool { return st.flowByPK(id) != nil })
	if err != nil {
		return 0, nil, err
	}
	signingKey, hasSK, err := modelFilter("signing_key", func(id string) bool { return st.keyPairByPK(id) != nil })
	if err != nil {
		return 0, nil, err
	}
	appPK, hasApp, err := modelFilter("application", func(id string) bool { return st.appByPK(id) != nil })
	if err != nil {
		return 0, nil, err
	}
	var out []*provider
	for _, p := range st.providers {
		exact := map[string]string{"name": p.name, "client_id": p.clientID, "access_code_validity": p.accessCodeValidity,
			"access_token_validity": p.accessTokenValidity, "refresh_token_validity": p.refreshTokenValidity}
		// redirect_uris was an exact filter while it was a string; it went
		// with the CVE-2024-52289 format change (AA §5).
		if !c.s.ver.redirectURIObjects() {
			exact["redirect_uris"] = p.redirectRaw
		}
		if !lp.exact(exact) {
			continue
		}
		if hasCT && p.clientType != clientType {
			continue
		}
		if hasSM && p.subMode != subMode {
			continue
		}
		if hasIM && p.issuerMode != issuerMode {
			continue
		}
		if hasAF && p.authorizationFlow != authzFlow {
			continue
		}
		if hasSK && p.signingKey != signingKey {
			continue
		}
		if hasApp {
			if a := st.appOfProvider(p.pk); a == nil || a.pk != appPK {
				continue
			}
		}
		if v, ok := lp.boolFilter("include_claims_in_id_token"); ok && p.includeClaimsInIDToken != v {
			continue
		}
		if pms := c.q["property_mappings"]; len(pms) > 0 && !slices.ContainsFunc(pms, func(want string) bool {
			id, ok := normUUID(want)
			return ok && slices.Contains(p.propertyMappings, id)
		}) {
			continue
		}
		if !lp.search(p.name) {
			continue
		}
		out = append(out, p)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*provider) string{
		"name": func(p *provider) string { return p.name },
		"pk":   func(p *provider) string { return fmt.Sprintf("%012d", p.pk) },
	}, "name")
	return listAnswer(c, out, c.providerJSON)
}

func (c *call) lookupProvider() (*provider, *apiErr) {
	pk, err := strconv.Atoi(c.params["id"])
	if err != nil {
		return nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	p := c.s.st.providerByPK(pk)
	if p == nil {
		return nil, notFound("OAuth2Provider")
	}
	return p, nil
}

func (c *call) getProvider() (int, any, *apiErr) {
	p, err := c.lookupProvider()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, c.providerJSON(p), nil
}

// pyRegexCompiles approximates Python's re.compile with Go's RE2.
// ASSUMPTION: patterns valid in Python but not in RE2 (look-arounds,
// back-references) are refused by the simulator and accepted by authentik.
func pyRegexCompiles(p string) bool {
	_, err := regexp.Compile(p)
	return err == nil
}

// redirectURIsField validates redirect_uris as RedirectURISerializer(many=True)
// (objects releases) or as the newline string of older releases.
func (c *call) redirectURIsField(f *form, p *provider) {
	v := c.s.ver
	raw, present := f.get("redirect_uris", v.redirectURIObjects())
	if !present {
		return
	}
	if !v.redirectURIObjects() {
		s, ok := f.str("redirect_uris", strOpts{allowBlank: true})
		if ok {
			p.redirectRaw = s
			p.redirectURIs = oldRedirectList(s)
		}
		return
	}
	if raw == nil {
		f.fail("redirect_uris", msgNull)
		return
	}
	list, ok := raw.([]any)
	if !ok {
		f.fail("redirect_uris", fmt.Sprintf(msgNotList, pyType(raw)))
		return
	}
	itemErrs := make([]any, len(list))
	bad := false
	var out []redirectURI
	for i, item := range list {
		obj, isObj := item.(map[string]any)
		if !isObj {
			itemErrs[i] = map[string]any{"non_field_errors": []string{fmt.Sprintf(msgNonDictBody, pyType(item))}}
			bad = true
			continue
		}
		sub := &form{data: obj, errs: map[string]any{}}
		mode, _ := sub.choice("matching_mode", true, matchingModes)
		u, _ := sub.str("url", strOpts{required: true})
		typ := "authorization"
		if v.grantTypes() {
			if t, ok := sub.choice("redirect_uri_type", false, redirectTypes); ok {
				typ = t
			}
		} else {
			typ = ""
		}
		if !sub.ok() {
			itemErrs[i] = sub.errs
			bad = true
			continue
		}
		itemErrs[i] = map[string]any{}
		out = append(out, redirectURI{MatchingMode: mode, URL: u, Type: typ})
	}
	if bad {
		f.errs["redirect_uris"] = itemErrs
		return
	}
	// OAuth2ProviderSerializer.validate_redirect_uris [authentik-api.md §0].
	for _, r := range out {
		if r.MatchingMode == "regex" && !pyRegexCompiles(r.URL) {
			f.fail("redirect_uris", "Invalid Regex Pattern: "+r.URL)
			return
		}
	}
	if out == nil {
		out = []redirectURI{}
	}
	p.redirectURIs = out
}

// oldRedirectList reads the redirect_uris string of releases before the
// CVE-2024-52289 fix: authorize and token split it with str.split() (any
// white space, not only newlines) and full-match every part as a regular
// expression [views/authorize.py, views/token.py of those releases].
func oldRedirectList(s string) []redirectURI {
	var out []redirectURI
	for _, part := range strings.Fields(s) {
		out = append(out, redirectURI{MatchingMode: "regex", URL: part})
	}
	return out
}

// providerForm validates an OAuth2ProviderRequest (PUT/POST) or a
// PatchedOAuth2ProviderRequest (PATCH) onto a copy of old (nil = create).
func (c *call) providerForm(f *form, old *provider) *provider {
	st := &c.s.st
	v := c.s.ver
	p := &provider{
		clientType: "confidential", clientID: generateID(40), clientSecret: generateID(128),
		accessCodeValidity: "minutes=1", accessTokenValidity: "hours=1", refreshTokenValidity: "days=30",
		refreshTokenThreshold: "seconds=0", includeClaimsInIDToken: true, subMode: "hashed_user_id",
		issuerMode: "per_provider", logoutMethod: "backchannel", propertyMappings: []string{},
		redirectURIs: []redirectURI{},
	}
	if v.grantTypes() {
		p.grantTypes = v.defaultGrantTypes()
	}
	if old != nil {
		cp := *old
		p = &cp
		p.propertyMappings = append([]string(nil), old.propertyMappings...)
		p.redirectURIs = append([]redirectURI(nil), old.redirectURIs...)
		p.grantTypes = append([]string(nil), old.grantTypes...)
		p.jwtFederationSources = append([]string(nil), old.jwtFederationSources...)
		p.jwtFederationProviders = append([]int(nil), old.jwtFederationProviders...)
	}
	flowExists := func(id string) bool { return st.flowByPK(id) != nil }
	keyExists := func(id string) bool { k := st.keyPairByPK(id); return k != nil && !k.hidden }

	if name, ok := f.str("name", strOpts{required: true}); ok {
		// Provider.name is unique across all provider types; DRF's
		// UniqueValidator message with Provider's verbose name "provider".
		// ASSUMPTION: Provider has no Meta.verbose_name (authentik core models).
		if taken(st.providers, old, func(o *provider) bool { return o.name == name }) {
			f.fail("name", "provider with this name already exists.")
		}
		p.name = name
	}
	if id, ok := f.uuidRef("authentication_flow", false, true, flowExists); ok {
		p.authenticationFlow = id
	}
	if id, ok := f.uuidRef("authorization_flow", true, false, flowExists); ok {
		p.authorizationFlow = id
	}
	if v.invalidationFlow() {
		if id, ok := f.uuidRef("invalidation_flow", true, false, flowExists); ok {
			p.invalidationFlow = id
		}
	}
	if ids, ok := f.uuidRefList("property_mappings", func(id string) bool { return st.scopeMappingByPK(id) != nil }); ok {
		p.propertyMappings = ids
	}
	if ct, ok := f.choice("client_type", false, clientTypes); ok {
		p.clientType = ct
	}
	if id, ok := f.str("client_id", strOpts{maxLen: 255}); ok {
		if taken(st.providers, old, func(o *provider) bool { return o.clientID == id }) {
			f.fail("client_id", "OAuth2/OpenID Provider with this Client ID already exists.")
		}
		p.clientID = id
	}
	if sec, ok := f.str("client_secret", strOpts{maxLen: 255, allowBlank: true}); ok {
		p.clientSecret = sec
	}
	if d, ok := f.duration("access_code_validity"); ok {
		p.accessCodeValidity = d
	}
	if d, ok := f.duration("access_token_validity"); ok {
		p.accessTokenValidity = d
	}
	if d, ok := f.duration("refresh_token_validity"); ok {
		p.refreshTokenValidity = d
	}
	if v.logoutURI() {
		if d, ok := f.duration("refresh_token_threshold"); ok {
			p.refreshTokenThreshold = d
		}
	}
	if b, ok := f.boolean("include_claims_in_id_token"); ok {
		p.includeClaimsInIDToken = b
	}
	if id, ok := f.uuidRef("signing_key", false, true, keyExists); ok {
		p.signingKey = id
	}
	if v.encryptionKey() {
		if id, ok := f.uuidRef("encryption_key", false, true, keyExists); ok {
			p.encryptionKey = id
		}
	}
	c.redirectURIsField(f, p)
	if m, ok := f.choice("sub_mode", false, subModes); ok {
		p.subMode = m
	}
	if m, ok := f.choice("issuer_mode", false, issuerModes); ok {
		p.issuerMode = m
	}
	noSource := func(string) bool { return false } // OAuth sources are not simulated
	fedKey := "jwks_sources"
	if v.jwtFederation() {
		fedKey = "jwt_federation_sources"
		if pks, ok := f.intRefList("jwt_federation_providers", func(pk int) bool { return st.providerByPK(pk) != nil }); ok {
			p.jwtFederationProviders = pks
		}
	}
	if ids, ok := f.uuidRefList(fedKey, noSource); ok {
		p.jwtFederationSources = ids
	}
	if v.backchannelLogoutURI() {
		if u, ok := f.url("backchannel_logout_uri"); ok {
			p.backchannelLogoutURI = u
		}
	}
	if v.logoutURI() {
		if u, ok := f.url("logout_uri"); ok {
			p.logoutURI = u
		}
		if m, ok := f.choice("logout_method", false, logoutMethods); ok {
			p.logoutMethod = m
		}
	}
	if v.grantTypes() {
		if raw, ok := f.get("grant_types", false); ok {
			p.grantTypes = c.grantTypesField(f, raw, p.grantTypes)
		}
	}
	return p
}

// grantTypesField mirrors ListField(child=ChoiceField): per-index errors.
func (c *call) grantTypesField(f *form, raw any, keep []string) []string {
	if raw == nil {
		f.fail("grant_types", msgNull)
		return keep
	}
	list, ok := raw.([]any)
	if !ok {
		f.fail("grant_types", fmt.Sprintf(msgNotList, pyType(raw)))
		return keep
	}
	if len(list) == 0 {
		f.fail("grant_types", msgListEmpty)
		return keep
	}
	errs := map[string]any{}
	out := []string{}
	choices := c.s.ver.grantTypeChoices()
	for i, item := range list {
		s := choiceString(item)
		if item == nil {
			errs[strconv.Itoa(i)] = []string{msgNull}
			continue
		}
		if !slices.Contains(choices, s) {
			errs[strconv.Itoa(i)] = []string{fmt.Sprintf(msgInvalidChoice, s)}
			continue
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		f.errs["grant_types"] = errs
		return keep
	}
	return out
}

func (c *call) createProvider() (int, any, *apiErr) {
	p, err := validated(c, false, nil, c.providerForm)
	if err != nil {
		return 0, nil, err
	}
	st := &c.s.st
	p.pk = st.nextProvPK
	st.nextProvPK++
	st.providers = append(st.providers, p)
	return http.StatusCreated, c.providerJSON(p), nil
}

func (c *call) putProvider() (int, any, *apiErr) {
	return update(c, false, c.lookupProvider, c.providerForm, c.providerJSON)
}

func (c *call) patchProvider() (int, any, *apiErr) {
	return update(c, true, c.lookupProvider, c.providerForm, c.providerJSON)
}

func (c *call) deleteProvider() (int, any, *apiErr) {
	p, err := c.lookupProvider()
	if err != nil {
		return 0, nil, err
	}
	st := &c.s.st
	st.providers = without(st.providers, p)
	// Application.provider is on_delete=SET_DEFAULT (None).
	for _, a := range st.applications {
		if a.provider != nil && *a.provider == p.pk {
			a.provider = nil
		}
	}
	maps.DeleteFunc(st.codes, func(_ string, code *authCode) bool { return code.provider == p.pk })
	ofProvider := func(_ string, t *grantToken) bool { return t.provider == p.pk }
	maps.DeleteFunc(st.accessTokens, ofProvider)
	maps.DeleteFunc(st.refreshTokens, ofProvider)
	return http.StatusNoContent, nil, nil
}

// issuer mirrors OAuth2Provider.get_issuer: per_provider ->
// <base>/application/o/<slug>/ (needs an application), global -> <base>/.
func (s *Server) issuer(r *http.Request, p *provider) (string, bool) {
	if p.issuerMode == "global" {
		return s.baseURL(r) + "/", true
	}
	a := s.st.appOfProvider(p.pk)
	if a == nil {
		return "", false
	}
	return s.baseURL(r) + "/application/o/" + a.slug + "/", true
}

// providerSetupURLs mirrors GET /providers/oauth2/{id}/setup_urls/.
// 404 when no application is assigned [authentik-api.md §5]; ASSUMPTION:
// with the generic "Not found." detail.
func (c *call) providerSetupURLs() (int, any, *apiErr) {
	p, err := c.lookupProvider()
	if err != nil {
		return 0, nil, err
	}
	a := c.s.st.appOfProvider(p.pk)
	if a == nil {
		return 0, nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	base := c.s.baseURL(c.r)
	iss, _ := c.s.issuer(c.r, p)
	out := map[string]any{
		"issuer":        iss,
		"authorize":     base + "/application/o/authorize/",
		"token":         base + "/application/o/token/",
		"user_info":     base + "/application/o/userinfo/",
		"provider_info": base + "/application/o/" + a.slug + "/.well-known/openid-configuration",
		"logout":        base + "/application/o/" + a.slug + "/end-session/",
		"jwks":          base + "/application/o/" + a.slug + "/jwks/",
	}
	if c.s.ver.partialSerializers() {
		out["dcr_registration"] = nil
	}
	return http.StatusOK, out, nil
}

// providerPreviewUser mirrors preview_user: the id_token claims for a user
// with all of the provider's scopes. Errors are {"for_user": "<text>"}
// (a plain string, as the view raises ValidationError({"for_user": ...})).
func (c *call) providerPreviewUser() (int, any, *apiErr) {
	p, err := c.lookupProvider()
	if err != nil {
		return 0, nil, err
	}
	st := &c.s.st
	u := c.user
	if c.q.Has("for_user") {
		pk, cerr := strconv.Atoi(c.q.Get("for_user"))
		if cerr != nil {
			return 0, nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{"for_user": "input must be numerical"}}
		}
		if u = st.userByPK(pk); u == nil {
			return 0, nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{"for_user": "User not found"}}
		}
	}
	scopes := st.scopeNames(p)
	now := c.s.now()
	// ASSUMPTION: the temporary AccessToken's expiry is the token default
	// (1 day since 2024.8, 30 minutes before).
	exp := now.Add(24 * time.Hour)
	if !c.s.ver.atLeast(2024, 8, 0) {
		exp = now.Add(30 * time.Minute)
	}
	claims := c.s.idTokenClaims(c.r, p, u, scopes, exp, now, now, "", "", false)
	return http.StatusOK, map[string]any{"preview": claims}, nil
}

// durationOf parses a provider validity ("hours=1") into a time.Duration.
func durationOf(s string) time.Duration {
	secs, ok := parseDuration(s)
	if !ok {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// redirectMatches mirrors the /authorize and /token redirect check: strict
// equality or Python re.fullmatch for regex entries; since 2026.5 only
// entries of type "authorization" count.
func (s *Server) redirectMatches(p *provider, uri string) bool {
	for _, r := range p.redirectURIs {
		if s.ver.grantTypes() && r.Type != "" && r.Type != "authorization" {
			continue
		}
		switch r.MatchingMode {
		case "strict":
			if uri == r.URL {
				return true
			}
		case "regex":
			re, err := regexp.Compile(`^(?:` + r.URL + `)$`)
			if err != nil {
				// Before the CVE fix an uncompilable pattern fell back to
				// a direct comparison [views/authorize.py].
				if uri == r.URL {
					return true
				}
				continue
			}
			if re.MatchString(uri) {
				return true
			}
		}
	}
	return false
}

// forbiddenScheme mirrors FORBIDDEN_URI_SCHEMES of views/authorize.py.
func forbiddenScheme(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript":
		return true
	}
	return false
}
