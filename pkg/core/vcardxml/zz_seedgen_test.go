package vcardxml

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Temporary: writes the hand-made seed corpus.
func TestSeedGen(t *testing.T) {
	if os.Getenv("SEEDGEN") == "" {
		t.Skip()
	}
	vt := func(s string) string { return `<vCard xmlns="vcard-temp">` + s + `</vCard>` }
	seeds := map[string]map[string]string{
		"FuzzParseVCardTemp": {
			"fn":            vt(`<FN>Bob</FN>`),
			"n":             vt(`<N><FAMILY>Doe</FAMILY><GIVEN>J</GIVEN><MIDDLE>Q</MIDDLE><PREFIX>Dr</PREFIX><SUFFIX>Jr</SUFFIX></N>`),
			"tel_spaces":    vt(`<TEL><HOME/><VOICE/><NUMBER>+1 (555) 555 0100</NUMBER></TEL>`),
			"tel_sip_video": vt(`<TEL><WORK/><VIDEO/><PREF/><NUMBER>sip:bob@example.test</NUMBER></TEL>`),
			"tel_prosody":   vt(`<TEL><NUMBER>tel:sip:bob@example.test</NUMBER></TEL>`),
			"tel_flags":     vt(`<TEL><FAX/><PAGER/><MSG/><CELL/><BBS/><MODEM/><ISDN/><PCS/><NUMBER>tel:+15550100;ext=1</NUMBER></TEL>`),
			"email":         vt(`<EMAIL><INTERNET/><X400/><PREF/><USERID>a@b</USERID></EMAIL><EMAIL>c@d<HOME/></EMAIL>`),
			"adr":           vt(`<ADR><WORK/><POSTAL/><PARCEL/><DOM/><INTL/><POBOX>1</POBOX><EXTADD>2</EXTADD><STREET>3</STREET><LOCALITY>4</LOCALITY><REGION>5</REGION><PCODE>6</PCODE><COUNTRY>7</COUNTRY></ADR>`),
			"org":           vt(`<ORG><ORGNAME>A;B</ORGNAME><ORGUNIT>C</ORGUNIT><ORGUNIT></ORGUNIT></ORG>`),
			"photo_bin": vt(`<PHOTO><TYPE>image/gif</TYPE><BINVAL>R0lG
ODlh</BINVAL></PHOTO>`),
			"photo_ext":     vt(`<PHOTO><EXTVAL>data:image/png;base64,AAAA</EXTVAL></PHOTO>`),
			"jid":           vt(`<JABBERID>a%b?c#d@e</JABBERID>`),
			"misc":          vt(`<NICKNAME>n</NICKNAME><BDAY>1999-12-31</BDAY><TITLE>t</TITLE><ROLE>r</ROLE><NOTE>a&#xA;b,c</NOTE><UID>u</UID><URL>http://x</URL>`),
			"foreign_lower": `<?xml version="1.0"?><!--c--><vcard xmlns="vcard-temp" xmlns:x="urn:x"><x:FN>no</x:FN><fn><![CDATA[<b>]]></fn></vcard>`,
			"empty":         `<vCard xmlns='vcard-temp'/>`,
		},
		"FuzzParseXCard": {
			"fn":        xcard(`<fn><text>Bob</text></fn>`),
			"tel_uri":   xcard(`<tel><parameters><type><text>work</text><text>video</text></type><pref><integer>1</integer></pref></parameters><uri>sip:b@example.test</uri></tel>`),
			"tel_text":  xcard(`<tel><text>+1 555 0100</text></tel>`),
			"prosody":   xcard(`<tel><uri>tel:sip:b@example.test</uri></tel>`),
			"n":         xcard(`<n><surname>a</surname><given>b</given><additional>c</additional><additional>d</additional><prefix/><suffix/></n>`),
			"adr":       xcard(`<adr><pobox/><ext/><street>s</street><locality>l</locality><region/><code>c</code><country>x</country></adr>`),
			"gender":    xcard(`<gender><sex>F</sex><identity>i</identity></gender>`),
			"group":     xcard(`<group name="item1"><email><text>a@b</text></email><x-ablabel><unknown>L</unknown></x-ablabel></group>`),
			"lists":     xcard(`<nickname><text>a</text><text>b</text></nickname><categories><text>c</text></categories><org><text>O</text><text>U</text></org>`),
			"types":     xcard(`<bday><date>--0203</date></bday><anniversary><date-time>20000101T000000Z</date-time></anniversary><rev><timestamp>20200101T000000Z</timestamp></rev><tz><utc-offset>-0500</utc-offset></tz><x-b><boolean>true</boolean></x-b>`),
			"params":    xcard(`<adr><parameters><label><text>a, b: c</text></label><geo><uri>geo:1,2</uri></geo><language><language-tag>de</language-tag></language></parameters><pobox/><ext/><street/><locality/><region/><code/><country/></adr>`),
			"vcards":    `<vcards xmlns="urn:ietf:params:xml:ns:vcard-4.0"><vcard><fn><text>A</text></fn></vcard><vcard/></vcards>`,
			"lenient":   xcard(`<fn>Bob</fn><gender><sex><text>M</text></sex></gender><lang><parameters><pref>1</pref></parameters><language-tag>en</language-tag></lang>`),
			"clientpid": xcard(`<clientpidmap><sourceid>1</sourceid><uri>urn:uuid:x</uri></clientpidmap><uid><text>u</text></uid>`),
			"foreign":   `<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0" xmlns:x="urn:x"><x:fn><text>n</text></x:fn><note><x:text>n</x:text><text>y</text></note></vcard>`,
		},
		"FuzzParseText": {
			"v4":         "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob\r\nTEL;TYPE=video;PREF=1;VALUE=uri:sip:b@example.test\r\nEND:VCARD\r\n",
			"v3":         "BEGIN:VCARD\nVERSION:3.0\nTEL;TYPE=WORK,pref:+1 555\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\nBDAY:2000-01-02\nEND:VCARD\n",
			"v21":        "BEGIN:VCARD\r\nVERSION:2.1\r\nTEL;CELL;VIDEO:+1\r\nN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=C3=BC;=\r\nb\r\nEND:VCARD\r\n",
			"params":     "BEGIN:VCARD\r\nADR;LABEL=\"a,b^n^'c^^\";GEO=\"geo:1,2\":;;s;l;;;\r\nEND:VCARD\r\n",
			"govcard":    "BEGIN:VCARD\r\nVERSION:4.0\r\nADR;LABEL=a\\, b\\nc;TYPE=HOME;TYPE=WORK:;;x;;;;\r\nEND:VCARD\r\n",
			"escapes":    "BEGIN:VCARD\r\nNOTE:a\\;b\\,c\\nd\\Ne\\\\f\\g\r\nN:a\\;b;c\r\nEND:VCARD\r\n",
			"folded":     "BEGIN:VCARD\r\nFN:ab\r\n c\r\n\td\r\nitem1.EMAIL:x@y\r\nitem1.X-ABLABEL:l\r\nEND:VCARD\r\n",
			"agent":      "BEGIN:VCARD\r\nAGENT:\r\nBEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\nFN:B\r\nEND:VCARD\r\n",
			"structured": "BEGIN:VCARD\r\nGENDER:M;\r\nCLIENTPIDMAP:1;urn:x\r\nORG:a\\, b;c\r\nCATEGORIES:x,y\r\nEND:VCARD\r\n",
			"prosody":    "BEGIN:VCARD\r\nTEL:tel:sip:b@example.test\r\nTEL;VALUE=text:sips:c@d\r\nEND:VCARD\r\n",
		},
	}
	for target, m := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range m {
			var body string
			if target == "FuzzParseText" {
				body = fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
			} else {
				body = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			}
			if err := os.WriteFile(filepath.Join(dir, "seed_"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
