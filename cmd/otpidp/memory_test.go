package main

import (
	"bufio"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otpidp/otpidp/provider/auth"
)

// rss is the process's resident set size in MiB (Linux; 0 elsewhere).
func rss() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// TestPasswordStormMemory sends 40 sign-ins at once through the password step (default Argon2id
// cost) and reports, without asserting, the resident memory before, right after and a while
// after: the memory limit (limitMemory) bounds the peak and releaseMemory gives it back.
// go test ./cmd/otpidp -run TestPasswordStormMemory -v
func TestPasswordStormMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a storm of real password hashes")
	}
	if prev, ok := limitMemory(func(string) string { return "" }, auth.HashMemoryBound(auth.Config{}), slog.New(slog.DiscardHandler)); ok {
		t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	}
	ts := startServer(t, stores(t)["sqlite"](t))
	rp := registerRP(t, ts, false)
	a := rp.start()
	codeFrom(t, register(t, ts, newBrowser(t), a), a)

	// 40 browsers at the password step.
	browsers := make([]*browser, 40)
	logins := make([]response, 40)
	for i := range browsers {
		browsers[i] = newBrowser(t)
		logins[i] = browsers[i].get(rp.start().url)
	}
	debug.FreeOSMemory()
	before := rss()
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := before
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				mu.Lock()
				peak = max(peak, rss())
				mu.Unlock()
			}
		}
	}()
	for i, b := range browsers {
		wg.Go(func() {
			r := b.submit(logins[i], "/login", map[string]string{"phone": testPhone, "password": testPassword})
			if r.status != http.StatusOK {
				t.Errorf("sign-in %d: %d %s", i, r.status, r.url)
			}
		})
	}
	wg.Wait()
	close(stop)
	after := rss()
	time.Sleep(releaseInterval + 2*time.Second)
	later := rss()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("hash memory bound %d MiB, memory limit %d MiB", auth.HashMemoryBound(auth.Config{})>>20, debug.SetMemoryLimit(-1)>>20)
	t.Logf("RSS: %.0f MiB before, %.0f MiB peak, %.0f MiB right after 40 concurrent password steps, %.0f MiB %v later",
		before, peak, after, later, releaseInterval+2*time.Second)
}
