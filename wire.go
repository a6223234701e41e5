package main

import (
	"context"
	"fmt"
)

// wizard runs the interactive setup (TUI).
func (c *cli) wizard(ctx context.Context, o *options) int {
	fmt.Fprintln(c.stderr, "pvesso: the interactive wizard is not part of this build yet: run \"pvesso setup --plan\" or \"pvesso setup --yes\" (plain mode)")
	return exitFailed
}

// demo runs the wizard against the built-in simulators, or with --serve
// only the simulators.
func (c *cli) demo(ctx context.Context, o *options) int {
	fmt.Fprintln(c.stderr, "pvesso: the demo is not part of this build yet")
	return exitFailed
}
