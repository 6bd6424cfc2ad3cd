package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/otpidp/otpidp/provider/reqinfo"
)

func jsonLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// TestLoggerRequestID: a line logged with a request's context carries its request_id, through
// derived loggers too; a line without one has none.
func TestLoggerRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := newLogger(Config{LogLevel: "info", Obs: ObsConfig{LogFormat: logFormatJSON}}, &buf, nil)
	ctx := reqinfo.With(context.Background(), reqinfo.Info{RequestID: "abc123"})
	logger.InfoContext(ctx, "one")
	logger.With("component", "x").WithGroup("g").WarnContext(ctx, "two", "k", "v")
	logger.Info("three")
	lines := jsonLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	if lines[0]["request_id"] != "abc123" {
		t.Errorf("line %v has no request_id", lines[0])
	}
	if g, _ := lines[1]["g"].(map[string]any); g["request_id"] != "abc123" && lines[1]["request_id"] != "abc123" {
		t.Errorf("derived logger's line %v has no request_id", lines[1])
	}
	if _, ok := lines[2]["request_id"]; ok {
		t.Errorf("a line without a request has a request_id: %v", lines[2])
	}
}

// TestLogSampling: a flood of one kind of line is cut to the burst per window, and the next line
// let through says how many were left out; other kinds and the access log are not affected.
func TestLogSampling(t *testing.T) {
	var buf bytes.Buffer
	m := newMetrics()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s := &sampler{burst: 3, window: time.Second, seen: map[sampleKey]*sampleWindow{},
		now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		dropped: func(l slog.Level) { m.logDropped.WithLabelValues(l.String()).Inc() }}
	logger := slog.New(requestHandler{next: slog.NewJSONHandler(&buf, nil), sampler: s})
	for range 100 {
		logger.Warn("refused by a limit")
		logger.Info(accessLogMessage)
	}
	logger.Warn("something else")
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	logger.Warn("refused by a limit")

	counts := map[string]int{}
	var last map[string]any
	for _, l := range jsonLines(t, &buf) {
		msg := l["msg"].(string)
		counts[msg]++
		if msg == "refused by a limit" {
			last = l
		}
	}
	if counts["refused by a limit"] != 4 || counts[accessLogMessage] != 100 || counts["something else"] != 1 {
		t.Fatalf("lines written: %v; want 3+1 refusals, 100 access lines, 1 other", counts)
	}
	if last["suppressed"] != float64(97) {
		t.Errorf("the line after the flood says suppressed=%v, want 97", last["suppressed"])
	}
	if got := testutil.ToFloat64(m.logDropped.WithLabelValues("WARN")); got != 97 {
		t.Errorf("otpidp_log_suppressed_total = %v, want 97", got)
	}
}

// TestTextLogFormat: the default format is text, with the request ID too.
func TestTextLogFormat(t *testing.T) {
	var buf bytes.Buffer
	logger := newLogger(Config{LogLevel: "info", Obs: ObsConfig{LogFormat: logFormatText}}, &buf, nil)
	logger.InfoContext(reqinfo.With(context.Background(), reqinfo.Info{RequestID: "abc123"}), "hello")
	if !strings.Contains(buf.String(), "msg=hello request_id=abc123") {
		t.Errorf("text line %q", buf.String())
	}
}

// TestObsConfig: the observability settings, and a clear problem for each bad value.
func TestObsConfig(t *testing.T) {
	get := func(m map[string]string) func(string, string) string {
		return func(k, def string) string {
			if v, ok := m[k]; ok {
				return v
			}
			return def
		}
	}
	c, p := loadObsConfig(get(map[string]string{
		envLogFormat: "JSON", envAccessLog: "off", envAdminAddr: "off", envOTLPEndpoint: "http://localhost:4318",
		envBreakerFailures: "3", envBreakerCoolDown: "10s",
	}))
	if len(p) != 0 || c.LogFormat != "json" || c.AccessLog || c.AdminAddr != "" || c.OTLPEndpoint != "http://localhost:4318" || c.BreakerFailures != 3 || c.BreakerCoolDown != 10*time.Second {
		t.Fatalf("config %+v, problems %v", c, p)
	}
	_, p = loadObsConfig(get(map[string]string{
		envLogFormat: "xml", envAccessLog: "maybe", envAdminAddr: "9090", envOTLPEndpoint: "localhost:4318",
		envBreakerFailures: "0", envBreakerCoolDown: "5ms",
	}))
	want := []string{envLogFormat, envAccessLog, envAdminAddr, envOTLPEndpoint, envBreakerFailures, envBreakerCoolDown}
	if len(p) != len(want) {
		t.Fatalf("problems %q, want one for each of %v", p, want)
	}
	for i, k := range want {
		if !strings.HasPrefix(p[i], k+"=") {
			t.Errorf("problem %q, want one about %s", p[i], k)
		}
	}
}
