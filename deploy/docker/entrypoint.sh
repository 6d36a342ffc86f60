#!/bin/sh
# Entrypoint of the fruits image: `fruits <command> [options]`.
#
# Two conveniences for orchestrators, then `exec node dist/cli/main.js "$@"` (node replaces this shell):
#  1. FRUITS_REDIS_URL: when unset and FRUITS_REDIS_HOST is set, it is built from
#     FRUITS_REDIS_HOST, FRUITS_REDIS_PORT (6379), FRUITS_REDIS_PASSWORD (optional) and
#     FRUITS_REDIS_TLS (true → rediss://). ECS injects the password from Secrets Manager, so the
#     URL with the password exists only in the process environment, never in a template.
#     The password must be URL-safe (the CDK stack generates an alphanumeric one).
#  2. FRUITS_MODEL_DIR: when the image was built with BAKE_MODEL=1 and neither FRUITS_MODEL nor
#     FRUITS_MODEL_DIR is set, the baked model in /opt/fruits/model is used.
set -eu

if [ -z "${FRUITS_REDIS_URL:-}" ] && [ -n "${FRUITS_REDIS_HOST:-}" ]; then
  scheme=redis
  case "${FRUITS_REDIS_TLS:-false}" in true | 1 | yes) scheme=rediss ;; esac
  auth=""
  if [ -n "${FRUITS_REDIS_PASSWORD:-}" ]; then auth=":${FRUITS_REDIS_PASSWORD}@"; fi
  FRUITS_REDIS_URL="${scheme}://${auth}${FRUITS_REDIS_HOST}:${FRUITS_REDIS_PORT:-6379}"
  export FRUITS_REDIS_URL
fi
unset FRUITS_REDIS_PASSWORD

if [ -z "${FRUITS_MODEL:-}" ] && [ -z "${FRUITS_MODEL_DIR:-}" ]; then
  for f in /opt/fruits/model/*.onnx; do
    if [ -f "$f" ]; then
      FRUITS_MODEL_DIR=/opt/fruits/model
      export FRUITS_MODEL_DIR
    fi
    break
  done
fi

# 3. `serve` runs with glibc's malloc told to give memory back (each setting kept when already set): with its
#    defaults, the server's RSS stayed at a 400-client burst's peak (538 MB) after the burst; with these it came
#    back from 477 to 292 MB (baseline 243) within 30 s (bench:app, docs/app.md). Blocks of 128 KB and more are
#    mapped and unmapped on their own (a fixed threshold: glibc otherwise raises it to the largest block freed,
#    1 MB uploads and decoded photos, which then stay in its heaps), 2 arenas instead of 8 per core.
if [ "${1:-}" = serve ]; then
  export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
  export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
  export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-262144}"
fi

# FRUITS_CLI is for tests of this script only.
exec node "${FRUITS_CLI:-/app/dist/cli/main.js}" "$@"
