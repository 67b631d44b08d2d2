//go:build tools

// Package tools pins kwok, which gives harness clusters fake Ready nodes and Running pods.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
