package browser

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	pkgbrowser "github.com/pkg/browser"
)

const testURL = "https://127.0.0.1:8006/?realm=authentik&a=1&b=2"

// fakeOS records what a System would run.
type fakeOS struct {
	env      map[string]string
	paths    map[string]string // name -> full path
	files    map[string]string
	outputs  map[string]string // "name arg arg" -> stdout
	started  []Command
	startErr error
	fallback []string
	fbErr    error
}

func (f *fakeOS) system(goos string) *System {
	return &System{
		GOOS:   goos,
		Getenv: func(k string) string { return f.env[k] },
		LookPath: func(n string) (string, error) {
			if p, ok := f.paths[n]; ok {
				return p, nil
			}
			return "", errors.New("not found")
		},
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := f.files[p]; ok {
				return []byte(s), nil
			}
			return nil, os.ErrNotExist
		},
		Output: func(_ context.Context, name string, args ...string) ([]byte, error) {
			k := strings.Join(append([]string{name}, args...), " ")
			if s, ok := f.outputs[k]; ok {
				return []byte(s), nil
			}
			return nil, errors.New("exit status 1")
		},
		Start: func(c Command) error {
			f.started = append(f.started, c)
			return f.startErr
		},
		Fallback: func(u string) error {
			f.fallback = append(f.fallback, u)
			return f.fbErr
		},
	}
}

func TestLinuxFirefoxFromDesktopFile(t *testing.T) {
	f := &fakeOS{
		env:     map[string]string{"DISPLAY": ":0", "HOME": "/home/u"},
		outputs: map[string]string{"xdg-settings get default-web-browser": "firefox.desktop\n"},
		files: map[string]string{
			"/usr/share/applications/firefox.desktop": "[Desktop Entry]\nName=Firefox\nExec=/usr/lib/firefox/firefox %u\n[Desktop Action new-private-window]\nExec=/usr/lib/firefox/firefox --private-window %u\n",
		},
		paths: map[string]string{"/usr/lib/firefox/firefox": "/usr/lib/firefox/firefox", "firefox": "/usr/bin/firefox"},
	}
	got, err := f.system("linux").Open(context.Background(), testURL)
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{{Name: "/usr/lib/firefox/firefox", Args: []string{"--private-window", testURL}}}
	if !reflect.DeepEqual(f.started, want) {
		t.Fatalf("started %v, want %v", f.started, want)
	}
	if !got.Private || got.Browser != "Firefox" || got.Note != "" {
		t.Fatalf("opened = %+v", got)
	}
	if len(f.fallback) != 0 {
		t.Fatalf("fallback used: %v", f.fallback)
	}
}

func TestLinuxChromeViaXDGMimeAndPath(t *testing.T) {
	f := &fakeOS{
		env:     map[string]string{"WAYLAND_DISPLAY": "wayland-0", "XDG_DATA_DIRS": "/opt/share"},
		outputs: map[string]string{"xdg-mime query default x-scheme-handler/https": "google-chrome.desktop\n"},
		files: map[string]string{
			// A wrapper Exec is not used; the binary is found on PATH.
			"/opt/share/applications/google-chrome.desktop": "[Desktop Entry]\nExec=env FOO=1 /opt/google/chrome/chrome %U\n",
		},
		paths: map[string]string{"google-chrome-stable": "/usr/bin/google-chrome-stable"},
	}
	if _, err := f.system("linux").Open(context.Background(), testURL); err != nil {
		t.Fatal(err)
	}
	want := []Command{{Name: "/usr/bin/google-chrome-stable", Args: []string{"--incognito", testURL}}}
	if !reflect.DeepEqual(f.started, want) {
		t.Fatalf("started %v, want %v", f.started, want)
	}
}

func TestLinuxPrivateFlags(t *testing.T) {
	cases := map[string]struct{ bin, flag string }{
		"brave-browser.desktop":        {"brave-browser", "--incognito"},
		"chromium.desktop":             {"chromium", "--incognito"},
		"microsoft-edge.desktop":       {"microsoft-edge", "--inprivate"},
		"org.mozilla.firefox.desktop":  {"firefox", "--private-window"},
		"chromium-browser.desktop":     {"chromium-browser", "--incognito"},
		"com.brave.Browser.desktop":    {"brave", "--incognito"},
		"microsoft-edge-beta.desktop":  {"microsoft-edge-dev", "--inprivate"},
		"google-chrome-stable.desktop": {"google-chrome", "--incognito"},
	}
	for id, tc := range cases {
		t.Run(id, func(t *testing.T) {
			f := &fakeOS{
				env:     map[string]string{"DISPLAY": ":1"},
				outputs: map[string]string{"xdg-settings get default-web-browser": id},
				paths:   map[string]string{tc.bin: "/usr/bin/" + tc.bin},
			}
			if _, err := f.system("linux").Open(context.Background(), testURL); err != nil {
				t.Fatal(err)
			}
			want := []Command{{Name: "/usr/bin/" + tc.bin, Args: []string{tc.flag, testURL}}}
			if !reflect.DeepEqual(f.started, want) {
				t.Fatalf("started %v, want %v", f.started, want)
			}
		})
	}
}

func TestNoDisplayShowsURL(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"headless":       {},
		"ssh":            {"SSH_CONNECTION": "127.0.0.1 5 127.0.0.1 22"},
		"ssh-no-display": {"SSH_TTY": "/dev/pts/1"},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeOS{env: env, outputs: map[string]string{"xdg-settings get default-web-browser": "firefox.desktop"}, paths: map[string]string{"firefox": "/usr/bin/firefox"}}
			_, err := f.system("linux").Open(context.Background(), testURL)
			if !errors.Is(err, ErrNoDisplay) {
				t.Fatalf("err = %v, want ErrNoDisplay", err)
			}
			if len(f.started)+len(f.fallback) != 0 {
				t.Fatalf("something was launched: %v %v", f.started, f.fallback)
			}
		})
	}
	// SSH into a Mac: no desktop either.
	f := &fakeOS{env: map[string]string{"SSH_TTY": "/dev/ttys001", "HOME": "/Users/u"}}
	if _, err := f.system("darwin").Open(context.Background(), testURL); !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("darwin over ssh: err = %v", err)
	}
}

func TestUnknownBrowserFallsBackWithNote(t *testing.T) {
	f := &fakeOS{
		env:     map[string]string{"DISPLAY": ":0"},
		outputs: map[string]string{"xdg-settings get default-web-browser": "org.qutebrowser.qutebrowser.desktop"},
	}
	got, err := f.system("linux").Open(context.Background(), testURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 0 || !reflect.DeepEqual(f.fallback, []string{testURL}) {
		t.Fatalf("started %v fallback %v", f.started, f.fallback)
	}
	if got.Private || !strings.Contains(got.Note, "normal window") {
		t.Fatalf("opened = %+v", got)
	}
}

func TestStartFailureFallsBack(t *testing.T) {
	f := &fakeOS{
		env:      map[string]string{"DISPLAY": ":0"},
		outputs:  map[string]string{"xdg-settings get default-web-browser": "firefox.desktop"},
		paths:    map[string]string{"firefox": "/usr/bin/firefox"},
		startErr: errors.New("exec format error"),
	}
	got, err := f.system("linux").Open(context.Background(), testURL)
	if err != nil || got.Private || len(f.fallback) != 1 {
		t.Fatalf("got %+v err %v fallback %v", got, err, f.fallback)
	}
	// And when the fallback fails too, the caller must show the URL.
	f.fbErr = errors.New("xdg-open: not found")
	if _, err := f.system("linux").Open(context.Background(), testURL); !errors.Is(err, ErrNoDisplay) {
		t.Fatalf("err = %v, want ErrNoDisplay", err)
	}
}

func TestMacOpenNA(t *testing.T) {
	plist := `{"LSHandlers":[{"LSHandlerContentType":"public.html","LSHandlerRoleAll":"com.apple.safari"},` +
		`{"LSHandlerURLScheme":"https","LSHandlerRoleAll":"com.google.chrome"},{"LSHandlerURLScheme":"http","LSHandlerRoleAll":"com.google.chrome"}]}`
	f := &fakeOS{
		env:     map[string]string{"HOME": "/Users/u"},
		outputs: map[string]string{"plutil -convert json -o - /Users/u/Library/Preferences/com.apple.LaunchServices/com.apple.launchservices.secure.plist": plist},
	}
	got, err := f.system("darwin").Open(context.Background(), testURL)
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{{Name: "open", Args: []string{"-na", "Google Chrome", "--args", "--incognito", testURL}}}
	if !reflect.DeepEqual(f.started, want) || !got.Private {
		t.Fatalf("started %v (%+v), want %v", f.started, got, want)
	}
}

func TestMacSafariFallsBack(t *testing.T) {
	f := &fakeOS{
		env:     map[string]string{"HOME": "/Users/u"},
		outputs: map[string]string{"plutil -convert json -o - /Users/u/Library/Preferences/com.apple.LaunchServices/com.apple.launchservices.secure.plist": `{"LSHandlers":[]}`},
	}
	got, err := f.system("darwin").Open(context.Background(), testURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 0 || len(f.fallback) != 1 || got.Browser != "Safari" || !strings.Contains(got.Note, "⇧⌘N") {
		t.Fatalf("got %+v started %v fallback %v", got, f.started, f.fallback)
	}
}

func TestWindowsRegistry(t *testing.T) {
	f := &fakeOS{
		outputs: map[string]string{
			`reg query HKCU\Software\Microsoft\Windows\Shell\Associations\UrlAssociations\https\UserChoice /v ProgId`: "\r\nHKEY_CURRENT_USER\\...\\UserChoice\r\n    ProgId    REG_SZ    MSEdgeHTM\r\n\r\n",
			`reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths\msedge.exe /ve`:                       "\r\nHKEY_LOCAL_MACHINE\\...\\msedge.exe\r\n    (Default)    REG_SZ    C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\r\n",
		},
	}
	if _, err := f.system("windows").Open(context.Background(), testURL); err != nil {
		t.Fatal(err)
	}
	want := []Command{{Name: `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, Args: []string{"--inprivate", testURL}}}
	if !reflect.DeepEqual(f.started, want) {
		t.Fatalf("started %v, want %v", f.started, want)
	}
}

func TestKindMappings(t *testing.T) {
	if KindFromProgID("FirefoxURL-308046B0AF4A39CB") != Firefox || KindFromProgID("ChromeHTML") != Chrome || KindFromProgID("BraveHTML") != Brave || KindFromProgID("IE.HTTP") != Unknown {
		t.Fatal("ProgId mapping")
	}
	if KindFromBundleID("org.mozilla.firefox") != Firefox || KindFromBundleID("com.microsoft.edgemac") != Edge || KindFromBundleID("com.brave.Browser") != Brave {
		t.Fatal("bundle id mapping")
	}
	if Safari.PrivateFlag() != "" || Unknown.PrivateFlag() != "" {
		t.Fatal("no private flag expected")
	}
}

func TestPkgBrowserOutputDiscarded(t *testing.T) {
	if pkgbrowser.Stdout != io.Discard || pkgbrowser.Stderr != io.Discard {
		t.Fatal("pkg/browser output must not reach the terminal")
	}
}

func TestRecorder(t *testing.T) {
	done := make(chan string, 1)
	r := &Recorder{Result: Opened{Browser: "test", Private: true}, OnOpen: func(u string) { done <- u }}
	got, err := r.Open(context.Background(), testURL)
	if err != nil || !got.Private {
		t.Fatal(got, err)
	}
	if u := <-done; u != testURL {
		t.Fatal(u)
	}
	if urls := r.URLs(); len(urls) != 1 || urls[0] != testURL {
		t.Fatal(urls)
	}
	r.Err = ErrNoDisplay
	if _, err := r.Open(context.Background(), "x"); !errors.Is(err, ErrNoDisplay) {
		t.Fatal(err)
	}
}
