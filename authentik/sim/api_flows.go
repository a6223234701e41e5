package sim

import (
	"net/http"
	"slices"
	"strings"
)

var flowDesignations = []string{"authentication", "authorization", "invalidation", "enrollment", "unenrollment", "recovery", "stage_configuration"}

// flowJSON mirrors FlowSerializer for the simulated release.
func (c *call) flowJSON(f *flow) map[string]any {
	const bg = "/static/dist/assets/images/flow_background.jpg"
	out := map[string]any{
		"pk": f.pk, "policybindingmodel_ptr_id": f.pk, "name": f.name, "slug": f.slug,
		"title": f.title, "designation": f.designation, "background": bg,
		"stages": []string{}, "policies": []string{}, "cache_count": 0,
		"policy_engine_mode": f.policyEngineMode, "compatibility_mode": f.compatibility,
		"export_url": "/api/v3/flows/instances/" + f.slug + "/export/", "layout": f.layout,
		"denied_action": f.deniedAction, "authentication": f.authentication,
	}
	if c.s.ver.writableIcons() {
		// ASSUMPTION: since background became writable (2025.12) it holds
		// the stored value ("" = default) and background_url the resolved URL.
		out["background"] = ""
		out["background_url"] = bg
	}
	if c.s.ver.themedURLs() {
		out["background_themed_urls"] = nil
	}
	return out
}

func (c *call) listFlows() (int, any, *apiErr) {
	lp := listParams{c.q}
	designation, hasDes, err := lp.choiceFilter("designation", flowDesignations)
	if err != nil {
		return 0, nil, err
	}
	deniedAction, hasDenied, err := lp.choiceFilter("denied_action", []string{"message_continue", "message", "continue"})
	if err != nil {
		return 0, nil, err
	}
	var out []*flow
	for _, f := range c.s.st.flows {
		if !lp.exact(map[string]string{"slug": f.slug, "name": f.name, "flow_uuid": f.pk}) {
			continue
		}
		if hasDes && f.designation != designation {
			continue
		}
		if hasDenied && f.deniedAction != deniedAction {
			continue
		}
		if !lp.search(f.slug, f.name, f.title) {
			continue
		}
		out = append(out, f)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*flow) string{
		"slug":        func(f *flow) string { return f.slug },
		"name":        func(f *flow) string { return f.name },
		"title":       func(f *flow) string { return f.title },
		"designation": func(f *flow) string { return f.designation },
	}, "slug")
	return listAnswer(c, out, c.flowJSON)
}

// getFlow retrieves by slug (lookup_field = "slug").
func (c *call) getFlow() (int, any, *apiErr) {
	f := c.s.st.flowBySlug(c.params["slug"])
	if f == nil {
		return 0, nil, notFound("Flow")
	}
	return http.StatusOK, c.flowJSON(f), nil
}

// ---- scope mappings ------------------------------------------------------

func (c *call) scopeJSON(m *scopeMapping) map[string]any {
	var managed any
	if m.managed != "" {
		managed = m.managed
	}
	component := "ak-property-mapping-provider-scope-form"
	if !c.s.ver.scopePathProvider() {
		// ASSUMPTION: the form component before the 2024.8 move.
		component = "ak-property-mapping-scope-form"
	}
	return map[string]any{
		"pk": m.pk, "managed": managed, "name": m.name, "expression": m.expression,
		"component": component, "verbose_name": "Scope Mapping", "verbose_name_plural": "Scope Mappings",
		"meta_model_name": "authentik_providers_oauth2.scopemapping", "scope_name": m.scopeName,
		"description": m.description,
	}
}

func (c *call) listScopeMappings() (int, any, *apiErr) {
	lp := listParams{c.q}
	managed := c.q["managed"]
	var out []*scopeMapping
	for _, m := range c.s.st.scopeMappings {
		if len(managed) > 0 && !slices.Contains(managed, m.managed) {
			continue
		}
		if v, ok := lp.boolFilter("managed__isnull"); ok && c.s.ver.scopePathProvider() && (m.managed == "") != v {
			continue
		}
		if !lp.exact(map[string]string{"scope_name": m.scopeName, "name": m.name}) {
			continue
		}
		if !lp.search(m.name) {
			continue
		}
		out = append(out, m)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*scopeMapping) string{
		"name":       func(m *scopeMapping) string { return m.name },
		"scope_name": func(m *scopeMapping) string { return m.scopeName },
	}, "name")
	return listAnswer(c, out, c.scopeJSON)
}

func (c *call) getScopeMapping() (int, any, *apiErr) {
	id, ok := normUUID(c.params["pm_uuid"])
	if !ok {
		return 0, nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	m := c.s.st.scopeMappingByPK(id)
	if m == nil {
		return 0, nil, notFound("ScopeMapping")
	}
	return http.StatusOK, c.scopeJSON(m), nil
}

// ---- certificate key pairs -----------------------------------------------

// keyPairJSON mirrors CertificateKeyPairSerializer [authentik/crypto/api.py]:
// include_details=false (until 2026.2) nulls fingerprints, expiry, subject
// and private_key_type.
func (c *call) keyPairJSON(k *keyPair) map[string]any {
	details := true
	if c.s.ver.includeDetailsParam() && c.q.Has("include_details") {
		// str(request.query_params.get("include_details", "true")).lower() == "true"
		details = strings.ToLower(c.q.Get("include_details")) == "true"
	}
	var managed any
	if k.managed != "" {
		managed = k.managed
	}
	out := map[string]any{
		"pk": k.pk, "name": k.name,
		"fingerprint_sha256": nil, "fingerprint_sha1": nil, "cert_expiry": nil, "cert_subject": nil,
		"private_key_available":    k.keyPEM != "",
		"certificate_download_url": "/api/v3/crypto/certificatekeypairs/" + k.pk + "/view_certificate/?download",
		"private_key_download_url": "/api/v3/crypto/certificatekeypairs/" + k.pk + "/view_private_key/?download",
		"managed":                  managed,
	}
	if details {
		out["fingerprint_sha256"] = k.fingerprintSHA256()
		out["fingerprint_sha1"] = k.fingerprintSHA1()
		out["cert_expiry"] = pyTime(k.cert.NotAfter)
		out["cert_subject"] = k.subject()
	}
	if c.s.ver.keyTypeEnum() {
		out["key_type"] = k.keyType()
	} else {
		out["private_key_type"] = nil
		if details {
			out["private_key_type"] = k.privateKeyType()
		}
	}
	return out
}

func (c *call) listKeyPairs() (int, any, *apiErr) {
	lp := listParams{c.q}
	keyTypes := c.q["key_type"]
	if !c.s.ver.keyTypeEnum() {
		keyTypes = nil
	}
	for _, kt := range keyTypes {
		if !slices.Contains([]string{"rsa", "ec", "dsa", "ed25519", "ed448"}, kt) {
			return 0, nil, &apiErr{status: http.StatusBadRequest, body: map[string]any{
				"key_type": []string{"Select a valid choice. " + kt + " is not one of the available choices."}}}
		}
	}
	var out []*keyPair
	for _, k := range c.s.st.keyPairs {
		if k.hidden {
			continue
		}
		if v, ok := lp.boolFilter("has_key"); ok && v && k.keyPEM == "" {
			continue
		}
		if !lp.exact(map[string]string{"name": k.name, "managed": k.managed}) {
			continue
		}
		if len(keyTypes) > 0 {
			kt, _ := k.keyType().(string)
			if !slices.Contains(keyTypes, kt) {
				continue
			}
		}
		if !lp.search(k.name) {
			continue
		}
		out = append(out, k)
	}
	orderBy(out, c.q.Get("ordering"), map[string]func(*keyPair) string{
		"name": func(k *keyPair) string { return k.name },
	}, "name")
	return listAnswer(c, out, c.keyPairJSON)
}

func (c *call) lookupKeyPair() (*keyPair, *apiErr) {
	id, ok := normUUID(c.params["kp_uuid"])
	if !ok {
		return nil, detailErr(http.StatusNotFound, msgNotFound)
	}
	k := c.s.st.keyPairByPK(id)
	if k == nil || k.hidden {
		return nil, notFound("CertificateKeyPair")
	}
	return k, nil
}

func (c *call) getKeyPair() (int, any, *apiErr) {
	k, err := c.lookupKeyPair()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, c.keyPairJSON(k), nil
}

// viewCertificate mirrors view_certificate: {"data": "<PEM>"}, or the PEM
// file itself with ?download.
func (c *call) viewCertificate() (int, any, *apiErr) {
	k, err := c.lookupKeyPair()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"data": k.certPEM}, nil
}

func (c *call) deleteKeyPair() (int, any, *apiErr) {
	k, err := c.lookupKeyPair()
	if err != nil {
		return 0, nil, err
	}
	st := &c.s.st
	st.keyPairs = without(st.keyPairs, k)
	// signing_key / encryption_key are on_delete=SET_NULL.
	for _, p := range st.providers {
		if p.signingKey == k.pk {
			p.signingKey = ""
		}
		if p.encryptionKey == k.pk {
			p.encryptionKey = ""
		}
	}
	return http.StatusNoContent, nil, nil
}

// generateKeyPair mirrors POST /crypto/certificatekeypairs/generate/
// (CertificateGenerationSerializer; 200 with the pair; RSA 4096 / EC P-256).
// A duplicate name hits the unique constraint of CertificateKeyPair.name in
// the builder's save, which authentik does not validate first: the real
// server answers 500. ASSUMPTION: the simulator answers 500 with Django's
// plain "Server Error (500)" page.
func (c *call) generateKeyPair() (int, any, *apiErr) {
	f, err := parseBody(c.r, false)
	if err != nil {
		return 0, nil, err
	}
	cn, cnOK := f.str("common_name", strOpts{required: true})
	san, _ := f.str("subject_alt_name", strOpts{allowBlank: true})
	days, daysOK := f.integer("validity_days", intOpts{required: true})
	algs := []string{"rsa", "ecdsa"}
	if c.s.ver.ed25519Generate() {
		algs = append(algs, "ed25519", "ed448")
	}
	alg := "rsa"
	if c.s.ver.generateAlg() {
		if a, ok := f.choice("alg", false, algs); ok {
			alg = a
		}
	}
	if !f.ok() || !cnOK || !daysOK {
		return 0, nil, f.err()
	}
	for _, k := range c.s.st.keyPairs {
		if k.name == cn {
			return 0, nil, &apiErr{status: http.StatusInternalServerError, body: map[string]any{"detail": "Server Error (500)"}}
		}
	}
	if alg == "ed448" {
		// Go's standard library has no Ed448; the simulator cannot build it.
		return 0, nil, &apiErr{status: http.StatusInternalServerError, body: map[string]any{"detail": "Server Error (500)"}}
	}
	key, gerr := generateKey(alg)
	if gerr != nil {
		return 0, nil, &apiErr{status: http.StatusInternalServerError, body: map[string]any{"detail": gerr.Error()}}
	}
	var sans []string
	if san != "" {
		sans = strings.Split(san, ",")
	}
	kp, berr := buildKeyPair(cn, cn, key, sans, int(days), c.s.ver, c.s.now(), true)
	if berr != nil {
		return 0, nil, &apiErr{status: http.StatusInternalServerError, body: map[string]any{"detail": berr.Error()}}
	}
	c.s.st.keyPairs = append(c.s.st.keyPairs, kp)
	return http.StatusOK, c.keyPairJSON(kp), nil
}
