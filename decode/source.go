package decode

// Source delivers frames one at a time into a caller-owned Packet. A file
// implements it, and so will a live AF_PACKET capture; the pipeline is coded
// against this interface only.
type Source interface {
	// Next fills the frame fields of p. It returns io.EOF at the clean end
	// of input and a *DamageError (once, then io.EOF) when input is damaged.
	Next(p *Packet) error
	Close() error
}
