package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// Man pages get the sections cobra/doc does not write: EXIT STATUS (from
// the exit-code table of `cusax help exit-codes`), ENVIRONMENT and FILES.
// cusax(1) has them in full; each subcommand's page points to it.

// envVars are the variables cusax, its plugins and its handlers read or
// set. TestManEnvironmentCoversSource checks that every CUSAX_*, XDG_*
// and colour variable named in the code is listed here.
var envVars = []struct{ name, text string }{
	{"CUSAX_CONFIG", "Path of the configuration file, used when \\-\\-config is not given (the flag wins)."},
	{"CUSAX_SECRETS", "Where passwords are kept: \\fBkeyring\\fR (the OS keyring), \\fBfile\\fR (secrets.toml, mode 0600) or \\fBauto\\fR (the default: the keyring when one answers, else the file)."},
	{"CUSAX_PLUGIN_PATH", "Plugin directories, separated by colons, searched after \\-\\-plugin\\-dir and before $XDG_DATA_HOME/cusax/plugins and the directories beside the executable (see FILES)."},
	{"CUSAX_NO_AGENT", "Set to anything but empty or 0: log in afresh instead of using the sessions of cusax agent (as \\-\\-no\\-agent)."},
	{"CUSAX_PLUGIN_MTLS", "Set to 1: mutual TLS between cusax and its plugins (off by default: they talk over a private Unix socket)."},
	{"CUSAX_AUDIO", "Sound for the baresip telephony plugin: \\fBdevice\\fR (the default) or \\fBnone\\fR (no sound device)."},
	{"CUSAX_BARESIP", "Path of the baresip program used by the baresip telephony plugin (default: baresip on PATH)."},
	{"CUSAX_PLUGIN_LOG_LEVEL, CUSAX_PLUGIN_HOST_PID, CUSAX_POLICY_SETTINGS, CUSAX_PLUGIN_MAGIC_COOKIE", "Set by cusax for the plugins it starts (log level, the host to outlive, a policy's settings, the go\\-plugin handshake); not meant to be set by hand."},
	{"CUSAX_EVENT, CUSAX_ACCOUNT, CUSAX_CALL_ID, CUSAX_CALLER, CUSAX_CONTACT, CUSAX_CONTACT_NAME, CUSAX_VERDICT, CUSAX_DECISION, CUSAX_ACTION, CUSAX_ANSWERED, CUSAX_STATUS, CUSAX_DURATION_MS, CUSAX_HUNG_UP_BY, CUSAX_DIGITS, CUSAX_RECORDING", "Set by cusax answer for its \\-\\-on\\-call handlers (see cusax\\-answer(1))."},
	{"NO_COLOR", "Set to a non\\-empty value: no colour in terminal output (https://no\\-color.org)."},
	{"CLICOLOR_FORCE", "Set to anything but 0: colour even when stdout is not a terminal."},
	{"TERM", "\\fBdumb\\fR: no colour."},
	{"XDG_CONFIG_HOME", "Base of the configuration directory (default ~/.config)."},
	{"XDG_CACHE_HOME", "Base of the cache directory (default ~/.cache)."},
	{"XDG_STATE_HOME", "Base of the state directory (default ~/.local/state)."},
	{"XDG_DATA_HOME", "Base of the user's plugin directory (default ~/.local/share)."},
	{"XDG_RUNTIME_DIR", "Where the agent's socket and the plugins' sockets live when it is an absolute directory private to the user (else TMPDIR)."},
	{"TMPDIR", "Fallback directory for sockets."},
	{"DBUS_SESSION_BUS_ADDRESS", "The session bus of the Secret Service keyring (Linux)."},
}

// files are the paths cusax reads and writes.
var files = []struct{ path, text string }{
	{"$XDG_CONFIG_HOME/cusax/config.toml", "The configuration: accounts and settings (default ~/.config/cusax/config.toml; see CUSAX_CONFIG). Refused when another user owns it or others can write it."},
	{"$XDG_CONFIG_HOME/cusax/secrets.toml", "Passwords when no OS keyring is used (mode 0600, beside config.toml)."},
	{"$XDG_CACHE_HOME/cusax/", "Caches (vCards in vcards/); safe to delete."},
	{"$XDG_STATE_HOME/cusax/audit-state.json", "What cusax audit\\-tls saw last time, to report changes."},
	{"$XDG_STATE_HOME/cusax/presence/ACCOUNT.json", "Presence saved around calls, restored afterwards."},
	{"$XDG_RUNTIME_DIR/cusax-agent/agent.sock", "The socket of cusax agent (else $TMPDIR/cusax\\-agent\\-UID/agent.sock); refused when not private to the user."},
	{"$XDG_DATA_HOME/cusax/plugins/", "The user's plugins, executables named cusax\\-plugin\\-KIND\\-NAME."},
	{"DIR/plugins/, DIR/../lib/cusax/plugins/", "Plugins shipped with cusax, where DIR holds the cusax executable: the tar archive's plugins/ and the deb and rpm packages' /usr/lib/cusax/plugins. Like every plugin directory they are refused when another user owns them or others can write them."},
}

var exitLine = regexp.MustCompile(`^  (\d+)\s+(.*)$`)

// exitStatus turns cmdutil.ExitCodesHelp into roff: one .TP per code,
// then the paragraph after the table.
func exitStatus() string {
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	var entry, tail []string
	flush := func() {
		if len(entry) > 0 {
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR\n%s\n", entry[0], roff(strings.Join(entry[1:], " ")))
		}
		entry = nil
	}
	lines := strings.Split(strings.TrimRight(cmdutil.ExitCodesHelp, "\n"), "\n")
	for _, l := range lines[1:] { // the first line is the title
		switch m := exitLine.FindStringSubmatch(l); {
		case m != nil:
			flush()
			entry = []string{m[1], m[2]}
		case strings.TrimSpace(l) == "":
			flush()
		case entry != nil:
			entry = append(entry, strings.TrimSpace(l))
		default:
			tail = append(tail, strings.TrimSpace(l))
		}
	}
	flush()
	if len(tail) > 0 {
		fmt.Fprintf(&b, ".PP\n%s\n", roff(strings.Join(tail, " ")))
	}
	return b.String()
}

func environment() string {
	var b strings.Builder
	b.WriteString(".SH ENVIRONMENT\n")
	for _, e := range envVars {
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fR\n%s\n", e.name, e.text)
	}
	return b.String()
}

func filesSection() string {
	var b strings.Builder
	b.WriteString(".SH FILES\n")
	for _, f := range files {
		fmt.Fprintf(&b, ".TP\n\\fI%s\\fR\n%s\n", strings.ReplaceAll(f.path, "-", "\\-"), f.text)
	}
	return b.String()
}

// roff escapes text for a roff paragraph: backslashes, hyphens, and a
// leading dot or quote that roff would take for a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// addManSections inserts the sections into every page in dir, before SEE
// ALSO (or at the end): the full ones in cusax.1, pointers elsewhere.
func addManSections(dir string) error {
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, p := range pages {
		sections := ".SH EXIT STATUS\nSee \\fBcusax\\fP(1) and \\fBcusax help exit\\-codes\\fP.\n" +
			".SH ENVIRONMENT\nSee \\fBcusax\\fP(1).\n.SH FILES\nSee \\fBcusax\\fP(1).\n"
		if filepath.Base(p) == "cusax.1" {
			sections = exitStatus() + environment() + filesSection()
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		page := string(raw)
		if i := strings.Index(page, ".SH SEE ALSO"); i >= 0 {
			page = page[:i] + sections + page[i:]
		} else {
			page += sections
		}
		if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
			return err
		}
	}
	return nil
}
