package classify

// HTTPInfo is an HTTP/1.x request or response start.
type HTTPInfo struct {
	Request bool
	Method  uint8 // index into httpMethods + 1; 0 for a response
	Status  int
	OCSP    bool // POST /ocsp..., content type application/ocsp-request, or GET on /ocsp
	CRL     bool // request path ending in .crl
	hostLen uint8
	host    [128]byte
	pathLen uint8
	path    [128]byte
}

var httpMethods = [...]string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH"}

// MethodName returns the request method ("" for a response).
func (h *HTTPInfo) MethodName() string {
	if h.Method == 0 || int(h.Method) > len(httpMethods) {
		return ""
	}
	return httpMethods[h.Method-1]
}

// Host returns the Host header (aliasing h).
func (h *HTTPInfo) Host() []byte { return h.host[:h.hostLen] }

// Path returns the request target, truncated to 128 bytes (aliasing h).
func (h *HTTPInfo) Path() []byte { return h.path[:h.pathLen] }

// httpStart returns 1 for an HTTP/1.x start line, 0 for not HTTP, -1 for
// "need more bytes".
func httpStart(b []byte, h *HTTPInfo) int {
	e := lineEnd(b[:min(len(b), 2048)])
	if e < 0 {
		if len(b) > 2048 {
			return 0
		}
		if n := min(len(b), 5); string(b[:n]) == "HTTP/"[:n] {
			return -1
		}
		sp := index(b, " ")
		if sp < 0 {
			sp = len(b)
		}
		for _, m := range httpMethods {
			if sp <= len(m) && string(b[:sp]) == m[:sp] {
				return -1
			}
		}
		return 0
	}
	line := b[:e]
	if len(line) >= 12 && string(line[:7]) == "HTTP/1." && line[8] == ' ' {
		c := line[9:12]
		if c[0] < '1' || c[0] > '5' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9' {
			return 0
		}
		h.Status = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
		return 1
	}
	sp := index(line, " ")
	if sp <= 0 || len(line) < sp+2+9 {
		return 0
	}
	m := 0
	for i, name := range httpMethods {
		if string(line[:sp]) == name {
			m = i + 1
		}
	}
	v := line[len(line)-9:]
	if m == 0 || string(v[:8]) != " HTTP/1." || (v[8] != '0' && v[8] != '1') {
		return 0
	}
	h.Request, h.Method = true, uint8(m)
	h.pathLen = uint8(copy(h.path[:], line[sp+1:len(line)-9]))
	return 1
}

// ParseHTTP decodes an HTTP/1.x request or response start into h; false when
// b does not start with an HTTP start line.
func ParseHTTP(b []byte, h *HTTPInfo) bool {
	*h = HTTPInfo{}
	if httpStart(b, h) != 1 {
		return false
	}
	p := skipEOL(b, lineEnd(b))
	for p < len(b) {
		e := lineEnd(b[p:])
		if e <= 0 {
			break
		}
		line := b[p : p+e]
		if c := index(line, ":"); c > 0 {
			name, v := trimSpace(line[:c]), trimSpace(line[c+1:])
			switch {
			case eqFold(name, "host"):
				h.hostLen = uint8(copy(h.host[:], v))
			case eqFold(name, "content-type"):
				if hasPrefixFold(v, "application/ocsp-request") || hasPrefixFold(v, "application/ocsp-response") {
					h.OCSP = true
				}
			}
		}
		p = skipEOL(b, p+e)
	}
	if h.Request {
		path := h.Path()
		if q := index(path, "?"); q >= 0 {
			path = path[:q]
		}
		if len(path) >= 4 && hasPrefixFold(path[len(path)-4:], ".crl") {
			h.CRL = true
		}
		if indexFold(path, "/ocsp") >= 0 {
			h.OCSP = true
		}
	}
	return true
}
