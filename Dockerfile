# syntax=docker/dockerfile:1
#
# The `fruits` image: one image for the worker, the coordinator and the app (the command picks the role).
#
#   docker build -t fruits .                          # model fetched on first use into $XDG_CACHE_HOME
#   docker build -t fruits --build-arg BAKE_MODEL=1 .  # model built into the image (needs internet at build time)
#   docker run --rm fruits --help
#
# Model: by default the image holds no model; on first use the CLI downloads the published MobileNetV2
# weights, builds the ONNX file, checks its sha256 and caches it under $XDG_CACHE_HOME/fruits
# (/home/node/.cache/fruits, a volume or task-local scratch storage). With BAKE_MODEL=1 the same
# `fruits model fetch` runs at build time and the file lands in /opt/fruits/model, which the entrypoint
# passes on as FRUITS_MODEL_DIR: no download per container, and the model is frozen with the image.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies, TypeScript → dist/ -------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# package.json's allowScripts denies onnxruntime-node's postinstall (its CUDA download); --ignore-scripts below skips it anyway.
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` (tsc) needs the sources, copied below; the CPU binaries of onnxruntime-node
# and sharp are inside their npm packages, no install script is needed for them.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

ARG BAKE_MODEL=0
RUN mkdir -p /opt/fruits/model \
 && if [ "$BAKE_MODEL" = "1" ]; then \
      XDG_CACHE_HOME=/tmp/bake node dist/cli/main.js model fetch \
      && cp /tmp/bake/fruits/*.onnx /opt/fruits/model/ \
      && rm -rf /tmp/bake; \
    fi

COPY deploy/docker/entrypoint.sh /usr/local/bin/fruits-entrypoint
RUN chmod 0755 /usr/local/bin/fruits-entrypoint

# ---- deps: production node_modules only ----------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    XDG_CACHE_HOME=/home/node/.cache \
    AWS_REGION=eu-west-3
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /opt/fruits/model /opt/fruits/model
COPY --from=build /usr/local/bin/fruits-entrypoint /usr/local/bin/fruits-entrypoint
COPY package.json ./
# The model cache must exist and belong to the runtime user (uid 1000 = `node` in the official image).
RUN mkdir -p /home/node/.cache/fruits && chown -R 1000:1000 /home/node/.cache \
 && ln -s /app/dist/cli/main.js /usr/local/bin/fruits && chmod 0755 /app/dist/cli/main.js
USER 1000:1000
EXPOSE 8080
# `fruits <command>`: node is PID 1's only child (exec), so SIGTERM reaches the worker directly.
# Run with an init (ECS initProcessEnabled, `docker run --init`, compose `init: true`).
ENTRYPOINT ["/usr/local/bin/fruits-entrypoint"]
CMD ["--help"]
