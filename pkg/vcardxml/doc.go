// Package vcardxml converts vCards between the three forms cusax meets and
// go-vcard's in-memory vcard.Card (vCard 4, RFC 6350):
//
//   - XEP-0054 vcard-temp XML, <vCard xmlns='vcard-temp'>, the legacy form
//     every XMPP server still serves (ParseVCardTemp, DecodeVCardTemp,
//     WriteVCardTemp);
//   - XEP-0292 / RFC 6351 xCard XML, <vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>,
//     the vCard 4 form kept in PEP (ParseXCard, DecodeXCard, WriteXCard);
//   - RFC 6350 text, the form protocol.VCard carries between plugins and the
//     core (Text, ParseText).
//
// No Go library converts these XML forms (github.com/emersion/go-vcard is
// text only, and the XMPP libraries we use have no vcard-temp or xCard
// types), so this package does it once, for every backend and command.
//
// # Canonical cards
//
// Every parser returns a canonical card, so that a card read from any form
// survives a round trip through the same form unchanged:
//
//   - VERSION is "4.0"; parameter names are upper case; TYPE values are
//     lower case, one value per entry; TYPE=pref becomes PREF=1 (RFC 6350
//     §5.3 replaces the vCard 3 form);
//   - a VALUE parameter is kept only where it differs from the property's
//     default value type (RFC 6350 §6); a TEL whose value is a URI gets
//     VALUE=uri (RFC 6350 §6.4.1: TEL defaults to text);
//   - Prosody 0.12's vcard_legacy turns <NUMBER>sip:bob@example.test</NUMBER>
//     into <uri>tel:sip:bob@example.test</uri>; a TEL value starting with
//     tel:sip: or tel:sips: is turned back into the SIP URI;
//   - N and ADR always have their 5 and 7 components, GENDER has no empty
//     trailing identity; BDAY and ANNIVERSARY dates in ISO 8601 extended form
//     (1984-02-03, as vcard-temp and vCard 3 write them) use the basic form
//     vCard 4 requires (19840203, RFC 6350 §4.3.1);
//   - text is valid UTF-8 (invalid bytes become U+FFFD), line breaks are
//     "\n", and characters XML cannot carry become U+FFFD, so every card can
//     be written as XML and as text;
//   - property and parameter names are ALPHA *(ALPHA / DIGIT / "-") and
//     group names 1*(ALPHA / DIGIT / "-") (RFC 6350 §3.3, and an xCard
//     element name cannot start with a digit); anything else is dropped.
//
// # vcard-temp
//
// vcard-temp holds less than vCard 4. The mapping (XEP-0054 §3 ↔ RFC 6350
// §6), both ways:
//
//	FN                                   FN
//	N: FAMILY GIVEN MIDDLE PREFIX SUFFIX N:family;given;additional;prefix;suffix
//	NICKNAME                             NICKNAME
//	PHOTO: EXTVAL                        PHOTO:<the URI>
//	PHOTO: TYPE + BINVAL                 PHOTO:data:<TYPE>;base64,<BINVAL>
//	BDAY 1984-02-03                      BDAY:19840203
//	ADR: POBOX EXTADD STREET LOCALITY    ADR:pobox;ext;street;locality;region;code;country
//	     REGION PCODE CTRY
//	TEL: NUMBER +1 555 0100              TEL;VALUE=uri:tel:+1-555-0100
//	TEL: NUMBER sip:… / sips:…           TEL;VALUE=uri:sip:… / sips:…
//	TEL: NUMBER tel:sip:… (Prosody)      TEL;VALUE=uri:sip:…
//	TEL: NUMBER other text               TEL:<the text>
//	EMAIL: USERID                        EMAIL
//	JABBERID                             IMPP:xmpp:<JID, '%' '?' '#' escaped>
//	TITLE, ROLE, NOTE, URL               TITLE, ROLE, NOTE, URL
//	ORG: ORGNAME ORGUNIT…                ORG:name;unit;…
//	UID                                  UID (with VALUE=text unless a URI)
//	flags of TEL: HOME WORK VOICE FAX    TYPE=home,work,voice,fax,pager,msg,cell,
//	  PAGER MSG CELL VIDEO BBS MODEM       video,bbs,modem,isdn,pcs
//	  ISDN PCS
//	flags of EMAIL: HOME WORK INTERNET   TYPE=home,work,internet,x400
//	  X400
//	flags of ADR: HOME WORK POSTAL       TYPE=home,work,postal,parcel,dom,intl
//	  PARCEL DOM INTL
//	<PREF/>                              PREF=1 (any PREF value, or TYPE=pref)
//
// A bare NUMBER becomes a tel: URI; spaces, which a tel: URI cannot hold,
// become the visual separator "-" (RFC 3966 §5.1.1), so "+1 555 0100" is
// written back as "+1-555-0100". MSG stays "msg" (vCard 3's voice
// messaging) rather than vCard 4's "text" (SMS), which means something else.
// Element names are matched ignoring case, although XEP-0054 spells them in
// upper case, and CTRY is also read as COUNTRY. Everything else is dropped
// when writing vcard-temp and ignored when reading it; so are empty
// elements, and BINVAL that is not base64.
//
// # Hostile input
//
// vCards come from other people's servers. Parsers refuse documents larger
// than MaxSize (ErrTooLarge), elements nested deeper than a vCard ever is, or
// more XML tokens than MaxSize could hold; they reject DTDs (RFC 6120 §11.1
// forbids them in XMPP, and without them no entity can be declared, let alone
// expanded) and binary junk (ErrMalformed). They never panic and always
// finish in time linear in the input.
//
// # Text
//
// Text writes RFC 6350 text itself rather than through go-vcard's Encoder:
// that encoder escapes commas inside parameter values as "\,", which its own
// decoder then rejects (the whole line is dropped), it never quotes values
// containing ':' or ';', and it does not fold lines. The output stays
// readable by go-vcard's decoder. ParseText likewise reads text itself, so
// that it can accept vCard 2.1 exports (bare TYPE parameters such as
// TEL;WORK;VIDEO:…, which go-vcard turns into a parameter named after the
// value, QUOTED-PRINTABLE and BASE64 values), quoted parameter values with
// commas, RFC 6868 ^-escapes, and the "\;" and "\N" escapes go-vcard leaves
// in place.
//
// Error contract: the package never prints and never exits. Parsers return
// errors wrapping ErrTooLarge or ErrMalformed (and the underlying XML or
// reader error); writers return ErrTooLarge when the result would exceed
// MaxSize and ErrMalformed for a card whose property, parameter or group names
// cannot be written, and write nothing in either case.
package vcardxml
