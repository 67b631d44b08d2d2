//go:build tools

// Package tools pins the etcd server that backs the test harness's API servers.
package tools

import _ "go.etcd.io/etcd/server/v3"
