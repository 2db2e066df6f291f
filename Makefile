# pinbrev — the README's two commands are `make demo` and `make test`.
SHELL := bash
CARGO ?= cargo
N ?= 100000
ENGINE ?= sqlite
DEMO := demo
BIN := target/release/pinbrev
# The demo's database: an SQLite file in $(DEMO), or with ENGINE=postgres a database on a throwaway
# server on loopback in $(DEMO_PG) (tools/pg.sh; stop it with tools/pg.sh stop $(DEMO_PG)).
DEMO_PG := /tmp/pinbrev-demo-pg
DEMO_ENV = PINBREV_DB=$$(cat $(DEMO)/db-url)
FIX := fixtures

.PHONY: all build deps test lint demo fixtures bench vectors clean

all: build

build:
	$(CARGO) build --release --locked

## The tools the tests use, as `command:Debian package`: independent PDF readers to check the
## letters with, systemd-analyze for the service unit, a headless browser for the HTML report, and
## GNU time for a command's peak memory.
TEST_TOOLS := /usr/bin/time:time pdftotext:poppler-utils pdffonts:poppler-utils pdfinfo:poppler-utils \
  pdftoppm:poppler-utils qpdf:qpdf dmtxread:dmtx-utils systemd-analyze:systemd chromium:chromium
deps:
	@missing=""; for t in $(TEST_TOOLS); do command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	  echo "installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## Everything CI checks: formatting, lints, unit, property and integration tests; then the
## integration tests again with pinbrev on PostgreSQL. PostgreSQL is a throwaway server on
## loopback (tools/pg.sh, which installs Debian's postgresql if it is missing), stopped and
## removed afterwards; each test makes its own database on it.
test: deps lint
	@pgdir=$$(mktemp -d /tmp/pinbrev-pg.XXXXXX); \
	url=$$(tools/pg.sh start $$pgdir) || exit 1; \
	trap "tools/pg.sh stop $$pgdir" EXIT; \
	echo "PostgreSQL for the tests: $$url"; \
	PINBREV_TEST_PG_URL=$$url $(CARGO) test --locked --workspace --all-targets && \
	echo "== the integration tests again, on PostgreSQL" && \
	PINBREV_TEST_ENGINE=postgres PINBREV_TEST_PG_URL=$$url $(CARGO) test --locked --test '*' && \
	$(CARGO) test --locked --workspace --doc

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

## The main job — the nightly run — on the shipped fixtures, into ./demo.
demo: build
	rm -rf $(DEMO) && mkdir -p $(DEMO)/inbox $(DEMO)/receipts
	@if [ "$(ENGINE)" = postgres ]; then \
	  tools/pg.sh stop $(DEMO_PG); url=$$(tools/pg.sh start $(DEMO_PG)) || exit 1; \
	  echo "$${url%/*}/pinbrev_demo" > $(DEMO)/db-url; \
	else echo "sqlite://$(DEMO)/pinbrev.db" > $(DEMO)/db-url; fi
	@echo "== the database: $$(cat $(DEMO)/db-url)"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $(DEMO)/pin.key && chmod 600 $(DEMO)/pin.key
	printf 'allow_synthetic = true   # the fixtures use synthetic test numbers (month + 80)\npin_key_file = "$(DEMO)/pin.key"\n' > $(DEMO)/pinbrev.toml
	@echo "== postal codes: Posten's register sample (with categories) over the shipped list"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml postcodes import $(FIX)/postcodes/Postnummerregister-sample.txt
	@echo "== the night's files: two register extracts and three order files in $(DEMO)/inbox"
	cp $(FIX)/register/freg-2026-11-23.jsonl $(FIX)/register/freg-2026-11-24-update.jsonl $(FIX)/orders/orders-2026-11-2*.csv $(DEMO)/inbox/
	@echo "== pinbrev nightly"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml nightly --inbox $(DEMO)/inbox --outbox $(DEMO)/outbox --receipts $(DEMO)/receipts --vendor demo-print
	@echo "== every order's outcome"
	$(DEMO_ENV) $(BIN) --config $(DEMO)/pinbrev.toml orders list
	@echo
	@echo "The drop for the print vendor is $$(ls -d $(DEMO)/outbox/B*/): open letters-0001.pdf (one"
	@echo "letter per page); manifest.csv, postcodes.csv and batch.json are beside it, and READY marks it complete."
	@echo "The night's input files were moved to $(DEMO)/inbox/done/. The database is $$(cat $(DEMO)/db-url); for example:"
	@echo "  $(BIN) --db $$(cat $(DEMO)/db-url) --config $(DEMO)/pinbrev.toml status WEB-20261123-0001"
	@echo "  $(BIN) --db $$(cat $(DEMO)/db-url) --config $(DEMO)/pinbrev.toml orders list --status rejected --format json"
	@if [ "$(ENGINE)" = postgres ]; then echo "The PostgreSQL server keeps running for that; stop it with: tools/pg.sh stop $(DEMO_PG)"; fi

## Large synthetic data sets for the benchmarks: make fixtures N=100000 (into bench-data/).
fixtures:
	$(CARGO) run --release --locked --example gen_fixtures -- --persons $(N) --orders $(N) --out bench-data

## Benchmarks: the night's steps on N synthetic people and orders, with wall time and peak RSS
## per step, and letters/s and bytes/letter for the batch; then a re-issue night on the same
## database (every letter posted, a new order from each person, letters that supersede the
## first ones); then the first night as one `nightly` run. N may list several sizes, shown side
## by side: make bench N="10000 100000 1000000". Default: 10000 and 100000. ENGINE=postgres runs
## them on a PostgreSQL server started for the run; REISSUE_UP_TO=100000 skips the re-issue night
## above that size (see tools/bench.sh).
bench: build
	ENGINE=$(ENGINE) tools/bench.sh $(if $(filter command line,$(origin N)),$(N),10000 100000)

## Skatteetaten's published test vectors: the shipped copy (tests/data/skatteetaten/), or another
## file of the same form with make vectors VECTORS=path/to/foedselsnummer.csv
vectors:
	$(if $(VECTORS),PINBREV_FNR_VECTORS=$(abspath $(VECTORS))) $(CARGO) test --locked --test skatteetaten_vectors

clean:
	rm -rf $(DEMO) bench-data
	tools/pg.sh stop $(DEMO_PG)
	$(CARGO) clean
