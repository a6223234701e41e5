package authentik_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	aksim "github.com/pvesso/pvesso/authentik/sim"
	"github.com/pvesso/pvesso/internal/contract"
	"github.com/pvesso/pvesso/internal/tlstrust"
)

// The contract tests drive every client operation against the authentik
// simulator, with every request and every response validated against the
// official schema of the simulated version (kin-openapi, strict mode).

// contractVersions are the versions with both a simulator mode and a schema:
// the two the issue requires (2025.8.1, 2026.8.3) and the two older schemas
// on each side of the redirect-URI / invalidation-flow change.
var contractVersions = []string{"2025.8.1", "2026.8.3", "2024.8.4", "2024.12.3"}

// paginationVersions: one before and one after the 2025.12 page-size cap.
var paginationVersions = []string{"2025.8.1", "2026.8.3"}

// clientOperations are the operationIds the client must have exercised.
var clientOperations = []string{
	"admin_version_retrieve", "core_users_me_retrieve", "core_users_list",
	"flows_instances_list", "flows_instances_retrieve",
	"propertymappings_provider_scope_list",
	"crypto_certificatekeypairs_list", "crypto_certificatekeypairs_retrieve",
	"crypto_certificatekeypairs_view_certificate_retrieve", "crypto_certificatekeypairs_generate_create",
	"providers_oauth2_list", "providers_oauth2_create", "providers_oauth2_retrieve", "providers_oauth2_update",
	"providers_oauth2_destroy", "providers_oauth2_setup_urls_retrieve",
	"core_applications_list", "core_applications_create", "core_applications_retrieve", "core_applications_update",
	"core_applications_destroy",
	"core_groups_list",
	"policies_bindings_list", "policies_bindings_create", "policies_bindings_destroy",
}

type contractEnv struct {
	sim *aksim.Server
	tr  *contract.Transport
	// neg validates requests that a test sends invalid on purpose; their
	// violations are asserted one by one instead of failing the test.
	neg *contract.Transport
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func startSim(t *testing.T, version string) *contractEnv {
	t.Helper()
	s := aksim.New(aksim.Options{Version: version})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	v, err := contract.LoadAuthentikValidator(version)
	if err != nil {
		t.Fatal(err)
	}
	// The only excused schema deviations: relations a real authentik renders
	// as null where schemas before 2026.2 omit nullable (see
	// contract.AuthentikNullRelations for the evidence). Each excused
	// problem is logged by the tests; nothing else is excused.
	v.AllowDeviations(contract.AuthentikNullRelations...)
	base, err := tlstrust.NewTransport(tlstrust.Config{Roots: s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	return &contractEnv{sim: s, tr: v.Transport(base), neg: v.Transport(base)}
}

func (e *contractEnv) client(t *testing.T, token string) *authentik.Client {
	t.Helper()
	return e.clientVia(t, token, e.tr)
}

func (e *contractEnv) clientVia(t *testing.T, token string, tr *contract.Transport) *authentik.Client {
	t.Helper()
	c, err := authentik.New(e.sim.URL(), token, authentik.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func TestContractAgainstSimulator(t *testing.T) {
	for _, version := range contractVersions {
		t.Run(version, func(t *testing.T) {
			env := startSim(t, version)
			runContractScenario(t, env, version)
			env.tr.Check(t)
			logExcused(t, env.tr)
			ops := env.tr.Operations()
			var missing []string
			for _, op := range clientOperations {
				if ops[op] == 0 {
					missing = append(missing, op)
				}
			}
			if len(missing) > 0 {
				t.Errorf("operations not exercised: %v", missing)
			}
			for _, o := range env.tr.Outside() {
				if !strings.HasPrefix(o, "GET /application/o/") {
					t.Errorf("unvalidated request outside /api/v3: %s", o)
				}
			}
			n := 0
			keys := make([]string, 0, len(ops))
			for k, c := range ops {
				n += c
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.Logf("authentik %s: %d exchanges validated over %d operations (%s); %d outside /api/v3", version, n, len(ops), strings.Join(keys, ", "), len(env.tr.Outside()))
		})
	}
}

func runContractScenario(t *testing.T, env *contractEnv, version string) {
	ctx := context.Background()
	c := env.client(t, env.sim.AdminToken())

	// version and identity
	vi := must[*authentik.VersionInfo](t, "ServerVersion")(c.ServerVersion(ctx))
	if vi.Current != version || c.Version() != authentik.MustParseVersion(version) {
		t.Fatalf("version %q, want %s", vi.Current, version)
	}
	me := must[*authentik.User](t, "Me")(c.Me(ctx))
	if me.Username != "akadmin" || !me.IsSuperuser {
		t.Fatalf("Me = %+v", me)
	}
	alice := must[[]authentik.User](t, "ListUsers")(c.ListUsers(ctx, authentik.ListUsersOptions{Username: "alice"}))
	if len(alice) != 1 || alice[0].Email != "alice@example.com" {
		t.Fatalf("alice = %+v", alice)
	}
	if !uuidRE.MatchString(alice[0].UUID) || alice[0].UPN != "" {
		t.Fatalf("alice: uuid %q, upn %q (want a uuid and no upn)", alice[0].UUID, alice[0].UPN)
	}
	if !env.sim.SetUserAttribute("alice", "upn", "alice@corp.example") {
		t.Fatal("SetUserAttribute")
	}
	again := must[[]authentik.User](t, "ListUsers upn")(c.ListUsers(ctx, authentik.ListUsersOptions{Username: "alice"}))
	if len(again) != 1 || again[0].UPN != "alice@corp.example" || again[0].UUID != alice[0].UUID {
		t.Fatalf("alice with upn = %+v", again)
	}
	byMail := must[[]authentik.User](t, "ListUsers email")(c.ListUsers(ctx, authentik.ListUsersOptions{Email: "bob@example.com"}))
	if len(byMail) != 1 || byMail[0].Username != "bob" {
		t.Fatalf("bob = %+v", byMail)
	}
	must[[]authentik.User](t, "ListUsers search")(c.ListUsers(ctx, authentik.ListUsersOptions{Search: "ali"}))
	active := true
	picked := must[[]authentik.User](t, "ListUsers active")(c.ListUsers(ctx, authentik.ListUsersOptions{Active: &active,
		Types: []string{authentik.UserTypeInternal, authentik.UserTypeExternal}, Max: 200}))
	if len(picked) < 3 {
		t.Fatalf("active internal/external users: %+v", picked)
	}

	// flows
	ver := authentik.MustParseVersion(version)
	authz := must[*authentik.Flow](t, "FlowBySlug implicit")(c.FlowBySlug(ctx, authentik.FlowImplicitConsent))
	if authz.Designation != "authorization" {
		t.Fatalf("flow %+v", authz)
	}
	inval := &authentik.Flow{}
	if ver.AtLeast(2024, 10, 0) {
		inval = must[*authentik.Flow](t, "FlowBySlug invalidation")(c.FlowBySlug(ctx, authentik.FlowProviderInvalidation))
		if inval.Designation != "invalidation" {
			t.Fatalf("flow %+v", inval)
		}
	} else if _, err := c.FlowBySlug(ctx, authentik.FlowProviderInvalidation); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("%s has no provider invalidation flow; got %v", version, err)
	}
	if _, err := c.FlowBySlug(ctx, "no-such-flow"); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("missing flow: %v", err)
	}
	azs := must[[]authentik.Flow](t, "FlowsByDesignation")(c.FlowsByDesignation(ctx, authentik.DesignationAuthorization))
	if len(azs) < 2 {
		t.Fatalf("authorization flows = %+v", azs)
	}

	// scope mappings
	sms := must[[]authentik.ScopeMapping](t, "ScopeMappingsByManaged")(c.ScopeMappingsByManaged(ctx, authentik.ScopeOpenID, authentik.ScopeEmail, authentik.ScopeProfile))
	if len(sms) != 3 {
		t.Fatalf("scope mappings = %+v", sms)
	}
	var mappingPKs []string
	for _, m := range sms {
		mappingPKs = append(mappingPKs, m.PK)
	}

	// key pairs
	yes, no := true, false
	withKey := must[[]authentik.KeyPair](t, "ListKeyPairs has_key")(c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{HasKey: &yes}))
	var selfSigned *authentik.KeyPair
	for i := range withKey {
		if !withKey[i].PrivateKeyAvailable {
			t.Fatalf("has_key=true returned %+v", withKey[i])
		}
		if withKey[i].Name == authentik.SelfSignedCertificateName {
			selfSigned = &withKey[i]
		}
	}
	if selfSigned == nil || selfSigned.KeyType != authentik.KeyTypeRSA || selfSigned.CertExpiry.IsZero() || selfSigned.FingerprintSHA256 == "" {
		t.Fatalf("self-signed pair = %+v (all %+v)", selfSigned, withKey)
	}
	certOnly := must[[]authentik.KeyPair](t, "ListKeyPairs no key")(c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{HasKey: &no}))
	if len(certOnly) == 0 {
		t.Fatal("the simulator should hold a certificate without a private key")
	}
	for _, kp := range certOnly {
		if kp.PrivateKeyAvailable {
			t.Fatalf("has_key=false returned a pair with a key: %+v", kp)
		}
	}
	rsaOnly := must[[]authentik.KeyPair](t, "ListKeyPairs rsa")(c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{KeyTypes: []string{"rsa"}, HasKey: &yes}))
	if !slices.ContainsFunc(rsaOnly, func(kp authentik.KeyPair) bool { return kp.PK == selfSigned.PK }) {
		t.Fatalf("rsa filter lost the self-signed RSA pair: %+v", rsaOnly)
	}
	for _, kp := range rsaOnly {
		if kp.KeyType != authentik.KeyTypeRSA {
			t.Fatalf("rsa filter returned %+v", kp)
		}
	}
	byName := must[[]authentik.KeyPair](t, "ListKeyPairs name")(c.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{Name: authentik.SelfSignedCertificateName}))
	if len(byName) != 1 {
		t.Fatalf("by name = %+v", byName)
	}
	got := must[*authentik.KeyPair](t, "GetKeyPair")(c.GetKeyPair(ctx, selfSigned.PK))
	if err := c.InspectKeyPair(ctx, got); err != nil {
		t.Fatalf("InspectKeyPair: %v", err)
	}
	if got.KeyType != authentik.KeyTypeRSA || got.KeySize < 2048 {
		t.Fatalf("inspected = %+v", got)
	}
	if _, err := c.GetKeyPair(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("missing key pair: %v", err)
	}
	gen := must[*authentik.KeyPair](t, "GenerateKeyPair")(c.GenerateKeyPair(ctx, authentik.GenerateKeyPairRequest{CommonName: "pvesso contract", ValidityDays: 30, Alg: "ecdsa"}))
	if !gen.PrivateKeyAvailable || gen.Name != "pvesso contract" || gen.KeyType != authentik.KeyTypeECDSA {
		t.Fatalf("generated = %+v", gen)
	}

	// provider
	req := authentik.OAuth2ProviderRequest{
		Name: "Proxmox VE (contract)", AuthorizationFlow: authz.PK, InvalidationFlow: inval.PK, ClientType: "confidential",
		ClientID: "pve-contract", RedirectURIs: []authentik.RedirectURI{{MatchingMode: authentik.MatchStrict, URL: "https://127.0.0.1:8006"}},
		SigningKey: selfSigned.PK, SubMode: authentik.SubModeUserEmail, IssuerMode: "per_provider", PropertyMappings: mappingPKs,
		IncludeClaimsInIDToken: true, GrantTypes: []string{"authorization_code"},
	}
	p := must[*authentik.OAuth2Provider](t, "CreateOAuth2Provider")(c.CreateOAuth2Provider(ctx, req))
	if p.PK <= 0 || p.ClientID != "pve-contract" || p.ClientSecret == "" || len(p.RedirectURIs) != 1 || p.SigningKey != selfSigned.PK {
		t.Fatalf("created provider = %+v", p)
	}
	if ver.AtLeast(2026, 5, 0) && (len(p.GrantTypes) != 1 || p.RedirectURIs[0].Type != authentik.RedirectAuthorization) {
		t.Fatalf("2026.5 fields = %+v", p)
	}
	if _, err := c.CreateOAuth2Provider(ctx, req); !isFieldError(err, "name") {
		t.Fatalf("duplicate provider name: want a 400 on name, got %v", err)
	}
	if ver.AtLeast(2024, 10, 0) {
		// on purpose without the required invalidation_flow: the validator
		// must flag the request (and only it), the simulator must refuse it
		neg := env.clientVia(t, env.sim.AdminToken(), env.neg)
		noInval := req
		noInval.Name, noInval.ClientID, noInval.InvalidationFlow = "other", "other", ""
		if _, err := neg.CreateOAuth2Provider(ctx, noInval); !isFieldError(err, "invalidation_flow") {
			t.Fatalf("missing invalidation_flow: want a 400 on invalidation_flow, got %v", err)
		}
		vs := env.neg.Violations()
		if len(vs) != 1 || !strings.Contains(vs[0].Err, `"invalidation_flow" is missing`) || strings.Contains(vs[0].Err, "response 400") {
			t.Fatalf("want exactly the request violation for invalidation_flow, got %v", vs)
		}
	}
	must[*authentik.OAuth2Provider](t, "GetOAuth2Provider")(c.GetOAuth2Provider(ctx, p.PK))
	if ps := must[[]authentik.OAuth2Provider](t, "ListOAuth2Providers name")(c.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{Name: req.Name})); len(ps) != 1 || ps[0].PK != p.PK {
		t.Fatalf("by name = %+v", ps)
	}
	if ps := must[[]authentik.OAuth2Provider](t, "ListOAuth2Providers client_id")(c.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{ClientID: "pve-contract"})); len(ps) != 1 {
		t.Fatalf("by client id = %+v", ps)
	}
	req.RedirectURIs = append(req.RedirectURIs, authentik.RedirectURI{MatchingMode: authentik.MatchStrict, URL: "https://127.0.0.2:8006"})
	up := must[*authentik.OAuth2Provider](t, "UpdateOAuth2Provider")(c.UpdateOAuth2Provider(ctx, p.PK, req))
	if len(up.RedirectURIs) != 2 || up.RedirectURIs[1].URL != "https://127.0.0.2:8006" {
		t.Fatalf("updated = %+v", up)
	}
	if _, err := c.OAuth2ProviderSetupURLs(ctx, p.PK); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("setup_urls without application: want ErrNotFound, got %v", err)
	}

	// application
	app := must[*authentik.Application](t, "CreateApplication")(c.CreateApplication(ctx, authentik.ApplicationRequest{
		Name: "Proxmox VE", Slug: "pve-contract", Provider: &p.PK, MetaLaunchURL: "https://127.0.0.1:8006", PolicyEngineMode: "any"}))
	if app.PK == "" || app.Provider == nil || *app.Provider != p.PK {
		t.Fatalf("application = %+v", app)
	}
	if _, err := c.CreateApplication(ctx, authentik.ApplicationRequest{Name: "dup", Slug: "pve-contract"}); !isFieldError(err, "slug") {
		t.Fatalf("duplicate slug: want a 400 on slug, got %v", err)
	}
	must[*authentik.Application](t, "GetApplication")(c.GetApplication(ctx, "pve-contract"))
	if as := must[[]authentik.Application](t, "ListApplications")(c.ListApplications(ctx, authentik.ListApplicationsOptions{Slug: "pve-contract"})); len(as) != 1 {
		t.Fatalf("apps = %+v", as)
	}
	must[[]authentik.Application](t, "ListApplications name")(c.ListApplications(ctx, authentik.ListApplicationsOptions{Name: "Proxmox VE"}))
	must[*authentik.Application](t, "UpdateApplication")(c.UpdateApplication(ctx, "pve-contract", authentik.ApplicationRequest{
		Name: "Proxmox VE", Slug: "pve-contract", Provider: &p.PK, MetaDescription: "managed by pvesso"}))
	if _, err := c.GetApplication(ctx, "no-such-app"); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("missing app: %v", err)
	}
	if pr := must[*authentik.OAuth2Provider](t, "GetOAuth2Provider assigned")(c.GetOAuth2Provider(ctx, p.PK)); pr.AssignedApplicationSlug != "pve-contract" {
		t.Fatalf("assigned application = %q", pr.AssignedApplicationSlug)
	}
	su := must[*authentik.ProviderSetupURLs](t, "OAuth2ProviderSetupURLs")(c.OAuth2ProviderSetupURLs(ctx, p.PK))
	if su.Issuer != c.IssuerURL("pve-contract") {
		t.Fatalf("issuer %q, predicted %q", su.Issuer, c.IssuerURL("pve-contract"))
	}
	d := must[*authentik.Discovery](t, "Discovery")(c.Discovery(ctx, "pve-contract"))
	if d.Issuer != c.IssuerURL("pve-contract") || len(d.IDTokenSigningAlgValuesSupported) != 1 || d.IDTokenSigningAlgValuesSupported[0] != "RS256" {
		t.Fatalf("discovery = %+v", d)
	}

	// group restriction
	admins := must[[]authentik.Group](t, "ListGroups")(c.ListGroups(ctx, authentik.ListGroupsOptions{Name: "authentik Admins"}))
	if len(admins) != 1 || !admins[0].IsSuperuser {
		t.Fatalf("groups = %+v", admins)
	}
	b := must[*authentik.PolicyBinding](t, "CreatePolicyBinding")(c.CreatePolicyBinding(ctx, authentik.PolicyBindingRequest{Target: app.PK, Group: admins[0].PK, Order: 0, Enabled: true}))
	bs := must[[]authentik.PolicyBinding](t, "ListPolicyBindings")(c.ListPolicyBindings(ctx, app.PK))
	if len(bs) != 1 || bs[0].PK != b.PK || bs[0].Group != admins[0].PK {
		t.Fatalf("bindings = %+v", bs)
	}
	if err := c.DeletePolicyBinding(ctx, b.PK); err != nil {
		t.Fatal(err)
	}
	if bs := must[[]authentik.PolicyBinding](t, "ListPolicyBindings after delete")(c.ListPolicyBindings(ctx, app.PK)); len(bs) != 0 {
		t.Fatalf("binding survived: %+v", bs)
	}

	// authentication and permission failures
	bad := env.client(t, "not-a-valid-token")
	if _, err := bad.Me(ctx); !errors.Is(err, authentik.ErrUnauthenticated) || errors.Is(err, authentik.ErrForbidden) {
		t.Fatalf("bad token: want ErrUnauthenticated, got %v", err)
	}
	aliceC := env.client(t, env.sim.CreateToken("alice"))
	if _, err := aliceC.CreateOAuth2Provider(ctx, authentik.OAuth2ProviderRequest{Name: "x", AuthorizationFlow: authz.PK, InvalidationFlow: inval.PK}); !errors.Is(err, authentik.ErrForbidden) {
		t.Fatalf("non-superuser: want ErrForbidden, got %v", err)
	}

	// clean up
	if err := c.DeleteApplication(ctx, "pve-contract"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteOAuth2Provider(ctx, p.PK); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOAuth2Provider(ctx, p.PK); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("deleted provider: %v", err)
	}
	if err := c.DeleteApplication(ctx, "pve-contract"); !errors.Is(err, authentik.ErrNotFound) {
		t.Fatalf("deleted app: %v", err)
	}
}

func isFieldError(err error, field string) bool {
	var ae *authentik.APIError
	return errors.As(err, &ae) && ae.StatusCode == 400 && len(ae.Fields[field]) > 0
}

// TestContractPagination makes the simulator hold more objects than one
// page and checks that the client reads them all with valid exchanges.
func TestContractPagination(t *testing.T) {
	for _, version := range paginationVersions {
		t.Run(version, func(t *testing.T) {
			env := startSim(t, version)
			c := env.client(t, env.sim.AdminToken())
			ctx := context.Background()
			const n = 105
			for i := 0; i < n; i++ {
				must[*authentik.Application](t, "CreateApplication")(c.CreateApplication(ctx, authentik.ApplicationRequest{
					Name: fmt.Sprintf("App %03d", i), Slug: fmt.Sprintf("app-%03d", i)}))
			}
			as := must[[]authentik.Application](t, "ListApplications")(c.ListApplications(ctx, authentik.ListApplicationsOptions{}))
			if len(as) != n {
				t.Fatalf("listed %d applications, want %d", len(as), n)
			}
			seen := map[string]bool{}
			for _, a := range as {
				if seen[a.Slug] {
					t.Fatalf("duplicate %s across pages", a.Slug)
				}
				seen[a.Slug] = true
			}
			if got := env.tr.Operations()["core_applications_list"]; got != 2 {
				t.Fatalf("%d list pages, want 2", got)
			}
			env.tr.Check(t)
			logExcused(t, env.tr)
		})
	}
}

// logExcused reports the excused deviations (field and count) so they stay
// visible in verbose test output.
func logExcused(t *testing.T, tr *contract.Transport) {
	t.Helper()
	count := map[string]int{}
	for _, p := range tr.Excused() {
		count[p.Pointer[strings.LastIndex(p.Pointer, "/")+1:]]++
	}
	if len(count) == 0 {
		return
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, fmt.Sprintf("%s×%d", k, count[k]))
	}
	sort.Strings(keys)
	t.Logf("excused null-relation deviations from the schema: %s", strings.Join(keys, ", "))
}
