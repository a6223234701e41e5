package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/pvesso/pvesso/steps"
	"github.com/pvesso/pvesso/ui/browser"
)

// Options configure the wizard. The zero value works: defaults for the
// choices, nothing prefilled, the system browser, os.Stdin/os.Stdout.
type Options struct {
	// Inputs prefill the choices (empty fields take the defaults,
	// steps.Inputs.WithDefaults).
	Inputs steps.Inputs
	// Conn prefills the connection (URLs, secrets from the environment,
	// pins from the config file). When both sides are complete the wizard
	// checks them right after the welcome screen and skips ahead.
	Conn steps.Conn

	// Launcher opens the login test; nil = browser.NewSystem().
	Launcher browser.Launcher
	// NoBrowser never starts a browser: the done screen shows the URL.
	NoBrowser bool

	// Input and Output replace os.Stdin and os.Stdout (tests).
	Input  io.Reader
	Output io.Writer
	// Accessible runs line by line (huh accessible mode) instead of the
	// full-screen TUI. It is switched on by TERM=dumb as well.
	Accessible bool
	// AltScreen uses the terminal's alternate screen (Run sets it for a
	// real terminal; tests leave it off).
	AltScreen bool

	// DebugLog is a file to log to (secrets redacted). "" = the value of
	// PVESSO_DEBUG when set ("1" means ./pvesso-debug.log), else no log.
	DebugLog string

	// Demo, when set, shows the demo banner and its users and passwords,
	// and offers a simulated login on the done screen.
	Demo *Demo

	// Remember is called with the non-secret answers worth keeping (the
	// CLI writes them to its config file): after a certificate pin is
	// accepted and after a successful apply. It must not print.
	Remember func(Remembered) error

	// Getenv reads the environment (nil = os.Getenv); tests inject it.
	Getenv func(string) string
	// PollInterval is how often the done screen asks Proxmox for new realm
	// users while waiting for the first login (0 = 2s).
	PollInterval time.Duration
	// EngineOptions are passed to every steps.New.
	EngineOptions []steps.Option
	// Renderer styles the output (nil = one for Output, honouring NO_COLOR).
	Renderer *lipgloss.Renderer
}

// Demo describes the simulated servers `pvesso demo` runs.
type Demo struct {
	Users []DemoUser // shown on screen with their passwords
	// SimulateLogin, when set, performs a browser-less login of user
	// through the Proxmox login URL (the done screen offers it, so the
	// closed loop can be shown over SSH too).
	SimulateLogin func(ctx context.Context, loginURL, user string) error
	// Note is shown on the welcome screen (e.g. why the simulated nodes
	// are not on port 8006).
	Note string
}

// DemoUser is a simulated Authentik user.
type DemoUser struct {
	Username string
	Password string
}

// Remembered is what the wizard hands back for the config file. It has no
// field that could hold a secret.
type Remembered struct {
	AuthentikURL, AuthentikPin string
	ProxmoxURL, ProxmoxPin     string
	// Inputs are the applied choices; empty (Realm "") when only a
	// connection or pin changed, so defaults never overwrite the file.
	Inputs steps.Inputs
}

// Run shows the wizard until the user quits or ctx ends. It returns nil
// when the user leaves normally, ErrAborted on ctrl+c, or the fatal error.
func Run(ctx context.Context, opts Options) error {
	opts = opts.withDefaults()
	logf, closeLog := openDebugLog(opts)
	defer closeLog()
	if opts.Accessible {
		return runAccessible(ctx, opts, logf)
	}
	m := newModel(ctx, opts, logf)
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(opts.Input), tea.WithOutput(opts.Output)}
	if opts.AltScreen {
		popts = append(popts, tea.WithAltScreen())
	}
	final, err := tea.NewProgram(m, popts...).Run()
	if fm, ok := final.(*Model); ok {
		fm.shutdown()
		if fm.aborted {
			return ErrAborted
		}
		if fm.unfinished {
			return ErrIncomplete
		}
		if s := fm.summary(); s != "" {
			fmt.Fprint(opts.Output, s)
		}
	}
	if err != nil {
		if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, tea.ErrInterrupted) {
			return ErrAborted
		}
		return err
	}
	return nil
}

// ErrAborted is returned when the user quits with ctrl+c.
var ErrAborted = errors.New("aborted by the user")

// ErrIncomplete is returned when the user leaves after an apply that
// failed or was cancelled, so that the exit status is not success.
var ErrIncomplete = errors.New("the setup is not complete: a step failed or was cancelled; rerun pvesso to finish it")

func (o Options) withDefaults() Options {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Input == nil {
		o.Input = os.Stdin
	}
	if o.Output == nil {
		o.Output = os.Stdout
	}
	if o.Launcher == nil {
		o.Launcher = browser.NewSystem()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if strings.EqualFold(o.Getenv("TERM"), "dumb") {
		o.Accessible = true
	}
	if o.Renderer == nil {
		o.Renderer = lipgloss.NewRenderer(o.Output)
	}
	if o.Getenv("NO_COLOR") != "" {
		// https://no-color.org: no colour at all. huh's theme uses the
		// default renderer, which reads NO_COLOR from the process
		// environment itself.
		o.Renderer.SetColorProfile(termenv.Ascii)
	}
	o.Inputs = o.Inputs.WithDefaults()
	if o.Inputs.ProxmoxURL == "" {
		o.Inputs.ProxmoxURL = o.Conn.ProxmoxURL
	}
	if o.Inputs.AuthentikURL == "" {
		o.Inputs.AuthentikURL = o.Conn.AuthentikURL
	}
	if o.Conn.ProxmoxURL == "" {
		o.Conn.ProxmoxURL = o.Inputs.ProxmoxURL
	}
	if o.Conn.AuthentikURL == "" {
		o.Conn.AuthentikURL = o.Inputs.AuthentikURL
	}
	return o
}
