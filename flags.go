package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
)

// Environment variable names (contract: other tools rely on them).
const (
	envAuthentikURL   = "AUTHENTIK_URL"
	envAuthentikToken = "AUTHENTIK_TOKEN"
	envAuthentikPin   = "AUTHENTIK_FINGERPRINT"
	envProxmoxURL     = "PROXMOX_VE_ENDPOINT"
	envProxmoxToken   = "PROXMOX_VE_API_TOKEN"
	envProxmoxUser    = "PROXMOX_VE_USERNAME"
	envProxmoxPass    = "PROXMOX_VE_PASSWORD"
	envProxmoxOTP     = "PROXMOX_VE_OTP"
	envProxmoxPin     = "PROXMOX_VE_FINGERPRINT"
)

// Defaults of the setup options (contract).
const (
	defRealm         = "authentik"
	defGroup         = "admin"
	defRole          = "Administrator"
	defACLPath       = "/"
	defAppSlug       = "proxmox"
	defAppName       = "Proxmox VE"
	defSubjectMode   = "user_email"
	defUsernameClaim = "subject"
	proxmoxPort      = "8006"
)

// usageError is a mistake in the command line or the environment: exit 2.
// The message names the flag or environment variable to fix.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// options is the parsed command line, environment and config file.
type options struct {
	cmd  string   // setup, users add, users list, status, remove, demo
	args []string // positional arguments (users add USER...)

	authentikURL, authentikPin    string
	authentikTokenFile            string
	proxmoxURL, proxmoxPin        string
	proxmoxTokenFile              string
	caFile                        string
	authentikToken                string // secret: never printed
	proxmoxToken                  string // secret: never printed
	proxmoxUser                   string
	proxmoxPassword, proxmoxOTP   string // secrets: never printed
	realm, group, role, aclPath   string
	appSlug, appName, signingKey  string
	subjectMode, usernameClaim    string
	redirectURIs, users           []string
	allNodes, defaultRealm        bool
	plan, yes, noBrowser, jsonOut bool
	serve                         bool // demo --serve

	// set records the flags given on the command line.
	set map[string]bool
	// source names where each string option came from, for messages.
	source map[string]string
	// explicit records the options given by a flag, the environment or the
	// config file; the others follow the existing managed setup, else the
	// default (see steps.Inputs.Adopting).
	explicit map[string]bool
	// configPath is where the config file lives ("" when unknown).
	configPath string
}

// listFlag is a repeatable string flag; a value may also hold a
// comma-separated list.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.v = append(*l.v, p)
		}
	}
	return nil
}

// flag groups: which command accepts which flags.
const (
	gConn    = 1 << iota // connection and trust
	gTarget              // what pvesso manages (realm, group, app, ...)
	gUsers               // --user
	gApply               // --plan --yes
	gJSON                // --json
	gBrowser             // --no-browser
	gServe               // --serve
)

var commandFlags = map[string]int{
	"setup":      gConn | gTarget | gUsers | gApply | gJSON | gBrowser,
	"users add":  gConn | gTarget | gUsers | gApply | gJSON,
	"users list": gConn | gTarget | gJSON,
	"status":     gConn | gTarget | gJSON,
	"remove":     gConn | gTarget | gApply | gJSON,
	"demo":       gServe | gBrowser,
}

func newFlagSet(cmd string, o *options) *flag.FlagSet {
	name := "pvesso " + cmd
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g := commandFlags[cmd]
	if g&gConn != 0 {
		fs.StringVar(&o.authentikURL, "authentik-url", "", "Authentik URL, https://host[:port] (env "+envAuthentikURL+")")
		fs.StringVar(&o.authentikTokenFile, "authentik-token-file", "", "read the Authentik API token from FILE (else env "+envAuthentikToken+")")
		fs.StringVar(&o.authentikPin, "authentik-fingerprint", "", "trust Authentik's certificate with this SHA-256 fingerprint (env "+envAuthentikPin+")")
		fs.StringVar(&o.proxmoxURL, "proxmox-url", "", "Proxmox VE URL, https://host[:8006] (env "+envProxmoxURL+")")
		fs.StringVar(&o.proxmoxTokenFile, "proxmox-token-file", "", "read the Proxmox API token USER@REALM!TOKENID=SECRET from FILE (else env "+envProxmoxToken+")")
		fs.StringVar(&o.proxmoxPin, "proxmox-fingerprint", "", "trust Proxmox's certificate with this SHA-256 fingerprint (env "+envProxmoxPin+")")
		fs.StringVar(&o.caFile, "ca-file", "", "PEM file of extra CA certificates to trust")
	}
	if g&gTarget != 0 {
		fs.StringVar(&o.realm, "realm", "", "Proxmox realm name (default "+defRealm+")")
		fs.StringVar(&o.group, "group", "", "Proxmox group for the admins (default "+defGroup+")")
		fs.StringVar(&o.role, "role", "", "role granted to the group (default "+defRole+")")
		fs.StringVar(&o.aclPath, "acl-path", "", "ACL path of the role (default "+defACLPath+")")
		fs.StringVar(&o.appSlug, "app-slug", "", "Authentik application slug (default "+defAppSlug+")")
		fs.StringVar(&o.appName, "app-name", "", "Authentik application name (default \""+defAppName+"\")")
		fs.StringVar(&o.signingKey, "signing-key", "", "Authentik key pair NAME that signs ID tokens (default: an RSA key with a private key)")
		fs.StringVar(&o.subjectMode, "subject-mode", "", "Authentik subject mode (default "+defSubjectMode+")")
		fs.StringVar(&o.usernameClaim, "username-claim", "", "Proxmox username claim (default "+defUsernameClaim+")")
		fs.Var(listFlag{&o.redirectURIs}, "redirect-uri", "extra redirect URI (repeatable; default: the Proxmox URL)")
		fs.BoolVar(&o.allNodes, "all-nodes", false, "register every cluster node as a redirect URI")
		fs.BoolVar(&o.defaultRealm, "default-realm", false, "make the realm the default on the Proxmox login screen")
	}
	if g&gUsers != 0 {
		fs.Var(listFlag{&o.users}, "user", "Authentik USER to add to the admin group (repeatable)")
	}
	if g&gApply != 0 {
		fs.BoolVar(&o.plan, "plan", false, "show the plan and exit without writing")
		fs.BoolVar(&o.yes, "yes", false, "apply the plan without asking")
	}
	if g&gJSON != 0 {
		fs.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	}
	if g&gBrowser != 0 {
		fs.BoolVar(&o.noBrowser, "no-browser", false, "do not open a browser for the login test")
	}
	if g&gServe != 0 {
		fs.BoolVar(&o.serve, "serve", false, "run only the simulators and print their connection settings")
	}
	return fs
}

// secretFlagHint explains, for a flag that does not exist because it would
// carry a secret, where the secret goes instead.
func secretFlagHint(name string) string {
	n := strings.ToLower(strings.TrimLeft(name, "-"))
	if i := strings.IndexByte(n, '='); i >= 0 {
		n = n[:i]
	}
	switch {
	case strings.Contains(n, "authentik") && (strings.Contains(n, "token") || strings.Contains(n, "secret")):
		return "secrets are never taken from the command line: set " + envAuthentikToken + " or use --authentik-token-file FILE"
	case strings.Contains(n, "otp"):
		return "secrets are never taken from the command line: set " + envProxmoxOTP
	case strings.Contains(n, "password") || strings.Contains(n, "passwd"):
		return "secrets are never taken from the command line: set " + envProxmoxUser + " and " + envProxmoxPass
	case strings.Contains(n, "token") || strings.Contains(n, "secret"):
		return "secrets are never taken from the command line: set " + envProxmoxToken + " (USER@REALM!TOKENID=SECRET) or " + envAuthentikToken
	}
	return ""
}

// parseArgs splits the command word(s) off args and parses the flags of that
// command, allowing flags and positional arguments in any order.
func parseArgs(args []string) (*options, error) {
	o := &options{cmd: "setup", set: map[string]bool{}}
	rest := args
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		switch rest[0] {
		case "setup", "status", "remove", "demo":
			o.cmd, rest = rest[0], rest[1:]
		case "users":
			if len(rest) < 2 || (rest[1] != "add" && rest[1] != "list") {
				return nil, usagef("pvesso users needs a subcommand: \"users add USER...\" or \"users list\"")
			}
			o.cmd, rest = "users "+rest[1], rest[2:]
		default:
			return nil, usagef("unknown command %q: run \"pvesso help\" for the list", rest[0])
		}
	}
	fs := newFlagSet(o.cmd, o)
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, flagError(o.cmd, err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			o.args = append(o.args, rest[1:]...)
			break
		}
		o.args = append(o.args, rest[0])
		rest = rest[1:]
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.cmd == "users add" {
		o.users = append(o.users, o.args...)
		o.args = nil
	}
	if len(o.args) > 0 {
		return nil, usagef("pvesso %s takes no arguments, got %q", o.cmd, o.args[0])
	}
	return o, nil
}

var reUndefined = regexp.MustCompile(`flag provided but not defined: -+(\S+)`)

// flagError rewrites the flag package's error into one that names the fix.
// It never repeats a flag's value: a user may have typed a secret.
func flagError(cmd string, err error) error {
	msg := err.Error()
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		if h := secretFlagHint(m[1]); h != "" {
			return usagef("unknown flag --%s: %s", m[1], h)
		}
		return usagef("unknown flag --%s for \"pvesso %s\": run \"pvesso %s --help\"", m[1], cmd, cmd)
	}
	if strings.HasPrefix(msg, "flag needs an argument") {
		return usagef("%s", strings.Replace(msg, ": -", ": --", 1))
	}
	if strings.HasPrefix(msg, "invalid boolean value") || strings.HasPrefix(msg, "invalid value") {
		// "invalid boolean value "x" for -yes: ..." → keep the flag name only.
		if i := strings.LastIndex(msg, " for -"); i >= 0 {
			name := strings.TrimLeft(msg[i+len(" for "):], "-")
			if j := strings.IndexByte(name, ':'); j >= 0 {
				name = name[:j]
			}
			return usagef("invalid value for --%s", name)
		}
	}
	return usagef("%s", msg)
}

// usageText is the help of one command (or of pvesso).
func usageText(cmd string) string {
	var b strings.Builder
	if cmd == "" {
		b.WriteString(`pvesso sets up single sign-on from Authentik into Proxmox VE (OpenID Connect).

Usage:
  pvesso [setup] [flags]      set up or repair (wizard on a terminal; plain with --yes/--plan or no TTY)
  pvesso users add USER...    add Authentik users to the Proxmox admin group
  pvesso users list           list the realm's Proxmox users and their groups
  pvesso status               check that everything is in place (exit 1 if not); read-only
  pvesso remove               delete what pvesso created (shows the plan; --yes to apply)
  pvesso demo [--serve]       try the wizard against built-in simulators
  pvesso version              print the version

Credentials come from the environment only:
  ` + envAuthentikToken + `            Authentik API token (or --authentik-token-file FILE)
  ` + envProxmoxToken + `       Proxmox API token USER@REALM!TOKENID=SECRET (or --proxmox-token-file FILE)
  ` + envProxmoxUser + ` + ` + envProxmoxPass + ` (+ ` + envProxmoxOTP + `)   instead of a token

Exit codes: 0 ok, 1 a check or step failed or changes await --yes, 2 usage error, 130 interrupted.
Run "pvesso setup --help" for the flags.
`)
		return b.String()
	}
	fmt.Fprintf(&b, "Usage: pvesso %s [flags]\n\nFlags:\n", cmd)
	fs := newFlagSet(cmd, &options{})
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		kind := ""
		if _, ok := f.Value.(listFlag); ok {
			kind = " VALUE (repeatable)"
		} else if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
			kind = " VALUE"
		}
		lines = append(lines, fmt.Sprintf("  --%s%s\n        %s\n", f.Name, kind, f.Usage))
	})
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l)
	}
	return b.String()
}

// reToken: the token id has the pattern of pve-9.2-apidoc.json's tokenid
// (a letter, then one or more of A-Z a-z 0-9 . - _).
var reToken = regexp.MustCompile(`^[^\s!=]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+=\S+$`)

// resolve fills every option from flag > environment > config file >
// default, reads the secrets, and validates. needCreds says whether missing
// credentials and URLs are usage errors (plain mode) or left for the wizard.
func (o *options) resolve(getenv func(string) string, cfg fileConfig, needCreds bool) error {
	o.source = map[string]string{}
	o.explicit = map[string]bool{}
	pick := func(flagName string, dst *string, env, cfgVal, def string) {
		if o.set[flagName] {
			o.source[flagName] = "--" + flagName
			o.explicit[flagName] = true
			return
		}
		if env != "" {
			if v := strings.TrimSpace(getenv(env)); v != "" {
				*dst = v
				o.source[flagName] = env
				o.explicit[flagName] = true
				return
			}
		}
		if cfgVal != "" {
			*dst = cfgVal
			o.source[flagName] = "--" + flagName + " (remembered in " + o.configPath + ")"
			o.explicit[flagName] = true
			return
		}
		o.source[flagName] = "--" + flagName
		*dst = def
	}
	pickBool := func(flagName string, dst *bool, cfgVal *bool) {
		if !o.set[flagName] && cfgVal != nil {
			*dst = *cfgVal
		}
		o.explicit[flagName] = o.set[flagName] || cfgVal != nil
	}
	pick("authentik-url", &o.authentikURL, envAuthentikURL, cfg.AuthentikURL, "")
	pick("authentik-fingerprint", &o.authentikPin, envAuthentikPin, cfg.AuthentikFingerprint, "")
	pick("proxmox-url", &o.proxmoxURL, envProxmoxURL, cfg.ProxmoxURL, "")
	pick("proxmox-fingerprint", &o.proxmoxPin, envProxmoxPin, cfg.ProxmoxFingerprint, "")
	pick("ca-file", &o.caFile, "", cfg.CAFile, "")
	pick("realm", &o.realm, "", cfg.Realm, defRealm)
	pick("group", &o.group, "", cfg.Group, defGroup)
	pick("role", &o.role, "", cfg.Role, defRole)
	pick("acl-path", &o.aclPath, "", cfg.ACLPath, defACLPath)
	pick("app-slug", &o.appSlug, "", cfg.AppSlug, defAppSlug)
	pick("app-name", &o.appName, "", cfg.AppName, defAppName)
	pick("signing-key", &o.signingKey, "", cfg.SigningKey, "")
	pick("subject-mode", &o.subjectMode, "", cfg.SubjectMode, defSubjectMode)
	pick("username-claim", &o.usernameClaim, "", cfg.UsernameClaim, defUsernameClaim)
	if !o.set["redirect-uri"] && len(cfg.RedirectURIs) > 0 {
		o.redirectURIs = append([]string(nil), cfg.RedirectURIs...)
	}
	pickBool("all-nodes", &o.allNodes, cfg.AllNodes)
	pickBool("default-realm", &o.defaultRealm, cfg.DefaultRealm)

	// where names the source of a value for error messages.
	where := func(flagName string) string { return o.source[flagName] }

	// URLs.
	if o.authentikURL != "" {
		u, err := normalizeURL(o.authentikURL, "", "/api/v3")
		if err != nil {
			return usagef("%s %v", where("authentik-url"), err)
		}
		o.authentikURL = u
	} else if needCreds {
		return usagef("missing Authentik URL: pass --authentik-url https://auth.example.com or set %s", envAuthentikURL)
	}
	if o.proxmoxURL != "" {
		u, err := normalizeURL(o.proxmoxURL, proxmoxPort, "/api2/json")
		if err != nil {
			return usagef("%s %v", where("proxmox-url"), err)
		}
		o.proxmoxURL = u
	} else if needCreds {
		return usagef("missing Proxmox URL: pass --proxmox-url https://pve.example.com:8006 or set %s", envProxmoxURL)
	}

	// Pins and CA file.
	if p, err := tlstrust.NormalizePin(o.authentikPin); err != nil {
		return usagef("%s: %v", where("authentik-fingerprint"), err)
	} else {
		o.authentikPin = p
	}
	if p, err := tlstrust.NormalizePin(o.proxmoxPin); err != nil {
		return usagef("%s: %v", where("proxmox-fingerprint"), err)
	} else {
		o.proxmoxPin = p
	}
	if o.caFile != "" {
		if _, err := os.Stat(o.caFile); err != nil {
			return usagef("%s: cannot read %s: %v", where("ca-file"), o.caFile, errors.Unwrap(err))
		}
	}

	for i, r := range o.redirectURIs {
		u, err := normalizeURL(r, "")
		if err != nil {
			return usagef("--redirect-uri %v", err)
		}
		o.redirectURIs[i] = u
	}
	// Names and choices: the engine's own rules, with the source of a
	// remembered value named.
	if err := o.inputs().ValidateNames(); err != nil {
		var ue *steps.UsageError
		if errors.As(err, &ue) {
			if src := o.source[strings.TrimPrefix(ue.Flag, "--")]; src != "" {
				return usagef("%s: %s", src, ue.Detail)
			}
		}
		return err
	}

	return o.readSecrets(getenv, needCreds)
}

// readSecrets reads the tokens and passwords from the environment or the
// token files. Error messages never include a secret.
func (o *options) readSecrets(getenv func(string) string, needCreds bool) error {
	if o.authentikTokenFile != "" {
		t, err := readSecretFile(o.authentikTokenFile)
		if err != nil {
			return usagef("--authentik-token-file: %v", err)
		}
		o.authentikToken = t
	} else {
		o.authentikToken = strings.TrimSpace(getenv(envAuthentikToken))
	}
	if o.authentikToken == "" && needCreds {
		return usagef("missing Authentik API token: set %s (Authentik admin → Directory → Tokens and App passwords) or pass --authentik-token-file FILE", envAuthentikToken)
	}

	src := envProxmoxToken
	if o.proxmoxTokenFile != "" {
		t, err := readSecretFile(o.proxmoxTokenFile)
		if err != nil {
			return usagef("--proxmox-token-file: %v", err)
		}
		o.proxmoxToken, src = t, "--proxmox-token-file"
	} else {
		o.proxmoxToken = strings.TrimSpace(getenv(envProxmoxToken))
	}
	o.proxmoxUser = strings.TrimSpace(getenv(envProxmoxUser))
	o.proxmoxPassword = getenv(envProxmoxPass)
	o.proxmoxOTP = strings.TrimSpace(getenv(envProxmoxOTP))
	switch {
	case o.proxmoxToken != "":
		if !reToken.MatchString(o.proxmoxToken) {
			return usagef("%s is not an API token: want USER@REALM!TOKENID=SECRET (TOKENID: a letter, then at least one more of A-Z a-z 0-9 . - _), e.g. root@pam!pvesso=xxxxxxxx-xxxx-...", src)
		}
	case o.proxmoxUser != "":
		if !strings.Contains(o.proxmoxUser, "@") {
			return usagef("%s %q has no realm: write it as USER@REALM, e.g. root@pam", envProxmoxUser, o.proxmoxUser)
		}
		if o.proxmoxPassword == "" && needCreds {
			return usagef("%s is set but %s is not: set the password too (or use %s)", envProxmoxUser, envProxmoxPass, envProxmoxToken)
		}
	case needCreds:
		return usagef("missing Proxmox credentials: set %s (USER@REALM!TOKENID=SECRET), pass --proxmox-token-file FILE, or set %s and %s", envProxmoxToken, envProxmoxUser, envProxmoxPass)
	}
	return nil
}

func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, errors.Unwrap(err))
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s holds more than one line: put only the token in it", path)
	}
	return s, nil
}

// adopted takes over the values the engine used (in: Engine.Inputs after
// a check pass), so the options not given explicitly that followed the
// existing managed setup are remembered as they are, not as the defaults.
func (o *options) adopted(in steps.Inputs) {
	if !in.AdoptExisting {
		return
	}
	o.realm, o.group, o.appSlug, o.appName = in.Realm, in.Group, in.AppSlug, in.AppName
	o.subjectMode, o.usernameClaim, o.defaultRealm = in.SubjectMode, in.UsernameClaim, in.DefaultRealm
}

// remember returns the config to save after a successful setup: the
// non-secret answers of this run.
func (o *options) remember() fileConfig {
	b := func(v bool) *bool { return &v }
	return fileConfig{
		AuthentikURL: o.authentikURL, AuthentikFingerprint: o.authentikPin,
		ProxmoxURL: o.proxmoxURL, ProxmoxFingerprint: o.proxmoxPin, CAFile: o.caFile,
		Realm: o.realm, Group: o.group, Role: o.role, ACLPath: o.aclPath,
		AppSlug: o.appSlug, AppName: o.appName, SigningKey: o.signingKey,
		SubjectMode: o.subjectMode, UsernameClaim: o.usernameClaim,
		RedirectURIs: append([]string(nil), o.redirectURIs...),
		AllNodes:     b(o.allNodes), DefaultRealm: b(o.defaultRealm),
	}
}
