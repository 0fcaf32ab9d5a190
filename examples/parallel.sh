#!/bin/sh
# Several fastvlm processes on one machine with GNU parallel: 4 shards of 2 threads each.
# Merge: cat results-*.jsonl > results.jsonl
parallel -j4 --line-buffer fastvlm batch ~/receipts -r --task ocr -m ~/models/FastVLM-0.5B --threads 2 --shard {}/4 -o 'results-{}.jsonl' --resume ::: 0 1 2 3
