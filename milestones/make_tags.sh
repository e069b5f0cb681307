#!/usr/bin/env bash
# Recreate the annotated milestone tags (m0, m1, ...) from the commits recorded in
# milestones/README.md. An existing tag is never moved: a mismatch is reported and the script fails.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
status=0
while IFS=$'\t' read -r tag commit adds; do
  if existing=$(git rev-parse -q --verify "refs/tags/$tag^{commit}"); then
    if [ "$existing" != "$(git rev-parse "$commit^{commit}")" ]; then
      echo "tag $tag points to $existing, but the record says $commit; not moving it" >&2
      status=1
    else
      echo "tag $tag already at $commit"
    fi
  else
    git tag -a "$tag" "$commit" -m "FoloVLLM milestone $tag: $adds"
    echo "created tag $tag at $commit"
  fi
done < <(python3 milestones/records.py)
exit $status
