// Command cusax-numbers turns phone numbers into E.164 for cusax
// whois-caller, with the full libphonenumber metadata
// (github.com/nyaruka/phonenumbers). It is a separate program because
// loading that metadata costs every process that links it ~15 ms at
// start-up, and cusax re-executes itself for every plugin: only the
// commands that meet a national number pay, once, here.
//
//	cusax-numbers -region DE < numbers.txt
//
// reads one number per line and writes one line per number: its E.164
// form, or an empty line when it cannot tell.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/cusax/cusax/pkg/core/callerid/e164"
)

// maxLines bounds one run: a roster's worth of numbers.
const maxLines = 1 << 20

func main() {
	region := flag.String("region", "", "ISO 3166-1 alpha-2 country of national numbers")
	flag.Parse()
	n := e164.New(e164.DefaultRegion(*region))
	if *region != "" && n.Region() == "" {
		fmt.Fprintf(os.Stderr, "cusax-numbers: unknown region %q\n", *region)
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 4096), 4096)
	out := bufio.NewWriter(os.Stdout)
	for lines := 0; in.Scan() && lines < maxLines; lines++ {
		e, _ := n.E164(in.Text())
		fmt.Fprintln(out, e)
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "cusax-numbers: %v\n", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		os.Exit(1)
	}
}
