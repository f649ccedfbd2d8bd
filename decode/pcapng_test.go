package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// ngBlock frames body as a little-endian pcapng block of type typ.
func ngBlock(typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	out := binary.LittleEndian.AppendUint32(nil, typ)
	out = binary.LittleEndian.AppendUint32(out, n)
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, n)
}

// Simple and obsolete packet blocks, and a block too large for the buffer
// that is not a packet: streamed past, not loaded.
func TestPcapngOtherBlocks(t *testing.T) {
	frame := ethTCP(t, 11)
	file := ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1, tsres: 9}}, nil)

	spb := binary.LittleEndian.AppendUint32(nil, uint32(len(frame)))
	file = append(file, ngBlock(ngSPB, append(spb, frame...))...)

	big := ngBlock(0x0bad, make([]byte, 3<<20)) // custom block, 3 MiB
	file = append(file, big...)

	opb := binary.LittleEndian.AppendUint16(nil, 0) // interface
	opb = binary.LittleEndian.AppendUint16(opb, 0)  // drops
	opb = binary.LittleEndian.AppendUint32(opb, 0)
	opb = binary.LittleEndian.AppendUint32(opb, 42)
	opb = binary.LittleEndian.AppendUint32(opb, uint32(len(frame)))
	opb = binary.LittleEndian.AppendUint32(opb, 1514)
	file = append(file, ngBlock(ngOPB, append(opb, frame...))...)

	f, err := NewReader(bytes.NewReader(compress(t, CompressionLZ4, file)), "blocks", -1)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, f)
	if err != io.EOF || len(pkts) != 2 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	if !bytes.Equal(pkts[0].Data, frame) || pkts[0].WireLen != len(frame) {
		t.Errorf("simple packet %+v", pkts[0])
	}
	if !bytes.Equal(pkts[1].Data, frame) || pkts[1].WireLen != 1514 || pkts[1].Time != 42 || pkts[1].Frame != 2 {
		t.Errorf("obsolete packet %+v", pkts[1])
	}
	if want := int64(len(file) - len(ngBlock(ngOPB, append(opb, frame...)))); pkts[1].Offset != want {
		t.Errorf("offset after the big block %d, want %d", pkts[1].Offset, want)
	}

	// The same big block cut short is damage at the block, not a hang.
	cut := file[:len(file)-len(big)/2]
	cut = cut[:len(ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1, tsres: 9}}, nil))+len(ngBlock(ngSPB, append(spb, frame...)))+1000]
	f, _ = NewReader(bytes.NewReader(cut), "cut", -1)
	pkts, err = readAll(t, f)
	var de *DamageError
	if !errors.As(err, &de) || len(pkts) != 1 || de.Frame != 2 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
}

// A record must be delivered whole to the pipeline even when it straddles
// the reader's buffer boundary many times over.
func TestRecordsAcrossBufferBoundaries(t *testing.T) {
	var recs []testRecord
	for i := range 3000 {
		recs = append(recs, testRecord{ts: uint64(i), data: bytes.Repeat([]byte{byte(i)}, 1+(i*7919)%9000)})
	}
	in := pcapBytes(binary.LittleEndian, true, 1, recs)
	f, err := NewReader(bytes.NewReader(in), "big", -1)
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	for i := range recs {
		if err := f.Next(&p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Data, recs[i].data) {
			t.Fatalf("record %d differs", i+1)
		}
	}
	if err := f.Next(&p); err != io.EOF {
		t.Fatal(err)
	}
}
