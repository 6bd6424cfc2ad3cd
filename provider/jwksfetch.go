package provider

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Fetching a client's jwks_uri is a request the server makes to an address a client
// registration chose, so it must not reach the server's own network (SSRF): every connection,
// the first and each redirect's, is checked after DNS resolution, on the address actually
// dialled, and refused when that address is loopback (unless allowed), private (RFC 1918,
// fc00::/7), link-local (169.254.0.0/16 with the cloud metadata address, fe80::/10),
// unspecified, multicast or otherwise not globally routable. No proxy is used, so the check
// sees the real peer. Responses are bounded in time and size.

const (
	jwksFetchTimeout = 5 * time.Second
	// maxJWKSSize bounds a fetched JWK Set; a larger body is refused, not truncated.
	maxJWKSSize = 64 << 10
	// maxJWKSRedirects bounds the redirects followed (each one checked like the first hop).
	maxJWKSRedirects = 3
)

// errForbiddenAddress is returned when a jwks_uri resolves to an address the server must not
// reach.
var errForbiddenAddress = errors.New("address not allowed for a jwks_uri")

// nonPublic lists prefixes that are not global unicast beyond what netip's predicates cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
}

// checkFetchAddress reports whether a jwks_uri fetch may connect to addr.
func checkFetchAddress(addr netip.Addr, allowLoopback bool) error {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return errForbiddenAddress
	case addr.IsLoopback():
		if allowLoopback {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address", errForbiddenAddress, addr)
	case addr.IsPrivate(), addr.IsLinkLocalUnicast(), addr.IsUnspecified(),
		addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a public address", errForbiddenAddress, addr)
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return fmt.Errorf("%w: %s is not a public address", errForbiddenAddress, addr)
		}
	}
	return nil
}

// newJWKSHTTPClient returns the client that fetches jwks_uri documents.
func newJWKSHTTPClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: jwksFetchTimeout,
		// Control runs for every connection, after name resolution, with the address about
		// to be connected to.
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %q", errForbiddenAddress, address)
			}
			return checkFetchAddress(ap.Addr(), allowLoopback)
		},
	}
	return &http.Client{
		Timeout: jwksFetchTimeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   jwksFetchTimeout,
			ResponseHeaderTimeout: jwksFetchTimeout,
			MaxIdleConns:          10,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxJWKSRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && !(allowLoopback && req.URL.Scheme == "http" && isLoopbackHost(req.URL.Hostname())) {
				return fmt.Errorf("redirect to %s is not https", req.URL.Redacted())
			}
			return nil
		},
	}
}
