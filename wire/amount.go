package wire

import (
	"errors"
	"strconv"
)

// MaxAmountTextLen is the longest amount text ParseAmount looks at, in bytes. Longer input is
// rejected before any other check. The longest valid amount, "999999999.999999" or
// "1000000000", is far shorter.
const MaxAmountTextLen = 32

// AmountDecimals is the number of decimal places an amount may carry.
const AmountDecimals = 6

// ErrBadAmount is wrapped by every error that reports a malformed or out-of-range amount.
var ErrBadAmount = errors.New("wire: bad amount")

// AmountError reports amount text, or an amount value, that is not acceptable.
type AmountError struct {
	Input  string // the rejected text (or the rejected value, printed), cut to MaxAmountTextLen bytes
	Reason string // why it was rejected, for example "more than 6 decimals"
}

// Error returns a message naming the input and the reason.
func (e *AmountError) Error() string {
	return "wire: bad amount " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Unwrap returns ErrBadAmount, so errors.Is(err, ErrBadAmount) holds.
func (e *AmountError) Unwrap() error { return ErrBadAmount }

func amountErr(input, reason string) *AmountError {
	if len(input) > MaxAmountTextLen {
		input = input[:MaxAmountTextLen] + "..."
	}
	return &AmountError{Input: input, Reason: reason}
}

// ParseAmount parses a USDt amount written in plain decimal, exactly (no floating point).
//
// The accepted form is one or more ASCII digits with no leading zero (a single "0" is allowed
// before a decimal point), optionally followed by a point and one to AmountDecimals digits:
// "80", "75.5", "75.50", "0.000001". Trailing zeros after the point are accepted and do not change
// the value. Everything else is rejected with an *AmountError wrapping ErrBadAmount: empty text,
// any sign ("-1", "+1"), spaces, a point without digits on both sides ("1.", ".5"), more than
// AmountDecimals decimals, exponents ("1e3"), "NaN" and "Inf", hexadecimal, digit separators
// ("1_000", "1,000"), non-ASCII digits, zero, values above MaxAmount, and text longer than
// MaxAmountTextLen bytes (checked first).
func ParseAmount(s string) (Amount, error) {
	if len(s) > MaxAmountTextLen {
		return 0, amountErr(s, "longer than "+strconv.Itoa(MaxAmountTextLen)+" bytes")
	}
	if s == "" {
		return 0, amountErr(s, "empty")
	}
	intPart, fracPart, hasPoint := s, "", false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !hasPoint:
			intPart, fracPart, hasPoint = s[:i], s[i+1:], true
		case c == '.':
			return 0, amountErr(s, "more than one decimal point")
		case c == '-':
			return 0, amountErr(s, "negative amounts are not allowed")
		case c == '+':
			return 0, amountErr(s, "a sign is not allowed")
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return 0, amountErr(s, "spaces are not allowed")
		case c == 'e' || c == 'E':
			if i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
				return 0, amountErr(s, "exponents are not allowed")
			}
			return 0, amountErr(s, "not a decimal number")
		case c == '_' || c == ',':
			return 0, amountErr(s, "digit separators are not allowed")
		default:
			return 0, amountErr(s, "not a decimal number")
		}
	}
	if intPart == "" {
		return 0, amountErr(s, "a digit must come before the decimal point")
	}
	if hasPoint && fracPart == "" {
		return 0, amountErr(s, "a digit must follow the decimal point")
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, amountErr(s, "leading zeros are not allowed")
	}
	if len(fracPart) > AmountDecimals {
		return 0, amountErr(s, "more than "+strconv.Itoa(AmountDecimals)+" decimals")
	}
	// MaxAmount has 10 integer digits; anything longer is out of range without overflow risk.
	const maxIntDigits = 10
	if len(intPart) > maxIntDigits {
		return 0, amountErr(s, "above the maximum of "+MaxAmount.String()+" USDt")
	}
	var v uint64
	for i := 0; i < len(intPart); i++ {
		v = v*10 + uint64(intPart[i]-'0')
	}
	v *= MicroPerUSDt
	scale := uint64(MicroPerUSDt)
	for i := 0; i < len(fracPart); i++ {
		scale /= 10
		v += uint64(fracPart[i]-'0') * scale
	}
	a := Amount(v)
	if a == 0 {
		return 0, amountErr(s, "zero is not a valid amount")
	}
	if a > MaxAmount {
		return 0, amountErr(s, "above the maximum of "+MaxAmount.String()+" USDt")
	}
	return a, nil
}

// String returns a in its minimal exact decimal form, in USDt: 75_500_000 is "75.5", 80_000_000
// is "80", 1 is "0.000001". It prints any value, valid or not; ParseAmount(a.String()) returns a
// for every valid a.
func (a Amount) String() string {
	var buf [24]byte
	b := strconv.AppendUint(buf[:0], uint64(a)/MicroPerUSDt, 10)
	frac := uint64(a) % MicroPerUSDt
	if frac == 0 {
		return string(b)
	}
	b = append(b, '.')
	var digits [AmountDecimals]byte
	for i := AmountDecimals - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := AmountDecimals
	for digits[n-1] == '0' {
		n--
	}
	return string(append(b, digits[:n]...))
}

// Valid reports whether a is an acceptable amount: nonzero and at most MaxAmount. It returns an
// *AmountError wrapping ErrBadAmount when it is not.
func (a Amount) Valid() error {
	switch {
	case a == 0:
		return amountErr(a.String(), "zero is not a valid amount")
	case a > MaxAmount:
		return amountErr(a.String(), "above the maximum of "+MaxAmount.String()+" USDt")
	}
	return nil
}
