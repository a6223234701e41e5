package steps

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	// pve-realm (proxmox-api.md §4): letter first, >= 2 chars, <= 32.
	realmRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]+$`)
	// pve-groupid (proxmox-api.md §6).
	groupRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	// application slug (authentik-api.md §6).
	slugRe = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)
	// role ids are identifiers such as Administrator, PVEAuditor.
	roleRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// SubjectModes are authentik's sub_mode values (authentik-api.md §5).
var SubjectModes = []string{"user_email", "hashed_user_id", "user_id", "user_uuid", "user_username", "user_upn"}

// UsernameClaims are the username-claim values pvesso can predict userids for.
var UsernameClaims = []string{"subject", "username", "email"}

// reserved application slugs since 2025.10 (authentik-api.md §6).
var reservedSlugs = map[string]bool{"authorize": true, "token": true, "device": true, "userinfo": true, "introspect": true, "revoke": true}

// WithDefaults fills empty fields from DefaultInputs (ProviderName from
// AppName).
func (in Inputs) WithDefaults() Inputs {
	d := DefaultInputs()
	set := func(p *string, v string) {
		if strings.TrimSpace(*p) == "" {
			*p = v
		}
	}
	set(&in.Realm, d.Realm)
	set(&in.Group, d.Group)
	set(&in.Role, d.Role)
	set(&in.ACLPath, d.ACLPath)
	set(&in.AppSlug, d.AppSlug)
	set(&in.AppName, d.AppName)
	set(&in.SubjectMode, d.SubjectMode)
	set(&in.UsernameClaim, d.UsernameClaim)
	set(&in.ProviderName, in.AppName)
	return in
}

// Validate checks the inputs without any network access. The error is a
// *UsageError naming the flag.
func (in Inputs) Validate() error {
	if _, err := Origin(in.ProxmoxURL); err != nil {
		return &UsageError{Flag: "--proxmox-url / PROXMOX_VE_ENDPOINT", Detail: err.Error()}
	}
	if in.AuthentikURL != "" {
		if err := checkHTTPS(in.AuthentikURL); err != nil {
			return &UsageError{Flag: "--authentik-url / AUTHENTIK_URL", Detail: err.Error()}
		}
	}
	return in.ValidateNames()
}

// ValidateNames is Validate without the URLs: the names and choices (realm,
// group, role, ACL path, slug, subject mode, username claim, redirect URIs,
// users). Empty fields take the defaults. The error is a *UsageError whose
// Flag is the one flag to fix ("--realm").
func (in Inputs) ValidateNames() error {
	in = in.WithDefaults()
	if !realmRe.MatchString(in.Realm) || len(in.Realm) > 32 {
		return &UsageError{Flag: "--realm", Detail: fmt.Sprintf("%q is not a valid realm id (a letter, then letters, digits, '.', '_' or '-'; 2-32 characters)", in.Realm)}
	}
	if in.Realm == "pam" || in.Realm == "pve" {
		return &UsageError{Flag: "--realm", Detail: fmt.Sprintf("%q is a reserved Proxmox realm", in.Realm)}
	}
	if !groupRe.MatchString(in.Group) {
		return &UsageError{Flag: "--group", Detail: fmt.Sprintf("%q is not a valid group id (letters, digits, '.', '_' or '-')", in.Group)}
	}
	if !roleRe.MatchString(in.Role) {
		return &UsageError{Flag: "--role", Detail: fmt.Sprintf("%q is not a valid role id", in.Role)}
	}
	if !strings.HasPrefix(in.ACLPath, "/") || strings.ContainsAny(in.ACLPath, " \t\r\n") {
		return &UsageError{Flag: "--acl-path", Detail: fmt.Sprintf("%q is not an ACL path (it starts with /)", in.ACLPath)}
	}
	if !slugRe.MatchString(in.AppSlug) || reservedSlugs[in.AppSlug] {
		return &UsageError{Flag: "--app-slug", Detail: fmt.Sprintf("%q is not a usable application slug (letters, digits, '-' or '_'; not a reserved word)", in.AppSlug)}
	}
	if strings.TrimSpace(in.AppName) == "" {
		return &UsageError{Flag: "--app-name", Detail: "must not be empty"}
	}
	if !slices.Contains(SubjectModes, in.SubjectMode) {
		return &UsageError{Flag: "--subject-mode", Detail: fmt.Sprintf("%q is not one of %s", in.SubjectMode, strings.Join(SubjectModes, ", "))}
	}
	if !slices.Contains(UsernameClaims, in.UsernameClaim) {
		return &UsageError{Flag: "--username-claim", Detail: fmt.Sprintf("%q is not one of %s", in.UsernameClaim, strings.Join(UsernameClaims, ", "))}
	}
	for _, u := range in.RedirectURIs {
		if _, err := redirectOrigin(u); err != nil {
			return &UsageError{Flag: "--redirect-uri", Detail: err.Error()}
		}
	}
	for _, u := range in.Users {
		if strings.TrimSpace(u) == "" || strings.ContainsAny(u, " \t\r\n:/") {
			return &UsageError{Flag: "--user", Detail: fmt.Sprintf("%q is not an Authentik username or email", u)}
		}
	}
	return nil
}

func checkHTTPS(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL like https://host:port", raw)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%q must use https", raw)
	}
	return nil
}

// Origin returns scheme://host[:port] of an https URL, the value a browser
// sends as location.origin: lower-case host, no path, no trailing slash,
// no default port.
func Origin(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("a Proxmox URL like https://pve.example.com:8006 is required")
	}
	if err := checkHTTPS(raw); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must not carry credentials, a query or a fragment", raw)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && port != "443" {
		return "https://" + host + ":" + port, nil
	}
	return "https://" + host, nil
}

// redirectOrigin accepts a redirect URI given by the user: Proxmox always
// sends the browser origin, so a path other than "/" can never match.
func redirectOrigin(raw string) (string, error) {
	o, err := Origin(raw)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(strings.TrimSpace(raw))
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("%q has a path; Proxmox sends the bare origin (https://host:8006) as redirect URI", raw)
	}
	return o, nil
}

// nodeOrigin is https://<host>:8006 (IPv6 in brackets).
// ASSUMPTION: every node's GUI listens on the default port 8006 (pveproxy's
// fixed port); a reverse proxy in front must be added with --redirect-uri.
func nodeOrigin(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "https://[" + strings.ToLower(host) + "]:8006"
	}
	return "https://" + strings.ToLower(host) + ":8006"
}
