package ui

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayering: imports flow main → ui → steps → clients. The wizard's
// code (tests may use the simulators) never imports the API clients.
func TestLayering(t *testing.T) {
	banned := []string{"github.com/pvesso/pvesso/authentik", "github.com/pvesso/pvesso/proxmox"}
	for _, dir := range []string{".", "browser"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s: the test would check nothing", dir)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range banned {
					if p == b || strings.HasPrefix(p, b+"/") && !strings.HasSuffix(p, "/sim") {
						t.Errorf("%s imports %s: go through steps", f, p)
					}
				}
			}
		}
	}
}
