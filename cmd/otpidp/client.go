package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/storage"
)

const clientAddUsage = `Usage: otpidp client add --name NAME --redirect-uri URI [FLAGS]

Register a relying party and print its client_id and, for a confidential client, its
client_secret. The secret is shown only this once: otpidp keeps only a keyed hash of it.

Redirect URIs must be https, or http on a loopback host (localhost, 127.0.0.1, [::1]).

Flags:
`

const clientListUsage = `Usage: otpidp client list [FLAGS]

List the registered relying parties. Secrets are never shown.

Flags:
`

const clientRemoveUsage = `Usage: otpidp client remove ID [FLAGS]

Delete the relying party with this client_id.

Flags:
`

// clientJSON is a client as client add --json and client list --json print it.
type clientJSON struct {
	ClientID               string    `json:"client_id"`
	ClientSecret           string    `json:"client_secret,omitempty"`
	Name                   string    `json:"name"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	Public                 bool      `json:"public"`
	FirstParty             bool      `json:"first_party"`
	GrantTypes             []string  `json:"grant_types"`
	AccessTokenFormat      string    `json:"access_token_format"`
	Scopes                 []string  `json:"scopes,omitempty"`
	AuthMethod             string    `json:"token_endpoint_auth_method,omitempty"`
	JWKSURI                string    `json:"jwks_uri,omitempty"`
	IDTokenAlg             string    `json:"id_token_signed_response_alg,omitempty"`
	IDTokenClaims          bool      `json:"id_token_claims,omitempty"`
	CreatedAt              time.Time `json:"created_at,omitzero"`
	Issuer                 string    `json:"issuer,omitempty"`
	Discovery              string    `json:"discovery_url,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func runClientAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("client add", clientAddUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	var spec provider.ClientSpec
	fs.StringVar(&spec.Name, "name", "", "the application's name, shown to users (required)")
	fs.Var((*listFlag)(&spec.RedirectURIs), "redirect-uri", "a redirect URI (required; repeat for more)")
	fs.Var((*listFlag)(&spec.PostLogoutRedirectURIs), "post-logout-redirect-uri", "a URI to return to after logout (repeat for more)")
	fs.BoolVar(&spec.Public, "public", false, "a public client (a native or browser app): no secret, PKCE required")
	fs.BoolVar(&spec.FirstParty, "first-party", false, "your own application: users are not asked for consent")
	fs.Var((*commaListFlag)(&spec.GrantTypes), "grant", "grant types, comma-separated: authorization_code, refresh_token (default both), client_credentials, urn:ietf:params:oauth:grant-type:device_code")
	var scopes listFlag
	fs.Var(&scopes, "scope", "client_credentials: a scope the client may be granted (space-separated or repeated)")
	jwksFile := fs.String("jwks", "", "private_key_jwt: a file with the client's public keys (a JWK Set); no secret is issued")
	fs.StringVar(&spec.JWKSURI, "jwks-uri", "", "private_key_jwt: the URL of the client's JWK Set; no secret is issued")
	fs.StringVar(&spec.AccessTokenFormat, "access-token", provider.AccessTokenOpaque, "access token format: opaque or jwt")
	fs.StringVar(&spec.IDTokenAlg, "id-token-alg", "RS256", "the algorithm of the client's ID tokens (id_token_signed_response_alg): RS256, ES256 or EdDSA")
	fs.BoolVar(&spec.IDTokenClaims, "id-token-claims", false, "put the granted profile and phone claims (name, phone_number, …) in the ID token too, for apps that read only the ID token")
	asJSON := fs.Bool("json", false, "print the client as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "client add: unexpected argument %q", fs.Arg(0))
	}
	for _, s := range scopes {
		spec.Scopes = append(spec.Scopes, strings.Fields(s)...)
	}
	if *jwksFile != "" {
		b, err := os.ReadFile(*jwksFile)
		if err != nil {
			return flagUsageFailure(fs, "client add: --jwks: %v", err)
		}
		spec.JWKS = b
	}
	// Check the spec before touching the database: a wrong value is a usage error.
	if err := spec.Validate(); err != nil {
		return clientSpecFailure(fs, err)
	}
	cfg, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()

	id, secret, err := provider.RegisterClient(ctx, store, spec, time.Now())
	if err != nil {
		return clientSpecFailure(fs, fmt.Errorf("register client: %w", err))
	}
	recordOperator(ctx, store, stderr, audit.Entry{Event: audit.ClientAdded, ClientID: id})
	discovery := cfg.Issuer + "/.well-known/openid-configuration"
	if *asJSON {
		return writeJSON(stdout, clientJSON{
			ClientID:               id,
			ClientSecret:           secret,
			Name:                   spec.Name,
			RedirectURIs:           nonNil(spec.RedirectURIs),
			PostLogoutRedirectURIs: nonNil(spec.PostLogoutRedirectURIs),
			Public:                 spec.Public,
			FirstParty:             spec.FirstParty,
			GrantTypes:             nonNil(spec.GrantTypes),
			AccessTokenFormat:      spec.AccessTokenFormat,
			Scopes:                 spec.Scopes,
			AuthMethod:             clientAuthMethod(spec),
			JWKSURI:                spec.JWKSURI,
			IDTokenAlg:             idTokenAlg(spec),
			IDTokenClaims:          spec.IDTokenClaims,
			Issuer:                 cfg.Issuer,
			Discovery:              discovery,
		})
	}
	fmt.Fprintf(stdout, "Registered client %q.\n\n", spec.Name)
	fmt.Fprintf(stdout, "client_id:     %s\n", id)
	if spec.Public {
		fmt.Fprintf(stdout, "client_secret: (none: a public client; use PKCE with S256)\n")
	} else if secret == "" {
		fmt.Fprintf(stdout, "client_secret: (none: the client authenticates with private_key_jwt)\n")
	} else {
		fmt.Fprintf(stdout, "client_secret: %s\n\n", secret)
		fmt.Fprintf(stdout, "Store the client secret now: it is shown only this once (otpidp keeps only a hash of it).\n")
	}
	fmt.Fprintf(stdout, "\nissuer:        %s\ndiscovery:     %s\n", cfg.Issuer, discovery)
	return nil
}

// clientSpecFailure turns a *provider.ClientError into a usage error listing every problem;
// other errors pass through.
func clientSpecFailure(fs *flag.FlagSet, err error) error {
	var ce *provider.ClientError
	if !errors.As(err, &ce) {
		return err
	}
	return flagUsageFailure(fs, "client add: invalid client:\n  - %s", strings.Join(ce.Problems, "\n  - "))
}

func runClientList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("client list", clientListUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	asJSON := fs.Bool("json", false, "print the clients as a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "client list: unexpected argument %q", fs.Arg(0))
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	clients, err := store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}

	listed := make([]clientJSON, 0, len(clients))
	for _, c := range clients {
		prof, err := store.GetClientProfile(ctx, c.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("list clients: profile of %q: %w", c.ID, err)
		}
		listed = append(listed, listedClient(c, prof))
	}
	if *asJSON {
		return writeJSON(stdout, listed)
	}
	if len(clients) == 0 {
		fmt.Fprintln(stdout, "No clients. Register one with: otpidp client add --name NAME --redirect-uri URI")
		return nil
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tGRANTS\tAUTH METHOD\tSCOPES\tID TOKEN ALG\tJWKS URI\tACCESS TOKEN\tREDIRECT URIS\tCREATED")
	for i, c := range clients {
		l := listed[i]
		kind := "confidential"
		if c.Public {
			kind = "public"
		}
		if c.FirstParty {
			kind += ",first-party"
		}
		jwks := l.JWKSURI
		if jwks == "" && l.AuthMethod == provider.AuthMethodPrivateKeyJWT {
			jwks = "(inline)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, oneLine(c.Name), kind,
			dash(strings.Join(c.GrantTypes, ",")), l.AuthMethod, dash(strings.Join(l.Scopes, " ")),
			dash(l.IDTokenAlg), dash(oneLine(jwks)), c.AccessTokenFormat, dash(strings.Join(c.RedirectURIs, " ")),
			c.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// oneLine keeps a name from breaking the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func runClientRemove(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("client remove", clientRemoveUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return flagUsageFailure(fs, "client remove: the client ID is missing")
	}
	id := fs.Arg(0)
	// Flags may also follow the ID.
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "client remove: unexpected argument %q (one ID at a time)", fs.Arg(0))
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := store.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client with ID %q (see otpidp client list)", id)
	} else if err != nil {
		return fmt.Errorf("get client %q: %w", id, err)
	}
	if err := store.DeleteClient(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client with ID %q (see otpidp client list)", id)
	} else if err != nil {
		return fmt.Errorf("remove client %q: %w", id, err)
	}
	recordOperator(ctx, store, stderr, audit.Entry{Event: audit.ClientRemoved, ClientID: id})
	fmt.Fprintf(stdout, "Removed client %s (%q).\n", id, c.Name)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientAuthMethod is the token_endpoint_auth_method the spec registers.
// listedClient is a stored client as client list shows it: never its secret (only a hash is
// stored anyway) nor its inline keys.
func listedClient(c storage.Client, p storage.ClientProfile) clientJSON {
	spec := provider.ClientSpec{
		Public: c.Public, RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes,
		JWKSURI: p.JWKSURI, IDTokenAlg: p.IDTokenAlg,
	}
	auth := clientAuthMethod(spec)
	if p.AuthMethod != "" {
		auth = p.AuthMethod
	}
	return clientJSON{
		ClientID:               c.ID,
		Name:                   c.Name,
		RedirectURIs:           nonNil(c.RedirectURIs),
		PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs),
		Public:                 c.Public,
		FirstParty:             c.FirstParty,
		GrantTypes:             nonNil(c.GrantTypes),
		AccessTokenFormat:      c.AccessTokenFormat,
		Scopes:                 p.Scopes,
		AuthMethod:             auth,
		JWKSURI:                p.JWKSURI,
		IDTokenAlg:             idTokenAlg(spec),
		IDTokenClaims:          p.IDTokenClaims,
		CreatedAt:              c.CreatedAt.UTC(),
	}
}

func clientAuthMethod(spec provider.ClientSpec) string {
	switch {
	case spec.Public:
		return "none"
	case len(spec.JWKS) > 0 || spec.JWKSURI != "":
		return provider.AuthMethodPrivateKeyJWT
	}
	return "client_secret_basic"
}

// idTokenAlg is the algorithm of the client's ID tokens, as registered (RS256 by default); none
// for a client that gets no ID tokens.
func idTokenAlg(spec provider.ClientSpec) string {
	switch {
	case spec.IDTokenAlg != "":
		return spec.IDTokenAlg
	case len(spec.RedirectURIs) == 0 && !slices.Contains(spec.GrantTypes, provider.GrantDeviceCode):
		return ""
	}
	return "RS256"
}
