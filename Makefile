# pinbrev — the README's two commands are `make demo` and `make test`.
SHELL := bash
CARGO ?= cargo
N ?= 100000
DEMO := demo
BIN := target/release/pinbrev
DEMO_ENV := PINBREV_DB=sqlite://$(DEMO)/pinbrev.db
FIX := fixtures

.PHONY: all build test lint unit demo fixtures vectors clean

all: build

build:
	$(CARGO) build --release --locked

## Everything CI checks: formatting, lints, unit, property and integration tests.
test: lint
	$(CARGO) test --locked --all-targets
	$(CARGO) test --locked --doc

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## The main job on the shipped fixtures, into ./demo (database demo/pinbrev.db).
demo: build
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	printf 'allow_synthetic = true   # the fixtures use synthetic test numbers (month + 80)\n' > $(DEMO)/pinbrev.toml
	@echo "== postal codes: Posten's register sample (with categories) over the shipped list"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml postcodes import $(FIX)/postcodes/Postnummerregister-sample.txt
	@echo "== Folkeregister extracts"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml register import $(FIX)/register/freg-2026-11-23.jsonl $(FIX)/register/freg-2026-11-24-update.jsonl
	@echo "== orders"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml orders ingest $(FIX)/orders/orders-2026-11-23-web.csv $(FIX)/orders/orders-2026-11-23-support.csv $(FIX)/orders/orders-2026-11-24-web.csv
	@echo "== validation"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml orders validate
	@echo "== the outcome"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml orders list
	@echo
	@echo "The database is $(DEMO)/pinbrev.db. Look closer with, for example:"
	@echo "  $(BIN) --db sqlite://$(DEMO)/pinbrev.db status WEB-20261123-0028"
	@echo "  $(BIN) --db sqlite://$(DEMO)/pinbrev.db orders list --status rejected --format json"

## Large synthetic data sets for the benchmarks: make fixtures N=100000 (into bench-data/).
fixtures:
	$(CARGO) run --release --locked --example gen_fixtures -- --persons $(N) --orders $(N) --out bench-data

## Skatteetaten's published test vectors (not shipped): make vectors VECTORS=path/to/foedselsnummer.csv
vectors:
	PINBREV_FNR_VECTORS=$(abspath $(VECTORS)) $(CARGO) test --locked --test skatteetaten_vectors -- --ignored --nocapture

clean:
	rm -rf $(DEMO) bench-data
	$(CARGO) clean
