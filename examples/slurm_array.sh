#!/bin/bash
# OCR a folder of images on a Slurm cluster: a job array of 16 tasks, each taking one shard.
# fastvlm reads its shard from SLURM_ARRAY_TASK_ID / _COUNT / _MIN, so every task runs the same line.
# Submit: sbatch examples/slurm_array.sh        Merge: cat "$RESULTS"/ocr-*.jsonl > ocr.jsonl
#SBATCH --job-name=fastvlm-ocr
#SBATCH --array=0-15                  # 16 shards; add %4 (0-15%4) to run at most 4 at once
#SBATCH --cpus-per-task=8
#SBATCH --mem=4G                      # a 0.5B batch peaks at ~1.4 GB RSS (README); more for larger models
#SBATCH --time=04:00:00
#SBATCH --signal=B:TERM@120           # SIGTERM 2 min before the time limit: fastvlm stops cleanly (exit 143)
#SBATCH --requeue                     # a pre-empted task runs again; --resume skips what is done
#SBATCH --output=fastvlm-%A_%a.log
set -euo pipefail

IMAGES=/shared/receipts               # read by every task (shared file system)
RESULTS=/shared/results/receipts-ocr  # one file per shard: never two writers on one file
MODEL=/shared/models/FastVLM-0.5B
mkdir -p "$RESULTS"

# exec: fastvlm receives Slurm's SIGTERM itself (the batch shell would not pass it on).
exec fastvlm batch "$IMAGES" --recursive --task ocr -m "$MODEL" --threads "$SLURM_CPUS_PER_TASK" \
  -o "$RESULTS/ocr-{shard}.jsonl" --summary "$RESULTS/summary-{shard}.json" --resume
