package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// fileConfig is what pvesso remembers between runs: non-secret answers only.
// It has no field that could hold a token, a password or a client secret, so
// no code path can write one.
type fileConfig struct {
	AuthentikURL         string   `json:"authentik_url,omitempty"`
	AuthentikFingerprint string   `json:"authentik_fingerprint,omitempty"`
	ProxmoxURL           string   `json:"proxmox_url,omitempty"`
	ProxmoxFingerprint   string   `json:"proxmox_fingerprint,omitempty"`
	CAFile               string   `json:"ca_file,omitempty"`
	Realm                string   `json:"realm,omitempty"`
	Group                string   `json:"group,omitempty"`
	Role                 string   `json:"role,omitempty"`
	ACLPath              string   `json:"acl_path,omitempty"`
	AppSlug              string   `json:"app_slug,omitempty"`
	AppName              string   `json:"app_name,omitempty"`
	SigningKey           string   `json:"signing_key,omitempty"`
	SubjectMode          string   `json:"subject_mode,omitempty"`
	UsernameClaim        string   `json:"username_claim,omitempty"`
	RedirectURIs         []string `json:"redirect_uris,omitempty"`
	AllNodes             *bool    `json:"all_nodes,omitempty"`
	DefaultRealm         *bool    `json:"default_realm,omitempty"`
}

// configPath returns <config dir>/pvesso/config.json. XDG_CONFIG_HOME is read
// through getenv (so tests redirect it without touching the process
// environment); otherwise os.UserConfigDir decides.
func configPath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the XDG spec ignores relative paths
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no config directory (%v): set XDG_CONFIG_HOME", err)
		}
		dir = d
	}
	return filepath.Join(dir, "pvesso", "config.json"), nil
}

// loadConfig reads the config file. A missing file is an empty config.
func loadConfig(path string) (fileConfig, error) {
	var c fileConfig
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("config file %s is not valid JSON (%v): fix or delete it", path, err)
	}
	return c, nil
}

// saveConfig writes the config atomically, readable by the user only.
func saveConfig(path string, c fileConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(name, path)
}
