package steps

import (
	"fmt"
	"io"
	"strings"
)

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString draws n characters from alnum without modulo bias (rejection
// sampling over bytes < 248 = 4*62).
func randomString(r io.Reader, n int) (string, error) {
	var b strings.Builder
	buf := make([]byte, 64)
	for b.Len() < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("reading randomness: %w", err)
		}
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			b.WriteByte(alnum[int(c)%len(alnum)])
			if b.Len() == n {
				break
			}
		}
	}
	return b.String(), nil
}

// Lengths follow authentik's own generator defaults (authentik-api.md §5):
// a 40-character client id and a 128-character client secret. The realm's
// client-key is limited to 256 characters (proxmox-api.md §4).
const (
	clientIDLen     = 40
	clientSecretLen = 128
)
