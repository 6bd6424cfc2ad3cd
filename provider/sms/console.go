package sms

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/otpidp/otpidp/provider/phone"
)

// Console is the development Sender, used when Twilio is not configured: instead of sending a
// message it prints it, code included, so that a developer (or a test) can read the code.
//
// Each message is one line, written with a single Write:
//
//	SMS to <masked number>: <body>
//
// where <masked number> is phone.MaskForLog(To) (for example "+1•••••••67") and <body> is the
// body quoted with strconv.Quote, so a body with newlines or control characters still takes one
// line. For example:
//
//	SMS to +1•••••••67: "Your code is 123456\n\n@idp.example.com #123456"
//
// Because the line holds the code, Console must never be used in production, and its output
// must not be shipped to a log store. It is safe for concurrent use.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsole returns a Console that writes to w.
func NewConsole(w io.Writer) *Console {
	return &Console{w: w}
}

// Send prints m as one line. It fails only if ctx is already done or the write fails.
func (c *Console) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sms: console: %w", err)
	}
	line := "SMS to " + phone.MaskForLog(m.To) + ": " + strconv.Quote(m.Body) + "\n"
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, line); err != nil {
		return fmt.Errorf("sms: console: write: %w", err)
	}
	return nil
}
