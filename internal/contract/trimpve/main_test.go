package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestTrimSmall(t *testing.T) {
	src := []byte(`[{"path":"/access","text":"access","info":{"GET":{"method":"GET","parameters":{"additionalProperties":0}}},
	  "children":[{"path":"/access/acl","leaf":1,"info":{"PUT":{"parameters":{"properties":{"path":{"type":"string","maxLength":64}}}}}}]},
	 {"path":"/storage","children":[{"path":"/storage/{storage}","info":{}}]},
	 {"path":"/version","leaf":1,"info":{"GET":{"returns":{"type":"object"}}}}]`)
	out, paths, err := Trim(src)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths, []string{"/access", "/access/acl", "/version"}) {
		t.Fatalf("paths %v", paths)
	}
	var nodes []map[string]any
	if err := json.Unmarshal(out, &nodes); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if _, ok := n["children"]; ok {
			t.Errorf("%v kept children", n["path"])
		}
	}
	if !bytes.Contains(out, []byte(`"maxLength": 64`)) {
		t.Errorf("parameter definition lost: %s", out)
	}
	if _, _, err := Trim([]byte(`{`)); err == nil {
		t.Error("bad JSON accepted")
	}
}

// The committed files are exactly what the program produces from the
// reference schemas (when those are present; a fresh clone lacks them).
func TestCommittedFilesReproduce(t *testing.T) {
	for _, v := range []string{"7.0", "8.0", "9.2"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "reference", "proxmox", "pve-"+v+"-apidoc.json"))
		if err != nil {
			t.Skipf("reference schema not available (fresh clone): %v", err)
		}
		want, _, err := Trim(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "testdata", "pve-"+v+"-apidoc.trimmed.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata for %s differs from a fresh trim; rerun trimpve", v)
		}
	}
}
