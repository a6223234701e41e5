package ui

import (
	"context"
	"sort"
	"time"

	"github.com/pvesso/pvesso/authentik"
	"github.com/pvesso/pvesso/steps"
)

// maxPickUsers bounds the user list the wizard offers (the picker shows
// active users; a large directory is searched by typing in the CLI).
const maxPickUsers = 200

// authentikUsers lists active Authentik users for the live userid preview
// and the user picker. It is best-effort: on error the wizard still works,
// without a preview.
func authentikUsers(ctx context.Context, c *steps.Clients) []steps.UserInfo {
	if c == nil || c.Authentik == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	users, err := c.Authentik.ListUsers(ctx, authentik.ListUsersOptions{})
	if err != nil {
		return nil
	}
	out := make([]steps.UserInfo, 0, len(users))
	for _, u := range users {
		if !u.IsActive || u.Type == "service_account" || u.Type == "internal_service_account" {
			continue
		}
		out = append(out, steps.UserInfoOf(u))
		if len(out) == maxPickUsers {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// keySizes reads the size of every key pair's public key (one certificate
// download each; the list does not carry sizes). Best-effort.
func keySizes(ctx context.Context, c *steps.Clients) map[string]int {
	if c == nil || c.Authentik == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	kps, err := c.Authentik.ListKeyPairs(ctx, authentik.ListKeyPairsOptions{})
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for i := range kps {
		if i >= 20 {
			break
		}
		kp := kps[i]
		if err := c.Authentik.InspectKeyPair(ctx, &kp); err == nil && kp.KeySize > 0 {
			out[kp.Name] = kp.KeySize
		}
	}
	return out
}
