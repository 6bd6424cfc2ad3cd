package deadline

import (
	"bytes"
	"os"
	"testing"

	"github.com/otpidp/otpidp/storage/deadline/internal/gen"
)

// TestGenerated checks that methods.go wraps every method of storage.Storage as internal/gen
// writes it (go generate ./storage/deadline rewrites it).
func TestGenerated(t *testing.T) {
	want, err := gen.Source()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("methods.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("methods.go is not what storage.Storage generates: run go generate ./storage/deadline")
	}
}
