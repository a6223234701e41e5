package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// Exit codes (contract).
const (
	exitOK          = 0
	exitFailed      = 1 // a check or step failed, or changes await --yes
	exitUsage       = 2 // the message names the flag or environment variable
	exitInterrupted = 130
)

// cli is one invocation: the seams tests replace (environment, streams).
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// interactive is true when stdin and stdout are terminals.
	interactive bool
	// lookup resolves cluster node names for --all-nodes (nil: the
	// system resolver).
	lookup func(ctx context.Context, host string) ([]string, error)
}

// isTerminal reports whether f is a terminal. Anything that is not an
// *os.File (tests) is not.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok || file == nil {
		return false
	}
	return isatty.IsTerminal(file.Fd()) || isatty.IsCygwinTerminal(file.Fd())
}

// run is the whole program behind main: tests call it with their own
// environment and streams. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{
		getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		interactive: isTerminal(stdin) && isTerminal(stdout),
	}
	return c.run(ctx, args)
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			fmt.Fprintf(c.stdout, "pvesso %s\n", version())
			return exitOK
		case "help", "-h", "-help", "--help":
			cmd := ""
			if len(args) > 1 {
				cmd = strings.Join(args[1:], " ")
				if _, ok := commandFlags[cmd]; !ok {
					return c.usageErr(usagef("unknown command %q: run \"pvesso help\" for the list", cmd))
				}
			}
			fmt.Fprint(c.stdout, usageText(cmd))
			return exitOK
		}
	}
	o, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		cmd := "setup"
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			cmd = args[0]
			if cmd == "users" && len(args) > 1 {
				cmd += " " + args[1]
			}
		}
		fmt.Fprint(c.stdout, usageText(cmd))
		return exitOK
	}
	if err != nil {
		return c.usageErr(err)
	}

	if o.cmd == "demo" {
		return c.demo(ctx, o)
	}

	path, err := configPath(c.getenv)
	if err != nil {
		return c.usageErr(usagef("%v", err))
	}
	o.configPath = path
	cfg, err := loadConfig(path)
	if err != nil {
		return c.usageErr(usagef("%v", err))
	}

	wizard := o.cmd == "setup" && c.interactive && !o.yes && !o.plan && !o.jsonOut
	if err := o.resolve(c.getenv, cfg, !wizard); err != nil {
		return c.usageErr(err)
	}
	if wizard {
		return c.wizard(ctx, o)
	}
	if err := o.inputs().Validate(); err != nil {
		return c.usageErr(err)
	}
	return newPlain(c, o).run(ctx)
}

func (c *cli) usageErr(err error) int {
	fmt.Fprintf(c.stderr, "pvesso: %v\n", err)
	return exitUsage
}
