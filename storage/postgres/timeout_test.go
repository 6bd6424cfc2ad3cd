package postgres_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/storage/postgres"
)

// TestParseConfigTimeout: WithTimeout sets the server-side bounds and the connect timeout
// where the URL is silent, and leaves what the URL sets.
func TestParseConfigTimeout(t *testing.T) {
	cfg, err := postgres.ParseConfig("postgres://u@db.example/otpidp", postgres.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rp := cfg.ConnConfig.RuntimeParams
	if rp["statement_timeout"] != "2000" || rp["idle_in_transaction_session_timeout"] != "2000" {
		t.Errorf("runtime params %v, want statement_timeout and idle_in_transaction_session_timeout 2000", rp)
	}
	if cfg.ConnConfig.ConnectTimeout != 2*time.Second || cfg.ConnConfig.DialFunc == nil {
		t.Errorf("ConnectTimeout %v (DialFunc set: %v), want 2s", cfg.ConnConfig.ConnectTimeout, cfg.ConnConfig.DialFunc != nil)
	}
	cfg, err = postgres.ParseConfig("postgres://u@db.example/otpidp?statement_timeout=9000&connect_timeout=7", postgres.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ConnConfig.RuntimeParams["statement_timeout"]; got != "9000" || cfg.ConnConfig.ConnectTimeout != 7*time.Second {
		t.Errorf("statement_timeout %q, ConnectTimeout %v: the URL's must stand", got, cfg.ConnConfig.ConnectTimeout)
	}
}

// TestUnreachableIsUnavailable: a database nobody listens for is storage.ErrUnavailable, and
// one that accepts and never answers is too, within the connect timeout.
func TestUnreachableIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := ln.Addr().String()
	go func() { // accepts and says nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	t.Cleanup(func() { ln.Close() })
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := closed.Addr().String()
	closed.Close()
	for name, addr := range map[string]string{"refused": refused, "silent": silent} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			begin := time.Now()
			_, err := postgres.Open(ctx, "postgres://u@"+addr+"/otpidp?sslmode=disable", postgres.WithTimeout(300*time.Millisecond))
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Open = %v, want ErrUnavailable", err)
			}
			if d := time.Since(begin); d > 5*time.Second {
				t.Errorf("Open took %v", d)
			}
		})
	}
}
