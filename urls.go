package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// normalizeURL turns what a user typed into the origin pvesso talks to:
// "pve.example:8006" → "https://pve.example:8006". Only https is accepted
// (both servers are reached with credentials). defaultPort is added when the
// input names none ("8006" for Proxmox, "" for Authentik). stripPaths lists
// API prefixes a user may paste by mistake ("/api2/json"); any other path is
// refused because both clients want an origin.
//
// The returned error message is a sentence fragment; the caller prefixes the
// flag or environment variable that carried the value.
func normalizeURL(raw, defaultPort string, stripPaths ...string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("is empty")
	}
	raw = shownURL(s)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("is not a URL (%q): want https://host[:port]", raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		return "", fmt.Errorf("uses http:// (%q): pvesso sends credentials, so only https:// is allowed", raw)
	default:
		return "", fmt.Errorf("has scheme %q: want https://host[:port]", u.Scheme)
	}
	if u.User != nil {
		return "", fmt.Errorf("must not contain a user name or password (%q): give credentials through the environment (see pvesso help)", raw)
	}
	host := u.Hostname()
	if host == "" {
		return "", fmt.Errorf("has no host name (%q): want https://host[:port]", raw)
	}
	if strings.ContainsAny(host, " \t/\\") {
		return "", fmt.Errorf("has an invalid host name (%q)", raw)
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("has an empty port (%q)", raw)
	}
	if port != "" {
		var n int
		if _, err := fmt.Sscanf(port, "%d", &n); err != nil || n < 1 || n > 65535 || fmt.Sprint(n) != port {
			return "", fmt.Errorf("has an invalid port %q", port)
		}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("must not have a query or fragment (%q): want https://host[:port]", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	for _, sp := range stripPaths {
		if strings.EqualFold(p, sp) {
			p = ""
		}
	}
	if p != "" {
		return "", fmt.Errorf("has a path %q: give only the origin, https://host[:port]", u.Path)
	}
	if port == "" {
		port = defaultPort
	}
	host = strings.ToLower(host)
	hostport := host
	if port != "" {
		hostport = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		hostport = "[" + host + "]"
	}
	return "https://" + hostport, nil
}

// shownURL is s as an error may quote it: everything before the last "@"
// after the scheme (a user name and a password, which may hold "/", "?" or
// "#") is replaced by "***". Errors quote it even when s does not parse.
func shownURL(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return s[:start] + "***@" + s[at+1:]
}
