-- Which profile and phone claims go in ID tokens: the claims an authorization request asked
-- for in its claims parameter's id_token member (OpenID Connect Core §5.5), and a client
-- option that puts every granted one there.

ALTER TABLE auth_requests ADD COLUMN id_token_claims text[] NOT NULL DEFAULT '{}';

ALTER TABLE client_profiles ADD COLUMN id_token_claims boolean NOT NULL DEFAULT false;
