package ui

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

// optField is one focusable row group on the options screen.
type optField int

const (
	optRealm optField = iota
	optGroup
	optSubject
	optClaim
	optKey
	optNodes
	optUsers
	optCount
)

// listItem is one row of a pick list.
type listItem struct {
	label    string
	detail   string
	value    string
	disabled bool   // shown, cannot be chosen
	reason   string // why disabled
	checked  bool
	fixed    bool // always checked (e.g. the URL in use)
}

// pickList is a cursor over items; single=true makes it a radio list.
type pickList struct {
	items  []listItem
	cursor int
	single bool
}

func (l *pickList) move(d int) bool {
	for i := l.cursor + d; i >= 0 && i < len(l.items); i += d {
		if !l.items[i].disabled || !l.single {
			l.cursor = i
			return true
		}
	}
	return false
}

func (l *pickList) toggle() {
	if len(l.items) == 0 {
		return
	}
	it := &l.items[l.cursor]
	if it.disabled || it.fixed {
		return
	}
	if l.single {
		for i := range l.items {
			l.items[i].checked = false
		}
		it.checked = true
		return
	}
	it.checked = !it.checked
}

func (l *pickList) checkedValues() []string {
	var out []string
	for _, it := range l.items {
		if it.checked && !it.fixed {
			out = append(out, it.value)
		}
	}
	return out
}

// optionsScreen shows the choices, prefilled with good defaults and
// explained in one line each, with a live preview of the userid.
type optionsScreen struct {
	c      *common
	in     steps.Inputs
	facts  steps.Facts
	users  []steps.UserInfo
	sample *steps.UserInfo

	realm, group textinput.Model
	subjectIdx   int
	claimIdx     int
	keys         pickList
	nodes        pickList
	people       pickList
	focus        optField
	err          string
}

func newOptionsScreen(c *common, in steps.Inputs, f steps.Facts, users []steps.UserInfo) *optionsScreen {
	s := &optionsScreen{c: c, in: in, facts: f, users: users}
	s.realm = newTextInput(c, in.Realm, 32)
	s.group = newTextInput(c, in.Group, 64)
	s.subjectIdx = indexOf(steps.SubjectModes, in.SubjectMode)
	s.claimIdx = indexOf(steps.UsernameClaims, in.UsernameClaim)

	// Signing keys: every pair is listed; ineligible ones are disabled
	// with the reason.
	chosen := in.SigningKey
	if chosen == "" {
		chosen = f.SigningKey
	}
	s.keys.single = true
	for _, kp := range f.KeyPairs {
		it := listItem{label: kp.Name, value: kp.Name, disabled: !kp.Eligible, reason: kp.Reason}
		it.detail = keyDetail(kp)
		it.checked = kp.Eligible && kp.Name == chosen
		s.keys.items = append(s.keys.items, it)
	}
	sort.SliceStable(s.keys.items, func(i, j int) bool { return !s.keys.items[i].disabled && s.keys.items[j].disabled })
	for i, it := range s.keys.items {
		if it.checked {
			s.keys.cursor = i
		}
	}
	if len(s.keys.items) == 0 || !anyEligible(f.KeyPairs) {
		s.keys.items = append(s.keys.items, listItem{label: "generate a new RSA key pair", value: "", detail: "pvesso creates \"pvesso\" (RSA 4096) in Authentik", checked: in.GenerateKey})
		s.keys.cursor = len(s.keys.items) - 1
	}

	// Cluster nodes: the URL in use is always registered; the other
	// nodes are offered (all checked by default) so logins through them
	// work too.
	self := origin(in.ProxmoxURL)
	extra := map[string]bool{}
	for _, u := range in.RedirectURIs {
		extra[origin(u)] = true
	}
	// On a rerun without a choice of nodes, the nodes checked are those
	// already registered (the existing setup's redirect URIs).
	rerun := f.Existing != nil && len(f.Existing.RedirectURIs) > 0 && !in.AllNodes && len(in.RedirectURIs) == 0
	if rerun {
		for _, u := range f.Existing.RedirectURIs {
			extra[origin(u)] = true
		}
	}
	selfListed := false
	for _, n := range f.Nodes {
		for _, o := range n.Origins {
			if origin(o) == self {
				selfListed = true
			}
		}
	}
	if !selfListed && len(f.Nodes) > 1 {
		s.nodes.items = append(s.nodes.items, listItem{label: "this URL", detail: self + "  (always)", value: self, fixed: true, checked: true})
	}
	for _, n := range f.Nodes {
		for _, o := range n.Origins {
			it := listItem{label: n.Name, detail: o, value: o}
			switch {
			case origin(o) == self:
				it.fixed, it.checked = true, true
				it.detail += "  (this URL)"
			case in.AllNodes || (len(in.RedirectURIs) == 0 && !rerun) || extra[origin(o)]:
				it.checked = true
			}
			if !n.Online {
				it.detail += "  offline"
			}
			s.nodes.items = append(s.nodes.items, it)
		}
	}

	// Users to add now.
	want := map[string]bool{}
	for _, u := range in.Users {
		want[strings.ToLower(u)] = true
	}
	for _, u := range users {
		it := listItem{label: u.Username, detail: u.Email, value: u.Username}
		it.checked = want[strings.ToLower(u.Username)] || (u.Email != "" && want[strings.ToLower(u.Email)])
		s.people.items = append(s.people.items, it)
	}
	s.sample = pickSample(users, f.AuthentikUser)
	s.applyFocus()
	return s
}

func anyEligible(kps []steps.KeyPairFact) bool {
	for _, k := range kps {
		if k.Eligible {
			return true
		}
	}
	return false
}

// pickSample chooses the user for the live preview: the first one that is
// not the API token's owner (usually an admin account), else any.
func pickSample(users []steps.UserInfo, owner string) *steps.UserInfo {
	for i := range users {
		if users[i].Username != owner {
			u := users[i]
			return &u
		}
	}
	if len(users) > 0 {
		u := users[0]
		return &u
	}
	return nil
}

// keyDetail is "RSA 4096 · until 2027-01-31 · private key ✓" (type and
// size read from the certificate; "?" when unknown).
func keyDetail(kp steps.KeyPairFact) string {
	parts := []string{}
	t := strings.ToUpper(kp.KeyType)
	switch t {
	case "":
		t = "?"
	case "ECDSA":
		t = "EC"
	}
	if kp.KeySize > 0 {
		t += " " + strconv.Itoa(kp.KeySize)
	}
	parts = append(parts, t)
	if !kp.Expiry.IsZero() {
		parts = append(parts, "until "+kp.Expiry.UTC().Format("2006-01-02"))
	}
	if kp.HasPrivateKey {
		parts = append(parts, "private key "+glyphOK)
	} else {
		parts = append(parts, "no private key")
	}
	return strings.Join(parts, " · ")
}

func origin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.ToLower(raw), "/")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return 0
}

func newTextInput(c *common, v string, limit int) textinput.Model {
	ti := textinput.New()
	ti.SetValue(v)
	ti.CharLimit = limit
	ti.Prompt = ""
	ti.Width = 20
	ti.TextStyle = c.st.Text
	ti.Cursor.Style = c.st.Accent
	return ti
}

func (s *optionsScreen) init() tea.Cmd    { return textinput.Blink }
func (s *optionsScreen) reenter() tea.Cmd { return textinput.Blink }
func (s *optionsScreen) handleBack() bool { return false }
func (s *optionsScreen) capturesText() bool {
	return s.focus == optRealm || s.focus == optGroup
}

// visible reports whether a field is shown.
func (s *optionsScreen) visible(f optField) bool {
	switch f {
	case optNodes:
		return len(s.nodes.items) > 1
	case optUsers:
		return len(s.people.items) > 0
	case optKey:
		return len(s.keys.items) > 0
	case optRealm, optGroup, optSubject, optClaim, optCount:
	}
	return true
}

func (s *optionsScreen) applyFocus() {
	s.realm.Blur()
	s.group.Blur()
	switch s.focus {
	case optRealm:
		s.realm.Focus()
	case optGroup:
		s.group.Focus()
	case optSubject, optClaim, optKey, optNodes, optUsers, optCount:
	}
}

func (s *optionsScreen) moveFocus(d int) {
	for f := int(s.focus) + d; f >= 0 && f < int(optCount); f += d {
		if s.visible(optField(f)) {
			s.focus = optField(f)
			s.applyFocus()
			return
		}
	}
}

// list returns the pick list of the focused field, if any.
func (s *optionsScreen) list() *pickList {
	switch s.focus {
	case optKey:
		return &s.keys
	case optNodes:
		return &s.nodes
	case optUsers:
		return &s.people
	case optRealm, optGroup, optSubject, optClaim, optCount:
	}
	return nil
}

// inputs returns the choices as steps.Inputs.
func (s *optionsScreen) inputs() steps.Inputs {
	in := s.in
	in.Realm = strings.TrimSpace(s.realm.Value())
	in.Group = strings.TrimSpace(s.group.Value())
	in.SubjectMode = steps.SubjectModes[s.subjectIdx]
	in.UsernameClaim = steps.UsernameClaims[s.claimIdx]
	in.SigningKey, in.GenerateKey = "", false
	for _, it := range s.keys.items {
		if it.checked {
			if it.value == "" {
				in.GenerateKey = true
			} else {
				in.SigningKey = it.value
			}
		}
	}
	if len(s.nodes.items) > 1 {
		extra := s.nodes.checkedValues()
		all := len(extra) == len(s.nodes.items)-countFixed(s.nodes.items)
		in.AllNodes = all
		in.RedirectURIs = nil
		if !all {
			in.RedirectURIs = extra
		}
	}
	if len(s.people.items) > 0 {
		in.Users = s.people.checkedValues()
	}
	if in.AdoptExisting {
		// what this screen shows is what the user chose: prefilled from
		// the existing setup on a rerun, and a change here must win
		explicit := slices.Clone(in.Explicit)
		for _, n := range []string{steps.InputRealm, steps.InputGroup, steps.InputSubjectMode, steps.InputUsernameClaim, steps.InputSigningKey} {
			if !slices.Contains(explicit, n) {
				explicit = append(explicit, n)
			}
		}
		in.Explicit = explicit
	}
	return in
}

func countFixed(items []listItem) int {
	n := 0
	for _, it := range items {
		if it.fixed {
			n++
		}
	}
	return n
}

func (s *optionsScreen) validate() string {
	if err := validateRealm(strings.TrimSpace(s.realm.Value())); err != nil {
		s.focus = optRealm
		s.applyFocus()
		return "Realm: " + err.Error()
	}
	if err := validateGroup(strings.TrimSpace(s.group.Value())); err != nil {
		s.focus = optGroup
		s.applyFocus()
		return "Group: " + err.Error()
	}
	if len(s.keys.items) > 0 {
		in := s.inputs()
		if in.SigningKey == "" && !in.GenerateKey {
			s.focus = optKey
			return "Signing key: pick one with space (Proxmox needs RSA with a private key)"
		}
	}
	return ""
}

var (
	kTab      = key.NewBinding(key.WithKeys("tab"))
	kShiftTab = key.NewBinding(key.WithKeys("shift+tab"))
	kLeft     = key.NewBinding(key.WithKeys("left"))
	kRight    = key.NewBinding(key.WithKeys("right"))
	kUp       = key.NewBinding(key.WithKeys("up"))
	kDown     = key.NewBinding(key.WithKeys("down"))
	// kLineUp/kLineDown move through lists and scroll long screens; they
	// also take vi's k/j where no text field has focus.
	kLineUp   = key.NewBinding(key.WithKeys("up", "k"))
	kLineDown = key.NewBinding(key.WithKeys("down", "j"))
	kSpace    = key.NewBinding(key.WithKeys(" "))
	kEnter    = key.NewBinding(key.WithKeys("enter"))
)

func (s *optionsScreen) update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		var c1, c2 tea.Cmd
		s.realm, c1 = s.realm.Update(msg)
		s.group, c2 = s.group.Update(msg)
		return tea.Batch(c1, c2)
	}
	s.err = ""
	switch {
	case key.Matches(k, kEnter):
		if e := s.validate(); e != "" {
			s.err = e
			return nil
		}
		in := s.inputs()
		return func() tea.Msg { return optionsDoneMsg{inputs: in} }
	case key.Matches(k, kTab):
		s.moveFocus(1)
		return nil
	case key.Matches(k, kShiftTab):
		s.moveFocus(-1)
		return nil
	case key.Matches(k, kUp):
		if l := s.list(); l != nil && l.move(-1) {
			return nil
		}
		s.moveFocus(-1)
		if l := s.list(); l != nil {
			l.cursor = len(l.items) - 1
		}
		return nil
	case key.Matches(k, kDown):
		if l := s.list(); l != nil && l.move(1) {
			return nil
		}
		s.moveFocus(1)
		if l := s.list(); l != nil {
			l.cursor = 0
			if l.single && len(l.items) > 0 && l.items[0].disabled {
				l.move(1)
			}
		}
		return nil
	}
	switch s.focus {
	case optRealm:
		var cmd tea.Cmd
		s.realm, cmd = s.realm.Update(msg)
		return cmd
	case optGroup:
		var cmd tea.Cmd
		s.group, cmd = s.group.Update(msg)
		return cmd
	case optSubject:
		s.subjectIdx = cycle(k, s.subjectIdx, len(steps.SubjectModes))
	case optClaim:
		s.claimIdx = cycle(k, s.claimIdx, len(steps.UsernameClaims))
	case optKey, optNodes, optUsers:
		if key.Matches(k, kSpace) || k.String() == "x" {
			s.list().toggle()
		}
	case optCount:
	}
	return nil
}

func cycle(k tea.KeyMsg, i, n int) int {
	switch {
	case key.Matches(k, kLeft):
		return (i + n - 1) % n
	case key.Matches(k, kRight), key.Matches(k, kSpace):
		return (i + 1) % n
	}
	return i
}

func (s *optionsScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Yes, &k.No, &k.Retry, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Up.SetHelp("↑/↓ tab", "move")
	k.Down.SetEnabled(false)
	switch s.focus {
	case optSubject, optClaim:
		k.Toggle.SetHelp("←/→", "change")
	case optKey:
		k.Toggle.SetHelp("space", "choose")
	case optNodes, optUsers:
		k.Toggle.SetHelp("space", "toggle")
	case optRealm, optGroup, optCount:
		k.Toggle.SetEnabled(false)
	}
	k.Next.SetHelp("enter", "check")
	if s.capturesText() {
		k.Quit.SetEnabled(false)
		k.Help.SetKeys("f1")
		k.Help.SetHelp("f1", "help")
	}
}

// view renders the fields; long lists are windowed around the focus so the
// screen fits 24 lines.
func (s *optionsScreen) view() string {
	st := s.c.st
	var lines []string
	focusLine := 0
	add := func(f optField, l string) {
		if f == s.focus && focusLine == 0 {
			focusLine = len(lines)
		}
		lines = append(lines, l)
	}
	marker := func(f optField) string {
		if s.focus == f {
			return st.Selected.Render(glyphCursor) + " "
		}
		return "  "
	}
	label := func(f optField, name string) string {
		l := fmt.Sprintf("%-15s", name)
		if s.focus == f {
			return marker(f) + st.Selected.Render(l)
		}
		return marker(f) + l
	}
	in := s.inputs()
	lines = append(lines, st.Muted.Render("Defaults are fine for most setups. tab/↑↓ move, enter checks them."))
	if s.err != "" {
		lines = append(lines, st.Err.Render(glyphFail+" "+s.err))
	}
	s.realm.Width, s.group.Width = 18, 18
	add(optRealm, label(optRealm, "Realm")+padRight(s.realm.View(), 20)+st.Muted.Render("name on the Proxmox login"))
	add(optGroup, label(optGroup, "Admin group")+padRight(s.group.View(), 20)+st.Muted.Render(fmt.Sprintf("gets %s on %s", in.Role, in.ACLPath)))
	add(optSubject, label(optSubject, "Subject mode")+padRight("‹ "+in.SubjectMode+" ›", 20)+st.Muted.Render("what Authentik sends as sub"))
	add(optClaim, label(optClaim, "Username claim")+padRight("‹ "+in.UsernameClaim+" ›", 20)+st.Muted.Render("Proxmox user = <claim>@realm"))
	for _, l := range strings.Split(s.preview(in), "\n") {
		lines = append(lines, "  "+l)
	}

	if s.visible(optKey) {
		lines = append(lines, "")
		add(optKey, label(optKey, "Signing key")+st.Muted.Render("Proxmox needs RSA with a private key"))
		for i, it := range s.keys.items {
			if s.focus == optKey && i == s.keys.cursor {
				focusLine = len(lines)
			}
			lines = append(lines, strings.Split(s.itemLine(optKey, &s.keys, i, it), "\n")...)
		}
	}
	if s.visible(optNodes) {
		add(optNodes, label(optNodes, "Redirect URIs")+st.Muted.Render("nodes users may log in through"))
		for i, it := range s.nodes.items {
			if s.focus == optNodes && i == s.nodes.cursor {
				focusLine = len(lines)
			}
			lines = append(lines, strings.Split(s.itemLine(optNodes, &s.nodes, i, it), "\n")...)
		}
	}
	if s.visible(optUsers) {
		add(optUsers, label(optUsers, "Add to group")+st.Muted.Render(fmt.Sprintf("Authentik users to put in %q now", in.Group)))
		for i, it := range s.people.items {
			if s.focus == optUsers && i == s.people.cursor {
				focusLine = len(lines)
			}
			lines = append(lines, strings.Split(s.itemLine(optUsers, &s.people, i, it), "\n")...)
		}
	}
	return window(lines, focusLine, s.c.bodyHeight())
}

func (s *optionsScreen) itemLine(f optField, l *pickList, i int, it listItem) string {
	st := s.c.st
	cur := "  "
	if s.focus == f && i == l.cursor {
		cur = st.Selected.Render(glyphCursor) + " "
	}
	box := "[ ]"
	if l.single {
		box = "( )"
		if it.checked {
			box = "(•)"
		}
	} else if it.checked {
		box = "[x]"
	}
	w := s.c.contentWidth()
	name := it.label
	detail := st.Muted.Render(it.detail)
	mark := box
	if it.disabled {
		mark = " " + glyphFail + " "
		name = st.Disabled.Render(name)
	}
	line := fmt.Sprintf("    %s%s %s", cur, mark, name)
	// One line when it fits, else the detail goes under the name.
	if it.detail != "" {
		if visibleWidth(line)+2+visibleWidth(detail) <= w {
			line += "  " + detail
		} else {
			line += "\n" + strings.Repeat(" ", 10) + truncate(it.detail, w-10)
		}
	}
	if it.disabled && it.reason != "" {
		// Why it cannot be chosen, without the parenthesised background,
		// on at most two lines.
		reason := it.reason
		if i := strings.Index(reason, " ("); i > 0 {
			reason = reason[:i]
		}
		wrapped := strings.Split(wrapText(reason, w-10), "\n")
		if len(wrapped) > 2 {
			wrapped = wrapped[:2]
			wrapped[1] = truncate(wrapped[1], w-11) + "…"
		}
		for _, r := range wrapped {
			line += "\n" + strings.Repeat(" ", 10) + strings.TrimLeft(r, " ")
		}
	}
	return line
}

// longQuoted is a quoted value too long to read in one line (a hashed id).
var longQuoted = regexp.MustCompile(`"[^"]{36,}"`)

// preview shows the Proxmox userid a real Authentik user would get.
func (s *optionsScreen) preview(in steps.Inputs) string {
	st := s.c.st
	if s.sample == nil {
		return st.Muted.Render("  (no Authentik user to preview the Proxmox userid with)")
	}
	id, err := steps.Preview(in, *s.sample)
	if err != nil {
		// The reason matters here (it names what to change): up to two
		// lines under the choices.
		msg, _ := explain(err)
		msg = longQuoted.ReplaceAllStringFunc(msg, func(q string) string {
			r := []rune(q)
			return string(r[:11]) + "…" + string(r[len(r)-15:])
		})
		lines := hangWrap(fmt.Sprintf("  %s %s: %s", glyphFail, s.sample.Username, msg), s.c.contentWidth()-2)
		if len(lines) > 2 {
			lines = lines[:2]
			lines[1] = truncate(lines[1], s.c.contentWidth()-1) + "…"
		}
		return st.Err.Render(strings.Join(lines, "\n"))
	}
	return fmt.Sprintf("  %s %s → %s", st.Muted.Render("preview:"), s.sample.Username, st.Code.Render(id))
}

// window shows at most n lines, keeping line focus visible.
func window(lines []string, focus, n int) string {
	if n <= 0 || len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	start := focus - n/2
	if start < 0 {
		start = 0
	}
	if start+n > len(lines) {
		start = len(lines) - n
	}
	out := append([]string(nil), lines[start:start+n]...)
	if start > 0 {
		out[0] = "  ↑ more"
	}
	if start+n < len(lines) {
		out[n-1] = "  ↓ more"
	}
	return strings.Join(out, "\n")
}

func padRight(s string, n int) string {
	w := visibleWidth(s)
	if w >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-w)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
