package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testRecords(t testing.TB, n int, units uint64) []testRecord {
	recs := make([]testRecord, n)
	for i := range recs {
		recs[i] = testRecord{ts: 1_700_000_000*units + uint64(i)*units/1000 + 7, data: ethTCP(t, i)}
	}
	return recs
}

var allCompressions = []string{CompressionNone, CompressionGzip, CompressionZstd, CompressionLZ4, CompressionBzip2, CompressionXZ}

func TestFormatsAndCompressions(t *testing.T) {
	recsU := testRecords(t, 20, 1e6)
	recsN := testRecords(t, 20, 1e9)
	type want struct {
		units uint64
		recs  []testRecord
	}
	cases := []struct {
		name   string
		format string
		file   []byte
		want   want
	}{
		{"pcap-le-us", FormatPcap, pcapBytes(binary.LittleEndian, false, 1, recsU), want{1e6, recsU}},
		{"pcap-be-us", FormatPcap, pcapBytes(binary.BigEndian, false, 1, recsU), want{1e6, recsU}},
		{"pcap-le-ns", FormatPcap, pcapBytes(binary.LittleEndian, true, 1, recsN), want{1e9, recsN}},
		{"pcap-be-ns", FormatPcap, pcapBytes(binary.BigEndian, true, 1, recsN), want{1e9, recsN}},
		{"pcapgo-us", FormatPcap, pcapgoFile(t, false, nsRecs(recsU, 1e6)), want{1e6, recsU}},
		{"pcapgo-ns", FormatPcap, pcapgoFile(t, true, nsRecs(recsN, 1e9)), want{1e9, recsN}},
		{"pcapng-le", FormatPcapng, ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1}}, recsU), want{1e6, recsU}},
		{"pcapng-be-ns", FormatPcapng, ngSection(binary.BigEndian, []ngIfaceSpec{{link: 1, tsres: 9}}, recsN), want{1e9, recsN}},
	}
	for _, c := range cases {
		for _, comp := range allCompressions {
			t.Run(c.name+"/"+comp, func(t *testing.T) {
				in := compress(t, comp, c.file)
				f, err := NewReader(bytes.NewReader(in), "mem", int64(len(in)))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if f.Format != c.format || f.Compression != comp {
					t.Fatalf("format %s/%s, want %s/%s", f.Format, f.Compression, c.format, comp)
				}
				pkts, err := readAll(t, f)
				if err != io.EOF {
					t.Fatalf("end: %v, want io.EOF", err)
				}
				if len(pkts) != len(c.want.recs) {
					t.Fatalf("%d packets, want %d", len(pkts), len(c.want.recs))
				}
				for i, p := range pkts {
					r := c.want.recs[i]
					wantNs := int64(r.ts/c.want.units*1e9 + r.ts%c.want.units*(1e9/c.want.units))
					if p.Frame != uint64(i+1) || p.Time != wantNs || !bytes.Equal(p.Data, r.data) || p.WireLen != len(r.data) || p.LinkType != 1 {
						t.Fatalf("packet %d: frame %d time %d (want %d) wire %d link %d", i, p.Frame, p.Time, wantNs, p.WireLen, p.LinkType)
					}
				}
				if f.BytesRead() != int64(len(in)) {
					t.Errorf("BytesRead %d, want %d", f.BytesRead(), len(in))
				}
				if err := f.Next(&Packet{}); err != io.EOF {
					t.Errorf("after end: %v", err)
				}
			})
		}
	}
}

// nsRecs converts timestamps in units to nanoseconds for pcapgo.
func nsRecs(recs []testRecord, units uint64) []testRecord {
	out := make([]testRecord, len(recs))
	for i, r := range recs {
		out[i] = r
		out[i].ts = r.ts/units*1e9 + r.ts%units*(1e9/units)
	}
	return out
}

func TestPcapOffsets(t *testing.T) {
	recs := testRecords(t, 5, 1e6)
	f, err := NewReader(bytes.NewReader(pcapBytes(binary.LittleEndian, false, 1, recs)), "mem", -1)
	if err != nil {
		t.Fatal(err)
	}
	pkts, _ := readAll(t, f)
	off := int64(24)
	for i, p := range pkts {
		if p.Offset != off {
			t.Errorf("packet %d offset %d, want %d", i+1, p.Offset, off)
		}
		off += 16 + int64(len(recs[i].data))
	}
}

// Two sections, four interfaces with different link types, byte orders and
// timestamp resolutions; each interface becomes its own point.
func TestPcapngSectionsAndInterfaces(t *testing.T) {
	raw := serialize(t, ipv4(17), udp(5060, 5060))
	ethF := ethTCP(t, 3)
	sll2 := make([]byte, 20)
	binary.BigEndian.PutUint16(sll2[0:], 0x0800)
	sll2 = append(sll2, raw...)
	s1 := ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1, name: "outside"}, {link: 101, name: "inside", tsres: 9}}, []testRecord{
		{iface: 0, ts: 1_700_000_000_123456, data: ethF},
		{iface: 1, ts: 1_700_000_000_123456789, data: raw},
	})
	s2 := ngSection(binary.BigEndian, []ngIfaceSpec{{link: 276, name: "any", tsres: 0x80 | 20}, {link: 1, name: "edge", tsres: 3, offset: 100}}, []testRecord{
		{iface: 1, ts: 5_000, data: ethF},
		{iface: 0, ts: 3<<20 | 1<<19, data: sll2}, // 3.5 s in 2^-20 units
	})
	file := append(s1, s2...)
	for _, comp := range []string{CompressionNone, CompressionZstd} {
		in := compress(t, comp, file)
		f, err := NewReader(bytes.NewReader(in), "two-sections", -1)
		if err != nil {
			t.Fatal(err)
		}
		f.BasePoint = 10
		pkts, err := readAll(t, f)
		if err != io.EOF || len(pkts) != 4 {
			t.Fatalf("%d packets, end %v", len(pkts), err)
		}
		want := []struct {
			point int
			link  uint16
			time  int64
		}{
			{10, 1, 1_700_000_000_123456000},
			{11, 101, 1_700_000_000_123456789},
			{13, 1, 105_000_000_000},
			{12, 276, 3_500_000_000},
		}
		for i, w := range want {
			p := pkts[i]
			if p.Point != w.point || p.LinkType != w.link || p.Time != w.time || p.Frame != uint64(i+1) {
				t.Errorf("%s packet %d: point %d link %d time %d, want %+v", comp, i+1, p.Point, p.LinkType, p.Time, w)
			}
		}
		ifs := f.Interfaces()
		names := []string{"outside", "inside", "any", "edge"}
		if len(ifs) != 4 {
			t.Fatalf("%d interfaces", len(ifs))
		}
		for i, it := range ifs {
			if it.Index != i || it.Name != names[i] || it.Section != i/2 {
				t.Errorf("interface %d: %+v", i, it)
			}
		}
		// Offsets run on across sections: the first packet of section
		// two lies after section one.
		if pkts[2].Offset <= int64(len(s1)) || pkts[0].Offset >= pkts[1].Offset {
			t.Errorf("offsets %d %d %d", pkts[0].Offset, pkts[1].Offset, pkts[2].Offset)
		}
	}
}

// Standard input goes through NewReader on a pipe: no size, no seeking.
func TestPipe(t *testing.T) {
	in := compress(t, CompressionGzip, pcapBytes(binary.LittleEndian, false, 1, testRecords(t, 50, 1e6)))
	pr, pw := io.Pipe()
	go func() {
		for b := in; len(b) > 0; {
			n := min(len(b), 7)
			pw.Write(b[:n])
			b = b[n:]
		}
		pw.Close()
	}()
	f, err := NewReader(pr, "-", -1)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, f)
	if err != io.EOF || len(pkts) != 50 || f.Size != -1 {
		t.Fatalf("%d packets, end %v, size %d", len(pkts), err, f.Size)
	}
}

// largestRead remembers the largest read it was asked for.
type largestRead struct {
	r   io.Reader
	max int
}

func (l *largestRead) Read(b []byte) (int, error) {
	l.max = max(l.max, len(b))
	return l.r.Read(b)
}

// TestReadChunk checks that a capture is read from its source at most
// readChunk bytes at a time, plain or compressed, with every packet read.
func TestReadChunk(t *testing.T) {
	plain := pcapBytes(binary.LittleEndian, false, 1, testRecords(t, 10000, 1e6)) // about 1 MB: 15 reads of readChunk
	for _, comp := range []string{CompressionNone, CompressionZstd} {
		src := &largestRead{r: bytes.NewReader(compress(t, comp, plain))}
		f, err := NewReader(src, comp, -1)
		if err != nil {
			t.Fatal(err)
		}
		pkts, err := readAll(t, f)
		if err != io.EOF || len(pkts) != 10000 {
			t.Fatalf("%s: %d packets, end %v", comp, len(pkts), err)
		}
		if src.max > readChunk || len(plain) < 4*readChunk {
			t.Fatalf("%s: a read of %d bytes from a %d-byte capture; want at most %d", comp, src.max, len(plain), readChunk)
		}
		f.Close()
	}
}

func TestOpenFileReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "capture.bin") // name says nothing: sniffing decides
	data := compress(t, CompressionXZ, ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1}}, testRecords(t, 30, 1e6)))
	if err := os.WriteFile(path, data, 0o400); err != nil {
		t.Fatal(err)
	}
	st0, _ := os.Stat(path)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != int64(len(data)) || f.Format != FormatPcapng || f.Compression != CompressionXZ || f.Path != path {
		t.Fatalf("file %+v", f)
	}
	pkts, err := readAll(t, f)
	if err != io.EOF || len(pkts) != 30 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(path)
	if !st1.ModTime().Equal(st0.ModTime()) || st1.Size() != st0.Size() {
		t.Error("input modified")
	}
	if _, err := Open(dir); err == nil {
		t.Error("opening a directory succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestNotCapture(t *testing.T) {
	cases := map[string][]byte{
		"text":       []byte("hello, this is not a capture at all\n"),
		"empty":      nil,
		"short":      {0xd4, 0xc3},
		"gzip-text":  compress(t, CompressionGzip, []byte("plain text inside gzip, still not a capture")),
		"zstd-elf":   compress(t, CompressionZstd, append([]byte{0x7f, 'E', 'L', 'F'}, make([]byte, 100)...)),
		"ng-bad-bom": {0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(b), "suspect.pcap", -1)
			if !errors.Is(err, ErrNotCapture) {
				t.Fatalf("error %v, want ErrNotCapture", err)
			}
			if !strings.Contains(err.Error(), "suspect.pcap") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// Damage: everything before it is delivered, then one DamageError naming
// the frame and offset, then io.EOF.
func TestDamage(t *testing.T) {
	recs := testRecords(t, 10, 1e6)
	pcap := pcapBytes(binary.LittleEndian, false, 1, recs)
	ng := ngSection(binary.BigEndian, []ngIfaceSpec{{link: 1}}, recs)
	pcapOff := func(i int) int64 { // offset of pcap record i (0-based)
		off := int64(24)
		for _, r := range recs[:i] {
			off += 16 + int64(len(r.data))
		}
		return off
	}
	ngOff := func(i int) int64 {
		off := int64(len(ngSection(binary.BigEndian, []ngIfaceSpec{{link: 1}}, nil)))
		for _, r := range recs[:i] {
			off += 32 + int64((len(r.data)+3)&^3)
		}
		return off
	}
	lying := bytes.Clone(pcap)
	binary.LittleEndian.PutUint32(lying[pcapOff(4)+8:], 1<<30)
	ngLying := bytes.Clone(ng)
	binary.BigEndian.PutUint32(ngLying[ngOff(6)+20:], 60000) // captured length beyond its block
	ngTrailer := bytes.Clone(ng)
	binary.BigEndian.PutUint32(ngTrailer[ngOff(3)+4:], uint32(32+((len(recs[3].data)+3)&^3)+4))
	gz := compress(t, CompressionGzip, pcap)
	ngIface := bytes.Clone(ng)
	binary.BigEndian.PutUint32(ngIface[ngOff(8)+8:], 5)

	cases := []struct {
		name   string
		file   []byte
		comp   string
		frame  uint64
		offset int64
		is     error
	}{
		{"pcap-cut-in-record", pcap[:pcapOff(7)+30], CompressionNone, 8, pcapOff(7), io.ErrUnexpectedEOF},
		{"pcap-cut-in-header", pcap[:pcapOff(3)+5], CompressionNone, 4, pcapOff(3), io.ErrUnexpectedEOF},
		{"pcap-lying-length", lying, CompressionNone, 5, pcapOff(4), ErrRecordTooLarge},
		{"pcap-gzip-cut", gz[:len(gz)-12], CompressionNone, 0, -1, nil},
		{"pcapng-cut", ng[:ngOff(5)+40], CompressionNone, 6, ngOff(5), io.ErrUnexpectedEOF},
		{"pcapng-lying-caplen", ngLying, CompressionNone, 7, ngOff(6), ErrBadBlock},
		{"pcapng-bad-trailer", ngTrailer, CompressionNone, 4, ngOff(3), ErrBadBlock},
		{"pcapng-unknown-iface", ngIface, CompressionZstd, 9, ngOff(8), ErrBadBlock},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := compress(t, c.comp, c.file)
			f, err := NewReader(bytes.NewReader(in), "damaged.pcap", -1)
			if err != nil {
				t.Fatal(err)
			}
			pkts, err := readAll(t, f)
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("end %v, want DamageError", err)
			}
			if de.Path != "damaged.pcap" {
				t.Errorf("path %q", de.Path)
			}
			if c.frame != 0 {
				if de.Frame != c.frame || de.Offset != c.offset || len(pkts) != int(c.frame-1) {
					t.Errorf("damage at frame %d offset %d after %d packets, want frame %d offset %d", de.Frame, de.Offset, len(pkts), c.frame, c.offset)
				}
			} else if de.Frame != uint64(len(pkts)+1) {
				t.Errorf("damage frame %d after %d packets", de.Frame, len(pkts))
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v does not wrap %v", err, c.is)
			}
			for i, p := range pkts {
				if !bytes.Equal(p.Data, recs[i].data) {
					t.Fatalf("packet %d differs", i+1)
				}
			}
			if err := f.Next(&Packet{}); err != io.EOF {
				t.Errorf("after damage: %v, want io.EOF", err)
			}
		})
	}
}

func TestMaxCapLenOption(t *testing.T) {
	recs := []testRecord{{data: make([]byte, 100)}, {data: make([]byte, 3000)}}
	f, err := NewReaderWith(bytes.NewReader(pcapBytes(binary.LittleEndian, false, 1, recs)), "m", -1, ReaderOptions{MaxCapLen: 2048})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, f)
	if len(pkts) != 1 || !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
}

// BytesRead is polled by a progress bar on another goroutine.
func TestBytesReadConcurrent(t *testing.T) {
	in := compress(t, CompressionZstd, pcapBytes(binary.LittleEndian, false, 1, testRecords(t, 2000, 1e6)))
	f, err := NewReader(bytes.NewReader(in), "progress", int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := int64(0)
		for i := 0; i < 1000; i++ {
			n := f.BytesRead()
			if n < last || n > int64(len(in)) {
				t.Errorf("BytesRead went from %d to %d", last, n)
				return
			}
			last = n
		}
	}()
	if _, err := readAll(t, f); err != io.EOF {
		t.Fatal(err)
	}
	<-done
	if f.BytesRead() != int64(len(in)) {
		t.Errorf("BytesRead %d of %d", f.BytesRead(), len(in))
	}
}

func TestReadAhead(t *testing.T) {
	recs := testRecords(t, 3000, 1e6)
	plain := pcapBytes(binary.LittleEndian, false, 1, recs)
	for _, comp := range []string{CompressionZstd, CompressionGzip, CompressionNone} {
		in := compress(t, comp, plain)
		f, err := NewReaderWith(bytes.NewReader(in), "ahead", -1, ReaderOptions{ReadAhead: true})
		if err != nil {
			t.Fatal(err)
		}
		pkts, err := readAll(t, f)
		if err != io.EOF || len(pkts) != len(recs) {
			t.Fatalf("%s: %d packets, %v", comp, len(pkts), err)
		}
		for i := range pkts {
			if !bytes.Equal(pkts[i].Data, recs[i].data) {
				t.Fatalf("%s: packet %d differs", comp, i+1)
			}
		}
		f.Close()

		// Closing part way stops the goroutine.
		f, _ = NewReaderWith(bytes.NewReader(in), "ahead", -1, ReaderOptions{ReadAhead: true})
		f.Next(&Packet{})
		f.Close()
	}
	// Damage inside the compressed stream still surfaces as a DamageError.
	in := compress(t, CompressionGzip, plain)
	f, _ := NewReaderWith(bytes.NewReader(in[:len(in)/2]), "ahead", -1, ReaderOptions{ReadAhead: true})
	pkts, err := readAll(t, f)
	var de *DamageError
	if !errors.As(err, &de) || de.Frame != uint64(len(pkts)+1) {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
}

// TestPcapTimesAcrossBufferRefills: every record's time and length must
// survive the reader's buffer moving between reading the record header and
// the record body (a record that straddles the buffer's end).
func TestPcapTimesAcrossBufferRefills(t *testing.T) {
	var recs []testRecord
	for i := 0; i < 6000; i++ {
		// Odd sizes so records land on every offset of the buffer.
		data := bytes.Repeat([]byte{byte(i)}, 60+i%1400)
		recs = append(recs, testRecord{ts: uint64(1_700_000_000_000_000 + i*1000), wire: len(data) + 4, data: data})
	}
	raw := pcapBytes(binary.LittleEndian, false, 1, recs)
	f, err := NewReader(bytes.NewReader(raw), "refill.pcap", int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, f)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d packets, want %d", len(got), len(recs))
	}
	for i, p := range got {
		want := int64(recs[i].ts) * 1000
		if p.Time != want || p.WireLen != recs[i].wire {
			t.Fatalf("frame %d: time %d wire %d, want %d %d", i+1, p.Time, p.WireLen, want, recs[i].wire)
		}
	}
}

// TestReadAheadAgrees: reading records in place from the decompressor's
// chunks gives exactly what reading through a bufio.Reader gives, for
// records that cross chunks, records longer than a chunk's headroom (which
// are joined), a pcapng block larger than the buffer (skipped), and input
// cut anywhere (the same damage at the same frame and offset).
func TestReadAheadAgrees(t *testing.T) {
	var recs []testRecord
	for i := range 1500 {
		n := 60 + i*37%1400
		switch {
		case i%97 == 3:
			n = aheadHeadroom + 1 + i // longer than the headroom
		case i%211 == 7:
			n = DefaultMaxCapLen // the longest allowed: as long as a chunk
		}
		recs = append(recs, testRecord{ts: 1_700_000_000_000_000 + uint64(i)*1000, data: bytes.Repeat([]byte{byte(i)}, n)})
	}
	ng := ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1}}, recs[:700])
	ng = append(ng, ngBlock(0x0bad, bytes.Repeat([]byte{7}, 3<<20))...) // skipped, not buffered
	ng = append(ng, ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1}}, recs[700:])...)
	inputs := map[string][]byte{
		"pcap":   pcapBytes(binary.LittleEndian, false, 1, recs),
		"pcapng": ng,
	}
	for name, plain := range inputs {
		for _, comp := range []string{CompressionZstd, CompressionGzip, CompressionLZ4} {
			in := compress(t, comp, plain)
			for _, cut := range []int{len(in), len(in) / 3, len(in) / 2, len(in) - 10, 40} {
				read := func(ahead bool) ([]Packet, error) {
					f, err := NewReaderWith(bytes.NewReader(in[:cut]), "x", -1, ReaderOptions{ReadAhead: ahead})
					if err != nil {
						return nil, err
					}
					defer f.Close()
					return readAll(t, f)
				}
				want, werr := read(false)
				got, gerr := read(true)
				what := fmt.Sprintf("%s %s cut at %d of %d", name, comp, cut, len(in))
				if fmt.Sprint(werr) != fmt.Sprint(gerr) {
					t.Fatalf("%s: error %v with read-ahead, %v without", what, gerr, werr)
				}
				if len(got) != len(want) {
					t.Fatalf("%s: %d packets with read-ahead, %d without", what, len(got), len(want))
				}
				for i := range got {
					if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Time != want[i].Time || got[i].Frame != want[i].Frame || got[i].Offset != want[i].Offset {
						t.Fatalf("%s: packet %d differs", what, i+1)
					}
				}
				if cut == len(in) && (werr != io.EOF || len(got) != len(recs)) {
					t.Fatalf("%s: whole input gave %d packets, %v", what, len(got), werr)
				}
			}
		}
	}
}

// TestTruncatedHeader: a compressed capture cut before its first bytes
// decompress is damage the decompressor reports, and a whole one too short
// for a capture header is not a capture, with and without read-ahead.
func TestTruncatedHeader(t *testing.T) {
	plain := pcapBytes(binary.LittleEndian, false, 1, testRecords(t, 10, 1e6))
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		in := compress(t, comp, plain)
		for _, ahead := range []bool{false, true} {
			_, err := NewReaderWith(bytes.NewReader(in[:14]), "cut", -1, ReaderOptions{ReadAhead: ahead})
			if err == nil || errors.Is(err, ErrNotCapture) {
				t.Errorf("%s, read-ahead %v: %v, want the decompressor's error", comp, ahead, err)
			}
			// Whole but short: not a capture.
			_, err = NewReaderWith(bytes.NewReader(compress(t, comp, plain[:3])), "short", -1, ReaderOptions{ReadAhead: ahead})
			if !errors.Is(err, ErrNotCapture) {
				t.Errorf("%s, read-ahead %v, 3 bytes: %v, want %v", comp, ahead, err, ErrNotCapture)
			}
		}
	}
}

// TestKeptDecompressorThread reads a gzip capture whose decompressor keeps
// its thread from the start and after a few records, and checks that it
// yields what the buffered reader does.
func TestKeptDecompressorThread(t *testing.T) {
	in := compress(t, CompressionGzip, pcapBytes(binary.LittleEndian, false, 1, testRecords(t, 3000, 1e6)))
	read := func(ahead bool, keepAfter int) []Packet {
		f, err := NewReaderWith(bytes.NewReader(in), "x", -1, ReaderOptions{ReadAhead: ahead})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []Packet
		for {
			if len(out) == keepAfter {
				f.KeepDecompressorThread()
			}
			var p Packet
			if err := f.Next(&p); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				return out
			}
			p.Data = bytes.Clone(p.Data)
			out = append(out, p)
		}
	}
	want := read(false, 0)
	for _, after := range []int{0, 100} {
		got := read(true, after)
		if len(got) != len(want) {
			t.Fatalf("kept after %d: %d packets, want %d", after, len(got), len(want))
		}
		for i := range got {
			if got[i].Offset != want[i].Offset || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("kept after %d: packet %d differs", after, i)
			}
		}
	}
}
