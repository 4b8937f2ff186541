package storage

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
	"golang.org/x/sys/unix"
)

// Limits of the store.
const (
	// MaxEntrySize is the largest entry accepted, in bytes. It equals wire.MaxEntrySize.
	MaxEntrySize = 1024
	// MaxRange is the largest number of entries Range returns and Import accepts in one call.
	MaxRange = 4096
	// MaxAppendEntries is the largest number of entries one Append call accepts.
	MaxAppendEntries = MaxRange
	// MaxCommitEntries is the largest number of entries the committer puts in one transaction
	// (one fsync, one signed head). It equals MaxRange so that every stored head of the own log
	// ends a range that can be served in one piece.
	MaxCommitEntries = MaxRange
	// MaxRepairCut is the largest tail, in bytes, that Open cuts from a data file. A larger
	// damaged region is not a torn write: Open fails with a *CorruptError instead of cutting.
	MaxRepairCut = 64 << 20
	// segmentSize is the size of one nutsdb data file, in bytes.
	segmentSize = 256 << 20
	// commitBufferSize is the buffer each nutsdb database keeps for encoding a transaction, in
	// bytes (nutsdb's default is 4 MiB, held for as long as the database is open: 8 MiB per
	// Store). A larger transaction (a full range of big entries) encodes into a buffer of its
	// own size, allocated for that commit only.
	commitBufferSize = 256 << 10
)

// LockName is the name of the lock file inside a store folder.
const LockName = "LOCK"

// ReplicaDir is the name of the subfolder of a store folder that holds the replica database:
// replica logs, their heads and equivocation proofs, written without fsync.
const ReplicaDir = "replicas"

// importStripes is the number of locks that serialise imports and head observations; a log
// maps to one of them by its key, so imports of different logs mostly run concurrently.
const importStripes = 64

// Sentinel errors.
var (
	// ErrLocked reports a store folder already opened by another Store, in this process or
	// another one. The concrete error is a *LockedError.
	ErrLocked = errors.New("storage: folder is locked by another process")
	// ErrNotFound reports an index at or beyond the length of a log.
	ErrNotFound = errors.New("storage: entry not found")
	// ErrGap reports an import that starts beyond the end of the stored log.
	ErrGap = errors.New("storage: range starts beyond the stored log")
	// ErrOwnLog reports an import or equivocation claim for the store's own log.
	ErrOwnLog = errors.New("storage: head is for the own log")
	// ErrBadRange reports a range argument out of bounds: start > end, more than MaxRange
	// entries, or an import range that does not end exactly at its head's length.
	ErrBadRange = errors.New("storage: bad range")
	// ErrTooLarge reports an entry larger than MaxEntrySize or more than MaxAppendEntries entries.
	ErrTooLarge = errors.New("storage: too large")
	// ErrReadOnly reports an Append on a replica.
	ErrReadOnly = errors.New("storage: log is a read-only replica")
	// ErrClosed reports a call on a closed Store.
	ErrClosed = errors.New("storage: store is closed")
	// ErrVerify is matched (errors.Is) by every *VerifyError.
	ErrVerify = errors.New("storage: verification failed")
	// ErrEquivocation is matched (errors.Is) by every *EquivocationError.
	ErrEquivocation = errors.New("storage: equivocation")
)

// LockedError reports a store folder that is locked by another Store.
type LockedError struct {
	Dir string // the store folder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("storage: folder %s is in use by another auction-tui process", e.Dir)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// VerifyError reports data of log Key that does not verify: a bad signature, a root that does not
// match the signed head, an entry that differs from the verified copy.
type VerifyError struct {
	Key    wire.PeerKey
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("storage: log %s does not verify: %s", e.Key.Short(), e.Reason)
}

// Unwrap returns ErrVerify.
func (e *VerifyError) Unwrap() error { return ErrVerify }

// EquivocationError reports two valid signed heads of log Key that are inconsistent with each
// other: A is the head the store held, B the conflicting one. Both are kept as proof.
type EquivocationError struct {
	Key  wire.PeerKey
	A, B wire.SignedHead
}

func (e *EquivocationError) Error() string {
	return fmt.Sprintf("storage: log %s equivocates: heads at lengths %d and %d are inconsistent",
		e.Key.Short(), e.A.Length, e.B.Length)
}

// Unwrap returns ErrEquivocation.
func (e *EquivocationError) Unwrap() error { return ErrEquivocation }

// CorruptError reports stored data that Open cannot repair safely.
type CorruptError struct {
	File   string // the damaged file, relative to the store folder, or "" for a log
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("storage: corrupt %s: %s", e.File, e.Reason)
}

// Repair describes one repair Open made. A file repair has File set: the bytes
// [Offset, Offset+CutBytes) of that data file were cut and kept in CutFile. File and CutFile are
// paths relative to the store folder: "0.dat" for the own database, "replicas/0.dat" for the
// replica database. When File is ReplicaDir itself, the replica database could not be opened
// even after a tail cut: the whole folder was moved aside to CutFile (CutBytes is the size of
// its data files) and every replica is fetched again. A log repair has Log set: the stored log
// could not be verified against its head and was reset to Length entries, losing LostEntries
// (re-signed for the own log, to be fetched again for a replica).
type Repair struct {
	File        string // data file path relative to the store folder, or "" for a log repair
	Offset      int64  // where the cut starts, in bytes
	CutBytes    int64  // how many bytes were cut
	CutFile     string // path relative to the store folder holding the cut bytes
	Log         wire.PeerKey
	Length      uint64 // the log length after the repair
	LostEntries uint64 // entries dropped from the log
	Reason      string
}

// Option configures Open.
type Option func(*config)

type config struct {
	logger      *slog.Logger
	segmentSize int64 // nutsdb data file size in bytes; tests make it small to force rotation
}

// WithLogger sets the logger for warnings (repairs, equivocations). Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// withSegmentSize sets the nutsdb data file size in bytes (tests only: small files force
// rotation). Default: 256 MiB.
func withSegmentSize(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.segmentSize = n
		}
	}
}

// Bucket names.
const (
	bEntries = "e"
	bHead    = "h"
	bHeads   = "H"
	bEquiv   = "q"
	bMeta    = "m"
)

var keyIdentity = []byte("identity")

// Store is one store folder: the identity key, the own log, replicas and equivocation proofs.
// Its methods are safe for concurrent use.
type Store struct {
	dir     string
	log     *slog.Logger
	lockF   *os.File
	own     *kvdb // identity and own log, fsynced on every commit
	rep     *kvdb // replicas and equivocation proofs, never fsynced
	priv    ed25519.PrivateKey
	key     wire.PeerKey
	repairs []Repair

	mu     sync.RWMutex
	logs   map[wire.PeerKey]*logState
	gen    uint64 // heads generation: grows on every change of a head in logs (see HeadsGen)
	equivs map[wire.PeerKey]*EquivocationError
	closed bool

	vmu      sync.Mutex
	verified map[wire.SignedHead]struct{} // heads whose signature verified (see checkHead)
	roots    map[rootKey]wire.Hash        // Merkle roots of log prefixes (see Log.RootAt)

	importMu [importStripes]sync.Mutex // per-log (striped) serialisation of imports and observations

	reqs     chan *appendReq
	stop     chan struct{}
	commitWG sync.WaitGroup
}

// Open opens (creating if needed) the store in dir. It takes an exclusive lock on dir/LOCK,
// repairs a torn tail of the newest data file of the own database (dir) and of the replica
// database (dir/replicas), opens both, makes the identity key on first open and verifies each
// log's last commit against its signed head. A replica database that still does not open is
// moved aside and started empty (see Repair).
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler), segmentSize: segmentSize}
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: create folder: %w", err)
	}
	lf, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir:      dir,
		log:      cfg.logger,
		lockF:    lf,
		logs:     make(map[wire.PeerKey]*logState),
		equivs:   make(map[wire.PeerKey]*EquivocationError),
		verified: make(map[wire.SignedHead]struct{}),
		roots:    make(map[rootKey]wire.Hash),
		reqs:     make(chan *appendReq, 1024),
		stop:     make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			for _, d := range []*kvdb{s.own, s.rep} {
				if d != nil {
					_ = d.db.Close()
				}
			}
			_ = lf.Close()
		}
	}()
	reps, err := repairTail(dir, "", s.log)
	if err != nil {
		return nil, err
	}
	s.repairs = reps
	if s.own, err = openDB(dir, true, cfg.segmentSize); err != nil {
		return nil, err
	}
	if err := s.loadIdentity(); err != nil {
		return nil, err
	}
	if err := s.openReplicas(cfg.segmentSize); err != nil {
		return nil, err
	}
	if err := s.loadLogs(); err != nil {
		return nil, err
	}
	if s.logs[s.key] == nil {
		s.logs[s.key] = newLogState(s.key)
	}
	ok = true
	s.commitWG.Add(1)
	go s.committer()
	return s, nil
}

// lockDir takes the exclusive flock on dir/LOCK.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir}
		}
		return nil, fmt.Errorf("storage: lock %s: %w", dir, err)
	}
	return f, nil
}

// kvdb is one nutsdb instance: the own database (fsync on every commit) or the replica database
// (no fsync).
type kvdb struct {
	dir     string
	db      *nutsdb.DB
	mu      sync.Mutex // serialises write transactions issued by the store
	maxFile int64
}

// openDB opens the nutsdb instance in dir (FileIO, merge off, fsync per commit when sync is set)
// and creates the buckets on first open.
func openDB(dir string, sync bool, segSize int64) (*kvdb, error) {
	db, err := nutsdb.Open(nutsdb.DefaultOptions,
		nutsdb.WithDir(dir),
		nutsdb.WithRWMode(nutsdb.FileIO),
		nutsdb.WithSyncEnable(sync),
		nutsdb.WithSegmentSize(segSize),
		nutsdb.WithEntryIdxMode(nutsdb.HintKeyAndRAMIdxMode),
		func(o *nutsdb.Options) {
			o.MergeInterval = 0
			o.MaxBatchCount = 1 << 20
			o.MaxBatchSize = 128 << 20
			o.CommitBufferSize = commitBufferSize
		},
	)
	if err != nil {
		return nil, fmt.Errorf("storage: open nutsdb in %s: %w", dir, err)
	}
	d := &kvdb{dir: dir, db: db, maxFile: db.MaxFileID}
	if err := d.initBuckets(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return d, nil
}

// openReplicas repairs the tail of the replica database and opens it. If it still cannot be
// opened (damage beyond a torn tail, likely after a power loss since it is never fsynced), the
// folder is moved aside, a fresh one is opened and a Repair is recorded: replicas are fetched
// again from peers. At most one discarded folder is kept.
func (s *Store) openReplicas(segSize int64) error {
	rdir := filepath.Join(s.dir, ReplicaDir)
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return fmt.Errorf("storage: create folder: %w", err)
	}
	reps, err := repairTail(s.dir, ReplicaDir, s.log)
	if err == nil {
		s.rep, err = openDB(rdir, false, segSize)
	}
	if err == nil {
		s.repairs = append(s.repairs, reps...)
		return nil
	}
	reason := err.Error()
	old, _ := filepath.Glob(filepath.Join(s.dir, ReplicaDir+".discarded-*"))
	for _, o := range old {
		if err := os.RemoveAll(o); err != nil {
			return fmt.Errorf("storage: remove discarded replicas: %w", err)
		}
	}
	size := dataSize(rdir)
	moved := ReplicaDir + ".discarded-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(rdir, filepath.Join(s.dir, moved)); err != nil {
		return fmt.Errorf("storage: move damaged replicas aside: %w (%s)", err, reason)
	}
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return fmt.Errorf("storage: create folder: %w", err)
	}
	if s.rep, err = openDB(rdir, false, segSize); err != nil {
		return err
	}
	s.repairs = append(s.repairs, Repair{File: ReplicaDir, CutBytes: size, CutFile: moved,
		Reason: "replica database does not open: " + reason})
	s.log.Warn("storage: replica database damaged; moved aside, replicas will be fetched again",
		"reason", reason, "kept", moved)
	return nil
}

// dataSize returns the total size of the nutsdb data files in dir, in bytes.
func dataSize(dir string) int64 {
	ids, _ := dataFiles(dir)
	var n int64
	for _, id := range ids {
		if fi, err := os.Stat(filepath.Join(dir, strconv.FormatInt(id, 10)+nutsdb.DataSuffix)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// dbFor returns the database that holds log k: the own database for the store's key, else the
// replica database.
func (s *Store) dbFor(k wire.PeerKey) *kvdb {
	if k == s.key {
		return s.own
	}
	return s.rep
}

// initBuckets creates the buckets on first open and makes the bucket file durable (nutsdb writes
// it without fsync).
func (s *kvdb) initBuckets() error {
	missing := false
	_ = s.db.View(func(tx *nutsdb.Tx) error {
		for _, b := range []string{bEntries, bChunks, bHead, bHeads, bEquiv, bMeta} {
			if !tx.ExistBucket(nutsdb.DataStructureBTree, b) {
				missing = true
			}
		}
		return nil
	})
	if !missing {
		return nil
	}
	err := s.update(func(tx *nutsdb.Tx) error {
		for _, b := range []string{bEntries, bChunks, bHead, bHeads, bEquiv, bMeta} {
			if !tx.ExistBucket(nutsdb.DataStructureBTree, b) {
				if err := tx.NewBucket(nutsdb.DataStructureBTree, b); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: create buckets: %w", err)
	}
	if err := syncFile(filepath.Join(s.dir, nutsdb.BucketStoreFileName)); err != nil {
		return err
	}
	return syncFile(s.dir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("storage: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: sync %s: %w", path, err)
	}
	return nil
}

// update runs one nutsdb write transaction and, when nutsdb started a new data file, fsyncs the
// folder so that the new file's name is durable too.
func (s *kvdb) update(fn func(tx *nutsdb.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(fn); err != nil {
		return err
	}
	if s.db.MaxFileID != s.maxFile {
		s.maxFile = s.db.MaxFileID
		return syncFile(s.dir)
	}
	return nil
}

func (s *Store) loadIdentity() error {
	var seed []byte
	err := s.own.db.View(func(tx *nutsdb.Tx) error {
		v, err := tx.Get(bMeta, keyIdentity)
		if err == nil {
			seed = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if seed == nil {
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return err
		}
		if err := s.own.update(func(tx *nutsdb.Tx) error {
			return tx.Put(bMeta, keyIdentity, seed, nutsdb.Persistent)
		}); err != nil {
			return fmt.Errorf("storage: store identity: %w", err)
		}
	}
	if len(seed) != ed25519.SeedSize {
		return &CorruptError{File: "identity", Reason: fmt.Sprintf("seed is %d bytes", len(seed))}
	}
	s.priv = ed25519.NewKeyFromSeed(seed)
	s.key = wire.KeyOf(s.priv)
	return nil
}

// loadLogs reads every log's head and equivocation proof and verifies each log's last commit.
// The own log's head comes from the own database, replicas' heads and proofs from the replica
// database. Records of another log in the own database (a folder written before the replica
// database existed) are ignored and logged: those replicas are fetched again.
func (s *Store) loadLogs() error {
	var keys, vals [][]byte
	var qk, qv [][]byte
	var ignored int
	err := s.own.db.View(func(tx *nutsdb.Tx) error {
		v, err := tx.Get(bHead, s.key[:])
		if err == nil {
			keys, vals = append(keys, s.key[:]), append(vals, bytes.Clone(v))
		} else if !isEmptyErr(err) {
			return err
		}
		ks, _, err := tx.GetAll(bHead)
		if err != nil && !isEmptyErr(err) {
			return err
		}
		ignored = len(ks) - len(keys)
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: read own head: %w", err)
	}
	if ignored > 0 {
		s.log.Warn("storage: ignoring replica logs kept in the own database by an older layout",
			"logs", ignored)
	}
	err = s.rep.db.View(func(tx *nutsdb.Tx) error {
		ks, vs, err := tx.GetAll(bHead)
		if err != nil && !isEmptyErr(err) {
			return err
		}
		for i := range ks {
			if !bytes.Equal(ks[i], s.key[:]) {
				keys, vals = append(keys, ks[i]), append(vals, vs[i])
			}
		}
		qk, qv, err = tx.GetAll(bEquiv)
		if err != nil && !isEmptyErr(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: read replica heads: %w", err)
	}
	for i := range qk {
		if len(qk[i]) != wire.KeySize || len(qv[i]) != 2*wire.SignedHeadSize {
			return &CorruptError{File: "equivocation proofs", Reason: "bad record size"}
		}
		a, _ := wire.UnmarshalSignedHead(qv[i][:wire.SignedHeadSize])
		b, _ := wire.UnmarshalSignedHead(qv[i][wire.SignedHeadSize:])
		var k wire.PeerKey
		copy(k[:], qk[i])
		s.equivs[k] = &EquivocationError{Key: k, A: a, B: b}
	}
	for i := range keys {
		if len(keys[i]) != wire.KeySize || len(vals[i]) != wire.SignedHeadSize+8 {
			return &CorruptError{File: "heads", Reason: "bad record size"}
		}
		var k wire.PeerKey
		copy(k[:], keys[i])
		h, _ := wire.UnmarshalSignedHead(vals[i][:wire.SignedHeadSize])
		prev := binary.BigEndian.Uint64(vals[i][wire.SignedHeadSize:])
		st, err := s.openLog(k, h, prev)
		if err != nil {
			return err
		}
		if st.head.Length > 0 {
			s.logs[k] = st
			s.gen++
		}
	}
	return nil
}

// openLog verifies log k's last commit: the head signature, and the root recomputed from the
// stored tree state at length prev plus the entries [prev, head.Length). On failure it rebuilds
// the log from its intact entries (re-signing the own log) and records a Repair.
func (s *Store) openLog(k wire.PeerKey, h wire.SignedHead, prev uint64) (*logState, error) {
	reason := ""
	switch {
	case h.Key != k:
		reason = "head record names another key"
	case h.Verify() != nil:
		reason = "head signature does not verify"
	case prev > h.Length:
		reason = "previous length beyond head"
	}
	var st *logState
	if reason == "" {
		var err error
		st, err = s.verifyTail(k, h, prev)
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) {
				return nil, err
			}
			reason = ve.Reason
		}
	}
	if reason == "" {
		return st, nil
	}
	return s.rebuildLog(k, h, reason)
}

// Identity returns the store's ed25519 private key: made on first open, the same after every
// restart.
func (s *Store) Identity() ed25519.PrivateKey { return s.priv }

// Key returns the public key of Identity: the key of the own log.
func (s *Store) Key() wire.PeerKey { return s.key }

// Dir returns the store folder.
func (s *Store) Dir() string { return s.dir }

// Repairs returns the repairs Open made, in order. Empty when the folder was intact.
func (s *Store) Repairs() []Repair { return slices.Clone(s.repairs) }

// Own returns the peer's own writable log.
func (s *Store) Own() *Log { return &Log{s: s, key: s.key} }

// Log returns a view of log key: the own log for the store's key, else a replica (possibly
// empty).
func (s *Store) Log(key wire.PeerKey) *Log { return &Log{s: s, key: key} }

// Logs returns the keys of the logs held with at least one entry, sorted bytewise.
func (s *Store) Logs() []wire.PeerKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]wire.PeerKey, 0, len(s.logs))
	for k, st := range s.logs {
		if st.head.Length > 0 {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b wire.PeerKey) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// Heads returns the latest signed head of every log held with at least one entry, sorted by key.
func (s *Store) Heads() []wire.SignedHead {
	hs, _ := s.HeadsGen()
	return hs
}

// HeadsGeneration returns the generation of the store's heads (see HeadsGen) without copying them.
func (s *Store) HeadsGeneration() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

// HeadsGen returns what Heads returns with the generation of that set: a counter that grows
// whenever a head changes (an append, an import, a repair on open) and is the same while none
// does. A caller can cache what it derives from the heads, such as their digest, under the
// generation and recompute only when it moves.
func (s *Store) HeadsGen() ([]wire.SignedHead, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]wire.SignedHead, 0, len(s.logs))
	for _, st := range s.logs {
		if st.head.Length > 0 {
			out = append(out, st.head)
		}
	}
	slices.SortFunc(out, func(a, b wire.SignedHead) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return out, s.gen
}

// Equivocation returns the two inconsistent signed heads kept as proof for log key, if the log
// is flagged.
func (s *Store) Equivocation(key wire.PeerKey) (a, b wire.SignedHead, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.equivs[key]
	if e == nil {
		return a, b, false
	}
	return e.A, e.B, true
}

// Close stops the committer (pending appends fail with ErrClosed), closes nutsdb and releases
// the folder lock. Calling Close again returns ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.commitWG.Wait()
	var errs []error
	for _, d := range []*kvdb{s.own, s.rep} {
		d.mu.Lock()
		errs = append(errs, d.db.Close())
		d.mu.Unlock()
	}
	err := errors.Join(errs...)
	if uerr := unix.Flock(int(s.lockF.Fd()), unix.LOCK_UN); uerr != nil && err == nil {
		err = uerr
	}
	if cerr := s.lockF.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// importLock returns the lock that serialises imports and observations of log k.
func (s *Store) importLock(k wire.PeerKey) *sync.Mutex {
	return &s.importMu[binary.LittleEndian.Uint64(k[:8])%importStripes]
}

func (s *Store) state(k wire.PeerKey) *logState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.logs[k]
}

// isClosed reports whether Close has been called.
func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

func isEmptyErr(err error) bool {
	return errors.Is(err, nutsdb.ErrBucketEmpty) || errors.Is(err, nutsdb.ErrKeyNotFound) ||
		errors.Is(err, nutsdb.ErrRangeScan) || errors.Is(err, nutsdb.ErrPrefixScan) ||
		errors.Is(err, nutsdb.ErrNotFoundBucket)
}

// contextErr returns ctx.Err() wrapped, or nil.
func contextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}
