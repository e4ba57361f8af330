# Production image: Node 20, dependencies from the lock file, the dashboard bundle built at image time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY src ./src
COPY clickhouse ./clickhouse
COPY config.demo.yaml config.example.yaml ./
EXPOSE 4000
# Inside a container the loopback default would be unreachable; the image runs only `serve`, which refuses the
# demo key and master keys under 32 characters, so listening on every interface here is safe.
ENV HOST=0.0.0.0
# The primary is PID 1: it forwards SIGTERM to the server processes (one per core the container may use:
# `--workers auto` counts CPU affinity, not a --cpus quota — give `--workers N` to match a quota).
# A 64 MB young generation: the proxy allocates per call, and with the default one its GC took twice the time
# and each call ~1.6x the CPU (bench/README.md, "The young generation"). Forked server processes inherit it.
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/spendhouse.mjs"]
CMD ["serve", "--workers", "auto"]
