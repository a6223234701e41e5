package ui

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// firstWrite signals the first write that contains the welcome text.
type firstWrite struct {
	once sync.Once
	ch   chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "Single sign-on") {
		w.once.Do(func() { close(w.ch) })
	}
	return len(p), nil
}

// BenchmarkTimeToFirstFrame measures from building the wizard to the
// first frame of the welcome screen written to the terminal by a real
// Bubble Tea program (renderer included).
//
//	go test ./ui -run '^$' -bench TimeToFirstFrame -benchtime 50x
func BenchmarkTimeToFirstFrame(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		w := &firstWrite{ch: make(chan struct{})}
		opts := testOptions(w)
		m := New(ctx, opts)
		p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(w), tea.WithoutSignals())
		done := make(chan struct{})
		go func() { _, _ = p.Run(); close(done) }()
		p.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
		<-w.ch
		b.StopTimer()
		p.Quit()
		<-done
		b.StartTimer()
	}
}

// BenchmarkFirstView is the model's own cost: New, Init, size, View.
func BenchmarkFirstView(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		m := New(ctx, testOptions(io.Discard))
		_ = m.Init()
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		if !strings.Contains(m.View(), "Single sign-on") {
			b.Fatal("no welcome")
		}
	}
}
