package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// MemoryOptions configures [NewMemory]. The zero value is usable.
type MemoryOptions struct {
	// Now is the clock; tests inject a fake one. Default time.Now.
	Now func() time.Time
	// MaxKeys caps the number of tracked keys, across all policies. Default
	// 100000. Each shard holds MaxKeys/64 keys, at least one.
	MaxKeys int
	// SweepEvery is how often each shard drops the keys whose bucket is full
	// again (TAT in the past), on the first request after the interval.
	// Default one minute.
	SweepEvery time.Duration
}

const (
	memoryShards         = 64 // a power of two: the shard is the hash's low bits
	defaultMaxKeys       = 100_000
	defaultSweepEvery    = time.Minute
	evictionSampleLength = 8
)

// Memory is a [Limiter] for one process: GCRA over sharded maps of TATs.
//
// Memory stays bounded: a key whose bucket is full again carries no
// information and is dropped by the periodic sweep; a shard at its cap makes
// room by dropping expired keys among a few sampled ones or, when all are
// active, the one closest to full. An evicted active key starts again with a
// full bucket, so under a flood of distinct keys the limiter errs towards
// allowing.
type Memory struct {
	now        func() time.Time
	sweepEvery int64
	perShard   int
	seed       maphash.Seed
	shards     [memoryShards]memoryShard
}

type memoryShard struct {
	mu        sync.Mutex
	tats      map[memoryKey]int64 // Unix nanoseconds
	nextSweep int64
	_         [40]byte // keeps neighbouring shards' locks off one cache line
}

type memoryKey struct{ policy, key string }

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-process limiter.
func NewMemory(opts MemoryOptions) *Memory {
	m := &Memory{
		now:        opts.Now,
		sweepEvery: int64(opts.SweepEvery),
		perShard:   opts.MaxKeys / memoryShards,
		seed:       maphash.MakeSeed(),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.sweepEvery <= 0 {
		m.sweepEvery = int64(defaultSweepEvery)
	}
	if opts.MaxKeys <= 0 {
		m.perShard = defaultMaxKeys / memoryShards
	}
	m.perShard = max(m.perShard, 1)
	for i := range m.shards {
		m.shards[i].tats = make(map[memoryKey]int64)
	}
	return m
}

// Allow implements [Limiter]. It fails only for an invalid policy.
func (m *Memory) Allow(_ context.Context, key string, p Policy, cost int) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, err
	}
	cost = p.clampCost(cost)
	k := memoryKey{p.Name, key}
	s := &m.shards[maphash.String(m.seed, key)&(memoryShards-1)]

	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.now().UnixNano()
	if now >= s.nextSweep {
		s.sweep(now)
		s.nextSweep = now + m.sweepEvery
	}
	tat, tracked := s.tats[k]
	d, newTAT := gcra(p, cost, now, tat)
	if newTAT > now && newTAT != tat {
		if !tracked && len(s.tats) >= m.perShard {
			s.evict(now)
		}
		s.tats[k] = newTAT
	}
	return d, nil
}

// Sweep drops every key whose bucket is full again and returns how many it
// dropped. Allow sweeps each shard every SweepEvery by itself; call Sweep to
// release memory sooner.
func (m *Memory) Sweep() int {
	dropped := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		now := m.now().UnixNano()
		dropped += s.sweep(now)
		s.nextSweep = now + m.sweepEvery
		s.mu.Unlock()
	}
	return dropped
}

// Len returns the number of keys tracked.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

func (s *memoryShard) sweep(now int64) int {
	before := len(s.tats)
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
	return before - len(s.tats)
}

// evict makes room for one key. Map iteration starts at a random place, so
// the first few entries are a cheap random sample; it drops the expired ones
// among them, or else the one with the earliest TAT, which loses the least.
func (s *memoryShard) evict(now int64) {
	var oldest memoryKey
	var oldestTAT int64
	seen, found, dropped := 0, false, false
	for k, tat := range s.tats {
		switch {
		case tat <= now:
			delete(s.tats, k)
			dropped = true
		case !found || tat < oldestTAT:
			oldest, oldestTAT, found = k, tat, true
		}
		if seen++; seen == evictionSampleLength {
			break
		}
	}
	if !dropped && found {
		delete(s.tats, oldest)
	}
}
