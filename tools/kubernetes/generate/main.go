// Command generate writes the two files that plugin/main.go embeds, from the provider module's
// committed cmd/pulumi-resource-kubernetes/schema.json and terraform-mapping.json:
//
//   - schema-embed.json: the package schema with its "version" set to the release being built
//     (the engine compares it with the plugin version it loaded);
//   - terraform-mapping-embed.json: the mapping, compacted.
//
// Usage: go run ./generate -module-dir <provider module dir> -version v4.25.0 -out ./plugin
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	moduleDir := flag.String("module-dir", "", "directory of github.com/pulumi/pulumi-kubernetes/provider/v4 (go list -m -f '{{.Dir}}')")
	version := flag.String("version", "", "release being built, e.g. v4.25.0")
	outDir := flag.String("out", "plugin", "directory of the plugin's main package")
	flag.Parse()
	if *moduleDir == "" || *version == "" {
		fail(fmt.Errorf("-module-dir and -version are required"))
	}
	src := filepath.Join(*moduleDir, "cmd", "pulumi-resource-kubernetes")

	schema, err := versionedSchema(filepath.Join(src, "schema.json"), *version)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*outDir, "schema-embed.json"), schema, 0o644); err != nil {
		fail(err)
	}
	mapping, err := compactJSON(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*outDir, "terraform-mapping-embed.json"), mapping, 0o644); err != nil {
		fail(err)
	}
}

// versionedSchema reads a package schema and sets its top-level "version". The other fields are
// kept as they are (raw JSON), so nothing of the schema is lost in the round trip.
func versionedSchema(path, version string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", path, err)
	}
	if _, ok := fields["name"]; !ok {
		return nil, fmt.Errorf("%s: no \"name\": not a Pulumi package schema", path)
	}
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	fields["version"] = v
	return json.Marshal(fields)
}

func compactJSON(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out.Bytes(), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "generate:", err)
	os.Exit(1)
}
