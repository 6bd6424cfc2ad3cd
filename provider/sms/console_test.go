package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/otpidp/otpidp/provider/sms"
)

func TestConsoleLine(t *testing.T) {
	tests := []struct {
		name string
		msg  sms.Message
		want string
	}{
		{
			name: "code with origin-bound line",
			msg:  sms.Message{To: "+14155552667", Body: "Your code is 123456\n\n@idp.example.com #123456"},
			want: "SMS to +1•••••••67: \"Your code is 123456\\n\\n@idp.example.com #123456\"\n",
		},
		{
			name: "quotes and control characters stay on one line",
			msg:  sms.Message{To: "+447911123456", Body: "a \"b\"\r\nc\x1b[31m"},
			want: "SMS to +44•••••••56: \"a \\\"b\\\"\\r\\nc\\x1b[31m\"\n",
		},
		{
			name: "unicode",
			msg:  sms.Message{To: "+4917667111638", Body: "Код 000123"},
			want: "SMS to +49•••••••38: \"Код 000123\"\n",
		},
		{
			name: "not a number",
			msg:  sms.Message{To: "", Body: ""},
			want: "SMS to •••••••: \"\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := sms.NewConsole(&buf).Send(t.Context(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("line = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsoleConcurrent(t *testing.T) {
	var buf bytes.Buffer // not safe for concurrent use: Console must serialize the writes
	c := sms.NewConsole(&buf)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.Send(t.Context(), sms.Message{To: "+14155552671", Body: fmt.Sprintf("code %06d", i)}); err != nil {
				t.Errorf("Send: %v", err)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	seen := map[string]bool{}
	for _, line := range lines {
		if !strings.HasPrefix(line, "SMS to +1•••••••71: \"code ") || !strings.HasSuffix(line, "\"") {
			t.Errorf("malformed line %q", line)
		}
		seen[line] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct lines, want %d", len(seen), n)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestConsoleErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	msg := sms.Message{To: "+14155552671", Body: "code 123456"}

	if err := sms.NewConsole(failingWriter{}).Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Send to a failing writer: %v, want the write error", err)
	}
	var buf bytes.Buffer
	if err := sms.NewConsole(&buf).Send(canceled, msg); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a canceled context: %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("canceled Send wrote %q", buf.String())
	}
}

// Both senders satisfy Sender.
var (
	_ sms.Sender = (*sms.Console)(nil)
	_ sms.Sender = (*sms.Twilio)(nil)
)
