package sim

import (
	"embed"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The parameter schemas are the official API-viewer data (apidoc/SOURCE.md),
// trimmed to the served paths. Validation follows pve-common's
// PVE::JSONSchema (check_object / check_prop / check_type / check_format),
// read from proxmox/pve-common src/PVE/JSONSchema.pm.

//go:embed apidoc/pve-8.0.json apidoc/pve-9.2.json
var apidocFS embed.FS

type prop struct {
	Type      string
	Optional  bool
	Format    string
	Pattern   string
	re        *regexp.Regexp
	MaxLength int // -1: none
	MinLength int // -1: none
	Minimum   *float64
	Maximum   *float64
	Enum      []string
	Requires  string
	patMin    int
	patMax    int // > 0: bound of a big repeat count (see parseProp)
}

var reBigRepeat = regexp.MustCompile(`^(\[[^\]]+\])\{(\d+),(\d+)\}$`)

type permSpec struct {
	User  string
	Check []any
}

type method struct {
	Props      map[string]*prop
	AllowToken bool
	Protected  bool
	Perm       permSpec
}

// apiSchema maps a path template ("/access/domains/{realm}") and an HTTP
// method to the declared parameters and permissions.
type apiSchema map[string]map[string]*method

func loadSchema(file string) (apiSchema, error) {
	raw, err := apidocFS.ReadFile("apidoc/" + file)
	if err != nil {
		return nil, err
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	out := apiSchema{}
	for path, methods := range doc {
		out[path] = map[string]*method{}
		for m, info := range methods {
			mt := &method{Props: map[string]*prop{}, AllowToken: true}
			if v, ok := info["allowtoken"]; ok {
				mt.AllowToken = truthy(v)
			}
			mt.Protected = truthy(info["protected"])
			if perms, ok := info["permissions"].(map[string]any); ok {
				if u, ok := perms["user"].(string); ok {
					mt.Perm.User = u
				}
				if c, ok := perms["check"].([]any); ok {
					mt.Perm.Check = c
				}
			}
			if params, ok := info["parameters"].(map[string]any); ok {
				if props, ok := params["properties"].(map[string]any); ok {
					for name, pv := range props {
						p, err := parseProp(pv.(map[string]any))
						if err != nil {
							return nil, fmt.Errorf("%s %s %s: %w", m, path, name, err)
						}
						mt.Props[name] = p
					}
				}
			}
			out[path][m] = mt
		}
	}
	return out, nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	}
	return false
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func parseProp(m map[string]any) (*prop, error) {
	p := &prop{MaxLength: -1, MinLength: -1}
	p.Type, _ = m["type"].(string)
	p.Optional = truthy(m["optional"])
	if f, ok := m["format"].(string); ok {
		p.Format = f
	}
	if pat, ok := m["pattern"].(string); ok {
		p.Pattern = pat
		re, err := perlRegexp(pat)
		if err != nil {
			// Go's regexp caps repeat counts at 1000; "[class]{0,4096}"
			// (user 'keys') becomes "[class]*" plus a length bound.
			mm := reBigRepeat.FindStringSubmatch(pat)
			if mm == nil {
				return nil, err
			}
			re = regexp.MustCompile(`^` + mm[1] + `*$`)
			p.patMin, _ = strconv.Atoi(mm[2])
			p.patMax, _ = strconv.Atoi(mm[3])
		}
		p.re = re
	}
	if v, ok := num(m["maxLength"]); ok {
		p.MaxLength = int(v)
	}
	if v, ok := num(m["minLength"]); ok {
		p.MinLength = int(v)
	}
	if v, ok := num(m["minimum"]); ok {
		p.Minimum = &v
	}
	if v, ok := num(m["maximum"]); ok {
		p.Maximum = &v
	}
	if e, ok := m["enum"].([]any); ok {
		for _, x := range e {
			p.Enum = append(p.Enum, fmt.Sprint(x))
		}
	}
	if r, ok := m["requires"].(string); ok {
		p.Requires = r
	}
	return p, nil
}

// perlRegexp compiles a pattern the way check_prop uses it: m/^$pattern$/.
// Perl's "(?^:...)" (default-flags group, how qr// stringifies) becomes "(?:...)".
func perlRegexp(pat string) (*regexp.Regexp, error) {
	g := strings.ReplaceAll(pat, "(?^:", "(?:")
	return regexp.Compile(`^(?:` + g + `)$`)
}

func (p *prop) clone() *prop {
	c := *p
	return &c
}

// buildSchema returns the parameter schema of a version: the 9.2 data for
// 9.x and the 8.0 data for 8.x, adjusted by the changes that
// pve-access-control's debian/changelog dates between 8.0 and 8.4 / 9.0
// and 9.2 (the reference material has no 8.4 or 9.0 schema).
func buildSchema(v Version, s80, s92 apiSchema) apiSchema {
	if v.Major >= 9 {
		out := copySchema(s92)
		if !v.AtLeast(9, 2) {
			// audiences: libpve-access-control 9.1.1 (2026-05-15, "fix #5076"),
			// the PVE 9.2 series (proxmox-openid-realm.md §8).
			for _, p := range []string{"/access/domains", "/access/domains/{realm}"} {
				for _, m := range out[p] {
					delete(m.Props, "audiences")
				}
			}
		}
		return out
	}
	out := copySchema(s80)
	from92 := func(path, meth, name string) {
		if p, ok := s92[path][meth].Props[name]; ok {
			out[path][meth].Props[name] = p.clone()
		}
	}
	realmWrites := [][2]string{{"/access/domains", "POST"}, {"/access/domains/{realm}", "PUT"}}
	userWrites := [][2]string{{"/access/users", "POST"}, {"/access/users/{userid}", "PUT"}}
	if v.AtLeast(8, 1) {
		// 8.0.5 (2023-08-11): 'check-connection' on realm create/update.
		// 8.1.0 (2024-02-08): acr-values URI pattern; user name/email/comment
		// length limits and the restricted legacy 'keys' pattern.
		for _, pm := range realmWrites {
			from92(pm[0], pm[1], "check-connection")
			from92(pm[0], pm[1], "acr-values")
		}
		for _, pm := range userWrites {
			for _, n := range []string{"firstname", "lastname", "email", "comment", "keys"} {
				from92(pm[0], pm[1], n)
			}
		}
	}
	if v.AtLeast(8, 3) {
		// 8.2.0 (2024-11-13, shipped with PVE 8.3): minimum password length 8.
		from92("/access/users", "POST", "password")
	}
	if v.AtLeast(8, 4) {
		// 8.2.1 (2025-04-04, PVE 8.4): groups-claim, groups-autocreate,
		// groups-overwrite (fix #4411) and query-userinfo (fix #4234).
		for _, pm := range realmWrites {
			for _, n := range []string{"groups-claim", "groups-autocreate", "groups-overwrite", "query-userinfo"} {
				from92(pm[0], pm[1], n)
			}
		}
	}
	return out
}

func copySchema(s apiSchema) apiSchema {
	out := apiSchema{}
	for path, ms := range s {
		out[path] = map[string]*method{}
		for m, mt := range ms {
			c := *mt
			c.Props = map[string]*prop{}
			for k, p := range mt.Props {
				c.Props[k] = p.clone()
			}
			out[path][m] = &c
		}
	}
	return out
}

// --- validation ---------------------------------------------------------

type validator struct {
	privs map[string]bool // valid privilege names (format pve-priv)
	// groupNameLeak: the 8.4–9.0 verify_groupname (see features)
	groupNameLeak bool
}

// validGroupName is PVE::AccessControl::verify_groupname of the version.
func (v *validator) validGroupName(s string) bool {
	if v.groupNameLeak {
		return reGroupNameLeak.MatchString(s)
	}
	return reGroupName.MatchString(s)
}

// validate checks params against the method's declared properties like
// PVE::JSONSchema::check_object with additionalProperties => 0. It returns
// the errors map of a "Parameter verification failed." exception, or nil.
func (v *validator) validate(m *method, params map[string]string) map[string]string {
	errs := map[string]string{}
	add := func(k, msg string) {
		if old, ok := errs[k]; ok {
			// add_error joins with a literal backslash-n (single-quoted '\n' in Perl).
			errs[k] = old + `\n` + msg
		} else {
			errs[k] = msg
		}
	}
	for name, p := range m.Props {
		val, ok := params[name]
		if !ok {
			if !p.Optional {
				add(name, "property is missing and it is not optional")
			}
			continue
		}
		if msg := v.checkProp(p, val); msg != "" {
			add(name, msg)
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := m.Props[k]
		if !ok {
			add(k, "property is not defined in schema and the schema does not allow additional properties")
			continue
		}
		if p.Requires != "" {
			if _, ok := params[p.Requires]; !ok {
				add(p.Requires, fmt.Sprintf("missing property - '%s' requires this property", k))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

var (
	reInteger = regexp.MustCompile(`^[+-]?\d+$`)
	reNumber  = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`)
)

func (v *validator) checkProp(p *prop, val string) string {
	switch p.Type {
	case "boolean":
		if val != "1" && val != "0" {
			return fmt.Sprintf("type check ('boolean') failed - got '%s'", val)
		}
	case "integer":
		if !reInteger.MatchString(val) {
			return fmt.Sprintf("type check ('integer') failed - got '%s'", val)
		}
	case "number":
		if !reNumber.MatchString(val) {
			return fmt.Sprintf("type check ('number') failed - got '%s'", val)
		}
	}
	if p.Format != "" {
		if err := v.checkFormat(p.Format, val); err != "" {
			// the die message carries its trailing newline into the error text
			return "invalid format - " + err + "\n"
		}
	}
	n := utf8.RuneCountInString(val)
	if p.re != nil && (!p.re.MatchString(val) || p.patMax > 0 && (n < p.patMin || n > p.patMax)) {
		return "value does not match the regex pattern"
	}
	if p.MaxLength >= 0 && n > p.MaxLength {
		return fmt.Sprintf("value may only be %d characters long", p.MaxLength)
	}
	if p.MinLength >= 0 && n < p.MinLength {
		return fmt.Sprintf("value must be at least %d characters long", p.MinLength)
	}
	if reNumber.MatchString(val) {
		f, _ := strconv.ParseFloat(val, 64)
		if p.Maximum != nil && f > *p.Maximum {
			return fmt.Sprintf("value must have a maximum value of %s", perlNum(*p.Maximum))
		}
		if p.Minimum != nil && f < *p.Minimum {
			return fmt.Sprintf("value must have a minimum value of %s", perlNum(*p.Minimum))
		}
	}
	if len(p.Enum) > 0 {
		for _, e := range p.Enum {
			if e == val {
				return ""
			}
		}
		return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", val, strings.Join(p.Enum, ", "))
	}
	return ""
}

func perlNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// splitList is PVE::Tools::split_list: NUL-separated if a NUL is present,
// else separated by commas, semicolons and whitespace.
func splitList(s string) []string {
	if strings.ContainsRune(s, 0) {
		return strings.Split(s, "\x00")
	}
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	})
}

// checkFormat returns the die message of the format verifier (without the
// trailing newline), or "" when the value is valid.
func (v *validator) checkFormat(format, val string) string {
	name, kind := format, ""
	if strings.HasSuffix(format, "-list") {
		name, kind = strings.TrimSuffix(format, "-list"), "list"
	} else if strings.HasSuffix(format, "-opt") {
		name, kind = strings.TrimSuffix(format, "-opt"), "opt"
	}
	f := v.formatFunc(name)
	if f == nil {
		return ""
	}
	switch kind {
	case "list":
		for _, e := range splitList(val) {
			if msg := f(e); msg != "" {
				return msg
			}
		}
		return ""
	case "opt":
		if val == "" {
			return ""
		}
	}
	return f(val)
}

var (
	// PVE::Auth::Plugin
	realmRegex = `[A-Za-z][A-Za-z0-9\.\-_]+`
	userRegex  = `[^\s:/]+`
	reRealm    = regexp.MustCompile(`^` + realmRegex + `$`)
	reUserid   = regexp.MustCompile(`^(` + userRegex + `)@(` + realmRegex + `)$`)
	// PVE::AccessControl
	reTokenid   = regexp.MustCompile(`^((` + userRegex + `)@(` + realmRegex + `))!(` + realmRegex + `)$`)
	reGroupName = regexp.MustCompile(`^[A-Za-z0-9\.\-_]+$`)
	// "[$groupname_regex_chars]" with the qr// stringified (see features)
	reGroupNameLeak = regexp.MustCompile(`^[(?^:A-Za-z0-9\.\-_)]+$`)
	// PVE::JSONSchema
	reConfigID  = regexp.MustCompile(`(?i)^[a-z][a-z0-9_-]+$`)
	reNodeName  = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	reLdapAttr  = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
	reDNSName   = regexp.MustCompile(`^(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	reEmail     = regexp.MustCompile(`^[\w\+\-\~]+(\.[\w\+\-\~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*$`)
	reVanished  = regexp.MustCompile(`^(?:(?:(?:acl|properties|entry);)*(?:acl|properties|entry)|none)$`)
	reACLPathOK = regexp.MustCompile(`^[[:alnum:]\.\-\_\/]+$`)
)

// verifyUsername is PVE::Auth::Plugin::verify_username.
func verifyUsername(u string) (user, realm, errmsg string) {
	n := utf8.RuneCountInString(u)
	if n < 3 {
		return "", "", fmt.Sprintf("user name '%s' is too short", u)
	}
	if n > 64 {
		return "", "", fmt.Sprintf("user name '%s' is too long (%d > 64)", u, n)
	}
	m := reUserid.FindStringSubmatch(u)
	if m == nil {
		return "", "", fmt.Sprintf("value '%s' does not look like a valid user name", u)
	}
	return m[1], m[2], ""
}

func (v *validator) formatFunc(name string) func(string) string {
	switch name {
	case "pve-realm":
		return func(s string) string {
			if !reRealm.MatchString(s) {
				return "value does not look like a valid realm"
			}
			return ""
		}
	case "pve-userid":
		return func(s string) string {
			_, _, msg := verifyUsername(s)
			return msg
		}
	case "pve-groupid":
		return func(s string) string {
			if !v.validGroupName(s) {
				return fmt.Sprintf("group name '%s' contains invalid characters", s)
			}
			return ""
		}
	case "pve-roleid":
		return func(s string) string {
			if !reGroupName.MatchString(s) {
				return fmt.Sprintf("role name '%s' contains invalid characters", s)
			}
			return ""
		}
	case "pve-tokenid":
		return func(s string) string {
			if !reTokenid.MatchString(s) {
				return fmt.Sprintf("value '%s' does not look like a valid token ID", s)
			}
			return ""
		}
	case "pve-configid":
		return func(s string) string {
			if !reConfigID.MatchString(s) {
				return fmt.Sprintf("invalid configuration ID '%s'", s)
			}
			return ""
		}
	case "pve-priv":
		return func(s string) string {
			if !v.privs[s] {
				return fmt.Sprintf("invalid privilege '%s'", s)
			}
			return ""
		}
	case "pve-node":
		return func(s string) string {
			if !reNodeName.MatchString(s) {
				return "value does not look like a valid node name"
			}
			return ""
		}
	case "email":
		return func(s string) string {
			if !reEmail.MatchString(s) {
				return "value does not look like a valid email address"
			}
			return ""
		}
	case "address":
		return func(s string) string {
			if net.ParseIP(s) == nil && !reDNSName.MatchString(s) {
				return "value does not look like a valid address: " + s
			}
			return ""
		}
	case "ldap-simple-attr":
		return func(s string) string {
			if !reLdapAttr.MatchString(s) {
				return fmt.Sprintf("value '%s' does not look like a simple ldap attribute name", s)
			}
			return ""
		}
	case "pve-tfa-config":
		return func(s string) string {
			return checkPropertyString(s, map[string]*prop{
				"type":   {Type: "string", Enum: []string{"yubico", "oath"}, MaxLength: -1, MinLength: -1},
				"id":     {Type: "string", Optional: true, MaxLength: -1, MinLength: -1},
				"key":    {Type: "string", Optional: true, MaxLength: -1, MinLength: -1},
				"url":    {Type: "string", Optional: true, MaxLength: -1, MinLength: -1},
				"digits": {Type: "integer", Optional: true, MaxLength: -1, MinLength: -1, Minimum: fp(6), Maximum: fp(8)},
				"step":   {Type: "integer", Optional: true, MaxLength: -1, MinLength: -1, Minimum: fp(10)},
			}, v)
		}
	case "realm-sync-options":
		return func(s string) string {
			return checkPropertyString(s, map[string]*prop{
				"scope":           {Type: "string", Optional: true, Enum: []string{"users", "groups", "both"}, MaxLength: -1, MinLength: -1},
				"remove-vanished": {Type: "string", Optional: true, re: reVanished, MaxLength: -1, MinLength: -1},
				"full":            {Type: "boolean", Optional: true, MaxLength: -1, MinLength: -1},
				"enable-new":      {Type: "boolean", Optional: true, MaxLength: -1, MinLength: -1},
				"purge":           {Type: "boolean", Optional: true, MaxLength: -1, MinLength: -1},
			}, v)
		}
	}
	return nil
}

func fp(f float64) *float64 { return &f }

// checkPropertyString is a reduced parse_property_string: "k=v,k=v".
func checkPropertyString(s string, format map[string]*prop, v *validator) string {
	got := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok || k == "" || val == "" {
			return "value without key, but schema does not define a default key"
		}
		if _, dup := got[k]; dup {
			return "duplicate key in comma-separated list property: " + k
		}
		p, ok := format[k]
		if !ok {
			return "invalid key in comma-separated list property: " + k
		}
		if p.Type == "boolean" {
			switch strings.ToLower(val) {
			case "1", "on", "yes", "true":
				val = "1"
			case "0", "off", "no", "false":
				val = "0"
			}
		}
		got[k] = val
	}
	errs := v.validate(&method{Props: format}, got)
	if len(errs) > 0 {
		return "format error"
	}
	return ""
}
