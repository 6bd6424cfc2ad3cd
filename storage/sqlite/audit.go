package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/otpidp/otpidp/storage"
)

const insertAudit = `INSERT INTO audit_events (at, event, user_id, client_id, ip, request_id, phone_masked, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// AppendAudit appends e to the audit log.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	_, err := s.w.ExecContext(ctx, insertAudit, timeArg(e.At), e.Event, e.UserID, e.ClientID, e.IP, e.RequestID, e.PhoneMasked, e.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: append audit event: %w", err)
	}
	return nil
}

// DeleteAuditBefore deletes the events that happened before before.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM audit_events WHERE at < ?`, timeArg(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete audit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete audit events: %w", err)
	}
	return n, nil
}

// ListAudit returns matching events, oldest first.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	var where []string
	var args []any
	if q.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, q.UserID)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, timeArg(q.Since))
	}
	query := `SELECT id, at, event, user_id, client_id, ip, request_id, phone_masked, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", err)
	}
	defer rows.Close()
	var out []storage.AuditEvent
	for rows.Next() {
		var e storage.AuditEvent
		if err := rows.Scan(&e.ID, timeCol(&e.At), &e.Event, &e.UserID, &e.ClientID, &e.IP, &e.RequestID, &e.PhoneMasked, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: list audit events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
