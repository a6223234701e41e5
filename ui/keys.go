package ui

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds every binding. Screens enable the ones that work on them
// (see model.updateKeys), so the help line shows only what does something.
type KeyMap struct {
	Next    key.Binding
	Back    key.Binding
	Up      key.Binding
	Down    key.Binding
	Toggle  key.Binding
	Yes     key.Binding
	No      key.Binding
	Retry   key.Binding
	Open    key.Binding
	Details key.Binding
	Help    key.Binding
	Quit    key.Binding
	Abort   key.Binding
}

// DefaultKeyMap returns pvesso's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "continue")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Toggle:  key.NewBinding(key.WithKeys(" ", "x"), key.WithHelp("space", "toggle")),
		Yes:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "no")),
		Retry:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry")),
		Open:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open browser")),
		Details: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "details")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Abort:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return enabled(k.Next, k.Yes, k.No, k.Open, k.Details, k.Retry, k.Toggle, k.Back, k.Help, k.Quit, k.Abort)
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		enabled(k.Next, k.Back, k.Up, k.Down),
		enabled(k.Toggle, k.Yes, k.No, k.Retry, k.Open, k.Details),
		enabled(k.Help, k.Quit, k.Abort),
	}
}

func enabled(bs ...key.Binding) []key.Binding {
	out := make([]key.Binding, 0, len(bs))
	for _, b := range bs {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}
