package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAmountAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		str  string // canonical String() form
	}{
		{"75.5", 75_500_000, "75.5"},
		{"80", 80_000_000, "80"},
		{"0.000001", 1, "0.000001"},
		{"0.1", 100_000, "0.1"},
		{"75.50", 75_500_000, "75.5"},
		{"75.500000", 75_500_000, "75.5"},
		{"1.000000", 1_000_000, "1"},
		{"123456.789012", 123_456_789_012, "123456.789012"},
		{"999999999.999999", MaxAmount - 1, "999999999.999999"},
		{"1000000000", MaxAmount, "1000000000"},
		{"1000000000.000000", MaxAmount, "1000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAmount(tt.in)
			if err != nil {
				t.Fatalf("ParseAmount(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseAmount(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Fatalf("String() = %q, want %q", s, tt.str)
			}
			if err := got.Valid(); err != nil {
				t.Fatalf("Valid(): %v", err)
			}
		})
	}
}

func TestParseAmountRejects(t *testing.T) {
	tests := []struct {
		in     string
		reason string // substring of the error's reason
	}{
		{"", "empty"},
		{"0", "zero"},
		{"0.0", "zero"},
		{"0.000000", "zero"},
		{"-1", "negative"},
		{"-0", "negative"},
		{"+1", "sign"},
		{" 1", "spaces"},
		{"1 ", "spaces"},
		{"1\n", "spaces"},
		{"\t1", "spaces"},
		{"1.0000001", "more than 6 decimals"},
		{"0.0000001", "more than 6 decimals"},
		{"1e3", "exponents"},
		{"1E3", "exponents"},
		{"1.5e2", "exponents"},
		{"e3", "not a decimal number"},
		{"NaN", "not a decimal number"},
		{"nan", "not a decimal number"},
		{"Inf", "not a decimal number"},
		{"+Inf", "sign"},
		{"-Inf", "negative"},
		{"Infinity", "not a decimal number"},
		{"0x10", "not a decimal number"},
		{"0X1A", "not a decimal number"},
		{"1_000", "separators"},
		{"1,000", "separators"},
		{"1,5", "separators"},
		{"ten", "not a decimal number"},
		{"12abc", "not a decimal number"},
		{"1.", "must follow"},
		{".5", "must come before"},
		{".", "must come before"},
		{"1..5", "more than one decimal point"},
		{"1.2.3", "more than one decimal point"},
		{"01", "leading zeros"},
		{"00.5", "leading zeros"},
		{"1000000000.000001", "maximum"},
		{"1000000001", "maximum"},
		{"9999999999", "maximum"},
		{"99999999999", "maximum"},
		{"18446744073709.551615", "maximum"},
		{"٣", "not a decimal number"}, // Arabic-Indic digit three
		{"１", "not a decimal number"}, // fullwidth digit one
		{strings.Repeat("1", MaxAmountTextLen+1), "longer than"},
		{strings.Repeat("9", 10_000), "longer than"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := ParseAmount(tt.in)
			if err == nil {
				t.Fatalf("ParseAmount(%q) = %d, want error", tt.in, got)
			}
			if !errors.Is(err, ErrBadAmount) {
				t.Fatalf("error %v does not wrap ErrBadAmount", err)
			}
			var ae *AmountError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *AmountError", err)
			}
			if !strings.Contains(ae.Reason, tt.reason) {
				t.Fatalf("reason %q does not mention %q", ae.Reason, tt.reason)
			}
			if len(ae.Input) > MaxAmountTextLen+3 {
				t.Fatalf("error input not cut: %d bytes", len(ae.Input))
			}
		})
	}
}

func TestAmountString(t *testing.T) {
	tests := []struct {
		a    Amount
		want string
	}{
		{0, "0"},
		{1, "0.000001"},
		{10, "0.00001"},
		{100_000, "0.1"},
		{1_000_000, "1"},
		{1_000_001, "1.000001"},
		{75_500_000, "75.5"},
		{80_000_000, "80"},
		{MaxAmount, "1000000000"},
		{Amount(^uint64(0)), "18446744073709.551615"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Amount(%d).String() = %q, want %q", uint64(tt.a), got, tt.want)
		}
	}
}

func TestAmountValid(t *testing.T) {
	for _, a := range []Amount{1, MaxAmount, 75_500_000} {
		if err := a.Valid(); err != nil {
			t.Errorf("Amount(%d).Valid() = %v", uint64(a), err)
		}
	}
	for _, a := range []Amount{0, MaxAmount + 1, Amount(^uint64(0))} {
		err := a.Valid()
		if !errors.Is(err, ErrBadAmount) {
			t.Errorf("Amount(%d).Valid() = %v, want ErrBadAmount", uint64(a), err)
		}
	}
}

// FuzzParseAmount checks that ParseAmount never panics, that every accepted amount is valid, and
// that printing and parsing again gives the same amount and the same text.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"75.5", "80", "0.000001", "1000000000", "1000000000.000001", "1e3",
		"NaN", "-1", "+1", ".5", "1.", "01", "1_000", " 1", "0", "999999999.999999", "75.50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			if !errors.Is(err, ErrBadAmount) {
				t.Fatalf("error %v does not wrap ErrBadAmount", err)
			}
			return
		}
		if err := a.Valid(); err != nil {
			t.Fatalf("ParseAmount(%q) = %d, not valid: %v", s, uint64(a), err)
		}
		text := a.String()
		b, err := ParseAmount(text)
		if err != nil || b != a {
			t.Fatalf("ParseAmount(String(%d) = %q) = %d, %v", uint64(a), text, uint64(b), err)
		}
		if b.String() != text {
			t.Fatalf("String not stable: %q then %q", text, b.String())
		}
		// The canonical text differs from the input only by trailing zeros after the point.
		if s != text && !strings.HasPrefix(s, strings.TrimSuffix(text, ".0")) {
			t.Fatalf("input %q printed as %q", s, text)
		}
	})
}
