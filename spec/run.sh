#!/bin/sh
# Runs the busted suite once per runtime and backend, TAP output, and prints the total.
# RUNTIMES: interpreters to use; BUILD: where build/<runtime>/han/*.so live.
# Results are appended to $BUILD/results so .ci/run can add up every suite it ran.
set -u
RUNTIMES=${RUNTIMES:-"lua5.1 lua5.4 luajit"}
BUILD=${BUILD:-build}
BACKENDS=${BACKENDS:-"c lua"}
# RUN_BUILD: where the modules are taken from (default $BUILD/<runtime>); TAG names
# the result files of special builds.
RUN_BUILD=${RUN_BUILD:-}
TAG=${TAG:-}
# LUA_CMD: run busted in-process with this interpreter command (qemu for ARM) instead of
# `busted --lua=<runtime>`; EXTRA_CPATH: more module paths; SPECS: which specs.
LUA_CMD=${LUA_CMD:-}
EXTRA_CPATH=${EXTRA_CPATH:-}
SPECS=${SPECS:-spec}
mkdir -p "$BUILD/results"
pass=0 fail=0
for r in $RUNTIMES; do
  for b in $BACKENDS; do
    out="$BUILD/results/busted-$r-$b$TAG.tap"
    echo "# busted on $r, backend $b $TAG"
    start=$(date +%s)
    if [ -n "$LUA_CMD" ]; then set -- $LUA_CMD /usr/bin/busted; else set -- busted --lua="$r"; fi
    HAN_BACKEND=$b LUA_CPATH="${RUN_BUILD:-$BUILD/$r}/?.so;$EXTRA_CPATH;" \
      LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" \
      "$@" -o TAP $SPECS > "$out" 2>&1
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
    # A suite that dies before reporting counts as a failure.
    grep -q '^1\.\.' "$out" || f=$((f + 1))
    grep '^not ok' -A 12 "$out" | head -60
    echo "# $r/$b: $p passed, $f failed, $(($(date +%s) - start)) s"
    pass=$((pass + p)); fail=$((fail + f))
  done
done
echo "$pass $fail" >> "$BUILD/results/counts"
echo "busted: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
