# hookstream container image.
#
# Build:  docker build --build-arg VERSION=$(git describe --tags --always) -t hookstream .
# Run:    docker run --rm hookstream run --brokers kafka:9092 --topic events --http 0.0.0.0:9464
#
# The binary is static (CGO_ENABLED=0), so the runtime image is distroless
# "static": no shell, no package manager, CA certificates and tzdata included,
# running as the unprivileged "nonroot" user (uid 65532). The Dockerfile uses no
# BuildKit-only syntax, so the classic builder and docker-compose v1 build it too.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src

# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
ARG VERSION=dev
# TARGETOS/TARGETARCH are set by buildx for multi-platform builds; the classic
# builder leaves them empty and the defaults below apply.
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH:-$(go env GOARCH)}" \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/hookstream ./cmd/hookstream

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="hookstream" \
      org.opencontainers.image.description="Kafka-to-webhook worker: trigger rules, batched signed deliveries, circuit breakers, dead letters" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/hookstream /usr/local/bin/hookstream
USER nonroot:nonroot
# /metrics, /healthz, /readyz and the status page. Inside a container the
# default 127.0.0.1:9464 is unreachable from outside, so the image listens on
# all interfaces; a flag or the config file's `http` key still wins.
ENV HOOKSTREAM_HTTP=0.0.0.0:9464
EXPOSE 9464
ENTRYPOINT ["hookstream"]
CMD ["run"]
