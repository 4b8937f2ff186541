package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nutsdb/nutsdb"
	"golang.org/x/sys/unix"
)

// nutsdb v1.1.0 record layout (entry.go): crc uint32 little-endian over everything after it,
// then nine uvarints (timestamp, key size, value size, flag, TTL, status, data structure,
// transaction id, bucket id), then the key, then the value. A transaction's records are written
// in one write; its last record has status committed (1). Data files are preallocated with
// zeroes to the segment size; an all-zero header marks the end of the data.
const (
	recMaxHeader   = nutsdb.MaxEntryHeaderSize
	recMinHeader   = nutsdb.MinEntryHeaderSize
	statusCommited = 1
)

// dataFiles returns the numeric ids of the nutsdb data files in dir, ascending.
func dataFiles(dir string) ([]int64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !strings.HasSuffix(name, nutsdb.DataSuffix) {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSuffix(name, nutsdb.DataSuffix), 10, 64)
		if err == nil && id >= 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// scanResult is what scanFile found in one data file.
type scanResult struct {
	committedEnd int64 // end of the last valid record that closes a transaction
	records      int   // valid records read
}

// scanFile reads the records of f from offset 0 and stops at the first all-zero header, the
// first record that does not parse or whose crc does not match, or the end of the file.
func scanFile(f *os.File, size int64) (scanResult, error) {
	var res scanResult
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20)
	var off int64
	hdr := make([]byte, recMaxHeader)
	var payload []byte
	for off < size {
		peek, err := br.Peek(min(recMaxHeader, int(size-off)))
		if err != nil && !errors.Is(err, io.EOF) {
			return res, err
		}
		if len(peek) < recMinHeader {
			return res, nil
		}
		copy(hdr, peek)
		h := hdr[:len(peek)]
		crc := binary.LittleEndian.Uint32(h[0:4])
		p := 4
		var vals [9]uint64
		for i := range vals {
			v, n := binary.Uvarint(h[p:])
			if n <= 0 {
				return res, nil
			}
			vals[i] = v
			p += n
		}
		ts, ksz, vsz, status := vals[0], vals[1], vals[2], vals[5]
		if crc == 0 && ksz == 0 && vsz == 0 && ts == 0 {
			return res, nil // end of data
		}
		if ksz > 1<<30 || vsz > 1<<30 || int64(p)+int64(ksz+vsz) > size-off {
			return res, nil
		}
		recLen := int64(p) + int64(ksz+vsz)
		if cap(payload) < int(recLen) {
			payload = make([]byte, recLen)
		}
		rec := payload[:recLen]
		if _, err := io.ReadFull(br, rec); err != nil {
			return res, nil
		}
		sum := crc32.ChecksumIEEE(rec[4:])
		if sum != crc {
			return res, nil
		}
		off += recLen
		res.records++
		if status == statusCommited {
			res.committedEnd = off
		}
	}
	return res, nil
}

// lastNonZero returns the end (exclusive) of the last non-zero byte of f in [from, size), using
// SEEK_DATA/SEEK_HOLE to skip the preallocated holes where the file system supports them.
func lastNonZero(f *os.File, from, size int64) (int64, error) {
	end := from
	buf := make([]byte, 1<<20)
	scan := func(a, b int64) error {
		for a < b {
			n := min(int64(len(buf)), b-a)
			if _, err := f.ReadAt(buf[:n], a); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			for i := n - 1; i >= 0; i-- {
				if buf[i] != 0 {
					end = max(end, a+i+1)
					break
				}
			}
			a += n
		}
		return nil
	}
	fd := int(f.Fd())
	pos := from
	for pos < size {
		d, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				return end, nil // no more data
			}
			// No hole support: scan a bounded window.
			return end, scan(pos, min(size, pos+MaxRepairCut+1))
		}
		hole, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		if err != nil {
			hole = size
		}
		hole = min(hole, size)
		if hole-from > 2*MaxRepairCut {
			hole = from + 2*MaxRepairCut
		}
		if err := scan(d, hole); err != nil {
			return end, err
		}
		if hole <= d || hole >= from+2*MaxRepairCut {
			break
		}
		pos = hole
	}
	return end, nil
}

// repairTail cuts a torn or garbage tail from the newest nutsdb data file(s) of the database in
// dir/sub (sub is "" for the own database, ReplicaDir for the replica one), keeping the cut bytes
// in dir/sub/repair-<time>-<file>.cut. It walks back to older files only while the newer file
// holds no committed transaction at all (a transaction that spans a file rotation). Paths in the
// returned repairs are relative to dir.
func repairTail(dir, sub string, log *slog.Logger) ([]Repair, error) {
	ids, err := dataFiles(filepath.Join(dir, sub))
	if err != nil {
		return nil, fmt.Errorf("storage: list data files: %w", err)
	}
	var reps []Repair
	for i := len(ids) - 1; i >= 0; i-- {
		name := strconv.FormatInt(ids[i], 10) + nutsdb.DataSuffix
		rep, res, err := repairFile(dir, sub, name, log)
		if err != nil {
			return reps, err
		}
		if rep != nil {
			reps = append(reps, *rep)
		}
		if res.committedEnd > 0 {
			break
		}
	}
	return reps, nil
}

func repairFile(dir, sub, name string, log *slog.Logger) (*Repair, scanResult, error) {
	path := filepath.Join(dir, sub, name)
	relName := filepath.Join(sub, name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, scanResult{}, fmt.Errorf("storage: open %s: %w", relName, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, scanResult{}, err
	}
	res, err := scanFile(f, fi.Size())
	if err != nil {
		return nil, res, fmt.Errorf("storage: scan %s: %w", relName, err)
	}
	cut := res.committedEnd
	end, err := lastNonZero(f, cut, fi.Size())
	if err != nil {
		return nil, res, fmt.Errorf("storage: scan %s: %w", relName, err)
	}
	if end <= cut {
		return nil, res, nil
	}
	if end-cut > MaxRepairCut {
		return nil, res, &CorruptError{File: relName, Reason: fmt.Sprintf(
			"%d bytes after the last valid record at offset %d: more than a torn write (%d), not cut", end-cut, cut, MaxRepairCut)}
	}
	data := make([]byte, end-cut)
	if _, err := f.ReadAt(data, cut); err != nil {
		return nil, res, err
	}
	cutName := fmt.Sprintf("repair-%s-%s.cut", time.Now().UTC().Format("20060102T150405.000000000Z"), strings.TrimSuffix(name, nutsdb.DataSuffix))
	cutName = filepath.Join(sub, cutName)
	if err := writeDurable(filepath.Join(dir, cutName), data); err != nil {
		return nil, res, err
	}
	if err := f.Truncate(cut); err != nil {
		return nil, res, fmt.Errorf("storage: cut %s: %w", relName, err)
	}
	if err := f.Sync(); err != nil {
		return nil, res, err
	}
	rep := &Repair{File: relName, Offset: cut, CutBytes: end - cut, CutFile: cutName,
		Reason: "torn or invalid records after the last committed transaction"}
	log.Warn("storage: cut a torn tail from a data file", "file", relName, "offset", cut,
		"bytes", end-cut, "kept", cutName)
	return rep, res, nil
}

// writeDurable writes data to a new file at path and fsyncs it and its folder.
func writeDurable(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("storage: keep cut bytes: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("storage: keep cut bytes: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncFile(filepath.Dir(path))
}
