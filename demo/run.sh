#!/bin/sh
# make demo: placeholder until vtpmd lands (see README).
set -eu
echo "demo: not yet"
