// Package browser opens a URL in a private browser window.
//
// github.com/pkg/browser cannot ask for a private window, so this package
// detects the default browser (Linux: xdg-settings / xdg-mime and the desktop
// file; macOS: the LaunchServices http handler; Windows: the UrlAssociations
// UserChoice ProgId) and starts it with its private flag: Firefox
// --private-window, Chrome/Chromium/Brave --incognito, Edge --inprivate. When
// the default browser has no private flag it falls back to pkg/browser (a
// normal window, with a note), and when nothing can be opened (SSH session, no
// display) it returns ErrNoDisplay so the caller shows the URL to copy.
//
// Launcher is an interface; tests use Recorder instead of opening browsers.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	pkgbrowser "github.com/pkg/browser"
)

func init() {
	// pkg/browser copies its child's output to these; inside a Bubble Tea
	// program that output would corrupt the screen.
	pkgbrowser.Stdout = io.Discard
	pkgbrowser.Stderr = io.Discard
}

// Launcher opens URLs for the login test.
type Launcher interface {
	Open(ctx context.Context, url string) (Opened, error)
}

// Opened says how a URL was opened.
type Opened struct {
	Browser string // "Firefox", "Google Chrome", ... or "" when unknown
	Private bool   // a private/incognito window was requested
	// Note is a short sentence for the user when the window is not private
	// (e.g. "Safari has no private-window switch: ...").
	Note string
}

// ErrNoDisplay means no browser can be started here (SSH session, no
// graphical display); the caller should show the URL to copy.
var ErrNoDisplay = errors.New("no browser can be opened here (no display or SSH session): copy the URL into a private window")

// Kind is a browser family with a known private-window switch.
type Kind int

// Browser families.
const (
	Unknown Kind = iota
	Firefox
	Chrome
	Chromium
	Brave
	Edge
	Safari
)

func (k Kind) String() string {
	switch k {
	case Firefox:
		return "Firefox"
	case Chrome:
		return "Google Chrome"
	case Chromium:
		return "Chromium"
	case Brave:
		return "Brave"
	case Edge:
		return "Microsoft Edge"
	case Safari:
		return "Safari"
	case Unknown:
	}
	return "unknown browser"
}

// PrivateFlag is the command-line switch that opens a private window, or ""
// when the browser has none.
func (k Kind) PrivateFlag() string {
	switch k {
	case Firefox:
		return "--private-window"
	case Chrome, Chromium, Brave:
		return "--incognito"
	case Edge:
		return "--inprivate"
	case Safari, Unknown:
	}
	return ""
}

// macApp is the application name for `open -na`.
func (k Kind) macApp() string {
	switch k {
	case Firefox:
		return "Firefox"
	case Chrome:
		return "Google Chrome"
	case Chromium:
		return "Chromium"
	case Brave:
		return "Brave Browser"
	case Edge:
		return "Microsoft Edge"
	case Safari:
		return "Safari"
	case Unknown:
	}
	return ""
}

// linuxBinaries are the executable names tried, in order.
func (k Kind) linuxBinaries() []string {
	switch k {
	case Firefox:
		return []string{"firefox", "firefox-esr"}
	case Chrome:
		return []string{"google-chrome", "google-chrome-stable"}
	case Chromium:
		return []string{"chromium", "chromium-browser"}
	case Brave:
		return []string{"brave-browser", "brave"}
	case Edge:
		return []string{"microsoft-edge", "microsoft-edge-stable", "microsoft-edge-dev"}
	case Safari, Unknown:
	}
	return nil
}

// windowsExe is the App Paths executable name.
func (k Kind) windowsExe() string {
	switch k {
	case Firefox:
		return "firefox.exe"
	case Chrome:
		return "chrome.exe"
	case Brave:
		return "brave.exe"
	case Edge:
		return "msedge.exe"
	case Chromium, Safari, Unknown:
	}
	return ""
}

// KindFromDesktopID maps an xdg desktop-file id ("firefox.desktop",
// "org.mozilla.firefox.desktop", "google-chrome.desktop", ...) to a Kind.
func KindFromDesktopID(id string) Kind {
	id = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(id), ".desktop"))
	switch {
	case strings.Contains(id, "firefox"), strings.Contains(id, "librewolf"):
		return Firefox
	case strings.Contains(id, "brave"):
		return Brave
	case strings.Contains(id, "edge"):
		return Edge
	case strings.Contains(id, "google-chrome"), strings.Contains(id, "com.google.chrome"):
		return Chrome
	case strings.Contains(id, "chromium"):
		return Chromium
	}
	return Unknown
}

// KindFromBundleID maps a macOS bundle id to a Kind.
func KindFromBundleID(id string) Kind {
	switch strings.ToLower(strings.TrimSpace(id)) {
	case "org.mozilla.firefox", "org.mozilla.firefoxdeveloperedition", "org.mozilla.nightly":
		return Firefox
	case "com.google.chrome", "com.google.chrome.beta", "com.google.chrome.canary":
		return Chrome
	case "org.chromium.chromium":
		return Chromium
	case "com.brave.browser", "com.brave.browser.beta":
		return Brave
	case "com.microsoft.edgemac", "com.microsoft.edgemac.beta", "com.microsoft.edgemac.dev":
		return Edge
	case "com.apple.safari":
		return Safari
	}
	return Unknown
}

// KindFromProgID maps a Windows UrlAssociations ProgId to a Kind.
func KindFromProgID(id string) Kind {
	id = strings.TrimSpace(id)
	switch {
	case strings.HasPrefix(id, "FirefoxURL"):
		return Firefox
	case strings.HasPrefix(id, "ChromeHTML"):
		return Chrome
	case strings.HasPrefix(id, "MSEdgeHTM"):
		return Edge
	case strings.HasPrefix(id, "BraveHTML"), strings.HasPrefix(id, "BraveBHTML"):
		return Brave
	case strings.HasPrefix(id, "ChromiumHTM"):
		return Chromium
	}
	return Unknown
}

// Command is one program invocation.
type Command struct {
	Name string
	Args []string
}

func (c Command) String() string { return c.Name + " " + strings.Join(c.Args, " ") }

// System opens URLs with the machine's default browser. Its function fields
// default to the real operating system; tests replace them.
type System struct {
	GOOS     string
	Getenv   func(string) string
	LookPath func(string) (string, error)
	ReadFile func(string) ([]byte, error)
	// Output runs a query command and returns its standard output.
	Output func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Start launches a browser without waiting for it to exit.
	Start func(c Command) error
	// Fallback opens url in a normal window (pkg/browser).
	Fallback func(url string) error
}

// NewSystem returns a System bound to the running operating system.
func NewSystem() *System {
	return &System{
		GOOS:     runtime.GOOS,
		Getenv:   os.Getenv,
		LookPath: exec.LookPath,
		ReadFile: os.ReadFile,
		Output:   runOutput,
		Start:    startDetached,
		Fallback: pkgbrowser.OpenURL,
	}
}

func runOutput(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = io.Discard
	return cmd.Output()
}

// startDetached starts c with no stdin/stdout/stderr (nothing reaches the
// TUI) and reaps it in the background.
func startDetached(c Command) error {
	cmd := exec.Command(c.Name, c.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// HasDisplay reports whether a graphical browser could be shown. On Linux
// and the BSDs that needs DISPLAY or WAYLAND_DISPLAY; macOS and Windows
// sessions entered over SSH have no desktop to show a window on.
func (s *System) HasDisplay() bool {
	ssh := s.Getenv("SSH_CONNECTION") != "" || s.Getenv("SSH_TTY") != ""
	switch s.GOOS {
	case "darwin", "windows":
		return !ssh
	}
	return s.Getenv("DISPLAY") != "" || s.Getenv("WAYLAND_DISPLAY") != ""
}

// Detect finds the default browser and, where known, its executable
// (Linux and Windows) or application name (macOS).
func (s *System) Detect(ctx context.Context) (Kind, string) {
	switch s.GOOS {
	case "darwin":
		k := s.detectMac(ctx)
		return k, k.macApp()
	case "windows":
		return s.detectWindows(ctx)
	default:
		return s.detectXDG(ctx)
	}
}

// Plan returns the command that opens url privately, or ok=false when the
// default browser is unknown or has no private switch.
func (s *System) Plan(ctx context.Context, url string) (cmd Command, kind Kind, ok bool) {
	kind, exe := s.Detect(ctx)
	flag := kind.PrivateFlag()
	if flag == "" || exe == "" {
		return Command{}, kind, false
	}
	if s.GOOS == "darwin" {
		// -n starts a new instance so the flags reach an already running
		// browser; the URL goes after --args, after the flag.
		return Command{Name: "open", Args: []string{"-na", exe, "--args", flag, url}}, kind, true
	}
	return Command{Name: exe, Args: []string{flag, url}}, kind, true
}

// Open implements Launcher.
func (s *System) Open(ctx context.Context, url string) (Opened, error) {
	if !s.HasDisplay() {
		return Opened{}, ErrNoDisplay
	}
	cmd, kind, ok := s.Plan(ctx, url)
	if ok {
		if err := s.Start(cmd); err == nil {
			return Opened{Browser: kind.String(), Private: true}, nil
		}
	}
	if err := s.Fallback(url); err != nil {
		return Opened{}, fmt.Errorf("%w (%v)", ErrNoDisplay, err)
	}
	note := "Opened in a normal window: log out of Proxmox there first, or paste the URL into a private window."
	if kind == Safari {
		note = "Safari cannot be asked for a private window: press ⇧⌘N and paste the URL, or log out of Proxmox first."
	}
	return Opened{Browser: browserName(kind), Private: false, Note: note}, nil
}

func browserName(k Kind) string {
	if k == Unknown {
		return ""
	}
	return k.String()
}

// --- Linux / BSD ---------------------------------------------------------

func (s *System) detectXDG(ctx context.Context) (Kind, string) {
	id := ""
	if out, err := s.Output(ctx, "xdg-settings", "get", "default-web-browser"); err == nil {
		id = strings.TrimSpace(string(out))
	}
	if id == "" {
		if out, err := s.Output(ctx, "xdg-mime", "query", "default", "x-scheme-handler/https"); err == nil {
			id = strings.TrimSpace(string(out))
		}
	}
	if id == "" {
		return Unknown, ""
	}
	kind := KindFromDesktopID(id)
	if kind == Unknown {
		return Unknown, ""
	}
	// Prefer the executable the desktop file names (Flatpak/Snap wrappers
	// included), then the usual binary names.
	if exe := s.desktopExec(id); exe != "" {
		return kind, exe
	}
	for _, b := range kind.linuxBinaries() {
		if p, err := s.LookPath(b); err == nil {
			return kind, p
		}
	}
	return kind, ""
}

// desktopExec reads the Exec= line of a desktop file and returns its program
// when that is a plain executable (not a wrapper like "flatpak run").
func (s *System) desktopExec(id string) string {
	if !strings.HasSuffix(id, ".desktop") || strings.ContainsAny(id, "/\\") {
		return ""
	}
	var dirs []string
	if h := s.Getenv("XDG_DATA_HOME"); h != "" {
		dirs = append(dirs, h)
	} else if home := s.Getenv("HOME"); home != "" {
		dirs = append(dirs, filepath.Join(home, ".local", "share"))
	}
	dataDirs := s.Getenv("XDG_DATA_DIRS")
	if dataDirs == "" {
		dataDirs = "/usr/local/share:/usr/share"
	}
	dirs = append(dirs, filepath.SplitList(dataDirs)...)
	for _, d := range dirs {
		b, err := s.ReadFile(filepath.Join(d, "applications", id))
		if err != nil {
			continue
		}
		if exe := parseDesktopExec(string(b)); exe != "" {
			if p, err := s.LookPath(exe); err == nil {
				return p
			}
		}
	}
	return ""
}

// parseDesktopExec returns the program of the first Exec= line of the
// [Desktop Entry] group, or "" when it is a wrapper (env, flatpak, snap...).
func parseDesktopExec(desktop string) string {
	inEntry := false
	for _, line := range strings.Split(desktop, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			inEntry = line == "[Desktop Entry]"
			continue
		}
		if !inEntry || !strings.HasPrefix(line, "Exec=") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, "Exec="))
		if len(fields) == 0 {
			return ""
		}
		prog := strings.Trim(fields[0], `"`)
		switch filepath.Base(prog) {
		case "env", "flatpak", "snap", "sh", "bash":
			return ""
		}
		return prog
	}
	return ""
}

// --- macOS ---------------------------------------------------------------

// detectMac reads the LaunchServices handler for https/http. plutil turns
// the binary plist into JSON.
func (s *System) detectMac(ctx context.Context) Kind {
	home := s.Getenv("HOME")
	if home == "" {
		return Unknown
	}
	plist := filepath.Join(home, "Library", "Preferences", "com.apple.LaunchServices", "com.apple.launchservices.secure.plist")
	out, err := s.Output(ctx, "plutil", "-convert", "json", "-o", "-", plist)
	if err != nil {
		return Unknown
	}
	return KindFromBundleID(macHandler(out))
}

// --- Windows -------------------------------------------------------------

func (s *System) detectWindows(ctx context.Context) (Kind, string) {
	var kind Kind
	for _, scheme := range []string{"https", "http"} {
		key := `HKCU\Software\Microsoft\Windows\Shell\Associations\UrlAssociations\` + scheme + `\UserChoice`
		out, err := s.Output(ctx, "reg", "query", key, "/v", "ProgId")
		if err != nil {
			continue
		}
		if v := regValue(string(out), "ProgId"); v != "" {
			kind = KindFromProgID(v)
			break
		}
	}
	exe := kind.windowsExe()
	if exe == "" {
		return kind, ""
	}
	key := `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\` + exe
	for _, hive := range []string{key, strings.Replace(key, "HKLM", "HKCU", 1)} {
		out, err := s.Output(ctx, "reg", "query", hive, "/ve")
		if err != nil {
			continue
		}
		if v := regValue(string(out), "(Default)"); v != "" {
			return kind, strings.Trim(v, `"`)
		}
	}
	if p, err := s.LookPath(exe); err == nil {
		return kind, p
	}
	return kind, ""
}

// regValue extracts a value from `reg query` output lines such as
// "    ProgId    REG_SZ    ChromeHTML".
func regValue(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := strings.TrimSpace(strings.TrimPrefix(line, name))
		i := strings.Index(rest, "REG_")
		if i < 0 {
			continue
		}
		rest = rest[i:]
		if j := strings.IndexAny(rest, " \t"); j >= 0 {
			return strings.TrimSpace(rest[j:])
		}
	}
	return ""
}

// --- test double ---------------------------------------------------------

// Recorder is a Launcher for tests: it records the URLs and optionally runs
// OnOpen (e.g. a simulated login) in the background.
type Recorder struct {
	mu     sync.Mutex
	urls   []string
	Err    error // returned by Open when set
	Result Opened
	// OnOpen runs in its own goroutine after Open returns (like a real
	// browser, which does not block the caller).
	OnOpen func(url string)
}

// Open records url.
func (r *Recorder) Open(_ context.Context, url string) (Opened, error) {
	r.mu.Lock()
	r.urls = append(r.urls, url)
	err, res, hook := r.Err, r.Result, r.OnOpen
	r.mu.Unlock()
	if err != nil {
		return Opened{}, err
	}
	if hook != nil {
		go hook(url)
	}
	return res, nil
}

// URLs returns the recorded URLs.
func (r *Recorder) URLs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}
