package steps_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/authentik"
	aksim "github.com/pvesso/pvesso/authentik/sim"
	"github.com/pvesso/pvesso/proxmox"
	"github.com/pvesso/pvesso/steps"
)

func TestAuthentikUsersForThePicker(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ak.AddUser("zed", "Zed Z", "zed@example.com")
	e.ak.SetUserActive("bob", false)
	if !e.ak.SetUserAttribute("zed", "upn", "zed@corp.example") {
		t.Fatal("SetUserAttribute")
	}
	e.resetLogs()
	us, err := e.engine(e.in).AuthentikUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Username)
	}
	if !slices.Equal(names, []string{"akadmin", "alice", "zed"}) {
		t.Fatalf("users %v, want akadmin alice zed (bob is inactive)", names)
	}
	zed := us[2]
	if zed.Name != "Zed Z" || zed.Email != "zed@example.com" || zed.UPN != "zed@corp.example" || zed.UUID == "" || len(zed.UID) != 64 {
		t.Errorf("zed %+v", zed)
	}
	// the preview works from what AuthentikUsers returns
	in := e.in
	in.SubjectMode = "user_upn"
	if id, err := steps.Preview(in, zed); err != nil || id != "zed@corp.example@authentik" {
		t.Errorf("preview %q %v", id, err)
	}
	if w := e.writes(); w != 0 {
		t.Errorf("AuthentikUsers wrote %d times", w)
	}
	reqs := e.ak.Kit().Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want one list page", len(reqs))
	}
	q, _ := url.ParseQuery(reqs[0].RawQuery)
	if q.Get("is_active") != "true" || !slices.Equal(q["type"], []string{"internal", "external"}) {
		t.Errorf("query %v", q)
	}
}

func TestKeyPairsWithSizesAndEligibility(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.resetLogs()
	kps, err := e.engine(e.in).KeyPairs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]steps.KeyPairFact{}
	var names []string
	for _, k := range kps {
		byName[k.Name] = k
		names = append(names, k.Name)
	}
	if !slices.IsSorted(names) || len(kps) != 3 {
		t.Fatalf("key pairs %v (want the simulator's three, sorted)", names)
	}
	rsa := byName[aksim.SelfSignedCertName]
	if rsa.KeyType != authentik.KeyTypeRSA || rsa.KeySize != 4096 || !rsa.HasPrivateKey || !rsa.Eligible || rsa.Reason != "" || rsa.Expiry.IsZero() {
		t.Errorf("rsa %+v", rsa)
	}
	ec := byName[aksim.DemoECCertName]
	if ec.KeyType != authentik.KeyTypeECDSA || ec.KeySize != 256 || !ec.HasPrivateKey || ec.Eligible || !strings.Contains(ec.Reason, "RS256") {
		t.Errorf("ec %+v", ec)
	}
	ca := byName[aksim.DemoCACertName]
	if ca.KeySize != 256 || ca.HasPrivateKey || ca.Eligible || !strings.Contains(ca.Reason, "no private key") {
		t.Errorf("ca %+v", ca)
	}
	if w := e.writes(); w != 0 {
		t.Errorf("KeyPairs wrote %d times", w)
	}
	// one list (with the version) + one certificate per pair
	if n := len(e.ak.Kit().Requests()); n != 2+3 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestUserAccess(t *testing.T) {
	e := newEnv(t, envOpts{})
	in := e.in
	in.Users = []string{"alice"}
	mustSetup(t, e, in)
	_, pc := e.clients()
	ctx := context.Background()
	if err := pc.CreateGroup(ctx, "ops", ""); err != nil {
		t.Fatal(err)
	}
	if err := pc.CreateUser(ctx, proxmox.UserCreate{UserID: "carol@authentik", Groups: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	eng := e.engine(in)
	e.resetLogs()

	a, err := eng.UserAccess(ctx, "alice@example.com@authentik")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Exists || !slices.Equal(a.Groups, []string{"admin"}) || a.Path != "/" ||
		!slices.Contains(a.Privileges, "Permissions.Modify") || !slices.Contains(a.Privileges, "Sys.Modify") || !slices.IsSorted(a.Privileges) {
		t.Errorf("alice %+v", a)
	}
	c, err := eng.UserAccess(ctx, "carol@authentik")
	if err != nil || !c.Exists || !slices.Equal(c.Groups, []string{"ops"}) || len(c.Privileges) != 0 {
		t.Errorf("carol (no ACL) %+v, %v", c, err)
	}
	n, err := eng.UserAccess(ctx, "nobody@authentik")
	if err != nil || n.Exists || len(n.Groups) != 0 || len(n.Privileges) != 0 || n.Groups == nil || n.Privileges == nil {
		t.Errorf("unknown user %+v, %v", n, err)
	}
	if w := e.writes(); w != 0 {
		t.Errorf("UserAccess wrote %d times", w)
	}
	var ue *steps.UsageError
	if _, err := eng.UserAccess(ctx, "  "); !errors.As(err, &ue) {
		t.Errorf("empty userid: %v", err)
	}
}
