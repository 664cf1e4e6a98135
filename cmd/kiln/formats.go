package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// outputFormats are what -o/--output of the inspect commands takes, as
// pack's inspect does.
var outputFormats = []string{"human-readable", "json", "yaml", "toml"}

// checkOutputFormat checks -o.
func checkOutputFormat(f string) error {
	for _, o := range outputFormats {
		if f == o {
			return nil
		}
	}
	return fmt.Errorf("--output %q: want human-readable, json, yaml or toml", f)
}

// printStructured prints v as JSON, YAML or TOML with the same field names:
// v's JSON names (YAML and TOML are made from the JSON document).
func printStructured(w io.Writer, format string, v any) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	switch format {
	case "yaml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return err
		}
		return enc.Close()
	case "toml":
		return toml.NewEncoder(w).Encode(dropNulls(doc))
	}
	return checkOutputFormat(format)
}

// dropNulls removes JSON nulls, which TOML cannot write.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}
