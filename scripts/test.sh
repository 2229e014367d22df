#!/usr/bin/env bash
# The whole test suite, as CI runs it: the single header must be current; then GCC 12 and Clang 14
# with -Wall -Wextra -Wpedantic -Werror, Clang under AddressSanitizer + UndefinedBehaviorSanitizer,
# GCC under ThreadSanitizer for the asynchronous saves, and a minute of libFuzzer (clang) over the loader.
# Each build runs the doctest suites, the h5py cross-checks and the examples; which build runs which
# of the rest is said below.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
/usr/bin/python3 scripts/amalgamate.py --check
# The code is formatted as .clang-format says (clang-format 14, Debian's).
git ls-files '*.hpp' '*.cpp' | grep -v '^single_include/' | xargs clang-format-14 --dry-run -Werror

jobs=$(nproc)
run() {
  local name=$1 ctest_args=$2
  shift 2
  local start=$SECONDS
  echo "=== build: $name"
  cmake -S . -B "build/$name" -DH5SER_REQUIRE_H5PY=ON -DH5SER_REQUIRE_KERAS=ON -DH5SER_REQUIRE_MPI=ON -DH5SER_REQUIRE_ADAPTERS=ON -DH5SER_REQUIRE_REMOTE=ON "$@" >/dev/null
  cmake --build "build/$name" -j"$jobs"
  (cd "build/$name" && ctest --output-on-failure -j"$jobs" $ctest_args)
  echo "=== build: $name passed in $((SECONDS - start)) s"
}
# Each test suite is built where it is cheapest and runs once:
# - GCC, optimised (-O2, as most projects build; -O3 compiles 15% slower): the header-only suites,
#   the adapter tests (libtorch's only here: Clang 14 cannot compile libtorch 1.13's headers in
#   C++20), libtorch's snippets, bench_gpt2 and libtorch's benchmarks (run at a tiny size), and the
#   tests labelled "slow" (the SIGKILL crash tests, the damaged-file harness, compile_time.sh, the
#   install test).
# - Clang, unoptimised (a quarter of the compile time of -O3): the suites against the single header
#   with its core compiled once from it (the header-only suites' code, concatenated: not built again
#   from include/), a program linking h5ser::compiled, the other snippets of the documents, the
#   other benchmarks (at a tiny size they only have to run), and each header under include/
#   compiled alone.
# - Clang under ASan+UBSan (unoptimised, line tables only): the header-only suites and the adapters;
#   not the "slow" tests, the tests of how h5ser compiles (H5SER_TEST_COMPILATION: compile-fail
#   diagnostics, symbols, macros, -Og) and the documents' snippets, which test the compiler rather
#   than h5ser's code, nor the benchmarks. Clang builds it in half GCC's time (5 min against 11 on
#   two cores), and its UBSan checks float-to-integer conversions, which GCC's does not.
run gcc "" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DH5SER_TEST_SINGLE_INCLUDE=OFF -DH5SER_TEST_COMPILED_CORE=OFF -DH5SER_DOC_SNIPPET_PARTS=torch "-DH5SER_BENCHMARK_PARTS=gpt2;torch"
run clang "-LE slow" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O0 \
  -DH5SER_TEST_HEADER_ONLY=OFF -DH5SER_TEST_COMPILED_CORE=OFF -DH5SER_TEST_SLOW=OFF -DH5SER_BENCHMARK_PARTS=core \
  -DH5SER_TEST_ADAPTERS=OFF -DH5SER_TEST_TORCH=OFF -DH5SER_TEST_HEADERS=ON
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  run sanitize "-LE slow" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DH5SER_SANITIZE=address,undefined -DH5SER_TEST_COMPILATION=OFF \
  -DH5SER_TEST_SINGLE_INCLUDE=OFF -DH5SER_TEST_COMPILED_CORE=OFF -DH5SER_TEST_TORCH=OFF -DH5SER_DOC_SNIPPET_PARTS= \
  -DH5SER_BUILD_BENCHMARKS=OFF -DH5SER_TEST_SLOW=OFF
# ThreadSanitizer over the asynchronous saves (a background writer thread) and the loads of URLs
# (requests on threads of their own), GCC: only their suites.
start=$SECONDS
echo "=== build: tsan"
cmake -S . -B build/tsan -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug -DH5SER_SANITIZE=thread \
  -DH5SER_BUILD_EXAMPLES=OFF -DH5SER_BUILD_TOOLS=OFF >/dev/null
cmake --build build/tsan -j"$jobs" --target h5ser_async_tests h5ser_remote_tests
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/h5ser_async_tests
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/h5ser_remote_tests
echo "=== build: tsan passed in $((SECONDS - start)) s"
# libFuzzer over the loader for a bounded time; a crash in h5ser fails, crashes inside libhdf5 are reported.
run fuzz "-L fuzz" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DH5SER_BUILD_FUZZERS=ON -DH5SER_BUILD_TESTS=OFF -DH5SER_BUILD_EXAMPLES=OFF -DH5SER_BUILD_TOOLS=OFF -DH5SER_FUZZ_SECONDS=60
echo "all builds passed"
