package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// This file holds the frames of the RPC protocol (package peer/rpc). Every call uses one QUIC
// stream: the caller writes exactly one request frame and closes its side; the responder writes
// exactly one response frame and closes its side. A fire-and-forget event is one request frame on
// a unidirectional stream. A frame is a 4-byte big-endian body length followed by the body:
//
//	request body:  method length (u8, 1..MaxRPCMethodLen) || method || payload
//	response body: status (u8) || payload (StatusOK) or error message (any other status)
//
// The payload takes the rest of the body, so a frame has exactly one encoding. A reader checks the
// length prefix against its maximum (RPCRequestBodyMax / RPCResponseBodyMax) before allocating.

// Limits of the RPC frames.
const (
	// RPCLenSize is the size of a frame's length prefix, in bytes.
	RPCLenSize = 4
	// MaxRPCMethodLen is the longest method name, in bytes.
	MaxRPCMethodLen = 64
	// MaxRPCErrorLen is the longest error message a response may carry, in bytes of UTF-8.
	MaxRPCErrorLen = 1024
	// MaxRPCPayload is the hard ceiling on a request or response payload, in bytes (16 MiB). An
	// endpoint picks its own, usually smaller, limit below it.
	MaxRPCPayload = 16 << 20
	// DefaultRPCPayload is the default payload limit of an endpoint, in bytes (1 MiB).
	DefaultRPCPayload = 1 << 20
)

// RPCStatus is the status byte of a response frame.
type RPCStatus uint8

// The response statuses of protocol version 1. Any other value is rejected by the decoder.
const (
	StatusOK            RPCStatus = 0 // the payload is the handler's answer
	StatusUnknownMethod RPCStatus = 1 // no handler for the method
	StatusBadRequest    RPCStatus = 2 // the request frame was malformed or too large
	StatusRejected      RPCStatus = 3 // the handler rejected the request; the message is its reason
	StatusOverloaded    RPCStatus = 4 // too many calls in flight from this caller
	StatusTimeout       RPCStatus = 5 // the handler did not answer within the responder's deadline
	StatusClosed        RPCStatus = 6 // the responder is shutting down
	StatusInternal      RPCStatus = 7 // the handler failed
	maxStatus                     = StatusInternal
)

// RPCRequestBodyMax returns the largest request body allowed for payloads of at most maxPayload
// bytes.
func RPCRequestBodyMax(maxPayload int) int { return 1 + MaxRPCMethodLen + maxPayload }

// RPCResponseBodyMax returns the largest response body allowed for payloads of at most maxPayload
// bytes (an error message of MaxRPCErrorLen always fits).
func RPCResponseBodyMax(maxPayload int) int { return 1 + max(maxPayload, MaxRPCErrorLen) }

// ValidRPCMethod reports whether m is a valid method name: 1 to MaxRPCMethodLen bytes, each an
// ASCII letter, digit, or one of "._-/:".
func ValidRPCMethod(m string) bool {
	return len(m) > 0 && len(m) <= MaxRPCMethodLen && validMethodBytes(m)
}

// RPCRequestFrameSize returns the encoded size of a request frame, length prefix included.
func RPCRequestFrameSize(method string, payload []byte) int {
	return RPCLenSize + 1 + len(method) + len(payload)
}

// AppendRPCRequest appends the request frame {method, payload}, length prefix included, to b. It
// fails when the method is invalid (see ValidRPCMethod) or the payload exceeds MaxRPCPayload.
func AppendRPCRequest(b []byte, method string, payload []byte) ([]byte, error) {
	if !ValidRPCMethod(method) {
		return b, &DecodeError{Type: "rpc request", Reason: fmt.Sprintf("invalid method name %q", method)}
	}
	if len(payload) > MaxRPCPayload {
		return b, &DecodeError{Type: "rpc request", Reason: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), MaxRPCPayload)}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(method)+len(payload)))
	b = append(b, byte(len(method)))
	b = append(b, method...)
	return append(b, payload...), nil
}

// RPCResponseFrameSize returns the encoded size of a response frame, length prefix included.
func RPCResponseFrameSize(body []byte) int { return RPCLenSize + 1 + len(body) }

// AppendRPCResponse appends a response frame, length prefix included, to b. For StatusOK, body is
// the payload (at most MaxRPCPayload bytes); for any other status it is the error message, which
// must be valid UTF-8 of at most MaxRPCErrorLen bytes (use TruncateRPCError).
func AppendRPCResponse(b []byte, status RPCStatus, body []byte) ([]byte, error) {
	if status > maxStatus {
		return b, &DecodeError{Type: "rpc response", Reason: fmt.Sprintf("unknown status %d", status)}
	}
	if err := checkResponseBody(status, body, MaxRPCPayload); err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(body)))
	b = append(b, byte(status))
	return append(b, body...), nil
}

// TruncateRPCError shortens msg to at most MaxRPCErrorLen bytes of valid UTF-8, replacing invalid
// bytes, so that it can be sent as a response's error message.
func TruncateRPCError(msg string) string {
	if !utf8.ValidString(msg) {
		msg = string([]rune(msg)) // replaces invalid bytes with U+FFFD
	}
	if len(msg) <= MaxRPCErrorLen {
		return msg
	}
	n := MaxRPCErrorLen
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}

// ParseRPCLen decodes a frame's 4-byte length prefix and checks it against maxBody before the
// reader allocates anything. A body is never empty (it holds at least the method length or status).
func ParseRPCLen(prefix []byte, maxBody int) (int, error) {
	if len(prefix) != RPCLenSize {
		return 0, &DecodeError{Type: "rpc frame", Reason: fmt.Sprintf("length prefix of %d bytes, want %d", len(prefix), RPCLenSize)}
	}
	n := binary.BigEndian.Uint32(prefix)
	if n == 0 {
		return 0, &DecodeError{Type: "rpc frame", Reason: "empty body"}
	}
	if uint64(n) > uint64(maxBody) {
		return 0, &FrameTooLargeError{Size: uint64(n), Max: maxBody}
	}
	return int(n), nil
}

// FrameTooLargeError reports a length prefix above the reader's maximum.
type FrameTooLargeError struct {
	Size uint64 // the declared body size, in bytes
	Max  int    // the reader's maximum, in bytes
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("wire: rpc frame body of %d bytes exceeds the limit of %d", e.Size, e.Max)
}

// DecodeRPCRequestBody decodes a request body (the bytes after the length prefix) whose payload
// may be at most maxPayload bytes. The returned method is a copy; the payload aliases body.
func DecodeRPCRequestBody(body []byte, maxPayload int) (method string, payload []byte, err error) {
	if len(body) < 1 {
		return "", nil, &DecodeError{Type: "rpc request", Reason: "empty body"}
	}
	ml := int(body[0])
	if ml == 0 || ml > MaxRPCMethodLen {
		return "", nil, &DecodeError{Type: "rpc request", Reason: fmt.Sprintf("method length %d not in 1..%d", ml, MaxRPCMethodLen)}
	}
	if len(body) < 1+ml {
		return "", nil, &DecodeError{Type: "rpc request", Reason: "truncated method"}
	}
	m := body[1 : 1+ml]
	if !validMethodBytes(m) {
		return "", nil, &DecodeError{Type: "rpc request", Reason: "invalid method name"}
	}
	payload = body[1+ml:]
	if len(payload) > maxPayload {
		return "", nil, &DecodeError{Type: "rpc request", Reason: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), maxPayload)}
	}
	return string(m), payload, nil
}

func validMethodBytes[T string | []byte](m T) bool {
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '/', c == ':':
		default:
			return false
		}
	}
	return true
}

// DecodeRPCResponseBody decodes a response body (the bytes after the length prefix) whose payload
// may be at most maxPayload bytes. The returned body aliases b: it is the payload for StatusOK and
// the UTF-8 error message otherwise.
func DecodeRPCResponseBody(b []byte, maxPayload int) (RPCStatus, []byte, error) {
	if len(b) < 1 {
		return 0, nil, &DecodeError{Type: "rpc response", Reason: "empty body"}
	}
	st := RPCStatus(b[0])
	if st > maxStatus {
		return 0, nil, &DecodeError{Type: "rpc response", Reason: fmt.Sprintf("unknown status %d", st)}
	}
	if err := checkResponseBody(st, b[1:], maxPayload); err != nil {
		return 0, nil, err
	}
	return st, b[1:], nil
}

func checkResponseBody(st RPCStatus, body []byte, maxPayload int) error {
	if st == StatusOK {
		if len(body) > maxPayload {
			return &DecodeError{Type: "rpc response", Reason: fmt.Sprintf("payload of %d bytes exceeds %d", len(body), maxPayload)}
		}
		return nil
	}
	if len(body) > MaxRPCErrorLen {
		return &DecodeError{Type: "rpc response", Reason: fmt.Sprintf("error message of %d bytes exceeds %d", len(body), MaxRPCErrorLen)}
	}
	if !utf8.Valid(body) {
		return &DecodeError{Type: "rpc response", Reason: "error message is not valid UTF-8"}
	}
	return nil
}

// UnmarshalRPCRequestFrame decodes one whole request frame, length prefix included, and rejects
// trailing bytes. The payload aliases frame.
func UnmarshalRPCRequestFrame(frame []byte, maxPayload int) (method string, payload []byte, err error) {
	body, err := splitFrame(frame, RPCRequestBodyMax(maxPayload))
	if err != nil {
		return "", nil, err
	}
	return DecodeRPCRequestBody(body, maxPayload)
}

// UnmarshalRPCResponseFrame decodes one whole response frame, length prefix included, and rejects
// trailing bytes. The body aliases frame.
func UnmarshalRPCResponseFrame(frame []byte, maxPayload int) (RPCStatus, []byte, error) {
	body, err := splitFrame(frame, RPCResponseBodyMax(maxPayload))
	if err != nil {
		return 0, nil, err
	}
	return DecodeRPCResponseBody(body, maxPayload)
}

func splitFrame(frame []byte, maxBody int) ([]byte, error) {
	if len(frame) < RPCLenSize {
		return nil, &DecodeError{Type: "rpc frame", Reason: "truncated length prefix"}
	}
	n, err := ParseRPCLen(frame[:RPCLenSize], maxBody)
	if err != nil {
		return nil, err
	}
	if len(frame)-RPCLenSize != n {
		return nil, &DecodeError{Type: "rpc frame", Reason: fmt.Sprintf("body of %d bytes, prefix says %d", len(frame)-RPCLenSize, n)}
	}
	return frame[RPCLenSize:], nil
}
