package steps

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
)

// Read-only lookups for the wizard, so that ui/ talks to the servers only
// through the engine. None of them writes.

// MaxPickUsers bounds AuthentikUsers: the wizard offers a picker, not a
// directory browser (a larger directory is searched by name with --user).
const MaxPickUsers = 200

// MaxKeyPairs bounds how many key pairs KeyPairs inspects (one certificate
// download each).
const MaxKeyPairs = 50

// inspectWorkers bounds the concurrent certificate downloads of KeyPairs.
const inspectWorkers = 8

// AuthentikUsers lists active Authentik users that are not service accounts
// (types internal and external), sorted by username, at most MaxPickUsers
// (len == MaxPickUsers means there may be more). Each carries what UserID
// and Preview need.
func (e *Engine) AuthentikUsers(ctx context.Context) ([]UserInfo, error) {
	active := true
	us, err := e.c.Authentik.ListUsers(ctx, authentik.ListUsersOptions{
		Active: &active, Types: []string{authentik.UserTypeInternal, authentik.UserTypeExternal}, Max: MaxPickUsers})
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		if !u.IsActive || (u.Type != authentik.UserTypeInternal && u.Type != authentik.UserTypeExternal) {
			continue // defensive: the filters are exact
		}
		out = append(out, UserInfoOf(u))
		if len(out) == MaxPickUsers {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out, nil
}

// KeyPairs lists the Authentik key pairs sorted by name (at most
// MaxKeyPairs), each with its key type, key size (read from the
// certificate; 0 = unknown because the certificate could not be read),
// expiry, whether it has a private key, and whether it can sign id_tokens
// Proxmox accepts (Eligible, else Reason) — the same rule as the
// signing-key check.
func (e *Engine) KeyPairs(ctx context.Context) ([]KeyPairFact, error) {
	kps, err := e.c.Authentik.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{})
	if err != nil {
		return nil, err
	}
	sort.Slice(kps, func(i, j int) bool { return kps[i].Name < kps[j].Name })
	if len(kps) > MaxKeyPairs {
		kps = kps[:MaxKeyPairs]
	}
	sem := make(chan struct{}, inspectWorkers)
	var wg sync.WaitGroup
	for i := range kps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// best-effort: a certificate that cannot be read leaves the
			// size unknown (and the type as the list reported it)
			kp := kps[i]
			if err := e.c.Authentik.InspectKeyPair(ctx, &kp); err == nil {
				kps[i] = kp
			}
		})
	}
	wg.Wait()
	now := e.now()
	out := make([]KeyPairFact, 0, len(kps))
	for _, kp := range kps {
		ok, why := keyEligibility(kp, now)
		out = append(out, KeyPairFact{PK: kp.PK, Name: kp.Name, KeyType: kp.KeyType, KeySize: kp.KeySize, Expiry: kp.CertExpiry,
			HasPrivateKey: kp.PrivateKeyAvailable, Eligible: ok, Reason: why})
	}
	return out, nil
}

// UserAccess is what Proxmox says a user may do.
type UserAccess struct {
	UserID string `json:"userid"`
	// Exists is false when Proxmox has no such user (then Groups and
	// Privileges are empty).
	Exists bool     `json:"exists"`
	Groups []string `json:"groups"` // the user's groups, sorted
	// Path is the ACL path the privileges are for: Inputs.ACLPath ("/").
	Path string `json:"path"`
	// Privileges are the user's effective privileges on Path, sorted.
	Privileges []string `json:"privileges"`
}

// UserAccess reads a Proxmox user's groups (GET /access/users) and
// effective privileges on the ACL path (GET /access/permissions with
// userid and path), concurrently.
func (e *Engine) UserAccess(ctx context.Context, userid string) (UserAccess, error) {
	userid = strings.TrimSpace(userid)
	out := UserAccess{UserID: userid, Path: e.in.ACLPath, Groups: []string{}, Privileges: []string{}}
	if userid == "" {
		return out, &UsageError{Flag: "userid", Detail: "a Proxmox userid (user@realm) is required"}
	}
	if err := e.c.Proxmox.Login(ctx); err != nil {
		return out, err
	}
	var (
		wg       sync.WaitGroup
		users    []proxmox.User
		perms    proxmox.Permissions
		permsErr error
	)
	wg.Go(func() {
		perms, permsErr = e.c.Proxmox.Permissions(ctx, proxmox.PermissionsOptions{Path: out.Path, UserID: userid})
	})
	users, err := e.c.Proxmox.ListUsers(ctx)
	wg.Wait()
	if err != nil {
		return out, err
	}
	for _, u := range users {
		if u.UserID == userid {
			out.Exists = true
			out.Groups = append(out.Groups, u.Groups...)
		}
	}
	if !out.Exists {
		// the user list decides; the permissions answer for an unknown
		// user is not used
		return out, nil
	}
	if permsErr != nil {
		return out, permsErr
	}
	for p := range perms[out.Path] {
		out.Privileges = append(out.Privileges, p)
	}
	sort.Strings(out.Groups)
	sort.Strings(out.Privileges)
	return out, nil
}
