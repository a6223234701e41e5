package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// version is an authentik release number (YYYY.M.P). A suffix such as
// "-rc1" is kept for display only.
type version struct {
	Major, Minor, Patch int
	raw                 string
}

func parseVersion(s string) (version, error) {
	raw := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "version/")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return version{}, fmt.Errorf("authentik version %q: want YYYY.M.P", raw)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return version{}, fmt.Errorf("authentik version %q: want YYYY.M.P", raw)
		}
		n[i] = v
	}
	return version{Major: n[0], Minor: n[1], Patch: n[2], raw: strings.TrimSpace(raw)}, nil
}

func (v version) String() string {
	if v.raw != "" {
		return v.raw
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// atLeast reports whether v >= maj.min.patch.
func (v version) atLeast(maj, min, patch int) bool {
	if v.Major != maj {
		return v.Major > maj
	}
	if v.Minor != min {
		return v.Minor > min
	}
	return v.Patch >= patch
}

// The behaviour switches of the simulator, one per documented API change.
// Sources: shared/reference/authentik-versions.md (AV) and authentik-api.md
// (AA), and the official schemas 2024.8.4, 2024.12.3, 2025.8.1, 2026.8.3 (S).
// Where a change is visible only in the 2026.8.3 schema and no document pins
// the release that brought it, the switch sits at the first release the
// documents name for the neighbouring change and says ASSUMPTION.

// scopePathProvider: /propertymappings/scope/ moved to
// /propertymappings/provider/scope/ in 2024.8.0 (AV).
func (v version) scopePathProvider() bool { return v.atLeast(2024, 8, 0) }

// redirectURIObjects: redirect_uris became [{matching_mode,url}] in the
// CVE-2024-52289 releases 2024.8.5 and 2024.10.3; 2024.10.0-2024.10.2 still
// had the newline string (AV, AA §5).
func (v version) redirectURIObjects() bool {
	if !v.atLeast(2024, 8, 5) {
		return false
	}
	if v.Major == 2024 && v.Minor == 10 && v.Patch < 3 {
		return false
	}
	return true
}

// invalidationFlow: invalidation_flow added and required on providers in
// 2024.10.0, with the new default-provider-invalidation-flow (AV).
func (v version) invalidationFlow() bool { return v.atLeast(2024, 10, 0) }

// encryptionKey: OAuth2Provider.encryption_key since 2024.10.0 (AV).
func (v version) encryptionKey() bool { return v.atLeast(2024, 10, 0) }

// jwtFederation: jwks_sources replaced by jwt_federation_sources/_providers
// in 2024.12.0 (AV).
func (v version) jwtFederation() bool { return v.atLeast(2024, 12, 0) }

// entitlementsScope: managed scope-entitlements since 2024.12.0 (AV).
func (v version) entitlementsScope() bool { return v.atLeast(2024, 12, 0) }

// ecCurveAlgs: P-384/P-521 keys sign ES384/ES512 since 2025.4.0; before,
// every EC key was labelled ES256 (AV).
func (v version) ecCurveAlgs() bool { return v.atLeast(2025, 4, 0) }

// autocomplete: every Paginated*List gained a required autocomplete object
// in 2025.8.0 (AV, S).
func (v version) autocomplete() bool { return v.atLeast(2025, 8, 0) }

// backchannelLogoutURI: OAuth2Provider.backchannel_logout_uri existed in
// 2025.8 only (added 2025.8.0, removed 2025.10.0) (AV).
func (v version) backchannelLogoutURI() bool {
	return v.atLeast(2025, 8, 0) && !v.atLeast(2025, 10, 0)
}

// logoutURI: logout_uri, logout_method, refresh_token_threshold since
// 2025.10.0 (AV).
func (v version) logoutURI() bool { return v.atLeast(2025, 10, 0) }

// emailVerifiedFalse: the default email mapping returns email_verified False
// since 2025.10.0, True before (AV, AA §3).
func (v version) emailVerifiedFalse() bool { return v.atLeast(2025, 10, 0) }

// reservedSlugs: application slugs authorize, token, device, userinfo,
// introspect, revoke are rejected since 2025.10.0 (AV).
func (v version) reservedSlugs() bool { return v.atLeast(2025, 10, 0) }

// groupChildren: Group.children / include_children since 2025.8.0, replaced
// by parents in 2025.12.0 (AV, S).
func (v version) groupChildren() bool { return v.atLeast(2025, 8, 0) }

// groupParents: Group.parent replaced by parents (list) in 2025.12.0 (AV).
func (v version) groupParents() bool { return v.atLeast(2025, 12, 0) }

// keyTypeEnum: CertificateKeyPair.private_key_type replaced by the key_type
// enum (and key_type list filter) in 2025.12.0 (AV).
func (v version) keyTypeEnum() bool { return v.atLeast(2025, 12, 0) }

// pageSizeCapped: default page size 20 and max 100 since 2025.12.0; before:
// default 100, page_size honoured as given (AA §0).
func (v version) pageSizeCapped() bool { return v.atLeast(2025, 12, 0) }

// slugMax50: Application and Flow slugs had maxLength 50 until 2025.10
// (AV: removed in 2025.12.0).
func (v version) slugMax50() bool { return !v.atLeast(2025, 12, 0) }

// userRoles: UserSelf.roles since 2025.12.0 (AV). ASSUMPTION: User.roles /
// roles_obj (present in the 2026.8.3 schema, absent in 2025.8.1) came with it.
func (v version) userRoles() bool { return v.atLeast(2025, 12, 0) }

// writableIcons: Application.meta_icon writable + meta_icon_url and
// Flow.background writable + background_url since 2025.12.0 (AV).
func (v version) writableIcons() bool { return v.atLeast(2025, 12, 0) }

// includeDetailsParam: the include_details list parameter of
// /crypto/certificatekeypairs/ was removed in 2026.2.0 (AV).
func (v version) includeDetailsParam() bool { return !v.atLeast(2026, 2, 0) }

// themedURLs: meta_icon_themed_urls since 2026.2 (AA §6). ASSUMPTION: the
// Flow.background_themed_urls field of the 2026.8.3 schema arrived with it.
func (v version) themedURLs() bool { return v.atLeast(2026, 2, 0) }

// grantTypes: OAuth2Provider.grant_types and RedirectURI.redirect_uri_type
// since 2026.5 (AV).
func (v version) grantTypes() bool { return v.atLeast(2026, 5, 0) }

// metaHide: Application.meta_hide since 2026.5 (AV).
func (v version) metaHide() bool { return v.atLeast(2026, 5, 0) }

// partialSerializers: in the 2026.8.3 schema nested users/groups are
// PartialUser/PartialGroup/RelatedGroup and Group gained inherited_roles_obj;
// Application gained pbm_uuid; PolicyBinding gained expires/expiring;
// SessionUser gained users and UserSelf is_current; OAuth2ProviderSetupURLs
// gained dcr_registration. AV places expiring bindings, user switching and
// DCR in 2026.8. ASSUMPTION: the remaining 2026.8.3-only shapes (Partial*,
// pbm_uuid, inherited_roles_obj) arrived in the same release.
func (v version) partialSerializers() bool { return v.atLeast(2026, 8, 0) }

// generateAlg: the generate endpoint takes alg (rsa|ecdsa, default rsa)
// since 2024.6.0; before, the key is always RSA and alg is an unknown key
// (ignored) (AV).
func (v version) generateAlg() bool { return v.atLeast(2024, 6, 0) }

// ed25519Generate: certificate generation accepts ed25519/ed448 since 2026.2
// (AV).
func (v version) ed25519Generate() bool { return v.atLeast(2026, 2, 0) }
