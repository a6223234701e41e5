package ui

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// debugLog writes to a file only when PVESSO_DEBUG (or Options.DebugLog)
// asks for it; stdout belongs to the TUI. Every line passes the redactor:
// known secrets (tokens, passwords, OTPs, client secrets) are replaced by
// "(secret)", and so is anything shaped like a credential.
type debugLog struct {
	mu      sync.Mutex
	f       *os.File
	secrets []string
}

var credentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(PVEAPIToken[= ])\S+`),
	regexp.MustCompile(`(?i)(Bearer\s+)\S+`),
	regexp.MustCompile(`(![A-Za-z0-9._-]+=)[0-9A-Fa-f-]{8,}`), // USER@REALM!TOKENID=SECRET
	regexp.MustCompile(`(?i)((?:client[_-]?secret|client[_-]?key|password|passwd|otp|token|ticket|code)["']?\s*[:=]\s*["']?)[^\s"'&,}]+`),
	regexp.MustCompile(`(?i)(PVEAuthCookie=)[^\s;]+`),
}

// redact removes secrets from s.
func (l *debugLog) redact(s string) string {
	if l == nil {
		return s
	}
	l.mu.Lock()
	secrets := l.secrets
	l.mu.Unlock()
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "(secret)")
		}
	}
	for _, re := range credentialPatterns {
		s = re.ReplaceAllString(s, "${1}(secret)")
	}
	return s
}

// addSecret registers a value that must never be written.
func (l *debugLog) addSecret(vals ...string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range vals {
		if len(v) >= 3 {
			l.secrets = append(l.secrets, v)
		}
	}
}

// printf logs one line (a no-op without a log file).
func (l *debugLog) printf(format string, args ...any) {
	if l == nil || l.f == nil {
		return
	}
	line := l.redact(fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "%s %s\n", time.Now().Format("15:04:05.000"), line)
}

func (l *debugLog) close() {
	if l != nil && l.f != nil {
		_ = l.f.Close()
	}
}

// openDebugLog opens the log named by opts.DebugLog or PVESSO_DEBUG. A
// failure to open it is not fatal: the wizard runs without a log.
func openDebugLog(opts Options) (*debugLog, func()) {
	l := &debugLog{}
	l.addSecret(opts.Conn.AuthentikToken, opts.Conn.ProxmoxToken, opts.Conn.ProxmoxPassword, opts.Conn.ProxmoxOTP)
	if i := strings.LastIndex(opts.Conn.ProxmoxToken, "="); i >= 0 {
		l.addSecret(opts.Conn.ProxmoxToken[i+1:])
	}
	path := opts.DebugLog
	if path == "" {
		path = opts.Getenv("PVESSO_DEBUG")
		if path == "1" || strings.EqualFold(path, "true") {
			path = "pvesso-debug.log"
		}
	}
	if path == "" {
		return l, func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return l, func() {}
	}
	l.f = f
	l.printf("pvesso debug log started")
	return l, l.close
}
