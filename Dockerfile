# turnout container image: production dependencies on a slim Node 24 build stage, then a distroless runtime
# without shell or package manager. Node 24 strips TypeScript types itself, so the sources ship as they are.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the `node` dev dependency (Node 24 for npm scripts) is not needed at runtime.
# No install scripts run: none of the runtime dependencies need one.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY cmd/ ./cmd/
COPY src/ ./src/

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# Files stay owned by root, so the process cannot modify its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/cmd ./cmd
COPY --from=build /app/src ./src
# Numeric uid:gid of distroless "nonroot", so the kubelet can verify runAsNonRoot.
USER 65532:65532
# HTTP, HTTPS, admin (/healthz, /readyz, /metrics, /debug/routes).
EXPOSE 8080 8443 10254
ENTRYPOINT ["/nodejs/bin/node", "cmd/turnout.ts"]
