# Image for the worker and the API (see docker-compose.yml); which one runs is the command.
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
# The worker caches its workflow bundle in .cache; .data holds PGlite and the key file when no
# DATABASE_URL / RAPPORT_MASTER_KEY is given.
RUN mkdir -p .cache .data && chown node:node .cache .data
USER node

CMD ["npm", "run", "worker"]
