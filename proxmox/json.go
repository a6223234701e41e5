package proxmox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// PVE is written in Perl; its JSON output is loosely typed: booleans arrive
// as 0/1 (sometimes true/false or "1"), integers sometimes as strings, and
// lists sometimes as comma-separated strings. These types decode all forms.

// flexBool decodes 1/0, "1"/"0", true/false; null/absent stays unset.
type flexBool struct {
	Set   bool
	Value bool
}

func (b *flexBool) UnmarshalJSON(d []byte) error {
	s := strings.TrimSpace(string(d))
	if s == "null" {
		*b = flexBool{}
		return nil
	}
	s = strings.Trim(s, `"`)
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		*b = flexBool{true, true}
	case "0", "false", "no", "off", "":
		*b = flexBool{true, false}
	default:
		return fmt.Errorf("not a boolean: %s", d)
	}
	return nil
}

func (b flexBool) or(def bool) bool {
	if !b.Set {
		return def
	}
	return b.Value
}

// flexInt decodes a JSON number or numeric string.
type flexInt int64

func (n *flexInt) UnmarshalJSON(d []byte) error {
	s := strings.Trim(strings.TrimSpace(string(d)), `"`)
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", d)
	}
	*n = flexInt(int64(f))
	return nil
}

// flexFloat decodes a JSON number or numeric string.
type flexFloat float64

func (n *flexFloat) UnmarshalJSON(d []byte) error {
	s := strings.Trim(strings.TrimSpace(string(d)), `"`)
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", d)
	}
	*n = flexFloat(f)
	return nil
}

// flexList decodes a JSON array of strings or a PVE list string
// ("a,b", separators , ; and whitespace).
type flexList []string

func (l *flexList) UnmarshalJSON(d []byte) error {
	d = bytes.TrimSpace(d)
	if len(d) == 0 || string(d) == "null" {
		*l = nil
		return nil
	}
	if d[0] == '[' {
		var arr []string
		if err := json.Unmarshal(d, &arr); err != nil {
			return err
		}
		*l = arr
		return nil
	}
	var s string
	if err := json.Unmarshal(d, &s); err != nil {
		return err
	}
	*l = splitList(s)
	return nil
}

// splitList splits like PVE::Tools::split_list.
func splitList(s string) []string {
	if strings.Contains(s, "\x00") {
		return strings.Split(s, "\x00")
	}
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(f) == 0 {
		return nil
	}
	return f
}

// flexString decodes a JSON string, number or boolean as its text.
type flexString string

func (s *flexString) UnmarshalJSON(d []byte) error {
	d = bytes.TrimSpace(d)
	if string(d) == "null" {
		*s = ""
		return nil
	}
	if len(d) > 0 && d[0] == '"' {
		var v string
		if err := json.Unmarshal(d, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	*s = flexString(d)
	return nil
}
