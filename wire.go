package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pvesso/pvesso/internal/demo"
	"github.com/pvesso/pvesso/ui"
)

// wizard runs the interactive setup (TUI) with everything the flags,
// environment and config file already say prefilled.
func (c *cli) wizard(ctx context.Context, o *options) int {
	err := ui.Run(ctx, ui.Options{
		Inputs:    o.inputs(),
		Conn:      o.conn(),
		NoBrowser: o.noBrowser,
		Input:     c.stdin,
		Output:    c.stdout,
		AltScreen: true,
		Getenv:    c.getenv,
		Remember:  func(r ui.Remembered) error { return rememberWizard(o, r) },
	})
	return wizardExit(ctx, c, err)
}

// wizardExit maps the wizard's outcome to an exit code.
func wizardExit(ctx context.Context, c *cli, err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, ui.ErrAborted), ctx.Err() != nil:
		fmt.Fprintln(c.stderr, "pvesso: interrupted; rerun to finish (a rerun completes a half-done setup)")
		return exitInterrupted
	}
	fmt.Fprintf(c.stderr, "pvesso: %v\n", err)
	return exitFailed
}

// rememberWizard merges the wizard's non-secret answers into the config
// file. ui.Remembered has no secret field; the CA file stays as given.
func rememberWizard(o *options, r ui.Remembered) error {
	if o.configPath == "" {
		return nil
	}
	cfg, err := loadConfig(o.configPath)
	if err != nil {
		return err
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.AuthentikURL, r.AuthentikURL)
	set(&cfg.AuthentikFingerprint, r.AuthentikPin)
	set(&cfg.ProxmoxURL, r.ProxmoxURL)
	set(&cfg.ProxmoxFingerprint, r.ProxmoxPin)
	set(&cfg.CAFile, o.caFile)
	in := r.Inputs
	if in.Realm != "" { // a full set of choices (after an apply)
		cfg.Realm, cfg.Group, cfg.Role, cfg.ACLPath = in.Realm, in.Group, in.Role, in.ACLPath
		cfg.AppSlug, cfg.AppName, cfg.SigningKey = in.AppSlug, in.AppName, in.SigningKey
		cfg.SubjectMode, cfg.UsernameClaim = in.SubjectMode, in.UsernameClaim
		cfg.RedirectURIs = append([]string(nil), in.RedirectURIs...)
		allNodes, defRealm := in.AllNodes, in.DefaultRealm
		cfg.AllNodes, cfg.DefaultRealm = &allNodes, &defRealm
	}
	return saveConfig(o.configPath, cfg)
}

// demo runs the wizard against the built-in simulators, or with --serve
// only the simulators. Nothing of the demo is remembered in the config file:
// its URLs and pins die with the process.
func (c *cli) demo(ctx context.Context, o *options) int {
	if o.serve {
		fmt.Fprintln(c.stderr, "pvesso demo: simulators running on loopback; in another terminal, export the lines below and run pvesso (ctrl+c stops)")
		if err := demo.Serve(ctx, c.stdout); err != nil {
			fmt.Fprintf(c.stderr, "pvesso: demo: %v\n", err)
			return exitFailed
		}
		fmt.Fprintln(c.stderr, "pvesso demo: stopped")
		return exitOK
	}
	if !c.interactive {
		fmt.Fprintln(c.stderr, "pvesso: the demo wizard needs a terminal; without one, run \"pvesso demo --serve\" and use the plain commands against it")
		return exitUsage
	}
	d, err := demo.Start(ctx, demo.Options{})
	if err != nil {
		fmt.Fprintf(c.stderr, "pvesso: demo: %v\n", err)
		return exitFailed
	}
	defer d.Close()
	// DemoOptions adds the pinned connection, the demo users, the
	// browser-less login, the port note and a resolver that looks nothing
	// up (the simulated node names must not reach a DNS server).
	err = ui.Run(ctx, ui.DemoOptions(d, ui.Options{
		Inputs:    d.Inputs,
		NoBrowser: o.noBrowser,
		Input:     c.stdin,
		Output:    c.stdout,
		AltScreen: true,
		Getenv:    c.getenv,
	}))
	return wizardExit(ctx, c, err)
}
