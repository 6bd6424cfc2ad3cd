package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

const healthcheckUsage = `Usage: otpidp healthcheck [--url URL] [FLAGS]

Ask a running otpidp whether it is ready (GET /readyz: it answers 200 when the database
does) and exit 0 if so, 1 if not. For container health checks: the image needs no curl. By
default it asks the address otpidp listens on (OTPIDP_ADDR), on the loopback interface.

Flags:
`

// healthcheckTimeout bounds the whole check: a hung server is unhealthy, not a hung check.
const healthcheckTimeout = 5 * time.Second

func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", healthcheckUsage, stderr)
	cf := addConfigFlags(fs, envAddr)
	target := fs.String("url", "", "the base URL to check (default: http://127.0.0.1:PORT of OTPIDP_ADDR)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "healthcheck: unexpected argument %q", fs.Arg(0))
	}
	base := *target
	if base == "" {
		// Only the address matters here: a configuration problem elsewhere would stop serve,
		// and then the check fails anyway.
		c, _ := resolveConfig(cf, getenv, io.Discard)
		var err error
		if base, err = localURL(c.Addr); err != nil {
			return flagUsageFailure(fs, "healthcheck: %s=%q: %v", envAddr, c.Addr, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return flagUsageFailure(fs, "healthcheck: --url %q is not an http(s) URL", base)
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath("readyz").String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", req.URL, resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}

// localURL is the http URL that reaches a listen address from the same machine: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") is reached on 127.0.0.1.
func localURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
