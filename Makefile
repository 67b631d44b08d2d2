# gitfleet: make demo shows it working, make test proves it. Both build what they need.
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS_BIN := $(CURDIR)/.tools/bin
export GITFLEET_TOOLS_BIN := $(TOOLS_BIN)
# go-nvml's own nvml.h marks functions deprecated; its cgo build would print ~30 warnings.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

# The version every binary and image carries (gitfleet version, the images' tags, the node
# plugins' tags); the commit time is every image file's time, so an image is reproducible.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
LDFLAGS := -s -w -X main.version=$(VERSION)
GOBUILD := $(GO) build -trimpath -ldflags '$(LDFLAGS)'

# make image: OCI image layouts in bin/image/NAME; make image-push sends them to
# IMAGE_REPO/NAME and the references pinned by digest are in bin/image/images.txt.
IMAGE_DIR := $(BIN)/image
IMAGE_REPO ?= docker.io/gitfleet
IMAGE_ARCHES ?= amd64 arm64
HOST_ARCH := $(shell $(GO) env GOARCH)
IMAGES := gitfleet gitfleet-gpu gitfleet-cni
# gitfleet-gpu needs cgo: an architecture other than the host's needs its C cross compiler.
CC_arm64 ?= aarch64-linux-gnu-gcc
CC_amd64 ?= x86_64-linux-gnu-gcc

.PHONY: all build tools demo-tools sysdeps test unit e2e demo vet fmt bench clean image image-push example-install

all: build

## build: the gitfleet CLI and the node plugins into bin/
## gitfleet-cni is fully static. gitfleet-gpu links everything but glibc: go-nvml calls
## the driver's libnvidia-ml through dlopen, which only works in a dynamically linked
## program; netgo,osusergo keep DNS and user lookups in Go, so glibc is all it needs.
build:
	$(GO) build -ldflags '-X main.version=$(VERSION)' -o $(BIN)/gitfleet ./cmd/gitfleet
	CGO_ENABLED=0 $(GO) build -o $(BIN)/gitfleet-cni ./cmd/gitfleet-cni
	CGO_ENABLED=1 $(GO) build -tags netgo,osusergo -o $(BIN)/gitfleet-gpu ./cmd/gitfleet-gpu

## image: static binaries for IMAGE_ARCHES (-trimpath, version from git) and one OCI image
## layout per binary in bin/image/NAME (no Docker, no base image: test/imagetool). gitfleet
## and gitfleet-cni are built for every architecture; gitfleet-gpu (cgo, glibc for the
## driver's dlopen) for the host's and for those whose C cross compiler (CC_<arch>) exists.
image:
	@set -e; for arch in $(IMAGE_ARCHES); do \
	  echo "building gitfleet and gitfleet-cni for linux/$$arch"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GOBUILD) -o $(BIN)/linux_$$arch/gitfleet ./cmd/gitfleet; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GOBUILD) -o $(BIN)/linux_$$arch/gitfleet-cni ./cmd/gitfleet-cni; \
	  cc=""; if [ "$$arch" != "$(HOST_ARCH)" ]; then cc=$$(case $$arch in arm64) echo "$(CC_arm64)";; amd64) echo "$(CC_amd64)";; esac); \
	    if ! command -v "$$cc" >/dev/null 2>&1; then echo "gitfleet-gpu: no C cross compiler $$cc for $$arch; its image is $(HOST_ARCH) only"; rm -f $(BIN)/linux_$$arch/gitfleet-gpu; continue; fi; fi; \
	  echo "building gitfleet-gpu for linux/$$arch"; \
	  CGO_ENABLED=1 GOOS=linux GOARCH=$$arch $${cc:+CC=$$cc} $(GOBUILD) -tags netgo,osusergo -o $(BIN)/linux_$$arch/gitfleet-gpu ./cmd/gitfleet-gpu; \
	done
	@rm -f $(IMAGE_DIR)/images.txt
	@set -e; for img in $(IMAGES); do \
	  bins=""; for arch in $(IMAGE_ARCHES); do \
	    if [ -f $(BIN)/linux_$$arch/$$img ]; then bins="$$bins --binary linux/$$arch=$(BIN)/linux_$$arch/$$img"; fi; \
	  done; \
	  $(GO) run ./test/imagetool build --name $$img --version $(VERSION) --revision $(REVISION) --created $(SOURCE_DATE_EPOCH) --out $(IMAGE_DIR)/$$img \
	    --repo $(IMAGE_REPO)/$$img --record $(IMAGE_DIR)/images.txt $$bins; \
	done

## image-push: push bin/image/* to IMAGE_REPO (make image-push IMAGE_REPO=registry.example.com/platform;
## IMAGE_INSECURE=1 for a plain-HTTP registry). bin/image/images.txt holds NAME=REF pinned by
## digest (make image writes it, the push keeps the digests), for gitfleet install --images.
image-push: image
	@set -e; for img in $(IMAGES); do \
	  $(GO) run ./test/imagetool push --layout $(IMAGE_DIR)/$$img --repo $(IMAGE_REPO)/$$img --record $(IMAGE_DIR)/images.txt $(if $(IMAGE_INSECURE),--insecure); \
	done
	@echo "pinned references in $(IMAGE_DIR)/images.txt; next: $(BIN)/linux_$(HOST_ARCH)/gitfleet bootstrap --images $(IMAGE_DIR)/images.txt ..."

## example-install: rewrite fleet-example/apps/gitfleet/install.yaml, gitfleet's own install
## as an App of the example fleet, with the images make image built (their digests)
example-install: image
	$(BIN)/linux_$(HOST_ARCH)/gitfleet install --images $(IMAGE_DIR)/images.txt \
	  --repo-url ssh://git@git.example.com/platform/fleet.git --branch main --machines --as-app > fleet-example/apps/gitfleet/install.yaml

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
	$(GO) build -ldflags '-X main.version=$(VERSION)' -o $(BIN)/gitfleet ./cmd/gitfleet
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
