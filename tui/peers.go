package tui

import (
	"cmp"
	"slices"
	"strings"

	"github.com/auction-tui/auction-tui/peer"
)

// peersPane lists the market peers: connected first, then by name and key.
type peersPane struct {
	list   []peer.PeerInfo
	cursor int
	offset int
}

// set replaces the list with a snapshot.
func (p *peersPane) set(list []peer.PeerInfo) {
	p.list = slices.Clone(list)
	p.sort()
}

// upsert stores one peer's new state.
func (p *peersPane) upsert(info peer.PeerInfo) {
	for i := range p.list {
		if p.list[i].Key == info.Key {
			if info.Name == "" {
				info.Name = p.list[i].Name
			}
			p.list[i] = info
			p.sort()
			return
		}
	}
	p.list = append(p.list, info)
	p.sort()
}

func (p *peersPane) sort() {
	slices.SortFunc(p.list, func(x, y peer.PeerInfo) int {
		if x.Connected != y.Connected {
			if x.Connected {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return slices.Compare(x.Key[:], y.Key[:])
	})
	p.cursor = max(0, min(p.cursor, len(p.list)-1))
}

// counts returns the peers known and connected.
func (p *peersPane) counts() (known, connected int) {
	for i := range p.list {
		if p.list[i].Connected {
			connected++
		}
	}
	return len(p.list), connected
}

func (p *peersPane) move(delta, visible int) {
	p.cursor = max(0, min(p.cursor+delta, len(p.list)-1))
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if visible > 0 && p.cursor >= p.offset+visible {
		p.offset = p.cursor - visible + 1
	}
}

// view draws the pane: a title and one line per peer, height lines of width cells. The
// selection marker shows only while the pane has focus.
func (p *peersPane) view(b *strings.Builder, m *Model, width, height int, focused bool) {
	st := m.st
	known, connected := p.counts()
	writeTitle(b, st, "Peers "+itoa(connected)+"/"+itoa(known), width, focused)
	visible := height - 1
	if visible <= 0 {
		return
	}
	wide := width >= 44
	nameW := width - 2 - 1 - shortKeyLen - 1 - 5 - 1 - 6
	if wide {
		nameW -= 9
	}
	if len(p.list) == 0 {
		writeLine(b, st.Muted.Render(fit("  no peers yet", width)))
		for i := 1; i < visible; i++ {
			writeLine(b, fit("", width))
		}
		return
	}
	off := max(0, min(p.offset, len(p.list)-visible))
	for i := 0; i < visible; i++ {
		r := off + i
		if r >= len(p.list) {
			writeLine(b, fit("", width))
			continue
		}
		info := &p.list[r]
		state, style := "down", st.PeerDown
		if info.Connected {
			state, style = "up", st.PeerUp
		}
		if info.Equivocated {
			state, style = "BAD", st.PeerBad
		}
		marker := "  "
		if focused && r == p.cursor {
			marker, style = "> ", st.RowSelected
		}
		name := "?"
		if info.Name != "" {
			name = clean(info.Name)
		}
		line := marker + fit(name, nameW) + " " + info.Key.Short() + " " + fit(state, 5) + " " + fitRight(rtt(info.RTT), 6)
		if wide {
			line += " " + fitRight("log "+utoa(info.LogLength), 8)
		}
		writeLine(b, style.Render(fit(line, width)))
	}
}
