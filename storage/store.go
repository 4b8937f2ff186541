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
	"sync"

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
)

// LockName is the name of the lock file inside a store folder.
const LockName = "LOCK"

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
// [Offset, Offset+CutBytes) of that data file were cut and kept in CutFile. A log repair has
// Log set: the stored log could not be verified against its head and was reset to Length entries,
// losing LostEntries (re-signed for the own log, to be fetched again for a replica).
type Repair struct {
	File        string // data file name inside the store folder, or "" for a log repair
	Offset      int64  // where the cut starts, in bytes
	CutBytes    int64  // how many bytes were cut
	CutFile     string // file name inside the store folder holding the cut bytes
	Log         wire.PeerKey
	Length      uint64 // the log length after the repair
	LostEntries uint64 // entries dropped from the log
	Reason      string
}

// Option configures Open.
type Option func(*config)

type config struct {
	logger *slog.Logger
}

// WithLogger sets the logger for warnings (repairs, equivocations). Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
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
	db      *nutsdb.DB
	priv    ed25519.PrivateKey
	key     wire.PeerKey
	repairs []Repair

	mu     sync.RWMutex
	logs   map[wire.PeerKey]*logState
	equivs map[wire.PeerKey]*EquivocationError
	closed bool

	writeMu  sync.Mutex // serialises nutsdb write transactions issued by the store
	maxFile  int64
	importMu sync.Mutex // serialises imports and equivocation records

	reqs     chan *appendReq
	stop     chan struct{}
	commitWG sync.WaitGroup
}

// Open opens (creating if needed) the store in dir. It takes an exclusive lock on dir/LOCK,
// repairs a torn tail of the newest data file, opens nutsdb, makes the identity key on first
// open and verifies each log's last commit against its signed head.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{logger: slog.New(slog.DiscardHandler)}
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
		dir:    dir,
		log:    cfg.logger,
		lockF:  lf,
		logs:   make(map[wire.PeerKey]*logState),
		equivs: make(map[wire.PeerKey]*EquivocationError),
		reqs:   make(chan *appendReq, 1024),
		stop:   make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			if s.db != nil {
				_ = s.db.Close()
			}
			_ = lf.Close()
		}
	}()
	reps, err := repairTail(dir, s.log)
	if err != nil {
		return nil, err
	}
	s.repairs = reps
	db, err := nutsdb.Open(nutsdb.DefaultOptions,
		nutsdb.WithDir(dir),
		nutsdb.WithRWMode(nutsdb.FileIO),
		nutsdb.WithSyncEnable(true),
		nutsdb.WithSegmentSize(segmentSize),
		nutsdb.WithEntryIdxMode(nutsdb.HintKeyAndRAMIdxMode),
		func(o *nutsdb.Options) {
			o.MergeInterval = 0
			o.MaxBatchCount = 1 << 20
			o.MaxBatchSize = 128 << 20
		},
	)
	if err != nil {
		return nil, fmt.Errorf("storage: open nutsdb in %s: %w", dir, err)
	}
	s.db = db
	s.maxFile = db.MaxFileID
	if err := s.initBuckets(); err != nil {
		return nil, err
	}
	if err := s.loadIdentity(); err != nil {
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

// initBuckets creates the buckets on first open and makes the bucket file durable (nutsdb writes
// it without fsync).
func (s *Store) initBuckets() error {
	missing := false
	_ = s.db.View(func(tx *nutsdb.Tx) error {
		for _, b := range []string{bEntries, bHead, bHeads, bEquiv, bMeta} {
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
		for _, b := range []string{bEntries, bHead, bHeads, bEquiv, bMeta} {
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
func (s *Store) update(fn func(tx *nutsdb.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
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
	err := s.db.View(func(tx *nutsdb.Tx) error {
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
		if err := s.update(func(tx *nutsdb.Tx) error {
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
func (s *Store) loadLogs() error {
	var keys, vals [][]byte
	var qk, qv [][]byte
	err := s.db.View(func(tx *nutsdb.Tx) error {
		var err error
		keys, vals, err = tx.GetAll(bHead)
		if err != nil && !isEmptyErr(err) {
			return err
		}
		qk, qv, err = tx.GetAll(bEquiv)
		if err != nil && !isEmptyErr(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: read heads: %w", err)
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
	keys := s.Logs()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]wire.SignedHead, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.logs[k].head)
	}
	return out
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
	s.writeMu.Lock()
	err := s.db.Close()
	s.writeMu.Unlock()
	if uerr := unix.Flock(int(s.lockF.Fd()), unix.LOCK_UN); uerr != nil && err == nil {
		err = uerr
	}
	if cerr := s.lockF.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
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
