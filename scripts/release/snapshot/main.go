// Command snapshot builds, without goreleaser, the linux/amd64 artefacts
// that .goreleaser.yaml describes, reading that file so the two cannot
// drift: the before hooks, every build (same main, binary path, env, flags
// and ldflags), every archive (same name, wrap directory, binaries and
// files), the deb and rpm of the nfpms section (through an nfpm config
// generated from it, built by nfpm), the CycloneDX SBOMs of the sboms
// section, and checksums.txt.
//
//	go run ./scripts/release/snapshot -out dist/snapshot [-version 1.2.3]
//
// goreleaser itself is not used because the module proxy serves it only
// as an unapproved copy; nfpm and cyclonedx-gomod are installed at the
// versions below into -tools when they are not on PATH.
//
// Paths in .goreleaser.yaml under dist/ and bin/release-extras/ are taken
// to be under -out, so a snapshot writes nothing into the work tree.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Tools the snapshot runs, installed with `go install` when missing.
var tools = map[string]string{
	"nfpm":            "github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0",
	"cyclonedx-gomod": "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0",
}

const goos, goarch = "linux", "amd64"

type snap struct {
	root, out, version, tools string
	cfg                       config
	binaries                  map[string]string // build id → built file
	binaryName                map[string]string // build id → binary (path in archive)
	artefacts                 []string          // files for checksums.txt
	log                       io.Writer
	tmplErr                   error // a template this program cannot fill in
}

func main() {
	out := flag.String("out", "dist/snapshot", "output directory (emptied first)")
	version := flag.String("version", "", "version (default 0.0.0-snapshot.REVISION)")
	toolsDir := flag.String("tools", "bin/tools", "where missing tools are installed")
	cfgPath := flag.String("config", ".goreleaser.yaml", "goreleaser config")
	flag.Parse()
	if err := run(*cfgPath, *out, *version, *toolsDir, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}
}

func run(cfgPath, out, version, toolsDir string, log io.Writer) error {
	root, err := filepath.Abs(filepath.Dir(cfgPath))
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	s := &snap{root: root, log: log, binaries: map[string]string{}, binaryName: map[string]string{}}
	if err := yaml.Unmarshal(raw, &s.cfg); err != nil {
		return fmt.Errorf("%s: %v", cfgPath, err)
	}
	if s.out, err = filepath.Abs(out); err != nil {
		return err
	}
	if s.tools, err = filepath.Abs(toolsDir); err != nil {
		return err
	}
	s.version = version
	if s.version == "" {
		s.version = "0.0.0-snapshot"
		if rev, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output(); err == nil {
			s.version += "." + strings.TrimSpace(string(rev))
		}
	}
	if err := os.RemoveAll(s.out); err != nil {
		return err
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"before hooks", s.hooks}, {"builds", s.build}, {"archives", s.archive},
		{"packages", s.packages}, {"sboms", s.sboms}, {"checksums", s.checksums},
	}
	for _, st := range steps {
		start := time.Now()
		if err := st.f(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		if s.tmplErr != nil {
			return fmt.Errorf("%s: %w", st.name, s.tmplErr)
		}
		fmt.Fprintf(log, "snapshot: %s done in %.1fs\n", st.name, time.Since(start).Seconds())
	}
	return nil
}

// local maps a path of .goreleaser.yaml to this snapshot: dist/ and
// bin/release-extras/ go under -out, the rest is relative to the repo.
func (s *snap) local(p string) string {
	switch {
	case strings.HasPrefix(p, "dist/"):
		return filepath.Join(s.out, "dist", strings.TrimPrefix(p, "dist/"))
	case strings.HasPrefix(p, "bin/release-extras"):
		return filepath.Join(s.out, "release-extras", strings.TrimPrefix(p, "bin/release-extras"))
	case filepath.IsAbs(p):
		return p
	}
	return filepath.Join(s.root, p)
}

// tmpl fills in the goreleaser template fields this config uses.
func (s *snap) tmpl(t string, extra map[string]string) string {
	r := []string{"{{.Version}}", s.version, "{{ .Version }}", s.version,
		"{{ .ProjectName }}", s.cfg.ProjectName, "{{ .Os }}", goos, "{{ .Arch }}", goarch}
	for k, v := range extra {
		r = append(r, k, v)
	}
	out := strings.NewReplacer(r...).Replace(t)
	if strings.Contains(out, "{{") && s.tmplErr == nil {
		// A new template field in .goreleaser.yaml: say so rather than
		// build something goreleaser would not.
		s.tmplErr = fmt.Errorf("template %q: not supported by scripts/release/snapshot", t)
	}
	return out
}

func (s *snap) cmd(dir string, env []string, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	c.Stdout, c.Stderr = &buf, &buf
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, buf.String())
	}
	return nil
}

func (s *snap) hooks() error {
	for _, h := range s.cfg.Before.Hooks {
		h = strings.ReplaceAll(h, "bin/release-extras", s.local("bin/release-extras"))
		if err := s.cmd(s.root, nil, "sh", "-c", h); err != nil {
			return err
		}
	}
	return nil
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// build runs one `go build` per set of identical env, flags and ldflags
// (so the linker runs in parallel), then moves each binary to
// dist/ID_linux_amd64_v1/BINARY as goreleaser lays it out.
func (s *snap) build() error {
	type group struct {
		env, args []string
		ids       []string
		mains     []string
	}
	groups := map[string]*group{}
	var order []string
	for _, b := range s.cfg.Builds {
		if !has(b.GOOS, goos) || !has(b.GOARCH, goarch) {
			continue
		}
		s.binaryName[b.ID] = b.Binary
		args := append([]string{}, b.Flags...)
		if len(b.Ldflags) > 0 {
			args = append(args, "-ldflags", s.tmpl(strings.Join(b.Ldflags, " "), nil))
		}
		key := strings.Join(b.Env, "\x00") + "\x01" + strings.Join(args, "\x00")
		g := groups[key]
		if g == nil {
			g = &group{env: append([]string{"GOOS=" + goos, "GOARCH=" + goarch}, b.Env...), args: args}
			groups[key] = g
			order = append(order, key)
		}
		g.ids = append(g.ids, b.ID)
		g.mains = append(g.mains, b.Main)
	}
	for i, key := range order {
		g := groups[key]
		tmp := filepath.Join(s.out, "build", fmt.Sprint(i))
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		args := append(append([]string{"build", "-o", tmp + "/"}, g.args...), g.mains...)
		if err := s.cmd(s.root, g.env, "go", args...); err != nil {
			return err
		}
		for j, id := range g.ids {
			dst := s.local(filepath.Join("dist", id+"_"+goos+"_"+goarch+"_v1", s.binaryName[id]))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(filepath.Join(tmp, path.Base(g.mains[j])), dst); err != nil {
				return err
			}
			s.binaries[id] = dst
		}
	}
	return os.RemoveAll(filepath.Join(s.out, "build"))
}

type entry struct {
	name string // path in the archive
	src  string // file on disk
	mode int64
}

func (s *snap) archive() error {
	for _, a := range s.cfg.Archives {
		if len(a.Formats) > 0 && !has(a.Formats, "tar.gz") {
			return fmt.Errorf("archive %s: only tar.gz is built for linux", a.ID)
		}
		name := s.tmpl(a.NameTemplate, nil)
		var entries []entry
		for _, b := range s.cfg.Builds {
			if (len(a.IDs) == 0 || has(a.IDs, b.ID)) && s.binaries[b.ID] != "" {
				entries = append(entries, entry{name: b.Binary, src: s.binaries[b.ID], mode: 0o755})
			}
		}
		for _, f := range a.Files {
			matches, err := filepath.Glob(s.local(f.Src))
			if err != nil || len(matches) == 0 {
				return fmt.Errorf("archive %s: %s matches no file", a.ID, f.Src)
			}
			for _, m := range matches {
				rel := filepath.Base(m)
				if !f.StripParent {
					// goreleaser keeps the path as written in the config.
					if r, err := filepath.Rel(s.local(filepath.Dir(f.Src)), m); err == nil {
						rel = filepath.ToSlash(filepath.Join(filepath.Dir(f.Src), r))
					}
				}
				entries = append(entries, entry{name: path.Join(f.Dst, rel), src: m, mode: 0o644})
			}
		}
		if a.Wrap {
			for i := range entries {
				entries[i].name = path.Join(name, entries[i].name)
			}
		}
		out := filepath.Join(s.out, name+".tar.gz")
		if err := writeTarGz(out, entries); err != nil {
			return fmt.Errorf("archive %s: %w", a.ID, err)
		}
		s.artefacts = append(s.artefacts, out)
	}
	return nil
}

// writeTarGz writes entries with explicit 0755 directory entries, so that
// an unpacked plugins/ is not group-writable under any umask (a plugin
// directory others can write is refused).
func writeTarGz(out string, entries []entry) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	// The fastest level: a snapshot is built for tests; the files are the same.
	gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	mtime := time.Unix(0, 0).UTC()
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		var sec int64
		fmt.Sscan(e, &sec)
		mtime = time.Unix(sec, 0).UTC()
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	dirs := map[string]bool{}
	for _, e := range entries {
		var parents []string
		for d := path.Dir(e.name); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
				return err
			}
		}
		data, err := os.ReadFile(e.src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

// tool returns the path of a tool: on PATH, in -tools, else installed there.
func (s *snap) tool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join(s.tools, name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	pkg, ok := tools[name]
	if !ok {
		return "", fmt.Errorf("unknown tool %s", name)
	}
	if err := s.cmd(s.root, []string{"GOBIN=" + s.tools}, "go", "install", pkg); err != nil {
		return "", err
	}
	return p, nil
}

func (s *snap) packages() error {
	nfpm := ""
	for _, p := range s.cfg.NFPMs {
		if nfpm == "" {
			var err error
			if nfpm, err = s.tool("nfpm"); err != nil {
				return err
			}
		}
		c := nfpmConfig{Name: p.PackageName, Arch: goarch, Platform: goos, Version: s.version, Section: p.Section,
			Maintainer: p.Maintainer, Description: p.Description, Vendor: p.Vendor, Homepage: p.Homepage,
			License: p.License, Recommends: p.Recommends}
		add := func(src, dst string, mode os.FileMode) {
			e := nfpmContent{Src: src, Dst: dst}
			e.FileInfo.Mode = uint32(mode.Perm())
			c.Contents = append(c.Contents, e)
		}
		for _, b := range s.cfg.Builds {
			if (len(p.IDs) == 0 || has(p.IDs, b.ID)) && s.binaries[b.ID] != "" {
				add(s.binaries[b.ID], path.Join(p.Bindir, path.Base(b.Binary)), 0o755)
			}
		}
		for _, ct := range p.Contents {
			matches, err := filepath.Glob(s.local(s.tmpl(ct.Src, nil)))
			if err != nil || len(matches) == 0 {
				return fmt.Errorf("nfpm %s: %s matches no file", p.ID, ct.Src)
			}
			mode := ct.FileInfo.Mode
			if mode == 0 {
				mode = 0o644
			}
			for _, m := range matches {
				dst := ct.Dst
				if strings.HasSuffix(dst, "/") {
					dst += filepath.Base(m)
				}
				add(m, dst, mode)
			}
		}
		raw, err := yaml.Marshal(c)
		if err != nil {
			return err
		}
		cfgFile := filepath.Join(s.out, "nfpm-"+p.ID+".yaml")
		if err := os.WriteFile(cfgFile, raw, 0o644); err != nil {
			return err
		}
		for _, format := range p.Formats {
			name := s.tmpl(p.FileName, map[string]string{"{{ .PackageName }}": p.PackageName}) + "." + format
			out := filepath.Join(s.out, name)
			if err := s.cmd(s.root, nil, nfpm, "pkg", "--config", cfgFile, "--packager", format, "--target", out); err != nil {
				return err
			}
			s.artefacts = append(s.artefacts, out)
		}
	}
	return nil
}

func (s *snap) sboms() error {
	for _, sb := range s.cfg.SBOMs {
		if sb.Artifacts != "binary" {
			return fmt.Errorf("sbom %s: only artifacts: binary is built", sb.ID)
		}
		cmd, err := s.tool(sb.Cmd)
		if err != nil {
			return err
		}
		for _, b := range s.cfg.Builds {
			bin := s.binaries[b.ID]
			if bin == "" || (len(sb.IDs) > 0 && !has(sb.IDs, b.ID)) {
				continue
			}
			extra := map[string]string{`{{ replace .ArtifactName "plugins/" "" }}`: strings.Replace(b.Binary, "plugins/", "", 1)}
			var docs []string
			for _, d := range sb.Documents {
				docs = append(docs, filepath.Join(s.out, s.tmpl(d, extra)))
			}
			var args []string
			for _, a := range sb.Args {
				a = s.tmpl(a, extra)
				a = strings.ReplaceAll(a, "$artifact", bin)
				if len(docs) > 0 {
					a = strings.ReplaceAll(a, "$document", docs[0])
				}
				args = append(args, a)
			}
			if err := s.cmd(s.root, nil, cmd, args...); err != nil {
				return err
			}
			s.artefacts = append(s.artefacts, docs...)
		}
	}
	return nil
}

func (s *snap) checksums() error {
	if s.cfg.Checksum.Algorithm != "" && s.cfg.Checksum.Algorithm != "sha256" {
		return fmt.Errorf("checksum algorithm %s: only sha256", s.cfg.Checksum.Algorithm)
	}
	name := s.tmpl(s.cfg.Checksum.NameTemplate, nil)
	if name == "" {
		name = "checksums.txt"
	}
	sort.Strings(s.artefacts)
	var b strings.Builder
	for _, a := range s.artefacts {
		f, err := os.Open(a)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), filepath.Base(a))
	}
	return os.WriteFile(filepath.Join(s.out, name), []byte(b.String()), 0o644)
}
