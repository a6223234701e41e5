package sim

import (
	"crypto"
	"time"
)

// Managed identifiers of the default OAuth2 scope mappings
// [blueprints/system/providers-oauth2.yaml; authentik-api.md §3].
const (
	ManagedScopeOpenID        = "goauthentik.io/providers/oauth2/scope-openid"
	ManagedScopeEmail         = "goauthentik.io/providers/oauth2/scope-email"
	ManagedScopeProfile       = "goauthentik.io/providers/oauth2/scope-profile"
	ManagedScopeOfflineAccess = "goauthentik.io/providers/oauth2/scope-offline_access"
	ManagedScopeEntitlements  = "goauthentik.io/providers/oauth2/scope-entitlements"
	ManagedScopeAuthentikAPI  = "goauthentik.io/providers/oauth2/scope-authentik_api"
)

// Slugs of the default flows [blueprints/default/*.yaml; authentik-api.md §2].
const (
	FlowAuthentication        = "default-authentication-flow"
	FlowInvalidation          = "default-invalidation-flow"
	FlowImplicitConsent       = "default-provider-authorization-implicit-consent"
	FlowExplicitConsent       = "default-provider-authorization-explicit-consent"
	FlowProviderInvalidation  = "default-provider-invalidation-flow"
	FlowSourceAuthentication  = "default-source-authentication"
	FlowSourceEnrollment      = "default-source-enrollment"
	FlowSourcePreAuth         = "default-source-pre-authentication"
	FlowUserSettings          = "default-user-settings-flow"
	FlowPasswordChange        = "default-password-change"
	FlowAuthenticatorStatic   = "default-authenticator-static-setup"
	FlowAuthenticatorTOTP     = "default-authenticator-totp-setup"
	FlowAuthenticatorWebAuthn = "default-authenticator-webauthn-setup"
	FlowInitialSetup          = "initial-setup"
)

// AdminGroupName is the superuser group of a fresh install.
const AdminGroupName = "authentik Admins"

// Demo users. ASSUMPTION: a real fresh install has only akadmin (plus
// internal accounts that the user API does not list); alice and bob are
// simulator additions for login tests. akadmin's e-mail is set during the
// initial-setup flow; the simulator uses akadmin@example.com.
var demoUsers = []struct {
	username, name, email string
	admin                 bool
}{
	{"akadmin", "authentik Default Admin", "akadmin@example.com", true},
	{"alice", "Alice Example", "alice@example.com", false},
	{"bob", "Bob Example", "bob@example.com", false},
}

func (s *Server) seed(now time.Time) error {
	st := &s.st
	st.installID = newUUID()
	st.sessions = map[string]*session{}
	st.codes = map[string]*authCode{}
	st.accessTokens = map[string]*grantToken{}
	st.refreshTokens = map[string]*grantToken{}

	// Flows, from the default blueprints (name, title, designation,
	// authentication as written there).
	addFlow := func(slug, name, title, designation, authn string, consent bool) {
		st.flows = append(st.flows, &flow{
			pk: newUUID(), slug: slug, name: name, title: title, designation: designation,
			authentication: authn, policyEngineMode: "any", layout: "stacked",
			deniedAction: "message_continue", consent: consent,
		})
	}
	addFlow(FlowAuthentication, "Welcome to authentik!", "Welcome to authentik!", "authentication", "none", false)
	addFlow(FlowInvalidation, "Logout", "Default Invalidation Flow", "invalidation", "none", false)
	addFlow(FlowImplicitConsent, "Authorize Application", "Redirecting to %(app)s", "authorization", "require_authenticated", false)
	addFlow(FlowExplicitConsent, "Authorize Application", "Redirecting to %(app)s", "authorization", "require_authenticated", true)
	if s.ver.invalidationFlow() {
		// blueprints/default/flow-default-provider-invalidation.yaml, first in 2024.10.0.
		addFlow(FlowProviderInvalidation, "Logout", "You've logged out of %(app)s.", "invalidation", "none", false)
	}
	addFlow(FlowSourceAuthentication, "Welcome to authentik!", "Welcome to authentik!", "authentication", "require_unauthenticated", false)
	addFlow(FlowSourceEnrollment, "Welcome to authentik! Please select a username.", "Welcome to authentik! Please select a username.", "enrollment", "none", false)
	addFlow(FlowSourcePreAuth, "Pre-Authentication", "Pre-authentication", "stage_configuration", "none", false)
	addFlow(FlowUserSettings, "User settings", "Update your info", "stage_configuration", "require_authenticated", false)
	addFlow(FlowPasswordChange, "Change Password", "Change password", "stage_configuration", "require_authenticated", false)
	addFlow(FlowAuthenticatorStatic, "default-authenticator-static-setup", "Setup Static OTP Tokens", "stage_configuration", "require_authenticated", false)
	addFlow(FlowAuthenticatorTOTP, "default-authenticator-totp-setup", "Set up Two-Factor authentication", "stage_configuration", "require_authenticated", false)
	addFlow(FlowAuthenticatorWebAuthn, "default-authenticator-webauthn-setup", "Setup WebAuthn", "stage_configuration", "require_authenticated", false)
	addFlow(FlowInitialSetup, "default-oobe-setup", "Welcome to authentik!", "stage_configuration", "none", false)

	// Scope mappings [blueprints/system/providers-oauth2.yaml].
	addScope := func(managed, name, scope, desc, expr string) {
		st.scopeMappings = append(st.scopeMappings, &scopeMapping{
			pk: newUUID(), managed: managed, name: name, scopeName: scope, description: desc, expression: expr,
		})
	}
	emailVerified := "True"
	if s.ver.emailVerifiedFalse() {
		emailVerified = "False"
	}
	addScope(ManagedScopeOpenID, "authentik default OAuth Mapping: OpenID 'openid'", "openid", "",
		"# This scope is required by the OpenID-spec, and must as such exist in authentik.\n# The scope by itself does not grant any information\nreturn {}\n")
	addScope(ManagedScopeEmail, "authentik default OAuth Mapping: OpenID 'email'", "email", "Email address",
		"return {\n    \"email\": request.user.email,\n    \"email_verified\": "+emailVerified+"\n}\n")
	// The groups claim comes from user.ak_groups up to 2025.12 and from
	// user.groups since 2026.2 (ak_groups deprecated; authentik-versions.md).
	// Same claim either way: the names of the user's direct groups.
	groupsRel := "ak_groups"
	if s.ver.atLeast(2026, 2, 0) {
		groupsRel = "groups"
	}
	addScope(ManagedScopeProfile, "authentik default OAuth Mapping: OpenID 'profile'", "profile", "General Profile Information",
		"return {\n    # Because authentik only saves the user's full name, and has no concept of first and last names,\n    # the full name is used as given name.\n    # You can override this behaviour in custom mappings, i.e. `request.user.name.split(\" \")`\n    \"name\": request.user.name,\n    \"given_name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username,\n    \"groups\": [group.name for group in request.user."+groupsRel+".all()],\n}\n")
	if s.ver.entitlementsScope() {
		addScope(ManagedScopeEntitlements, "authentik default OAuth Mapping: Application Entitlements", "entitlements", "Application entitlements",
			"entitlements = [entitlement.name for entitlement in request.user.app_entitlements(provider.application)]\nreturn {\n    \"entitlements\": entitlements,\n    \"roles\": entitlements,\n}\n")
	}
	addScope(ManagedScopeOfflineAccess, "authentik default OAuth Mapping: OpenID 'offline_access'", "offline_access", "Access to request new tokens without interaction",
		"# This scope grants the application a refresh token that can be used to refresh user data\n# and let the application access authentik without the users interaction\nreturn {}\n")
	if s.ver.scopePathProvider() {
		addScope(ManagedScopeAuthentikAPI, "authentik default OAuth Mapping: authentik API access", "goauthentik.io/api", "authentik API Access on behalf of your user",
			"# This scope grants the application the ability to access the authentik API\n# on behalf of the authorizing user\nreturn {}\n")
	}

	// Key pairs.
	rsaKey, err := seedRSA()
	if err != nil {
		return err
	}
	for _, p := range []struct {
		name    string
		key     crypto.Signer // nil: a new P-256 key
		sans    []string
		days    int
		withKey bool
	}{
		{SelfSignedCertName, rsaKey, []string{generateID(40) + ".self-signed.goauthentik.io"}, 365, true},
		{DemoECCertName, nil, nil, 365, true},
		{DemoCACertName, nil, nil, 3650, false},
	} {
		key := p.key
		if key == nil {
			if key, err = generateKey("ecdsa"); err != nil {
				return err
			}
		}
		kp, err := buildKeyPair(p.name, p.name, key, p.sans, p.days, s.ver, now, p.withKey)
		if err != nil {
			return err
		}
		st.keyPairs = append(st.keyPairs, kp)
	}

	// Users and the admin group. ASSUMPTION: akadmin's pk; a real install
	// has guardian's anonymous user and an outpost service account first.
	st.nextUserPK = 4
	st.nextProvPK = 1
	admins := &group{uuid: newUUID(), name: AdminGroupName, isSuperuser: true, attributes: map[string]any{}}
	admins.numPK = numPKFromUUID(admins.uuid)
	for _, d := range demoUsers {
		u := st.addUser(d.username, d.name, d.email, now)
		if d.admin {
			admins.users = append(admins.users, u.pk)
		}
	}
	st.groups = append(st.groups, admins)
	st.tokens = append(st.tokens, &apiToken{key: generateID(60), identifier: "authentik-bootstrap-token", user: st.userByName("akadmin").pk})
	return nil
}
