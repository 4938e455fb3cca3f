#!/bin/bash
# The learning-signal ablation of issue 18 (experiments/results_rl.md, "Learning
# signal (issue 18)"): one placer-train run per (design, arm, seed).
#   experiments/run_signal_ablation.sh DESIGN ARM SEED UPDATES OUT_ROOT
# DESIGN: a folder of netlists/ (netlist.pb.txt + initial.plc); ARM: base,
# shaping, imitation, both, value, encoder (the case below).
set -euo pipefail
design=$1; arm=$2; seed=$3; updates=$4; root=$5
case $arm in
  base)      extra=() ;;
  shaping)   extra=(ppo.shaping=true) ;;
  imitation) extra=(ppo.imitation_coef=0.3) ;;
  both)      extra=(ppo.shaping=true ppo.imitation_coef=0.3) ;;
  value)     extra=(model.value_prior=true value_checkpoint=placer/reward_model/checkpoint_graph) ;;
  encoder)   extra=(encoder_checkpoint=placer/reward_model/checkpoint_graph) ;;
  *) echo "unknown arm $arm" >&2; exit 2 ;;
esac
out=$root/$design/$arm/s$seed
mkdir -p "$out"
PYTHONPATH=$PWD placer-train netlist=netlists/$design/netlist.pb.txt \
  placement=netlists/$design/initial.plc output_dir="$out" updates="$updates" \
  eval_every=2 checkpoint_every=1000 seed="$seed" progress=false \
  ppo.num_envs=8 model.encoder_input=placement "${extra[@]}" > "$out/log.txt" 2>&1
