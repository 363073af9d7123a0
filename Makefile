# rowpipe: build, test, lint, install. GNU make + pkg-config; `make help` lists the targets.

PREFIX    ?= /usr/local
# ccache (when installed) makes rebuilds and fresh clones on the same machine cheap; NOHASHDIR and
# BASEDIR let a clone in another directory reuse the objects of this one.
CCACHE    := $(shell command -v ccache 2>/dev/null)
override CXX := $(if $(CCACHE),$(if $(findstring ccache,$(CXX)),,ccache ))$(CXX)
export CCACHE_NOHASHDIR := 1
export CCACHE_BASEDIR := $(CURDIR)
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
PKGS      := libmariadb hiredis rdkafka librabbitmq libmongoc-1.0 libzstd zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# BUILD names the variant's directory so asan and fuzz objects never mix with release ones.
BUILD     ?= build
OPT       ?= -O2 -g
SAN       ?=
CXXFLAGS  ?=
# RapidJSON's SIMD scanning (RAPIDJSON_SSE2) is off: its aligned 16-byte loads read past the end
# of buffers that are not padded, which ASan rightly reports.
override CXXFLAGS += -std=c++20 $(OPT) -Wall -Wextra -Werror -pthread $(SAN) -Ilib $(PKG_CFLAGS) -MMD -MP
LDFLAGS   ?=
override LDFLAGS  += -pthread $(SAN)
LDLIBS    = $(PKG_LIBS)

TOOLS     := binlog-tail mq-pipe jsonl-to-redis jsonl-to-mongo
LIB_SRCS  := $(shell find lib -name '*.cpp' | sort)
LIB_OBJS  := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
LIB       := $(BUILD)/librowpipe.a
BIN_DIR   := $(if $(filter build,$(BUILD)),bin,$(BUILD)/bin)
BINS      := $(TOOLS:%=$(BIN_DIR)/%)
UNIT_SRCS := $(sort $(wildcard tests/unit/*.cpp))
# Unit tests also link each tool's own files (all but main.cpp), so tool logic is testable; tools
# keep their symbols in their own namespaces.
TOOL_PART_SRCS := $(filter-out %/main.cpp,$(sort $(wildcard tools/*/*.cpp)))
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o) $(TOOL_PART_SRCS:%.cpp=$(BUILD)/%.o)
UNIT      := $(BUILD)/tests/unit-tests
HELPER_SRCS := $(sort $(wildcard tests/helpers/*.cpp))
HELPERS   := $(HELPER_SRCS:tests/helpers/%.cpp=$(BUILD)/tests/%)
MANS      := $(sort $(wildcard man/*.[15]))

.SECONDARY:

.PHONY: all help deps test check-build unit asan fuzz lint format install uninstall clean demo

all: $(BINS) $(UNIT) $(HELPERS)

help:
	@echo "make            build bin/ (the tools) and the test programs"
	@echo "make deps       install build and test dependencies (Debian, as root)"
	@echo "make test       deps, build, lint, unit, CLI and integration tests (real servers)"
	@echo "make demo       MariaDB -> binlog-tail -> jsonl-to-redis on private servers"
	@echo "make asan       build with clang ASan+UBSan into build-asan/ and run the unit tests"
	@echo "make fuzz       build the libFuzzer targets into build-asan/fuzz/"
	@echo "make lint       clang-format check, clang-tidy on lib/, groff check of man/"
	@echo "make install    PREFIX=$(PREFIX): binaries and man pages"
	@echo "make clean      remove build outputs"

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CXX $<")
	$(Q)$(CXX) $(CXXFLAGS) $(VERSION_FLAG) -c $< -o $@

# Only this object carries the version, so a new commit does not change every compile command
# (ccache hits); an incremental build may keep an older version string, a fresh one never does.
$(BUILD)/lib/cli/app.o: VERSION_FLAG = -DROWPIPE_VERSION='"$(VERSION)"'


$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# A tool is every .cpp file in tools/<tool>/ (main.cpp plus what is particular to it) and the library.
tool_objs = $(patsubst %.cpp,$(BUILD)/%.o,$(wildcard tools/$(1)/*.cpp))
.SECONDEXPANSION:
$(BIN_DIR)/%: $$(call tool_objs,$$*) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD  $@")
	$(Q)$(CXX) $(LDFLAGS) $(filter %.o,$^) $(LIB) $(LDLIBS) -o $@

$(UNIT): $(UNIT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD  $@")
	$(Q)$(CXX) $(LDFLAGS) $(UNIT_OBJS) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD  $@")
	$(Q)$(CXX) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

deps:
	@scripts/deps.sh

# The one command CI and the README use: installs what is missing, builds, runs every suite, and
# ends with the summary line over all suites.
test: deps
	@$(MAKE) --no-print-directory -j2 all
	@tests/run-all

unit: $(UNIT)
	$(UNIT)

# One sanitizer build (clang, ASan+UBSan, libFuzzer coverage hooks) serves both the unit tests under
# ASan and the fuzz targets, so make test compiles the library only twice (release + this).
SAN_BUILD := build-asan
# pointer-overflow is off: RapidJSON 1.1's Stack adds to a null pointer before its first allocation
# (fixed upstream after 1.1); ASan still catches any real out-of-bounds access.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize=pointer-overflow -fno-sanitize-recover=undefined \
             -fsanitize=fuzzer-no-link
# RapidJSON's iterators trip clang's C++20 reversed-operator warning.
CLANG_WARN := -Wno-ambiguous-reversed-operator
SAN_MAKE = $(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CXX=clang++ OPT='-O1 -g -fno-omit-frame-pointer' \
           CXXFLAGS='$(CLANG_WARN)' SAN='$(SAN_FLAGS)'

asan:
	@$(SAN_MAKE) -j2 $(SAN_BUILD)/tests/unit-tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(SAN_BUILD)/tests/unit-tests --reporter compact

FUZZ_SRCS := $(sort $(wildcard tests/fuzz/*.cpp))
fuzz:
	@$(SAN_MAKE) -j2 $(SAN_BUILD)/librowpipe.a
	@mkdir -p $(SAN_BUILD)/fuzz
	@for f in $(FUZZ_SRCS); do \
	  n=$$(basename $$f .cpp); \
	  echo "  FUZZ $$f -> $(SAN_BUILD)/fuzz/$$n"; \
	  clang++ -std=c++20 -O1 -g $(CLANG_WARN) -Ilib $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize=pointer-overflow $$f \
	    $(SAN_BUILD)/librowpipe.a $(PKG_LIBS) -o $(SAN_BUILD)/fuzz/$$n || exit 1; \
	done

FORMAT_SRCS = $(shell find lib tools tests/unit tests/helpers tests/fuzz -name '*.cpp' -o -name '*.hpp' 2>/dev/null | sort)
lint:
	@tests/lint.sh

format:
	clang-format -i $(FORMAT_SRCS)

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(filter %.1,$(MANS)) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(filter %.5,$(MANS)) $(DESTDIR)$(PREFIX)/share/man/man5/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) \
	  $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man1/%,$(filter %.1,$(MANS))) \
	  $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man5/%,$(filter %.5,$(MANS)))

demo: deps
	@$(MAKE) --no-print-directory -j2 all
	@scripts/demo.sh

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
