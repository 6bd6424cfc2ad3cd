package provider

import "github.com/otpidp/otpidp/provider/audit"

// Audit events of tokens, recorded through opStorage.audit (a provider/audit Log) where the
// tokens are made and revoked, so that each carries its user and client (SECURITY.md LOG-01).
// The names are provider/audit's, kept here for callers.
const (
	EventTokenIssued    = audit.TokenIssued
	EventTokenRefreshed = audit.TokenRefreshed
	EventTokenRevoked   = audit.TokenRevoked
)
