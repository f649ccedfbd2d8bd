package decode

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ExtractFrames re-reads the capture src (any format and compression) and
// writes the frames numbered in frames (1-based, as Packet.Frame) to dst as
// pcapng, each on an interface with its original link type and name, for
// opening the evidence of a finding in Wireshark. It fails if a frame is
// not in the capture.
func ExtractFrames(dst io.Writer, src string, frames []uint64) error {
	want := slices.Clone(frames)
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		return errors.New("no frames to extract")
	}
	f, err := Open(src)
	if err != nil {
		return err
	}
	defer f.Close()

	bw := bufio.NewWriter(dst)
	var w *pcapgo.NgWriter
	outIface := map[int]int{} // source interface index -> output interface id
	var p Packet
	for len(want) > 0 {
		if err := f.Next(&p); err != nil {
			if err == io.EOF {
				break
			}
			var de *DamageError
			if errors.As(err, &de) && de.Frame > want[len(want)-1] {
				break // damage after the last wanted frame does not matter
			}
			return err
		}
		if p.Frame != want[0] {
			continue
		}
		want = want[1:]
		si := p.Point - f.BasePoint
		id, ok := outIface[si]
		if !ok {
			intf := pcapgo.NgInterface{LinkType: layers.LinkType(p.LinkType), SnapLength: 0}
			if ifs := f.ifaces; si >= 0 && si < len(ifs) {
				intf.Name, intf.Description = ifs[si].Name, ifs[si].Description
			}
			if w == nil {
				w, err = pcapgo.NewNgWriterInterface(bw, intf, pcapgo.NgWriterOptions{
					SectionInfo: pcapgo.NgSectionInfo{Application: "edgeaudit"},
				})
				id = 0
			} else {
				id, err = w.AddInterface(intf)
			}
			if err != nil {
				return fmt.Errorf("%s: writing pcapng: %w", f.Path, err)
			}
			outIface[si] = id
		}
		ci := gopacket.CaptureInfo{
			Timestamp:      time.Unix(0, p.Time),
			CaptureLength:  len(p.Data),
			Length:         max(p.WireLen, len(p.Data)),
			InterfaceIndex: id,
		}
		if err := w.WritePacket(ci, p.Data); err != nil {
			return fmt.Errorf("%s: packet %d: writing pcapng: %w", f.Path, p.Frame, err)
		}
	}
	if len(want) > 0 {
		return fmt.Errorf("%s: packet %d not in the capture (%d frames)", f.Path, want[0], f.Frames())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteEvidence extracts frames of src into a pcapng file at dst, written
// under a temporary name and renamed into place only when complete.
func WriteEvidence(dst, src string, frames []uint64) error {
	out, err := CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := ExtractFrames(out, src, frames); err != nil {
		return err
	}
	return out.Commit()
}
