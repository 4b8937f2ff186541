package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/auction-tui/auction-tui/wire"
)

// framePool recycles frame encoding buffers (up to maxPooledFrame bytes).
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledFrame = 64 << 10

func getFrame() *[]byte { return framePool.Get().(*[]byte) }

func putFrame(b *[]byte) {
	if cap(*b) <= maxPooledFrame {
		*b = (*b)[:0]
		framePool.Put(b)
	}
}

// Request calls method on peer with payload and returns the response payload. It dials the peer
// if there is no connection (address book, then resolver). Without a deadline on ctx the
// endpoint's request timeout applies. Failures are an *Error (compare with ErrRejected,
// ErrTimeout and so on), a *KeyMismatchError, ErrNoAddress, a *ProtocolError, or ctx.Err()
// (wrapped) when ctx is cancelled. A call caught on a connection that was just closed as a
// duplicate (see the package doc), or that found its connection dead before sending, is sent once
// more on a fresh connection; the duplicate is only closed after staying idle for a grace period,
// so a handler running twice for one call is unlikely but possible: handlers of calls that must
// not repeat (bids) should deduplicate, as signed bids do.
func (e *Endpoint) Request(ctx context.Context, peer wire.PeerKey, method string, payload []byte) ([]byte, error) {
	if err := e.checkCall(method, payload); err != nil {
		return nil, err
	}
	deadline := e.deadline(ctx)
	for attempt := 0; ; attempt++ {
		pc, err := e.getConnBy(ctx, deadline, peer)
		if err != nil {
			return nil, err
		}
		resp, retry, err := e.call(ctx, deadline, pc, method, payload)
		if retry && attempt == 0 {
			e.forget(pc)
			continue
		}
		return resp, err
	}
}

// Event sends method with payload to peer on its own stream and returns once the frame is
// handed to QUIC; no answer is awaited and the handler's result is discarded. It dials like
// Request and is bounded by the same deadline. Delivery is not confirmed: a peer that is
// overloaded drops events.
func (e *Endpoint) Event(ctx context.Context, peer wire.PeerKey, method string, payload []byte) error {
	if err := e.checkCall(method, payload); err != nil {
		return err
	}
	deadline := e.deadline(ctx)
	for attempt := 0; ; attempt++ {
		pc, err := e.getConnBy(ctx, deadline, peer)
		if err != nil {
			return err
		}
		retry, err := e.event(ctx, deadline, pc, method, payload)
		if retry && attempt == 0 {
			e.forget(pc)
			continue
		}
		return err
	}
}

// deadline returns ctx's deadline, or the default request deadline from now when it has none.
func (e *Endpoint) deadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(e.cfg.requestTimeout)
}

func (e *Endpoint) checkCall(method string, payload []byte) error {
	if !wire.ValidRPCMethod(method) {
		return &Error{Code: CodeBadRequest, Message: fmt.Sprintf("invalid method name %q", method)}
	}
	if len(payload) > e.cfg.maxMessage {
		return &Error{Code: CodeBadRequest, Message: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), e.cfg.maxMessage)}
	}
	return nil
}

func (e *Endpoint) event(ctx context.Context, deadline time.Time, pc *peerConn, method string, payload []byte) (retry bool, err error) {
	pc.active.Add(1)
	defer pc.active.Add(-1)
	s, err := pc.qc.OpenUniStream()
	if _, ok := errors.AsType[*quic.StreamLimitReachedError](err); ok {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		s, err = pc.qc.OpenUniStreamSync(dctx)
		cancel()
	}
	if err != nil {
		return e.openFailed(ctx, deadline, pc, err)
	}
	_ = s.SetWriteDeadline(deadline)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { s.CancelWrite(streamCancelled) })
		defer stop()
	}
	buf := getFrame()
	defer putFrame(buf)
	*buf, _ = wire.AppendRPCRequest((*buf)[:0], method, payload)
	if _, err := s.Write(*buf); err != nil {
		s.CancelWrite(streamCancelled)
		return false, e.streamErr(ctx, pc, err, "event")
	}
	if err := s.Close(); err != nil {
		return false, e.streamErr(ctx, pc, err, "event")
	}
	return false, nil
}

// openFailed maps a failure to open a stream; a dead connection is worth one more try since
// nothing was sent.
func (e *Endpoint) openFailed(ctx context.Context, deadline time.Time, pc *peerConn, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctxError(ctx, "open stream")
	}
	if !time.Now().Before(deadline) {
		return false, &Error{Code: CodeTimeout, Message: "open stream", err: context.DeadlineExceeded}
	}
	if pc.qc.Context().Err() != nil {
		return true, closedErr("connection closed", err)
	}
	return false, closedErr("open stream", err)
}

// call performs one request on pc. retry reports a failure caught on a connection that was
// closed as a duplicate (or was already dead before anything was sent).
func (e *Endpoint) call(ctx context.Context, deadline time.Time, pc *peerConn, method string, payload []byte) (resp []byte, retry bool, err error) {
	pc.active.Add(1)
	defer pc.active.Add(-1)
	s, err := pc.qc.OpenStream()
	if _, ok := errors.AsType[*quic.StreamLimitReachedError](err); ok {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		s, err = pc.qc.OpenStreamSync(dctx)
		cancel()
	}
	if err != nil {
		retry, err := e.openFailed(ctx, deadline, pc, err)
		return nil, retry, err
	}
	// The deadline is enforced by the stream itself; the context is watched only when it can be
	// cancelled, which keeps a call with a background context free of timers and registrations.
	_ = s.SetDeadline(deadline)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			s.CancelWrite(streamCancelled)
			s.CancelRead(streamCancelled)
		})
		defer stop()
	}

	buf := getFrame()
	*buf, _ = wire.AppendRPCRequest((*buf)[:0], method, payload)
	_, werr := s.Write(*buf)
	putFrame(buf)
	if werr == nil {
		// A responder that refuses the request at once (rate limit, no handler slot) stops our
		// sending; when its STOP_SENDING arrives between Write and Close, quic-go's Close fails
		// with a plain error, not a *quic.StreamError. The whole request was written, so the
		// answer is on its way: read on (the read has the call's deadline).
		_ = s.Close()
	}
	if werr != nil {
		// A responder that refuses the request stops our sending but still answers: read on.
		if se, ok := errors.AsType[*quic.StreamError](werr); !ok || !se.Remote {
			s.CancelRead(streamCancelled)
			s.CancelWrite(streamCancelled)
			return nil, isDuplicateClose(werr), e.streamErr(ctx, pc, werr, "write request")
		}
	}

	body, err := readFrame(s, wire.RPCResponseBodyMax(e.cfg.maxMessage), nil)
	if err != nil {
		var tl *frameTooLarge
		switch {
		case errors.As(err, &tl):
			s.CancelRead(streamRefused)
			return nil, false, &ProtocolError{Peer: pc.key, Reason: "bad response length", Err: tl.err}
		case errors.Is(err, errTrailing):
			s.CancelRead(streamRefused)
			return nil, false, &ProtocolError{Peer: pc.key, Reason: "bytes after the response frame", Err: err}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, false, &ProtocolError{Peer: pc.key, Reason: "truncated response", Err: err}
		}
		s.CancelRead(streamCancelled)
		return nil, isDuplicateClose(err), e.streamErr(ctx, pc, err, "read response")
	}
	st, b, err := wire.DecodeRPCResponseBody(body, e.cfg.maxMessage)
	if err != nil {
		return nil, false, &ProtocolError{Peer: pc.key, Reason: "malformed response", Err: err}
	}
	if st != wire.StatusOK {
		return nil, false, &Error{Code: Code(st), Message: string(b), Remote: true}
	}
	return b, false, nil
}

func isDuplicateClose(err error) bool {
	ae, ok := errors.AsType[*quic.ApplicationError](err)
	return ok && ae.ErrorCode == closeDuplicate
}

// streamErr maps a stream read or write failure to an *Error (or the context's error).
func (e *Endpoint) streamErr(ctx context.Context, pc *peerConn, err error, op string) error {
	if ctx.Err() != nil {
		return ctxError(ctx, op)
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		// The stream deadline equals the context deadline; it may fire a hair earlier.
		return &Error{Code: CodeTimeout, Message: op, err: context.DeadlineExceeded}
	}
	if pc.qc.Context().Err() != nil {
		return closedErr("connection closed during "+op, err)
	}
	return closedErr(op, err)
}

// ctxError maps an ended context: a deadline is a CodeTimeout *Error, a cancellation is returned
// as ctx.Err() wrapped.
func ctxError(ctx context.Context, op string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: CodeTimeout, Message: op, err: context.DeadlineExceeded}
	}
	return fmt.Errorf("rpc: %s: %w", op, ctx.Err())
}
