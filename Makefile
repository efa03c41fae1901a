# vtpm: the two commands a newcomer types are `make demo` and `make check`.
# Each installs what it needs first (scripts/deps.sh), then builds with Meson + Ninja.

BUILD      ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 60
FUZZ_TARGET ?= all
CC_SETUP   ?=

.PHONY: all deps build check unit asan clang integration fuzz-replay demo fuzz bench clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(CC_SETUP)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Every test: unit tests, the same under ASan+UBSan, replay of kept fuzz inputs, then the
# integration tests with real clients (tpm2-tools, QEMU + OVMF + Linux). The tree must also
# build warning-free with clang.
check: build asan clang
	meson test -C $(BUILD) --print-errorlogs --num-processes 2
	@echo "make check: all tests passed"

unit: build
	meson test -C $(BUILD) --print-errorlogs --suite unit

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    meson test -C $(ASAN_BUILD) --print-errorlogs --suite unit --suite fuzz-replay

$(CLANG_BUILD)/build.ninja:
	CC=clang meson setup $(CLANG_BUILD)

clang: deps $(CLANG_BUILD)/build.ninja
	ninja -C $(CLANG_BUILD)

integration: build
	meson test -C $(BUILD) --print-errorlogs --suite integration

demo: build
	./demo/run.sh $(BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dbuildtype=debugoptimized -Db_lundef=false

# make fuzz FUZZ_TARGET=engine FUZZ_TIME=1800
fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	./fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TARGET) $(FUZZ_TIME)

bench: build
	./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
