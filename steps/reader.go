package steps

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
)

// memo runs a read once; concurrent callers share the result. Step checks
// run concurrently and ask for the same reads (the realm, the provider
// list, ...): each is sent once.
type memo[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (m *memo[T]) get(f func() (T, error)) (T, error) {
	m.once.Do(func() { m.v, m.err = f() })
	return m.v, m.err
}

// reader holds the memoised reads of one check pass.
type reader struct {
	ak     AuthentikAPI
	pve    ProxmoxAPI
	akHTTP *http.Client
	in     Inputs

	akVersion memo[*authentik.VersionInfo]
	me        memo[*authentik.User]
	authzFlow memo[*authentik.Flow]
	invFlow   memo[*authentik.Flow]
	mappings  memo[[]authentik.ScopeMapping]
	keyPairs  memo[[]authentik.KeyPair]
	providers memo[[]authentik.OAuth2Provider]
	app       memo[*authentik.Application]

	usersMu sync.Mutex
	akUsers map[string]*memo[[]authentik.User]

	pveLogin   memo[struct{}]
	pveVersion memo[*proxmox.VersionInfo]
	cluster    memo[[]proxmox.ClusterStatusEntry]
	realms     memo[[]proxmox.RealmSummary]
	realmGet   memo[*proxmox.Realm]
	realm      memo[*proxmox.Realm]
	groups     memo[[]proxmox.Group]
	acl        memo[[]proxmox.ACLEntry]
	pveUsers   memo[[]proxmox.User]

	permMu sync.Mutex
	perms  map[string]*memo[proxmox.Permissions]
}

func newReader(c *Clients, in Inputs) *reader {
	return &reader{ak: c.Authentik, pve: c.Proxmox, akHTTP: c.AuthentikHTTP, in: in,
		akUsers: map[string]*memo[[]authentik.User]{}, perms: map[string]*memo[proxmox.Permissions]{}}
}

// AuthentikVersion is the client's version detection, which the
// version-dependent reads (providers, key pairs, scope mappings) share: they
// go out together with it and are decoded once it is back, so all
// Authentik reads form one wave.
func (r *reader) AuthentikVersion(ctx context.Context) (*authentik.VersionInfo, error) {
	return r.akVersion.get(func() (*authentik.VersionInfo, error) { return r.ak.DetectVersion(ctx) })
}

func (r *reader) Me(ctx context.Context) (*authentik.User, error) {
	return r.me.get(func() (*authentik.User, error) { return r.ak.Me(ctx) })
}

func (r *reader) AuthzFlow(ctx context.Context) (*authentik.Flow, error) {
	return r.authzFlow.get(func() (*authentik.Flow, error) { return r.ak.FlowBySlug(ctx, authentik.FlowImplicitConsent) })
}

// InvalidationFlow reads the flow concurrently with the version (the
// request does not depend on it) and keeps it only from 2024.10 on, when
// providers have an invalidation flow.
func (r *reader) InvalidationFlow(ctx context.Context) (*authentik.Flow, error) {
	return r.invFlow.get(func() (*authentik.Flow, error) {
		var (
			wg   sync.WaitGroup
			f    *authentik.Flow
			fErr error
		)
		wg.Go(func() { f, fErr = r.ak.FlowBySlug(ctx, authentik.FlowProviderInvalidation) })
		v, err := r.AuthentikVersion(ctx)
		wg.Wait()
		if err != nil {
			return nil, err
		}
		if !v.Parsed.AtLeast(2024, 10, 0) {
			return nil, nil // no invalidation flow before 2024.10
		}
		return f, fErr
	})
}

// Managed ids of the three scope mappings every Proxmox provider needs.
var requiredScopes = []struct{ Managed, Scope string }{
	{authentik.ScopeOpenID, "openid"},
	{authentik.ScopeEmail, "email"},
	{authentik.ScopeProfile, "profile"},
}

func (r *reader) Mappings(ctx context.Context) ([]authentik.ScopeMapping, error) {
	return r.mappings.get(func() ([]authentik.ScopeMapping, error) {
		ids := make([]string, 0, len(requiredScopes))
		for _, s := range requiredScopes {
			ids = append(ids, s.Managed)
		}
		return r.ak.ScopeMappingsByManaged(ctx, ids...)
	})
}

func (r *reader) KeyPairs(ctx context.Context) ([]authentik.KeyPair, error) {
	return r.keyPairs.get(func() ([]authentik.KeyPair, error) {
		kps, err := r.ak.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{})
		if err != nil {
			return nil, err
		}
		// Older servers only name the type of a private key; when the type
		// is unknown, read the certificate (rare, concurrent).
		var wg sync.WaitGroup
		errs := make([]error, len(kps))
		for i := range kps {
			if kps[i].PrivateKeyAvailable && kps[i].KeyType == "" {
				wg.Go(func() { errs[i] = r.ak.InspectKeyPair(ctx, &kps[i]) })
			}
		}
		wg.Wait()
		return kps, errors.Join(errs...)
	})
}

// Providers lists all OAuth2 providers (one paginated read; matched by name
// and client id locally).
func (r *reader) Providers(ctx context.Context) ([]authentik.OAuth2Provider, error) {
	return r.providers.get(func() ([]authentik.OAuth2Provider, error) {
		return r.ak.ListOAuth2Providers(ctx, authentik.ListProvidersOptions{})
	})
}

// App returns the application with the slug, or nil when there is none.
func (r *reader) App(ctx context.Context) (*authentik.Application, error) {
	return r.app.get(func() (*authentik.Application, error) {
		a, err := r.ak.GetApplication(ctx, r.in.AppSlug)
		if errors.Is(err, authentik.ErrNotFound) {
			return nil, nil
		}
		return a, err
	})
}

// AuthentikUser finds one user by username, or by email when the input
// contains "@".
func (r *reader) AuthentikUser(ctx context.Context, input string) ([]authentik.User, error) {
	r.usersMu.Lock()
	m, ok := r.akUsers[input]
	if !ok {
		m = &memo[[]authentik.User]{}
		r.akUsers[input] = m
	}
	r.usersMu.Unlock()
	return m.get(func() ([]authentik.User, error) {
		o := authentik.ListUsersOptions{Username: input}
		if strings.Contains(input, "@") {
			o = authentik.ListUsersOptions{Email: input}
		}
		us, err := r.ak.ListUsers(ctx, o)
		if err != nil || len(us) > 0 || o.Username != "" {
			return us, err
		}
		// an email-looking input may also be a username
		return r.ak.ListUsers(ctx, authentik.ListUsersOptions{Username: input})
	})
}

// PVELogin obtains a ticket for password logins (a no-op for API tokens);
// every Proxmox read waits for it.
func (r *reader) PVELogin(ctx context.Context) error {
	_, err := r.pveLogin.get(func() (struct{}, error) { return struct{}{}, r.pve.Login(ctx) })
	return err
}

func pveRead[T any](ctx context.Context, r *reader, m *memo[T], f func() (T, error)) (T, error) {
	return m.get(func() (T, error) {
		if err := r.PVELogin(ctx); err != nil {
			var zero T
			return zero, err
		}
		return f()
	})
}

func (r *reader) PVEVersion(ctx context.Context) (*proxmox.VersionInfo, error) {
	return pveRead(ctx, r, &r.pveVersion, func() (*proxmox.VersionInfo, error) { return r.pve.Version(ctx) })
}

func (r *reader) Cluster(ctx context.Context) ([]proxmox.ClusterStatusEntry, error) {
	return pveRead(ctx, r, &r.cluster, func() ([]proxmox.ClusterStatusEntry, error) { return r.pve.ClusterStatus(ctx) })
}

func (r *reader) Realms(ctx context.Context) ([]proxmox.RealmSummary, error) {
	return pveRead(ctx, r, &r.realms, func() ([]proxmox.RealmSummary, error) { return r.pve.ListRealms(ctx) })
}

// Realm returns the realm's configuration, or nil when it does not exist.
// The list and the realm itself are read concurrently (the list decides
// whether it exists, so no error text has to be interpreted).
func (r *reader) Realm(ctx context.Context) (*proxmox.Realm, error) {
	return r.realm.get(func() (*proxmox.Realm, error) {
		var (
			wg     sync.WaitGroup
			got    *proxmox.Realm
			getErr error
		)
		wg.Go(func() {
			got, getErr = pveRead(ctx, r, &r.realmGet, func() (*proxmox.Realm, error) { return r.pve.GetRealm(ctx, r.in.Realm) })
		})
		list, err := r.Realms(ctx)
		wg.Wait()
		if err != nil {
			return nil, err
		}
		found := false
		for _, s := range list {
			if s.Realm == r.in.Realm {
				found = true
			}
		}
		if !found {
			return nil, nil
		}
		if getErr != nil {
			return nil, getErr
		}
		if got.Realm == "" {
			got.Realm = r.in.Realm
		}
		return got, nil
	})
}

func (r *reader) Groups(ctx context.Context) ([]proxmox.Group, error) {
	return pveRead(ctx, r, &r.groups, func() ([]proxmox.Group, error) { return r.pve.ListGroups(ctx) })
}

func (r *reader) ACL(ctx context.Context) ([]proxmox.ACLEntry, error) {
	return pveRead(ctx, r, &r.acl, func() ([]proxmox.ACLEntry, error) { return r.pve.ListACL(ctx) })
}

func (r *reader) PVEUsers(ctx context.Context) ([]proxmox.User, error) {
	return pveRead(ctx, r, &r.pveUsers, func() ([]proxmox.User, error) { return r.pve.ListUsers(ctx) })
}

// Perms returns the caller's privileges on path.
func (r *reader) Perms(ctx context.Context, path string) (proxmox.Permissions, error) {
	r.permMu.Lock()
	m, ok := r.perms[path]
	if !ok {
		m = &memo[proxmox.Permissions]{}
		r.perms[path] = m
	}
	r.permMu.Unlock()
	return pveRead(ctx, r, m, func() (proxmox.Permissions, error) {
		return r.pve.Permissions(ctx, proxmox.PermissionsOptions{Path: path})
	})
}

// hasPriv reports whether perms grant priv on path.
func hasPriv(perms proxmox.Permissions, path, priv string) bool {
	if p, ok := perms[path]; ok {
		_, has := p[priv]
		return has
	}
	return false
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
