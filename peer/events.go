package peer

import (
	"context"
	"sync"
)

// maxQueued bounds the events queued for one slow subscriber; past it the oldest are dropped and
// the drop is logged. A subscriber that keeps up never loses an event.
const maxQueued = 1 << 20

// bus fans engine events out to subscribers, each with its own queue so that a slow subscriber
// never blocks the engine.
type bus struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{} // closed by close: subscribers stop delivering
	wg     sync.WaitGroup
}

type subscriber struct {
	mu      sync.Mutex
	queue   []Event
	dropped int
	wake    chan struct{}
}

func newBus() *bus { return &bus{subs: make(map[*subscriber]struct{}), done: make(chan struct{})} }

// subscribe returns a channel of every event published from now on. It is closed when ctx ends
// or the bus closes.
func (b *bus) subscribe(ctx context.Context) <-chan Event {
	out := make(chan Event)
	s := &subscriber{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(out)
		return out
	}
	b.subs[s] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer close(out)
		defer func() { b.mu.Lock(); delete(b.subs, s); b.mu.Unlock() }()
		for {
			s.mu.Lock()
			var next []Event
			next, s.queue = s.queue, nil
			s.mu.Unlock()
			for _, e := range next {
				select {
				case out <- e:
				case <-ctx.Done():
					return
				case <-b.done:
					return
				}
			}
			if len(next) > 0 {
				continue
			}
			select {
			case <-s.wake:
			case <-b.done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func (b *bus) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for s := range b.subs {
		s.mu.Lock()
		if len(s.queue) >= maxQueued {
			s.queue = s.queue[1:]
			s.dropped++
		}
		s.queue = append(s.queue, e)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// close ends every subscription; events still queued are dropped.
func (b *bus) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
	b.mu.Unlock()
	b.wg.Wait()
}
