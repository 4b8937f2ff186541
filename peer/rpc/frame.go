package rpc

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// scratchSize is the size of the pooled buffer a frame is first read into: a small frame, its
// length prefix and the stream's end usually arrive in one Read.
const scratchSize = 1024

var scratchPool = sync.Pool{New: func() any { return new([scratchSize]byte) }}

// errTrailing reports bytes after a frame on a stream that must end there.
var errTrailing = errors.New("bytes after the frame")

// errTooLarge wraps the length prefix check, which happens before anything is allocated.
type frameTooLarge struct{ err error }

func (e *frameTooLarge) Error() string { return e.err.Error() }
func (e *frameTooLarge) Unwrap() error { return e.err }

// errBudget reports a frame refused by the reserve function.
var errBudget = errors.New("frame exceeds the byte budget")

// readFrame reads one length-prefixed frame body from r and checks that the stream ends right
// after it. The prefix is checked against maxBody and passed to reserve (when not nil) before the
// body is allocated; if reserve returns false readFrame fails with errBudget. The returned body is
// newly allocated and owned by the caller.
func readFrame(r io.Reader, maxBody int, reserve func(int) bool) ([]byte, error) {
	scratch := scratchPool.Get().(*[scratchSize]byte)
	defer scratchPool.Put(scratch)
	buf := scratch[:]
	got, eof := 0, false
	for got < wire.RPCLenSize && !eof {
		n, err := r.Read(buf[got:])
		got += n
		if err == io.EOF {
			eof = true
		} else if err != nil {
			return nil, err
		}
	}
	if got < wire.RPCLenSize {
		return nil, io.ErrUnexpectedEOF
	}
	size, err := wire.ParseRPCLen(buf[:wire.RPCLenSize], maxBody)
	if err != nil {
		return nil, &frameTooLarge{err}
	}
	if got-wire.RPCLenSize > size {
		return nil, errTrailing
	}
	if reserve != nil && !reserve(size) {
		return nil, errBudget
	}
	body := make([]byte, size)
	have := copy(body, buf[wire.RPCLenSize:got])
	for have < size && !eof {
		n, err := r.Read(body[have:])
		have += n
		if err == io.EOF {
			eof = true
		} else if err != nil {
			return body, err
		}
	}
	if have < size {
		return body, io.ErrUnexpectedEOF
	}
	if !eof {
		n, err := r.Read(buf[:1])
		if n > 0 {
			return body, errTrailing
		}
		if err != io.EOF {
			if err == nil {
				err = errTrailing
			}
			return body, err
		}
	}
	return body, nil
}

// handlerCtx is a handler's context: the stream's context bounded by a deadline. The timer behind
// the deadline is only made when the handler asks for Done or Err (or derives a context), so a
// handler that never looks at its context costs no timer.
type handlerCtx struct {
	parent   context.Context
	deadline time.Time
	once     sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
}

func (c *handlerCtx) init() { c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline) }

// Deadline returns the handler's deadline.
func (c *handlerCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the call ends or the deadline passes.
func (c *handlerCtx) Done() <-chan struct{} { c.once.Do(c.init); return c.ctx.Done() }

// Err returns why Done was closed.
func (c *handlerCtx) Err() error { c.once.Do(c.init); return c.ctx.Err() }

// Value returns the value for key; once the deadline context exists it answers, so that contexts
// derived from this one find its cancellation without a goroutine.
func (c *handlerCtx) Value(key any) any {
	c.once.Do(c.init)
	return c.ctx.Value(key)
}

// release stops the deadline timer, if one was made. A context never looked at becomes an
// already-cancelled one, in case the handler handed it to a goroutine that outlives the call.
func (c *handlerCtx) release() {
	c.once.Do(func() { c.ctx = endedCtx })
	if c.cancel != nil {
		c.cancel()
	}
}

// endedCtx is a context that is already cancelled.
var endedCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()
