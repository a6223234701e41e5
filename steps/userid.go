package steps

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pvesso/pvesso/authentik"
)

// MaxUserIDLen is Proxmox's limit for a full userid (proxmox-api.md §5).
const MaxUserIDLen = 64

// hashedIDLen is the length of authentik's hashed user id (sha256 hex).
const hashedIDLen = 64

// subject returns the id_token "sub" authentik sends for u under mode
// (authentik-api.md §5 sub_mode).
func subject(mode string, u UserInfo) (string, error) {
	switch mode {
	case "hashed_user_id":
		return u.UID, nil
	case "user_id":
		return strconv.Itoa(u.PK), nil
	case "user_uuid":
		if u.UUID == "" {
			// User.uuid is required in every schema (2024.8.4 … 2026.8.3);
			// an answer without it gives nothing to predict from.
			return "", fmt.Errorf("Authentik did not report the uuid of %q, so pvesso cannot predict its Proxmox userid with sub_mode user_uuid; "+
				"such users can still log in (the realm creates them), but pvesso cannot add them to the group", u.Username)
		}
		return u.UUID, nil
	case "user_username":
		return u.Username, nil
	case "user_email", "":
		return u.Email, nil
	case "user_upn":
		// authentik falls back to the hashed id when there is no upn attribute
		if u.UPN != "" {
			return u.UPN, nil
		}
		return u.UID, nil
	}
	return "", fmt.Errorf("unknown subject mode %q", mode)
}

// UserID predicts the Proxmox userid of an Authentik user: the value of the
// realm's username-claim (proxmox-api.md §5 "Username formation") plus
// "@<realm>". subject → the id_token sub (per subjectMode); username →
// preferred_username (the authentik username); email → the email.
// It refuses userids Proxmox would reject (> 64 chars, white space, ':'/'/').
func UserID(subjectMode, usernameClaim, realm string, u UserInfo) (string, error) {
	var v string
	var err error
	switch usernameClaim {
	case "", "subject", "sub":
		v, err = subject(subjectMode, u)
		if err != nil {
			return "", &CheckError{Step: StepUsers, Detail: err.Error(), Fix: "--subject-mode user_email or user_username"}
		}
		if v == "" {
			return "", &CheckError{Step: StepUsers, Detail: fmt.Sprintf("Authentik user %q has no value for sub_mode %s (empty email?), so Proxmox would get no username", u.Username, subjectMode),
				Fix: "set the user's email in Authentik, or use --subject-mode user_username"}
		}
	case "username":
		v = u.Username
	case "email":
		v = u.Email
		if v == "" {
			return "", &CheckError{Step: StepUsers, Detail: fmt.Sprintf("Authentik user %q has no email, but the username claim is email", u.Username), Fix: "set the user's email in Authentik, or use --username-claim username"}
		}
	default:
		return "", &CheckError{Step: StepUsers, Detail: fmt.Sprintf("cannot predict userids for username-claim %q", usernameClaim), Fix: "--username-claim subject, username or email"}
	}
	id := v + "@" + realm
	if strings.ContainsAny(v, " \t\r\n:/") {
		return "", &CheckError{Step: StepUsers, Detail: fmt.Sprintf("userid %q contains white space, ':' or '/', which Proxmox refuses", id), Fix: "--subject-mode or --username-claim"}
	}
	if len(id) > MaxUserIDLen {
		if subjectMode == "user_upn" && u.UPN == "" && (usernameClaim == "" || usernameClaim == "subject" || usernameClaim == "sub") {
			return "", &CheckError{Step: StepUsers, Detail: fmt.Sprintf("Authentik user %q has no upn attribute, so sub_mode user_upn sends its %d-character hashed id and the userid would have %d characters (Proxmox allows %d)",
				u.Username, len(v), len(id), MaxUserIDLen),
				Fix: "set the user's upn attribute in Authentik, or use --subject-mode user_email or user_username"}
		}
		return "", &CheckError{Step: StepUsers, Detail: fmt.Sprintf("userid %q has %d characters; Proxmox allows %d, so this user could never log in", id, len(id), MaxUserIDLen),
			Fix: "--subject-mode user_username, --username-claim username, or a shorter --realm"}
	}
	return id, nil
}

// Preview is UserID with the modes taken from in.
func Preview(in Inputs, u UserInfo) (string, error) {
	in = in.WithDefaults()
	return UserID(in.SubjectMode, in.UsernameClaim, in.Realm, u)
}

// UserInfoOf converts an authentik user.
func UserInfoOf(u authentik.User) UserInfo {
	return UserInfo{PK: u.PK, Username: u.Username, Name: u.Name, Email: u.Email, UID: u.UID, UUID: u.UUID, UPN: u.UPN}
}

// structuralUserIDProblem reports a subject mode / claim / realm combination
// that fails for every user, whatever the user: authentik's hashed id alone
// is 64 characters (proxmox-api.md §5, pitfalls.md §5).
func structuralUserIDProblem(in Inputs) string {
	if in.UsernameClaim != "subject" {
		return ""
	}
	realmPart := 1 + len(in.Realm)
	// user_upn is decided per user (UserID): a user with a upn attribute
	// gets it as sub, one without gets the hashed id and is refused there.
	switch in.SubjectMode {
	case "hashed_user_id":
		if hashedIDLen+realmPart > MaxUserIDLen {
			return fmt.Sprintf("sub_mode %s gives a %d-character hashed id; with \"@%s\" every userid has %d characters (Proxmox allows %d), so no login could succeed",
				in.SubjectMode, hashedIDLen, in.Realm, hashedIDLen+realmPart, MaxUserIDLen)
		}
	case "user_uuid":
		if 36+realmPart > MaxUserIDLen {
			return fmt.Sprintf("sub_mode user_uuid with realm %q gives %d-character userids (Proxmox allows %d)", in.Realm, 36+realmPart, MaxUserIDLen)
		}
	}
	return ""
}
