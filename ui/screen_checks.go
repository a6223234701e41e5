package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/pvesso/pvesso/steps"
)

// checksScreen runs the preflight with the chosen options and shows each
// check as ✓ or ✗ with the fix.
type checksScreen struct {
	c       *common
	clients *steps.Clients
	in      steps.Inputs
	gen     int
	busy    bool
	report  *steps.Report
	err     error
	scroll  int
	spin    spinner.Model
}

func newChecksScreen(c *common, cl *steps.Clients, in steps.Inputs) *checksScreen {
	s := &checksScreen{c: c, clients: cl, in: in, spin: spinner.New(spinner.WithSpinner(spinner.Line))}
	s.spin.Style = c.st.Accent
	return s
}

func (s *checksScreen) init() tea.Cmd {
	s.gen++
	s.busy, s.report, s.err, s.scroll = true, nil, nil, 0
	return tea.Batch(s.spin.Tick, runChecks(s.c.ctx, s.gen, s.clients, s.in, s.c.opts.EngineOptions))
}

func (s *checksScreen) capturesText() bool { return false }

// reenter reads again: what was shown may be stale.
func (s *checksScreen) reenter() tea.Cmd { return s.init() }
func (s *checksScreen) handleBack() bool { s.gen++; return false }

func (s *checksScreen) ok() bool { return s.err == nil && s.report != nil && s.report.OK() }

func (s *checksScreen) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		return tick(&s.spin, s.busy, msg)
	case checksDoneMsg:
		if msg.gen != s.gen {
			return nil
		}
		s.busy, s.report, s.err = false, msg.report, msg.err
	case tea.KeyMsg:
		if s.busy {
			return nil
		}
		switch {
		case key.Matches(msg, kEnter) && s.ok():
			return func() tea.Msg { return gotoPlanMsg{mode: planSetup} }
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

func (s *checksScreen) setKeys(k *KeyMap) {
	for _, b := range []*key.Binding{&k.Toggle, &k.Yes, &k.No, &k.Open, &k.Details} {
		b.SetEnabled(false)
	}
	k.Next.SetEnabled(!s.busy && s.ok())
	k.Next.SetHelp("enter", "show the plan")
	k.Retry.SetEnabled(!s.busy)
	k.Retry.SetHelp("r", "check again")
	k.Up.SetHelp("↑/↓", "scroll")
	k.Down.SetEnabled(false)
}

func (s *checksScreen) view() string {
	st := s.c.st
	if s.busy {
		return fmt.Sprintf("%s Checking both servers with your options (read-only) …", s.spin.View())
	}
	var b strings.Builder
	switch {
	case s.err != nil:
		b.WriteString(st.Err.Render(glyphFail+" The checks could not run.") + "\n")
		b.WriteString(errorBlock(st, s.err))
	case s.ok():
		b.WriteString(st.OK.Render(glyphOK+" All checks passed.") + " Press enter to see what will change.\n")
	default:
		n := len(s.report.Failed())
		b.WriteString(st.Err.Render(fmt.Sprintf("%s %d of %d checks failed.", glyphFail, n, len(s.report.Checks))) +
			" Fix them, then press r; esc goes back.\n")
	}
	b.WriteString("\n")
	if s.report != nil {
		b.WriteString(checkLines(st, s.report.Checks))
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	return scrollLines(lines, &s.scroll, s.c.bodyHeight(), s.c.contentWidth())
}

// scrollLines shows the lines from *off on in n rows; long lines wrap at
// width with a hanging indent. *off is clamped to the wrapped text, so the
// last row can always be reached and no key press is lost beyond it.
// Markers show when there is more above or below.
func scrollLines(lines []string, off *int, n, width int) string {
	var wrapped []string
	for _, l := range lines {
		wrapped = append(wrapped, hangWrap(l, width)...)
	}
	if n <= 0 || len(wrapped) <= n {
		*off = 0
		return strings.Join(wrapped, "\n")
	}
	*off = min(max(*off, 0), len(wrapped)-n)
	o := *off
	out := append([]string(nil), wrapped[o:o+n]...)
	if o > 0 {
		out[0] = "  ↑ more (↑/k)"
	}
	if o+n < len(wrapped) {
		out[n-1] = "  ↓ more (↓/j)"
	}
	return strings.Join(out, "\n")
}

// hangWrap wraps l at width; continuation lines are indented two columns
// deeper than l itself.
func hangWrap(l string, width int) []string {
	if width <= 0 || lipgloss.Width(l) <= width {
		return []string{l}
	}
	trimmed := strings.TrimLeft(l, " ")
	ind := len(l) - len(trimmed)
	parts := strings.Split(wrapText(trimmed, width-ind-2), "\n")
	out := []string{strings.Repeat(" ", ind) + parts[0]}
	pad := strings.Repeat(" ", ind+2)
	for _, r := range parts[1:] {
		out = append(out, pad+strings.TrimLeft(r, " "))
	}
	return out
}
