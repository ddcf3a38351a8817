# The Socket Book -- top-level Makefile (GNU Make).
#
#   make            install missing toolchains, build every example and the harness
#   make test       everything: harness unit tests, clang build, the interop matrix, chapter demos
#   make help       the list of targets
#
# Each language folder builds itself (c/Makefile, java/Makefile, ...); this file
# only delegates to them, with every generated file going under build/.

LANGS   := c python java node haskell ruby
BUILD   := $(CURDIR)/build
TESTBIN := $(BUILD)/tests
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

# `make interop` options: only one kind, or an outside implementation to test.
KIND   ?=
SERVER ?=
CLIENT ?=
# An outside implementation's results go apart from the references'.
INTEROP_OUT := $(if $(SERVER)$(CLIENT),$(BUILD)/interop/custom,$(BUILD)/interop)

# The book build's Python must not leave bytecode beside its sources.
export PYTHONPYCACHEPREFIX := $(BUILD)/pycache

.PHONY: all help toolchains examples $(LANGS) harness test unit c-clang interop \
        sanitize chapters chapter1 chapter2 book book-check browser-test clean

## all: install missing toolchains, build every example, the harness and the book (the default)
all: examples harness book

## help: list the targets
help:
	@grep -E '^## ' $(firstword $(MAKEFILE_LIST)) | sed -e 's/^## /  make /' -e 's/: / -- /'

## toolchains: install missing compilers and libraries from Debian (needs root or sudo)
toolchains:
	@tools/ensure-toolchains

## examples: build the examples in every language
examples: $(LANGS)

# One language's examples, e.g. `make java`.
$(LANGS): toolchains
	@$(MAKE) --no-print-directory -C $@ BUILD=$(BUILD)/$@

## harness: build the interop harness, its unit tests and the chapter demo runner
harness: toolchains
	@$(MAKE) --no-print-directory -C tests/harness BUILD=$(TESTBIN)

## test: everything: harness unit tests, clang build, interop matrix, sanitizers, chapters, book
test: unit c-clang interop sanitize chapters book-check browser-test

## unit: the harness's own unit tests
unit: harness
	$(TESTBIN)/unit --jobs=$(JOBS)

## c-clang: build the C examples with clang too (-Wall -Wextra -Werror)
c-clang: toolchains
	@$(MAKE) --no-print-directory -C c CC=clang BUILD=$(BUILD)/c-clang

# $(call interop,KIND,SERVER,CLIENT,OUTDIR,LABEL): run the harness, optionally on
# one kind and with an outside server or client (named LABEL in the grid),
# writing results to OUTDIR.
define interop
	@mkdir -p $(4)
	INTEROP_KIND='$(1)' INTEROP_SERVER='$(2)' INTEROP_CLIENT='$(3)' INTEROP_OUT='$(4)' \
	INTEROP_LABEL='$(5)' $(TESTBIN)/interop --jobs=$(JOBS)
endef

## interop: every server x every client x every case (KIND=tcp, SERVER="cmd", CLIENT="cmd")
interop: examples harness
	$(call interop,$(KIND),$(SERVER),$(CLIENT),$(INTEROP_OUT))

SANITIZE_CFLAGS := -std=c17 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
                   -fsanitize=address,undefined -fno-sanitize-recover=all

## sanitize: the C examples built with AddressSanitizer and UBSan, against every reference
sanitize: examples harness
	@$(MAKE) --no-print-directory -C c BUILD=$(BUILD)/c-sanitize CFLAGS='$(SANITIZE_CFLAGS)'
	$(call interop,tcp,$(BUILD)/c-sanitize/stream/echo_server,,$(BUILD)/interop/sanitize-server,c-asan)
	$(call interop,tcp,,$(BUILD)/c-sanitize/stream/echo_client,$(BUILD)/interop/sanitize-client,c-asan)

## chapters: run every chapter's demonstration
chapters: chapter1 chapter2

## chapter1: sockets and addresses -- each language's lookup resolving names
chapter1: examples harness
	@$(TESTBIN)/demo lookup

## chapter2: stream sockets -- each language's TCP echo server and client talking
chapter2: examples harness
	@$(TESTBIN)/demo tcp

## book: the book from chapters/ into build/book/ (HTML site, single page, EPUB)
book: examples harness
	@python3 book/build.py

## book-check: the book's unit tests, then check the built book (links, listings, tabs, EPUB)
book-check: book
	python3 -m unittest discover -s book -p 'test_*.py'
	python3 book/check.py
	java -jar /usr/share/java/epubcheck.jar --quiet build/book/socket-book.epub

## browser-test: click a language tab in headless Chromium; screenshot in build/book/
browser-test: book
	@$(MAKE) --no-print-directory -C tests/browser BUILD=$(BUILD)

## clean: remove everything generated (build/ and node_modules/)
clean:
	@for d in $(LANGS); do $(MAKE) --no-print-directory -C $$d clean BUILD=$(BUILD)/$$d; done
	rm -rf $(BUILD)
