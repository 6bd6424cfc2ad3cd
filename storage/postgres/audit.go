package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/otpidp/otpidp/storage"
)

const sqlInsertAudit = `INSERT INTO audit_events (at, event, user_id, client_id, ip, request_id, phone_masked, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// AppendAudit appends e to the audit log.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	return s.exec(ctx, "append audit event", sqlInsertAudit, ts(e.At), e.Event, e.UserID, e.ClientID, e.IP, e.RequestID, e.PhoneMasked, e.Detail)
}

// DeleteAuditBefore deletes the events that happened before before.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM audit_events WHERE at < $1`, ts(before))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete audit events: %w", mapErr(err))
	}
	return n, nil
}

// ListAudit returns matching events, oldest first.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	var where []string
	var args []any
	if q.UserID != "" {
		args = append(args, q.UserID)
		where = append(where, fmt.Sprintf("user_id = $%d", len(args)))
	}
	if !q.Since.IsZero() {
		args = append(args, ts(q.Since))
		where = append(where, fmt.Sprintf("at >= $%d", len(args)))
	}
	query := `SELECT id, at, event, user_id, client_id, ip, request_id, phone_masked, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if q.Limit > 0 {
		args = append(args, q.Limit)
		query += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	var out []storage.AuditEvent
	err := s.withConn(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		var at pgtype.Timestamptz
		var e storage.AuditEvent
		_, err = pgx.ForEachRow(rows, []any{&e.ID, &at, &e.Event, &e.UserID, &e.ClientID, &e.IP, &e.RequestID, &e.PhoneMasked, &e.Detail}, func() error {
			e.At = tm(at)
			out = append(out, e)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", mapErr(err))
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
