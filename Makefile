# SPDX-License-Identifier: MIT
# Makefile - builds libjobstat, jobstatd and jobstat, runs the tests and benchmarks.
#
#   make                  library (shared + static), daemon, CLI
#   make test             every Criterion suite and the export check (installs deps first)
#   make bench            the benchmark harness and the focused benchmarks (bench/RESULTS.md)
#   make stress           the long torn-read run and 300 kill/adopt cycles
#   make demo             a daemon, a producer, a client and jobstat watch, for a first look
#   make fuzz             libFuzzer on the control protocol and on segment attach (FUZZ_SECONDS)
#   make deps             install the Debian packages the build needs (root), or say how
#   make install          PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined test | make SANITIZE=thread test | make DEVELOPER=1
.SUFFIXES:

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION       := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX     ?= /usr/local
prefix     ?= $(PREFIX)
bindir     ?= $(prefix)/bin
sbindir    ?= $(prefix)/sbin
libdir     ?= $(prefix)/lib
includedir ?= $(prefix)/include
mandir     ?= $(prefix)/share/man
pkgconfigdir ?= $(libdir)/pkgconfig
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config

# Debian packages the build and the tests need (make deps installs them).
DEB_PACKAGES := build-essential pkg-config liburcu-dev libbsd-dev libcriterion-dev python3
# And those only the benchmark harness needs: its Redis baseline and its plot.
BENCH_PACKAGES := redis-server libhiredis-dev gnuplot-nox
# And the fuzzers: clang with libFuzzer.
FUZZ_PACKAGES := clang libclang-rt-14-dev

comma := ,
BUILD := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

WARNINGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wundef \
	    -Wpointer-arith -Wvla
OPT      ?= -O2 -g
CSTD     := -std=gnu11
CFLAGS   ?=
LDFLAGS  ?=
ifeq ($(DEVELOPER),1)
WARNINGS += -Werror
endif
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# pkg-config answers only once the packages are there; deps-check runs first for every goal.
URCU_CFLAGS   = $(shell $(PKG_CONFIG) --cflags liburcu 2>/dev/null)
URCU_LIBS     = $(shell $(PKG_CONFIG) --libs liburcu 2>/dev/null)
BSD_CFLAGS    = $(shell $(PKG_CONFIG) --cflags libbsd-overlay 2>/dev/null)
BSD_LIBS      = $(shell $(PKG_CONFIG) --libs libbsd 2>/dev/null)
CRIT_CFLAGS   = $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRIT_LIBS     = $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)

INCLUDES  = -Ilibclient -Ishm-layout -Iproto -Idaemon
ALL_CFLAGS = $(CSTD) $(OPT) $(WARNINGS) $(SANFLAGS) $(INCLUDES) $(URCU_CFLAGS) \
	     -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

SONAME    := libjobstat.so.$(VERSION_MAJOR)
SHLIB     := $(BUILD)/libjobstat.so.$(VERSION)
STLIB     := $(BUILD)/libjobstat.a
PUBLIB    := $(BUILD)/libjstpublish.a

LIB_SRCS  := libclient/util.c libclient/read.c libclient/states.c libclient/conn.c \
	     libclient/geterror.c libclient/render.c \
	     shm-layout/shm-check.c proto/proto.c
PUB_SRCS  := daemon/publish.c
SERVER_SRCS := daemon/server.c daemon/requests.c daemon/jobs.c daemon/log.c
SERVER_OBJS = $(SERVER_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_SRCS := daemon/jobstatd.c $(SERVER_SRCS)
CLI_SRCS  := cli/jobstat.c
TEST_SRCS := $(wildcard tests/test_*.c)
BENCH_SRCS := bench/readpath.c bench/producer.c

LIB_PIC_OBJS := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PUB_OBJS     := $(PUB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_BINS    := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_BINS   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps deps-check bench-deps fuzz fuzz-deps test check-exports bench stress run demo install uninstall clean \
	format help

all: deps-check $(SHLIB) $(STLIB) $(BUILD)/jobstatd $(BUILD)/jobstat $(BUILD)/jobstat.pc

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

# ---- dependencies ---------------------------------------------------------------------------
# deps installs what is missing (root) or prints the command; deps-check fails with that
# command when anything is missing and we cannot install it.
deps:
	@sh .ci/deps.sh install $(DEB_PACKAGES)

deps-check:
	@sh .ci/deps.sh install $(DEB_PACKAGES)

# ---- the library ----------------------------------------------------------------------------
$(BUILD)/pic/%.o: %.c | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DJST_BUILDING -c $< -o $@

$(BUILD)/obj/%.o: %.c | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DJST_BUILDING -c $< -o $@

$(SHLIB): $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -Wl,-z,defs $(ALL_LDFLAGS) \
		-o $@ $^ $(if $(SANITIZE),,-lc)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libjobstat.so

$(STLIB): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(PUBLIB): $(PUB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/jobstat.pc: jobstat.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(libdir)|' \
	    -e 's|@includedir@|$(includedir)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# ---- programs -------------------------------------------------------------------------------
$(BUILD)/jobstatd: $(BUILD)/obj/daemon/jobstatd.o $(SERVER_OBJS) $(PUBLIB) $(STLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(URCU_LIBS) $(BSD_LIBS)

$(BUILD)/jobstat: $(BUILD)/obj/cli/jobstat.o $(STLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# ---- tests ----------------------------------------------------------------------------------
$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/testdaemon.h $(PUBLIB) $(STLIB) $(BUILD)/jobstatd \
		$(BUILD)/jobstat | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(PUBLIB) $(STLIB) \
		$(ALL_LDFLAGS) \
		$(CRIT_LIBS) $(URCU_LIBS)

# The fuzz targets built without libFuzzer, to replay the seeds and every regression input.
$(BUILD)/libjstserver.a: $(SERVER_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libjstserver.a \
		$(PUBLIB) $(STLIB) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c \
		$(BUILD)/libjstserver.a $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) $(URCU_LIBS) $(BSD_LIBS)

FUZZ_TARGETS := proto attach adopt
REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)

# The library used from threads, outside Criterion, for ThreadSanitizer.
$(BUILD)/tests/tsan_threads: tests/tsan_threads.c $(PUBLIB) $(STLIB) $(BUILD)/jobstatd | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) -pthread $(URCU_LIBS)

# make test SANITIZE=thread runs the threaded program only: Criterion cannot start under
# ThreadSanitizer (Snaipe/Criterion#274), and only that program has threads.
ifneq ($(findstring thread,$(SANITIZE)),)
test: all $(BUILD)/tests/tsan_threads
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tests/tsan_threads $(BUILD)/jobstatd
else
# Every suite runs even when one fails; the goal fails if any did.
test: all $(TEST_BINS) $(REPLAY_BINS) $(BUILD)/tests/tsan_threads
	@fail=0; for t in $(TEST_BINS); do \
		echo "== $$t"; \
		$$t --jobs=1 $(TEST_ARGS) || fail=1; \
	done; \
	for t in $(FUZZ_TARGETS); do \
		echo "== replay of fuzz inputs: $$t"; \
		$(BUILD)/tests/replay_$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t || fail=1; \
	done; \
	$(BUILD)/tests/tsan_threads $(BUILD)/jobstatd || fail=1; \
	sh tests/check-exports.sh $(SHLIB) || fail=1; \
	if [ $$fail -ne 0 ]; then echo "make test: FAILED"; exit 1; fi; echo "make test: all suites passed"
endif

check-exports: $(SHLIB)
	sh tests/check-exports.sh $(SHLIB)

# The torn-read and stalled-reader tests for minutes instead of seconds; hundreds of kill -9
# / adopt cycles (publisher alone, then jobstatd with 4 producers and 4 monitors); a thousand
# kills of producers and of monitors; a monitor stopped for a minute under a flat-out writer.
STRESS_SECONDS ?= 180
STRESS_CYCLES ?= 300
STRESS_KILLS ?= 1000
STRESS_STOP_SECONDS ?= 60
stress: all $(BUILD)/tests/test_torn $(BUILD)/tests/test_adopt $(BUILD)/tests/test_restart
	JST_STRESS_SECONDS=$(STRESS_SECONDS) $(BUILD)/tests/test_torn --jobs=1
	JST_STRESS_CYCLES=$(STRESS_CYCLES) $(BUILD)/tests/test_adopt --jobs=1
	JST_STRESS_CYCLES=$(STRESS_CYCLES) JST_STRESS_KILLS=$(STRESS_KILLS) \
		$(BUILD)/tests/test_restart --jobs=1
	JST_STRESS_STOP_SECONDS=$(STRESS_STOP_SECONDS) $(BUILD)/tests/test_torn --jobs=1 \
		--filter='torn/a_monitor_stopped*' --verbose

# ---- fuzzing --------------------------------------------------------------------------------
# Each target runs FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/T) and the corpus
# it grew before (build/fuzz/corpus-T). A crash leaves crash-* here: copy it into
# tests/fuzz/regressions/T/ with the fix, and make test replays it from then on.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SRCS := $(LIB_SRCS) $(PUB_SRCS)
FUZZ_SRCS_proto := $(SERVER_SRCS)
fuzz-deps:
	@sh .ci/deps.sh install $(FUZZ_PACKAGES)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(SERVER_SRCS) | fuzz-deps deps-check
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(INCLUDES) $(URCU_CFLAGS) -o $@ $< $(FUZZ_SRCS) $(FUZZ_SRCS_$*) $(URCU_LIBS) $(BSD_LIBS)

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$t \
			tests/fuzz/corpus/$$t || exit 1; \
	done

# ---- benchmarks -----------------------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c bench/benchutil.h $(PUBLIB) $(STLIB) $(BUILD)/jobstatd | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) \
		$(URCU_LIBS)

$(BUILD)/bench/harness: bench/harness.c bench/benchutil.h $(PUBLIB) $(STLIB) $(BUILD)/jobstatd | bench-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) \
		-lhiredis $(URCU_LIBS)

bench-deps:
	@sh .ci/deps.sh install $(BENCH_PACKAGES)

# The harness (issue 6: jobstat vs floor, socket and Redis; scaling; plot; JSON), again with
# the segment on 2 MiB pages (--huge: root; on 4 KiB pages, saying so, otherwise), then the
# focused read-path and producer benchmarks. BENCH_ARGS=--quick for a run under a minute
# (the harness stops at 100k jobs then).
bench: all $(BENCH_BINS) $(BUILD)/bench/harness
	$(BUILD)/bench/harness $(BENCH_ARGS) --json $(BUILD)/bench.json --plot $(BUILD)/poll.png
	$(BUILD)/bench/harness $(BENCH_ARGS) --huge --json $(BUILD)/bench-huge.json
	$(BUILD)/bench/readpath $(BENCH_ARGS)
	$(BUILD)/bench/producer $(BENCH_ARGS)

# jobstatd in the foreground on the defaults (namespace $$JOBSTAT_NAMESPACE or "default").
run: all
	$(BUILD)/jobstatd -f $(RUN_ARGS)

# ---- the demo -------------------------------------------------------------------------------
$(BUILD)/demo-producer: demo/producer.c $(STLIB) | deps-check
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STLIB) $(ALL_LDFLAGS)

# jobstatd in a temporary runtime directory, a producer, a client, watch, GetError; then
# everything stopped and removed. The first thing to run on a fresh clone.
demo: all $(BUILD)/demo-producer
	sh demo/run.sh $(BUILD)

# ---- installation ---------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir)/jobstat $(DESTDIR)$(pkgconfigdir) \
		$(DESTDIR)$(bindir) $(DESTDIR)$(sbindir)
	install -m 0755 $(SHLIB) $(DESTDIR)$(libdir)/
	ln -sf libjobstat.so.$(VERSION) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(libdir)/libjobstat.so
	install -m 0644 $(STLIB) $(DESTDIR)$(libdir)/
	install -m 0644 libclient/jobstat.h $(DESTDIR)$(includedir)/
	install -m 0644 shm-layout/jobstat-shm.h libclient/jobstat-inline.h \
		$(DESTDIR)$(includedir)/jobstat/
	install -m 0644 $(BUILD)/jobstat.pc $(DESTDIR)$(pkgconfigdir)/
	install -m 0755 $(BUILD)/jobstat $(DESTDIR)$(bindir)/
	install -m 0755 $(BUILD)/jobstatd $(DESTDIR)$(sbindir)/
	install -d $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man3 $(DESTDIR)$(mandir)/man8
	install -m 0644 man/jobstat.1 $(DESTDIR)$(mandir)/man1/
	install -m 0644 man/libjobstat.3 $(DESTDIR)$(mandir)/man3/
	install -m 0644 man/jobstatd.8 $(DESTDIR)$(mandir)/man8/

uninstall:
	rm -f $(DESTDIR)$(libdir)/libjobstat.so.$(VERSION) $(DESTDIR)$(libdir)/$(SONAME) \
	      $(DESTDIR)$(libdir)/libjobstat.so $(DESTDIR)$(libdir)/libjobstat.a \
	      $(DESTDIR)$(includedir)/jobstat.h $(DESTDIR)$(includedir)/jobstat/jobstat-shm.h \
	      $(DESTDIR)$(includedir)/jobstat/jobstat-inline.h \
	      $(DESTDIR)$(pkgconfigdir)/jobstat.pc $(DESTDIR)$(bindir)/jobstat \
	      $(DESTDIR)$(sbindir)/jobstatd $(DESTDIR)$(mandir)/man1/jobstat.1 \
	      $(DESTDIR)$(mandir)/man3/libjobstat.3 $(DESTDIR)$(mandir)/man8/jobstatd.8
	-rmdir $(DESTDIR)$(includedir)/jobstat 2>/dev/null

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
