// Package migrations holds otpidp's database schema as embedded, forward-only SQL files, one
// directory per dialect (sqlite/, postgres/). Files are named NNNN_description.sql and are
// applied in order of NNNN; once landed, a file is never edited: a change is a new file.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Migration is one forward-only schema step.
type Migration struct {
	Version int    // NNNN from the file name
	Name    string // the file name
	SQL     string
}

// For returns the migrations of a dialect ("sqlite" or "postgres") in the order they apply.
func For(dialect string) ([]Migration, error) {
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: unknown dialect %q: %w", dialect, err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s/%s: name must start with a positive number and _", dialect, name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: %s: %s and %s share version %d", dialect, other, name, v)
		}
		seen[v] = name
		b, err := files.ReadFile(path.Join(dialect, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
