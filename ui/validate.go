package ui

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// normalizeURL turns what a user typed into the origin pvesso talks to:
// "pve.example" → "https://pve.example:8006" (defaultPort for Proxmox),
// "auth.example" → "https://auth.example". Only https is accepted: both
// servers receive credentials. API paths pasted by mistake are stripped;
// any other path is refused because both clients want an origin.
func normalizeURL(raw, defaultPort string, stripPaths ...string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("enter the URL, e.g. https://host:8006")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL: want https://host[:port]")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		return "", errors.New("use https:// — credentials are sent to this server")
	default:
		return "", fmt.Errorf("scheme %q: want https://host[:port]", u.Scheme)
	}
	if u.User != nil {
		return "", errors.New("no user or password in the URL: enter credentials below")
	}
	host := u.Hostname()
	if host == "" || strings.ContainsAny(host, " \t\\") {
		return "", errors.New("no host name: want https://host[:port]")
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", errors.New("empty port after ':'")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("invalid port %q", port)
		}
	} else {
		port = defaultPort
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("no query or fragment: want https://host[:port]")
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	if p != "" {
		ok := false
		for _, sp := range stripPaths {
			if strings.HasPrefix(strings.ToLower(p), sp) {
				ok = true
				break
			}
		}
		if !ok {
			return "", fmt.Errorf("path %q not expected: give only https://host[:port]", p)
		}
	}
	hostport := host
	if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	if port != "" {
		hostport = net.JoinHostPort(host, port)
	}
	return "https://" + strings.ToLower(hostport), nil
}

func normalizeProxmoxURL(raw string) (string, error) {
	return normalizeURL(raw, "8006", "/api2", "/#")
}

func normalizeAuthentikURL(raw string) (string, error) {
	return normalizeURL(raw, "", "/api/v3", "/if/", "/application/")
}

// tokenRE is USER@REALM!TOKENID=SECRET (pveum: token ids start with a
// letter; the secret is a UUID, but only non-empty is required here).
var tokenRE = regexp.MustCompile(`^[^\s@!=]+@[^\s@!=]+![A-Za-z][A-Za-z0-9._-]*=\S+$`)

// cleanProxmoxToken accepts the token as shown by Proxmox, with or without
// the "PVEAPIToken=" header prefix some guides include.
func cleanProxmoxToken(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "PVEAPIToken=")
	s = strings.TrimPrefix(s, "PVEAPIToken ")
	return strings.TrimSpace(s)
}

func validateProxmoxToken(s string) error {
	s = cleanProxmoxToken(s)
	if s == "" {
		return errors.New("paste the API token: USER@REALM!TOKENID=SECRET")
	}
	if !tokenRE.MatchString(s) {
		return errors.New("format is USER@REALM!TOKENID=SECRET, e.g. root@pam!pvesso=…")
	}
	return nil
}

func cleanAuthentikToken(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	return s
}

func validateAuthentikToken(s string) error {
	s = cleanAuthentikToken(s)
	if s == "" {
		return errors.New("paste the API token (Directory → Tokens and App passwords)")
	}
	if strings.ContainsAny(s, " \t") {
		return errors.New("a token has no spaces")
	}
	return nil
}

func validateProxmoxUser(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("enter the user, e.g. root@pam")
	}
	if !strings.Contains(s, "@") {
		return errors.New("add the realm: USER@REALM, e.g. root@pam")
	}
	return nil
}

func validateNonEmpty(what string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("enter the %s", what)
		}
		return nil
	}
}

// realmRE follows Proxmox's realm id format (pve-realm: a letter, then
// letters, digits, '-', '_', '.'; 2 to 32 characters).
var realmRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{1,31}$`)

func validateRealm(s string) error {
	if !realmRE.MatchString(s) {
		return errors.New("a letter, then letters/digits/-/_/. (2–32 chars)")
	}
	switch s {
	case "pam", "pve":
		return fmt.Errorf("%q is a built-in realm", s)
	}
	return nil
}

// groupRE follows Proxmox's group id format (pve-groupid).
var groupRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func validateGroup(s string) error {
	if !groupRE.MatchString(s) {
		return errors.New("letters, digits, -, _ and . only")
	}
	return nil
}
