package deploy

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// schema checks a YAML node and returns its problems, each naming the
// node's path and line. It is how the CI files without Go types of their
// own (GitLab CI, GitHub Actions) are checked as strictly as a Kubernetes
// object: a key the format does not define is an error, and so is a value
// of the wrong shape.
type schema func(path string, n *yaml.Node) []string

func problem(path string, n *yaml.Node, format string, args ...any) []string {
	return []string{fmt.Sprintf("%s (line %d): %s", path, n.Line, fmt.Sprintf(format, args...))}
}

// str is a scalar: a string, number or boolean.
func str() schema {
	return func(path string, n *yaml.Node) []string {
		if n.Kind != yaml.ScalarNode {
			return problem(path, n, "want a scalar")
		}
		return nil
	}
}

// anything is any value (free-form maps such as a step's with:).
func anything() schema { return func(string, *yaml.Node) []string { return nil } }

// seq is a list of items.
func seq(item schema) schema {
	return func(path string, n *yaml.Node) []string {
		if n.Kind != yaml.SequenceNode {
			return problem(path, n, "want a list")
		}
		var out []string
		for i, c := range n.Content {
			out = append(out, item(fmt.Sprintf("%s[%d]", path, i), c)...)
		}
		return out
	}
}

// dict is a map of any keys to values of one shape.
func dict(value schema) schema {
	return func(path string, n *yaml.Node) []string {
		if n.Kind != yaml.MappingNode {
			return problem(path, n, "want a map")
		}
		var out []string
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seen[k] {
				out = append(out, problem(path, n.Content[i], "duplicate key %q", k)...)
			}
			seen[k] = true
			out = append(out, value(path+"."+k, n.Content[i+1])...)
		}
		return out
	}
}

// fields is a map with exactly these optional keys.
func fields(known map[string]schema) schema {
	return func(path string, n *yaml.Node) []string {
		if n.Kind != yaml.MappingNode {
			return problem(path, n, "want a map")
		}
		var out []string
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if seen[k] {
				out = append(out, problem(path, n.Content[i], "duplicate key %q", k)...)
			}
			seen[k] = true
			s, ok := known[k]
			if !ok {
				out = append(out, problem(path, n.Content[i], "unknown key %q", k)...)
				continue
			}
			out = append(out, s(path+"."+k, n.Content[i+1])...)
		}
		return out
	}
}

// oneOf accepts a value any of the schemas accepts.
func oneOf(schemas ...schema) schema {
	return func(path string, n *yaml.Node) []string {
		var all []string
		for _, s := range schemas {
			p := s(path, n)
			if len(p) == 0 {
				return nil
			}
			all = append(all, p...)
		}
		return problem(path, n, "no allowed form fits: %s", strings.Join(all, "; "))
	}
}

// strOrList is a scalar or a list of scalars (GitLab's script, GitHub's
// needs).
func strOrList() schema { return oneOf(str(), seq(str())) }

// readYAML parses path into its document node.
func readYAML(t *testing.T, path string) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		t.Fatalf("%s: not one YAML document", path)
	}
	return doc.Content[0]
}

// get is the value of key in a mapping node, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// text is the node's source text, for checks on what a job runs.
func text(t *testing.T, n *yaml.Node) string {
	t.Helper()
	b, err := yaml.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
