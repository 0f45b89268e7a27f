//go:build tools

// Package tools pins the Kubernetes commands the test API server needs (kube-apiserver,
// kube-controller-manager, kubectl) to k8s.io/kubernetes at the version of go.mod, so that
// `go build` of each command path uses this module's requirements.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
