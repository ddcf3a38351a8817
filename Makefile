# The Socket Book -- top-level Makefile (GNU Make).
#
#   make            install missing toolchains, build every example and the harness
#   make test       everything: harness unit tests, clang build, the interop matrix, chapter demos
#   make help       the list of targets
#
# Each language folder builds itself (c/Makefile, java/Makefile, ...); this file
# only delegates to them, with every generated file going under build/.

LANGUAGES := c python java node haskell ruby
BUILD   := $(CURDIR)/build
TESTBIN := $(BUILD)/tests
JOBS    ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 2) )))

# `make interop` options: only one kind, only some languages, or an outside
# implementation to test (named LABEL in the grid).
KIND   ?=
LANGS  ?=
SERVER ?=
CLIENT ?=
LABEL  ?=
# An outside implementation's results go apart from the references'.
INTEROP_OUT := $(if $(SERVER)$(CLIENT),$(BUILD)/interop/custom,$(BUILD)/interop)

# The book build's Python must not leave bytecode beside its sources.
export PYTHONPYCACHEPREFIX := $(BUILD)/pycache

# `python3` in the table is Debian's /usr/bin/python3: Debian's python3-*
# packages install for it, and it starts in about 40 ms where a version
# manager's shim earlier on PATH (pyenv's is a shell script) takes 250 ms, on
# every one of the thousands of starts in a test run. build/bin comes first.
PYTHON3 := /usr/bin/python3
export PATH := $(BUILD)/bin:$(PATH)

.PHONY: all help toolchains examples $(LANGUAGES) harness test test-suites unit c-clang interop \
        sanitize chapters chapter1 chapter2 chapter3 chapter4 chapter5 chapter6 chapter6-demo bench-chapter6 bench-c10k book book-check browser-test clean

## all: install missing toolchains, build every example, the harness and the book (the default)
all: examples harness book

## help: list the targets
help:
	@grep -E '^## ' $(firstword $(MAKEFILE_LIST)) | sed -e 's/^## /  make /' -e 's/: / -- /'

## toolchains: install missing compilers and libraries from Debian (needs root or sudo)
toolchains:
	@tools/ensure-toolchains
	@mkdir -p $(BUILD)/bin && ln -sfn $(PYTHON3) $(BUILD)/bin/python3

## examples: build the examples in every language
examples: $(LANGUAGES)

# One language's examples, e.g. `make java`.
$(LANGUAGES): toolchains
	@$(MAKE) --no-print-directory -C $@ BUILD=$(BUILD)/$@

## harness: build the interop harness, its unit tests, the chapter demo runner and the datagram relay
harness: toolchains
	@$(MAKE) --no-print-directory -C tests/harness BUILD=$(TESTBIN)
	@$(MAKE) --no-print-directory -C tests/relay BUILD=$(TESTBIN)
	@$(MAKE) --no-print-directory -C tests/load BUILD=$(TESTBIN)

## test: everything: unit tests, clang build, interop matrix, sanitizers, chapters, book; then nothing may be left behind
test:
	@mkdir -p $(BUILD)
	@python3 tools/leftovers.py snapshot $(BUILD)/leftovers.json
	@$(MAKE) --no-print-directory test-suites
	@python3 tools/leftovers.py check $(BUILD)/leftovers.json

# What `make test` runs between its snapshot and its check.
test-suites: unit c-clang interop sanitize chapters book-check browser-test

## unit: the harness's own unit tests, and those of tools/
unit: harness
	$(TESTBIN)/unit --jobs=$(JOBS)
	$(TESTBIN)/sockload_test --jobs=$(JOBS)
	python3 -m unittest discover -s tools -p 'test_*.py'

## c-clang: build the C examples and sockload with clang too (-Wall -Wextra -Werror)
c-clang: toolchains
	@$(MAKE) --no-print-directory -C c CC=clang BUILD=$(BUILD)/c-clang
	@$(MAKE) --no-print-directory -C tests/load CC=clang BUILD=$(BUILD)/tests-clang

# $(call interop,OUTDIR,SETTINGS): run the harness with INTEROP_* settings
# (see tests/harness/interop.c), writing its results to OUTDIR.
define interop
	@mkdir -p $(1)
	INTEROP_OUT='$(1)' $(2) $(TESTBIN)/interop --jobs=$(JOBS)
endef

## interop: every server x every client x every case (KIND=udp LANGS=c,ruby SERVER="cmd" CLIENT="cmd")
interop: examples harness
	$(call interop,$(INTEROP_OUT),INTEROP_KIND='$(KIND)' INTEROP_LANGS='$(LANGS)' \
	  INTEROP_SERVER='$(SERVER)' INTEROP_CLIENT='$(CLIENT)' INTEROP_LABEL='$(LABEL)')

SANITIZE_CFLAGS := -std=c17 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
                   -fsanitize=address,undefined -fno-sanitize-recover=all
SANITIZE_OUT    := $(BUILD)/interop/sanitize

## sanitize: the C examples built with AddressSanitizer and UBSan: every C server with every C client, and each C program's checks
sanitize: examples harness
	@$(MAKE) --no-print-directory -C c BUILD=$(BUILD)/c-sanitize CFLAGS='$(SANITIZE_CFLAGS)'
	@mkdir -p $(SANITIZE_OUT)
	sed 's#\tbuild/c/#\t$(BUILD)/c-sanitize/#' tests/interop/implementations.tsv > $(SANITIZE_OUT)/table.tsv
	$(call interop,$(SANITIZE_OUT),INTEROP_TABLE='$(SANITIZE_OUT)/table.tsv' INTEROP_LANGS=c INTEROP_LANGS_BOTH=1)

## chapters: run every chapter's demonstration (chapter 6 without its benchmark)
chapters: chapter1 chapter2 chapter3 chapter4 chapter5 chapter6-demo

## chapter1: sockets and addresses -- each language's lookup resolving names
chapter1: examples harness
	@$(TESTBIN)/demo lookup

## chapter2: stream sockets -- the simple pair talking, three ways to break it (as root), then the robust pair
chapter2: examples harness
	@$(TESTBIN)/demo tcp-simple
	@for demo in deadlock vanish restart; do bash chapters/02-stream/demos/$$demo.sh || exit 1; done
	@$(TESTBIN)/demo tcp

## chapter3: datagram sockets -- UDP echo in each language, then loss and retries through the relay
chapter3: examples harness
	@$(TESTBIN)/demo udp

## chapter4: Unix-domain sockets -- stream, datagram, seqpacket, descriptor passing, credentials, Unix vs TCP speed
chapter4: examples harness
	@$(TESTBIN)/demo unix-stream unix-dgram unix-seqpacket fdpass peercred bench

## chapter5: raw sockets -- ping in each language, the protocol-253 exchange, and the sniffer's view of both (needs root)
chapter5: examples harness
	@$(TESTBIN)/demo icmp raw sniffer

## chapter6: many clients at once -- a second client waiting behind an idle one, each design serving both, then every design measured
chapter6: chapter6-demo bench-chapter6

chapter6-demo: examples harness
	@bash chapters/06-concurrency/demos/waiting.sh

## bench-chapter6: every chapter 6 server under the same loads from sockload: msg/s, p99, conn/s, CPU, memory (a minute or two; QUICK=1 shortens it)
bench-chapter6: examples harness
	@python3 tools/bench_concurrency.py --strict $(if $(QUICK),--quick)

## bench-c10k: C10K -- how many connections each chapter 6 design holds, each sending 64 bytes a second (many minutes; ONLY=c/epoll for one)
bench-c10k: examples harness
	@python3 tools/bench_concurrency.py --strict --c10k $(if $(ONLY),--only $(ONLY))

## book: the book from chapters/ into build/book/ (HTML site, single page, EPUB; an edition per language in editions/)
book: examples harness
	@python3 book/build.py

# epubcheck, saying nothing unless something is wrong. A check lasts seconds,
# too short for the JVM's optimising compiler to pay for itself: the first
# tier alone takes a third of the CPU time (12 s -> 4.5 s an edition).
EPUBCHECK := java -XX:TieredStopAtLevel=1 -jar /usr/share/java/epubcheck.jar --quiet

## book-check: the book's unit tests, then check the built book and each one-language edition (links, listings, tabs, EPUB)
book-check: book
	python3 -m unittest discover -s book -p 'test_*.py'
	python3 book/check.py
	$(EPUBCHECK) build/book/socket-book.epub
	for lang in $(LANGUAGES); do \
	  python3 book/check.py --edition $$lang && \
	  $(EPUBCHECK) build/book/editions/$$lang/socket-book-$$lang.epub || exit 1; \
	done

## browser-test: the book in headless Chromium at 1400 and 400 px (tabs, arrow keys, page widths, folding chapter list and grid cells); screenshots in build/book/screenshots/
browser-test: book
	@$(MAKE) --no-print-directory -C tests/browser BUILD=$(BUILD)

## clean: remove everything generated (build/ and node_modules/)
clean:
	@for d in $(LANGUAGES); do $(MAKE) --no-print-directory -C $$d clean BUILD=$(BUILD)/$$d; done
	rm -rf $(BUILD)
