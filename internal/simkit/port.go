package simkit

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrAddrUnavailable means a loopback address (127.0.0.2, say) does not
// exist on this host; callers that need it may skip.
var ErrAddrUnavailable = errors.New("loopback address not available on this host")

// FreePort returns a TCP port that is free on every one of the loopback
// addresses ips right now, trying a bounded number of candidates.
func FreePort(ips ...string) (int, error) {
	for range 5 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := true
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				if strings.Contains(err.Error(), "assign") {
					return 0, fmt.Errorf("%s: %w", ip, ErrAddrUnavailable)
				}
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free on all of %v", ips)
}
