#!/bin/bash
# Run the shards as an Indexed Job, wait until it has finished (complete or failed), then run
# the merge Job and print its output:  bash docs/kubernetes/run.sh [-n NAMESPACE]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kc=(kubectl "$@")

finished() {  # the job's true conditions include Complete or Failed
  local state
  state=$("${kc[@]}" get job "$1" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
  [[ "$state" =~ (Complete|Failed) ]]
}

wait_for() {
  echo "waiting for job/$1 ..."
  until finished "$1"; do sleep 30; done
}

"${kc[@]}" delete job dynbench-shards dynbench-merge --ignore-not-found
"${kc[@]}" apply -f "$here/dynbench-shards.yaml"
wait_for dynbench-shards
"${kc[@]}" apply -f "$here/dynbench-merge.yaml"
wait_for dynbench-merge
"${kc[@]}" logs job/dynbench-merge
