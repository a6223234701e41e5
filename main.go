// Command pvesso sets up single sign-on from Authentik into Proxmox VE over
// OpenID Connect, and keeps it right on every rerun.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Version is stamped at build time with -ldflags "-X main.Version=...".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintf(stdout, "pvesso %s\n", version())
		return 0
	}
	fmt.Fprintln(stderr, "usage: pvesso version")
	return 2
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
