package proxmox

import (
	"regexp"
	"unicode/utf8"
)

// Local checks of identifiers, mirroring the PVE formats (pve-access-control
// Auth/Plugin.pm and AccessControl.pm) so that obviously invalid arguments
// fail with ErrInvalidArgument before a round trip. The server stays the
// authority; these only reject what it would certainly reject.
var (
	realmRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)
	userIDRE  = regexp.MustCompile(`^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$`)
	groupIDRE = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)
)

func checkRealm(realm string) error {
	if !realmRE.MatchString(realm) || len(realm) > 32 {
		return invalidf("realm %q: must start with a letter, use A-Z a-z 0-9 . - _ and have 2-32 characters", realm)
	}
	return nil
}

func checkUserID(userid string) error {
	n := utf8.RuneCountInString(userid)
	if n < 3 || n > 64 {
		return invalidf("user id %q: must be 3-64 characters long (has %d)", userid, n)
	}
	if !userIDRE.MatchString(userid) {
		return invalidf("user id %q: must be <name>@<realm> without whitespace, ':' or '/'", userid)
	}
	return nil
}

// checkAll runs check on every id.
func checkAll(check func(string) error, ids []string) error {
	for _, id := range ids {
		if err := check(id); err != nil {
			return err
		}
	}
	return nil
}

// checkGroupID is the 9.1+ rule. PVE 8.4–9.0 (access-control 8.2.1 to
// 9.0.4) accepted a few more characters by accident, ':' among them (bug
// 7102); pvesso never sends those: ':' separates the fields of user.cfg.
func checkGroupID(g string) error {
	if !groupIDRE.MatchString(g) {
		return invalidf("group id %q: only A-Z a-z 0-9 . - _ are allowed", g)
	}
	return nil
}
