//go:build ignore

// gen trims the official Proxmox VE API-viewer schemas to the paths the
// simulator serves. Run from this directory:
//
//	go run gen.go /path/to/shared/reference/proxmox
//
// It writes pve-8.0.json and pve-9.2.json (see SOURCE.md).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

var paths = []string{
	"/version",
	"/cluster/status",
	"/nodes",
	"/access",
	"/access/ticket",
	"/access/permissions",
	"/access/roles",
	"/access/domains",
	"/access/domains/{realm}",
	"/access/groups",
	"/access/groups/{groupid}",
	"/access/acl",
	"/access/users",
	"/access/users/{userid}",
	"/access/users/{userid}/token",
	"/access/users/{userid}/token/{tokenid}",
	"/access/openid",
	"/access/openid/auth-url",
	"/access/openid/login",
}

type node struct {
	Path     string                     `json:"path"`
	Info     map[string]json.RawMessage `json:"info"`
	Children []node                     `json:"children"`
}

func walk(ns []node, out map[string]node) {
	for _, n := range ns {
		out[n.Path] = n
		walk(n.Children, out)
	}
}

func main() {
	dir := os.Args[1]
	for _, v := range []string{"8.0", "9.2"} {
		raw, err := os.ReadFile(filepath.Join(dir, "pve-"+v+"-apidoc.json"))
		if err != nil {
			panic(err)
		}
		var tree []node
		if err := json.Unmarshal(raw, &tree); err != nil {
			panic(err)
		}
		idx := map[string]node{}
		walk(tree, idx)
		out := map[string]map[string]json.RawMessage{}
		for _, p := range paths {
			n, ok := idx[p]
			if !ok {
				panic(fmt.Sprintf("%s: %s missing", v, p))
			}
			out[p] = n.Info
		}
		keys := make([]string, 0, len(out))
		for k := range out {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b, err := json.MarshalIndent(out, "", " ")
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile("pve-"+v+".json", append(b, '\n'), 0o644); err != nil {
			panic(err)
		}
		fmt.Println(v, len(keys), "paths", len(b), "bytes")
	}
}
