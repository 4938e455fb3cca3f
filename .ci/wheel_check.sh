#!/usr/bin/env bash
# Builds the wheel, installs it into a fresh virtual environment outside the
# source tree, and runs placer-evaluate and placer-place from there: the
# configs (placer/conf) and checkpoints must travel inside the wheel.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel --quiet --no-deps -w "$work/dist" "$repo"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/placer-*.whl
cd "$work"
nl="$repo/netlists/synth_small/netlist.pb.txt"
plc="$repo/netlists/synth_small/initial.plc"
"$work/venv/bin/placer-evaluate" netlist="$nl" placement="$plc" > evaluate.json
"$work/venv/bin/python" -c "import json; d = json.load(open('evaluate.json')); print('wheel: placer-evaluate proxy', d['proxy'])"
"$work/venv/bin/placer-place" netlist="$nl" placement="$plc" method=greedy \
    output_dir=out plot=false > place.json
test -s out/synth_small_greedy.plc
"$work/venv/bin/python" -c "import json; d = json.load(open('place.json')); print('wheel: placer-place stdout is JSON, proxy', d['proxy'])"
"$work/venv/bin/placer-place" --help | grep -q "random" || { echo "wheel: placer-place --help does not list the methods"; exit 1; }
"$work/venv/bin/python" -c "import placer, sys; sys.exit(0 if 'site-packages' in placer.__file__ else 1)"
"$work/venv/bin/python" -c "import placer; placer.load_policy(); print('wheel: shipped policy loads')"
echo "wheel: installed outside the source tree, placer-evaluate and placer-place ran"
