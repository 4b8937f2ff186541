package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/auction-tui/auction-tui/wire"
)

// refuse answers a request stream with status and msg without reading it. It never blocks: a
// peer that grants no flow-control credit for the answer gets its stream reset instead. The caller
// releases the stream's credit, at once or later (parkCredit).
func (e *Endpoint) refuse(s *quic.Stream, status wire.RPCStatus, msg string) {
	s.CancelRead(streamRefused)
	buf := getFrame()
	defer putFrame(buf)
	*buf, _ = wire.AppendRPCResponse((*buf)[:0], status, []byte(msg))
	if err := s.TryWriteAll(*buf); err != nil {
		s.CancelWrite(streamRefused)
		return
	}
	_ = s.Close()
}

// writeResponse writes one response frame, releases the connection's queued stream credits (so
// that they travel with the answer) and closes the send side.
func (e *Endpoint) writeResponse(pc *peerConn, s *quic.Stream, status wire.RPCStatus, body []byte, deadline time.Time) {
	_ = s.SetWriteDeadline(deadline)
	buf := getFrame()
	defer putFrame(buf)
	var err error
	*buf, err = wire.AppendRPCResponse((*buf)[:0], status, body)
	if err != nil { // the handler's answer does not encode: report that instead
		*buf, _ = wire.AppendRPCResponse((*buf)[:0], wire.StatusInternal, []byte("unencodable response"))
	}
	if _, err := s.Write(*buf); err != nil {
		s.CancelWrite(streamCancelled)
		return
	}
	pc.releaseCredits()
	_ = s.Close()
}

// readRequest reads one request frame from s, reserving its size against the peer's byte budget.
// On failure it has cancelled the read side and returns the status and message to answer with
// (status 0 with a nil error never happens); release must be called once the payload is dropped.
type readFailure struct {
	status wire.RPCStatus // 0 when no answer should be sent (stream reset or connection gone)
	msg    string
}

func (e *Endpoint) readRequest(pc *peerConn, s interface {
	io.Reader
	CancelRead(quic.StreamErrorCode)
}) (method string, payload []byte, release func(), fail *readFailure) {
	reserved := 0
	body, err := readFrame(s, wire.RPCRequestBodyMax(e.cfg.maxMessage), func(n int) bool {
		if pc.bytes.Add(int64(n)) > int64(e.cfg.maxPeerBytes) {
			pc.bytes.Add(-int64(n))
			return false
		}
		reserved = n
		return true
	})
	release = func() { pc.bytes.Add(-int64(reserved)) }
	if err != nil {
		release()
		s.CancelRead(streamRefused)
		return "", nil, nil, readFail(err)
	}
	method, payload, err = wire.DecodeRPCRequestBody(body, e.cfg.maxMessage)
	if err != nil {
		release()
		return "", nil, nil, &readFailure{wire.StatusBadRequest, err.Error()}
	}
	return method, payload, release, nil
}

// readFail classifies a read error: a timed-out read gets an answer (the caller may still be
// listening); a reset stream or a closed connection gets none.
func readFail(err error) *readFailure {
	var tl *frameTooLarge
	switch {
	case errors.As(err, &tl):
		return &readFailure{wire.StatusBadRequest, tl.Error()}
	case errors.Is(err, errBudget):
		return &readFailure{wire.StatusOverloaded, "too many request bytes in flight"}
	case errors.Is(err, errTrailing):
		return &readFailure{wire.StatusBadRequest, "bytes after the request frame"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &readFailure{wire.StatusBadRequest, "incomplete request"}
	}
	if _, ok := errors.AsType[*quic.StreamError](err); ok {
		return &readFailure{}
	}
	if _, ok := errors.AsType[*quic.ApplicationError](err); ok {
		return &readFailure{}
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return &readFailure{wire.StatusTimeout, "request not received in time"}
	}
	return &readFailure{}
}

// serveStream answers one request stream.
func (e *Endpoint) serveStream(pc *peerConn, s *quic.Stream) {
	defer func() {
		pc.deferCredit(s, e.cfg.maxStreams)
		pc.active.Add(-1)
		e.wg.Done()
	}()
	// The handler slot is freed before the answer is written, so that a caller keeping at most
	// maxStreams calls in flight never sees CodeOverloaded; the stream itself stays bounded by
	// QUIC's MaxIncomingStreams until both sides end.
	slotHeld := true
	freeSlot := func() {
		if slotHeld {
			slotHeld = false
			<-pc.slots
		}
	}
	defer freeSlot()
	deadline := time.Now().Add(e.cfg.requestTimeout)
	_ = s.SetReadDeadline(deadline)
	method, payload, release, fail := e.readRequest(pc, s)
	if fail != nil {
		freeSlot()
		if fail.status == 0 {
			s.CancelWrite(streamCancelled)
			return
		}
		if kind, ok := statusRefusal(fail.status); ok {
			e.refused(pc.caller, kind, time.Now(), "", fail.msg)
		}
		e.writeResponse(pc, s, fail.status, []byte(wire.TruncateRPCError(fail.msg)), time.Now().Add(e.cfg.requestTimeout))
		return
	}
	defer release()
	e.hmu.RLock()
	h := e.handlers[method]
	e.hmu.RUnlock()
	if h == nil {
		freeSlot()
		e.refused(pc.caller, refusedBad, time.Now(), method, "unknown method")
		e.writeResponse(pc, s, wire.StatusUnknownMethod, []byte(method), deadline)
		return
	}
	hctx := &handlerCtx{parent: s.Context(), deadline: deadline}
	status, body := e.runHandler(hctx, h, &Request{Caller: pc.key, Remote: pc.remote, Method: method, Payload: payload})
	hctx.release()
	freeSlot()
	if kind, ok := statusRefusal(status); ok {
		e.refused(pc.caller, kind, time.Now(), method, string(body))
	}
	e.writeResponse(pc, s, status, body, time.Now().Add(e.cfg.requestTimeout))
}

// serveEvent handles one event stream.
func (e *Endpoint) serveEvent(pc *peerConn, s *quic.ReceiveStream) {
	defer func() {
		s.ReleaseStreamCredit()
		<-pc.slots
		pc.active.Add(-1)
		e.wg.Done()
	}()
	deadline := time.Now().Add(e.cfg.requestTimeout)
	_ = s.SetReadDeadline(deadline)
	method, payload, release, fail := e.readRequest(pc, s)
	if fail != nil {
		if kind, ok := statusRefusal(fail.status); ok {
			e.refused(pc.caller, kind, time.Now(), "", "event: "+fail.msg)
		}
		return
	}
	defer release()
	e.hmu.RLock()
	h := e.handlers[method]
	e.hmu.RUnlock()
	if h == nil {
		e.refused(pc.caller, refusedBad, time.Now(), method, "event for an unknown method")
		return
	}
	hctx := &handlerCtx{parent: pc.qc.Context(), deadline: deadline}
	status, body := e.runHandler(hctx, h, &Request{Caller: pc.key, Remote: pc.remote, Method: method, Payload: payload})
	hctx.release()
	if kind, ok := statusRefusal(status); ok {
		e.refused(pc.caller, kind, time.Now(), method, "event: "+string(body))
	} else if status != wire.StatusOK {
		e.cfg.logger.Debug("rpc event handler failed", "peer", pc.key.Short(), "method", method, "status", status, "msg", string(body))
	}
}

// runHandler calls h, turning its result (or panic) into a response status and body.
func (e *Endpoint) runHandler(ctx context.Context, h Handler, req *Request) (status wire.RPCStatus, body []byte) {
	defer func() {
		if r := recover(); r != nil {
			e.cfg.logger.Error("rpc handler panicked", "method", req.Method, "peer", req.Caller.Short(), "panic", fmt.Sprint(r))
			status, body = wire.StatusInternal, []byte("internal error")
		}
	}()
	resp, err := h(ctx, req)
	if err == nil {
		if len(resp) > e.cfg.maxMessage {
			e.cfg.logger.Error("rpc response too large", "method", req.Method, "size", len(resp), "max", e.cfg.maxMessage)
			return wire.StatusInternal, []byte("response too large")
		}
		return wire.StatusOK, resp
	}
	if re, ok := errors.AsType[*Error](err); ok && re.Code >= CodeUnknownMethod && re.Code <= CodeInternal {
		return wire.RPCStatus(re.Code), []byte(wire.TruncateRPCError(re.Message))
	}
	if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		if s, ok := ctx.Deadline(); ok && time.Now().After(s) {
			return wire.StatusTimeout, []byte("handler deadline passed")
		}
		return wire.StatusClosed, []byte("call cancelled")
	}
	e.cfg.logger.Debug("rpc handler failed", "method", req.Method, "peer", req.Caller.Short(), "err", err)
	return wire.StatusInternal, []byte("internal error")
}
