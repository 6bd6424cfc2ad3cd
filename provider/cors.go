package provider

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/otpidp/otpidp/storage"
)

// originCache knows the origins of every registered redirect URI, refreshed every ttl.
type originCache struct {
	store storage.Storage
	now   func() time.Time
	ttl   time.Duration

	mu      sync.Mutex
	set     map[string]bool
	fetched time.Time
}

func (o *originCache) allowed(ctx context.Context, origin string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.set == nil || o.now().Sub(o.fetched) > o.ttl {
		clients, err := o.store.ListClients(ctx)
		if err != nil {
			return false
		}
		set := map[string]bool{}
		for _, c := range clients {
			for _, ru := range c.RedirectURIs {
				if u, err := url.Parse(ru); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
					set[strings.ToLower(u.Scheme+"://"+u.Host)] = true
				}
			}
		}
		o.set, o.fetched = set, o.now()
	}
	return o.set[strings.ToLower(origin)]
}
