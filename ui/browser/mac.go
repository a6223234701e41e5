package browser

import "encoding/json"

// macHandler returns the bundle id registered for https (or http) in the
// LaunchServices preferences, given as JSON by plutil.
func macHandler(plistJSON []byte) string {
	var doc struct {
		LSHandlers []struct {
			Scheme  string `json:"LSHandlerURLScheme"`
			RoleAll string `json:"LSHandlerRoleAll"`
		} `json:"LSHandlers"`
	}
	if err := json.Unmarshal(plistJSON, &doc); err != nil {
		return ""
	}
	found := map[string]string{}
	for _, h := range doc.LSHandlers {
		if h.RoleAll != "" {
			found[h.Scheme] = h.RoleAll
		}
	}
	if id := found["https"]; id != "" {
		return id
	}
	// No handler recorded means the system default, Safari.
	if id := found["http"]; id != "" {
		return id
	}
	return "com.apple.safari"
}
