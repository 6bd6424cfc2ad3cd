package sqlite

import "database/sql"

// Stats is a snapshot of the writer's and the readers' connection pools, for metrics.
func (s *Store) Stats() (writer, reader sql.DBStats) { return s.w.Stats(), s.r.Stats() }
