# One image for every program of the platform: the router, the gateway (one container per domain,
# DOMAIN=<domain>) and each catalog service. The program is the argument, see ENTRYPOINT below.
# Its `media` variant (target media) adds FFmpeg and espeak-ng for the services whose catalog
# entry says `media: true` (the render workers); the default target leaves them out.
#
# No registry reachable? Build the base locally and pass it in:
#   scripts/docker/base-image.sh
#   docker build --network host --build-arg NODE_IMAGE=local/node:24 -t platform/services:dev .
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile stage.

# Pinned by digest, so that a build months later starts from the same bytes; the AWS stack passes
# the same value (infra/aws/workloads.ts nodeBaseImage). Update both together, on purpose.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The client library is a workspace of the package: npm ci wants its manifest.
COPY clients/platform-client/package.json clients/platform-client/package.json
# Install scripts are skipped: no runtime dependency needs one, and not running them keeps the
# build from executing code fetched from the registry.
#
# The @pulumi/* packages are dependencies of the project (the Pulumi program runs with them) but
# no service imports them, and they weigh about 130 MB of the 187 MB: the second step removes
# them and everything only they pull in, following the lock file. It edits the package.json and
# lock of this stage only. The rule is the scope, not a list, so a Pulumi provider added later
# stays out of the image too; test/docker/images.test.ts checks the image runs without them.
#
# node-llama-cpp brings llama.cpp prebuilt for every Linux flavour it supports (CUDA and Vulkan
# builds weigh 620 MB); the service runs on the CPU (gpu: false), so only this architecture's
# CPU build stays. It also names TypeScript as an optional peer, which keeps the 24 MB compiler
# installed once @pulumi/pulumi is gone; only its `inspect gpu` command imports it.
#
# The API reference page serves swagger-ui-bundle.js and swagger-ui.css (services/api/
# docsRoutes.ts); the package's source maps and ES bundles are 10 MB nobody loads. Type
# declarations are read by the compiler only, and source maps by nothing here (Node reads them
# only under --enable-source-maps): across the runtime dependencies they weigh more than the code.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm uninstall --omit=dev --ignore-scripts --no-audit --no-fund \
       $(node -p "Object.keys(require('./package.json').dependencies).filter((n) => n.startsWith('@pulumi/')).join(' ')") \
    && find node_modules/@node-llama-cpp -mindepth 1 -maxdepth 1 \
       ! -name "linux-$(node -p process.arch)" -exec rm -rf {} + \
    && rm -rf node_modules/typescript node_modules/@types \
       node_modules/swagger-ui-dist/*.map node_modules/swagger-ui-dist/swagger-ui-es-bundle* \
       node_modules/swagger-ui-dist/swagger-ui.js \
    && find node_modules -type f \( -name "*.map" -o -name "*.d.ts" -o -name "*.d.mts" -o -name "*.d.cts" \) -delete \
    && npm cache clean --force

# The inference service's language model, baked in: every target (Docker, Kubernetes, ECS) runs
# this image, so none needs a volume or a download at start. The fetch script checks both pinned
# hashes; the layer is rebuilt only when the script or the pins change. The machine's CA bundle,
# when the base has one, is trusted too (a build behind a TLS-inspecting proxy).
FROM ${NODE_IMAGE} AS model
WORKDIR /build
COPY services/inference/llm/modelFile.ts services/inference/llm/modelFile.ts
COPY scripts/model/fetch.ts scripts/model/fetch.ts
RUN if [ -f /etc/ssl/certs/ca-certificates.crt ]; then \
      export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt; \
    fi \
    && node scripts/model/fetch.ts --into /models

FROM ${NODE_IMAGE} AS services
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/var/lib/platform \
    INFERENCE_LLM_MODEL_FILE=/opt/models/SmolLM2-135M-Instruct.Q4_1.gguf
# A fixed numeric uid so that Kubernetes' runAsNonRoot can verify it, on any base image (the local
# base has no `node` user). DATA_DIR is the only place it may write: the embedded SQLite and event
# files used when a container gets no DATABASE_URL or KAFKA_BROKERS.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/platform \
    && chown app:app /var/lib/platform
# RDS presents certificates of Amazon's RDS CAs, which Node does not trust, and `pg` verifies the
# server with sslmode=require. The AWS stack passes the bundle's URL (the build machine has the
# network) and its pinned SHA-256, and points NODE_EXTRA_CA_CERTS at the file in its tasks; other
# builds leave the URL empty and have no such file.
ARG RDS_CA_BUNDLE_URL=""
ARG RDS_CA_BUNDLE_SHA256=""
COPY scripts/docker/fetch-ca-bundle.mjs /tmp/fetch-ca-bundle.mjs
RUN if [ -n "$RDS_CA_BUNDLE_URL" ]; then \
      mkdir -p /etc/ssl/rds \
      && node /tmp/fetch-ca-bundle.mjs "$RDS_CA_BUNDLE_URL" "$RDS_CA_BUNDLE_SHA256" /etc/ssl/rds/ca-bundle.pem; \
    fi \
    && rm /tmp/fetch-ca-bundle.mjs
WORKDIR /app
# Dependencies first and the often-edited sources last, so that a code change reuses the layers
# above. Files stay owned by root: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=model /models /opt/models
COPY package.json ./
COPY platform ./platform
COPY services ./services
# The web console serves the client library's browser modules (services/console/routes.ts).
COPY clients/platform-client/package.json ./clients/platform-client/package.json
COPY clients/platform-client/src ./clients/platform-client/src
# The only writable places under a read-only root filesystem. Declared as volumes so that a
# fresh mount there starts as the image's directory, owner included: Fargate's bind mounts and
# Docker's anonymous volumes copy it, and the non-root user can write (an undeclared Fargate
# mount is root's, mode 755). Nothing may change these paths below this line.
VOLUME ["/var/lib/platform", "/tmp"]
USER 10001:10001
EXPOSE 8080
# Slim images carry no curl; Node's fetch probes the liveness endpoint on whatever PORT the
# container was given. The timing is components/nodeHttpProbe.ts's: a probe is a new Node process,
# slow on a busy host.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8080}/healthz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `node` is the entrypoint and the program's file is the command, so that
# `docker run IMAGE services/orders/main.ts` runs orders and Kubernetes `args`, docker.Container
# `command` and ECS `command` all name the program the same way (platform/runtimeEnv.ts entrypoint()).
# A launcher script would add a second place that knows the program list. Node is PID 1 here: run
# containers with an init (`docker run --init`, `init: true`) so that SIGTERM reaches the
# process's drain handler and zombies are reaped.
ENTRYPOINT ["node"]
CMD ["services/router/main.ts"]

# The render workers' tools from Debian's packages (services/render/media.ts): FFmpeg, a speech
# synthesizer and the font its text is set in. About 250 MB that no other program needs, so they
# are a variant of their own; BuildKit builds this stage only when it is the target.
FROM services AS media
USER root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       ffmpeg espeak-ng fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001

# The default target: every program but the media ones.
FROM services
