package ui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pvesso/pvesso/steps"
)

// discoverScreen connects to both servers and reads what exists; the root
// then moves on to the rerun menu or the options.
type discoverScreen struct {
	c      *common
	conn   steps.Conn
	inputs steps.Inputs
	gen    int
	busy   bool
	err    error
	report *steps.Report
	spin   spinner.Model
}

func newDiscoverScreen(c *common, conn steps.Conn, in steps.Inputs) *discoverScreen {
	s := &discoverScreen{c: c, conn: conn, inputs: in, spin: spinner.New(spinner.WithSpinner(spinner.Line))}
	s.spin.Style = c.st.Accent
	return s
}

func (s *discoverScreen) init() tea.Cmd {
	s.gen++
	s.busy, s.err, s.report = true, nil, nil
	return tea.Batch(s.spin.Tick, discover(s.c.ctx, s.gen, s.conn, s.inputs, s.c.opts.EngineOptions))
}

func (s *discoverScreen) capturesText() bool { return false }
func (s *discoverScreen) handleBack() bool   { s.gen++; return false }

func (s *discoverScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		return tick(&s.spin, s.busy, msg)
	case discoveredMsg:
		if msg.gen != s.gen {
			return nil
		}
		s.busy = false
		s.err, s.report = msg.err, msg.report
	case tea.KeyMsg:
		if !s.busy && key.Matches(msg, key.NewBinding(key.WithKeys("r"))) {
			return s.init()
		}
	}
	return nil
}

func (s *discoverScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Next, &k.Up, &k.Down, &k.Toggle, &k.Yes, &k.No, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Retry.SetEnabled(!s.busy)
	k.Back.SetHelp("esc", "back to the connection")
}

func (s *discoverScreen) view() string {
	st := s.c.st
	var b strings.Builder
	if s.busy {
		fmt.Fprintf(&b, "%s Reading Authentik and Proxmox (nothing is changed) …\n", s.spin.View())
		return b.String()
	}
	b.WriteString(st.Err.Render(glyphFail+" Could not read both servers.") + "\n\n")
	b.WriteString(errorBlock(st, s.err))
	if s.report != nil {
		b.WriteString(checkLines(st, s.report.Failed()))
	}
	what := "the connection"
	switch {
	case s.failed(sideProxmox) && !s.failed(sideAuthentik):
		what = "the Proxmox connection"
	case s.failed(sideAuthentik) && !s.failed(sideProxmox):
		what = "the Authentik connection"
	}
	b.WriteString("\nFix it, then press r to retry, or esc to change " + what + ".\n")
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	off := 0
	return scrollLines(lines, &off, s.c.bodyHeight(), s.c.contentWidth())
}

// failed reports whether the connection check of side failed.
func (s *discoverScreen) failed(sd side) bool {
	if s.report == nil {
		return false
	}
	for _, c := range s.report.Checks {
		if !c.OK && c.ID == string(sd)+"-connect" {
			return true
		}
	}
	return false
}

// failure is the failed connection check of side as one line.
func (s *discoverScreen) failure(sd side) string {
	if s.report == nil {
		return ""
	}
	for _, c := range s.report.Checks {
		if !c.OK && c.ID == string(sd)+"-connect" {
			return c.Detail
		}
	}
	return ""
}

// errorBlock renders an error with its fix (typed engine errors carry one).
func errorBlock(st Styles, err error) string {
	if err == nil {
		return ""
	}
	msg, fix := explain(err)
	out := st.Err.Render(msg) + "\n"
	if fix != "" {
		out += st.Bold.Render("Fix: ") + fix + "\n"
	}
	return out
}

// explain splits an error into its message and the fix it names.
func explain(err error) (msg, fix string) {
	var ce *steps.CheckError
	if errors.As(err, &ce) {
		d := ce.Detail
		if d == "" && ce.Err != nil {
			d = ce.Err.Error()
		}
		return d, wizardFix(ce.Fix)
	}
	var ue *steps.UsageError
	if errors.As(err, &ue) {
		return ue.Detail, wizardFix("set " + ue.Flag)
	}
	var fe interface{ FixHint() string }
	if errors.As(err, &fe) {
		return err.Error(), wizardFix(fe.FixHint())
	}
	return err.Error(), ""
}

// checkLines renders checks as ✓/✗ rows with the fix under each ✗.
func checkLines(st Styles, checks []steps.Check) string {
	var b strings.Builder
	for _, c := range checks {
		g := glyphOK
		if !c.OK {
			g = glyphFail
		}
		line := st.glyph(g) + " " + c.Title
		if c.Detail != "" {
			line += st.Muted.Render(" — " + c.Detail)
		}
		b.WriteString(line + "\n")
		if !c.OK && c.Fix != "" {
			b.WriteString("    " + st.Bold.Render("fix: ") + wizardFix(c.Fix) + "\n")
		}
	}
	return b.String()
}
