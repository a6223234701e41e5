package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/proxmox"
)

// fakeAK and fakePVE override the few calls the lookups make; any other
// call panics on the nil embedded interface.
type fakeAK struct {
	AuthentikAPI
	users    []authentik.User
	gotUsers authentik.ListUsersOptions
	kps      []authentik.KeyPair
	inspect  func(kp *authentik.KeyPair) error
}

func (f *fakeAK) ListUsers(_ context.Context, o authentik.ListUsersOptions) ([]authentik.User, error) {
	f.gotUsers = o
	return f.users, nil
}

func (f *fakeAK) ListKeyPairs(context.Context, authentik.ListKeyPairsOptions) ([]authentik.KeyPair, error) {
	return append([]authentik.KeyPair(nil), f.kps...), nil
}

func (f *fakeAK) InspectKeyPair(_ context.Context, kp *authentik.KeyPair) error { return f.inspect(kp) }

type fakePVE struct {
	ProxmoxAPI
	users    []proxmox.User
	perms    proxmox.Permissions
	permsErr error
}

func (f *fakePVE) Login(context.Context) error                       { return nil }
func (f *fakePVE) ListUsers(context.Context) ([]proxmox.User, error) { return f.users, nil }
func (f *fakePVE) Permissions(context.Context, proxmox.PermissionsOptions) (proxmox.Permissions, error) {
	return f.perms, f.permsErr
}

// The server's filters are re-checked (a service account or an inactive
// user never reaches the picker) and the list is capped.
func TestAuthentikUsersFiltersAndCaps(t *testing.T) {
	ak := &fakeAK{users: []authentik.User{
		{PK: 1, Username: "svc", Type: authentik.UserTypeServiceAccount, IsActive: true},
		{PK: 2, Username: "isvc", Type: authentik.UserTypeInternalServiceAccount, IsActive: true},
		{PK: 3, Username: "old", Type: authentik.UserTypeInternal},
		{PK: 4, Username: "ext", Type: authentik.UserTypeExternal, IsActive: true},
		{PK: 5, Username: "bea", Type: authentik.UserTypeInternal, IsActive: true, UUID: "u5", UPN: "b@x"},
	}}
	e := New(&Clients{Authentik: ak}, DefaultInputs())
	us, err := e.AuthentikUsers(context.Background())
	if err != nil || len(us) != 2 || us[0].Username != "bea" || us[1].Username != "ext" || us[0].UUID != "u5" || us[0].UPN != "b@x" {
		t.Fatalf("users %+v, %v", us, err)
	}
	o := ak.gotUsers
	if o.Active == nil || !*o.Active || o.Max != MaxPickUsers || !slices.Equal(o.Types, []string{"internal", "external"}) {
		t.Errorf("options %+v", o)
	}
	ak.users = nil
	for i := range MaxPickUsers + 5 {
		ak.users = append(ak.users, authentik.User{PK: i, Username: fmt.Sprintf("u%03d", i), Type: "internal", IsActive: true})
	}
	if us, err := e.AuthentikUsers(context.Background()); err != nil || len(us) != MaxPickUsers {
		t.Errorf("cap: %d, %v", len(us), err)
	}
}

// A certificate that cannot be read leaves the size unknown; the key type
// the list reported and the eligibility rule still apply. The count is
// capped.
func TestKeyPairsBestEffortSizes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ak := &fakeAK{kps: []authentik.KeyPair{
		{PK: "b", Name: "b-expired", KeyType: "rsa", PrivateKeyAvailable: true, CertExpiry: now.Add(-time.Hour)},
		{PK: "a", Name: "a-unreadable", KeyType: "rsa", PrivateKeyAvailable: true},
		{PK: "c", Name: "c-unknown", PrivateKeyAvailable: true},
	}, inspect: func(kp *authentik.KeyPair) error {
		switch kp.PK {
		case "a":
			return errors.New("boom")
		case "c":
			kp.KeyType, kp.KeySize = "rsa", 2048
		default:
			kp.KeySize = 4096
		}
		return nil
	}}
	e := New(&Clients{Authentik: ak}, DefaultInputs(), WithClock(func() time.Time { return now }))
	kps, err := e.KeyPairs(context.Background())
	if err != nil || len(kps) != 3 {
		t.Fatalf("%+v, %v", kps, err)
	}
	if a := kps[0]; a.Name != "a-unreadable" || a.KeySize != 0 || a.KeyType != "rsa" || !a.Eligible {
		t.Errorf("a %+v", a)
	}
	if b := kps[1]; b.KeySize != 4096 || b.Eligible || b.Reason == "" {
		t.Errorf("b (expired) %+v", b)
	}
	if c := kps[2]; c.KeyType != "rsa" || c.KeySize != 2048 || !c.Eligible {
		t.Errorf("c (type from the certificate) %+v", c)
	}
	ak.kps = nil
	for i := range MaxKeyPairs + 3 {
		ak.kps = append(ak.kps, authentik.KeyPair{PK: fmt.Sprint(i), Name: fmt.Sprintf("k%03d", i)})
	}
	if kps, err := e.KeyPairs(context.Background()); err != nil || len(kps) != MaxKeyPairs || kps[0].Name != "k000" {
		t.Errorf("cap: %d, %v", len(kps), err)
	}
}

// The user list decides whether the user exists: a permissions error is
// the answer for a user that exists and ignored for one that does not.
func TestUserAccessErrors(t *testing.T) {
	pve := &fakePVE{users: []proxmox.User{{UserID: "a@r", Groups: []string{"z", "admin"}}},
		perms: proxmox.Permissions{"/": {"VM.Audit": true, "Sys.Audit": false}, "/vms": {"X": true}}}
	in := DefaultInputs()
	e := New(&Clients{Proxmox: pve}, in)
	a, err := e.UserAccess(context.Background(), "a@r")
	if err != nil || !slices.Equal(a.Groups, []string{"admin", "z"}) || !slices.Equal(a.Privileges, []string{"Sys.Audit", "VM.Audit"}) {
		t.Fatalf("%+v, %v", a, err)
	}
	pve.permsErr = errors.New("permission check failed")
	if _, err := e.UserAccess(context.Background(), "a@r"); err == nil {
		t.Error("a permissions error for an existing user must be returned")
	}
	if n, err := e.UserAccess(context.Background(), "b@r"); err != nil || n.Exists {
		t.Errorf("unknown user: %+v, %v", n, err)
	}
}
