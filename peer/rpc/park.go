package rpc

import (
	"slices"
	"time"
)

// Credit parking: back-pressure on a caller over its rate limit.
//
// A refusal costs the refusing side little, but a flooding caller whose calls are refused at
// once simply calls again, so a fast refusal turns into a busy loop on both sides (tens of
// thousands of refusals per second on loopback). Instead, the QUIC stream credit of a stream
// refused by the rate limit is parked: the stream itself is answered CodeOverloaded and finished
// at once (its read side cancelled, its answer written and its send side closed), but quic-go is
// not allowed to let the caller open a stream in its place (Config.RequireStreamCreditRelease).
// Once a connection's whole stream credit is parked, the caller's next OpenStreamSync blocks, so
// a flooder waits instead of spinning. The parked credits are given back as the caller's token
// bucket refills, so a flooder ends up opening about twice its rate of streams (one admitted call
// per token, and at most as many refused ones) and an honest caller that briefly exceeds its
// burst is slowed down, not failed repeatedly.
//
// Everything parked on a connection is released when the connection or the endpoint closes, and
// the one goroutine that releases them (per connection, only while credits are parked) is owned
// by the endpoint's wait group.

// Bounds of credit parking.
const (
	// creditReleaseInterval is the least time between two releases of parked credits on one
	// connection: each release gives back as many credits as the caller's bucket has whole tokens,
	// so at DefaultCallerRate a release every 10 ms returns about 50 credits. A shorter interval
	// costs timer wake-ups; a longer one makes the flooder's stream openings burstier.
	creditReleaseInterval = 10 * time.Millisecond
)

// creditHolder is a peer-opened stream whose QUIC stream credit this endpoint has not released:
// *quic.Stream and *quic.ReceiveStream.
type creditHolder interface{ ReleaseStreamCredit() }

// maxParked is the most credits parked on one connection: the connection's whole stream credit,
// bidirectional and unidirectional. QUIC itself bounds the parked streams to that (a stream the
// caller could not open cannot be refused); the explicit bound only keeps a broken assumption from
// growing a slice without end.
func (e *Endpoint) maxParked() int {
	return int(e.qconf.MaxIncomingStreams + e.qconf.MaxIncomingUniStreams)
}

// parkCredit holds back the stream credit of s, a stream of pc refused by the caller's rate
// limit, and makes sure pc's releaser runs. Beyond maxParked credits, s's is released at once.
func (e *Endpoint) parkCredit(pc *peerConn, s creditHolder) {
	pc.parkMu.Lock()
	if len(pc.parked) >= e.maxParked() {
		pc.parkMu.Unlock()
		s.ReleaseStreamCredit()
		return
	}
	pc.parked = append(pc.parked, s)
	start := !pc.releasing
	if start {
		pc.releasing = true
		e.wg.Add(1) // the caller (serveBidi or serveUni) holds a count: Close has not returned
	}
	pc.parkMu.Unlock()
	if start {
		go e.releaseParked(pc)
	}
}

// parkedCredits returns the number of credits parked on pc.
func (pc *peerConn) parkedCredits() int {
	pc.parkMu.Lock()
	defer pc.parkMu.Unlock()
	return len(pc.parked)
}

// releaseParked gives pc's parked credits back, oldest first, as the caller's bucket refills:
// every creditReleaseInterval (or when the bucket next holds a whole token, if later) as many as
// the bucket holds whole tokens. The tokens are not taken: the streams the caller opens with the
// credits take them when they are admitted. It returns once nothing is parked, releasing
// everything when the connection or the endpoint closes.
func (e *Endpoint) releaseParked(pc *peerConn) {
	defer e.wg.Done()
	timer := time.NewTimer(creditReleaseInterval)
	defer timer.Stop()
	for {
		select {
		case <-pc.qc.Context().Done():
			pc.releaseAllParked()
			return
		case <-e.ctx.Done():
			pc.releaseAllParked()
			return
		case <-timer.C:
		}
		now := time.Now()
		tokens := e.callerTokens(pc.caller, now)
		pc.parkMu.Lock()
		n := min(int(tokens), len(pc.parked))
		out := slices.Clone(pc.parked[:n])
		pc.parked = slices.Delete(pc.parked, 0, n)
		if len(pc.parked) == 0 {
			pc.parked = nil
			pc.releasing = false
		}
		done := !pc.releasing
		pc.parkMu.Unlock()
		for _, s := range out {
			s.ReleaseStreamCredit()
		}
		if done {
			return
		}
		wait := creditReleaseInterval
		if tokens < 1 && e.cfg.callerRate > 0 {
			wait = max(wait, time.Duration((1-tokens)/e.cfg.callerRate*float64(time.Second)))
		}
		timer.Reset(wait)
	}
}

// releaseAllParked releases every credit parked on pc and marks its releaser stopped.
func (pc *peerConn) releaseAllParked() {
	pc.parkMu.Lock()
	out := pc.parked
	pc.parked = nil
	pc.releasing = false
	pc.parkMu.Unlock()
	for _, s := range out {
		s.ReleaseStreamCredit()
	}
}

// callerTokens returns the whole and fractional tokens in c's bucket at now, without taking one.
func (e *Endpoint) callerTokens(c *caller, now time.Time) float64 {
	if e.cfg.callerRate <= 0 {
		return float64(e.maxParked()) // no limit: nothing should be parked; release all
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bucket.peek(now, e.cfg.callerRate, e.cfg.callerBurst)
}
