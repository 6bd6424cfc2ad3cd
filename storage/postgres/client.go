package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const clientColumns = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, public,
    grant_types, access_token_format, first_party, created_at`

type clientRow struct {
	ID                     string             `db:"id"`
	SecretHash             []byte             `db:"secret_hash"`
	Name                   string             `db:"name"`
	RedirectURIs           []string           `db:"redirect_uris"`
	PostLogoutRedirectURIs []string           `db:"post_logout_redirect_uris"`
	Public                 bool               `db:"public"`
	GrantTypes             []string           `db:"grant_types"`
	AccessTokenFormat      string             `db:"access_token_format"`
	FirstParty             bool               `db:"first_party"`
	CreatedAt              pgtype.Timestamptz `db:"created_at"`
}

func (r clientRow) client() storage.Client {
	return storage.Client{
		ID:                     r.ID,
		SecretHash:             r.SecretHash,
		Name:                   r.Name,
		RedirectURIs:           r.RedirectURIs,
		PostLogoutRedirectURIs: r.PostLogoutRedirectURIs,
		Public:                 r.Public,
		GrantTypes:             r.GrantTypes,
		AccessTokenFormat:      r.AccessTokenFormat,
		FirstParty:             r.FirstParty,
		CreatedAt:              tm(r.CreatedAt),
	}
}

const sqlClientInsert = `INSERT INTO clients (` + clientColumns + `)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// CreateClient stores c: ErrAlreadyExists when its ID is taken.
func (s *Store) CreateClient(ctx context.Context, c storage.Client) error {
	err := s.withConn(ctx, func(conn *pgxpool.Conn) error {
		_, err := conn.Exec(ctx, sqlClientInsert,
			c.ID, c.SecretHash, c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs, c.Public,
			c.GrantTypes, c.AccessTokenFormat, c.FirstParty, ts(c.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create client %q: %w", c.ID, mapErr(err))
	}
	return nil
}

const sqlClientGet = `SELECT ` + clientColumns + ` FROM clients WHERE id = $1`

// GetClient returns the client with that ID.
func (s *Store) GetClient(ctx context.Context, id string) (storage.Client, error) {
	var row clientRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlClientGet, id)
		if err != nil {
			return err
		}
		row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[clientRow])
		return err
	})
	if err != nil {
		return storage.Client{}, fmt.Errorf("postgres: get client %q: %w", id, mapErr(err))
	}
	return row.client(), nil
}

// NULLS FIRST: a NULL created_at is the zero time, the earliest.
const sqlClientList = `SELECT ` + clientColumns + ` FROM clients ORDER BY created_at ASC NULLS FIRST, id`

// ListClients returns every client, ordered by CreatedAt, then ID.
func (s *Store) ListClients(ctx context.Context) ([]storage.Client, error) {
	var rs []clientRow
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, sqlClientList)
		if err != nil {
			return err
		}
		rs, err = pgx.CollectRows(rows, pgx.RowToStructByName[clientRow])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", mapErr(err))
	}
	cs := make([]storage.Client, len(rs))
	for i, r := range rs {
		cs[i] = r.client()
	}
	return cs, nil
}

const sqlClientDelete = `DELETE FROM clients WHERE id = $1`

// DeleteClient deletes the client: ErrNotFound when absent.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, sqlClientDelete, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: delete client %q: %w", id, mapErr(err))
	}
	return nil
}
