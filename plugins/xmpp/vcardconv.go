package xmpp

import (
	"encoding/xml"

	"github.com/cusax/cusax/pkg/vcardxml"
)

// vcardText converts an xCard (source "xep-0292") or a vcard-temp element
// (source "xep-0054") to vCard 4 text with vcardxml, which bounds its work
// and refuses malformed input.
func vcardText(d *xml.Decoder, start *xml.StartElement, source string) (string, error) {
	decode := vcardxml.DecodeVCardTemp
	if source == "xep-0292" {
		decode = vcardxml.DecodeXCard
	}
	card, err := decode(d, start)
	if err != nil {
		return "", err
	}
	return vcardxml.Text(card)
}

// vcardxml's bound on one vCard, and its error for a larger one.
const vcardMaxSize = vcardxml.MaxSize

var errVCardTooLarge = vcardxml.ErrTooLarge
