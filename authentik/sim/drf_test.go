package sim

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestToInt(t *testing.T) {
	cases := []struct {
		in   any
		want int64
		ok   bool
	}{
		{json.Number("12"), 12, true},
		{json.Number("12.0"), 12, true},
		{json.Number("12.5"), 0, false},
		{"12", 12, true},
		{" 12 ", 12, true},
		{"12.000", 12, true},
		{"12.5", 0, false},
		{"abc", 0, false},
		{true, 0, false},
		{nil, 0, false},
	}
	for _, c := range cases {
		got, ok := toInt(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("toInt(%#v) = %d,%v want %d,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestToBool(t *testing.T) {
	for _, in := range []any{true, "true", "True", "1", "yes", "on", json.Number("1")} {
		if v, ok := toBool(in); !ok || !v {
			t.Errorf("toBool(%#v) = %v,%v", in, v, ok)
		}
	}
	for _, in := range []any{false, "false", "0", "no", "off", json.Number("0")} {
		if v, ok := toBool(in); !ok || v {
			t.Errorf("toBool(%#v) = %v,%v", in, v, ok)
		}
	}
	for _, in := range []any{"maybe", json.Number("2"), nil, []any{}} {
		if _, ok := toBool(in); ok {
			t.Errorf("toBool(%#v) accepted", in)
		}
	}
}

func TestNormUUID(t *testing.T) {
	want := "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	for _, in := range []string{want, "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", "0f1e2d3c4b5a49788695a4b3c2d1e0f9", "{" + want + "}", "urn:uuid:" + want} {
		if got, ok := normUUID(in); !ok || got != want {
			t.Errorf("normUUID(%q) = %q,%v", in, got, ok)
		}
	}
	for _, in := range []string{"", "slug", want + "0"} {
		if _, ok := normUUID(in); ok {
			t.Errorf("normUUID(%q) accepted", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]float64{"minutes=1": 60, "hours=1": 3600, "days=30": 30 * 86400, "hours=1;minutes=2;seconds=3": 3723, "seconds=0": 0, "weeks=1": 604800}
	for in, want := range cases {
		if got, ok := parseDuration(in); !ok || got != want {
			t.Errorf("parseDuration(%q) = %v,%v want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "1h", "hours", "years=1", "hours=x"} {
		if _, ok := parseDuration(in); ok {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

func TestFormFields(t *testing.T) {
	f := &form{data: map[string]any{
		"s": "  x  ", "n": json.Number("5"), "blank": " ", "null": nil, "b": true, "list": "notalist",
		"ref": "", "c": "nope",
	}, errs: map[string]any{}}
	if s, ok := f.str("s", strOpts{}); !ok || s != "x" {
		t.Errorf("trim: %q", s)
	}
	if s, ok := f.str("n", strOpts{}); !ok || s != "5" {
		t.Errorf("number as string: %q", s)
	}
	f.str("b", strOpts{})
	f.str("blank", strOpts{})
	f.str("null", strOpts{})
	f.str("missing", strOpts{required: true})
	f.uuidRefList("list", func(string) bool { return true })
	f.uuidRef("ref", false, false, func(string) bool { return true })
	f.choice("c", false, []string{"a"})
	want := map[string]any{
		"b":       []string{msgNotString},
		"blank":   []string{msgBlank},
		"null":    []string{msgNull},
		"missing": []string{msgRequired},
		"list":    []string{`Expected a list of items but got type "str".`},
		"ref":     []string{msgNull},
		"c":       []string{`"nope" is not a valid choice.`},
	}
	if !reflect.DeepEqual(f.errs, want) {
		t.Errorf("errors %v\nwant   %v", f.errs, want)
	}
	// null and "" are an accepted None where the relation is nullable.
	nullable := &form{data: map[string]any{"a": nil, "b": "", "c": json.Number("4")}, errs: map[string]any{}}
	if id, ok := nullable.uuidRef("a", true, true, func(string) bool { return true }); !ok || id != "" {
		t.Errorf("nullable uuid ref null: %q,%v", id, ok)
	}
	if pk, ok := nullable.intRef("b", true, func(int) bool { return true }); !ok || pk != nil {
		t.Errorf("nullable int ref \"\": %v,%v", pk, ok)
	}
	if pk, ok := nullable.intRef("c", true, func(n int) bool { return n == 4 }); !ok || pk == nil || *pk != 4 {
		t.Errorf("int ref 4: %v,%v", pk, ok)
	}
	if !nullable.ok() {
		t.Errorf("nullable refs: %v", nullable.errs)
	}
	partial := &form{data: map[string]any{}, partial: true, errs: map[string]any{}}
	partial.str("name", strOpts{required: true})
	if !partial.ok() {
		t.Error("partial forms do not require fields")
	}
}

func TestVersionSwitches(t *testing.T) {
	v := func(s string) version {
		x, err := parseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		ver  string
		f    func(version) bool
		want bool
		name string
	}{
		{"2024.8.4", version.redirectURIObjects, false, "objects 2024.8.4"},
		{"2024.8.5", version.redirectURIObjects, true, "objects 2024.8.5"},
		{"2024.10.2", version.redirectURIObjects, false, "objects 2024.10.2"},
		{"2024.10.3", version.redirectURIObjects, true, "objects 2024.10.3"},
		{"2024.6.3", version.scopePathProvider, false, "scope path 2024.6"},
		{"2024.8.0", version.scopePathProvider, true, "scope path 2024.8"},
		{"2024.8.4", version.invalidationFlow, false, "invalidation 2024.8"},
		{"2024.10.0", version.invalidationFlow, true, "invalidation 2024.10"},
		{"2025.10.2", version.keyTypeEnum, false, "key_type 2025.10"},
		{"2025.12.0", version.keyTypeEnum, true, "key_type 2025.12"},
		{"2026.2.2", version.grantTypes, false, "grant_types 2026.2"},
		{"2026.5.0-rc1", version.grantTypes, true, "grant_types 2026.5"},
		{"2025.10.0", version.pageSizeCapped, false, "page size 2025.10"},
		{"2025.12.1", version.pageSizeCapped, true, "page size 2025.12"},
	}
	for _, c := range cases {
		if got := c.f(v(c.ver)); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
	if _, err := parseVersion("2025"); err == nil {
		t.Error("parseVersion accepted a year")
	}
}
