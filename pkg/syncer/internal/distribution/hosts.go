package distribution

import (
	"context"
	"sync"
	"sync/atomic"
)

// hostState is what the client knows about one registry host: how to reach
// it, how it wants to be authenticated, and how many requests may be in
// flight. It is shared by every run so that /v2/ is pinged once per host.
type hostState struct {
	host    string // host[:port] as addressed
	scheme  string
	slots   *fairSlots
	breaker *breaker

	mu        sync.Mutex
	pinged    bool
	challenge challenge
}

func (c *Client) hostFor(host string) *hostState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[host]; ok {
		return h
	}
	scheme := "https"
	if c.insecure[host] {
		scheme = "http"
	}
	h := &hostState{host: host, scheme: scheme, slots: newFairSlots(c.cfg.PerRegistryConcurrency),
		breaker: &breaker{threshold: c.cfg.BreakerThreshold, cooldown: c.cfg.BreakerCooldown}}
	if changed := c.cfg.BreakerChanged; changed != nil {
		h.breaker.changed = func(open bool) { changed(host, open) }
	}
	c.hosts[host] = h
	return h
}

type heldKey struct{ host string }

// slotOwnerKey carries the tenant (the engine's Request.Tenant, or else the
// run) whose requests share a host's slots fairly with other tenants.
type slotOwnerKey struct{}

// WithSlotOwner says whose share of each host's request slots the requests
// ctx carries take: owner is a tenant, or a run that names none (any
// comparable value). See fairSlots.
func WithSlotOwner(ctx context.Context, owner any) context.Context {
	return context.WithValue(ctx, slotOwnerKey{}, owner)
}

// acquire takes a request slot on h unless ctx already holds one for h (a
// blob transfer holds its slots for the whole stream, and its inner requests
// must not wait on themselves).
func (h *hostState) acquire(ctx context.Context) (func(), error) {
	if ctx.Value(heldKey{h.host}) != nil {
		return func() {}, nil
	}
	owner := ctx.Value(slotOwnerKey{})
	if err := h.slots.acquire(ctx, owner); err != nil {
		return nil, err
	}
	return func() { h.slots.release(owner) }, nil
}

// holdHosts acquires one slot on each distinct host in a fixed order (which
// prevents deadlock between transfers) and marks them held in the returned
// context.
func holdHosts(ctx context.Context, hosts ...*hostState) (context.Context, func(), error) {
	var uniq []*hostState
	seen := map[string]bool{}
	for _, h := range hosts {
		if !seen[h.host] && ctx.Value(heldKey{h.host}) == nil {
			seen[h.host] = true
			uniq = append(uniq, h)
		}
	}
	for i := 1; i < len(uniq); i++ {
		if uniq[i].host < uniq[0].host {
			uniq[0], uniq[i] = uniq[i], uniq[0]
		}
	}
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	for _, h := range uniq {
		r, err := h.acquire(ctx)
		if err != nil {
			release()
			return ctx, func() {}, err
		}
		releases = append(releases, r)
		ctx = context.WithValue(ctx, heldKey{h.host}, true)
	}
	return ctx, release, nil
}

// Hold takes one request slot on the host of each of repos for a transfer
// that spans them (a blob streamed from one registry into another), in a
// fixed order that keeps two transfers from waiting on each other. The
// requests of the returned context use the held slots instead of taking
// more; release returns them.
func Hold(ctx context.Context, repos ...*Repository) (_ context.Context, release func(), _ error) {
	hosts := make([]*hostState, len(repos))
	for i, r := range repos {
		hosts[i] = r.host
	}
	return holdHosts(ctx, hosts...)
}

// Session is what one run learns about the registry hosts it speaks to,
// such as whether a host has the referrers API. The engine makes one per
// run; the Client's knowledge (pings, challenges, breakers, slots) outlives
// it.
type Session struct {
	mu    sync.Mutex
	hosts map[string]*runHost
}

// NewSession returns the state of a new run.
func NewSession() *Session { return &Session{hosts: map[string]*runHost{}} }

func (s *Session) host(host string) *runHost {
	s.mu.Lock()
	defer s.mu.Unlock()
	rh := s.hosts[host]
	if rh == nil {
		rh = &runHost{}
		s.hosts[host] = rh
	}
	return rh
}

// runHost is what one run learns about a registry host.
type runHost struct {
	// referrersAPI: 0 unknown, 1 supported, 2 not supported (the
	// registry answered the referrers endpoint with 404/400/405/501).
	referrersAPI atomic.Int32
	probe        sync.Mutex // held by the request that probes referrersAPI
}
