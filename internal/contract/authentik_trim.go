package contract

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// AuthentikOperations is the list of (path, method) pairs the client in package
// authentik sends. Keep it in step with authentik/*.go (the contract tests fail
// with "no route" when the client uses a path that was trimmed away).
var AuthentikOperations = []struct{ Path, Method string }{
	{"/admin/version/", "get"},
	{"/core/users/me/", "get"},
	{"/core/users/", "get"},
	{"/flows/instances/", "get"},
	{"/flows/instances/{slug}/", "get"},
	{"/propertymappings/provider/scope/", "get"},
	{"/propertymappings/scope/", "get"}, // only <= 2024.6; absent from every schema we keep
	{"/crypto/certificatekeypairs/", "get"},
	{"/crypto/certificatekeypairs/{kp_uuid}/", "get"},
	{"/crypto/certificatekeypairs/{kp_uuid}/view_certificate/", "get"},
	{"/crypto/certificatekeypairs/generate/", "post"},
	{"/providers/oauth2/", "get"},
	{"/providers/oauth2/", "post"},
	{"/providers/oauth2/{id}/", "get"},
	{"/providers/oauth2/{id}/", "put"},
	{"/providers/oauth2/{id}/", "delete"},
	{"/providers/oauth2/{id}/setup_urls/", "get"},
	{"/core/applications/", "get"},
	{"/core/applications/", "post"},
	{"/core/applications/{slug}/", "get"},
	{"/core/applications/{slug}/", "put"},
	{"/core/applications/{slug}/", "delete"},
	{"/core/groups/", "get"},
	{"/policies/bindings/", "get"},
	{"/policies/bindings/", "post"},
	{"/policies/bindings/{policy_binding_uuid}/", "delete"},
}

// TrimAuthentikSchema returns the trimmed schema and the operations that were not found.
func TrimAuthentikSchema(src []byte) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("not a YAML mapping document")
	}
	root := doc.Content[0]
	paths := get(root, "paths")
	comps := get(root, "components")
	if paths == nil || comps == nil {
		return nil, nil, fmt.Errorf("schema has no paths or components")
	}

	// Keep wanted operations (and path-level keys such as parameters).
	want := map[string]map[string]bool{}
	for _, op := range AuthentikOperations {
		if want[op.Path] == nil {
			want[op.Path] = map[string]bool{}
		}
		want[op.Path][op.Method] = true
	}
	var missing []string
	newPaths := &yaml.Node{Kind: yaml.MappingNode}
	found := map[string]bool{}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		p := paths.Content[i].Value
		methods, ok := want[p]
		if !ok {
			continue
		}
		item := paths.Content[i+1]
		newItem := &yaml.Node{Kind: yaml.MappingNode}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k := item.Content[j].Value
			if isMethod(k) && !methods[k] {
				continue
			}
			if isMethod(k) {
				found[p+" "+k] = true
			}
			newItem.Content = append(newItem.Content, item.Content[j], item.Content[j+1])
		}
		newPaths.Content = append(newPaths.Content, paths.Content[i], newItem)
	}
	for _, op := range AuthentikOperations {
		if !found[op.Path+" "+op.Method] {
			missing = append(missing, strings.ToUpper(op.Method)+" "+op.Path)
		}
	}

	// Collect component references transitively.
	refs := map[string]bool{}
	var queue []string
	enqueue := func(r string) {
		if !refs[r] {
			refs[r] = true
			queue = append(queue, r)
		}
	}
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "$ref" && n.Content[i+1].Kind == yaml.ScalarNode {
					enqueue(n.Content[i+1].Value)
				}
			}
			// discriminator mappings are references too
			if m := get(get(n, "discriminator"), "mapping"); m != nil {
				for i := 1; i < len(m.Content); i += 2 {
					enqueue(m.Content[i].Value)
				}
			}
		}
		for _, c := range n.Content {
			collect(c)
		}
	}
	collect(newPaths)
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		kind, name, ok := splitRef(r)
		if !ok {
			return nil, nil, fmt.Errorf("unsupported reference %q", r)
		}
		s := get(get(comps, kind), name)
		if s == nil {
			return nil, nil, fmt.Errorf("dangling reference %q", r)
		}
		collect(s)
	}

	// Rebuild components: only referenced entries, kinds in the original order.
	byKind := map[string][]string{}
	for r := range refs {
		kind, name, _ := splitRef(r)
		byKind[kind] = append(byKind[kind], name)
	}
	newComps := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(comps.Content); i += 2 {
		kind := comps.Content[i].Value
		if kind == "securitySchemes" {
			newComps.Content = append(newComps.Content, comps.Content[i], comps.Content[i+1])
			continue
		}
		names := byKind[kind]
		if len(names) == 0 {
			continue
		}
		sort.Strings(names)
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, n := range names {
			m.Content = append(m.Content, scalar(n), get(comps.Content[i+1], n))
		}
		newComps.Content = append(newComps.Content, comps.Content[i], m)
	}

	newRoot := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i].Value
		switch k {
		case "paths":
			newRoot.Content = append(newRoot.Content, root.Content[i], newPaths)
		case "components":
			newRoot.Content = append(newRoot.Content, root.Content[i], newComps)
		default:
			newRoot.Content = append(newRoot.Content, root.Content[i], root.Content[i+1])
		}
	}
	meta := &yaml.Node{Kind: yaml.MappingNode}
	meta.Content = append(meta.Content, scalar("tool"), scalar("go run ./internal/contract/aktrim"))
	miss := &yaml.Node{Kind: yaml.SequenceNode}
	for _, m := range missing {
		miss.Content = append(miss.Content, scalar(m))
	}
	meta.Content = append(meta.Content, scalar("missing"), miss)
	newRoot.Content = append(newRoot.Content, scalar("x-pvesso-trim"), meta)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(newRoot); err != nil {
		return nil, nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), missing, nil
}

// splitRef splits "#/components/<kind>/<name>".
func splitRef(r string) (kind, name string, ok bool) {
	rest, found := strings.CutPrefix(r, "#/components/")
	if !found {
		return "", "", false
	}
	kind, name, ok = strings.Cut(rest, "/")
	return kind, name, ok && name != "" && !strings.Contains(name, "/")
}

func isMethod(k string) bool {
	switch k {
	case "get", "put", "post", "delete", "patch", "head", "options", "trace":
		return true
	}
	return false
}

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
