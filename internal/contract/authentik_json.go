package contract

import (
	"bytes"
	"encoding/json"
)

// jsonUnmarshal decodes with UseNumber so integers survive unchanged.
func jsonUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
