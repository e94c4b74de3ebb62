# syntax=docker/dockerfile:1
# Multi-stage: compile with dev dependencies, ship only dist/ and production dependencies,
# run as the unprivileged "node" user.
# Node.js 24, the LTS line (supported until April 2028); both stages use the same image so that
# the bcrypt addon compiled in the first runs unchanged in the second. The README ("Run it") says
# which Node.js lines Latch supports and why.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# NODE_OPTIONS: the heap budget, the same flags `npm start` passes and deploy/configmap.yaml sets;
# MALLOC_ARENA_MAX: two glibc malloc arenas instead of up to eight per core, fewer half-empty
# arenas resident; MALLOC_TRIM_THRESHOLD_: glibc gives freed memory back above 128 KB instead of
# keeping what a load grew (docs/operations.md, "Memory"). Override any of them with `-e ...`. The compiler
# flags of `npm start` are not allowed in NODE_OPTIONS, so CMD passes them.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=4 --expose-gc" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/liveness').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains in-flight work and exits 0 within 10 s (see README, Operations).
STOPSIGNAL SIGTERM
CMD ["node", "--no-sparkplug", "--no-maglev", "--no-allocation-site-pretenuring", "dist/main.js"]
