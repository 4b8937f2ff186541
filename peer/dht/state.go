package dht

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/auction-tui/auction-tui/wire"
)

// maxStateFileSize bounds the state file read at start, in bytes.
const maxStateFileSize = 1 << 20

// stateVersion is the version of the state file format.
const stateVersion = 1

var errNoState = errors.New("dht: no state file")

type stateFile struct {
	Version int         `json:"version"`
	Nodes   []stateNode `json:"nodes"`
}

type stateNode struct {
	Key  string `json:"key"`  // 64 hex digits
	Addr string `json:"addr"` // HOST:PORT
}

// loadState reads at most MaxStateNodes valid nodes from path.
func loadState(path string) ([]wire.DHTNode, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoState
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxStateFileSize {
		return nil, fmt.Errorf("dht: state file larger than %d bytes", maxStateFileSize)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("dht: state file: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("dht: state file version %d, want %d", st.Version, stateVersion)
	}
	var out []wire.DHTNode
	for _, s := range st.Nodes {
		if len(out) == MaxStateNodes {
			break
		}
		kb, err := hex.DecodeString(s.Key)
		a, aerr := netip.ParseAddrPort(s.Addr)
		if err != nil || len(kb) != wire.KeySize || aerr != nil || !validContactAddr(a) {
			continue
		}
		out = append(out, wire.DHTNode{Key: wire.PeerKey(kb), Addr: netip.AddrPortFrom(a.Addr().Unmap(), a.Port())})
	}
	return out, nil
}

// saveState writes the routing table (at most MaxStateNodes nodes, closest buckets first) to the
// state file, atomically. With an empty table it keeps the file as it is.
func (n *Node) saveState() error {
	st := stateFile{Version: stateVersion}
	n.mu.Lock()
	all := n.tab.all()
	for _, c := range all[:min(len(all), MaxStateNodes)] {
		st.Nodes = append(st.Nodes, stateNode{Key: c.key.String(), Addr: c.addr.String()})
	}
	n.mu.Unlock()
	if len(st.Nodes) == 0 {
		return nil
	}
	b, err := json.MarshalIndent(&st, "", " ")
	if err != nil {
		return err
	}
	path := n.cfg.stateFile
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("dht: save state: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dht: save state: %w", err)
	}
	return nil
}
