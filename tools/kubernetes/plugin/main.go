// Command pulumi-resource-kubernetes is the Kubernetes provider plugin of pulumi-kubernetes, built
// from its Go module at the release pinned in tools/versions.env.
//
// The upstream command embeds two generated files (the package schema with its version set, and
// the Terraform mapping) that are not part of the module zip. ../generate writes them here from
// the module's committed schema.json and terraform-mapping.json before the build.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

// pluginName is the package name the engine asks for ("kubernetes"): it must match the resource
// type tokens of the Python SDK (kubernetes:apps/v1:StatefulSet, ...).
const pluginName = "kubernetes"

//go:embed schema-embed.json
var packageSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(pluginName, version.Version, packageSchema, terraformMapping)
}
