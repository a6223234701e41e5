package ui

import "github.com/charmbracelet/x/ansi"

// visibleWidth is the printed width of s (escape sequences excluded).
func visibleWidth(s string) int { return ansi.StringWidth(s) }

// wrapText wraps s at width between words; a word longer than the line
// (a URL, a fingerprint) is cut where it has to be.
func wrapText(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Hardwrap(ansi.Wordwrap(s, width, ""), width, true)
}

// truncateANSI cuts s to width printed columns, ending in "…".
func truncateANSI(s string, width int) string { return ansi.Truncate(s, width, "…") }
