package contract

// Proxmox VE API contract checker.
//
// The Proxmox API viewer ships the server's own parameter schema (the data
// behind https://pve.proxmox.com/pve-docs/api-viewer/): a tree of path nodes,
// each with per-method "parameters" and "returns" schemas in PVE's JSON-schema
// dialect (pve-common src/PVE/JSONSchema.pm). This checker reads such a file
// (the full apidoc.json or the trimmed copies under testdata/) and validates
// requests the way pve-common's check_prop/check_type/check_format do:
//
//   - the path exists (with {param} templates) and defines the method;
//   - every parameter is declared (additionalProperties is 0 everywhere we
//     use), non-optional parameters are present, "requires" holds;
//   - booleans are exactly "1" or "0", integers/numbers have PVE's syntax,
//     minimum/maximum, maxLength/minLength (in characters), enum;
//   - patterns are Perl regexes matched as m/^$pattern$/ (translated to RE2,
//     see perlPattern);
//   - the named formats used by the access-control API (pve-realm,
//     pve-userid, pve-groupid, pve-roleid, pve-tokenid, pve-configid, email,
//     pve-node, address, ldap-simple-attr and their -list/-opt variants) are
//     checked with the regexes of pve-common/pve-access-control. A format the
//     checker cannot verify is reported as a violation, never passed silently.
//
// Transport-level rules that are part of the PVE API contract are checked too:
// the /api2/json prefix, form-encoded bodies on POST/PUT and query strings on
// GET/DELETE (never both), no repeated keys (lists are comma-joined strings),
// no API token on methods with allowtoken=0, and a CSRFPreventionToken header
// on every non-GET request authenticated by a PVEAuthCookie ticket.
//
// Responses can be checked against the "returns" schema (envelope
// {"data": ...}, JSON types, non-optional properties, additionalProperties=0,
// enum, pattern, format). Booleans in responses may be JSON true/false or the
// integers 0/1 (Perl emits both).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ProxmoxAPIPrefix is the path prefix of the JSON API.
const ProxmoxAPIPrefix = "/api2/json"

// ProxmoxChecker validates requests (and responses) against one Proxmox VE
// apidoc schema. It is immutable after NewProxmoxChecker and safe for
// concurrent use.
type ProxmoxChecker struct {
	source string
	nodes  map[string]*pveNode // template path -> node
}

type pveNode struct {
	path    string
	segs    []string
	methods map[string]*pveMethod
}

type pveMethod struct {
	Method      string          `json:"method"`
	Name        string          `json:"name"`
	Parameters  *pveSchema      `json:"parameters"`
	Returns     *pveSchema      `json:"returns"`
	AllowToken  *perlBool       `json:"allowtoken"`
	Protected   *perlBool       `json:"protected"`
	Permissions json.RawMessage `json:"permissions"`
	world       bool
}

// pveSchema is one node of PVE's JSON-schema dialect.
type pveSchema struct {
	Type                 json.RawMessage       `json:"type"`
	Optional             perlBool              `json:"optional"`
	Format               json.RawMessage       `json:"format"`
	Pattern              string                `json:"pattern"`
	MaxLength            *perlNum              `json:"maxLength"`
	MinLength            *perlNum              `json:"minLength"`
	Minimum              *perlNum              `json:"minimum"`
	Maximum              *perlNum              `json:"maximum"`
	Enum                 []any                 `json:"enum"`
	Requires             json.RawMessage       `json:"requires"`
	Default              any                   `json:"default"`
	Properties           map[string]*pveSchema `json:"properties"`
	AdditionalProperties json.RawMessage       `json:"additionalProperties"`
	Items                *pveSchema            `json:"items"`
	Alias                string                `json:"alias"`

	types   []string
	format  string // "" when absent or a property-string hash
	fmtHash bool   // format is a property-string hash (not checkable here)
	re      *regexp.Regexp
	reErr   error
	addl    addlProps
	addlSch *pveSchema
	reqKey  string
}

type addlProps int

const (
	addlUnset  addlProps = iota // Perl undef: extra keys allowed
	addlDeny                    // 0
	addlAllow                   // 1
	addlSchema                  // a schema for extra keys
)

// perlBool decodes 1/0, "1"/"0", true/false and null.
type perlBool bool

func (b *perlBool) UnmarshalJSON(d []byte) error {
	s := strings.Trim(string(d), `"`)
	switch s {
	case "1", "true":
		*b = true
	case "0", "false", "", "null":
		*b = false
	default:
		return fmt.Errorf("not a Perl boolean: %s", d)
	}
	return nil
}

// perlNum decodes a number that may be written as a JSON string.
type perlNum float64

func (n *perlNum) UnmarshalJSON(d []byte) error {
	s := strings.Trim(string(d), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", d)
	}
	*n = perlNum(f)
	return nil
}

// ProxmoxParam describes one declared parameter of a method.
type ProxmoxParam struct {
	Name      string
	Type      string // "string", "boolean", "integer", "number" (first type if several)
	Optional  bool
	InPath    bool // the parameter is a {template} segment of the path
	Format    string
	Pattern   string
	MaxLength int // -1 when unlimited
	MinLength int // -1 when unset
	Minimum   *float64
	Maximum   *float64
	Enum      []string
	Requires  string
	Default   any
}

// ProxmoxViolation is a request or response that breaks the schema. Errors
// maps a parameter name (or "_root", "_transport", "_response") to the reason,
// using pve-common's wording where pve-common has one.
type ProxmoxViolation struct {
	Method   string
	Path     string // request path without the /api2/json prefix
	Template string // matched schema path, "" if none
	Errors   map[string]string
}

func (v *ProxmoxViolation) Error() string {
	keys := slices.Sorted(maps.Keys(v.Errors))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+v.Errors[k])
	}
	where := v.Path
	if v.Template != "" && v.Template != v.Path {
		where += " (" + v.Template + ")"
	}
	return fmt.Sprintf("proxmox contract: %s %s: %s", v.Method, where, strings.Join(parts, "; "))
}

// ProxmoxSchemaVersions are the releases with a trimmed apidoc in testdata.
var ProxmoxSchemaVersions = []string{"7.0", "8.0", "9.2"}

// LoadProxmoxChecker loads testdata/pve-<release>-apidoc.trimmed.json.
func LoadProxmoxChecker(release string) (*ProxmoxChecker, error) {
	return NewProxmoxChecker(testdataPath("pve-" + release + "-apidoc.trimmed.json"))
}

// NewProxmoxChecker loads an apidoc file: the API viewer's JSON array of path
// nodes (tree with "children", or a flat array as in testdata/).
func NewProxmoxChecker(file string) (*ProxmoxChecker, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return NewProxmoxCheckerFromJSON(file, data)
}

// NewProxmoxCheckerFromJSON is NewProxmoxChecker for data already in memory;
// source names it in messages.
func NewProxmoxCheckerFromJSON(source string, data []byte) (*ProxmoxChecker, error) {
	type rawNode struct {
		Path     string                `json:"path"`
		Info     map[string]*pveMethod `json:"info"`
		Children []json.RawMessage     `json:"children"`
	}
	c := &ProxmoxChecker{source: source, nodes: map[string]*pveNode{}}
	var walk func(raw []json.RawMessage) error
	walk = func(raw []json.RawMessage) error {
		for _, r := range raw {
			var n rawNode
			dec := json.NewDecoder(bytes.NewReader(r))
			dec.UseNumber()
			if err := dec.Decode(&n); err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			if n.Path == "" || !strings.HasPrefix(n.Path, "/") {
				return fmt.Errorf("%s: node without absolute path", source)
			}
			node := &pveNode{path: n.Path, segs: splitPath(n.Path), methods: map[string]*pveMethod{}}
			for m, info := range n.Info {
				if info == nil {
					continue
				}
				if err := info.prepare(); err != nil {
					return fmt.Errorf("%s: %s %s: %w", source, m, n.Path, err)
				}
				node.methods[strings.ToUpper(m)] = info
			}
			if _, dup := c.nodes[n.Path]; dup {
				return fmt.Errorf("%s: duplicate path %s", source, n.Path)
			}
			c.nodes[n.Path] = node
			if err := walk(n.Children); err != nil {
				return err
			}
		}
		return nil
	}
	var top []json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: not an apidoc array: %w", source, err)
	}
	if err := walk(top); err != nil {
		return nil, err
	}
	if len(c.nodes) == 0 {
		return nil, fmt.Errorf("%s: no paths", source)
	}
	return c, nil
}

func (m *pveMethod) prepare() error {
	if m.Parameters == nil {
		m.Parameters = &pveSchema{}
	}
	if err := m.Parameters.prepare(); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	if m.Returns != nil {
		if err := m.Returns.prepare(); err != nil {
			return fmt.Errorf("returns: %w", err)
		}
	}
	var perm struct {
		User string `json:"user"`
	}
	if len(m.Permissions) > 0 {
		_ = json.Unmarshal(m.Permissions, &perm) // other shapes: not world
	}
	m.world = perm.User == "world"
	return nil
}

func (s *pveSchema) prepare() error {
	if len(s.Type) > 0 {
		var one string
		if err := json.Unmarshal(s.Type, &one); err == nil {
			s.types = []string{one}
		} else {
			var many []string
			if err := json.Unmarshal(s.Type, &many); err != nil {
				return fmt.Errorf("type: %w", err)
			}
			s.types = many
		}
	}
	if len(s.Format) > 0 {
		var name string
		if err := json.Unmarshal(s.Format, &name); err == nil {
			s.format = name
		} else {
			s.fmtHash = true
		}
	}
	if s.Pattern != "" {
		s.re, s.reErr = perlPattern(s.Pattern)
	}
	switch a := strings.TrimSpace(string(s.AdditionalProperties)); {
	case a == "" || a == "null":
		s.addl = addlUnset
	case a == "0" || a == `"0"` || a == "false":
		s.addl = addlDeny
	case a == "1" || a == `"1"` || a == "true":
		s.addl = addlAllow
	default:
		s.addl = addlSchema
		s.addlSch = &pveSchema{}
		if err := json.Unmarshal(s.AdditionalProperties, s.addlSch); err != nil {
			return fmt.Errorf("additionalProperties: %w", err)
		}
		if err := s.addlSch.prepare(); err != nil {
			return err
		}
	}
	if len(s.Requires) > 0 {
		var key string
		if err := json.Unmarshal(s.Requires, &key); err == nil {
			s.reqKey = key
		}
	}
	for name, p := range s.Properties {
		if p == nil {
			return fmt.Errorf("property %s: null schema", name)
		}
		if err := p.prepare(); err != nil {
			return fmt.Errorf("property %s: %w", name, err)
		}
	}
	if s.Items != nil {
		if err := s.Items.prepare(); err != nil {
			return fmt.Errorf("items: %w", err)
		}
	}
	return nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isTemplateSeg(s string) bool {
	return len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}'
}

// Source names the schema file the checker was built from.
func (c *ProxmoxChecker) Source() string { return c.source }

// Paths lists the schema's path templates, sorted.
func (c *ProxmoxChecker) Paths() []string {
	out := slices.Sorted(maps.Keys(c.nodes))
	return out
}

// Methods lists the HTTP methods defined for a path (template or concrete).
func (c *ProxmoxChecker) Methods(path string) []string {
	n, _, ok := c.match(path)
	if !ok {
		return nil
	}
	out := slices.Sorted(maps.Keys(n.methods))
	return out
}

// Match resolves a concrete (unescaped, prefix-less) API path such as
// "/access/users/alice@pve" to its schema template and path parameters.
// Literal segments take precedence over {param} segments.
func (c *ProxmoxChecker) Match(path string) (template string, params map[string]string, ok bool) {
	n, p, ok := c.match(path)
	if !ok {
		return "", nil, false
	}
	return n.path, p, true
}

func (c *ProxmoxChecker) match(path string) (*pveNode, map[string]string, bool) {
	if n, ok := c.nodes[path]; ok {
		// A template path given verbatim: parameters are the placeholders.
		return n, nil, true
	}
	segs := splitPath(path)
	var best *pveNode
	bestLiterals := -1
	for _, n := range c.nodes {
		if len(n.segs) != len(segs) {
			continue
		}
		literals := 0
		ok := true
		for i, ts := range n.segs {
			if isTemplateSeg(ts) {
				if segs[i] == "" {
					ok = false
					break
				}
				continue
			}
			if ts != segs[i] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = n, literals
		}
	}
	if best == nil {
		return nil, nil, false
	}
	params := map[string]string{}
	for i, ts := range best.segs {
		if isTemplateSeg(ts) {
			params[ts[1:len(ts)-1]] = segs[i]
		}
	}
	return best, params, true
}

func (c *ProxmoxChecker) method(method, path string) (*pveNode, *pveMethod, map[string]string, error) {
	n, pp, ok := c.match(path)
	if !ok {
		return nil, nil, nil, fmt.Errorf("path %s is not in the schema", path)
	}
	m, ok := n.methods[strings.ToUpper(method)]
	if !ok {
		return n, nil, pp, fmt.Errorf("method %s is not defined for %s", method, n.path)
	}
	return n, m, pp, nil
}

// Params returns the declared parameters of method on path (template or
// concrete), including the path parameters (marked InPath). A simulator can
// use it to prove that it accepts exactly the schema's parameters.
func (c *ProxmoxChecker) Params(method, path string) (map[string]ProxmoxParam, error) {
	n, m, _, err := c.method(method, path)
	if err != nil {
		return nil, err
	}
	inPath := map[string]bool{}
	for _, s := range n.segs {
		if isTemplateSeg(s) {
			inPath[s[1:len(s)-1]] = true
		}
	}
	out := map[string]ProxmoxParam{}
	for name, s := range m.Parameters.Properties {
		p := ProxmoxParam{
			Name: name, Optional: bool(s.Optional), InPath: inPath[name],
			Format: s.format, Pattern: s.Pattern, MaxLength: -1, MinLength: -1,
			Requires: s.reqKey, Default: s.Default,
		}
		if len(s.types) > 0 {
			p.Type = s.types[0]
		}
		if s.MaxLength != nil {
			p.MaxLength = int(*s.MaxLength)
		}
		if s.MinLength != nil {
			p.MinLength = int(*s.MinLength)
		}
		if s.Minimum != nil {
			v := float64(*s.Minimum)
			p.Minimum = &v
		}
		if s.Maximum != nil {
			v := float64(*s.Maximum)
			p.Maximum = &v
		}
		for _, e := range s.Enum {
			p.Enum = append(p.Enum, fmt.Sprint(e))
		}
		out[name] = p
	}
	return out, nil
}

// AllowsToken reports whether method on path accepts API-token
// authentication (the schema's allowtoken, default 1).
func (c *ProxmoxChecker) AllowsToken(method, path string) (bool, error) {
	_, m, _, err := c.method(method, path)
	if err != nil {
		return false, err
	}
	return m.AllowToken == nil || bool(*m.AllowToken), nil
}

// IsWorld reports whether method on path needs no authentication
// (permissions.user == "world").
func (c *ProxmoxChecker) IsWorld(method, path string) (bool, error) {
	_, m, _, err := c.method(method, path)
	if err != nil {
		return false, err
	}
	return m.world, nil
}

// CheckParams validates the parameters of one call (path parameters are taken
// from path and must not be repeated in params). path is the unescaped API
// path without /api2/json. It returns nil or a *ProxmoxViolation whose Errors
// use pve-common's messages, so a simulator can compare its 400 errors map.
func (c *ProxmoxChecker) CheckParams(method, path string, params url.Values) error {
	v := &ProxmoxViolation{Method: strings.ToUpper(method), Path: path, Errors: map[string]string{}}
	n, m, pp, err := c.method(method, path)
	if n != nil {
		v.Template = n.path
	}
	if err != nil {
		v.Errors["_root"] = err.Error()
		return v
	}
	c.checkParamsInto(m, pp, params, v.Errors)
	if len(v.Errors) == 0 {
		return nil
	}
	return v
}

func (c *ProxmoxChecker) checkParamsInto(m *pveMethod, pathParams map[string]string, params url.Values, errs map[string]string) {
	values := map[string]string{}
	for k, vs := range params {
		if len(vs) != 1 {
			addErr(errs, k, fmt.Sprintf("parameter given %d times (PVE lists are one comma-separated value)", len(vs)))
			continue
		}
		if _, clash := pathParams[k]; clash {
			addErr(errs, k, "parameter is also part of the path")
			continue
		}
		values[k] = vs[0]
	}
	for k, v := range pathParams {
		values[k] = v
	}
	checkObject(m.Parameters.Properties, m.Parameters.addl, m.Parameters.addlSch, values, errs)
}

// checkObject mirrors PVE::JSONSchema::check_object for string-valued
// parameters (as they arrive from a query string or form body).
func checkObject(props map[string]*pveSchema, addl addlProps, addlSch *pveSchema, values map[string]string, errs map[string]string) {
	names := slices.Sorted(maps.Keys(props))
	for _, k := range names {
		s := props[k]
		v, ok := values[k]
		if !ok {
			if !bool(s.Optional) && s.Alias == "" {
				addErr(errs, k, "property is missing and it is not optional")
			}
			continue
		}
		checkParamValue(k, s, v, errs)
	}
	keys := slices.Sorted(maps.Keys(values))
	for _, k := range keys {
		if s, ok := props[k]; ok {
			if s.reqKey != "" {
				if _, has := values[s.reqKey]; !has {
					addErr(errs, s.reqKey, fmt.Sprintf("missing property - '%s' requires this property", k))
				}
			}
			continue
		}
		switch addl {
		case addlDeny:
			addErr(errs, k, "property is not defined in schema and the schema does not allow additional properties")
		case addlSchema:
			checkParamValue(k, addlSch, values[k], errs)
		}
	}
}

// checkParamValue mirrors check_prop + check_type for one string value.
func checkParamValue(name string, s *pveSchema, v string, errs map[string]string) {
	if len(s.types) > 0 {
		okType := false
		var last string
		for _, t := range s.types {
			if msg := checkScalarType(t, v); msg == "" {
				okType = true
				break
			} else {
				last = msg
			}
		}
		if !okType {
			if len(s.types) > 1 {
				last = fmt.Sprintf("type check ('%s') failed", strings.Join(s.types, "|"))
			}
			addErr(errs, name, last)
			return
		}
	}
	if msg := checkStringConstraints(s, v); msg != "" {
		addErr(errs, name, msg)
	}
}

func checkScalarType(t, v string) string {
	switch t {
	case "boolean":
		if v != "1" && v != "0" {
			return fmt.Sprintf("type check ('boolean') failed - got '%s'", v)
		}
	case "integer":
		if !perlInteger.MatchString(v) {
			return fmt.Sprintf("type check ('integer') failed - got '%s'", v)
		}
	case "number":
		if !perlNumber.MatchString(v) {
			return fmt.Sprintf("type check ('number') failed - got '%s'", v)
		}
	case "array", "object", "coderef":
		// A form/query value is a plain string; it cannot be an array or
		// object. (PVE parses JSON bodies into such types; we never send them.)
		return fmt.Sprintf("type check ('%s') failed", t)
	case "null":
		return "type check ('null') failed - value is not null"
	}
	return ""
}

// checkStringConstraints: format, pattern, maxLength, minLength,
// minimum/maximum (numeric values), enum — in check_prop's order; the first
// failure wins except enum, which is checked after the others passed.
func checkStringConstraints(s *pveSchema, v string) string {
	if s.fmtHash {
		return "invalid format - property-string formats are not verifiable by this checker"
	}
	if s.format != "" {
		if msg := checkFormat(s.format, v); msg != "" {
			return "invalid format - " + msg
		}
	}
	if s.Pattern != "" {
		if s.reErr != nil {
			return fmt.Sprintf("pattern %q is not translatable to RE2: %v", s.Pattern, s.reErr)
		}
		if !s.re.MatchString(v) {
			return "value does not match the regex pattern"
		}
	}
	n := utf8.RuneCountInString(v)
	if s.MaxLength != nil && n > int(*s.MaxLength) {
		return fmt.Sprintf("value may only be %d characters long", int(*s.MaxLength))
	}
	if s.MinLength != nil && n < int(*s.MinLength) {
		return fmt.Sprintf("value must be at least %d characters long", int(*s.MinLength))
	}
	if perlNumber.MatchString(v) {
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "\n"), 64)
		if err == nil {
			if s.Maximum != nil && f > float64(*s.Maximum) {
				return fmt.Sprintf("value must have a maximum value of %s", fmtNum(float64(*s.Maximum)))
			}
			if s.Minimum != nil && f < float64(*s.Minimum) {
				return fmt.Sprintf("value must have a minimum value of %s", fmtNum(float64(*s.Minimum)))
			}
		}
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		found := false
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
			if vals[i] == v {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", v, strings.Join(vals, ", "))
		}
	}
	return ""
}

func fmtNum(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func addErr(errs map[string]string, k, msg string) {
	if k == "" {
		k = "_root"
	}
	if old, ok := errs[k]; ok {
		errs[k] = old + `\n` + msg // pve-common joins with a literal '\n'
		return
	}
	errs[k] = msg
}

// ---- Perl regex translation and PVE formats ----

// perlPattern compiles a pve-common schema pattern with the semantics of
// m/^$pattern$/: the pattern text is interpolated between ^ and $ (no
// grouping, so a top-level alternation binds as in Perl), Perl's "$" also
// matches before a final newline, and qr// stringifications "(?^:...)" /
// "(?^i:...)" become RE2 groups. Perl's \w, \d, \s are Unicode-aware; RE2's
// are ASCII — an approximation that only matters for non-ASCII input.
func perlPattern(p string) (*regexp.Regexp, error) {
	t, err := perlToRE2(p)
	if err != nil {
		return nil, err
	}
	return regexp.Compile(`^` + t + `(?:\n?\z)`)
}

// perlFull compiles a regex that pve-access-control applies as m/^re$/.
func perlFull(re string) *regexp.Regexp {
	r, err := perlPattern(re)
	if err != nil {
		panic(err)
	}
	return r
}

func perlToRE2(p string) (string, error) {
	var b strings.Builder
	inClass := false
	atom := -1 // start (in b) of the last single-width atom, -1 if none
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\':
			if i+1 >= len(p) {
				return "", errors.New("trailing backslash")
			}
			next := p[i+1]
			if !inClass {
				atom = b.Len()
			}
			switch {
			case next == 'Z' && !inClass:
				b.WriteString(`(?:\n?\z)`)
				atom = -1
			case next == 'A' && !inClass:
				b.WriteString(`\A`)
				atom = -1
			default:
				b.WriteByte('\\')
				b.WriteByte(next)
			}
			i++
		case inClass:
			if ch == ']' {
				inClass = false
			}
			b.WriteByte(ch)
		case ch == '[':
			inClass = true
			atom = b.Len()
			b.WriteByte(ch)
			// A ']' right after '[' or '[^' is literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case ch == '(' && strings.HasPrefix(p[i:], "(?^"):
			// (?^flags:  ->  (?flags:   (caret = default flags)
			j := i + 3
			for j < len(p) && p[j] != ':' && p[j] != ')' {
				j++
			}
			if j >= len(p) || p[j] != ':' {
				return "", fmt.Errorf("unsupported group at %d", i)
			}
			flags := p[i+3 : j]
			if flags == "" {
				b.WriteString("(?:")
			} else {
				b.WriteString("(?" + flags + ":")
			}
			i = j
			atom = -1
		case ch == '$':
			b.WriteString(`(?:\n?\z)`)
			atom = -1
		case ch == '{':
			m := repeatRE.FindStringSubmatch(p[i:])
			if m == nil {
				b.WriteByte(ch)
				atom = -1
				continue
			}
			lo, _ := strconv.Atoi(m[1])
			hi := lo
			switch {
			case m[2] == "":
			case m[3] == "":
				hi = -1 // {m,}
			default:
				hi, _ = strconv.Atoi(m[3])
			}
			i += len(m[0]) - 1
			if lo <= 1000 && hi <= 1000 {
				b.WriteString(m[0])
				atom = -1
				continue
			}
			// RE2 caps repeat counts at 1000; Perl does not. Rewrite
			// X{lo,hi} for a single-width atom X into an equivalent
			// nesting of repeats within RE2's limit.
			if atom < 0 {
				return "", fmt.Errorf("repeat count above 1000 on a group at %d", i)
			}
			x := b.String()[atom:]
			head := b.String()[:atom]
			b.Reset()
			b.WriteString(head)
			b.WriteString(bigRepeat(x, lo, hi))
			atom = -1
		default:
			if !inClass && !strings.ContainsRune("()|*+?^.", rune(ch)) {
				atom = b.Len()
			} else if ch == '.' {
				atom = b.Len()
			} else {
				atom = -1
			}
			b.WriteByte(ch)
		}
	}
	if inClass {
		return "", errors.New("unterminated character class")
	}
	return b.String(), nil
}

var repeatRE = regexp.MustCompile(`^\{(\d+)(,(\d*))?\}`)

// bigRepeat writes x{lo,hi} (hi -1 = unbounded) for a single-width atom x
// using repeats of at most 1000.
func bigRepeat(x string, lo, hi int) string {
	var sb strings.Builder
	exact := func(n int) {
		for n > 0 {
			k := min(n, 1000)
			sb.WriteString("(?:" + x + "){" + strconv.Itoa(k) + "}")
			n -= k
		}
	}
	exact(lo)
	switch {
	case hi < 0:
		sb.WriteString("(?:" + x + ")*")
	default:
		rest := hi - lo
		for rest > 0 {
			k := min(rest, 1000)
			sb.WriteString("(?:" + x + "){0," + strconv.Itoa(k) + "}")
			rest -= k
		}
	}
	return sb.String()
}

var (
	perlInteger = perlFull(`[+-]?\d+`)
	perlNumber  = perlFull(`[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?`)

	// pve-access-control src/PVE/Auth/Plugin.pm
	realmRE   = `[A-Za-z][A-Za-z0-9\.\-_]+`
	userRE    = `[^\s:/]+`
	reRealm   = perlFull(realmRE)
	reUserID  = perlFull(`(` + userRE + `)\@(` + realmRE + `)`)
	reTokenID = perlFull(`((` + userRE + `)\@(` + realmRE + `))!(` + realmRE + `)`)
	// pve-access-control src/PVE/AccessControl.pm verify_groupname/verify_rolename
	reGroupID = perlFull(`[A-Za-z0-9\.\-_]+`)
	reRoleID  = perlFull(`[A-Za-z0-9\.\-_]+`)
	// pve-common src/PVE/JSONSchema.pm ($CONFIGID_RE, pve-node, ldap-simple-attr, dns-name)
	reConfigID = perlFull(`(?i:[a-z][a-z0-9_-]+)`)
	reNode     = perlFull(`([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)`)
	reLDAPAttr = perlFull(`[a-zA-Z0-9]+`)
	reDNSName  = perlFull(`(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)`)
	// pve-common src/PVE/Tools.pm $EMAIL_RE
	reEmail = perlFull(`[\w\+\-\~]+(\.[\w\+\-\~]+)*@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*`)
)

// checkFormat returns "" or pve-common's die message (without the newline).
func checkFormat(format, v string) string {
	if format == "regex" {
		return ""
	}
	name, kind := format, ""
	if strings.HasSuffix(format, "-list") {
		name, kind = strings.TrimSuffix(format, "-list"), "list"
	} else if strings.HasSuffix(format, "-opt") {
		name, kind = strings.TrimSuffix(format, "-opt"), "opt"
	}
	verify, ok := pveFormats[name]
	if !ok {
		return fmt.Sprintf("format '%s' is not verifiable by this checker", format)
	}
	switch kind {
	case "list":
		for _, item := range PerlSplitList(v) {
			if msg := verify(item); msg != "" {
				return msg
			}
		}
		return ""
	case "opt":
		if v == "" || v == "0" { // Perl truthiness: "$registered->($value) if $value"
			return ""
		}
	}
	return verify(v)
}

var pveFormats = map[string]func(string) string{
	"string":    func(string) string { return "" },
	"pve-realm": matching(reRealm, "value does not look like a valid realm"),
	"pve-userid": func(v string) string {
		n := utf8.RuneCountInString(v)
		if n < 3 {
			return fmt.Sprintf("user name '%s' is too short", v)
		}
		if n > 64 {
			return fmt.Sprintf("user name '%s' is too long (%d > 64)", v, n)
		}
		return matching(reUserID, "value '%s' does not look like a valid user name")(v)
	},
	"pve-tokenid":      matching(reTokenID, "value '%s' does not look like a valid token ID"),
	"pve-groupid":      matching(reGroupID, "group name '%s' contains invalid characters"),
	"pve-roleid":       matching(reRoleID, "role name '%s' contains invalid characters"),
	"pve-configid":     matching(reConfigID, "invalid configuration ID '%s'"),
	"pve-node":         matching(reNode, "value does not look like a valid node name"),
	"email":            matching(reEmail, "value does not look like a valid email address"),
	"ldap-simple-attr": matching(reLDAPAttr, "value '%s' does not look like a simple ldap attribute name"),
	"address": func(v string) string {
		if net.ParseIP(v) == nil && !reDNSName.MatchString(v) {
			return "value does not look like a valid address: " + v
		}
		return ""
	},
}

// matching is a format check by regex; msg is pve-common's die message, with
// %s standing for the value.
func matching(re *regexp.Regexp, msg string) func(string) string {
	return func(v string) string {
		if re.MatchString(v) {
			return ""
		}
		return strings.ReplaceAll(msg, "%s", v)
	}
}

// PerlSplitList splits a PVE list value like PVE::Tools::split_list: on NUL
// bytes if present, else on commas, semicolons and whitespace (leading
// separators ignored).
func PerlSplitList(v string) []string {
	if strings.Contains(v, "\x00") {
		return strings.Split(v, "\x00")
	}
	v = strings.Map(func(r rune) rune {
		if r == ',' || r == ';' {
			return ' '
		}
		return r
	}, v)
	out := strings.Fields(v)
	if len(out) == 0 {
		return nil
	}
	return out
}

// ---- requests ----

// CheckRequest validates an outgoing HTTP request (path, method, parameter
// encoding and values, token/CSRF rules). The request body is read through
// GetBody when available, otherwise read and replaced, so the request stays
// usable.
func (c *ProxmoxChecker) CheckRequest(r *http.Request) error {
	body, err := peekBody(r)
	if err != nil {
		return err
	}
	return c.checkRequest(r, body)
}

func (c *ProxmoxChecker) checkRequest(r *http.Request, body []byte) error {
	method := strings.ToUpper(r.Method)
	if method == "" {
		method = http.MethodGet
	}
	escaped := r.URL.EscapedPath()
	v := &ProxmoxViolation{Method: method, Path: escaped, Errors: map[string]string{}}
	if !strings.HasPrefix(escaped, ProxmoxAPIPrefix+"/") {
		v.Errors["_transport"] = "path does not start with " + ProxmoxAPIPrefix + "/"
		return v
	}
	rel := strings.TrimPrefix(escaped, ProxmoxAPIPrefix)
	segs := strings.Split(strings.Trim(rel, "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			v.Errors["_transport"] = "bad path escape: " + err.Error()
			return v
		}
		segs[i] = u
	}
	path := "/" + strings.Join(segs, "/")
	v.Path = path

	var params url.Values
	switch method {
	case http.MethodGet, http.MethodDelete:
		if len(body) > 0 {
			addErr(v.Errors, "_transport", method+" request carries a body; PVE reads GET/DELETE parameters from the query string")
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			addErr(v.Errors, "_transport", "bad query string: "+err.Error())
		}
		params = q
	case http.MethodPost, http.MethodPut:
		if r.URL.RawQuery != "" {
			addErr(v.Errors, "_transport", method+" request carries a query string; parameters belong in the form body")
		}
		if len(body) > 0 {
			ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || ct != "application/x-www-form-urlencoded" {
				addErr(v.Errors, "_transport", fmt.Sprintf("body Content-Type is %q, want application/x-www-form-urlencoded", r.Header.Get("Content-Type")))
			}
		}
		f, err := url.ParseQuery(string(body))
		if err != nil {
			addErr(v.Errors, "_transport", "bad form body: "+err.Error())
		}
		params = f
	default:
		addErr(v.Errors, "_transport", "method "+method+" is not used by the PVE API")
		return v
	}

	n, m, pp, err := c.method(method, path)
	if n != nil {
		v.Template = n.path
	}
	if err != nil {
		addErr(v.Errors, "_root", err.Error())
		return v
	}
	auth := r.Header.Get("Authorization")
	isToken := strings.HasPrefix(auth, "PVEAPIToken")
	if isToken && m.AllowToken != nil && !bool(*m.AllowToken) {
		addErr(v.Errors, "_transport", "API tokens are not allowed on this method (allowtoken=0)")
	}
	hasTicket := strings.HasPrefix(auth, "PVEAuthCookie")
	if ck, err := r.Cookie("PVEAuthCookie"); err == nil && ck.Value != "" {
		hasTicket = true
	}
	if hasTicket && !isToken && method != http.MethodGet && !m.world && r.Header.Get("CSRFPreventionToken") == "" {
		addErr(v.Errors, "_transport", "ticket-authenticated "+method+" without CSRFPreventionToken header")
	}
	c.checkParamsInto(m, pp, params, v.Errors)
	if len(v.Errors) == 0 {
		return nil
	}
	return v
}

func peekBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.GetBody != nil {
		rc, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, nil
}

// ---- responses ----

// CheckResponse validates a response body for method/path (unescaped, without
// /api2/json). For 200 it requires the {"data": ...} envelope and checks data
// against the method's "returns" schema; for errors it requires a reason
// phrase (PVE's message) and, when present, an "errors" map of strings.
// reason is the status line's reason phrase ("" if unknown).
func (c *ProxmoxChecker) CheckResponse(method, path string, status int, reason string, body []byte) error {
	v := &ProxmoxViolation{Method: strings.ToUpper(method), Path: path, Errors: map[string]string{}}
	n, m, _, err := c.method(method, path)
	if n != nil {
		v.Template = n.path
	}
	if err != nil {
		v.Errors["_root"] = err.Error()
		return v
	}
	var env map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&env); err != nil {
			v.Errors["_response"] = "body is not a JSON object: " + err.Error()
			return v
		}
	}
	if status != http.StatusOK {
		if strings.TrimSpace(reason) == "" {
			addErr(v.Errors, "_response", fmt.Sprintf("status %d without a reason phrase (PVE puts the error message there)", status))
		}
		// pve-http-server's Formatter/Standard.pm (prepare_response_data): an
		// error body is {"data":null}, plus "errors" for parameter errors
		// (raise_param_exc always has some) and, from libpve-http-server-perl
		// 5.2.0, "message" — the full message, whose first line is the
		// reason phrase.
		if env != nil {
			if d, ok := env["data"]; !ok || d != nil {
				addErr(v.Errors, "_response", fmt.Sprintf("error response without \"data\": null (%d)", status))
			}
		}
		em := map[string]any{}
		if e, ok := env["errors"]; ok && e != nil {
			var isObj bool
			em, isObj = e.(map[string]any)
			if !isObj {
				addErr(v.Errors, "_response", "errors is not an object")
			}
			for k, x := range em {
				if _, ok := x.(string); !ok {
					addErr(v.Errors, "_response", "errors."+k+" is not a string")
				}
			}
		}
		if status == http.StatusBadRequest && reason == "Parameter verification failed." && env != nil && len(em) == 0 {
			addErr(v.Errors, "_response", "parameter verification failure without an errors map")
		}
		if m, ok := env["message"]; ok {
			ms, isStr := m.(string)
			first, _, _ := strings.Cut(ms, "\n")
			if !isStr || first != reason {
				addErr(v.Errors, "_response", fmt.Sprintf("message %v does not start with the reason phrase %q", m, reason))
			}
		}
		if len(v.Errors) == 0 {
			return nil
		}
		return v
	}
	data, ok := env["data"]
	if !ok {
		v.Errors["_response"] = `200 response without the {"data": ...} envelope`
		return v
	}
	if m.Returns != nil {
		checkReturn(m.Returns, data, "data", v.Errors)
	}
	if len(v.Errors) == 0 {
		return nil
	}
	return v
}

func checkReturn(s *pveSchema, val any, path string, errs map[string]string) {
	if val == nil {
		if slices.Contains(s.types, "null") {
			return
		}
		if !bool(s.Optional) && len(s.types) > 0 {
			addErr(errs, path, "value is null but the schema wants "+strings.Join(s.types, "|"))
		}
		return
	}
	if len(s.types) > 0 {
		ok := false
		for _, t := range s.types {
			if jsonTypeOK(t, val) {
				ok = true
				break
			}
		}
		if !ok {
			addErr(errs, path, fmt.Sprintf("type check ('%s') failed - got %s", strings.Join(s.types, "|"), jsonKind(val)))
			return
		}
	}
	switch x := val.(type) {
	case []any:
		if s.Items != nil {
			for i, el := range x {
				checkReturn(s.Items, el, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case map[string]any:
		if s.Properties == nil && s.addl != addlSchema && s.addl != addlDeny {
			return
		}
		for name, ps := range s.Properties {
			pv, present := x[name]
			if !present {
				if !bool(ps.Optional) {
					addErr(errs, path+"."+name, "property is missing and it is not optional")
				}
				continue
			}
			checkReturn(ps, pv, path+"."+name, errs)
		}
		for k, pv := range x {
			if _, ok := s.Properties[k]; ok {
				continue
			}
			switch s.addl {
			case addlDeny:
				addErr(errs, path+"."+k, "property is not defined in schema and the schema does not allow additional properties")
			case addlSchema:
				checkReturn(s.addlSch, pv, path+"."+k, errs)
			}
		}
	case string:
		if msg := checkStringConstraints(s, x); msg != "" {
			addErr(errs, path, msg)
		}
	case json.Number:
		if len(s.Enum) > 0 || s.Pattern != "" {
			if msg := checkStringConstraints(s, x.String()); msg != "" {
				addErr(errs, path, msg)
			}
		}
	}
}

func jsonTypeOK(t string, v any) bool {
	switch t {
	case "any":
		return true
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		switch x := v.(type) {
		case bool:
			return true
		case json.Number:
			return x.String() == "0" || x.String() == "1"
		}
		return false
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := strconv.ParseInt(n.String(), 10, 64)
		return err == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "null":
		return v == nil
	}
	return true // unknown types are not verified by pve-common either
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "JSON boolean"
	case json.Number:
		return "number " + x.String()
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// ---- RoundTripper ----

// ProxmoxTransport is an http.RoundTripper that checks every request (and,
// unless SkipResponses, every response) against the schema before passing it
// on. Violations are recorded and reported to OnViolation; the request is
// still sent, so the server's own reaction stays observable.
type ProxmoxTransport struct {
	Checker *ProxmoxChecker
	Next    http.RoundTripper
	// SkipResponses disables response checking.
	SkipResponses bool
	// OnViolation, if set, is called for every violation (e.g. t.Errorf).
	OnViolation func(error)

	mu         sync.Mutex
	violations []error
	requests   int
	responses  int
	seen       map[string]int // "METHOD template" -> count
}

// Transport wraps next (nil = http.DefaultTransport) with this checker.
func (c *ProxmoxChecker) Transport(next http.RoundTripper) *ProxmoxTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &ProxmoxTransport{Checker: c, Next: next}
}

// RoundTrip implements http.RoundTripper.
func (t *ProxmoxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := peekBody(r)
	if err != nil {
		return nil, err
	}
	verr := t.Checker.checkRequest(r, body)
	t.note(r, verr, true)
	resp, err := t.Next.RoundTrip(r)
	if err != nil || t.SkipResponses {
		return resp, err
	}
	rb, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	if rerr != nil {
		return resp, nil
	}
	if !strings.HasPrefix(r.URL.EscapedPath(), ProxmoxAPIPrefix+"/") {
		return resp, nil
	}
	path, perr := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), ProxmoxAPIPrefix))
	if perr != nil {
		return resp, nil
	}
	if _, _, ok := t.Checker.match(path); !ok {
		return resp, nil // already reported as a request violation
	}
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	rv := t.Checker.CheckResponse(r.Method, path, resp.StatusCode, reason, rb)
	t.note(r, rv, false)
	return resp, nil
}

func (t *ProxmoxTransport) note(r *http.Request, err error, isRequest bool) {
	t.mu.Lock()
	if isRequest {
		t.requests++
		if t.seen == nil {
			t.seen = map[string]int{}
		}
		path, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), ProxmoxAPIPrefix))
		key := strings.ToUpper(r.Method) + " " + path
		if tpl, _, ok := t.Checker.Match(path); ok {
			key = strings.ToUpper(r.Method) + " " + tpl
		}
		t.seen[key]++
	} else {
		t.responses++
	}
	if err != nil {
		t.violations = append(t.violations, err)
	}
	cb := t.OnViolation
	t.mu.Unlock()
	if err != nil && cb != nil {
		cb(err)
	}
}

// Violations returns the violations seen so far.
func (t *ProxmoxTransport) Violations() []error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.violations)
}

// Checked returns how many requests and responses were checked.
func (t *ProxmoxTransport) Checked() (requests, responses int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests, t.responses
}

// Operations returns how often each "METHOD /template" was requested.
func (t *ProxmoxTransport) Operations() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.seen)
}
