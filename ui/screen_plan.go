package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

// planScreen shows what will be created or changed on each side, with a
// diff per change. Conflicts (objects that exist with other settings and
// that pvesso did not make) need an explicit choice before anything runs.
type planScreen struct {
	c       *common
	mode    planMode
	clients *steps.Clients
	in      steps.Inputs
	gen     int
	busy    bool
	plan    *steps.Plan // display copy
	orig    *steps.Plan // the engine's plan, for Apply
	engine  *steps.Engine
	err     error
	consent bool // conflicts may be changed
	scroll  int
	spin    spinner.Model
}

func newPlanScreen(c *common, mode planMode, cl *steps.Clients, in steps.Inputs) *planScreen {
	s := &planScreen{c: c, mode: mode, clients: cl, in: in, spin: spinner.New(spinner.WithSpinner(spinner.Line))}
	s.spin.Style = c.st.Accent
	return s
}

func (s *planScreen) init() tea.Cmd {
	s.gen++
	s.busy, s.plan, s.orig, s.engine, s.err, s.consent, s.scroll = true, nil, nil, nil, nil, false, 0
	return tea.Batch(s.spin.Tick, buildPlan(s.c.ctx, s.gen, s.mode, s.clients, s.in, s.c.opts.EngineOptions))
}

func (s *planScreen) capturesText() bool { return false }

func (s *planScreen) title() string {
	switch s.mode {
	case planStatus:
		return "Status"
	case planRemove:
		return "Remove"
	case planSetup:
	}
	return "Plan"
}

// reenter reads again: what was shown may be stale.
func (s *planScreen) reenter() tea.Cmd { return s.init() }
func (s *planScreen) handleBack() bool { s.gen++; return false }

func (s *planScreen) conflicts() int {
	if s.plan == nil {
		return 0
	}
	return len(s.plan.Conflicts())
}

// canApply says whether enter starts the apply now.
func (s *planScreen) canApply() bool {
	if s.busy || s.err != nil || s.plan == nil || !s.plan.HasChanges() {
		return false
	}
	switch s.mode {
	case planSetup:
		return s.conflicts() == 0 || s.consent
	case planRemove:
		return s.consent
	case planStatus:
	}
	return false
}

func (s *planScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		return tick(&s.spin, s.busy, msg)
	case planReadyMsg:
		if msg.gen != s.gen {
			return nil
		}
		s.busy, s.plan, s.orig, s.engine, s.err = false, msg.plan, msg.orig, msg.engine, msg.err
	case tea.KeyMsg:
		if s.busy {
			return nil
		}
		switch {
		case key.Matches(msg, kEnter):
			switch {
			case s.canApply():
				mode, e, p, o, ok := s.mode, s.engine, s.plan, s.orig, s.consent
				return func() tea.Msg { return gotoApplyMsg{mode: mode, engine: e, plan: p, orig: o, allowConflicts: ok} }
			case s.mode == planSetup && s.plan.OK() && s.err == nil:
				// Nothing to do: go to the done screen (login test).
				res := &steps.Result{Realm: s.in.Realm}
				for _, it := range s.plan.Items {
					if it.Step == steps.StepIssuer {
						res.IssuerURL = it.Name // the verified (or predicted) issuer
					}
				}
				return func() tea.Msg { return gotoDoneMsg{result: res} }
			case s.mode == planStatus && s.plan != nil && s.plan.HasChanges():
				return func() tea.Msg { return menuChoiceMsg{choice: menuRepair} }
			}
		case key.Matches(msg, key.NewBinding(key.WithKeys("y"))):
			if (s.mode == planSetup && s.conflicts() > 0) || (s.mode == planRemove && s.plan != nil && s.plan.HasChanges()) {
				s.consent = true
			}
		case key.Matches(msg, key.NewBinding(key.WithKeys("n"))):
			if s.consent {
				s.consent = false
				return nil
			}
			if s.conflicts() > 0 || s.mode == planRemove {
				return func() tea.Msg { return backMsg{} }
			}
		case key.Matches(msg, key.NewBinding(key.WithKeys("r"))):
			return s.init()
		case key.Matches(msg, kLineDown):
			s.scroll++
		case key.Matches(msg, kLineUp):
			if s.scroll > 0 {
				s.scroll--
			}
		}
	}
	return nil
}

func (s *planScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Toggle, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Up.SetHelp("↑/↓", "scroll")
	k.Down.SetEnabled(false)
	k.Retry.SetHelp("r", "read again")
	k.Retry.SetEnabled(!s.busy)
	needChoice := !s.busy && s.plan != nil && ((s.mode == planSetup && s.conflicts() > 0) || (s.mode == planRemove && s.plan.HasChanges()))
	k.Yes.SetEnabled(needChoice && !s.consent)
	k.No.SetEnabled(needChoice)
	switch s.mode {
	case planSetup:
		k.Yes.SetHelp("y", "change the conflicting objects")
		k.No.SetHelp("n", "don't")
		k.Next.SetEnabled(s.canApply() || (s.plan.OK() && s.err == nil))
		if s.plan != nil && !s.plan.HasChanges() {
			k.Next.SetHelp("enter", "test the login")
		} else {
			k.Next.SetHelp("enter", "apply")
		}
	case planRemove:
		k.Yes.SetHelp("y", "yes, remove them")
		k.No.SetHelp("n", "keep them")
		k.Next.SetEnabled(s.canApply())
		k.Next.SetHelp("enter", "remove")
	case planStatus:
		k.Yes.SetEnabled(false)
		k.No.SetEnabled(false)
		k.Next.SetEnabled(s.plan != nil && s.plan.HasChanges())
		k.Next.SetHelp("enter", "repair")
	}
}

func (s *planScreen) view() string {
	st := s.c.st
	if s.busy {
		what := "Working out what would change (read-only) …"
		if s.mode == planRemove {
			what = "Working out what pvesso would remove (read-only) …"
		}
		return s.spin.View() + " " + what
	}
	var b strings.Builder
	if s.err != nil {
		b.WriteString(st.Err.Render(glyphFail+" No plan.") + "\n")
		b.WriteString(errorBlock(st, s.err))
		b.WriteString("\nPress r to try again, esc to go back.\n")
		return b.String()
	}
	b.WriteString(s.summaryLine() + "\n")
	if s.plan != nil && s.plan.HasChanges() {
		b.WriteString(s.choiceLines())
	}
	b.WriteString("\n")
	b.WriteString(planLines(st, s.plan, s.c.contentWidth()))
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	return scrollLines(lines, &s.scroll, s.c.bodyHeight(), s.c.contentWidth())
}

// isLoginTest is the plan's last item: not an object but the auth-url
// request Proxmox answers after the changes (the Proxmox-side check).
func isLoginTest(it steps.Item) bool { return it.Step == steps.StepLoginTest }

// planCounts counts the plan's objects by action (the login test is not
// an object).
func planCounts(p *steps.Plan) map[steps.Action]int {
	counts := map[steps.Action]int{}
	if p == nil {
		return counts
	}
	for _, it := range p.Items {
		if !isLoginTest(it) {
			counts[it.Action]++
		}
	}
	return counts
}

func (s *planScreen) summaryLine() string {
	st := s.c.st
	counts := planCounts(s.plan)
	if !s.plan.HasChanges() && len(s.plan.Problems) > 0 {
		return st.Err.Render(fmt.Sprintf("%s %d problem(s) that no change here can fix:", glyphFail, len(s.plan.Problems)))
	}
	if !s.plan.HasChanges() {
		switch s.mode {
		case planRemove:
			return st.OK.Render(glyphOK+" Nothing to remove:") + " no object pvesso manages was found."
		case planStatus:
			return st.OK.Render(glyphOK+" Healthy:") + " everything pvesso manages is in place."
		case planSetup:
		}
		return st.OK.Render(glyphOK+" Nothing to do:") + " everything is already set up."
	}
	var parts []string
	add := func(a steps.Action, word string) {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, word))
		}
	}
	add(steps.ActionCreate, "to create")
	add(steps.ActionUpdate, "to change")
	add(steps.ActionDelete, "to remove")
	add(steps.ActionConflict, "in conflict")
	add(steps.ActionNone, "already right")
	prefix := "Plan: "
	if s.mode == planStatus {
		prefix = st.Warn.Render("Drift: ")
	}
	return prefix + strings.Join(parts, ", ") + "."
}

func (s *planScreen) choiceLines() string {
	st := s.c.st
	switch {
	case s.mode == planSetup && s.conflicts() > 0:
		if s.consent {
			return st.Warn.Render("You chose to change the conflicting objects.") + " enter applies; n takes it back.\n"
		}
		return st.Warn.Render(fmt.Sprintf("! %d object(s) exist with other settings that pvesso did not make.", s.conflicts())) +
			"\n  y: change them as shown   n: leave them (nothing is applied)\n"
	case s.mode == planRemove:
		if s.consent {
			return st.Warn.Render("Confirmed.") + " enter removes them.\n"
		}
		return st.Warn.Render("Remove these objects? Users logging in through the realm lose access.") + "  y / n\n"
	case s.mode == planStatus:
		return "enter repairs it (shows the plan first).\n"
	}
	return ""
}

// planLines renders the items by side with their diffs, for a screen
// width columns wide.
func planLines(st Styles, p *steps.Plan, width int) string {
	if p == nil {
		return ""
	}
	changes := p.HasChanges()
	// The name column is as wide as the longest name, within the width.
	nameW := 10
	for _, it := range p.Items {
		nameW = max(nameW, len([]rune(it.Name)))
	}
	nameW = min(nameW, max(width-27, 26)) // 27: indent, glyph, kind, spaces, "CONFLICT"
	var b strings.Builder
	for _, sd := range []string{"authentik", "proxmox"} {
		first := true
		for _, it := range p.Items {
			if it.Side != sd {
				continue
			}
			if first {
				b.WriteString(st.Bold.Render(sideTitle(sd)) + "\n")
				first = false
			}
			b.WriteString(itemLine(st, it, changes, nameW) + "\n")
			for _, ch := range it.Changes {
				b.WriteString("      " + changeLine(st, it.Action, ch) + "\n")
			}
			if it.Note != "" && (it.Action != steps.ActionNone || isLoginTest(it) && changes) {
				b.WriteString("      " + st.Muted.Render(it.Note) + "\n")
			}
		}
	}
	for _, it := range p.Items {
		if it.Side != "authentik" && it.Side != "proxmox" {
			b.WriteString(itemLine(st, it, changes, nameW) + "\n")
		}
	}
	for _, n := range p.Problems {
		b.WriteString(st.Err.Render(glyphFail+" problem: "+n) + "\n")
	}
	for _, n := range p.Notes {
		b.WriteString(st.Muted.Render("note: "+n) + "\n")
	}
	return b.String()
}

func sideTitle(sd string) string {
	if sd == "authentik" {
		return "Authentik"
	}
	return "Proxmox VE"
}

func actionGlyph(st Styles, a steps.Action) (string, string) {
	switch a {
	case steps.ActionCreate:
		return st.OK.Render("+"), "create"
	case steps.ActionUpdate:
		return st.Warn.Render("~"), "change"
	case steps.ActionDelete:
		return st.Err.Render("-"), "remove"
	case steps.ActionConflict:
		return st.Err.Render("!"), "CONFLICT"
	case steps.ActionNone:
		return st.Muted.Render("="), "ok"
	}
	return "?", string(a)
}

// itemLine is "  + kind  name  action" with the name in nameW columns. The login test reads "then" when the plan changes something
// (Proxmox is asked for a login link after the changes; its note says
// why) and "skipped" otherwise.
func itemLine(st Styles, it steps.Item, changes bool, nameW int) string {
	g, word := actionGlyph(st, it.Action)
	if isLoginTest(it) {
		g, word = st.Muted.Render("»"), "skipped"
		if changes {
			g, word = st.Accent.Render("»"), "then"
		}
	}
	line := fmt.Sprintf("  %s %-12s %-*s %s", g, it.Kind, nameW, truncate(it.Name, nameW), word)
	if it.Action == steps.ActionNone && !(isLoginTest(it) && changes) {
		return st.Muted.Render(line)
	}
	return line
}

func changeLine(st Styles, a steps.Action, c steps.Change) string {
	o, n := c.Old, c.New
	if c.Secret {
		if o != "" {
			o = steps.SecretMask
		}
		n = steps.SecretMask
	}
	if a == steps.ActionCreate || (o == "" && n != "" && a != steps.ActionUpdate && a != steps.ActionConflict) {
		return fmt.Sprintf("%s: %s", c.Field, n)
	}
	if a == steps.ActionDelete {
		return fmt.Sprintf("%s: %s", c.Field, o)
	}
	return fmt.Sprintf("%s: %s → %s", c.Field, st.Err.Render(quoteEmpty(o)), st.OK.Render(quoteEmpty(n)))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
