package main

import (
	"os"

	"go.yaml.in/yaml/v3"
)

// config is the part of .goreleaser.yaml this program reads. A field it
// does not read is not built; a template it cannot fill in is an error.
type config struct {
	ProjectName string `yaml:"project_name"`
	Before      struct {
		Hooks []string `yaml:"hooks"`
	} `yaml:"before"`
	Builds []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		GOOS    []string `yaml:"goos"`
		GOARCH  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID           string   `yaml:"id"`
		IDs          []string `yaml:"ids"`
		NameTemplate string   `yaml:"name_template"`
		Wrap         bool     `yaml:"wrap_in_directory"`
		Formats      []string `yaml:"formats"`
		Files        []file   `yaml:"files"`
	} `yaml:"archives"`
	NFPMs []struct {
		ID          string   `yaml:"id"`
		PackageName string   `yaml:"package_name"`
		IDs         []string `yaml:"ids"`
		Formats     []string `yaml:"formats"`
		Bindir      string   `yaml:"bindir"`
		FileName    string   `yaml:"file_name_template"`
		Vendor      string   `yaml:"vendor"`
		Homepage    string   `yaml:"homepage"`
		Maintainer  string   `yaml:"maintainer"`
		Description string   `yaml:"description"`
		License     string   `yaml:"license"`
		Section     string   `yaml:"section"`
		Recommends  []string `yaml:"recommends"`
		Contents    []struct {
			Src      string `yaml:"src"`
			Dst      string `yaml:"dst"`
			FileInfo struct {
				Mode os.FileMode `yaml:"mode"`
			} `yaml:"file_info"`
		} `yaml:"contents"`
	} `yaml:"nfpms"`
	SBOMs []struct {
		ID        string   `yaml:"id"`
		Artifacts string   `yaml:"artifacts"`
		IDs       []string `yaml:"ids"`
		Cmd       string   `yaml:"cmd"`
		Documents []string `yaml:"documents"`
		Args      []string `yaml:"args"`
	} `yaml:"sboms"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

// file is an archive entry: a glob string, or src/dst/strip_parent.
type file struct {
	Src         string `yaml:"src"`
	Dst         string `yaml:"dst"`
	StripParent bool   `yaml:"strip_parent"`
}

func (f *file) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Src = n.Value
		return nil
	}
	type plain file
	return n.Decode((*plain)(f))
}

// nfpmConfig is the nfpm.yaml generated from one nfpms entry.
type nfpmConfig struct {
	Name        string        `yaml:"name"`
	Arch        string        `yaml:"arch"`
	Platform    string        `yaml:"platform"`
	Version     string        `yaml:"version"`
	Section     string        `yaml:"section,omitempty"`
	Maintainer  string        `yaml:"maintainer"`
	Description string        `yaml:"description"`
	Vendor      string        `yaml:"vendor,omitempty"`
	Homepage    string        `yaml:"homepage,omitempty"`
	License     string        `yaml:"license"`
	Overrides   any           `yaml:"overrides,omitempty"`
	Recommends  []string      `yaml:"recommends,omitempty"`
	Contents    []nfpmContent `yaml:"contents"`
}

type nfpmContent struct {
	Src      string `yaml:"src"`
	Dst      string `yaml:"dst"`
	FileInfo struct {
		Mode uint32 `yaml:"mode"` // nfpm reads a YAML integer (0755 as 493)
	} `yaml:"file_info"`
}
