package vcardxml

import (
	"bytes"
	"fmt"
	vcardpkg "github.com/emersion/go-vcard"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Temporary: picks a varied set of small inputs from the fuzz cache.
func TestCorpusPick(t *testing.T) {
	cache, target, dst := os.Getenv("PICK_CACHE"), os.Getenv("PICK_TARGET"), os.Getenv("PICK_DST")
	if cache == "" {
		t.Skip()
	}
	classify := func(args []string) string { return classifyCard(target, args) }
	files, _ := filepath.Glob(filepath.Join(cache, target, "*"))
	type cand struct {
		path   string
		size   int
		bucket string
	}
	var cs []cand
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 3000 {
			continue
		}
		args, err := decode(b)
		if err != nil {
			continue
		}
		cs = append(cs, cand{p, len(b), classify(args)})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].size < cs[j].size })
	byBucket := map[string][]cand{}
	var order []string
	for _, c := range cs {
		if _, ok := byBucket[c.bucket]; !ok {
			order = append(order, c.bucket)
		}
		byBucket[c.bucket] = append(byBucket[c.bucket], c)
	}
	picked, errs := 0, 0
	sort.SliceStable(order, func(i, j int) bool { return strings.HasPrefix(order[i], "ok:") && !strings.HasPrefix(order[j], "ok:") })
	os.RemoveAll(dst)
	os.MkdirAll(dst, 0o755)
	for round := 0; picked < 45 && round < 50; round++ {
		for _, k := range order {
			if picked >= 45 {
				break
			}
			if !strings.HasPrefix(k, "ok:") {
				if errs >= 15 {
					continue
				}
			}
			if round < len(byBucket[k]) {
				if !strings.HasPrefix(k, "ok:") {
					errs++
				}
				c := byBucket[k][round]
				b, _ := os.ReadFile(c.path)
				os.WriteFile(filepath.Join(dst, filepath.Base(c.path)), b, 0o644)
				picked++
			}
		}
	}
	fmt.Printf("%s: %d candidates, %d buckets, picked %d (%d errors)\n", target, len(cs), len(order), picked, errs)
}

// decode reads the "go test fuzz v1" format: one Go literal per line.
func decode(b []byte) ([]string, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 || lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("bad header")
	}
	var out []string
	for _, l := range lines[1:] {
		i := strings.IndexByte(l, '(')
		if i < 0 || !strings.HasSuffix(l, ")") {
			return nil, fmt.Errorf("bad line")
		}
		s, err := strconv.Unquote(l[i+1 : len(l)-1])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

var _ = bytes.NewReader

func classifyCard(target string, args []string) string {
	var c interface{ Value(string) string }
	var err error
	switch target {
	case "FuzzParseVCardTemp":
		c, err = ParseVCardTemp(strings.NewReader(args[0]))
	case "FuzzParseXCard":
		c, err = ParseXCard(strings.NewReader(args[0]))
	default:
		c, err = ParseText(args[0])
	}
	if err != nil {
		msg := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, err.Error())
		if len(msg) > 60 {
			msg = msg[:60]
		}
		return "err:" + msg
	}
	card := c.(interface{ Value(string) string })
	_ = card
	return "ok:" + fmt.Sprint(cardShape(c))
}

func cardShape(c any) string {
	cc := c.(vcardCard)
	var keys []string
	for k, fs := range cc {
		if k == "VERSION" {
			continue
		}
		for _, f := range fs {
			var ps []string
			for p := range f.Params {
				ps = append(ps, p)
			}
			sort.Strings(ps)
			g := ""
			if f.Group != "" {
				g = "g."
			}
			keys = append(keys, g+k+"/"+strings.Join(ps, ","))
		}
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}

type vcardCard = vcardpkg.Card
