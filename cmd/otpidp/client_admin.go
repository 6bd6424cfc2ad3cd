package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/audit"
	"github.com/otpidp/otpidp/storage"
)

const clientUpdateUsage = `Usage: otpidp client update ID [FLAGS]

Change a registered relying party without touching its client_id or secret. Only the flags
given change; a list flag given replaces the whole list (repeat it for several values). The
result is checked as "client add" checks a new client. Running instances see the change
within a few seconds (their client cache). A client cannot change between public and
confidential, or between a secret and private_key_jwt: remove it and add it again.

Flags:
`

const clientRotateUsage = `Usage: otpidp client rotate-secret ID [FLAGS]

Give a confidential client a new client_secret and print it, once (otpidp keeps only a hash).
The old secret stops working at once (on running instances within a few seconds): update the
application's configuration right after.

Flags:
`

// optionalBool is a boolean flag that remembers whether it was given.
type optionalBool struct{ value, set bool }

func (b *optionalBool) String() string   { return fmt.Sprint(b.value) }
func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		b.value = true
	case "false", "0", "no":
		b.value = false
	default:
		return errors.New("must be true or false")
	}
	b.set = true
	return nil
}

func runClientUpdate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("client update", clientUpdateUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	name := fs.String("name", "", "the application's name, shown to users")
	var redirects, postLogout, grants, scopes listFlag
	fs.Var(&redirects, "redirect-uri", "a redirect URI (replaces the list; repeat for more)")
	fs.Var(&postLogout, "post-logout-redirect-uri", "a URI to return to after logout (replaces the list; repeat for more)")
	noPostLogout := fs.Bool("no-post-logout-redirect-uris", false, "remove every post-logout redirect URI")
	fs.Var(&grants, "grant", "grant types, comma-separated (replaces the list)")
	fs.Var(&scopes, "scope", "client_credentials: the scopes the client may be granted (replaces the list; space-separated or repeated)")
	var firstParty optionalBool
	fs.Var(&firstParty, "first-party", "your own application: users are not asked for consent (--first-party=false to ask)")
	accessToken := fs.String("access-token", "", "access token format: opaque or jwt")
	idTokenAlg := fs.String("id-token-alg", "", "the algorithm of the client's ID tokens: RS256, ES256 or EdDSA")
	jwksURI := fs.String("jwks-uri", "", "private_key_jwt: the URL of the client's JWK Set")
	asJSON := fs.Bool("json", false, "print the updated client as JSON")
	id, err := parseWithID(fs, args, "client update")
	if err != nil {
		return err
	}
	if id == "" {
		return flagUsageFailure(fs, "client update: the client ID is missing")
	}
	changed := 0
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "json" && f.Name != "database-url" && f.Name != "env-file" {
			changed++
		}
	})
	if changed == 0 {
		return flagUsageFailure(fs, "client update: nothing to change: give at least one flag")
	}
	var grantList []string
	for _, g := range grants {
		for v := range strings.SplitSeq(g, ",") {
			if v = strings.TrimSpace(v); v != "" {
				grantList = append(grantList, v)
			}
		}
	}
	var scopeList []string
	for _, s := range scopes {
		scopeList = append(scopeList, strings.Fields(s)...)
	}
	edit := func(s *provider.ClientSpec) {
		if *name != "" {
			s.Name = *name
		}
		if len(redirects) > 0 {
			s.RedirectURIs = redirects
		}
		if len(postLogout) > 0 {
			s.PostLogoutRedirectURIs = postLogout
		}
		if *noPostLogout {
			s.PostLogoutRedirectURIs = nil
		}
		if len(grants) > 0 {
			s.GrantTypes = grantList
		}
		if len(scopes) > 0 {
			s.Scopes = scopeList
		}
		if firstParty.set {
			s.FirstParty = firstParty.value
		}
		if *accessToken != "" {
			s.AccessTokenFormat = *accessToken
		}
		if *idTokenAlg != "" {
			s.IDTokenAlg = *idTokenAlg
			if *idTokenAlg == "RS256" {
				s.IDTokenAlg = "" // the default, stored empty
			}
		}
		if *jwksURI != "" {
			s.JWKSURI = *jwksURI
			s.JWKS = nil
		}
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	spec, err := provider.UpdateClient(ctx, store, id, edit, time.Now())
	var ce *provider.ClientError
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("no client with ID %q (see otpidp client list)", id)
	case errors.As(err, &ce):
		return flagUsageFailure(fs, "client update: invalid client:\n  - %s", strings.Join(ce.Problems, "\n  - "))
	case err != nil:
		return fmt.Errorf("update client %q: %w", id, err)
	}
	recordOperator(ctx, store, stderr, audit.Entry{Event: audit.ClientUpdated, ClientID: id})
	c, err := store.GetClient(ctx, id)
	if err != nil {
		return err
	}
	prof, err := store.GetClientProfile(ctx, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, listedClient(c, prof))
	}
	fmt.Fprintf(stdout, "Updated client %s (%q): the client_id and secret are unchanged.\n", id, spec.Name)
	return nil
}

func runClientRotateSecret(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("client rotate-secret", clientRotateUsage, stderr)
	cf := addConfigFlags(fs, envDatabaseURL)
	id, err := parseWithID(fs, args, "client rotate-secret")
	if err != nil {
		return err
	}
	if id == "" {
		return flagUsageFailure(fs, "client rotate-secret: the client ID is missing")
	}
	_, store, err := cf.openStore(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	secret, err := provider.RotateClientSecret(ctx, store, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("no client with ID %q (see otpidp client list)", id)
	case errors.Is(err, provider.ErrNoSecret):
		return fmt.Errorf("client %s: %w", id, err)
	case err != nil:
		return fmt.Errorf("rotate the secret of client %q: %w", id, err)
	}
	recordOperator(ctx, store, stderr, audit.Entry{Event: audit.ClientSecretRotated, ClientID: id})
	fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n\n", id, secret)
	fmt.Fprintln(stdout, "Store the new secret now: it is shown only this once. The old secret no longer works.")
	return nil
}
