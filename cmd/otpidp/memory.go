package main

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"time"
)

// Password hashes are the server's big allocations: each Argon2id hash takes its memory cost
// (19 MiB by default) at once, and auth bounds how many run together. Without help, a burst
// of sign-ins leaves the Go heap grown to twice its peak (GOGC) and the pages held for minutes.
// So the server (1) sets a soft memory limit sized from that bound, unless GOMEMLIMIT is set,
// and (2) returns free heap to the operating system shortly after a burst.

const (
	// memoryBase is the allowance for everything but password hashes.
	memoryBase = 48 << 20
	// releaseInterval is how often the free heap is looked at; releaseAbove is how much free,
	// unreleased heap makes it go back to the operating system.
	releaseInterval = 5 * time.Second
	releaseAbove    = 16 << 20
)

// limitMemory sets the runtime's soft memory limit to memoryBase plus 1.125 × hashBound (the
// most concurrent password hashes hold, auth.HashMemoryBound), unless GOMEMLIMIT is set. It
// returns the limit in force before, and whether it set one.
func limitMemory(getenv func(string) string, hashBound uint64, logger *slog.Logger) (previous int64, set bool) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	limit := uint64(memoryBase) + hashBound + hashBound/8
	if limit > math.MaxInt64 {
		return 0, false
	}
	previous = debug.SetMemoryLimit(int64(limit))
	logger.Debug("memory limit", "bytes", limit)
	return previous, true
}

// releaseMemory returns free heap to the operating system after bursts, until ctx ends.
func releaseMemory(ctx context.Context) {
	t := time.NewTicker(releaseInterval)
	defer t.Stop()
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rtmetrics.Read(sample)
		if sample[0].Value.Kind() == rtmetrics.KindUint64 && sample[0].Value.Uint64() > releaseAbove {
			debug.FreeOSMemory()
		}
	}
}
