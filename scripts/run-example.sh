#!/usr/bin/env bash
# Builds and runs the flagship example (examples/train_and_resume.cpp) on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh --without-torch
cmake -S . -B build/example -DCMAKE_BUILD_TYPE=Release -DH5SER_BUILD_TESTS=OFF >/dev/null
cmake --build build/example --target train_and_resume -j"$(nproc)" >/dev/null
cd build/example/examples && ./train_and_resume
