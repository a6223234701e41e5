package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
)

// plain runs a command without the TUI: one line per step, the plan as a
// readable diff, or one JSON document with --json (progress then goes to
// stderr so stdout stays parseable).
type plain struct {
	c   *cli
	o   *options
	log io.Writer // progress lines
	out jsonReport
	// applying is set once writes may have happened.
	applying bool
	// connect builds the clients (steps.Connect; tests may replace it).
	connect func(context.Context, steps.Conn) (*steps.Clients, error)
}

// jsonReport is the --json document.
type jsonReport struct {
	Command string        `json:"command"`
	OK      bool          `json:"ok"`
	Exit    int           `json:"exit_code"`
	Checks  []steps.Check `json:"checks,omitempty"`
	Plan    *steps.Plan   `json:"plan,omitempty"`
	Applied bool          `json:"applied"`
	Result  *steps.Result `json:"result,omitempty"`
	Users   []string      `json:"users,omitempty"`
	// RealmUsers is the users list with each user's Proxmox groups.
	RealmUsers []jsonRealmUser `json:"realm_users,omitempty"`
	Events     []jsonEvent     `json:"events,omitempty"`
	Error      string          `json:"error,omitempty"`
	Fix        string          `json:"fix,omitempty"`
	Facts      *jsonFactsView  `json:"facts,omitempty"`
}

type jsonRealmUser struct {
	UserID  string   `json:"userid"`
	Groups  []string `json:"groups"`
	InGroup bool     `json:"in_group"`
}

type jsonEvent struct {
	Step    string `json:"step"`
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
}

type jsonFactsView struct {
	AuthentikVersion string `json:"authentik_version,omitempty"`
	ProxmoxVersion   string `json:"proxmox_version,omitempty"`
	SigningKey       string `json:"signing_key,omitempty"`
	IssuerURL        string `json:"issuer_url,omitempty"`
}

func newPlain(c *cli, o *options) *plain {
	p := &plain{c: c, o: o, log: c.stdout, connect: steps.Connect}
	if o.jsonOut {
		p.log = c.stderr
	}
	p.out.Command = o.cmd
	return p
}

func (p *plain) printf(format string, a ...any) { fmt.Fprintf(p.log, format, a...) }

// run executes the command and returns the exit code.
func (p *plain) run(ctx context.Context) int {
	code := p.dispatch(ctx)
	if code != exitOK && code != exitUsage && code != exitInterrupted && ctx.Err() != nil {
		// A step or check that failed because the run was interrupted.
		p.out.Error = "interrupted"
		fmt.Fprintf(p.c.stderr, "pvesso: interrupted; rerun to finish (a rerun completes a half-done setup)\n")
		code = exitInterrupted
	}
	if p.o.jsonOut {
		p.out.Exit = code
		p.out.OK = code == exitOK
		enc := json.NewEncoder(p.c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.out); err != nil {
			fmt.Fprintf(p.c.stderr, "pvesso: %v\n", err)
			return exitFailed
		}
	}
	return code
}

func (p *plain) dispatch(ctx context.Context) int {
	if p.o.cmd == "users add" && len(p.o.users) == 0 {
		return p.usage(usagef("pvesso users add needs at least one USER (an Authentik username or email)"))
	}
	eng, code := p.engine(ctx)
	if eng == nil {
		return code
	}
	switch p.o.cmd {
	case "setup":
		return p.setup(ctx, eng)
	case "users add":
		return p.usersAdd(ctx, eng)
	case "users list":
		return p.usersList(ctx, eng)
	case "status":
		return p.status(ctx, eng)
	case "remove":
		return p.remove(ctx, eng)
	}
	return p.usage(usagef("unknown command %q", p.o.cmd))
}

func (p *plain) usage(err error) int {
	p.out.Error = err.Error()
	fmt.Fprintf(p.c.stderr, "pvesso: %v\n", err)
	return exitUsage
}

// inputs maps the options onto the engine's inputs.
func (o *options) inputs() steps.Inputs {
	in := steps.DefaultInputs()
	in.AuthentikURL, in.ProxmoxURL = o.authentikURL, o.proxmoxURL
	in.Realm, in.Group, in.Role, in.ACLPath = o.realm, o.group, o.role, o.aclPath
	in.AppSlug, in.AppName, in.SigningKey = o.appSlug, o.appName, o.signingKey
	in.SubjectMode, in.UsernameClaim = o.subjectMode, o.usernameClaim
	in.RedirectURIs = append([]string(nil), o.redirectURIs...)
	in.AllNodes, in.DefaultRealm = o.allNodes, o.defaultRealm
	in.Users = append([]string(nil), o.users...)
	var explicit []string
	for _, n := range []string{steps.InputRealm, steps.InputGroup, steps.InputAppSlug, steps.InputAppName,
		steps.InputSigningKey, steps.InputSubjectMode, steps.InputUsernameClaim, steps.InputDefaultRealm} {
		if o.explicit[n] {
			explicit = append(explicit, n)
		}
	}
	return in.Adopting(explicit...)
}

func (o *options) conn() steps.Conn {
	return steps.Conn{
		AuthentikURL: o.authentikURL, AuthentikToken: o.authentikToken, AuthentikPin: o.authentikPin,
		ProxmoxURL: o.proxmoxURL, ProxmoxToken: o.proxmoxToken, ProxmoxUser: o.proxmoxUser,
		ProxmoxPassword: o.proxmoxPassword, ProxmoxOTP: o.proxmoxOTP, ProxmoxPin: o.proxmoxPin,
		CAFile: o.caFile, Timeout: 30 * time.Second,
	}
}

// engine connects and builds the engine; on failure it reports and returns
// the exit code.
func (p *plain) engine(ctx context.Context) (*steps.Engine, int) {
	clients, err := p.connect(ctx, p.o.conn())
	if err != nil {
		return nil, p.fail(ctx, "connect", err)
	}
	var opts []steps.Option
	if p.c.lookup != nil {
		opts = append(opts, steps.WithResolver(p.c.lookup))
	}
	return steps.New(clients, p.o.inputs(), opts...), exitOK
}

// preflight runs the setup's checks and prints them; false means stop
// (exit 1).
func (p *plain) preflight(ctx context.Context, eng *steps.Engine) (bool, int) {
	rep, err := eng.Preflight(ctx)
	p.o.adopted(eng.Inputs())
	return p.checked(ctx, eng, rep, "preflight", err)
}

// checked prints the checks of a check pass (Preflight, or the one PlanUsers
// and PlanRemove make) and the verdict; false means stop with the returned
// exit code. err is the error of the call that ran the checks.
func (p *plain) checked(ctx context.Context, eng *steps.Engine, rep *steps.Report, what string, err error) (bool, int) {
	if rep != nil {
		p.out.Checks = rep.Checks
		for _, ch := range rep.Checks {
			if ch.OK {
				p.printf("✓ %s%s\n", ch.Title, suffix(ch.Detail))
				continue
			}
			p.printf("✗ %s%s\n", ch.Title, suffix(ch.Detail))
			if ch.Fix != "" {
				p.printf("  fix: %s\n", ch.Fix)
			}
		}
	}
	if ctx.Err() == nil && rep != nil && !rep.OK() {
		failed := rep.Failed()
		p.out.Error = fmt.Sprintf("%d preflight check(s) failed", len(failed))
		if len(failed) > 0 {
			p.out.Fix = failed[0].Fix
		}
		p.printf("preflight failed: nothing was changed; fix the items marked ✗ and rerun\n")
		if !p.o.jsonOut {
			// The verdict also goes to stderr, for scripts that keep only it.
			fmt.Fprintf(p.c.stderr, "pvesso: %d check(s) failed, nothing was changed: %s\n", len(failed), checkSummary(failed))
		}
		return false, exitFailed
	}
	if err != nil {
		return false, p.fail(ctx, what, err)
	}
	f := eng.Facts()
	p.out.Facts = &jsonFactsView{AuthentikVersion: f.AuthentikVersion, ProxmoxVersion: f.ProxmoxVersion, SigningKey: f.SigningKey, IssuerURL: f.IssuerURL}
	return true, exitOK
}

// checkSummary is one line per failed check: title, detail, fix.
func checkSummary(failed []steps.Check) string {
	parts := make([]string, 0, len(failed))
	for _, c := range failed {
		s := c.Title
		if c.Detail != "" {
			s += ": " + c.Detail
		}
		if c.Fix != "" {
			s += " (fix: " + c.Fix + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// printPlan prints the plan as a readable diff (to the progress stream with
// --json, where the plan is part of the document).
func (p *plain) printPlan(title string, plan *steps.Plan) {
	p.out.Plan = plan
	p.printf("\n%s\n", title)
	for _, line := range strings.Split(strings.TrimRight(plan.String(), "\n"), "\n") {
		p.printf("  %s\n", line)
	}
	p.printf("\n")
}

// onEvent prints one line per finished step.
func (p *plain) onEvent(ev steps.Event) {
	title := ev.Title
	if title == "" {
		title = steps.StepTitles[ev.Step]
	}
	msg := ev.Message
	if ev.Err != nil && msg == "" {
		msg = p.errText(ev.Err)
	}
	if ev.Phase != steps.PhaseStart {
		p.out.Events = append(p.out.Events, jsonEvent{Step: ev.Step, Phase: string(ev.Phase), Message: msg})
	}
	switch ev.Phase {
	case steps.PhaseDone:
		p.printf("✓ %s%s\n", title, suffix(msg))
	case steps.PhaseNone:
		if msg == "" {
			msg = "nothing to do"
		}
		p.printf("– %s: %s\n", title, msg)
	case steps.PhaseFail:
		p.printf("✗ %s%s\n", title, suffix(msg))
	}
}

func (p *plain) applyOptions() steps.ApplyOptions {
	// --yes is the consent: the plan, conflicts included, was printed above.
	return steps.ApplyOptions{AllowConflicts: p.o.yes, OnEvent: p.onEvent}
}

func (p *plain) setup(ctx context.Context, eng *steps.Engine) int {
	if ok, code := p.preflight(ctx, eng); !ok {
		return code
	}
	plan, err := eng.Plan(ctx)
	p.o.adopted(eng.Inputs())
	if err != nil {
		return p.fail(ctx, "plan", err)
	}
	p.printPlan("Plan:", plan)
	if p.o.plan {
		return exitOK
	}
	if !plan.HasChanges() {
		if len(plan.Problems) > 0 {
			return p.problems(plan)
		}
		p.printf("nothing to do: single sign-on is set up as asked\n")
		p.saveConfig(eng)
		p.summary(eng, nil)
		return exitOK
	}
	res, code, ok := p.write(ctx, plan, "apply", eng.Apply)
	if !ok {
		return code
	}
	p.saveConfig(eng)
	p.summary(eng, res)
	return exitOK
}

// write runs do (the engine's Apply or Remove) on plan once --yes is
// given; ok false means the run ends with code (waiting for --yes, or
// failed during what).
func (p *plain) write(ctx context.Context, plan *steps.Plan, what string,
	do func(context.Context, *steps.Plan, steps.ApplyOptions) (*steps.Result, error)) (res *steps.Result, code int, ok bool) {
	if !p.o.yes {
		return nil, p.awaitYes(plan), false
	}
	p.applying = true
	res, err := do(ctx, plan, p.applyOptions())
	p.out.Result = res
	if err != nil {
		return res, p.fail(ctx, what, err), false
	}
	p.out.Applied = true
	return res, exitOK, true
}

func (p *plain) awaitYes(plan *steps.Plan) int {
	msg := "changes await --yes: nothing was written; review the plan above and rerun with --yes to apply it"
	if n := len(plan.Conflicts()); n > 0 {
		msg = fmt.Sprintf("%d conflict(s) and other changes await --yes: nothing was written; review the plan above and rerun with --yes to apply it", n)
	}
	p.out.Error = "changes await --yes"
	p.out.Fix = "rerun with --yes"
	p.printf("%s\n", msg)
	return exitFailed
}

// summary prints what exists now and the login test link.
func (p *plain) summary(eng *steps.Engine, res *steps.Result) {
	f := eng.Facts()
	realm := p.o.realm
	issuer := f.IssuerURL
	authURL := ""
	if res != nil {
		if res.Realm != "" {
			realm = res.Realm
		}
		if res.IssuerURL != "" {
			issuer = res.IssuerURL
		}
		authURL = res.AuthURL
		if res.Writes > 0 {
			p.printf("done: %d change(s) written\n", res.Writes)
		}
	}
	p.printf("realm %q on %s", realm, p.o.proxmoxURL)
	if issuer != "" {
		p.printf(", issuer %s", issuer)
	}
	p.printf("\n")
	if authURL != "" {
		p.printf("login test: open this link in a private browser window:\n  %s\n", authURL)
	} else {
		p.printf("login test: open %s in a private browser window and choose the realm %q\n", p.o.proxmoxURL, realm)
	}
}

func (p *plain) saveConfig(eng *steps.Engine) {
	if p.o.configPath == "" {
		return
	}
	p.o.adopted(eng.Inputs())
	if err := saveConfig(p.o.configPath, p.o.remember()); err != nil {
		// Not fatal: the setup itself succeeded.
		fmt.Fprintf(p.c.stderr, "pvesso: warning: could not save %s: %v\n", p.o.configPath, err)
	}
}

func (p *plain) usersAdd(ctx context.Context, eng *steps.Engine) int {
	plan, err := eng.PlanUsers(ctx, p.o.users)
	p.o.adopted(eng.Inputs())
	if ok, code := p.checked(ctx, eng, eng.Report(), "users", err); !ok {
		return code
	}
	p.printPlan("Plan (users):", plan)
	if p.o.plan {
		return exitOK
	}
	if !plan.HasChanges() {
		p.printf("nothing to do: every user is already in group %q\n", p.o.group)
		return exitOK
	}
	res, code, ok := p.write(ctx, plan, "users", eng.Apply)
	if !ok {
		return code
	}
	if res != nil {
		p.out.Users = res.Users
		for _, u := range res.Users {
			p.printf("%s is in group %q\n", u, p.o.group)
		}
	}
	return exitOK
}

func (p *plain) usersList(ctx context.Context, eng *steps.Engine) int {
	users, err := eng.RealmUserGroups(ctx)
	p.o.adopted(eng.Inputs())
	if err != nil {
		return p.fail(ctx, "users", err)
	}
	p.out.Users = []string{}
	p.out.RealmUsers = []jsonRealmUser{}
	w := p.logOrOut()
	if len(users) == 0 {
		fmt.Fprintf(w, "no Proxmox users in realm %q yet (they appear after their first login, or with pvesso users add)\n", p.o.realm)
		return exitOK
	}
	width := 0
	for _, u := range users {
		width = max(width, len(u.UserID))
	}
	members := 0
	for _, u := range users {
		in := slices.Contains(u.Groups, p.o.group)
		if in {
			members++
		}
		p.out.Users = append(p.out.Users, u.UserID)
		p.out.RealmUsers = append(p.out.RealmUsers, jsonRealmUser{UserID: u.UserID, Groups: u.Groups, InGroup: in})
		list := strings.Join(u.Groups, ",")
		if list == "" {
			list = "-"
		}
		fmt.Fprintf(w, "%-*s  %s\n", width, u.UserID, list)
	}
	fmt.Fprintf(w, "%d user(s) in realm %q, %d in group %q\n", len(users), p.o.realm, members, p.o.group)
	return exitOK
}

// logOrOut is stdout for plain data output (never mixed into --json).
func (p *plain) logOrOut() io.Writer {
	if p.o.jsonOut {
		return io.Discard
	}
	return p.c.stdout
}

func (p *plain) status(ctx context.Context, eng *steps.Engine) int {
	if ok, code := p.preflight(ctx, eng); !ok {
		return code
	}
	plan, err := eng.Status(ctx)
	p.o.adopted(eng.Inputs())
	if err != nil {
		return p.fail(ctx, "status", err)
	}
	p.printPlan("Status:", plan)
	if plan.HasChanges() {
		p.out.Error = "missing or drifted"
		p.out.Fix = "run pvesso setup to repair"
		p.printf("not in place: run \"pvesso setup\" to repair (see the items above)\n")
		return exitFailed
	}
	if len(plan.Problems) > 0 {
		return p.problems(plan)
	}
	p.printf("all in place\n")
	return exitOK
}

// problems reports what the plan cannot fix (exit 1): nothing was written.
func (p *plain) problems(plan *steps.Plan) int {
	p.out.Error = strings.Join(plan.Problems, "; ")
	p.out.Fix = "fix the problems named above, then rerun"
	p.printf("not working as it is: fix the problems above and rerun\n")
	if !p.o.jsonOut {
		fmt.Fprintf(p.c.stderr, "pvesso: nothing to change, but: %s\n", strings.Join(plan.Problems, "; "))
	}
	return exitFailed
}

func (p *plain) remove(ctx context.Context, eng *steps.Engine) int {
	plan, err := eng.PlanRemove(ctx)
	p.o.adopted(eng.Inputs())
	if ok, code := p.checked(ctx, eng, eng.Report(), "remove", err); !ok {
		return code
	}
	p.printPlan("Plan (remove):", plan)
	if !plan.HasChanges() {
		p.printf("nothing to remove\n")
		return exitOK
	}
	if p.o.plan {
		return exitOK
	}
	_, code, ok := p.write(ctx, plan, "remove", eng.Remove)
	if !ok {
		return code
	}
	p.printf("removed what pvesso managed\n")
	return exitOK
}

// fail reports err with the fix and returns the exit code: 130 when the
// run was interrupted, 2 for usage errors, 1 otherwise.
func (p *plain) fail(ctx context.Context, what string, err error) int {
	if ctx.Err() != nil {
		p.out.Error = "interrupted"
		fmt.Fprintf(p.c.stderr, "pvesso: interrupted during %s; rerun to finish (a rerun completes a half-done setup)\n", what)
		return exitInterrupted
	}
	var ue *usageError
	var sue *steps.UsageError
	if errors.As(err, &ue) || errors.As(err, &sue) {
		return p.usage(err)
	}
	msg := p.errText(err)
	p.out.Error = msg
	if p.applying {
		msg += " (rerun after fixing: it completes what is missing, without duplicates)"
	} else {
		msg += " (nothing was changed)"
	}
	fmt.Fprintf(p.c.stderr, "pvesso: %s\n", msg)
	return exitFailed
}

// errText renders err with the fix that applies to it. Typed errors carry
// their own fix; certificate errors get the fingerprint and the flag.
func (p *plain) errText(err error) string {
	var ce *tlstrust.CertError
	if errors.As(err, &ce) {
		return p.certText(ce, p.sideOf(err, ce.Host))
	}
	msg := err.Error()
	var ck *steps.CheckError
	if errors.As(err, &ck) && ck.Fix != "" {
		return msg // the engine named the fix already
	}
	if _, fix := steps.Explain(strings.ToLower(p.sideOf(err, "")), err); fix != "" {
		msg += "; fix: " + fix
	}
	return msg
}

// certText explains an untrusted certificate: its fingerprint and the flag
// that pins it.
func (p *plain) certText(ce *tlstrust.CertError, side string) string {
	flagName, env := "--proxmox-fingerprint", envProxmoxPin
	if side == "Authentik" {
		flagName, env = "--authentik-fingerprint", envAuthentikPin
	}
	var b strings.Builder
	if ce.PinMismatch {
		fmt.Fprintf(&b, "the %s certificate of %s does not match the pinned fingerprint: it presents SHA-256 %s (subject %q). ", side, ce.Host, ce.Fingerprint, ce.Subject)
		fmt.Fprintf(&b, "If the certificate was replaced on purpose, compare the new fingerprint on the server and pin it with %s %s (or %s); otherwise do not connect.", flagName, ce.Fingerprint, env)
		return b.String()
	}
	reason := ce.Reason
	if reason == "" {
		reason = "not trusted"
	}
	fmt.Fprintf(&b, "the %s certificate of %s is not trusted (%s): SHA-256 fingerprint %s, subject %q. ", side, ce.Host, reason, ce.Fingerprint, ce.Subject)
	fmt.Fprintf(&b, "Compare it with the fingerprint shown on the server, then pin it with %s %s (or %s), or trust its CA with --ca-file.", flagName, ce.Fingerprint, env)
	return b.String()
}

// sideOf says which server an error came from: the URL of the failed
// request (url.Error) decides, else the client's error family, else the
// host name.
func (p *plain) sideOf(err error, host string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		switch {
		case p.o.proxmoxURL != "" && strings.HasPrefix(ue.URL, p.o.proxmoxURL):
			return "Proxmox"
		case p.o.authentikURL != "" && strings.HasPrefix(ue.URL, p.o.authentikURL):
			return "Authentik"
		}
	}
	var akErr *authentik.APIError
	var akResp *authentik.ResponseError
	if errors.As(err, &akErr) || errors.As(err, &akResp) {
		return "Authentik"
	}
	if host != "" && hostOf(p.o.authentikURL) == host && hostOf(p.o.proxmoxURL) != host {
		return "Authentik"
	}
	return "Proxmox"
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
