package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

type rowState int

const (
	rowPending rowState = iota
	rowRunning
	rowDone
	rowNone
	rowFailed
)

type applyRow struct {
	step, title string
	state       rowState
	message     string
	err         error
}

// applyScreen runs the plan and shows one row per step: spinner, then ✓,
// – (nothing to do) or ✗ with the result line.
type applyScreen struct {
	c       *common
	mode    planMode
	engine  *steps.Engine
	plan    *steps.Plan // display copy
	orig    *steps.Plan // the engine's plan
	consent bool
	clients *steps.Clients
	in      steps.Inputs

	gen      int
	rows     []applyRow
	running  bool
	cancel   context.CancelFunc
	confirm  bool // ctrl+c pressed: ask before cancelling
	result   *steps.Result
	err      error
	canceled bool
	spin     spinner.Model
}

func newApplyScreen(c *common, mode planMode, e *steps.Engine, p, orig *steps.Plan, consent bool, cl *steps.Clients, in steps.Inputs) *applyScreen {
	s := &applyScreen{c: c, mode: mode, engine: e, plan: p, orig: orig, consent: consent, clients: cl, in: in,
		spin: spinner.New(spinner.WithSpinner(spinner.Line))}
	s.spin.Style = c.st.Accent
	s.rows = rowsFor(p)
	return s
}

// rowsFor lists the plan's steps in engine order.
func rowsFor(p *steps.Plan) []applyRow {
	seen := map[string]bool{}
	if p != nil {
		for _, it := range p.Items {
			seen[it.Step] = true
		}
	}
	rows := []applyRow{{step: steps.StepPreflight, title: stepTitle(steps.StepPreflight)}}
	delete(seen, steps.StepPreflight)
	for _, id := range steps.StepOrder {
		if seen[id] {
			rows = append(rows, applyRow{step: id, title: stepTitle(id)})
			delete(seen, id)
		}
	}
	// Items of other step ids (a removal plan's "remove") get no row of
	// their own: the engine reports by step, and those rows arrive with
	// its events.
	return rows
}

func stepTitle(id string) string {
	if t, ok := steps.StepTitles[id]; ok {
		return t
	}
	return id
}

func (s *applyScreen) init() tea.Cmd {
	s.gen++
	s.running, s.err, s.result, s.confirm, s.canceled = true, nil, nil, false, false
	return tea.Batch(s.spin.Tick, startApply(s.c.ctx, s.gen, s.mode, s.engine, s.orig, s.consent))
}

func (s *applyScreen) capturesText() bool { return false }

// handleBack keeps esc here while running and after success (the plan
// was applied; going back would show a stale plan). After a failure esc
// returns to a freshly read plan.
func (s *applyScreen) handleBack() bool {
	if s.confirm {
		s.confirm = false
		return true
	}
	return s.running || s.err == nil
}

func (s *applyScreen) row(step, title string) *applyRow {
	for i := range s.rows {
		if s.rows[i].step == step {
			return &s.rows[i]
		}
	}
	if title == "" {
		title = stepTitle(step)
	}
	// A step the plan did not list (e.g. users, "nothing to do") goes
	// where the engine runs it, not at the end.
	at := len(s.rows)
	if k := slices.Index(steps.StepOrder, step); k >= 0 {
		for i, r := range s.rows {
			if j := slices.Index(steps.StepOrder, r.step); j > k {
				at = i
				break
			}
		}
	}
	s.rows = slices.Insert(s.rows, at, applyRow{step: step, title: title})
	return &s.rows[at]
}

func (s *applyScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		return tick(&s.spin, s.running, msg)
	case applyStartedMsg:
		if msg.gen != s.gen {
			msg.cancel()
			return nil
		}
		s.cancel = msg.cancel
		return waitForApply(s.gen, msg.events)
	case applyEventMsg:
		if msg.gen != s.gen {
			return nil
		}
		r := s.row(msg.ev.Step, msg.ev.Title)
		r.message = msg.ev.Message
		switch msg.ev.Phase {
		case steps.PhaseStart:
			r.state = rowRunning
		case steps.PhaseDone:
			r.state = rowDone
		case steps.PhaseNone:
			r.state = rowNone
		case steps.PhaseFail:
			r.state, r.err = rowFailed, msg.ev.Err
		}
		return waitForApply(s.gen, msg.events)
	case applyFinishedMsg:
		if msg.gen != s.gen {
			return nil
		}
		s.running, s.confirm = false, false
		if s.cancel != nil {
			s.cancel()
		}
		s.result, s.err = msg.result, msg.err
		s.canceled = errors.Is(msg.err, context.Canceled)
		for i := range s.rows {
			if s.rows[i].state == rowRunning {
				s.rows[i].state = rowFailed
				if s.err != nil && s.rows[i].err == nil {
					s.rows[i].err = s.err
				}
			}
		}
	case planReadyMsg: // retry: a fresh plan, then apply it
		if msg.gen != s.gen {
			return nil
		}
		if msg.err != nil {
			s.running, s.err = false, msg.err
			return nil
		}
		s.engine, s.plan, s.orig = msg.engine, msg.plan, msg.orig
		s.rows = rowsFor(msg.plan)
		return s.init()
	case tea.KeyMsg:
		return s.key(msg)
	}
	return nil
}

func (s *applyScreen) key(k tea.KeyMsg) tea.Cmd {
	switch {
	case k.String() == "ctrl+c":
		if !s.running {
			return func() tea.Msg { return quitMsg{} }
		}
		s.confirm = true
		return nil
	case s.confirm && k.String() == "y":
		s.confirm = false
		if s.cancel != nil {
			s.cancel()
		}
		return nil
	case s.confirm && k.String() == "n":
		s.confirm = false
		return nil
	case s.running:
		return nil
	case key.Matches(k, kEnter) && s.err == nil:
		res, removed := s.result, s.mode == planRemove
		return func() tea.Msg { return gotoDoneMsg{result: res, removed: removed} }
	case k.String() == "r" && s.err != nil:
		// Retry: read both servers again and apply what is still needed;
		// finished steps show "–" this time.
		s.gen++
		s.running, s.err = true, nil
		return tea.Batch(s.spin.Tick, buildPlan(s.c.ctx, s.gen, s.mode, s.clients, s.in, s.c.opts.EngineOptions))
	case k.String() == "q":
		return func() tea.Msg { return quitMsg{} }
	}
	return nil
}

func (s *applyScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.Toggle, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Yes.SetEnabled(s.confirm)
	k.No.SetEnabled(s.confirm)
	k.Yes.SetHelp("y", "cancel the run")
	k.No.SetHelp("n", "keep going")
	k.Next.SetEnabled(!s.running && s.err == nil)
	k.Next.SetHelp("enter", "continue")
	k.Retry.SetEnabled(!s.running && s.err != nil)
	k.Back.SetEnabled(!s.running && s.err != nil)
	k.Quit.SetEnabled(!s.running)
	if s.running {
		k.Abort.SetHelp("ctrl+c", "cancel") // asks first
	}
}

func (s *applyScreen) view() string {
	st := s.c.st
	var b strings.Builder
	switch {
	case s.running && s.mode == planRemove:
		b.WriteString("Removing what pvesso manages …\n\n")
	case s.running:
		b.WriteString("Applying the plan …\n\n")
	case s.canceled:
		b.WriteString(st.Warn.Render("Cancelled.") + " Steps already done stay done; rerun pvesso to finish.\n\n")
	case s.err != nil:
		b.WriteString(st.Err.Render(glyphFail+" A step failed.") + " Nothing after it was run.\n\n")
	default:
		b.WriteString(st.OK.Render(glyphOK+" Done:") + s.resultLine() + "\n\n")
	}
	w := s.c.contentWidth()
	for _, r := range s.rows {
		var g string
		switch r.state {
		case rowPending:
			g = st.glyph(glyphPending)
		case rowRunning:
			g = s.spin.View()
		case rowDone:
			g = st.glyph(glyphOK)
		case rowNone:
			g = st.glyph(glyphNone)
		case rowFailed:
			g = st.glyph(glyphFail)
		}
		line := fmt.Sprintf("%s %-34s", g, r.title)
		msg := r.message
		if r.state == rowNone && msg == "" {
			msg = "nothing to do"
		}
		if r.state == rowDone && msg == "" {
			msg = s.planned(r.step)
		}
		if msg != "" {
			line += " " + st.Muted.Render(truncate(msg, max(10, w-38)))
		}
		b.WriteString(line + "\n")
	}
	if s.err != nil && !s.canceled {
		b.WriteString("\n" + errorBlock(st, s.err))
		b.WriteString("Press r to retry (finished steps are skipped), esc for the plan.\n")
	}
	if s.confirm {
		b.WriteString("\n" + st.Warn.Render("Cancel the run?") + " Steps already done stay done. y / n\n")
	}
	return b.String()
}

// planned is the result line of a finished step the engine reported
// without a message: what the plan said this step would do ("created
// provider Proxmox VE"), so every ✓ row says what it changed.
func (s *applyScreen) planned(step string) string {
	if s.plan == nil {
		return ""
	}
	past := map[steps.Action]string{steps.ActionCreate: "created", steps.ActionUpdate: "changed",
		steps.ActionConflict: "changed", steps.ActionDelete: "removed"}
	var parts []string
	for _, it := range s.plan.Items {
		if it.Step != step || past[it.Action] == "" {
			continue
		}
		parts = append(parts, strings.TrimSpace(past[it.Action]+" "+it.Kind+" "+it.Name))
	}
	return strings.Join(parts, "; ")
}

// resultLine sums up the run in the plan's own terms, so that "Plan: 5 to
// create" is followed by "5 created". Writes also counts requests that are
// no object change: the auth-url login test and follow-ups such as an
// issuer correction; they are named, not added to the objects.
func (s *applyScreen) resultLine() string {
	if s.result == nil {
		return ""
	}
	counts := planCounts(s.plan)
	var parts []string
	add := func(n int, word string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, word))
		}
	}
	add(counts[steps.ActionCreate], "created")
	add(counts[steps.ActionUpdate]+counts[steps.ActionConflict], "changed")
	add(counts[steps.ActionDelete], "removed")
	planned := counts[steps.ActionCreate] + counts[steps.ActionUpdate] + counts[steps.ActionConflict] + counts[steps.ActionDelete]
	extra := s.result.Writes - planned
	login := false
	for _, r := range s.rows {
		if r.step == steps.StepLoginTest && r.state == rowDone {
			login = true
			extra--
		}
	}
	line := " nothing needed changing."
	if len(parts) > 0 {
		line = " " + strings.Join(parts, ", ") + ", as planned."
	}
	if extra > 0 {
		line += fmt.Sprintf(" Plus %d follow-up write(s).", extra)
	}
	if s.mode == planRemove {
		return line
	}
	if login {
		line += "\n" + s.c.st.Muted.Render("Proxmox started a test login (auth-url): it reaches and trusts Authentik.")
	}
	return line + "\nPress enter for the login test."
}
