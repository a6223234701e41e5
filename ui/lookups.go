package ui

import (
	"context"
	"time"

	"github.com/pvesso/pvesso/steps"
)

// lookupTimeout bounds the wizard's best-effort reads.
const lookupTimeout = 20 * time.Second

// authentikUsers lists active Authentik users (no service accounts) for
// the live userid preview and the user picker, through the engine. It is
// best-effort: on error the wizard still works, without a preview.
func authentikUsers(ctx context.Context, c *steps.Clients, in steps.Inputs, opts []steps.Option) []steps.UserInfo {
	if c == nil || c.Authentik == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	users, err := newEngine(c, in, opts).AuthentikUsers(ctx)
	if err != nil {
		return nil
	}
	return append([]steps.UserInfo(nil), users...)
}

// keyPairs lists the key pairs with type, size, expiry and eligibility
// (one certificate read each, in the engine). Best-effort: nil on error,
// and the options screen falls back to the preflight's list (no sizes).
func keyPairs(ctx context.Context, c *steps.Clients, in steps.Inputs, opts []steps.Option) []steps.KeyPairFact {
	if c == nil || c.Authentik == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	kps, err := newEngine(c, in, opts).KeyPairs(ctx)
	if err != nil {
		return nil
	}
	return append([]steps.KeyPairFact(nil), kps...)
}
