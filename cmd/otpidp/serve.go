package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/otpidp/otpidp/storage/deadline"

	"github.com/otpidp/otpidp/provider"
	"github.com/otpidp/otpidp/provider/auth"
	sendq "github.com/otpidp/otpidp/provider/outbox"
	"github.com/otpidp/otpidp/provider/signin"
	"github.com/otpidp/otpidp/provider/sms"
	"github.com/otpidp/otpidp/storage"
	"github.com/otpidp/otpidp/ui"
)

// gcInterval is how often an instance deletes expired rows.
const gcInterval = 10 * time.Minute

// smsRetention is how long the SMS delivery records (no body, no number) are kept.
const smsRetention = 90 * 24 * time.Hour

// serve runs the provider until ctx ends.
func serve(ctx context.Context, cfg Config, store storage.Storage, logger *slog.Logger, stdout io.Writer, m *metrics) error {
	sender, err := newSender(cfg, store, logger, stdout)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return serveOn(ctx, ln, deps{cfg: cfg, store: store, logger: logger, sender: sender, now: time.Now, metrics: m})
}

// newSender picks the SMS sender the configuration asks for. The Twilio senders keep their
// delivery journal in store. In twilio-verify mode the sender is an *sms.TwilioVerify, which
// newHandler also hands to the authenticator as its auth.CodeVerifier.
func newSender(cfg Config, store storage.SMSMessages, logger *slog.Logger, stdout io.Writer) (sms.Sender, error) {
	switch cfg.SMS {
	case smsTwilio:
		return sms.NewTwilio(twilioConfig(cfg, store, logger))
	case smsTwilioVerify:
		return sms.NewTwilioVerify(twilioConfig(cfg, store, logger))
	case "console":
		if !cfg.Dev {
			if !cfg.SMSExplicit {
				return nil, &configError{Problems: []string{"the issuer is not a localhost address, so SMS must go through Twilio: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER (or OTPIDP_SMS=console to print codes to the console anyway)"}}
			}
			logger.Warn("SMS codes are printed to the console (OTPIDP_SMS=console): nobody receives a text message; use this only for testing")
		}
		return sms.NewConsole(stdout), nil
	}
	return nil, &configError{Problems: []string{fmt.Sprintf("OTPIDP_SMS %q is not console, twilio or twilio-verify", cfg.SMS)}}
}

// deps is everything the server is built from; tests build it with fakes.
type deps struct {
	cfg    Config
	store  storage.Storage // serveOn bounds every call (storage/deadline)
	logger *slog.Logger
	sender sms.Sender
	now    func() time.Time
	// metrics, when set, are served on the admin listener (metrics.go); nil records nothing.
	metrics *metrics
	ready   *readiness // set by serveOn
	// onDrainer, when set, is given the instance's outbox drainer (tests settle it).
	onDrainer func(*sendq.Drainer)
}

// serveOn serves on ln until ctx ends, then shuts down gracefully:
//
//  1. at once: /readyz answers 503 and the background work (garbage collection, key rotation)
//     stops;
//  2. for OTPIDP_SHUTDOWN_DRAIN the listener stays open and requests are served as usual, so
//     that a load balancer that polls /readyz takes the instance out without a failed request;
//  3. then the listener closes and in-flight requests finish;
//  4. at OTPIDP_SHUTDOWN_GRACE after the signal (less a margin to close the store) the requests
//     still running are cancelled and their connections closed, and serveOn returns whatever
//     the database does: every store call has a deadline, and closing the store is bounded
//     too (runServe).
func serveOn(ctx context.Context, ln net.Listener, d deps) error {
	d.cfg.Lifecycle = d.cfg.Lifecycle.withDefaults()
	if _, ok := d.store.(*deadline.Store); !ok {
		d.store = deadline.Wrap(d.store, d.cfg.Lifecycle.DBTimeout)
	}
	d.ready = &readiness{}
	h, prov, drainer, err := newHandler(ctx, d)
	if err != nil {
		ln.Close()
		return err
	}
	// Requests' contexts derive from base, which is cancelled at the end of the grace period.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn),
	}
	// The background work ends, and is waited for, before serveOn returns (and the store is
	// closed). Its store calls have deadlines, so the wait is bounded.
	var background sync.WaitGroup
	gcCtx, stopGC := context.WithCancel(ctx)
	defer background.Wait()
	defer stopGC()
	background.Go(func() { collectGarbage(gcCtx, d) })
	background.Go(func() { maintainKeys(gcCtx, d, prov) })
	background.Go(func() { releaseMemory(gcCtx) }) // memory.go
	// The outbox drainer sends the texts that resets and registrations queued (on this or any
	// instance); it stops with the server, finishing the sends in progress.
	background.Go(func() { drainer.Run(gcCtx) })

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	d.logger.Info("otpidp is serving", "issuer", d.cfg.Issuer, "addr", ln.Addr().String(), "sms", d.cfg.SMS)
	logLimits(d.logger, d.cfg) // devlimits.go: which limits apply
	if d.cfg.Dev {
		d.logger.Info("demo app: open " + d.cfg.Issuer + "/demo")
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	l := d.cfg.Lifecycle
	hardStop := time.Now().Add(l.ShutdownGrace - closeMargin(l))
	d.ready.draining.Store(true)
	stopGC()
	d.logger.Info("shutting down: draining", "drain", l.ShutdownDrain.String(), "grace", l.ShutdownGrace.String())
	select {
	case <-time.After(l.ShutdownDrain):
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	d.logger.Info("shutting down: closing the listener, waiting for requests in flight")
	shutdownCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), hardStop)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Out of grace: cancel what still runs and close its connections.
		d.logger.Warn("shutting down: requests still running at the end of the grace period are cancelled", "error", err)
		cancelBase()
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// closeMargin is the part of the grace period kept for closing the store and exiting after
// the requests: at most a second, at most a tenth of the grace.
func closeMargin(l LifecycleConfig) time.Duration {
	return min(time.Second, l.ShutdownGrace/10)
}

// collectGarbage deletes expired rows now and then; on several instances each does it, which
// is harmless.
func collectGarbage(ctx context.Context, d deps) {
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			collectOnce(ctx, d)
		}
	}
}

// newHandler builds the whole server: provider, pages and, in development, the demo app; and
// the outbox drainer that sends what they queue.
func newHandler(ctx context.Context, d deps) (http.Handler, *provider.Provider, *sendq.Drainer, error) {
	h, prov, drainer, err := buildHandler(ctx, d)
	if err == nil && d.onDrainer != nil {
		d.onDrainer(drainer)
	}
	return h, prov, drainer, err
}

func buildHandler(ctx context.Context, d deps) (http.Handler, *provider.Provider, *sendq.Drainer, error) {
	issuer, err := url.Parse(d.cfg.Issuer)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issuer: %w", err)
	}
	queue, err := sendq.NewQueue(ctx, d.store, d.now)
	if err != nil {
		return nil, nil, nil, err
	}
	authOpts := []auth.Option{auth.WithClock(d.now), auth.WithLogger(d.logger), auth.WithOutbox(queue)}
	if v, ok := d.sender.(auth.CodeVerifier); ok {
		authOpts = append(authOpts, auth.WithCodeVerifier(v)) // OTPIDP_SMS=twilio-verify
	}
	authn, err := auth.New(ctx, d.store, smsSender(d), auth.Config{ // smsSender: circuit breaker, metrics
		ProductName: d.cfg.ProductName, OriginHost: d.cfg.OriginHost(), DefaultRegion: d.cfg.DefaultRegion,
		Limits:       d.cfg.authLimits(),
		ResetSMSOnly: d.cfg.Pages.ResetSMSOnly,
		SMSTemplate:  d.cfg.SMSTemplate,
	}, authOpts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("authenticator: %w", err)
	}
	drainer := sendq.NewDrainer(queue, sendq.Config{
		Poll: d.cfg.Abuse.OutboxPoll, Retention: d.cfg.Abuse.OutboxRetention,
		Lease: outboxLease(d.cfg), Now: d.now, Logger: d.logger,
	})
	drainer.Handle(auth.OutboxKindSMS, authn.SendQueued)
	// The sign-in core: the pages and the provider both call it.
	core := signin.New(d.store, authn, signin.Config{
		SessionTTL: d.cfg.Pages.SessionTTL, SessionIdleTTL: d.cfg.Pages.SessionIdleTTL,
		Now: d.now, Logger: d.logger,
	})
	prov, err := provider.New(ctx, d.store, provider.Config{
		Issuer:             d.cfg.Issuer,
		KeyRotation:        d.cfg.KeyRotation,
		KeyLeadTime:        d.cfg.KeyLeadTime,
		DevicePollInterval: d.cfg.DevicePollInterval,
		RefreshGrace:       d.cfg.RefreshGrace,
		UILocales:          ui.Languages(),
		JWKSAllowLoopback:  d.cfg.Dev,
		Authorize:          d.cfg.authorizeLimits(),
		SignIn:             core,
		Now:                d.now,
		Logger:             d.logger,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	pages, err := ui.New(ctx, ui.Config{
		ProductName: d.cfg.ProductName, Issuer: d.cfg.Issuer, Secure: issuer.Scheme == "https",
		LogoURL: d.cfg.Pages.LogoURL, AccentColor: d.cfg.Pages.AccentColor,
		DefaultRegion: d.cfg.DefaultRegion, SMSCountries: pageCountries(d.cfg),
		Now: d.now, Logger: d.logger,
	}, core, prov.CallbackURL)
	if err != nil {
		return nil, nil, nil, err
	}
	var demo *demoApp
	if d.cfg.Dev {
		demo, err = newDemo(ctx, d)
		if err != nil {
			return nil, nil, nil, err
		}
	}
	return routes(d, prov, pages, demo), prov, drainer, nil
}

// outboxLease is how long a drainer holds a claimed message: longer than the slowest send (the
// SMS timeout, plus one throttled retry of at most 5 s, plus a margin).
func outboxLease(cfg Config) time.Duration {
	t := cfg.SMSTimeout
	if t <= 0 {
		t = sms.DefaultTwilioTimeout
	}
	return 2*t + 20*time.Second
}

// pageCountries are the regions the pages say codes are texted to (OTPIDP_SMS_COUNTRIES, by
// default the default region's).
func pageCountries(c Config) []string {
	if len(c.Abuse.SMSCountries) == 0 {
		return []string{c.DefaultRegion}
	}
	return c.Abuse.SMSCountries
}
