# gitfleet: make demo shows it working, make test proves it. Both build what they need.
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS_BIN := $(CURDIR)/.tools/bin
export GITFLEET_TOOLS_BIN := $(TOOLS_BIN)
# go-nvml's own nvml.h marks functions deprecated; its cgo build would print ~30 warnings.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

.PHONY: all build tools demo-tools sysdeps test unit e2e demo vet fmt bench clean

all: build

## build: the gitfleet CLI and the node plugins into bin/
## gitfleet-cni is fully static. gitfleet-gpu links everything but glibc: go-nvml calls
## the driver's libnvidia-ml through dlopen, which only works in a dynamically linked
## program; netgo,osusergo keep DNS and user lookups in Go, so glibc is all it needs.
build:
	$(GO) build -o $(BIN)/gitfleet ./cmd/gitfleet
	CGO_ENABLED=0 $(GO) build -o $(BIN)/gitfleet-cni ./cmd/gitfleet-cni
	CGO_ENABLED=1 $(GO) build -tags netgo,osusergo -o $(BIN)/gitfleet-gpu ./cmd/gitfleet-gpu

## tools: kube-apiserver, etcd, kwok ... from the Go module proxy into .tools/bin (cached)
tools:
	@bash test/tools/build.sh

## demo-tools: only the binaries make demo runs (etcd, kube-apiserver, kube-controller-manager,
## kube-scheduler, kwok); each is cached on its own, so make tools later builds only the rest
demo-tools:
	@bash test/tools/build.sh demo

## sysdeps: the system programs the node-plugin and machine tests drive for real (Debian
## packages): sshd for the SSH preflight tests, iptables for the CNI plugin's NAT mode
sysdeps:
	@bash test/tools/sysdeps.sh

## vet: static checks
vet:
	$(GO) vet ./...
	@out=$$(gofmt -l cmd reconciler render schema test nodeplugins); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: every test, unit and end-to-end against real API servers, plus short fuzz runs
## (the App-path fuzzers run a number of inputs, not a time: a render can be slow, and a
## worker inside one when a -fuzztime duration ends fails the run with "context deadline exceeded")
test: tools sysdeps vet
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 15s ./schema/
	$(GO) test -run '^$$' -fuzz FuzzParseDocument -fuzztime 10s ./render/
	$(GO) test -run '^$$' -fuzz FuzzSplitManifests -fuzztime 10s ./render/
	$(GO) test -run '^$$' -fuzz FuzzRenderApp -fuzztime 5000x ./render/
	$(GO) test -run '^$$' -fuzz FuzzRenderKustomize -fuzztime 5000x ./render/
	$(GO) test -run '^$$' -fuzz FuzzRenderHelmValues -fuzztime 5000x ./render/

## demo: four local member clusters, a local fleet repo from fleet-example/, apply, a status
## commit and a plan; it builds only what it runs: the gitfleet CLI (not the node plugins)
demo: demo-tools
	$(GO) build -o $(BIN)/gitfleet ./cmd/gitfleet
	$(GO) run ./test/demo --gitfleet $(BIN)/gitfleet --example fleet-example

## bench: benchmarks, each reported as a ratio against a baseline measured in the same run,
## ending in one table of every measure, its baseline, ratio, goal and whether it is met.
## GITFLEET_BENCH_FLEET_SIZES=10,30 leaves out the 100-cluster fleet (for CI that cannot
## spend its minutes); GITFLEET_BENCH_SCALE=0.1 shrinks the reconcile benchmarks' object
## counts for a quick look (the table names the sizes that ran).
bench: tools sysdeps
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./... | $(GO) run ./test/benchreport

clean:
	rm -rf $(BIN)
