package steps

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pvesso/pvesso/authentik"
)

func TestUserIDPerModeAndClaim(t *testing.T) {
	u := UserInfo{PK: 7, Username: "alice", Email: "alice@example.com", UID: strings.Repeat("a", 64)}
	cases := []struct {
		sub, claim, realm, want string
		wantErr                 bool
	}{
		{"user_email", "subject", "authentik", "alice@example.com@authentik", false},
		{"user_username", "subject", "authentik", "alice@authentik", false},
		{"user_id", "subject", "authentik", "7@authentik", false},
		{"hashed_user_id", "subject", "authentik", "", true}, // 64 + 10 > 64
		{"hashed_user_id", "username", "authentik", "alice@authentik", false},
		{"hashed_user_id", "email", "sso", "alice@example.com@sso", false},
		{"user_upn", "subject", "authentik", "", true},                            // no upn: falls back to the hashed id (64 + 10 > 64)
		{"user_upn", "username", "authentik", "alice@authentik", false},           // the sub is not used
		{"user_uuid", "subject", "authentik", "", true},                           // uuid not reported
		{"user_uuid", "email", "authentik", "alice@example.com@authentik", false}, // the sub is not used
		{"user_email", "nickname", "authentik", "", true},
	}
	for _, c := range cases {
		got, err := UserID(c.sub, c.claim, c.realm, u)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("UserID(%s,%s,%s) = %q, %v; want %q (err %v)", c.sub, c.claim, c.realm, got, err, c.want, c.wantErr)
		}
	}
	long := UserInfo{Username: "x", Email: strings.Repeat("l", 50) + "@example.com"}
	_, err := UserID("user_email", "subject", "authentik", long)
	var ce *CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "64") || ce.Fix == "" {
		t.Errorf("long email: %v", err)
	}
	if _, err := UserID("user_email", "subject", "authentik", UserInfo{Username: "noemail"}); err == nil {
		t.Error("an empty email must be refused with sub_mode user_email")
	}
	_, err = UserID("user_uuid", "subject", "authentik", u)
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, `uuid of "alice"`) || !strings.Contains(ce.Fix, "--subject-mode user_email") {
		t.Errorf("user_uuid refusal: %v", err)
	}
	u.UUID = "0b4c5b8e-6a3d-4f27-9f0c-1d2e3f405162"
	if got, err := UserID("user_uuid", "subject", "authentik", u); err != nil || got != u.UUID+"@authentik" {
		t.Errorf("user_uuid with a known uuid: %q %v", got, err)
	}
	// 36 + 1 + 27 = 64 fits; a 28-character realm does not
	if got, err := UserID("user_uuid", "subject", strings.Repeat("r", 27), u); err != nil || len(got) != 64 {
		t.Errorf("user_uuid at 64 characters: %q %v", got, err)
	}
	if _, err := UserID("user_uuid", "subject", strings.Repeat("r", 28), u); !errors.As(err, &ce) || !strings.Contains(ce.Detail, "65 characters") {
		t.Errorf("user_uuid at 65 characters: %v", err)
	}

	// user_upn: the upn when the user has one, else the hashed id, which
	// the 64-character guard refuses naming the missing attribute.
	_, err = UserID("user_upn", "subject", "authentik", u)
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "no upn attribute") || !strings.Contains(ce.Detail, "74 characters") || !strings.Contains(ce.Fix, "upn attribute") {
		t.Errorf("user_upn without upn: %v", err)
	}
	u.UPN = "alice@corp.example"
	if got, err := UserID("user_upn", "subject", "authentik", u); err != nil || got != "alice@corp.example@authentik" {
		t.Errorf("user_upn with upn: %q %v", got, err)
	}
	u.UPN = strings.Repeat("u", 54) // 54 + len("@authentik") = 64
	if got, err := UserID("user_upn", "subject", "authentik", u); err != nil || len(got) != 64 {
		t.Errorf("user_upn at 64 characters: %q %v", got, err)
	}
	u.UPN += "u"
	_, err = UserID("user_upn", "subject", "authentik", u)
	if !errors.As(err, &ce) || !strings.Contains(ce.Detail, "65 characters") || strings.Contains(ce.Detail, "no upn") {
		t.Errorf("user_upn too long: %v", err)
	}
}

func TestUserInfoOfCopiesUUIDAndUPN(t *testing.T) {
	got := UserInfoOf(authentik.User{PK: 3, Username: "a", Name: "A", Email: "a@x", UID: "h", UUID: "u-u-i-d", UPN: "a@corp"})
	want := UserInfo{PK: 3, Username: "a", Name: "A", Email: "a@x", UID: "h", UUID: "u-u-i-d", UPN: "a@corp"}
	if got != want {
		t.Errorf("UserInfoOf = %+v, want %+v", got, want)
	}
}

func TestStructuralUserIDGuard(t *testing.T) {
	in := DefaultInputs()
	if p := structuralUserIDProblem(in); p != "" {
		t.Errorf("defaults flagged: %s", p)
	}
	in.SubjectMode = "hashed_user_id"
	if p := structuralUserIDProblem(in); !strings.Contains(p, "74") {
		t.Errorf("hashed id + subject must be refused (64+10=74): %q", p)
	}
	in.UsernameClaim = "username"
	if p := structuralUserIDProblem(in); p != "" {
		t.Errorf("username claim does not use sub: %s", p)
	}
	// user_upn depends on the user (a upn attribute or not): decided per user
	in = DefaultInputs()
	in.SubjectMode = "user_upn"
	if p := structuralUserIDProblem(in); p != "" {
		t.Errorf("user_upn refused for every user: %s", p)
	}
	in.SubjectMode = "user_uuid"
	if p := structuralUserIDProblem(in); p != "" {
		t.Errorf("user_uuid with realm authentik (47 characters) refused: %s", p)
	}
	in.Realm = strings.Repeat("r", 28)
	if p := structuralUserIDProblem(in); !strings.Contains(p, "65") {
		t.Errorf("user_uuid with a 28-character realm gives 65 characters: %q", p)
	}
}

func TestOriginAndRedirects(t *testing.T) {
	for in, want := range map[string]string{
		"https://PVE.example.com:8006/":    "https://pve.example.com:8006",
		"https://pve.example.com:8006":     "https://pve.example.com:8006",
		"https://pve.example.com/":         "https://pve.example.com",
		"https://pve.example.com:443/":     "https://pve.example.com",
		"https://[::1]:8006":               "https://[::1]:8006",
		"https://pve.example.com:8006/#/x": "",
		"http://pve.example.com:8006":      "",
		"pve.example.com:8006":             "",
		"":                                 "",
	} {
		got, err := Origin(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := redirectOrigin("https://pve:8006/ui"); err == nil {
		t.Error("a redirect URI with a path can never match Proxmox's origin")
	}
	if got := nodeOrigin("127.0.0.2"); got != "https://127.0.0.2:8006" {
		t.Error(got)
	}
	if got := nodeOrigin("::1"); got != "https://[::1]:8006" {
		t.Error(got)
	}
}

func TestMergeRedirectsKeepsDepartedAndStrictens(t *testing.T) {
	existing := []authentik.RedirectURI{
		{MatchingMode: "regex", URL: "https://a:8006"},
		{MatchingMode: "strict", URL: "https://gone:8006"},
		{MatchingMode: "strict", URL: "https://a:8006/logout", Type: authentik.RedirectLogout},
	}
	merged, departed := mergeRedirects(existing, []string{"https://a:8006", "https://b:8006"})
	if got := renderRedirects(merged); got != "https://a:8006, https://gone:8006, https://a:8006/logout (logout), https://b:8006" {
		t.Errorf("merged = %s", got)
	}
	if len(departed) != 1 || departed[0] != "https://gone:8006" {
		t.Errorf("departed = %v", departed)
	}
	if merged[0].MatchingMode != "strict" {
		t.Error("a wanted URL registered as regex must become strict")
	}
}

func TestKeyEligibility(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		kp     authentik.KeyPair
		ok     bool
		reason string
	}{
		{authentik.KeyPair{KeyType: "rsa", PrivateKeyAvailable: true, CertExpiry: now.Add(time.Hour)}, true, ""},
		{authentik.KeyPair{KeyType: "rsa", PrivateKeyAvailable: true}, true, ""},
		{authentik.KeyPair{KeyType: "rsa", PrivateKeyAvailable: false}, false, "HS256"},
		{authentik.KeyPair{KeyType: "ecdsa", PrivateKeyAvailable: true}, false, "ES256"},
		{authentik.KeyPair{KeyType: "ed25519", PrivateKeyAvailable: true}, false, "RS256 only"},
		{authentik.KeyPair{KeyType: "rsa", PrivateKeyAvailable: true, CertExpiry: now.Add(-time.Hour)}, false, "expired"},
		{authentik.KeyPair{KeyType: "", PrivateKeyAvailable: true}, false, "unknown"},
	}
	for _, c := range cases {
		ok, why := keyEligibility(c.kp, now)
		if ok != c.ok || !strings.Contains(why, c.reason) {
			t.Errorf("%+v: %v %q", c.kp, ok, why)
		}
	}
}

func TestRandomStringUnbiasedAlphabetAndLength(t *testing.T) {
	// all-0xff bytes are rejected, so a reader of only 0xff would never
	// finish: feed a mix and check only accepted bytes are used
	src := bytes.NewReader(bytes.Repeat([]byte{255, 0, 61, 62, 247}, 200))
	s, err := randomString(src, 40)
	if err != nil || len(s) != 40 {
		t.Fatal(s, err)
	}
	for _, c := range s {
		if !strings.ContainsRune(alnum, c) {
			t.Fatalf("%q outside the alphabet", c)
		}
	}
	// 255 is rejected (>= 248); 0→A, 61→9, 62→A (62 mod 62), 247→9 (247 mod 62 = 61)
	if !strings.HasPrefix(s, "A9A9A9A9") {
		t.Errorf("prefix %q", s[:8])
	}
	if _, err := randomString(bytes.NewReader(nil), 8); err == nil {
		t.Error("a failing source must be an error")
	}
}

func TestPlanRendersSecretsMasked(t *testing.T) {
	p := &Plan{Items: []Item{{Step: StepRealm, Side: "proxmox", Kind: "realm", Name: "authentik", Action: ActionUpdate,
		Changes: []Change{{Field: "client-key", Old: "oldsecret", New: "newsecret", Secret: true}, {Field: "scopes", Old: "email profile", New: "openid email profile"}}}}}
	s := p.String()
	j, _ := json.Marshal(p)
	for _, out := range []string{s, string(j)} {
		if strings.Contains(out, "oldsecret") || strings.Contains(out, "newsecret") {
			t.Fatalf("secret leaked: %s", out)
		}
		if !strings.Contains(out, SecretMask) {
			t.Fatalf("no mask: %s", out)
		}
	}
	if !strings.Contains(s, "scopes: email profile -> openid email profile") {
		t.Errorf("diff not readable:\n%s", s)
	}
	if !p.HasChanges() {
		t.Error("update is a change")
	}
	empty := &Plan{Items: []Item{{Kind: "group", Name: "admin", Action: ActionNone}}}
	if empty.HasChanges() || !strings.Contains(empty.String(), "nothing to do") {
		t.Errorf("no-op plan: %s", empty)
	}
}

func TestInputsValidateNamesTheFlag(t *testing.T) {
	base := DefaultInputs()
	base.ProxmoxURL = "https://pve:8006"
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	for flag, mut := range map[string]func(*Inputs){
		"--proxmox-url":    func(in *Inputs) { in.ProxmoxURL = "http://pve:8006" },
		"--realm":          func(in *Inputs) { in.Realm = "pam" },
		"--group":          func(in *Inputs) { in.Group = "a b" },
		"--app-slug":       func(in *Inputs) { in.AppSlug = "token" },
		"--subject-mode":   func(in *Inputs) { in.SubjectMode = "email" },
		"--username-claim": func(in *Inputs) { in.UsernameClaim = "upn" },
		"--redirect-uri":   func(in *Inputs) { in.RedirectURIs = []string{"https://x:8006/path"} },
		"--user":           func(in *Inputs) { in.Users = []string{"a b"} },
		"--acl-path":       func(in *Inputs) { in.ACLPath = "vms" },
	} {
		in := base
		mut(&in)
		var ue *UsageError
		if err := in.Validate(); !errors.As(err, &ue) || !strings.HasPrefix(ue.Flag, flag) {
			t.Errorf("%s: %v", flag, err)
		}
	}
}
