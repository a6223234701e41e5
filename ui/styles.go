package ui

import (
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
)

// Theme is the palette. Every colour adapts to light and dark terminals;
// with NO_COLOR (or an Ascii profile) lipgloss drops them all, so nothing
// may carry meaning by colour alone: rows also carry a glyph or a marker.
type Theme struct {
	Accent, Muted, Text, OK, Warn, Err, Border lipgloss.AdaptiveColor
}

// DefaultTheme is pvesso's palette.
func DefaultTheme() Theme {
	return Theme{
		Accent: lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#A48CFF"},
		Muted:  lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8A8A8A"},
		Text:   lipgloss.AdaptiveColor{Light: "#1A1A1A", Dark: "#E6E6E6"},
		OK:     lipgloss.AdaptiveColor{Light: "#1F7A3A", Dark: "#5BD17C"},
		Warn:   lipgloss.AdaptiveColor{Light: "#9A6200", Dark: "#F2B84B"},
		Err:    lipgloss.AdaptiveColor{Light: "#B3261E", Dark: "#FF6B6B"},
		Border: lipgloss.AdaptiveColor{Light: "#C8C8C8", Dark: "#4A4A4A"},
	}
}

// Glyphs used for status; they carry the meaning, colour only helps.
const (
	glyphOK      = "✓"
	glyphFail    = "✗"
	glyphNone    = "–"
	glyphPending = "·"
	glyphCursor  = "›"
)

// Styles are built once from a Theme and a renderer; views never call
// lipgloss.NewStyle themselves.
type Styles struct {
	r *lipgloss.Renderer

	App      lipgloss.Style // outer padding
	Body     lipgloss.Style // unstyled, for sizing
	Header   lipgloss.Style // "pvesso · step 2/7 · Proxmox"
	Title    lipgloss.Style
	Text     lipgloss.Style
	Muted    lipgloss.Style
	Bold     lipgloss.Style
	Accent   lipgloss.Style
	OK       lipgloss.Style
	Warn     lipgloss.Style
	Err      lipgloss.Style
	Code     lipgloss.Style // URLs, fingerprints, commands
	Selected lipgloss.Style
	Disabled lipgloss.Style
	Box      lipgloss.Style // a bordered note
	ErrBox   lipgloss.Style
	Help     lipgloss.Style

	Huh *huh.Theme
}

// NewStyles derives all styles from t for renderer r.
func NewStyles(r *lipgloss.Renderer, t Theme) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := Styles{r: r}
	s.App = r.NewStyle().Padding(0, 1)
	s.Body = r.NewStyle()
	s.Header = r.NewStyle().Foreground(t.Muted)
	s.Title = r.NewStyle().Bold(true).Foreground(t.Accent)
	s.Text = r.NewStyle().Foreground(t.Text)
	s.Muted = r.NewStyle().Foreground(t.Muted)
	s.Bold = r.NewStyle().Bold(true)
	s.Accent = r.NewStyle().Foreground(t.Accent)
	s.OK = r.NewStyle().Foreground(t.OK)
	s.Warn = r.NewStyle().Foreground(t.Warn)
	s.Err = r.NewStyle().Foreground(t.Err)
	s.Code = r.NewStyle().Foreground(t.Accent)
	s.Selected = r.NewStyle().Bold(true).Foreground(t.Accent)
	s.Disabled = r.NewStyle().Foreground(t.Muted).Faint(true)
	s.Box = r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.Border).Padding(0, 1)
	s.ErrBox = r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.Err).Padding(0, 1)
	s.Help = r.NewStyle().Foreground(t.Muted)
	s.Huh = huhTheme(t)
	return s
}

// huhTheme adapts huh's base theme to the palette.
func huhTheme(t Theme) *huh.Theme {
	h := huh.ThemeBase()
	h.Focused.Base = h.Focused.Base.BorderForeground(t.Accent)
	h.Focused.Title = h.Focused.Title.Foreground(t.Accent).Bold(true)
	h.Focused.Description = h.Focused.Description.Foreground(t.Muted)
	h.Focused.ErrorIndicator = h.Focused.ErrorIndicator.Foreground(t.Err)
	h.Focused.ErrorMessage = h.Focused.ErrorMessage.Foreground(t.Err)
	h.Focused.SelectSelector = h.Focused.SelectSelector.Foreground(t.Accent)
	h.Focused.SelectedOption = h.Focused.SelectedOption.Foreground(t.Accent)
	h.Focused.MultiSelectSelector = h.Focused.MultiSelectSelector.Foreground(t.Accent)
	h.Focused.SelectedPrefix = h.Focused.SelectedPrefix.Foreground(t.OK)
	h.Focused.TextInput.Prompt = h.Focused.TextInput.Prompt.Foreground(t.Accent)
	h.Focused.TextInput.Placeholder = h.Focused.TextInput.Placeholder.Foreground(t.Muted)
	h.Blurred = h.Focused
	h.Blurred.Base = h.Blurred.Base.BorderStyle(lipgloss.HiddenBorder())
	h.Blurred.Title = h.Blurred.Title.Foreground(t.Text).Bold(false)
	return h
}

// status renders a glyph in its colour.
func (s Styles) glyph(g string) string {
	switch g {
	case glyphOK:
		return s.OK.Render(g)
	case glyphFail:
		return s.Err.Render(g)
	case glyphNone, glyphPending:
		return s.Muted.Render(g)
	}
	return g
}
