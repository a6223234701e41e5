package ui

import "strings"

// The engine names its fixes for the command line (flags and environment
// variables). In the wizard the user typed those values on a screen, so
// the fixes name the screen's fields instead. Unknown text passes
// unchanged.
var wizardFixes = strings.NewReplacer(
	"set PROXMOX_VE_API_TOKEN (USER@REALM!TOKENID=SECRET) or PROXMOX_VE_USERNAME and PROXMOX_VE_PASSWORD",
	"check the Proxmox API token, or the user and password, on the Proxmox screen",
	"set AUTHENTIK_TOKEN (or --authentik-token-file) to a valid API token of a superuser",
	"check the API token on the Authentik screen: a valid token of a superuser",
	"use an API token of an Authentik superuser (AUTHENTIK_TOKEN)",
	"use an API token of an Authentik superuser (Authentik screen)",
	"set PROXMOX_VE_OTP to the current one-time code, or use PROXMOX_VE_API_TOKEN",
	"enter the current TOTP code, or log in with an API token",
	// Usage errors arrive as "set " + the flag. Matches are leftmost, then
	// in this order: longer texts first.
	"AUTHENTIK_TOKEN / --authentik-token-file", "the API token on the Authentik screen",
	"--authentik-url / AUTHENTIK_URL / AUTHENTIK_TOKEN", "the Authentik URL and API token",
	"set PROXMOX_VE_API_TOKEN or PROXMOX_VE_USERNAME + PROXMOX_VE_PASSWORD", "enter a Proxmox API token, or user and password, on the Proxmox screen",
	"set PROXMOX_VE_API_TOKEN", "check the API token on the Proxmox screen",
	"(PROXMOX_VE_API_TOKEN, privilege separation off)", "(privilege separation off)",
	"(PROXMOX_VE_API_TOKEN)", "(Proxmox screen)",
	"--proxmox-url / PROXMOX_VE_ENDPOINT", "the Proxmox URL",
	"--authentik-url / AUTHENTIK_URL", "the Authentik URL",
	"--proxmox-fingerprint / PROXMOX_VE_FINGERPRINT", "the pinned fingerprint (esc, then check the Proxmox URL)",
	"--authentik-fingerprint / AUTHENTIK_FINGERPRINT", "the pinned fingerprint (esc, then check the Authentik URL)",
	"--subject-mode", "Subject mode",
	"--username-claim", "Username claim",
	"a shorter --realm", "a shorter Realm",
	"--signing-key NAME", "another Signing key",
	"--user USER", "a user",
	"--realm", "Realm",
	"--group", "Admin group",
)

// wizardFix rewrites an engine fix for the wizard.
func wizardFix(fix string) string { return wizardFixes.Replace(fix) }
