#!/bin/bash
# Queue SHARDS array tasks (one node each) and the merge job that runs after all of them.
#   DYNBENCH_HOME=~/dynbench MODEL=Qwen/Qwen2.5-VL-7B-Instruct DATA=/shared/dynbench \
#   OUT=/shared/runs/qwen25vl-7b SHARDS=8 bash submit.sh
# Rerun a failed shard later with `sbatch --array=<its task id> dynbench-array.sbatch` (it
# resumes) and then dynbench-merge.sbatch again.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHARDS=${SHARDS:-8}
: "${OUT:?set OUT to a folder every node can write}"
export DYNBENCH_HOME MODEL OUT SHARDS
export DATA=${DATA:-} EXTRA_ARGS=${EXTRA_ARGS:-} BASELINE=${BASELINE:-} FAIL_UNDER=${FAIL_UNDER:-}
mkdir -p "$OUT/shards"

array=$(sbatch --parsable --array="0-$((SHARDS - 1))" "$here/dynbench-array.sbatch")
array=${array%%;*}  # "jobid;cluster" on federated clusters
merge=$(sbatch --parsable --dependency="afterany:$array" "$here/dynbench-merge.sbatch")
echo "shards: job $array (array 0-$((SHARDS - 1))); merge: job ${merge%%;*} -> $OUT/merged"
