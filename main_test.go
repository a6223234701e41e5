package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui"
)

// result is one captured run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) all() string { return r.stdout + r.stderr }

// runCLI runs pvesso with exactly env as its environment (plus a private
// XDG_CONFIG_HOME unless env sets one) and captures both streams.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runCLICtx(context.Background(), t, env, args...)
}

func runCLICtx(ctx context.Context, t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	e := map[string]string{}
	for k, v := range env {
		e[k] = v
	}
	if _, ok := e["XDG_CONFIG_HOME"]; !ok {
		e["XDG_CONFIG_HOME"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	code := run(ctx, args, func(k string) string { return e[k] }, strings.NewReader(""), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// runPlain is runCLICtx for a cli with a node-name resolver (no terminal).
func runPlain(ctx context.Context, env map[string]string, lookup func(context.Context, string) ([]string, error), args ...string) result {
	var out, errb bytes.Buffer
	c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, lookup: lookup}
	code := c.run(ctx, args)
	return result{code, out.String(), errb.String()}
}

func TestVersionCommand(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "pvesso ") {
		t.Fatalf("version: exit %d, out %q, err %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "pvesso ") {
		t.Fatalf("--version: exit %d, out %q", r.code, r.stdout)
	}
	if r := runCLI(t, nil, "bogus"); r.code != 2 || !strings.Contains(r.stderr, `"bogus"`) {
		t.Fatalf("unknown command: exit %d, err %q, want 2 naming it", r.code, r.stderr)
	}
}

func TestHelp(t *testing.T) {
	r := runCLI(t, nil, "help")
	if r.code != 0 {
		t.Fatalf("help exit %d", r.code)
	}
	for _, want := range []string{"users add", "users list", "status", "remove", "demo", "version", envAuthentikToken, envProxmoxToken, envProxmoxPass} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	r = runCLI(t, nil, "setup", "--help")
	if r.code != 0 {
		t.Fatalf("setup --help exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"--authentik-url", "--authentik-token-file", "--proxmox-url", "--proxmox-fingerprint", "--authentik-fingerprint",
		"--ca-file", "--realm", "--group", "--role", "--acl-path", "--app-slug", "--app-name", "--signing-key", "--subject-mode",
		"--username-claim", "--redirect-uri", "--all-nodes", "--user", "--default-realm", "--plan", "--yes", "--no-browser", "--json"} {
		if !strings.Contains(r.stdout, f+" ") && !strings.Contains(r.stdout, f+"\n") {
			t.Errorf("setup --help lacks %s", f)
		}
	}
	if r := runCLI(t, nil, "users", "add", "-h"); r.code != 0 || !strings.Contains(r.stdout, "pvesso users add") {
		t.Errorf("users add -h: exit %d out %q", r.code, r.stdout)
	}
	if r := runCLI(t, nil, "help", "status"); r.code != 0 || strings.Contains(r.stdout, "--yes") {
		t.Errorf("help status: exit %d, should not offer --yes: %q", r.code, r.stdout)
	}
}

// TestNoSecretFlags: no flag of any command takes a token or password.
func TestNoSecretFlags(t *testing.T) {
	for cmd := range commandFlags {
		for _, name := range flagNames(cmd) {
			if strings.HasSuffix(name, "-file") {
				continue // a path, not a secret
			}
			for _, bad := range []string{"token", "password", "passwd", "secret", "otp", "key-value"} {
				if strings.Contains(name, bad) {
					t.Errorf("%s: flag --%s would carry a secret in argv", cmd, name)
				}
			}
		}
	}
}

func flagNames(cmd string) []string {
	var names []string
	fs := newFlagSet(cmd, &options{})
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

func TestSecretFlagIsRefusedWithoutEcho(t *testing.T) {
	const secret = "s3cr3t-Value-123"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"setup", "--authentik-token", secret}, envAuthentikToken},
		{[]string{"setup", "--authentik-token=" + secret}, envAuthentikToken},
		{[]string{"status", "--proxmox-password", secret}, envProxmoxPass},
		{[]string{"users", "add", "--proxmox-token=" + secret, "alice"}, envProxmoxToken},
		{[]string{"remove", "--otp", secret}, envProxmoxOTP},
	}
	for _, c := range cases {
		r := runCLI(t, nil, c.args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, r.code)
		}
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: message %q does not name %s", c.args, r.stderr, c.want)
		}
		if strings.Contains(r.all(), secret) {
			t.Errorf("%v: output echoes the secret: %q", c.args, r.all())
		}
	}
}

// goodEnv is a complete, well-formed environment (nothing listens there;
// usage checks happen before any connection).
func goodEnv() map[string]string {
	return map[string]string{
		envAuthentikURL:   "https://auth.test:9443",
		envAuthentikToken: "ak-token-value",
		envProxmoxURL:     "pve.test",
		envProxmoxToken:   "root@pam!pvesso=11111111-2222-3333-4444-555555555555",
	}
}

func without(env map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func with(env map[string]string, kv ...string) map[string]string {
	out := without(env)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestUsageErrorsExit2NamingTheFix(t *testing.T) {
	dir := t.TempDir()
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string // every string must appear in stderr
	}{
		{"no authentik url", without(goodEnv(), envAuthentikURL), []string{"setup", "--yes"}, []string{"--authentik-url", envAuthentikURL}},
		{"no proxmox url", without(goodEnv(), envProxmoxURL), []string{"status"}, []string{"--proxmox-url", envProxmoxURL}},
		{"http authentik", with(goodEnv(), envAuthentikURL, "http://auth.test"), []string{"status"}, []string{envAuthentikURL, "https://"}},
		{"http proxmox flag", goodEnv(), []string{"status", "--proxmox-url", "http://pve.test:8006"}, []string{"--proxmox-url", "https://"}},
		{"malformed url", goodEnv(), []string{"status", "--proxmox-url", "https://pve test:8006"}, []string{"--proxmox-url"}},
		{"bad port", goodEnv(), []string{"status", "--proxmox-url", "pve.test:99999"}, []string{"--proxmox-url", "port"}},
		{"url with path", goodEnv(), []string{"status", "--authentik-url", "https://auth.test/if/admin/"}, []string{"--authentik-url", "path"}},
		{"url with user", goodEnv(), []string{"status", "--proxmox-url", "https://root:pw@pve.test"}, []string{"--proxmox-url", "environment"}},
		{"no authentik token", without(goodEnv(), envAuthentikToken), []string{"setup", "--plan"}, []string{envAuthentikToken, "--authentik-token-file"}},
		{"empty token file", without(goodEnv(), envAuthentikToken), []string{"status", "--authentik-token-file", emptyFile}, []string{"--authentik-token-file", "empty"}},
		{"missing token file", goodEnv(), []string{"status", "--authentik-token-file", filepath.Join(dir, "nope")}, []string{"--authentik-token-file"}},
		{"no proxmox creds", without(goodEnv(), envProxmoxToken), []string{"status"}, []string{envProxmoxToken, "--proxmox-token-file", envProxmoxUser, envProxmoxPass}},
		{"user without password", with(without(goodEnv(), envProxmoxToken), envProxmoxUser, "root@pam"), []string{"status"}, []string{envProxmoxPass}},
		{"user without realm", with(without(goodEnv(), envProxmoxToken), envProxmoxUser, "root", envProxmoxPass, "pw"), []string{"status"}, []string{envProxmoxUser, "root@pam"}},
		{"malformed api token", with(goodEnv(), envProxmoxToken, "justasecretvalue"), []string{"status"}, []string{envProxmoxToken, "USER@REALM!TOKENID=SECRET"}},
		{"one-letter token id", with(goodEnv(), envProxmoxToken, "root@pam!x=11111111-2222-3333-4444-555555555555"), []string{"status"}, []string{envProxmoxToken, "at least one more"}},
		{"bad proxmox pin", goodEnv(), []string{"status", "--proxmox-fingerprint", "abc"}, []string{"--proxmox-fingerprint", "SHA-256"}},
		{"bad authentik pin env", with(goodEnv(), envAuthentikPin, "zz:zz"), []string{"status"}, []string{envAuthentikPin}},
		{"missing ca file", goodEnv(), []string{"status", "--ca-file", filepath.Join(dir, "ca.pem")}, []string{"--ca-file"}},
		{"bad realm", goodEnv(), []string{"setup", "--plan", "--realm", "1x"}, []string{"--realm"}},
		{"reserved realm", goodEnv(), []string{"setup", "--plan", "--realm", "pam"}, []string{"--realm", "reserved"}},
		{"bad group", goodEnv(), []string{"setup", "--plan", "--group", "a b"}, []string{"--group"}},
		{"bad subject mode", goodEnv(), []string{"setup", "--plan", "--subject-mode", "email"}, []string{"--subject-mode", "user_email"}},
		{"bad slug", goodEnv(), []string{"setup", "--plan", "--app-slug", "pro xmox"}, []string{"--app-slug"}},
		{"bad acl path", goodEnv(), []string{"setup", "--plan", "--acl-path", "vms"}, []string{"--acl-path"}},
		{"bad redirect uri", goodEnv(), []string{"setup", "--plan", "--redirect-uri", "http://pve2.test:8006"}, []string{"--redirect-uri"}},
		{"users add without users", goodEnv(), []string{"users", "add", "--yes"}, []string{"USER"}},
		{"users without subcommand", goodEnv(), []string{"users"}, []string{"users add", "users list"}},
		{"flag of another command", goodEnv(), []string{"status", "--yes"}, []string{"--yes", "status"}},
		{"missing flag value", goodEnv(), []string{"status", "--realm"}, []string{"--realm"}},
		{"bad bool", goodEnv(), []string{"setup", "--yes=maybe"}, []string{"--yes"}},
		{"stray argument", goodEnv(), []string{"status", "extra"}, []string{"extra"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.env, c.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not name %q", r.stderr, w)
				}
			}
			if r.stdout != "" {
				t.Errorf("usage error wrote to stdout: %q", r.stdout)
			}
			for _, secret := range []string{"ak-token-value", "11111111-2222-3333-4444-555555555555", "justasecretvalue", "root:pw"} {
				if strings.Contains(r.all(), secret) {
					t.Errorf("output leaks a secret: %q", r.all())
				}
			}
		})
	}
}

func TestNormalizeURL(t *testing.T) {
	cases := []struct {
		in, port, want string
		strip          []string
		bad            bool
	}{
		{in: "pve.example:8006", port: "8006", want: "https://pve.example:8006"},
		{in: "pve.example", port: "8006", want: "https://pve.example:8006"},
		{in: "https://PVE.Example/", port: "8006", want: "https://pve.example:8006"},
		{in: " https://pve.example:443 ", port: "8006", want: "https://pve.example:443"},
		{in: "https://pve.example:8006/api2/json", port: "8006", strip: []string{"/api2/json"}, want: "https://pve.example:8006"},
		{in: "auth.example", port: "", want: "https://auth.example"},
		{in: "https://auth.example:9443/api/v3/", strip: []string{"/api/v3"}, want: "https://auth.example:9443"},
		{in: "127.0.0.1:8006", port: "8006", want: "https://127.0.0.1:8006"},
		{in: "[::1]", port: "8006", want: "https://[::1]:8006"},
		{in: "https://[::1]:9443", want: "https://[::1]:9443"},
		{in: "http://pve.example", bad: true},
		{in: "ftp://pve.example", bad: true},
		{in: "", bad: true},
		{in: "https://", bad: true},
		{in: "https://pve.example:0", bad: true},
		{in: "https://pve.example:8006x", bad: true},
		{in: "https://pve.example:", bad: true},
		{in: "https://pve.example/foo", bad: true},
		{in: "https://pve.example/?a=b", bad: true},
		{in: "https://pve.example/#x", bad: true},
		{in: "https://u:p@pve.example", bad: true},
		// credentials next to another mistake: the error quotes the input
		{in: "http://u:p@pve.example", bad: true},
		{in: "https://u:p@pve.example:bad", bad: true},
		{in: "u:p/q?#@pve.example", bad: true},
		{in: "https://u:p@", bad: true},
	}
	for _, c := range cases {
		got, err := normalizeURL(c.in, c.port, c.strip...)
		if c.bad {
			if err == nil {
				t.Errorf("normalizeURL(%q) = %q, want error", c.in, got)
			}
			if err != nil && strings.Contains(err.Error(), "u:p") {
				t.Errorf("error echoes credentials: %v", err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("normalizeURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func mustParse(t *testing.T, args ...string) *options {
	t.Helper()
	o, err := parseArgs(args)
	if err != nil {
		t.Fatalf("parseArgs(%q): %v", args, err)
	}
	return o
}

func TestParseCommandsAndInterspersedArgs(t *testing.T) {
	if o := mustParse(t); o.cmd != "setup" {
		t.Errorf("no args: cmd %q", o.cmd)
	}
	if o := mustParse(t, "--yes", "--realm", "sso"); o.cmd != "setup" || !o.yes || o.realm != "sso" {
		t.Errorf("flags only: %+v", o)
	}
	o := mustParse(t, "users", "add", "alice", "--yes", "bob@example.com", "--user", "carol", "--", "--dave")
	if o.cmd != "users add" || !o.yes {
		t.Fatalf("users add: %+v", o)
	}
	if want := []string{"carol", "alice", "bob@example.com", "--dave"}; !reflect.DeepEqual(o.users, want) {
		t.Errorf("users %q, want %q", o.users, want)
	}
	o = mustParse(t, "setup", "--user", "alice", "--user=bob,carol", "--redirect-uri", "https://a:8006", "--redirect-uri", "b:8006")
	if !reflect.DeepEqual(o.users, []string{"alice", "bob", "carol"}) {
		t.Errorf("repeatable --user: %q", o.users)
	}
	if !reflect.DeepEqual(o.redirectURIs, []string{"https://a:8006", "b:8006"}) {
		t.Errorf("repeatable --redirect-uri: %q", o.redirectURIs)
	}
	for want, args := range map[string][]string{
		"status": {"status"}, "remove": {"remove", "--yes"}, "users list": {"users", "list", "--json"}, "demo": {"demo", "--serve"},
	} {
		if o := mustParse(t, args...); o.cmd != want {
			t.Errorf("%q parsed as %q, want %q", args, o.cmd, want)
		}
	}
	if o := mustParse(t, "demo", "--serve"); !o.serve {
		t.Error("demo --serve not set")
	}
}

// TestPrecedence: flag > environment > config file > default.
func TestPrecedence(t *testing.T) {
	cfg := fileConfig{
		AuthentikURL: "https://cfg-auth.test", ProxmoxURL: "https://cfg-pve.test:8006",
		Realm: "cfgrealm", Group: "cfggroup", AppSlug: "cfgslug", SubjectMode: "user_username",
		ProxmoxFingerprint: strings.Repeat("ab", 32), RedirectURIs: []string{"https://cfg-node:8006"},
	}
	tr := true
	cfg.AllNodes = &tr
	env := map[string]string{
		envAuthentikURL:   "env-auth.test",
		envAuthentikToken: "tok",
		envProxmoxToken:   "root@pam!tk=y",
		envProxmoxPin:     strings.Repeat("CD", 32),
	}
	getenv := func(k string) string { return env[k] }

	o := mustParse(t, "setup", "--plan", "--group", "flaggroup", "--all-nodes=false")
	if err := o.resolve(getenv, cfg, true); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"authentik url (env over config)", o.authentikURL, "https://env-auth.test"},
		{"proxmox url (config)", o.proxmoxURL, "https://cfg-pve.test:8006"},
		{"proxmox pin (env over config, normalised)", o.proxmoxPin, strings.TrimSuffix(strings.Repeat("CD:", 32), ":")},
		{"group (flag over config)", o.group, "flaggroup"},
		{"realm (config over default)", o.realm, "cfgrealm"},
		{"app slug (config)", o.appSlug, "cfgslug"},
		{"subject mode (config)", o.subjectMode, "user_username"},
		{"role (default)", o.role, defRole},
		{"acl path (default)", o.aclPath, defACLPath},
		{"app name (default)", o.appName, defAppName},
		{"username claim (default)", o.usernameClaim, defUsernameClaim},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if o.allNodes {
		t.Error("--all-nodes=false must override the config's true")
	}
	if !reflect.DeepEqual(o.redirectURIs, []string{"https://cfg-node:8006"}) {
		t.Errorf("redirect URIs from config: %q", o.redirectURIs)
	}

	// Flag over environment.
	o = mustParse(t, "status", "--authentik-url", "flag-auth.test:9443")
	if err := o.resolve(getenv, cfg, true); err != nil {
		t.Fatal(err)
	}
	if o.authentikURL != "https://flag-auth.test:9443" {
		t.Errorf("flag over env: %q", o.authentikURL)
	}
	if !o.allNodes {
		t.Error("all-nodes from config not applied")
	}

	// Token file over environment.
	f := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(f, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o = mustParse(t, "status", "--authentik-token-file", f)
	if err := o.resolve(getenv, cfg, true); err != nil {
		t.Fatal(err)
	}
	if o.authentikToken != "file-token" {
		t.Errorf("token from file: got %d chars", len(o.authentikToken))
	}

	// Password credentials.
	env2 := map[string]string{envAuthentikToken: "t", envProxmoxUser: "root@pam", envProxmoxPass: "pw", envProxmoxOTP: "123456"}
	o = mustParse(t, "status")
	if err := o.resolve(func(k string) string { return env2[k] }, cfg, true); err != nil {
		t.Fatal(err)
	}
	if o.proxmoxUser != "root@pam" || o.proxmoxPassword != "pw" || o.proxmoxOTP != "123456" || o.proxmoxToken != "" {
		t.Errorf("password creds not read: user %q", o.proxmoxUser)
	}

	// A value remembered in the config file that has gone bad names the file.
	bad := cfg
	bad.ProxmoxURL = "http://old.test"
	o = mustParse(t, "status")
	o.configPath = "/x/pvesso/config.json"
	err := o.resolve(getenv, bad, true)
	if err == nil || !strings.Contains(err.Error(), "--proxmox-url") || !strings.Contains(err.Error(), "/x/pvesso/config.json") {
		t.Errorf("bad remembered URL: %v", err)
	}
	bad = cfg
	bad.Realm = "pve"
	o = mustParse(t, "status")
	o.configPath = "/x/pvesso/config.json"
	err = o.resolve(getenv, bad, true)
	if err == nil || !strings.Contains(err.Error(), "--realm") || !strings.Contains(err.Error(), "/x/pvesso/config.json") || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("bad remembered realm: %v", err)
	}
}

// TestWizardDefersMissingCredentials: with a terminal, missing values are
// asked by the wizard, not usage errors; malformed given values still are.
func TestWizardDefersMissingCredentials(t *testing.T) {
	o := mustParse(t)
	if err := o.resolve(func(string) string { return "" }, fileConfig{}, false); err != nil {
		t.Fatalf("wizard mode with nothing given: %v", err)
	}
	o = mustParse(t, "--proxmox-url", "http://pve.test")
	if err := o.resolve(func(string) string { return "" }, fileConfig{}, false); err == nil {
		t.Fatal("malformed URL accepted in wizard mode")
	}
}

func TestConfigFile(t *testing.T) {
	home := t.TempDir()
	getenv := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return home
		}
		return ""
	}
	path, err := configPath(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, "pvesso", "config.json"); path != want {
		t.Fatalf("config path %q, want %q", path, want)
	}
	// Relative XDG_CONFIG_HOME is ignored (XDG spec).
	if p, err := configPath(func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return "rel/dir"
		}
		return ""
	}); err == nil && strings.HasPrefix(p, "rel") {
		t.Errorf("relative XDG_CONFIG_HOME used: %q", p)
	}

	c, err := loadConfig(path)
	if err != nil || !reflect.DeepEqual(c, fileConfig{}) {
		t.Fatalf("missing file: %+v, %v", c, err)
	}
	o := mustParse(t, "setup", "--realm", "sso", "--redirect-uri", "pve2.test:8006")
	env := goodEnv()
	if err := o.resolve(func(k string) string { return env[k] }, fileConfig{}, true); err != nil {
		t.Fatal(err)
	}
	if err := saveConfig(path, o.remember()); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", st.Mode().Perm())
	}
	c, err = loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "sso" || c.ProxmoxURL != "https://pve.test:8006" || c.AuthentikURL != "https://auth.test:9443" || !reflect.DeepEqual(c.RedirectURIs, []string{"https://pve2.test:8006"}) {
		t.Errorf("round trip: %+v", c)
	}
	raw, _ := os.ReadFile(path)
	for _, secret := range []string{env[envAuthentikToken], "11111111-2222-3333-4444-555555555555"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("config file holds a secret: %s", raw)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, with(goodEnv(), "XDG_CONFIG_HOME", home), "status")
	if r.code != 2 || !strings.Contains(r.stderr, path) {
		t.Errorf("broken config: exit %d, %q (want 2 naming the file)", r.code, r.stderr)
	}
}

// TestConfigHasNoSecretField guards the config type itself.
func TestConfigHasNoSecretField(t *testing.T) {
	ty := reflect.TypeOf(fileConfig{})
	for i := 0; i < ty.NumField(); i++ {
		f := ty.Field(i)
		n := strings.ToLower(f.Name + " " + f.Tag.Get("json"))
		for _, bad := range []string{"token", "password", "secret", "otp", "key_value", "client_key"} {
			if strings.Contains(n, bad) {
				t.Errorf("config field %s could hold a secret", f.Name)
			}
		}
	}
}

func TestFlagErrorsDoNotEchoValues(t *testing.T) {
	r := runCLI(t, goodEnv(), "setup", "--yes=hunter2")
	if r.code != 2 || strings.Contains(r.all(), "hunter2") {
		t.Errorf("exit %d, output %q", r.code, r.all())
	}
}

func TestRememberWizardMergesNonSecretAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pvesso", "config.json")
	if err := saveConfig(path, fileConfig{Realm: "old", ProxmoxURL: "https://old.test:8006", AppName: "Keep"}); err != nil {
		t.Fatal(err)
	}
	o := &options{configPath: path, caFile: "/etc/ca.pem"}
	pin := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	// A pin accepted early in the wizard: only the connection is known.
	if err := rememberWizard(o, ui.Remembered{ProxmoxURL: "https://new.test:8006", ProxmoxPin: pin}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxmoxURL != "https://new.test:8006" || c.ProxmoxFingerprint != pin || c.Realm != "old" || c.AppName != "Keep" || c.CAFile != "/etc/ca.pem" {
		t.Errorf("after pin: %+v", c)
	}
	// After an apply: the choices replace the old ones.
	in := steps.DefaultInputs()
	in.Realm, in.AllNodes = "sso", true
	if err := rememberWizard(o, ui.Remembered{Inputs: in}); err != nil {
		t.Fatal(err)
	}
	c, _ = loadConfig(path)
	if c.Realm != "sso" || c.AppName != steps.DefaultAppName || c.AllNodes == nil || !*c.AllNodes || c.ProxmoxURL != "https://new.test:8006" {
		t.Errorf("after apply: %+v", c)
	}
}

func TestWizardExitCodes(t *testing.T) {
	c := &cli{stderr: &bytes.Buffer{}}
	ctx := context.Background()
	if got := wizardExit(ctx, c, nil); got != exitOK {
		t.Errorf("nil → %d", got)
	}
	if got := wizardExit(ctx, c, ui.ErrAborted); got != exitInterrupted {
		t.Errorf("aborted → %d", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if got := wizardExit(cctx, c, context.Canceled); got != exitInterrupted {
		t.Errorf("cancelled → %d", got)
	}
	if got := wizardExit(ctx, c, errors.New("boom")); got != exitFailed {
		t.Errorf("error → %d", got)
	}
}
