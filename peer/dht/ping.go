package dht

import (
	"context"
	"net/netip"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Ping sends one ping to addr and waits for a valid signed answer from whoever serves that
// address, for at most timeout (0 picks the node's request timeout: srtt + 4*rttvar of all its
// measured round trips, within [MinRequestTimeout, MaxRequestTimeout]) and until ctx ends. It
// returns the round trip, ErrNoAnswer when no answer came in time, or ctx's error.
//
// Ping is a reachability probe: the answer is not required to come from any particular key, and
// an unanswered ping counts against no node of the routing table (a node that answers is learnt as
// from any reply). The engine probes the address of a dial that is slow to answer with it (see
// rpc.WithProbe).
func (n *Node) Ping(ctx context.Context, addr netip.AddrPort, timeout time.Duration) (time.Duration, error) {
	if timeout <= 0 {
		timeout = n.timeoutFor(false, ID{})
	}
	start := time.Now()
	rep, err := n.roundTrip(ctx, &request{req: wire.DHTRequest{Kind: wire.DHTPing}, to: addr, timeout: timeout})
	if err != nil {
		return 0, err
	}
	if rep == nil {
		return 0, ErrNoAnswer
	}
	return time.Since(start), nil
}
