package sqlite

import (
	"context"
	"fmt"

	"github.com/otpidp/otpidp/storage"
)

const clientCols = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, public,
    grant_types, access_token_format, first_party, created_at`

func scanClient(sc scanner) (storage.Client, error) {
	var c storage.Client
	err := sc.Scan(&c.ID, &c.SecretHash, &c.Name, listCol(&c.RedirectURIs),
		listCol(&c.PostLogoutRedirectURIs), &c.Public, listCol(&c.GrantTypes),
		&c.AccessTokenFormat, &c.FirstParty, timeCol(&c.CreatedAt))
	return c, err
}

const insertClient = `INSERT INTO clients (` + clientCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateClient stores c; ErrAlreadyExists when its ID is taken.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	_, err := s.w.ExecContext(ctx, insertClient, c.ID, c.SecretHash, c.Name,
		listArg(c.RedirectURIs), listArg(c.PostLogoutRedirectURIs), boolArg(c.Public),
		listArg(c.GrantTypes), c.AccessTokenFormat, boolArg(c.FirstParty), timeArg(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create client %q: %w", c.ID, insertErr(err))
	}
	return nil
}

const selectClient = `SELECT ` + clientCols + ` FROM clients WHERE id = ?`

// GetClient returns the client with that ID.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	c, err := scanClient(s.r.QueryRowContext(ctx, selectClient, id))
	if err != nil {
		return storage.Client{}, fmt.Errorf("sqlite: get client %q: %w", id, getErr(err))
	}
	return c, nil
}

const listClients = `SELECT ` + clientCols + ` FROM clients ORDER BY created_at, id`

// ListClients returns every client, ordered by CreatedAt, then ID.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	rows, err := s.r.QueryContext(ctx, listClients)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	defer rows.Close()
	var cs []storage.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list clients: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	return cs, nil
}

const deleteClient = `DELETE FROM clients WHERE id = ?`

// DeleteClient removes the client; ErrNotFound when absent.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, deleteClient, id)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete client %q: %w", id, err)
	}
	return nil
}
