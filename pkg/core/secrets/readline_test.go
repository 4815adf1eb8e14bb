package secrets

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadPasswordLine(t *testing.T) {
	tests := []struct {
		name    string
		in      io.Reader
		want    string
		rest    string // what must remain unread
		wantErr error
	}{
		{name: "LF", in: strings.NewReader("pw\n"), want: "pw"},
		{name: "CRLF", in: strings.NewReader("pw\r\n"), want: "pw"},
		{name: "no newline", in: strings.NewReader("pw"), want: "pw"},
		{name: "spaces kept", in: strings.NewReader(" p w \n"), want: " p w "},
		{name: "only one line consumed", in: strings.NewReader("pw\nnext\n"), want: "pw", rest: "next\n"},
		{name: "one byte at a time", in: iotest.OneByteReader(strings.NewReader("pw\r\n")), want: "pw"},
		{name: "data with EOF", in: iotest.DataErrReader(strings.NewReader("pw")), want: "pw"},
		{name: "max length", in: strings.NewReader(strings.Repeat("x", MaxPasswordLine-1) + "\n"),
			want: strings.Repeat("x", MaxPasswordLine-1)},
		{name: "empty", in: strings.NewReader(""), wantErr: ErrEmptyPassword},
		{name: "empty line", in: strings.NewReader("\n"), wantErr: ErrEmptyPassword},
		{name: "CR only", in: strings.NewReader("\r\n"), wantErr: ErrEmptyPassword},
		{name: "too long", in: strings.NewReader(strings.Repeat("x", MaxPasswordLine) + "\n")},
		{name: "reader error", in: iotest.ErrReader(errors.New("boom"))},
		{name: "error mid-line", in: io.MultiReader(strings.NewReader(testPassword), iotest.ErrReader(errors.New("boom")))},
		{name: "no progress", in: zeroReader{}, wantErr: io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadPasswordLine(tt.in)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("ReadPasswordLine = %q, %v; want %q", got, err, tt.want)
				}
				if tt.rest != "" {
					rest, _ := io.ReadAll(tt.in)
					if string(rest) != tt.rest {
						t.Errorf("left %q unread, want %q", rest, tt.rest)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadPasswordLine = %q, want error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), "xxxx") {
				t.Errorf("error includes the input: %v", err)
			}
		})
	}
}

// Reading a too-long line stops at the limit.
func TestReadPasswordLineReadsAtMost4KiB(t *testing.T) {
	r := &countingReader{r: strings.NewReader(strings.Repeat("x", 10000))}
	if _, err := ReadPasswordLine(r); err == nil {
		t.Fatal("want error")
	}
	if r.n > MaxPasswordLine {
		t.Errorf("read %d bytes, want at most %d", r.n, MaxPasswordLine)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
