package rpc

import (
	"errors"
	"fmt"

	"github.com/auction-tui/auction-tui/wire"
)

// Code classifies an RPC failure. The codes travel on the wire as wire.RPCStatus values.
type Code uint8

// The failure codes. Each has a sentinel (ErrUnknownMethod and so on) for errors.Is.
const (
	CodeUnknownMethod = Code(wire.StatusUnknownMethod) // the peer has no handler for the method
	CodeBadRequest    = Code(wire.StatusBadRequest)    // the request was malformed or too large
	CodeRejected      = Code(wire.StatusRejected)      // the handler rejected the request (see Reject)
	CodeOverloaded    = Code(wire.StatusOverloaded)    // too many calls in flight to that peer
	CodeTimeout       = Code(wire.StatusTimeout)       // a deadline passed before the answer came
	CodeClosed        = Code(wire.StatusClosed)        // the endpoint, connection or stream closed
	CodeInternal      = Code(wire.StatusInternal)      // the handler failed
)

var codeNames = [...]string{
	CodeUnknownMethod: "unknown method",
	CodeBadRequest:    "bad request",
	CodeRejected:      "rejected",
	CodeOverloaded:    "overloaded",
	CodeTimeout:       "timeout",
	CodeClosed:        "closed",
	CodeInternal:      "internal error",
}

// String returns the code's name, for example "rejected".
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("code %d", uint8(c))
}

// Error is a structured RPC failure, either reported by the remote peer or produced locally (a
// deadline, a closed connection, a request too large to send). Compare with the sentinels:
// errors.Is(err, rpc.ErrRejected). A Timeout made locally also matches context.DeadlineExceeded.
type Error struct {
	Code    Code   // what kind of failure
	Message string // the peer's reason (for CodeRejected) or a description; may be empty
	Remote  bool   // true when the peer sent this error, false when it was produced locally
	err     error  // the local cause, if any, for Unwrap
}

// Sentinels for errors.Is. They match any *Error with the same Code.
var (
	ErrUnknownMethod = &Error{Code: CodeUnknownMethod}
	ErrBadRequest    = &Error{Code: CodeBadRequest}
	ErrRejected      = &Error{Code: CodeRejected}
	ErrOverloaded    = &Error{Code: CodeOverloaded}
	ErrTimeout       = &Error{Code: CodeTimeout}
	ErrClosed        = &Error{Code: CodeClosed}
	ErrInternal      = &Error{Code: CodeInternal}
)

func (e *Error) Error() string {
	if e.Message == "" {
		return "rpc: " + e.Code.String()
	}
	return "rpc: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is an *Error with the same Code and either no Message (a sentinel)
// or the same Message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Unwrap returns the local cause, for example context.DeadlineExceeded or a QUIC error.
func (e *Error) Unwrap() error { return e.err }

// Reject returns the error a Handler returns to reject a request: the caller receives an *Error
// with CodeRejected and reason as its Message (truncated to wire.MaxRPCErrorLen bytes).
func Reject(reason string) error {
	return &Error{Code: CodeRejected, Message: wire.TruncateRPCError(reason)}
}

// Overloaded returns the error a Handler returns to shed load: the caller receives an *Error with
// CodeOverloaded and reason as its Message, and may retry later.
func Overloaded(reason string) error {
	return &Error{Code: CodeOverloaded, Message: wire.TruncateRPCError(reason)}
}

// KeyMismatchError reports a dial that reached a peer presenting another key than the one pinned.
type KeyMismatchError struct {
	Want wire.PeerKey // the key the dialer expected
	Got  wire.PeerKey // the key the remote certificate carries
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("rpc: peer key mismatch: want %s, got %s", e.Want.Short(), e.Got.Short())
}

// ProtocolError reports a peer that broke the RPC protocol, for example with a malformed or
// oversized response frame.
type ProtocolError struct {
	Peer   wire.PeerKey // the offending peer
	Reason string       // what was wrong
	Err    error        // the decoding error, if any
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("rpc: protocol error from %s: %s", e.Peer.Short(), e.Reason)
}

// Unwrap returns the decoding error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Sentinel errors for expected local conditions.
var (
	// ErrNoAddress reports a peer with no known address and no resolver answer.
	ErrNoAddress = errors.New("rpc: no known address for peer")
	// ErrRestarted is the reason of the disconnect event when a peer connects from a new run of
	// its endpoint (a new certificate) while a connection to its previous run is still open: the
	// old connection is closed and the new one replaces it (a connect event follows).
	ErrRestarted = errors.New("rpc: peer restarted")
	// ErrSelf reports a call or dial to the endpoint's own key.
	ErrSelf = errors.New("rpc: peer is this endpoint")
	// ErrNotNonQUIC reports a datagram given to WriteTo whose first byte would make the remote
	// QUIC stack take it for a QUIC packet (its two top bits must be zero).
	ErrNotNonQUIC = errors.New("rpc: datagram's first byte must be below 0x40")
)

func closedErr(msg string, cause error) *Error {
	return &Error{Code: CodeClosed, Message: msg, err: cause}
}
