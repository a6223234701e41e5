package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/pvesso/pvesso/internal/tlstrust"
	"github.com/pvesso/pvesso/steps"
)

type connState int

const (
	connEditing connState = iota
	connProbing
	connTrust
)

const (
	authToken    = "token"
	authPassword = "password"
)

// connScreen asks for one server's URL and credentials, checks that the
// server answers over TLS, and asks before pinning an untrusted
// certificate.
type connScreen struct {
	c    *common
	side side

	// Values bound to the form (pointers into this struct).
	url, method, token, user, password, otp string

	pin    string
	conn   steps.Conn // the prefilled connection (roots, CA file)
	form   *huh.Form
	urlFld *huh.Input

	// needOTP: Proxmox answered the password login with a second-factor
	// challenge (tfaMethods); the TOTP field shows only then. otpOnly
	// shows just that field (esc brings back the whole form).
	needOTP    bool
	otpOnly    bool
	tfaMethods []string

	state   connState
	gen     int
	cert    *tlstrust.CertError
	errText string
	note    string
	auto    bool
	spin    spinner.Model
}

func newConnScreen(c *common, s side, conn steps.Conn) *connScreen {
	cs := &connScreen{c: c, side: s, conn: conn, spin: spinner.New(spinner.WithSpinner(spinner.Line))}
	cs.spin.Style = c.st.Accent
	switch s {
	case sideProxmox:
		cs.url, cs.token, cs.pin = conn.ProxmoxURL, conn.ProxmoxToken, conn.ProxmoxPin
		cs.user, cs.password, cs.otp = conn.ProxmoxUser, conn.ProxmoxPassword, conn.ProxmoxOTP
		cs.method = authToken
		if cs.token == "" && cs.password != "" {
			cs.method = authPassword
		}
		if cs.user == "" {
			cs.user = "root@pam"
		}
	case sideAuthentik:
		cs.url, cs.token, cs.pin = conn.AuthentikURL, conn.AuthentikToken, conn.AuthentikPin
	}
	cs.auto = cs.complete()
	return cs
}

// complete reports whether every required value is present and valid.
func (s *connScreen) complete() bool {
	switch s.side {
	case sideProxmox:
		if _, err := normalizeProxmoxURL(s.url); err != nil {
			return false
		}
		if s.method == authPassword {
			return validateProxmoxUser(s.user) == nil && s.password != ""
		}
		return validateProxmoxToken(s.token) == nil
	case sideAuthentik:
		if _, err := normalizeAuthentikURL(s.url); err != nil {
			return false
		}
		return validateAuthentikToken(s.token) == nil
	}
	return false
}

func (s *connScreen) title() string {
	if s.side == sideProxmox {
		return "Proxmox connection"
	}
	return "Authentik connection"
}

func (s *connScreen) buildForm() {
	w := s.c.contentWidth()
	var groups []*huh.Group
	switch s.side {
	case sideProxmox:
		s.urlFld = huh.NewInput().Key("url").Title("Proxmox URL").
			Description("any node of the cluster; port 8006 is added when missing").
			Placeholder("https://pve.example.lan:8006").Value(&s.url).
			Validate(func(v string) error { _, err := normalizeProxmoxURL(v); return err })
		groups = append(groups,
			huh.NewGroup(
				s.urlFld,
				huh.NewSelect[string]().Key("method").Title("Log in with").
					Options(huh.NewOption("API token (recommended)", authToken), huh.NewOption("root password", authPassword)).
					Value(&s.method),
			),
			huh.NewGroup(
				huh.NewInput().Key("token").Title("API token").
					Description("USER@REALM!TOKENID=SECRET · Datacenter → Permissions → API Tokens,\nprivilege separation off").
					EchoMode(huh.EchoModePassword).Value(&s.token).Validate(validateProxmoxToken),
			).WithHideFunc(func() bool { return s.method != authToken }),
			huh.NewGroup(
				huh.NewInput().Key("user").Title("User").Description("usually root@pam").Value(&s.user).Validate(validateProxmoxUser),
				huh.NewInput().Key("password").Title("Password").EchoMode(huh.EchoModePassword).Value(&s.password).Validate(validateNonEmpty("password")),
			).WithHideFunc(func() bool { return s.method != authPassword }),
			huh.NewGroup(s.otpField()).WithHideFunc(func() bool { return s.method != authPassword || !s.needOTP }),
		)
		if s.otpOnly {
			groups = []*huh.Group{huh.NewGroup(s.otpField())}
		}
	case sideAuthentik:
		s.urlFld = huh.NewInput().Key("url").Title("Authentik URL").
			Description("the address you open Authentik at").
			Placeholder("https://auth.example.lan").Value(&s.url).
			Validate(func(v string) error { _, err := normalizeAuthentikURL(v); return err })
		groups = append(groups, huh.NewGroup(
			s.urlFld,
			huh.NewInput().Key("token").Title("API token").
				Description("admin interface → Directory → Tokens and App passwords → Create\n(intent API Token, user with superuser rights)").
				EchoMode(huh.EchoModePassword).Value(&s.token).Validate(validateAuthentikToken),
		))
	}
	s.form = huh.NewForm(groups...).WithShowHelp(false).WithShowErrors(true).WithTheme(s.c.st.Huh).WithWidth(w)
}

func (s *connScreen) init() tea.Cmd {
	if s.auto {
		s.auto = false
		return s.startProbe()
	}
	return s.edit()
}

// reenter is called when esc brings the user back here.
func (s *connScreen) reenter() tea.Cmd { return s.edit() }

func (s *connScreen) edit() tea.Cmd {
	s.state = connEditing
	s.gen++
	s.buildForm()
	return s.form.Init()
}

func (s *connScreen) capturesText() bool {
	if s.state != connEditing || s.form == nil {
		return false
	}
	_, ok := s.form.GetFocusedField().(*huh.Input)
	return ok
}

func (s *connScreen) handleBack() bool {
	if s.state == connEditing && s.otpOnly {
		s.otpOnly = false // the whole form, the TOTP field included
		_ = s.edit()
		return true
	}
	switch s.state {
	case connTrust:
		s.note = "Not pinned. Compare the fingerprint first, or trust the CA with --ca-file."
		s.cert = nil
		_ = s.edit()
		return true
	case connProbing:
		s.errText = ""
		_ = s.edit()
		return true
	case connEditing:
	}
	return false
}

// otpField asks for the second factor Proxmox asked for.
func (s *connScreen) otpField() *huh.Input {
	return huh.NewInput().Key("otp").Title("TOTP code").
		Description(fmt.Sprintf("Proxmox asks %s for a second factor: the current code\nof the authenticator app (a recovery key as recovery:KEY)", orDefault(strings.TrimSpace(s.user), "this user"))).
		CharLimit(64).Value(&s.otp).Validate(validateNonEmpty("TOTP code"))
}

// requireOTP is called when Proxmox challenged the password login: the
// form shows the TOTP field alone (or says why a code cannot help).
func (s *connScreen) requireOTP(methods []string) tea.Cmd {
	s.needOTP, s.tfaMethods = true, append([]string(nil), methods...)
	s.method = authPassword
	s.otp = ""
	s.errText = ""
	if len(methods) > 0 && !contains(methods, "totp") && !contains(methods, "recovery") {
		// webauthn, u2f or yubico only: pvesso cannot answer those
		s.needOTP = false
		s.errText = fmt.Sprintf("Proxmox asks %s for %s, which pvesso cannot answer: log in with an API token instead", s.user, strings.Join(methods, " or "))
		s.otpOnly = false
		return s.edit()
	}
	s.otpOnly = true
	s.note = ""
	return s.edit()
}

// normalized returns the cleaned URL.
// normalize is the side's URL normaliser.
func (s *connScreen) normalize(raw string) (string, error) {
	if s.side == sideProxmox {
		return normalizeProxmoxURL(raw)
	}
	return normalizeAuthentikURL(raw)
}

func (s *connScreen) normalized() string {
	var u string
	var err error
	if s.side == sideProxmox {
		u, err = normalizeProxmoxURL(s.url)
	} else {
		u, err = normalizeAuthentikURL(s.url)
	}
	if err != nil {
		return strings.TrimSpace(s.url)
	}
	return u
}

func (s *connScreen) trustConfig() tlstrust.Config {
	cfg := tlstrust.Config{CAFile: s.conn.CAFile, Pin: s.pin}
	if s.side == sideProxmox {
		cfg.Roots = s.conn.ProxmoxRoots
	} else {
		cfg.Roots = s.conn.AuthentikRoots
	}
	return cfg
}

func (s *connScreen) startProbe() tea.Cmd {
	s.url = s.normalized()
	s.state = connProbing
	s.errText = ""
	s.gen++
	return tea.Batch(s.spin.Tick, probeServer(s.c.ctx, s.side, s.gen, s.url, s.trustConfig()))
}

func (s *connScreen) done() tea.Cmd {
	var c steps.Conn
	switch s.side {
	case sideProxmox:
		c.ProxmoxURL, c.ProxmoxPin = s.url, s.pin
		if s.method == authPassword {
			c.ProxmoxUser, c.ProxmoxPassword, c.ProxmoxOTP = strings.TrimSpace(s.user), s.password, strings.TrimSpace(s.otp)
		} else {
			c.ProxmoxToken = cleanProxmoxToken(s.token)
		}
	case sideAuthentik:
		c.AuthentikURL, c.AuthentikPin, c.AuthentikToken = s.url, s.pin, cleanAuthentikToken(s.token)
	}
	sd := s.side
	return func() tea.Msg { return connDoneMsg{side: sd, conn: c} }
}

func (s *connScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		if s.form != nil {
			s.form = s.form.WithWidth(s.c.contentWidth())
		}
		return nil
	case spinner.TickMsg:
		return tick(&s.spin, s.state == connProbing, msg)
	case probeDoneMsg:
		if msg.side != s.side || msg.gen != s.gen || s.state != connProbing {
			return nil
		}
		switch {
		case msg.cert != nil:
			s.state = connTrust
			s.cert = msg.cert
			return nil
		case msg.err != nil:
			s.errText = msg.err.Error()
			cmd := s.edit()
			return cmd
		}
		return s.done()
	case pinAcceptedMsg:
		return nil
	case tea.KeyMsg:
		if s.state == connTrust {
			switch {
			case key.Matches(msg, key.NewBinding(key.WithKeys("y"))):
				s.pin = s.cert.Fingerprint
				s.note = ""
				url, pin, sd := s.url, s.pin, s.side
				s.cert = nil
				return tea.Batch(func() tea.Msg { return pinAcceptedMsg{side: sd, url: url, pin: pin} }, s.startProbe())
			case key.Matches(msg, key.NewBinding(key.WithKeys("n"))):
				s.handleBack()
			}
			return nil
		}
	}
	if s.state != connEditing || s.form == nil {
		return nil
	}
	if k, ok := msg.(tea.KeyMsg); ok {
		s.errText = ""
		_ = k
	}
	f, cmd := s.form.Update(msg)
	if ff, ok := f.(*huh.Form); ok {
		s.form = ff
	}
	if s.form.State == huh.StateCompleted {
		return s.startProbe()
	}
	return cmd
}

func (s *connScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.Toggle, &k.Retry, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Yes.SetEnabled(s.state == connTrust)
	k.No.SetEnabled(s.state == connTrust)
	k.Next.SetEnabled(s.state == connEditing)
	k.Quit.SetEnabled(!s.capturesText())
	if s.state == connTrust {
		k.Yes.SetHelp("y", "trust and pin")
		k.No.SetHelp("n", "don't trust")
	}
	if s.capturesText() {
		k.Help.SetKeys("f1")
		k.Help.SetHelp("f1", "help")
	}
}

func (s *connScreen) view() string {
	st := s.c.st
	var b strings.Builder
	switch s.side {
	case sideProxmox:
		b.WriteString(st.Bold.Render("Where is Proxmox VE, and how may pvesso log in?") + "\n")
	case sideAuthentik:
		b.WriteString(st.Bold.Render("Where is Authentik, and which API token may pvesso use?") + "\n")
	}
	if s.note != "" {
		b.WriteString(st.Warn.Render(s.note) + "\n")
	}
	if s.otpOnly && s.state == connEditing {
		fmt.Fprintf(&b, "%s as %s with a password.\n", st.Code.Render(s.url), s.user)
		b.WriteString(st.Muted.Render("esc: change the URL, user or password") + "\n")
	}
	if s.errText != "" {
		b.WriteString(st.Err.Render(strings.Join(hangWrap(glyphFail+" "+s.errText, s.c.contentWidth()), "\n")) + "\n")
	}
	b.WriteString("\n")
	switch s.state {
	case connProbing:
		fmt.Fprintf(&b, "%s Checking %s …\n", s.spin.View(), st.Code.Render(s.url))
	case connTrust:
		b.WriteString(s.trustView())
	case connEditing:
		if s.form != nil {
			b.WriteString(strings.TrimRight(s.form.View(), "\n") + "\n")
			if line := s.urlPreview(); line != "" {
				b.WriteString("\n" + line + "\n")
			}
		}
	}
	return b.String()
}

// urlPreview checks the URL as it is typed (while its field has focus):
// the address pvesso will use, or what is wrong with it. huh itself only
// validates when the field is left.
func (s *connScreen) urlPreview() string {
	if s.form == nil || s.urlFld == nil || s.form.GetFocusedField() != s.urlFld {
		return ""
	}
	typed := strings.TrimSpace(s.url)
	if typed == "" {
		return ""
	}
	u, err := s.normalize(typed)
	st := s.c.st
	switch {
	case err != nil:
		return st.Err.Render(strings.Join(hangWrap(glyphFail+" "+err.Error(), s.c.contentWidth()), "\n"))
	case u != typed:
		return st.Muted.Render("→ pvesso will use ") + st.Code.Render(u)
	}
	return ""
}

// trustView shows the untrusted certificate and how to compare it.
func (s *connScreen) trustView() string {
	st := s.c.st
	ce := s.cert
	var b strings.Builder
	if ce.PinMismatch {
		b.WriteString(st.Err.Render(fmt.Sprintf("%s %s presents a DIFFERENT certificate than the pinned one.", glyphFail, ce.Host)) + "\n")
		b.WriteString("If nobody renewed it, stop here: someone may be in between.\n\n")
	} else {
		fmt.Fprintf(&b, "The certificate of %s is not trusted (%s).\n\n", st.Code.Render(ce.Host), ce.Reason)
	}
	fp := ce.Fingerprint
	first, second := fp, ""
	if len(fp) > 48 {
		first, second = fp[:48], fp[48:]
	}
	fmt.Fprintf(&b, "  SHA-256  %s\n", st.Code.Render(first))
	if second != "" {
		fmt.Fprintf(&b, "           %s\n", st.Code.Render(second))
	}
	w := s.c.contentWidth()
	b.WriteString(labelWrap("  Subject  ", ce.Subject, w))
	if ce.Issuer != "" && ce.Issuer != ce.Subject {
		b.WriteString(labelWrap("  Issuer   ", ce.Issuer, w))
	}
	if !ce.NotAfter.IsZero() {
		fmt.Fprintf(&b, "  Expires  %s\n", ce.NotAfter.UTC().Format("2006-01-02"))
	}
	b.WriteString("\nCompare the fingerprint before trusting it:\n")
	if s.side == sideProxmox {
		b.WriteString("  on the Proxmox host: " + st.Code.Render("pvenode cert info") + "\n  or in the GUI: node → System → Certificates\n")
	} else {
		b.WriteString("  on the Authentik host: " + st.Code.Render("openssl x509 -noout -fingerprint -sha256 -in cert.pem") + "\n  or in Authentik: System → Certificates (the web certificate)\n")
	}
	b.WriteString("\n" + st.Bold.Render("y") + " trust and pin it (kept in the config file; not a secret)\n")
	b.WriteString(st.Bold.Render("n") + " don't trust it (or trust its CA with --ca-file)\n")
	return b.String()
}

// labelWrap renders "label value" with the value wrapped under itself
// (distinguished names are long).
func labelWrap(label, value string, width int) string {
	ind := visibleWidth(label)
	lines := strings.Split(wrapText(value, max(20, width-ind)), "\n")
	out := label + lines[0] + "\n"
	for _, l := range lines[1:] {
		out += strings.Repeat(" ", ind) + strings.TrimLeft(l, " ") + "\n"
	}
	return out
}
