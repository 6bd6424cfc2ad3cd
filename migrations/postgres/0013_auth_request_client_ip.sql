-- The address (IPv4, or the /64 of IPv6) that created an authorization request: pending requests
-- are capped per address (CountPendingAuthRequests), which the partial index keeps a range scan.
ALTER TABLE auth_requests ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
CREATE INDEX auth_requests_pending_ip ON auth_requests (client_ip, expires_at) WHERE completed_at IS NULL;
