package ui

import (
	"context"
	"errors"
)

// runAccessible runs the wizard line by line (TERM=dumb, screen readers).
func runAccessible(ctx context.Context, opts Options, log *debugLog) error {
	return errors.New("accessible mode: not yet")
}
