// Command trimpve cuts a Proxmox VE API-viewer schema (apidoc.json) down to the
// paths pvesso's client and simulator use, for committing under
// internal/contract/testdata/.
//
// Every kept node keeps its "path", "text", "leaf" and complete "info"
// (all methods with their full parameters, returns, permissions, ...);
// "children" are dropped and the kept nodes are written as one flat array
// sorted by path. Values are re-serialised from the parsed JSON (numbers kept
// verbatim via json.Number, object keys sorted), so the output is JSON-equal
// to the source nodes, not byte-identical.
//
//	go run ./internal/contract/trimpve -in ../shared/reference/proxmox/pve-9.2-apidoc.json \
//	    -out internal/contract/testdata/pve-9.2-apidoc.trimmed.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Kept: everything under /access (realms, users, groups, ACL, tickets, TFA,
// tokens, OpenID, permissions) plus version, cluster status and node listing.
var keepExact = map[string]bool{
	"/version":                        true,
	"/cluster":                        true,
	"/cluster/status":                 true,
	"/nodes":                          true,
	"/nodes/{node}":                   true,
	"/nodes/{node}/certificates":      true,
	"/nodes/{node}/certificates/info": true,
}

func keep(path string) bool {
	return keepExact[path] || path == "/access" || strings.HasPrefix(path, "/access/")
}

// Trim returns the trimmed, indented JSON for an apidoc array.
func Trim(src []byte) ([]byte, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var top []any
	if err := dec.Decode(&top); err != nil {
		return nil, nil, fmt.Errorf("parse apidoc: %w", err)
	}
	var kept []map[string]any
	var walk func(nodes []any) error
	walk = func(nodes []any) error {
		for _, x := range nodes {
			n, ok := x.(map[string]any)
			if !ok && x != nil {
				return fmt.Errorf("apidoc node is not an object: %v", x)
			}
			path, _ := n["path"].(string)
			if keep(path) {
				out := map[string]any{}
				for k, v := range n {
					if k != "children" {
						out[k] = v
					}
				}
				kept = append(kept, out)
			}
			if ch := n["children"]; ch != nil {
				children, isList := ch.([]any)
				if !isList {
					return fmt.Errorf("children of %s: not an array", path)
				}
				if err := walk(children); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(top); err != nil {
		return nil, nil, err
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i]["path"].(string) < kept[j]["path"].(string) })
	paths := make([]string, len(kept))
	for i, n := range kept {
		paths[i] = n["path"].(string)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(kept); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), paths, nil
}

func main() {
	in := flag.String("in", "", "source apidoc.json")
	out := flag.String("out", "", "output file")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: trimpve -in apidoc.json -out trimmed.json")
		os.Exit(2)
	}
	src, err := os.ReadFile(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, paths, err := Trim(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, res, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d paths kept\n", *out, len(paths))
}
