# The two commands of the README. Both install missing Debian packages first.
#   make run   Release build, then vigild in the foreground on 127.0.0.1:8080
#   make test  build (warnings are errors) and run every test with ctest
JOBS ?= 2
RELEASE_DIR ?= build-release
TEST_DIR ?= build

.PHONY: deps run test build-release build-test asan tsan fuzz bench soak clean

deps:
	@scripts/install-deps

build-release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS)

run: build-release
	@mkdir -p var/log
	$(RELEASE_DIR)/vigild --config=config/vigil.properties

build-test: deps
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON >/dev/null
	@cmake --build $(TEST_DIR) -j$(JOBS)

test: build-test
	ctest --test-dir $(TEST_DIR) --output-on-failure -j$(JOBS) --timeout 300

# Address and undefined-behaviour sanitizers over the whole test suite, built with clang in the
# fuzz build (build-fuzz), so `make fuzz` and `make asan` compile the libraries once between them.
asan: deps
	JOBS=$(JOBS) scripts/fuzz --suite

# -O1, line tables only: the build is the slow part.
SAN_FLAGS = -O1 -g1
# ThreadSanitizer over the concurrency tests: the store's writer, the outbox's dispatcher, the
# HTTP front stage and workers (vigild itself is built with TSan, and the integration tests that
# drive it concurrently run against it).
TSAN_TESTS = store_test outbox_test http_test integration_test
tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=$(SAN_FLAGS)" -DVIGIL_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j$(JOBS) --target vigild vigilctl $(TSAN_TESTS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --test-dir build-tsan --output-on-failure -j$(JOBS) --timeout 600 \
	  -L '^($(shell echo $(TSAN_TESTS) | sed 's/ /|/g'))$$'

# libFuzzer targets (clang, ASan + UBSan), each run FUZZ_SECONDS; seeds in tests/fuzz/corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	JOBS=$(JOBS) scripts/fuzz $(FUZZ_SECONDS)

# Benchmarks are run by hand; figures go to docs/BENCHMARKS.md.
bench: build-release
	@scripts/install-deps bench
	@cmake -S . -B $(RELEASE_DIR) -DVIGIL_BUILD_BENCH=ON >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS)
	tests/bench/run-all $(RELEASE_DIR)

# The soak test, by hand (issue 13.9): 10 minutes of mixed writes with kill -9 every 60 s, the SMTP
# server down for 3 minutes and a full disk (a tmpfs: run as root); figures to docs/BENCHMARKS.md.
# SOAK_ARGS passes options, e.g. SOAK_ARGS="--seconds 120".
soak: build-release
	tests/bench/soak --build $(RELEASE_DIR) $(SOAK_ARGS)

clean:
	rm -rf $(TEST_DIR) $(RELEASE_DIR) build-tsan build-fuzz
