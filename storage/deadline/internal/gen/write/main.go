// Command write regenerates storage/deadline/methods.go (go generate ./storage/deadline).
package main

import (
	"fmt"
	"os"

	"github.com/otpidp/otpidp/storage/deadline/internal/gen"
)

func main() {
	src, err := gen.Source()
	if err == nil {
		err = os.WriteFile("methods.go", src, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
