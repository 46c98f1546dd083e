# dealernet -- build, test, benchmark and demo.
#
#   make            install missing Debian packages, build bin/
#   make demo       ... and run a small network end to end in a temp folder
#   make test       ... and run every test (unit, CLI, crash)
#   make check-asan the same tests built with address + undefined sanitizers
#   make check-valgrind  unit, CLI and fault tests under valgrind memcheck
#   make stress     make test 3 times (STRESS_RUNS=) beside stress-ng on every core
#   make bench      benchmarks, printing ratios against an in-run baseline
#   make soak       long runs: fault tests (1,000 kills each), simulation seeds
#   make fuzz       libFuzzer targets (tests/fuzz/), each for FUZZ_SECS seconds
#   make install    PREFIX=/usr/local DESTDIR= (builds and installs; never runs deps)
#   make uninstall  removes what make install installed
#   make deb        a Debian package of the same files (deploy/deb.sh)
#
# Objects go to $(B)/, binaries to $(BIN)/.  Protobuf-c code is generated from
# proto/ into $(B)/gen and never edited.

B       ?= build
BIN     ?= bin
PREFIX  ?= /usr/local
DESTDIR ?=
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
SAN     ?=

PKGS      := libzmq libprotobuf-c sqlite3 libcrypto jansson inih libqrencode libmicrohttpd
TEST_PKGS := cmocka

# -Wno-format-truncation: snprintf into a bounded buffer is how messages are
# cut to size here; gcc's guess that a path "may be truncated" is not a bug.
CFLAGS_ALL  = -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wno-format-truncation \
              -O2 -g -MMD -MP \
              -I$(B)/gen -Iproto -Icommon -DDN_LOCALEDIR='"$(LOCALEDIR)"' \
              $(shell pkg-config --cflags $(PKGS))
# libunistring (dn_render's display widths) has no .pc file on Debian.
LDLIBS_ALL  = $(shell pkg-config --libs $(PKGS)) -lunistring -lpthread
ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
LDFLAGS_ALL = -fsanitize=address,undefined
endif

COMMON_SRCS := $(wildcard common/*.c)
AGENT_SRCS  := $(filter-out agent/main.c,$(wildcard agent/*.c))
SERVER_SRCS := $(filter-out server/main.c,$(wildcard server/*.c))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
BENCH_SRCS  := $(wildcard tests/bench/bench_*.c)
TOOL_SRCS   := $(wildcard tests/tools/*.c)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)

# Translations (README, "Languages / 语言"): po/<lang>/*.po are one
# language's fragments, one per source folder plus columns.po (table
# headers); each language is merged (po/merge.sh, which refuses a msgid
# translated two ways) and compiled with `msgfmt --check` into
# $(B)/locale/<lang>/LC_MESSAGES/dealernet.mo, where the programs in
# $(BIN) find it (dn_i18n.h: bin<X> -> build<X>/locale).  `make pot`
# extracts the template $(B)/po/dealernet.pot (never committed), with the
# keywords of dn_i18n.h; tests/lib/i18n_check.py reads it.
LINGUAS     := $(notdir $(patsubst %/,%,$(wildcard po/*/)))
PO_FRAGS    := $(wildcard po/*/*.po)
LOCALE_MOS  := $(LINGUAS:%=$(B)/locale/%/LC_MESSAGES/dealernet.mo)
POT         := $(B)/po/dealernet.pot
I18N_SRCS   := $(sort $(wildcard common/*.[ch] agent/*.[ch] server/*.[ch] hq/*.[ch]))
XGETTEXT_KEYWORDS := --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2

GEN_C   := $(B)/gen/dealernet.pb-c.c
GEN_H   := $(B)/gen/dealernet.pb-c.h
COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/%.o) $(B)/gen/dealernet.pb-c.o
AGENT_OBJS  := $(AGENT_SRCS:%.c=$(B)/%.o)
SERVER_OBJS := $(SERVER_SRCS:%.c=$(B)/%.o)
# The web page's files (server/web/, dn_webassets.h), compiled into the
# server: a file added or removed changes the folder, which remakes them.
WEB_ASSETS  := $(shell find server/web -type f ! -name '.*' 2>/dev/null)
WEB_ASSETS_C := $(B)/gen/dn_webassets.c
SERVER_OBJS += $(B)/gen/dn_webassets.o
LIBCOMMON   := $(B)/libdncommon.a
LIBAGENT    := $(B)/libdnagent.a
LIBSERVER   := $(B)/libdnserver.a
LIBTEST     := $(B)/libdntest.a
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
BENCH_BINS  := $(BENCH_SRCS:tests/bench/%.c=$(B)/tests/bench/%)
TOOL_BINS   := $(TOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%)
PROGRAMS    := $(BIN)/dealernet-agent \
               $(if $(wildcard server/main.c),$(BIN)/dealernet-server) \
               $(if $(wildcard hq/main.c),$(BIN)/dealernet-hq)

.PHONY: all deps build build-tests pot test stress check-asan check-valgrind bench demo \
        install install-files uninstall deb clean format

all: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build

deps:
	@sh deploy/deps.sh

build: $(PROGRAMS) $(LOCALE_MOS)

build-tests: build $(UNIT_BINS) $(BENCH_BINS) $(TOOL_BINS)

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build-tests
	@sh tests/run.sh $(B) $(BIN)

# stress: the suite must not depend on an idle machine (tests/stress.sh).
stress:
	@sh tests/stress.sh $(STRESS_RUNS)

# check-asan runs every test; three are shortened to keep CI within its 15
# minutes: the fuzz targets are the same clang build with the same
# sanitizers as in `make test` (shared folder build-fuzz, run 5 s a target
# instead of 30), the simulation runs 500 seeds instead of 2,000, and the
# I/O sweep fails one allocation in 4 (every write, sync and truncate).
check-asan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) B=build-asan BIN=bin-asan SAN=1 \
	    FUZZ_B=build-fuzz build-tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 DN_FUZZ_B=build-fuzz DN_FUZZ_SECS=$${DN_FUZZ_SECS:-5} DN_SIM_SEEDS=$${DN_SIM_SEEDS:-500} \
	 DN_IOSWEEP_ALLOC_STRIDE=$${DN_IOSWEEP_ALLOC_STRIDE:-4} \
	 sh tests/run.sh build-asan bin-asan

check-valgrind: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build-tests
	@DN_VALGRIND=1 sh tests/run.sh $(B) $(BIN)

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build
	@sh deploy/demo.sh $(BIN)

# bench runs every benchmark and prints every figure even when one misses
# its target (a missed target says so on its own line), then fails naming
# those that missed: one miss must not hide the figures of the others.
# It installs PostgreSQL first (bench_ledger's PostgreSQL-direct peer runs a
# throwaway cluster of it); make, make test and make install never do.
bench: deps
	@sh deploy/deps.sh postgresql
	@$(MAKE) --no-print-directory -j$(JOBS) build-tests
	@missed=; for b in $(BENCH_BINS); do DN_BIN=$(BIN) DN_BENCH_CACHE=$(B)/bench $$b || missed="$$missed $${b##*/}"; done; \
	 if [ -n "$$missed" ]; then echo "make bench: missed its target or failed:$$missed" >&2; exit 1; fi

# make install: what `build` makes, and the files beside it, under
# $(DESTDIR)$(PREFIX).  It never runs deps (apt-get) nor builds a test tool:
# a production box gets the programs and nothing else.  The units name the
# programs where this install puts them (ExecStart=$(PREFIX)/bin/...);
# systemd reads units and sysusers.d files under /usr/local/lib as well as
# /usr/lib.  install-files installs what is built and nothing else
# (tests/cli/units_review.sh and install_files.sh install into a scratch
# root); the bash completions are generated from each program's own --help
# (deploy/completion.sh), so they list the commands the program has.
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
EXAMPLEDIR  ?= $(DATADIR)/dealernet/examples
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
LOCALEDIR   ?= $(DATADIR)/locale
UNITS       := deploy/dealernet-server.service deploy/dealernet-agent.service
MANPAGES    := $(PROGRAMS:$(BIN)/%=man/%.1)

# The one list of what install installs and uninstall removes, by kind
# (paths without $(DESTDIR)).  EXAMPLEDIR and its parent are dealernet's
# own folders: uninstall removes them when empty; the shared ones stay.
INST_BIN       := $(PROGRAMS:$(BIN)/%=$(PREFIX)/bin/%)
INST_UNITS     := $(UNITS:deploy/%=$(UNITDIR)/%)
INST_SYSUSERS  := $(SYSUSERSDIR)/dealernet.conf
INST_EXAMPLES  := $(EXAMPLEDIR)/plan.ini
INST_MAN       := $(MANPAGES:man/%=$(MANDIR)/man1/%)
INST_BASHCOMP  := $(PROGRAMS:$(BIN)/%=$(BASHCOMPDIR)/%)
INST_LOCALE    := $(LOCALE_MOS:$(B)/locale/%=$(LOCALEDIR)/%)
INSTALLED      := $(INST_BIN) $(INST_UNITS) $(INST_SYSUSERS) $(INST_EXAMPLES) \
                  $(INST_MAN) $(INST_BASHCOMP) $(INST_LOCALE)
INST_OWN_DIRS  := $(EXAMPLEDIR) $(patsubst %/,%,$(dir $(EXAMPLEDIR)))

install: build
	@$(MAKE) --no-print-directory install-files

install-files:
	install -d $(sort $(patsubst %/,%,$(dir $(INSTALLED:%=$(DESTDIR)%))))
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	for u in $(UNITS); do \
	    sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' $$u >$(DESTDIR)$(UNITDIR)/$${u#deploy/} && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#deploy/} || exit 1; \
	done
	install -m 0644 deploy/dealernet.sysusers.conf $(DESTDIR)$(INST_SYSUSERS)
	install -m 0644 deploy/plan.ini $(DESTDIR)$(INST_EXAMPLES)
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	for p in $(PROGRAMS); do \
	    sh deploy/completion.sh $$p >$(DESTDIR)$(BASHCOMPDIR)/$${p##*/} && \
	    chmod 0644 $(DESTDIR)$(BASHCOMPDIR)/$${p##*/} || exit 1; \
	done
	for l in $(LINGUAS); do \
	    install -m 0644 $(B)/locale/$$l/LC_MESSAGES/dealernet.mo \
	        $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/ || exit 1; \
	done

# Removes exactly the files install-files installed, then dealernet's own
# folders if empty; never the shared ones ($(PREFIX)/bin, man1 ...).
uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)
	for d in $(INST_OWN_DIRS); do \
	    if [ -d "$(DESTDIR)$$d" ]; then rmdir "$(DESTDIR)$$d" 2>/dev/null || true; fi; \
	done

# make deb: a Debian package of the same files, PREFIX=/usr, built with
# dpkg-deb from a staged tree (deploy/deb.sh); no debhelper.
deb: build
	@B=$(B) sh deploy/deb.sh $(B)/deb $(BIN)

format:
	clang-format -i common/*.[ch] agent/*.[ch] tests/unit/*.c tests/bench/*.c \
	    tests/lib/*.[ch] $(wildcard server/*.[ch] hq/*.[ch])

clean:
	rm -rf build build-asan build-fuzz build-asan-fuzz bin bin-asan

# -- translations (see LINGUAS above) ----------------------------------------

.PRECIOUS: $(B)/po/%.po
$(B)/po/%.po: $(PO_FRAGS) po/merge.sh
	@mkdir -p $(dir $@)
	sh po/merge.sh $@ $(sort $(wildcard po/$*/*.po))

$(B)/locale/%/LC_MESSAGES/dealernet.mo: $(B)/po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check -o $@ $<

pot: $(POT)

$(POT): $(I18N_SRCS)
	@mkdir -p $(dir $@)
	@echo "xgettext ... -o $@"
	@xgettext --force-po --from-code=UTF-8 --language=C $(XGETTEXT_KEYWORDS) --sort-by-file \
	    --package-name=dealernet --add-comments=TRANSLATORS: -o $@ $(I18N_SRCS)

# -- generated code --------------------------------------------------------

$(GEN_C) $(GEN_H) &: proto/dealernet.proto
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen -Iproto proto/dealernet.proto

$(B)/gen/dealernet.pb-c.o: $(GEN_C)
	$(CC) $(filter-out -Werror,$(CFLAGS_ALL)) -c $< -o $@

$(WEB_ASSETS_C): server/dn_webassets.sh $(WEB_ASSETS) $(wildcard server/web server/web/vendor)
	@mkdir -p $(B)/gen
	sh server/dn_webassets.sh $@ server/web

$(B)/gen/dn_webassets.o: $(WEB_ASSETS_C) server/dn_webassets.h
	$(CC) $(CFLAGS_ALL) -Iserver -c $< -o $@

# -- objects, libraries, programs ----------------------------------------

$(B)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# Each folder sees only the headers it may use: common/ and hq/ common's
# (and the generated protocol), the agent and the server common/ and
# themselves; a wrong include fails to compile instead of linking a layer
# upside down.  Tests, benchmarks and tools see everything.
$(B)/agent/%.o: CFLAGS_ALL += -Iagent
$(B)/server/%.o: CFLAGS_ALL += -Iserver
$(B)/tests/%.o: CFLAGS_ALL += -Iagent -Iserver

$(LIBCOMMON): $(COMMON_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBAGENT): $(AGENT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBSERVER): $(SERVER_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The test kit (tests/lib/*.c: dn_testkit, a simulated site against
# central.db; dn_benchkit, the server process and many sites' sockets for
# the benchmarks), linked into every test, benchmark, tool, fault,
# simulation and fuzz program; they find its headers in tests/lib.
$(B)/tests/%.o: CFLAGS_ALL += -Itests/lib

$(LIBTEST): $(TESTLIB_SRCS:%.c=$(B)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/dealernet-agent: $(B)/agent/main.o $(LIBAGENT) $(LIBCOMMON)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(BIN)/dealernet-server: $(B)/server/main.o $(LIBSERVER) $(LIBCOMMON)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# The HQ command line is the server's client (as smtpctl is smtpd's): it
# talks to the admin socket and links common/ only, never the server's
# modules.
$(BIN)/dealernet-hq: $(B)/hq/main.o $(LIBCOMMON)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIBTEST) $(LIBAGENT) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL) $(shell pkg-config --libs $(TEST_PKGS))

$(B)/tests/bench/%: $(B)/tests/bench/%.o $(LIBTEST) $(LIBAGENT) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# bench_ledger runs the PostgreSQL-direct peer through libpq (libpq-dev,
# in deploy/deps.sh's list, so that build-tests always compiles it); the
# server itself is installed by `make bench` alone.
$(B)/tests/bench/bench_ledger.o: CFLAGS_ALL += $(shell pkg-config --cflags libpq)
$(B)/tests/bench/bench_ledger: LDLIBS_ALL += $(shell pkg-config --libs libpq)

# Test tools (tests/tools/*.c, e.g. dn_poke), driven by the CLI tests.
$(B)/tests/tools/%: $(B)/tests/tools/%.o $(LIBTEST) $(LIBAGENT) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# Fault tests' programs (tests/fault/*.c: the checker dn_check, the chaos
# proxy dn_chaos), driven by tests/fault/*.sh.  `make soak` runs those
# scripts long (tests/fault/soak.sh); `make test` runs them short through
# the wrappers tests/cli/fault_*.sh.
FAULT_SRCS := $(wildcard tests/fault/*.c)
FAULT_BINS := $(FAULT_SRCS:tests/fault/%.c=$(B)/tests/fault/%)

.PHONY: soak soak-fault
build-tests: $(FAULT_BINS)

soak: soak-fault

soak-fault: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build-tests
	@DN_BIN=$(BIN) sh tests/fault/soak.sh

$(B)/tests/fault/%: $(B)/tests/fault/%.o $(LIBTEST) $(LIBAGENT) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# The deterministic simulation (tests/sim/*.c, e.g. dn_sim): built like
# the unit tests, run by tests/run.sh with 2,000 seeds; `make soak` runs
# 100,000 seeds on $(JOBS) jobs.
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM_BINS := $(SIM_SRCS:tests/sim/%.c=$(B)/tests/sim/%)
SIM_SOAK_SEEDS ?= 100000

.PHONY: soak-sim
build-tests: $(SIM_BINS)

soak: soak-sim

soak-sim: deps
	@$(MAKE) --no-print-directory -j$(JOBS) build-tests
	@$(B)/tests/sim/dn_sim --seeds $(SIM_SOAK_SEEDS) --jobs $(JOBS) --repeat 200

$(B)/tests/sim/%: $(B)/tests/sim/%.o $(LIBTEST) $(LIBAGENT) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# Fuzzing (tests/fuzz/): libFuzzer targets fuzz_*.c built with clang and
# the address and undefined sanitizers in their own folder $(B)-fuzz, so
# the gcc build beside them is untouched.  `make fuzz` runs each target
# FUZZ_SECS seconds (growing its corpus in $(B)-fuzz/corpus); `make test`
# runs each 30 s (DN_FUZZ_SECS) through tests/cli/hostile_fuzz.sh.  A crash
# fails the run and leaves its input in $(B)-fuzz/crashes/.
# `make fuzz-corpus` rewrites the committed seeds (tests/fuzz/corpus/).
FUZZ_B         ?= $(B)-fuzz
FUZZ_CC        ?= clang
FUZZ_SECS      ?= 300
FUZZ_TARGETS   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

ifeq ($(SAN),fuzz)
CFLAGS_ALL += -Wno-unknown-warning-option -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS_ALL = -fsanitize=fuzzer-no-link,address,undefined
endif

.PHONY: fuzz fuzz-build fuzz-bins fuzz-corpus
build-tests: fuzz-build

fuzz: deps
	@$(MAKE) --no-print-directory -j$(JOBS) fuzz-build
	@sh tests/fuzz/fuzz.sh -k $(FUZZ_B) $(FUZZ_SECS) $(FUZZ_TARGETS)

fuzz-build:
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) SAN=fuzz fuzz-bins

# (made by fuzz-build's own make, where B is the fuzz folder)
fuzz-bins: $(FUZZ_TARGETS:%=$(B)/tests/fuzz/%) $(B)/tests/fuzz/gen_corpus
	@:

fuzz-corpus: fuzz-build
	$(FUZZ_B)/tests/fuzz/gen_corpus tests/fuzz/corpus

$(B)/tests/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/dn_fuzz.o $(LIBTEST) \
                        $(LIBAGENT) $(LIBSERVER) $(LIBCOMMON)
	$(CC) -fsanitize=fuzzer,address,undefined $^ -o $@ $(LDLIBS_ALL)

$(B)/tests/fuzz/gen_corpus: $(B)/tests/fuzz/gen_corpus.o $(B)/tests/fuzz/dn_fuzz.o \
                            $(LIBTEST) $(LIBSERVER) $(LIBCOMMON)
	$(CC) $(LDFLAGS_ALL) $^ -o $@ $(LDLIBS_ALL)

# (-type f: make deb stages a sysusers.d folder under $(B)/deb)
-include $(shell find $(B) -type f -name '*.d' 2>/dev/null)
