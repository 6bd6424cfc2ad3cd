package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

const versionUsage = `Usage: otpidp version

Print otpidp's module version, the VCS revision and time it was built from, and the Go
version.
`

// buildVersion describes the running binary from its embedded build information: the module
// version ("v1.2.3" with go install …@v1.2.3, "(devel)" from a checkout), and the VCS revision
// and time when built from a repository.
func buildVersion(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "otpidp (no build information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	s := fmt.Sprintf("otpidp %s", version)
	settings := map[string]string{}
	for _, kv := range info.Settings {
		settings[kv.Key] = kv.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		s += " revision " + rev
		if settings["vcs.modified"] == "true" {
			s += " (modified)"
		}
	}
	if t := settings["vcs.time"]; t != "" {
		s += " built from a commit of " + t
	}
	return s + ", " + info.GoVersion
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", versionUsage, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagUsageFailure(fs, "version: unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintln(stdout, buildVersion(debug.ReadBuildInfo()))
	return nil
}
