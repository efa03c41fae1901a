#!/bin/sh
# make demo: the main job. Until vtpmd serves the engine to a booting VM, the engine is driven
# in-process through a short sequence of real TPM 2.0 commands.
set -eu
build=${1:-build}
"$build/demo/vtpm-engine-demo"
