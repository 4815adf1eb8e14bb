package vcardxml

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// A typical contact: the full vcard-temp card (name, address, three TELs,
// two e-mail addresses, JID, organisation…), about 1.5 KiB of XML.

func BenchmarkParseVCardTemp(b *testing.B) {
	b.SetBytes(int64(len(fullVCardTemp)))
	for b.Loop() {
		if _, err := ParseVCardTemp(strings.NewReader(fullVCardTemp)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseXCard(b *testing.B) {
	var x bytes.Buffer
	if err := WriteXCard(&x, fullVCardTempCard); err != nil {
		b.Fatal(err)
	}
	in := x.String()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseXCard(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteXCard(b *testing.B) {
	for b.Loop() {
		if err := WriteXCard(io.Discard, fullVCardTempCard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVCardTempToText is the XMPP plugin's path: vcard-temp XML to
// the text protocol.VCard carries.
func BenchmarkVCardTempToText(b *testing.B) {
	for b.Loop() {
		c, err := ParseVCardTemp(strings.NewReader(fullVCardTemp))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Text(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseText(b *testing.B) {
	b.SetBytes(int64(len(fullText)))
	for b.Loop() {
		if _, err := ParseText(fullText); err != nil {
			b.Fatal(err)
		}
	}
}
