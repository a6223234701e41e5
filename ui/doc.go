// Package ui is pvesso's wizard: a Bubble Tea (v1) program over the steps
// engine. It walks a user through both connections (with a certificate
// trust prompt), the options, the checks, the plan, the apply and the
// login test in a private browser window, and on a rerun offers a menu
// (add users to the admin group, status, repair, remove).
//
// # Entry points (stable; the CLI calls these)
//
// The setup wizard, prefilled from flags, environment and config file:
//
//	err := ui.Run(ctx, ui.Options{
//		Inputs:    in,   // steps.Inputs (URLs and choices; empty fields = defaults)
//		Conn:      conn, // steps.Conn (secrets from the environment, pins from the config)
//		NoBrowser: noBrowser, // --no-browser: show the login URL instead of opening it
//		Remember: func(r ui.Remembered) error { ... write r to the config file ... },
//		AltScreen: true, // when stdout is a terminal
//	})
//	// err == nil: the user finished or quit normally;
//	// errors.Is(err, ui.ErrAborted): ctrl+c; else a fatal error.
//
// `pvesso demo` (starts both simulators, prefilled and pinned):
//
//	err := ui.RunDemo(ctx, ui.Options{AltScreen: true})
//
// or, to hold the simulators yourself:
//
//	d, err := demo.Start(ctx, demo.Options{})  // internal/demo
//	defer d.Close()
//	err = ui.Run(ctx, ui.DemoOptions(d, ui.Options{AltScreen: true}))
//
// `pvesso demo --serve` does not use this package: demo.Serve(ctx, stdout)
// prints AUTHENTIK_URL, AUTHENTIK_TOKEN, AUTHENTIK_FINGERPRINT,
// PROXMOX_VE_ENDPOINT, PROXMOX_VE_API_TOKEN and PROXMOX_VE_FINGERPRINT as
// KEY=VALUE lines and runs until ctx ends.
//
// # Behaviour the caller can rely on
//
//   - Nothing is printed to Output while the TUI runs. After it ends, Run
//     prints a three-line summary when a setup was applied.
//   - TERM=dumb (or Options.Accessible) runs line by line with huh's
//     accessible prompts instead of the full-screen TUI. NO_COLOR drops
//     every colour; meaning is carried by glyphs (✓ ✗ – ›) and words.
//   - PVESSO_DEBUG=<file> (or "1" for ./pvesso-debug.log) writes a debug
//     log; tokens, passwords, OTPs and client secrets are redacted.
//   - Remember is only ever given non-secret values (URLs, SHA-256 pins,
//     choices); it is called after a pin is accepted and after an apply.
//   - A password login gets no TOTP field up front: when Proxmox answers
//     with a second-factor challenge (steps.ErrTFARequired) the wizard
//     returns to the Proxmox screen with the TOTP field alone.
//   - ui/ reads the servers only through steps (no authentik/proxmox
//     import; TestLayering). Fixes name the wizard's fields, not flags.
//   - The demo's nodes listen on 8006 (127.0.0.1-3) when it is free, so
//     the registered node origins reach them; DemoOptions passes the note
//     when they fell back to random ports, and a resolver that looks no
//     node name up (the demo stays on loopback).
//   - The private-window launcher is ui/browser (Firefox --private-window,
//     Chrome/Chromium/Brave --incognito, Edge --inprivate, pkg/browser as
//     fallback, the URL on screen without a display). Tests pass a
//     *browser.Recorder as Options.Launcher.
package ui
