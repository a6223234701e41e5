package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

var policyEngineModes = []string{"all", "any"}

// reservedSlugs are refused for applications since 2025.10
// [authentik-versions.md; authentik/core/api/applications.py].
var reservedSlugs = []string{"authorize", "token", "device", "userinfo", "introspect", "revoke"}

// launchURL mirrors Application.get_launch_url (without %(user)s
// formatting): meta_launch_url, else the provider's launch_url (the first
// redirect URI with its path removed).
func (c *call) launchURL(a *application) any {
	if a.metaLaunchURL != "" {
		return a.metaLaunchURL
	}
	if a.provider == nil {
		return nil
	}
	p := c.s.st.providerByPK(*a.provider)
	if p == nil {
		return nil
	}
	// The first redirect URI of type authorization (logout entries since
	// 2026.5 do not count; AA §6 "derived from the first authorization
	// redirect URI's origin").
	first := ""
	for _, r := range p.redirectURIs {
		if r.Type == "" || r.Type == "authorization" {
			first = r.URL
			break
		}
	}
	if first == "" {
		return nil
	}
	u, err := url.Parse(first)
	if err != nil {
		return nil
	}
	u.Path, u.RawPath = "", ""
	return u.String()
}

// appJSON mirrors ApplicationSerializer for the simulated release.
func (c *call) appJSON(a *application) map[string]any {
	v := c.s.ver
	var prov, provObj any
	if a.provider != nil {
		prov = *a.provider
		if p := c.s.st.providerByPK(*a.provider); p != nil {
			provObj = c.providerBaseJSON(p)
		}
	}
	bcObjs := []any{}
	for _, pk := range a.backchannelProviders {
		if p := c.s.st.providerByPK(pk); p != nil {
			bcObjs = append(bcObjs, c.providerBaseJSON(p))
		}
	}
	out := map[string]any{
		"pk": a.pk, "name": a.name, "slug": a.slug, "provider": prov, "provider_obj": provObj,
		"backchannel_providers": append([]int{}, a.backchannelProviders...), "backchannel_providers_obj": bcObjs,
		"launch_url": c.launchURL(a), "open_in_new_tab": a.openInNewTab,
		"meta_launch_url": a.metaLaunchURL, "meta_icon": nil, "meta_description": a.metaDescription,
		"meta_publisher": a.metaPublisher, "policy_engine_mode": a.policyEngineMode, "group": a.group,
	}
	if v.writableIcons() {
		out["meta_icon"] = a.metaIcon
		out["meta_icon_url"] = nil
		if a.metaIcon != "" {
			out["meta_icon_url"] = a.metaIcon
		}
	}
	if v.themedURLs() {
		out["meta_icon_themed_urls"] = nil
	}
	if v.metaHide() {
		out["meta_hide"] = a.metaHide
	}
	if v.partialSerializers() {
		out["pbm_uuid"] = a.pk
	}
	return out
}

// userMayAccess mirrors the PolicyEngine for an application: no enabled
// binding -> access (core_default_app_access defaults to True); otherwise
// group bindings (direct membership or a parent group), user bindings, with
// negate, combined per policy_engine_mode. ASSUMPTION: policy bindings
// (expression policies etc.) are not simulated and count as failing.
func (s *Server) userMayAccess(a *application, u *user) bool {
	st := &s.st
	var results []bool
	for _, b := range st.bindings {
		if b.target != a.pk || !b.enabled {
			continue
		}
		pass := false
		switch {
		case b.group != "":
			pass = s.memberOf(u, b.group, 0)
		case b.user != nil:
			pass = *b.user == u.pk
		default:
			pass = b.failureResult
		}
		if b.negate {
			pass = !pass
		}
		results = append(results, pass)
	}
	if len(results) == 0 {
		return true
	}
	if a.policyEngineMode == "all" {
		for _, r := range results {
			if !r {
				return false
			}
		}
		return true
	}
	for _, r := range results {
		if r {
			return true
		}
	}
	return false
}

// memberOf mirrors Group.is_member: the user is in the group or in one of
// its descendants (bounded depth like the recursive query).
func (s *Server) memberOf(u *user, groupID string, depth int) bool {
	if depth > 20 {
		return false
	}
	g := s.st.groupByUUID(groupID)
	if g == nil {
		return false
	}
	if slices.Contains(g.users, u.pk) {
		return true
	}
	for _, other := range s.st.groups {
		if slices.Contains(other.parents, g.uuid) && s.memberOf(u, other.uuid, depth+1) {
			return true
		}
	}
	return false
}

// listApplications mirrors the 2025.x list: with superuser_full_list=true a
// superuser sees every application; otherwise the page is computed first
// and then narrowed to the applications the caller may access (so the
// pagination counts are those of the unfiltered list) [authentik-api.md §6].
// ASSUMPTION: the 24 h per-user cache of that narrowed list is not
// simulated.
func (c *call) listApplications() (int, any, *apiErr) {
	lp := listParams{c.q}
	var out []*application
	for _, a := range c.s.st.applications {
		if !lp.exact(map[string]string{"name": a.name, "slug": a.slug, "group": a.group,
			"meta_launch_url": a.metaLaunchURL, "meta_description": a.metaDescription, "meta_publisher": a.metaPublisher}) {
			continue
		}
		if !lp.search(a.name, a.slug, a.metaLaunchURL, a.metaDescription, a.metaPublisher, a.group) {
			continue
		}
		out = append(out, a)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*application) string{
		"name":  func(a *application) string { return a.name },
		"slug":  func(a *application) string { return a.slug },
		"group": func(a *application) string { return a.group },
	}, "name")
	full, _ := lp.boolFilter("superuser_full_list")
	rows := make([]any, 0, len(out))
	for _, a := range out {
		rows = append(rows, a)
	}
	page, err := c.s.paginate(c.q, rows)
	if err != nil {
		return 0, nil, err
	}
	forUser := c.user
	if c.q.Has("for_user") && c.super {
		pk, cerr := strconv.Atoi(c.q.Get("for_user"))
		if cerr != nil {
			return 0, nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{"for_user": "for_user must be numerical"}}
		}
		if forUser = c.s.st.userByPK(pk); forUser == nil {
			return 0, nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{"for_user": "User not found"}}
		}
	}
	onlyLaunch, _ := lp.boolFilter("only_with_launch_url")
	res := []any{}
	for _, r := range page["results"].([]any) {
		a := r.(*application)
		if !(full && c.super) && !c.s.userMayAccess(a, forUser) {
			continue
		}
		if onlyLaunch && c.launchURL(a) == nil {
			continue
		}
		res = append(res, c.appJSON(a))
	}
	page["results"] = res
	return http.StatusOK, page, nil
}

func (c *call) lookupApp() (*application, *apiErr) {
	a := c.s.st.appBySlug(c.params["slug"])
	if a == nil {
		return nil, notFound("Application")
	}
	return a, nil
}

func (c *call) getApplication() (int, any, *apiErr) {
	a, err := c.lookupApp()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, c.appJSON(a), nil
}

// appForm validates an ApplicationRequest onto a copy of old (nil = create).
func (c *call) appForm(f *form, old *application) *application {
	st := &c.s.st
	v := c.s.ver
	a := &application{policyEngineMode: "any", backchannelProviders: []int{}}
	if old != nil {
		cp := *old
		a = &cp
		a.backchannelProviders = append([]int(nil), old.backchannelProviders...)
	}
	if name, ok := f.str("name", strOpts{required: true}); ok {
		a.name = name
	}
	maxLen := 0
	if v.slugMax50() {
		maxLen = 50
	}
	if slug, ok := f.str("slug", strOpts{required: true, maxLen: maxLen, pattern: slugRE, patternMsg: msgSlug}); ok {
		if taken(st.applications, old, func(o *application) bool { return o.slug == slug }) {
			f.fail("slug", "Application with this slug already exists.")
		} else if v.reservedSlugs() && slices.Contains(reservedSlugs, slug) {
			f.fail("slug", fmt.Sprintf("The slug '%s' is reserved and cannot be used for applications.", slug))
		}
		a.slug = slug
	}
	if pk, ok := f.intRef("provider", true, func(pk int) bool { return st.providerByPK(pk) != nil }); ok {
		// Application.provider is a OneToOneField (unique).
		if pk != nil && taken(st.applications, old, func(o *application) bool { return o.provider != nil && *o.provider == *pk }) {
			f.fail("provider", "Application with this provider already exists.")
		}
		a.provider = pk
	}
	if pks, ok := f.intRefList("backchannel_providers", func(pk int) bool { return st.providerByPK(pk) != nil }); ok {
		a.backchannelProviders = pks
	}
	if b, ok := f.boolean("open_in_new_tab"); ok {
		a.openInNewTab = b
	}
	if u, ok := f.url("meta_launch_url"); ok {
		a.metaLaunchURL = u
	}
	if v.writableIcons() {
		if s, ok := f.str("meta_icon", strOpts{allowBlank: true}); ok {
			a.metaIcon = s
		}
	}
	if s, ok := f.str("meta_description", strOpts{allowBlank: true}); ok {
		a.metaDescription = s
	}
	if s, ok := f.str("meta_publisher", strOpts{allowBlank: true}); ok {
		a.metaPublisher = s
	}
	if m, ok := f.choice("policy_engine_mode", false, policyEngineModes); ok {
		a.policyEngineMode = m
	}
	if s, ok := f.str("group", strOpts{allowBlank: true}); ok {
		a.group = s
	}
	if v.metaHide() {
		if b, ok := f.boolean("meta_hide"); ok {
			a.metaHide = b
		}
	}
	return a
}

func (c *call) createApplication() (int, any, *apiErr) {
	a, err := validated(c, false, nil, c.appForm)
	if err != nil {
		return 0, nil, err
	}
	a.pk = newUUID()
	c.s.st.applications = append(c.s.st.applications, a)
	return http.StatusCreated, c.appJSON(a), nil
}

func (c *call) putApplication() (int, any, *apiErr) {
	return update(c, false, c.lookupApp, c.appForm, c.appJSON)
}

func (c *call) patchApplication() (int, any, *apiErr) {
	return update(c, true, c.lookupApp, c.appForm, c.appJSON)
}

func (c *call) deleteApplication() (int, any, *apiErr) {
	a, err := c.lookupApp()
	if err != nil {
		return 0, nil, err
	}
	st := &c.s.st
	st.applications = without(st.applications, a)
	// PolicyBinding.target is on_delete=CASCADE.
	st.bindings = slices.DeleteFunc(st.bindings, func(b *policyBinding) bool { return b.target == a.pk })
	return http.StatusNoContent, nil, nil
}

// ---- policy bindings -----------------------------------------------------

// bindingJSON mirrors PolicyBindingSerializer: group_obj/user_obj are the
// full Group/User serializers, PartialGroup/PartialUser in 2026.8.
func (c *call) bindingJSON(b *policyBinding) map[string]any {
	st := &c.s.st
	var policy, grp, usr, groupObj, userObj any
	if b.policy != "" {
		policy = b.policy
	}
	if b.group != "" {
		grp = b.group
		if g := st.groupByUUID(b.group); g != nil {
			if c.s.ver.partialSerializers() {
				groupObj = map[string]any{"pk": g.uuid, "num_pk": g.numPK, "name": g.name,
					"is_superuser": g.isSuperuser, "attributes": g.attributes}
			} else {
				groupObj = c.groupJSON(g, true, false, false)
			}
		}
	}
	if b.user != nil {
		usr = *b.user
		if u := st.userByPK(*b.user); u != nil {
			if c.s.ver.partialSerializers() {
				userObj = c.partialUser(u)
			} else {
				userObj = c.userJSON(u, true)
			}
		}
	}
	out := map[string]any{
		"pk": b.pk, "policy": policy, "group": grp, "user": usr,
		"policy_obj": nil, "group_obj": groupObj, "user_obj": userObj,
		"target": b.target, "negate": b.negate, "enabled": b.enabled, "order": b.order,
		"timeout": b.timeout, "failure_result": b.failureResult,
	}
	if c.s.ver.partialSerializers() {
		out["expires"] = nil
		out["expiring"] = false
	}
	return out
}

func (c *call) listBindings() (int, any, *apiErr) {
	lp := listParams{c.q}
	st := &c.s.st
	badTarget := &apiErr{status: http.StatusBadRequest, body: map[string]any{"target": []string{msgFilterModel}}}
	target := ""
	if c.q.Get("target") != "" {
		id, ok := normUUID(c.q.Get("target"))
		if !ok || !st.isBindingTarget(id) {
			// django-filter ModelChoiceFilter on the FK: unknown pk -> 400.
			return 0, nil, badTarget
		}
		target = id
	}
	var targetIn []string
	for _, t := range c.q["target_in"] {
		id, ok := normUUID(t)
		if !ok || !st.isBindingTarget(id) {
			return 0, nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{"target_in": []string{
				fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", t)}}}
		}
		targetIn = append(targetIn, id)
	}
	var out []*policyBinding
	for _, b := range st.bindings {
		if target != "" && b.target != target {
			continue
		}
		if len(targetIn) > 0 && !slices.Contains(targetIn, b.target) {
			continue
		}
		if v, ok := lp.boolFilter("enabled"); ok && b.enabled != v {
			continue
		}
		if v, ok := lp.boolFilter("policy__isnull"); ok && (b.policy == "") != v {
			continue
		}
		if !lp.exact(map[string]string{"order": strconv.Itoa(b.order), "timeout": strconv.Itoa(b.timeout), "policy": b.policy}) {
			continue
		}
		out = append(out, b)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*policyBinding) string{
		"target": func(b *policyBinding) string { return b.target },
		"order":  func(b *policyBinding) string { return fmt.Sprintf("%+012d", b.order) },
	}, "target", "order")
	return listAnswer(c, out, c.bindingJSON)
}

func (c *call) lookupBinding() (*policyBinding, *apiErr) {
	id, ok := normUUID(c.params["policy_binding_uuid"])
	if !ok {
		return nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	b := c.s.st.bindingByPK(id)
	if b == nil {
		return nil, notFound("PolicyBinding")
	}
	return b, nil
}

func (c *call) getBinding() (int, any, *apiErr) {
	b, err := c.lookupBinding()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, c.bindingJSON(b), nil
}

// bindingForm validates a PolicyBindingRequest, then PolicyBindingSerializer
// .validate: exactly one of policy, group, user [authentik/policies/api/bindings.py].
func (c *call) bindingForm(f *form, old *policyBinding) *policyBinding {
	st := &c.s.st
	b := &policyBinding{enabled: true, timeout: 30}
	if old != nil {
		cp := *old
		b = &cp
	}
	int32Min, int32Max := int64(-2147483648), int64(2147483647)
	if id, ok := f.uuidRef("target", true, false, st.isBindingTarget); ok {
		b.target = id
	}
	if n, ok := f.integer("order", intOpts{required: true, min: &int32Min, max: &int32Max}); ok {
		b.order = int(n)
	}
	// Policies are not simulated: every policy pk is unknown.
	if id, ok := f.uuidRef("policy", false, true, func(string) bool { return false }); ok {
		b.policy = id
	}
	if id, ok := f.uuidRef("group", false, true, func(id string) bool { return st.groupByUUID(id) != nil }); ok {
		b.group = id
	}
	if pk, ok := f.intRef("user", true, func(pk int) bool { return st.userByPK(pk) != nil }); ok {
		b.user = pk
	}
	if v, ok := f.boolean("negate"); ok {
		b.negate = v
	}
	if v, ok := f.boolean("enabled"); ok {
		b.enabled = v
	}
	zero := int64(0)
	if n, ok := f.integer("timeout", intOpts{min: &zero, max: &int32Max}); ok {
		b.timeout = int(n)
	}
	if v, ok := f.boolean("failure_result"); ok {
		b.failureResult = v
	}
	if f.ok() {
		n := 0
		if b.policy != "" {
			n++
		}
		if b.group != "" {
			n++
		}
		if b.user != nil {
			n++
		}
		const which = "'policy', 'group', 'user'"
		if n > 1 {
			f.errs["non_field_errors"] = []string{"Only one of " + which + " can be set."}
		} else if n < 1 {
			f.errs["non_field_errors"] = []string{"One of " + which + " must be set."}
		}
	}
	return b
}

func (c *call) createBinding() (int, any, *apiErr) {
	b, err := validated(c, false, nil, c.bindingForm)
	if err != nil {
		return 0, nil, err
	}
	b.pk = newUUID()
	c.s.st.bindings = append(c.s.st.bindings, b)
	return http.StatusCreated, c.bindingJSON(b), nil
}

func (c *call) putBinding() (int, any, *apiErr) {
	return update(c, false, c.lookupBinding, c.bindingForm, c.bindingJSON)
}

func (c *call) patchBinding() (int, any, *apiErr) {
	return update(c, true, c.lookupBinding, c.bindingForm, c.bindingJSON)
}

func (c *call) deleteBinding() (int, any, *apiErr) {
	b, err := c.lookupBinding()
	if err != nil {
		return 0, nil, err
	}
	c.s.st.bindings = without(c.s.st.bindings, b)
	return http.StatusNoContent, nil, nil
}
