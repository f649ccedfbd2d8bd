package classify

// SIPMethod is a SIP request method; 0 is a response or unknown method.
type SIPMethod uint8

// SIP methods, including the Lync/[MS-SIP] ones (BENOTIFY, SERVICE, NEGOTIATE).
const (
	SIPNone SIPMethod = iota
	SIPRegister
	SIPSubscribe
	SIPNotify
	SIPBenotify
	SIPService
	SIPInvite
	SIPAck
	SIPBye
	SIPCancel
	SIPOptions
	SIPMessage
	SIPInfoMethod
	SIPRefer
	SIPPrack
	SIPUpdate
	SIPPublish
	SIPNegotiate
)

var sipMethodNames = [...]string{"", "REGISTER", "SUBSCRIBE", "NOTIFY", "BENOTIFY", "SERVICE",
	"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "MESSAGE", "INFO", "REFER", "PRACK", "UPDATE",
	"PUBLISH", "NEGOTIATE"}

func (m SIPMethod) String() string {
	if int(m) < len(sipMethodNames) {
		return sipMethodNames[m]
	}
	return ""
}

// ExpectsAnswer is false for ACK and BENOTIFY, which are never answered.
func (m SIPMethod) ExpectsAnswer() bool { return m != SIPNone && m != SIPAck && m != SIPBenotify }

// sipMethod matches the method token exactly (SIP methods are case-sensitive).
func sipMethod(tok []byte) SIPMethod {
	for i := 1; i < len(sipMethodNames); i++ {
		if string(tok) == sipMethodNames[i] {
			return SIPMethod(i)
		}
	}
	return SIPNone
}

// SIPInfo is the start line and the headers of one SIP message that the
// detectors use. Domains are kept in fixed buffers; Call-ID as a hash.
type SIPInfo struct {
	Request       bool
	Method        SIPMethod // request method (SIPNone for responses)
	Status        int       // response status code
	HasCallID     bool
	CallIDHash    uint64 // FNV-1a of the Call-ID value
	CSeq          uint32
	CSeqMethod    SIPMethod
	ContentLength int // -1 when absent
	HeaderLen     int // bytes up to and including the blank line; 0 if incomplete
	Len           int // whole message length when known (headers + body), else 0
	fromLen       uint8
	from          [96]byte
	toLen         uint8
	to            [96]byte
}

// FromDomain returns the host part of the From URI (aliasing s).
func (s *SIPInfo) FromDomain() []byte { return s.from[:s.fromLen] }

// ToDomain returns the host part of the To URI (aliasing s).
func (s *SIPInfo) ToDomain() []byte { return s.to[:s.toLen] }

// sipStartLine parses the first line. It returns 1 on a SIP start line, 0 when
// b cannot be SIP, -1 when more bytes are needed to tell.
func sipStartLine(b []byte, s *SIPInfo) int {
	e := lineEnd(b[:min(len(b), 1024)])
	if e < 0 {
		if len(b) > 1024 {
			return 0
		}
		// Could it still become a start line?
		if n := min(len(b), 8); string(b[:n]) == "SIP/2.0 "[:n] {
			return -1
		}
		sp := index(b, " ")
		if sp < 0 {
			sp = len(b)
		}
		for i := 1; i < len(sipMethodNames); i++ {
			n := sipMethodNames[i]
			if sp <= len(n) && string(b[:sp]) == n[:sp] {
				return -1
			}
		}
		return 0
	}
	line := b[:e]
	if len(line) >= 12 && string(line[:8]) == "SIP/2.0 " {
		c := line[8:11]
		if c[0] < '1' || c[0] > '6' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9' {
			return 0
		}
		if len(line) > 11 && line[11] != ' ' {
			return 0
		}
		s.Status = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
		return 1
	}
	sp := index(line, " ")
	if sp <= 0 {
		return 0
	}
	m := sipMethod(line[:sp])
	if m == SIPNone || len(line) < sp+2+7 || string(line[len(line)-8:]) != " SIP/2.0" {
		return 0
	}
	uri := line[sp+1 : len(line)-8]
	if len(uri) == 0 || index(uri, " ") >= 0 || index(uri, ":") < 0 {
		return 0
	}
	s.Request, s.Method = true, m
	return 1
}

// ParseSIP decodes the SIP message at the start of b (a TCP stream or a
// datagram) into s. It returns false when b does not start with a SIP start
// line. Headers that are not yet complete are left zero and HeaderLen is 0.
func ParseSIP(b []byte, s *SIPInfo) bool {
	*s = SIPInfo{ContentLength: -1}
	if sipStartLine(b, s) != 1 {
		return false
	}
	p := lineEnd(b)
	p = skipEOL(b, p)
	for p < len(b) {
		e := lineEnd(b[p:])
		if e < 0 {
			return true
		}
		line := b[p : p+e]
		next := skipEOL(b, p+e)
		if len(line) == 0 {
			s.HeaderLen = next
			if s.ContentLength >= 0 && next+s.ContentLength <= len(b) {
				s.Len = next + s.ContentLength
			}
			return true
		}
		sipHeader(line, s)
		p = next
	}
	return true
}

// ParseSIPDatagram is ParseSIP for one UDP datagram: without Content-Length
// the message is the whole datagram (RFC 3261 §18.3).
func ParseSIPDatagram(b []byte, s *SIPInfo) bool {
	if !ParseSIP(b, s) {
		return false
	}
	if s.HeaderLen > 0 && s.Len == 0 && s.ContentLength < 0 {
		s.Len = len(b)
	}
	return true
}

// NextSIPMessage splits the next complete message off a SIP stream using
// Content-Length (absent means no body); CRLF keep-alives are skipped. ok is
// false when b does not start with a complete SIP message.
func NextSIPMessage(b []byte, s *SIPInfo) (msg, rest []byte, ok bool) {
	for len(b) >= 2 && b[0] == '\r' && b[1] == '\n' {
		b = b[2:]
	}
	if !ParseSIP(b, s) || s.HeaderLen == 0 {
		return nil, b, false
	}
	n := s.Len
	if s.ContentLength < 0 {
		n = s.HeaderLen
	}
	if n == 0 || n > len(b) {
		return nil, b, false
	}
	return b[:n], b[n:], true
}

func skipEOL(b []byte, p int) int {
	if p < len(b) && b[p] == '\r' {
		p++
	}
	if p < len(b) && b[p] == '\n' {
		p++
	}
	return p
}

func sipHeader(line []byte, s *SIPInfo) {
	c := index(line, ":")
	if c <= 0 {
		return
	}
	name, v := trimSpace(line[:c]), trimSpace(line[c+1:])
	switch {
	case eqFold(name, "call-id") || eqFold(name, "i"):
		s.HasCallID, s.CallIDHash = true, fnv64(v)
	case eqFold(name, "cseq"):
		var n uint32
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' && n < 1<<28 {
			n = n*10 + uint32(v[i]-'0')
			i++
		}
		s.CSeq = n
		s.CSeqMethod = sipMethod(trimSpace(v[i:]))
	case eqFold(name, "from") || eqFold(name, "f"):
		s.fromLen = uint8(copy(s.from[:], uriHost(v)))
	case eqFold(name, "to") || eqFold(name, "t"):
		s.toLen = uint8(copy(s.to[:], uriHost(v)))
	case eqFold(name, "content-length") || eqFold(name, "l"):
		n := 0
		for _, d := range v {
			if d < '0' || d > '9' || n > 1<<24 {
				break
			}
			n = n*10 + int(d-'0')
		}
		s.ContentLength = n
	}
}

func eqFold(b []byte, s string) bool { return len(b) == len(s) && hasPrefixFold(b, s) }

// uriHost returns the host of the first sip:/sips:/tel: URI in a name-addr.
func uriHost(v []byte) []byte {
	i := indexFold(v, "sip:")
	if j := indexFold(v, "sips:"); j >= 0 && (i < 0 || j < i) {
		i = j + 1
	}
	if i < 0 {
		return nil
	}
	u := v[i+4:]
	if at := index(u, "@"); at >= 0 {
		if end := indexAny(u, ">;? "); end < 0 || at < end {
			u = u[at+1:]
		}
	}
	if end := indexAny(u, ">;:? "); end >= 0 {
		u = u[:end]
	}
	return u
}

func indexAny(b []byte, set string) int {
	for i, c := range b {
		for j := 0; j < len(set); j++ {
			if c == set[j] {
				return i
			}
		}
	}
	return -1
}
