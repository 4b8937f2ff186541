package peer

import (
	"testing"
	"time"
)

// TestNetDeadlines: exchange and fetch deadlines follow the anti-entropy period within their
// bounds, so a request stuck behind QUIC's backed-off probe timeout after a partition is given up
// within a few periods.
func TestNetDeadlines(t *testing.T) {
	for _, tc := range []struct {
		ae              time.Duration
		exchange, fetch time.Duration
	}{
		{50 * time.Millisecond, minNetTimeout, minNetTimeout},
		{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond},
		{DefaultAntiEntropy, 4 * time.Second, fetchTimeout},
		{time.Minute, exchangeTimeout, fetchTimeout},
	} {
		n := &Node{cfg: config{antiEntropy: tc.ae}}
		if got := n.exchangeDeadline(); got != tc.exchange {
			t.Errorf("anti-entropy %v: exchange deadline %v, want %v", tc.ae, got, tc.exchange)
		}
		if got := n.fetchDeadline(); got != tc.fetch {
			t.Errorf("anti-entropy %v: fetch deadline %v, want %v", tc.ae, got, tc.fetch)
		}
	}
}
