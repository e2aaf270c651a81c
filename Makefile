# flowfence — build, demo, test, bench. Everything the tests need is fetched
# by the Go toolchain from the module proxy; nothing is installed by hand.
GO        ?= go
BIN       := bin/flowfence
PKGS      := ./...
ORACLES   := tests/oracles
FUZZTIME  ?= 5s

.PHONY: all build demo test test-unit test-oracles fuzz bench fmt vet lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/flowfence

## demo: run flowfence on the shipped sample flows, write ./out and print the run summary
demo: build
	./$(BIN) generate --from 'testdata/flows/*.json*' --out out

## test: every test of the product module and of the oracle test module, plus short fuzz runs
test: vet test-unit test-oracles fuzz

test-unit:
	$(GO) test -count=1 $(PKGS)

test-oracles:
	@if [ -f $(ORACLES)/go.mod ]; then cd $(ORACLES) && $(GO) test -count=1 ./...; fi

## fuzz: run each fuzz target briefly (seeded from testdata and, when present, ../shared/captures)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: go benchmarks of every package
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')

vet:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './out/*')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

lint: vet

clean:
	rm -rf bin out
