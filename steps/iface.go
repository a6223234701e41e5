package steps

import (
	"context"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
)

// AuthentikAPI is the part of *authentik.Client the engine uses. Tests may
// substitute a fake.
type AuthentikAPI interface {
	BaseURL() string
	IssuerURL(slug string) string
	// DetectVersion shares the client's own version detection (one GET
	// /admin/version/ for the engine and the version-dependent reads).
	DetectVersion(ctx context.Context) (*authentik.VersionInfo, error)
	Me(ctx context.Context) (*authentik.User, error)
	ListUsers(ctx context.Context, o authentik.ListUsersOptions) ([]authentik.User, error)
	FlowBySlug(ctx context.Context, slug string) (*authentik.Flow, error)
	ScopeMappingsByManaged(ctx context.Context, managed ...string) ([]authentik.ScopeMapping, error)
	ListKeyPairs(ctx context.Context, o authentik.ListKeyPairsOptions) ([]authentik.KeyPair, error)
	InspectKeyPair(ctx context.Context, kp *authentik.KeyPair) error
	GenerateKeyPair(ctx context.Context, r authentik.GenerateKeyPairRequest) (*authentik.KeyPair, error)
	ListOAuth2Providers(ctx context.Context, o authentik.ListProvidersOptions) ([]authentik.OAuth2Provider, error)
	CreateOAuth2Provider(ctx context.Context, r authentik.OAuth2ProviderRequest) (*authentik.OAuth2Provider, error)
	UpdateOAuth2Provider(ctx context.Context, pk int, r authentik.OAuth2ProviderRequest) (*authentik.OAuth2Provider, error)
	DeleteOAuth2Provider(ctx context.Context, pk int) error
	GetApplication(ctx context.Context, slug string) (*authentik.Application, error)
	CreateApplication(ctx context.Context, r authentik.ApplicationRequest) (*authentik.Application, error)
	UpdateApplication(ctx context.Context, slug string, r authentik.ApplicationRequest) (*authentik.Application, error)
	DeleteApplication(ctx context.Context, slug string) error
	Discovery(ctx context.Context, slug string) (*authentik.Discovery, error)
}

// ProxmoxAPI is the part of *proxmox.Client the engine uses.
type ProxmoxAPI interface {
	Login(ctx context.Context) error
	AuthUser() string
	Version(ctx context.Context) (*proxmox.VersionInfo, error)
	ClusterStatus(ctx context.Context) ([]proxmox.ClusterStatusEntry, error)
	Permissions(ctx context.Context, o proxmox.PermissionsOptions) (proxmox.Permissions, error)
	ListRealms(ctx context.Context) ([]proxmox.RealmSummary, error)
	GetRealm(ctx context.Context, realm string) (*proxmox.Realm, error)
	CreateRealm(ctx context.Context, r proxmox.RealmCreate) error
	UpdateRealm(ctx context.Context, realm string, r proxmox.RealmUpdate) error
	DeleteRealm(ctx context.Context, realm string) error
	ListGroups(ctx context.Context) ([]proxmox.Group, error)
	CreateGroup(ctx context.Context, groupid, comment string) error
	DeleteGroup(ctx context.Context, groupid string) error
	ListACL(ctx context.Context) ([]proxmox.ACLEntry, error)
	UpdateACL(ctx context.Context, u proxmox.ACLUpdate) error
	ListUsers(ctx context.Context) ([]proxmox.User, error)
	CreateUser(ctx context.Context, u proxmox.UserCreate) error
	AddUserToGroups(ctx context.Context, userid string, groups ...string) error
	DeleteUser(ctx context.Context, userid string) error
	OpenIDAuthURL(ctx context.Context, realm, redirectURL string) (string, error)
}

// Compile-time proof that the real clients satisfy the interfaces.
var (
	_ AuthentikAPI = (*authentik.Client)(nil)
	_ ProxmoxAPI   = (*proxmox.Client)(nil)
)
