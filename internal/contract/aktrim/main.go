// Command aktrim trims an official authentik OpenAPI schema (schema.yml) down to
// the operations the pvesso authentik client uses, plus every component those
// operations reference (transitively). The result is what the contract tests
// load from internal/contract/testdata/ (see testdata/authentik-SOURCE.md).
//
// Usage (from the repository root):
//
//	go run ./internal/contract/aktrim -in ../shared/reference/authentik/schema-2025.8.1.yml \
//	    -out internal/contract/testdata/authentik-2025.8.1.yml
//
// Nothing but pruning happens; see contract.TrimAuthentikSchema.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pvesso/pvesso/internal/contract"
)

func main() {
	in := flag.String("in", "", "official authentik schema.yml")
	out := flag.String("out", "", "trimmed output file")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: aktrim -in schema.yml -out trimmed.yml")
		os.Exit(2)
	}
	src, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, missing, err := contract.TrimAuthentikSchema(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, m := range missing {
		fmt.Fprintf(os.Stderr, "aktrim: %s not in %s\n", m, *in)
	}
	if err := os.WriteFile(*out, res, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
