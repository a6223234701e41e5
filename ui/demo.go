package ui

import (
	"context"

	"github.com/pvesso/pvesso/internal/demo"
)

// DemoOptions returns the Options fields for a running demo: the pinned
// connection, the default inputs with both URLs, the demo users with their
// passwords, and the browser-less login.
func DemoOptions(d *demo.Demo, opts Options) Options {
	opts.Conn = d.Conn
	in := opts.Inputs
	in.AuthentikURL, in.ProxmoxURL = d.Inputs.AuthentikURL, d.Inputs.ProxmoxURL
	opts.Inputs = in
	info := &Demo{SimulateLogin: func(ctx context.Context, loginURL, user string) error {
		_, err := d.SimulateLogin(ctx, loginURL, user)
		return err
	}}
	for _, u := range d.Users {
		info.Users = append(info.Users, DemoUser{Username: u.Username, Password: u.Password})
	}
	opts.Demo = info
	// Demo pins are throw-away: never write them to the user's config.
	opts.Remember = nil
	return opts
}

// RunDemo starts the simulators (a 3-node Proxmox VE cluster and
// Authentik, on loopback) and runs the wizard against them.
func RunDemo(ctx context.Context, opts Options) error {
	d, err := demo.Start(ctx, demo.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	return Run(ctx, DemoOptions(d, opts))
}
