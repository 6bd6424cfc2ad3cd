-- Failure runs of the password and recovery factors are pruned by age (PruneFailures): an
-- index on the factor and the last failure keeps that a range scan.
CREATE INDEX auth_failures_factor_last ON auth_failures (factor, last_failure_at);
