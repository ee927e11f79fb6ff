# Portager build, test and local-run entry points. `make test` is what CI runs.
SHELL := /usr/bin/env bash
GO ?= go
BIN := _output/bin

.PHONY: all build test verify test-unit test-integration test-e2e codegen fuzz \
	kube-binaries run down registry-package run-standalone clean bench bench-peers \
	test-distribution test-cosign cosign helm test-chart ko images test-images

all: build

## build: compile the binaries into _output/bin
build:
	$(GO) build -o $(BIN)/portager-apiserver ./cmd/apiserver
	$(GO) build -o $(BIN)/portager-controller ./cmd/controller
	$(GO) build -o $(BIN)/kubectl-imagesync ./cmd/kubectl-imagesync
	$(GO) build -o $(BIN)/portager ./cmd/portager
	$(GO) build -o $(BIN)/crane github.com/google/go-containerregistry/cmd/crane
	$(GO) build -o $(BIN)/etcd go.etcd.io/etcd/server/v3
	$(GO) build -o $(BIN)/etcdctl go.etcd.io/etcd/etcdctl/v3
	$(GO) build -o $(BIN)/etcdutl go.etcd.io/etcd/etcdutl/v3

## test: everything CI runs: static checks, unit, integration and end-to-end tests
test: verify test-unit test-chart test-images test-distribution test-cosign test-integration test-e2e

## verify: gofmt, go vet and generated code freshness
verify:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/
	cd hack/bench && $(GO) vet ./...
	hack/verify-codegen.sh

## test-unit: package tests, with the race detector (fuzz seed corpora replay here)
test-unit:
	$(GO) test -race -count=1 ./pkg/... ./cmd/... ./internal/... ./hack/...
	cd hack/bench && $(GO) test -race -count=1 ./...

## test-distribution: the engine against a real docker-registry (distribution 2.8) process
test-distribution:
	@command -v docker-registry >/dev/null || { echo "docker-registry not found: apt-get install -y docker-registry"; exit 1; }
	$(GO) test -race -count=1 -tags distribution -run Distribution ./pkg/syncer/

COSIGN_VERSION ?= v2.6.5
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin

## cosign: install the cosign CLI the cosign test drives (kept if already at COSIGN_VERSION)
cosign:
	@if ! "$(GOBIN_DIR)/cosign" version 2>/dev/null | grep -q "$(COSIGN_VERSION:v%=%)"; then \
		echo "go install github.com/sigstore/cosign/v2/cmd/cosign@$(COSIGN_VERSION)"; \
		$(GO) install github.com/sigstore/cosign/v2/cmd/cosign@$(COSIGN_VERSION); \
	fi

## test-cosign: the real cosign CLI signs in every format: copies verify at the destination, and the gates accept them
test-cosign: cosign
	PATH="$(GOBIN_DIR):$$PATH" $(GO) test -race -count=1 -tags cosign -run Cosign ./pkg/syncer/ ./pkg/gate/

HELM_VERSION ?= v4.3.2

## helm: install the Helm CLI the chart tests drive into _output/bin (kept if already at HELM_VERSION)
helm:
	@if [[ ! -x "$(BIN)/helm" || "$$(cat $(BIN)/helm.version 2>/dev/null)" != "$(HELM_VERSION)" ]]; then \
		echo "go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)"; \
		GOBIN="$(CURDIR)/$(BIN)" $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION) && echo "$(HELM_VERSION)" > $(BIN)/helm.version; \
	fi

## test-chart: helm lint, golden renders, Pod Security and certificates of charts/portager
test-chart: helm
	HELM="$(CURDIR)/$(BIN)/helm" $(GO) test -count=1 ./test/chart/

KO_VERSION ?= v0.19.1

## ko: install ko, the image builder, into _output/bin (kept if already at KO_VERSION)
ko:
	@if [[ ! -x "$(BIN)/ko" || "$$(cat $(BIN)/ko.version 2>/dev/null)" != "$(KO_VERSION)" ]]; then \
		echo "go install github.com/google/ko@$(KO_VERSION)"; \
		GOBIN="$(CURDIR)/$(BIN)" $(GO) install github.com/google/ko@$(KO_VERSION) && echo "$(KO_VERSION)" > $(BIN)/ko.version; \
	fi

## images: build portager-apiserver, portager-controller and portager with ko and push them to KO_DOCKER_REPO (see hack/images.sh)
images: ko
	KO="$(CURDIR)/$(BIN)/ko" hack/images.sh

## test-images: build the images into a loopback registry, twice, and check them
test-images: ko
	KO="$(CURDIR)/$(BIN)/ko" $(GO) test -count=1 -timeout 20m ./test/images/

## test-integration: our API server in-process on a real etcd
test-integration:
	$(GO) test -race -count=1 ./test/integration/...

## test-e2e: a real kube-apiserver, aggregation and kubectl
test-e2e: kube-binaries build registry-package helm
	PATH="$$PATH:$(CURDIR)/$(BIN)" $(GO) test -tags e2e -count=1 -timeout 20m -v ./test/e2e/

## kube-binaries: build and cache kube-apiserver and kube-controller-manager
kube-binaries:
	hack/build-kube-binaries.sh

## codegen: regenerate deepcopy, conversion, defaults, OpenAPI and clients
codegen:
	hack/update-codegen.sh

## fuzz: explore the validation and tag selection fuzz targets beyond their seed corpora
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidateImageSync -fuzztime 60s ./pkg/apis/portager/validation/
	$(GO) test -run '^$$' -fuzz FuzzValidateSelection -fuzztime 60s ./pkg/apis/portager/validation/
	$(GO) test -run '^$$' -fuzz FuzzSelect -fuzztime 60s ./pkg/tagselect/

## run: the whole product on loopback (kube-apiserver, our servers, two registries); Ctrl-C or `make down` stops it
run: kube-binaries build registry-package helm
	$(GO) run ./hack/localup

## down: stop what `make run` started
down:
	@if [[ -f _output/local-up/pid ]]; then kill -TERM "$$(cat _output/local-up/pid)" 2>/dev/null || true; rm -f _output/local-up/pid; echo stopped; else echo "nothing running"; fi

## registry-package: Debian's docker-registry, which `make run` and the e2e tests run
registry-package:
	@command -v docker-registry >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry; }

## run-standalone: the API server alone with an embedded etcd, no cluster needed
run-standalone:
	$(GO) run ./cmd/apiserver --standalone --secure-port 8443 --etcd-data-dir _output/local/etcd --cert-dir _output/local/certs

## bench-peers: install docker-registry and skopeo (apt), crane and regsync (go install)
bench-peers:
	hack/bench/install-peers.sh

## bench: our engine against skopeo, regsync and crane on two real registries (BENCH_FLAGS=-size 128MiB -runs 1 for a quick look)
bench: bench-peers
	$(GO) build -o $(BIN)/portager ./cmd/portager
	cd hack/bench && $(GO) build -o $(CURDIR)/$(BIN)/bench .
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" $(BIN)/bench -ours $(BIN)/portager -out _output/bench.md $(BENCH_FLAGS)

clean:
	rm -rf _output/bin _output/local
