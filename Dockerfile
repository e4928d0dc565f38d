# Engram's roles for the cluster profile (compose.yaml): one image, the role is the command
# (`ingest`, `worker`, `project`, `serve`).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    ENGRAM_PROFILE=cluster \
    ENGRAM_DATA_DIR=/var/lib/engram
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY core ./core
COPY schemas ./schemas
COPY infra ./infra
COPY activities ./activities
COPY workflows ./workflows
COPY streams ./streams
COPY readmodels ./readmodels
COPY apps ./apps
COPY examples ./examples
RUN mkdir -p /var/lib/engram && chown node:node /var/lib/engram
USER node
VOLUME ["/var/lib/engram"]
EXPOSE 8080
ENTRYPOINT ["node", "bin/engram.js"]
CMD ["serve", "--host", "0.0.0.0"]
