# Image for the worker and the API (see docker-compose.yml); which one runs is the command.

# The dashboard (web/dist, served by the API) is built with the dev dependencies in a stage of its own, so the
# image keeps production dependencies only.
FROM node:20-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY . .
RUN npm run build:web

FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so editing the code does not reinstall them. tsx is a runtime dependency: the
# services run TypeScript directly, the same way `npm run worker` does on a laptop.
COPY package.json package-lock.json ./
# npm install is the fallback for a lock file written against a registry that lacked other platforms' optional
# packages (@swc/core-*): npm ci calls such a lock out of sync; npm install keeps its pinned versions.
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund) && npm cache clean --force

COPY . .
COPY --from=web /app/web/dist ./web/dist
# The worker caches its workflow bundle in .cache; .data holds PGlite and the key file when no
# DATABASE_URL / RAPPORT_MASTER_KEY is given.
RUN mkdir -p .cache .data && chown node:node .cache .data
USER node

CMD ["npm", "run", "worker"]
