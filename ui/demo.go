package ui

import (
	"context"
	"net"

	"github.com/pvesso/pvesso/internal/demo"
	"github.com/pvesso/pvesso/steps"
)

// DemoOptions returns the Options fields for a running demo: the pinned
// connection, the default inputs with both URLs, the demo users with their
// passwords, the browser-less login, the note when the nodes could not
// get port 8006, and a resolver that looks nothing up (the simulated node
// names pve1..pve3 must not reach a DNS server: the demo stays on
// loopback).
func DemoOptions(d *demo.Demo, opts Options) Options {
	opts.Conn = d.Conn
	in := opts.Inputs
	in.AuthentikURL, in.ProxmoxURL = d.Inputs.AuthentikURL, d.Inputs.ProxmoxURL
	opts.Inputs = in
	info := &Demo{Note: d.PortNote, SimulateLogin: func(ctx context.Context, loginURL, user string) error {
		_, err := d.SimulateLogin(ctx, loginURL, user)
		return err
	}}
	opts.EngineOptions = append(append([]steps.Option(nil), opts.EngineOptions...), steps.WithResolver(NoLookup))
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

// NoLookup is a resolver for steps.WithResolver that resolves nothing
// (the demo's node names exist only in the simulator).
func NoLookup(_ context.Context, host string) ([]string, error) {
	return nil, &net.DNSError{Err: "not resolved in the demo", Name: host, IsNotFound: true}
}
