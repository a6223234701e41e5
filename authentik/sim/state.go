package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"
)

// The simulator's object model. Every field mirrors a model field of
// authentik (authentik/core/models.py, flows, crypto, providers/oauth2,
// policies); JSON shapes are produced per version in the api_*.go files.

type user struct {
	pk           int
	uuid         string
	username     string
	name         string
	email        string
	password     string
	isActive     bool
	attributes   map[string]any
	path         string
	typ          string // UserTypeEnum
	dateJoined   time.Time
	lastUpdated  time.Time
	passwordDate time.Time
	lastLogin    *time.Time
}

type group struct {
	uuid        string
	numPK       int
	name        string
	isSuperuser bool
	parents     []string // group uuids (a single "parent" before 2025.12)
	users       []int
	attributes  map[string]any
}

type flow struct {
	pk               string
	slug             string
	name             string
	title            string
	designation      string
	authentication   string // AuthenticationEnum
	policyEngineMode string
	layout           string
	deniedAction     string
	compatibility    bool
	consent          bool // has a consent stage (explicit-consent flow)
}

type scopeMapping struct {
	pk          string
	managed     string
	name        string
	scopeName   string
	description string
	expression  string
}

type keyPair struct {
	pk      string
	name    string
	managed string // "" = null
	certPEM string
	keyPEM  string // "" = no private key
	cert    *x509.Certificate
	key     crypto.Signer // nil when keyPEM == ""
	hidden  bool          // excluded from the API (the internal JWT pair)
}

type redirectURI struct {
	MatchingMode string `json:"matching_mode"`
	URL          string `json:"url"`
	Type         string `json:"redirect_uri_type,omitempty"` // >= 2026.5
}

type provider struct {
	pk                     int
	name                   string
	authenticationFlow     string // "" = null
	authorizationFlow      string
	invalidationFlow       string // "" = null (before 2024.10)
	propertyMappings       []string
	clientType             string
	clientID               string
	clientSecret           string
	accessCodeValidity     string
	accessTokenValidity    string
	refreshTokenValidity   string
	refreshTokenThreshold  string
	includeClaimsInIDToken bool
	signingKey             string // "" = null
	encryptionKey          string // "" = null
	redirectURIs           []redirectURI
	redirectRaw            string // the newline string of versions before the CVE-2024-52289 fix
	subMode                string
	issuerMode             string
	jwtFederationSources   []string
	jwtFederationProviders []int
	grantTypes             []string
	logoutURI              string
	logoutMethod           string
	backchannelLogoutURI   string
}

type application struct {
	pk                   string // pbm_uuid
	name                 string
	slug                 string
	provider             *int
	backchannelProviders []int
	openInNewTab         bool
	metaLaunchURL        string
	metaIcon             string
	metaDescription      string
	metaPublisher        string
	policyEngineMode     string
	group                string
	metaHide             bool
}

type policyBinding struct {
	pk            string
	policy        string // "" = null
	group         string // "" = null
	user          *int
	target        string
	negate        bool
	enabled       bool
	order         int
	timeout       int
	failureResult bool
}

type apiToken struct {
	key        string
	identifier string
	user       int
}

// OIDC runtime state.

type session struct {
	key      string
	user     int
	authTime time.Time
	consents map[string]bool // application slug -> consent given
}

type authCode struct {
	code        string
	provider    int
	user        int
	scopes      []string
	nonce       string
	challenge   string
	method      string
	expires     time.Time
	authTime    time.Time
	sessionKey  string
	redirectURI string
}

type grantToken struct {
	token    string
	provider int
	user     int
	scopes   []string
	expires  time.Time
	authTime time.Time
	nonce    string
	session  string
	revoked  bool
	sub      string
}

// state is the whole server state; it is guarded by Server.mu.
type state struct {
	installID     string
	users         []*user
	groups        []*group
	flows         []*flow
	scopeMappings []*scopeMapping
	keyPairs      []*keyPair
	providers     []*provider
	applications  []*application
	bindings      []*policyBinding
	tokens        []*apiToken
	sessions      map[string]*session
	codes         map[string]*authCode
	accessTokens  map[string]*grantToken
	refreshTokens map[string]*grantToken
	nextUserPK    int
	nextProvPK    int
	loginHook     string // username logged in by the next /authorize request
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return dashed(hex.EncodeToString(b[:]))
}

// dashed writes 32 hex digits in the 8-4-4-4-12 form of a UUID.
func dashed(h string) string {
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// generateID mirrors authentik.lib.generators.generate_id: random characters
// from letters and digits (default length 40; client secrets use 128).
func generateID(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alnum)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err)
		}
		b[i] = alnum[v.Int64()]
	}
	return string(b)
}

// uid mirrors User.uid: sha256("<pk>-<install id>") as hex (64 chars)
// [authentik/core/models.py].
func (st *state) uid(u *user) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d-%s", u.pk, st.installID)))
	return hex.EncodeToString(sum[:])
}

// numPK mirrors Group.num_pk: the first 5 digits of the uuid's integer value.
func numPKFromUUID(u string) int {
	h := strings.ReplaceAll(u, "-", "")
	n, ok := new(big.Int).SetString(h, 16)
	if !ok {
		return 0
	}
	s := n.String()
	if len(s) > 5 {
		s = s[:5]
	}
	v := 0
	for _, c := range s {
		v = v*10 + int(c-'0')
	}
	return v
}

// find returns the first element of list that matches, or nil.
func find[T any](list []*T, match func(*T) bool) *T {
	for _, x := range list {
		if match(x) {
			return x
		}
	}
	return nil
}

// addUser creates an active internal user with a generated password.
func (st *state) addUser(username, name, email string, now time.Time) *user {
	u := &user{pk: st.nextUserPK, uuid: newUUID(), username: username, name: name, email: email,
		password: generateID(20), isActive: true, attributes: map[string]any{}, path: "users",
		typ: "internal", dateJoined: now, lastUpdated: now, passwordDate: now}
	st.nextUserPK++
	st.users = append(st.users, u)
	return u
}

func (st *state) userByPK(pk int) *user {
	return find(st.users, func(u *user) bool { return u.pk == pk })
}

func (st *state) userByName(name string) *user {
	return find(st.users, func(u *user) bool { return u.username == name })
}

func (st *state) groupByUUID(id string) *group {
	return find(st.groups, func(g *group) bool { return g.uuid == id })
}

// groupsOf returns the user's direct groups, ordered by name.
func (st *state) groupsOf(u *user) []*group {
	var out []*group
	for _, g := range st.groups {
		if slices.Contains(g.users, u.pk) {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// isSuperuser mirrors User.is_superuser: membership in a group with
// is_superuser set.
func (st *state) isSuperuser(u *user) bool {
	return slices.ContainsFunc(st.groupsOf(u), func(g *group) bool { return g.isSuperuser })
}

func (st *state) flowByPK(pk string) *flow {
	return find(st.flows, func(f *flow) bool { return f.pk == pk })
}

func (st *state) flowBySlug(slug string) *flow {
	return find(st.flows, func(f *flow) bool { return f.slug == slug })
}

func (st *state) scopeMappingByPK(pk string) *scopeMapping {
	return find(st.scopeMappings, func(m *scopeMapping) bool { return m.pk == pk })
}

func (st *state) keyPairByPK(pk string) *keyPair {
	return find(st.keyPairs, func(k *keyPair) bool { return k.pk == pk })
}

func (st *state) providerByPK(pk int) *provider {
	return find(st.providers, func(p *provider) bool { return p.pk == pk })
}

func (st *state) providerByClientID(id string) *provider {
	return find(st.providers, func(p *provider) bool { return p.clientID == id })
}

func (st *state) appBySlug(slug string) *application {
	return find(st.applications, func(a *application) bool { return a.slug == slug })
}

func (st *state) appByPK(pk string) *application {
	return find(st.applications, func(a *application) bool { return a.pk == pk })
}

// appOfProvider returns the application a provider is assigned to (the
// Application.provider one-to-one link), or nil.
func (st *state) appOfProvider(pk int) *application {
	return find(st.applications, func(a *application) bool { return a.provider != nil && *a.provider == pk })
}

func (st *state) bindingByPK(pk string) *policyBinding {
	return find(st.bindings, func(b *policyBinding) bool { return b.pk == pk })
}

// isBindingTarget reports whether pk names a PolicyBindingModel the
// simulator knows: an application or a flow.
func (st *state) isBindingTarget(pk string) bool {
	return st.appByPK(pk) != nil || st.flowByPK(pk) != nil
}

// scopesOf returns the scope mappings assigned to a provider, ordered by
// scope_name as UserInfoView.get_claims does.
func (st *state) scopesOf(p *provider) []*scopeMapping {
	var out []*scopeMapping
	for _, id := range p.propertyMappings {
		if m := st.scopeMappingByPK(id); m != nil {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].scopeName < out[j].scopeName })
	return out
}

// scopeNames lists the scope names of scopesOf(p).
func (st *state) scopeNames(p *provider) []string {
	var out []string
	for _, m := range st.scopesOf(p) {
		out = append(out, m.scopeName)
	}
	return out
}
