# otpidp: a static binary on a distroless base, running as a non-root user.
#
#   docker build -t otpidp .
#   docker run -p 8080:8080 otpidp     # SQLite in /data, demo at http://localhost:8080/demo

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
ENV OTPIDP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/otpidp"]
CMD ["serve"]
