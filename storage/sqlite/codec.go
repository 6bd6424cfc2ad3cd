package sqlite

import (
	"encoding/json"
	"fmt"
	"time"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// timeArg encodes t for a time column: microseconds since the epoch, NULL for the zero time.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeDst decodes a time column into *p, in UTC; NULL is the zero time.
type timeDst struct{ p *time.Time }

func (d timeDst) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = time.Time{}
	case int64:
		*d.p = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("time column: unexpected %T", src)
	}
	return nil
}

func timeCol(p *time.Time) timeDst { return timeDst{p} }

// listArg encodes a string list as a JSON array; nil is [].
func listArg(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	// Marshalling a []string cannot fail.
	b, _ := json.Marshal(l)
	return string(b)
}

// listDst decodes a JSON array column into *p; an empty array is nil.
type listDst struct{ p *[]string }

func (d listDst) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*d.p = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("list column: unexpected %T", src)
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("list column: %w", err)
	}
	if len(l) == 0 {
		l = nil
	}
	*d.p = l
	return nil
}

func listCol(p *[]string) listDst { return listDst{p} }

// boolArg encodes a boolean for an INTEGER column.
func boolArg(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
