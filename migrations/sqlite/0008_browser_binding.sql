-- Flows and authorization requests are re-bound to a browser's new binding cookie after the
-- password step and after the code (RebindBrowser): find them by the old hash.
CREATE INDEX flows_browser_hash ON flows (browser_hash);
CREATE INDEX auth_requests_browser_hash ON auth_requests (browser_hash);
