package authentik

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is an authentik release number, YYYY.M.P (e.g. 2025.8.1).
type Version struct {
	Major, Minor, Patch int
	// Pre is a pre-release suffix such as "rc1" (from "2026.5.0-rc1"), or "".
	Pre string
}

// ParseVersion parses "2025.8.1", "2026.5.0-rc1" or "2024.10" (patch 0).
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "version/"), "v")
	core, pre, _ := strings.Cut(s, "-")
	if p, _, ok := strings.Cut(core, "+"); ok {
		core = p
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("authentik: cannot parse version %q", s)
	}
	nums := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("authentik: cannot parse version %q", s)
		}
		nums[i] = n
	}
	if nums[0] < 2000 {
		// authentik has used calendar versions since 2021.x; anything else is
		// not an authentik version string.
		return Version{}, fmt.Errorf("authentik: %q is not a calendar version", s)
	}
	return Version{Major: nums[0], Minor: nums[1], Patch: nums[2], Pre: pre}, nil
}

// MustParseVersion is ParseVersion for constants; it panics on error.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// IsZero reports whether v is the zero (unknown) version.
func (v Version) IsZero() bool { return v.Major == 0 && v.Minor == 0 && v.Patch == 0 }

// AtLeast reports whether v >= major.minor.patch. Pre-releases count as the
// release they precede (2026.5.0-rc1 is at least 2026.5.0): authentik's
// release candidates already carry the API of the release.
func (v Version) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

func (v Version) String() string {
	if v.IsZero() {
		return "unknown"
	}
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// The API differences pvesso cares about, each keyed to the release that
// brought it (shared/reference/authentik-versions.md).

// scopeMappingsUnderProvider: /propertymappings/scope/ moved to
// /propertymappings/provider/scope/ in 2024.8.0.
func (v Version) scopeMappingsUnderProvider() bool { return v.AtLeast(2024, 8, 0) }

// redirectURIObjects: redirect_uris became [{matching_mode, url}] in the
// CVE-2024-52289 security releases 2024.8.5 and 2024.10.3; 2024.10.0-2024.10.2
// still take the newline-separated string.
func (v Version) redirectURIObjects() bool {
	switch {
	case v.AtLeast(2024, 11, 0):
		return true
	case v.AtLeast(2024, 10, 0):
		return v.Patch >= 3
	default:
		return v.AtLeast(2024, 8, 5)
	}
}

// hasInvalidationFlow: providers require invalidation_flow from 2024.10.0.
func (v Version) hasInvalidationFlow() bool { return v.AtLeast(2024, 10, 0) }

// hasEncryptionKey: OAuth2 providers have encryption_key (JWE) from 2024.10.0.
func (v Version) hasEncryptionKey() bool { return v.AtLeast(2024, 10, 0) }

// hasGrantTypes: OAuth2 providers have grant_types, and redirect URIs
// redirect_uri_type, from 2026.5.
func (v Version) hasGrantTypes() bool { return v.AtLeast(2026, 5, 0) }

// hasKeyTypeField: certificate key pairs report key_type (enum) from 2025.12.0
// instead of private_key_type (free string).
func (v Version) hasKeyTypeField() bool { return v.AtLeast(2025, 12, 0) }

// hasGenerateAlg: the generate endpoint takes alg (rsa|ecdsa) from 2024.6.0.
func (v Version) hasGenerateAlg() bool { return v.AtLeast(2024, 6, 0) }

// hasEdwardsGenerateAlg: ed25519/ed448 generation from 2026.2.0.
func (v Version) hasEdwardsGenerateAlg() bool { return v.AtLeast(2026, 2, 0) }

// hasGroupsIncludeUsers: /core/groups/ takes include_users from 2024.4.0.
func (v Version) hasGroupsIncludeUsers() bool { return v.AtLeast(2024, 4, 0) }

// reservedAppSlugs: slugs authentik rejects for applications from 2025.10.0.
func (v Version) reservedAppSlugs() bool { return v.AtLeast(2025, 10, 0) }

// VersionInfo is the answer of GET /api/v3/admin/version/.
type VersionInfo struct {
	Current         string  `json:"version_current"`
	Latest          string  `json:"version_latest"`
	LatestValid     bool    `json:"version_latest_valid"`
	BuildHash       string  `json:"build_hash"`
	Outdated        bool    `json:"outdated"`
	OutpostOutdated bool    `json:"outpost_outdated"`
	Parsed          Version `json:"-"`
}
