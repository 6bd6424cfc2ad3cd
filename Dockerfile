# otpidp: a static binary on a distroless base, running as a non-root user.
#
#   docker build -t otpidp .
#   docker run -p 127.0.0.1:8080:8080 otpidp     # SQLite in /data, demo at http://localhost:8080/demo
#   docker run --rm -v otpidp-data:/data otpidp user list   # any command, on the same database

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/otpidp ./cmd/otpidp \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/otpidp /otpidp
# The working directory holds the default SQLite file (otpidp.db) and an optional .env.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
VOLUME ["/data"]
USER 65532:65532
# Inside the container otpidp listens on every interface, so that the published port reaches it
# (outside a container the default for a localhost issuer is 127.0.0.1:8080).
ENV OTPIDP_ADDR=:8080
EXPOSE 8080
# The binary checks itself (GET /readyz: the database answers); the image has no curl.
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["/otpidp", "healthcheck"]
ENTRYPOINT ["/otpidp"]
CMD ["serve"]
