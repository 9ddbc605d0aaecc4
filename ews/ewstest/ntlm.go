package ewstest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unicode/utf16"

	//lint:ignore SA1019 NTLMv2 is defined over MD4: the fake must compute it to verify a client
	"golang.org/x/crypto/md4"
)

// Server side of NTLMv2 (MS-NLMP): a CHALLENGE for each NEGOTIATE, then
// verification of the AUTHENTICATE message's NTProofStr against the
// account's password. The result authenticates one TCP connection.

const (
	flagUnicode        = 1 << 0
	flagRequestTarget  = 1 << 2
	flagNTLM           = 1 << 9
	flagAlwaysSign     = 1 << 15
	flagTargetDomain   = 1 << 16
	flagExtendedSecure = 1 << 19
	flagTargetInfo     = 1 << 23
	flagVersion        = 1 << 25
	flag128            = 1 << 29
	flag56             = 1 << 31
)

var ntlmSignature = []byte("NTLMSSP\x00")

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) string {
	if len(b)%2 != 0 {
		return ""
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func messageType(msg []byte) uint32 {
	if len(msg) < 12 || !bytes.Equal(msg[:8], ntlmSignature) {
		return 0
	}
	return binary.LittleEndian.Uint32(msg[8:12])
}

// challengeMessage builds a CHALLENGE (type 2) for the domain.
func challengeMessage(domain string) (msg []byte, challenge [8]byte) {
	rand.Read(challenge[:])
	target := utf16le(domain)
	var info bytes.Buffer
	av := func(id uint16, v []byte) {
		binary.Write(&info, binary.LittleEndian, id)
		binary.Write(&info, binary.LittleEndian, uint16(len(v)))
		info.Write(v)
	}
	av(2, utf16le(domain))   // MsvAvNbDomainName
	av(1, utf16le("EXCH01")) // MsvAvNbComputerName
	av(4, utf16le(strings.ToLower(domain)+".local"))
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, uint64(time.Now().UnixNano()/100)+116444736000000000)
	av(7, ts) // MsvAvTimestamp
	av(0, nil)
	const header = 56
	b := make([]byte, header, header+len(target)+info.Len())
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], 2)
	binary.LittleEndian.PutUint16(b[12:], uint16(len(target)))
	binary.LittleEndian.PutUint16(b[14:], uint16(len(target)))
	binary.LittleEndian.PutUint32(b[16:], header)
	flags := uint32(flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetDomain |
		flagExtendedSecure | flagTargetInfo | flagVersion | flag128 | flag56)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], challenge[:])
	binary.LittleEndian.PutUint16(b[40:], uint16(info.Len()))
	binary.LittleEndian.PutUint16(b[42:], uint16(info.Len()))
	binary.LittleEndian.PutUint32(b[44:], uint32(header+len(target)))
	copy(b[48:], []byte{10, 0, 0x63, 0x45, 0, 0, 0, 15}) // version 10.0.17763, NTLM revision 15
	b = append(b, target...)
	b = append(b, info.Bytes()...)
	return b, challenge
}

// authenticateMessage is what the fake needs of an AUTHENTICATE (type 3).
type authenticateMessage struct {
	Domain, User string
	NTResponse   []byte
}

func field(msg []byte, at int) ([]byte, error) {
	if len(msg) < at+8 {
		return nil, errors.New("short message")
	}
	l := int(binary.LittleEndian.Uint16(msg[at:]))
	off := int(binary.LittleEndian.Uint32(msg[at+4:]))
	if off < 0 || l < 0 || off+l > len(msg) {
		return nil, errors.New("field out of range")
	}
	return msg[off : off+l], nil
}

func parseAuthenticate(msg []byte) (*authenticateMessage, error) {
	if messageType(msg) != 3 || len(msg) < 64 {
		return nil, errors.New("not an NTLM AUTHENTICATE message")
	}
	nt, err := field(msg, 20)
	if err != nil {
		return nil, err
	}
	dom, err := field(msg, 28)
	if err != nil {
		return nil, err
	}
	user, err := field(msg, 36)
	if err != nil {
		return nil, err
	}
	return &authenticateMessage{Domain: fromUTF16le(dom), User: fromUTF16le(user), NTResponse: nt}, nil
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// verifyNTLMv2 checks the NTProofStr: HMAC-MD5(NTOWFv2, challenge || blob).
func verifyNTLMv2(am *authenticateMessage, password string, challenge [8]byte) bool {
	if len(am.NTResponse) < 16+28 {
		return false // NTLMv1 or anonymous: refused
	}
	h := md4.New()
	h.Write(utf16le(password))
	ntowf := hmacMD5(h.Sum(nil), utf16le(strings.ToUpper(am.User)+am.Domain))
	proof, blob := am.NTResponse[:16], am.NTResponse[16:]
	if blob[0] != 1 || blob[1] != 1 {
		return false
	}
	return hmac.Equal(proof, hmacMD5(ntowf, challenge[:], blob))
}
