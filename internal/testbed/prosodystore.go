package testbed

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Prosody 0.12's storage = "internal" (mod_storage_internal over util/datamanager.lua) keeps
// everything as Lua source under data_path:
//
//	<host>/<store>/<user>.dat    keyval stores: "return <table>;"
//	<host>/<store>/<user>.list   archive stores: one "item(<table>);" per entry
//
// with host and user %-encoded byte by byte except for ASCII letters and digits ("example.test"
// → "example%2etest") and store names likewise except that "_" stays. Files are loaded
// with Lua's loader in an empty environment, so any Lua table constructor will do.
// Stores the bed writes:
//
//	accounts/<user>.dat                       mod_auth_internal_hashed: {iteration_count, salt,
//	                                          stored_key, server_key}, keys in lower-case hex
//	roster/<user>.dat                         {[false] = {version, pending = {}},
//	                                          [jid] = {subscription, name, groups = {[g] = true}}}
//	pep/<user>.dat                            mod_pep node configs by node name: {name, config,
//	                                          affiliations = {}, subscribers = {}}
//	pep_<node>/<user>.list                    the node's items: the item payload as a
//	                                          preserialized stanza plus key (item id), when,
//	                                          with (publisher) and attr.stamp
//
// Accounts, and the PEP data of a user nobody has asked for yet, are read from disk when
// needed, so files written for a new user take effect at once. Rosters are cached in memory
// (the session's roster while the user is online, and hosts[host].roster_cache otherwise), so
// the roster of an existing user is changed in-process instead (prosodyLua).
type prosodyStore struct {
	data string // data_path
	as   runAs  // files belong to the account Prosody runs as
}

func (b *Bed) prosodyStore() (prosodyStore, error) {
	as, err := prosodyAccount()
	if err != nil {
		return prosodyStore{}, err
	}
	return prosodyStore{data: b.prosody.files.Data, as: as}, nil
}

// prosodyEncode is datamanager's encode: every byte but ASCII letters and digits as %xx.
// keep lists extra bytes left alone (store_encode keeps "_").
func prosodyEncode(s, keep string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02x", c)
		}
	}
	return sb.String()
}

// storeDir is the directory of one store of one host.
func (p prosodyStore) storeDir(host, store string) string {
	return filepath.Join(p.data, prosodyEncode(host, ""), prosodyEncode(store, "_"))
}

// mkdirs creates the store directories (as Prosody would: 0750, owned by its account).
func (p prosodyStore) mkdirs(host string, stores ...string) error {
	hostDir := filepath.Join(p.data, prosodyEncode(host, ""))
	dirs := []string{hostDir}
	for _, s := range stores {
		dirs = append(dirs, p.storeDir(host, s))
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o750); err != nil && !os.IsExist(err) {
			return err
		}
		if p.as.cred != nil {
			if err := os.Lchown(d, p.as.uid, p.as.gid); err != nil {
				return err
			}
		}
	}
	return nil
}

// path is the file of user in store.
func (p prosodyStore) path(host, store, user, ext string) string {
	return filepath.Join(p.storeDir(host, store), prosodyEncode(user, "")+"."+ext)
}

// create writes a new file for user in store (ext "dat" or "list"); it fails if the file
// exists, which is how a clash with an existing account shows up. The store directory must
// exist (mkdirs).
func (p prosodyStore) create(host, store, user, ext, content string) error {
	path := p.path(host, store, user, ext)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && p.as.cred != nil {
		err = os.Lchown(path, p.as.uid, p.as.gid)
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// lua is a Lua table constructor with keys in a fixed order: string keys, the key false
// (roster metadata), or none (array part: lua{{nil, v}}).
type lua []luaKV

type luaKV struct {
	K any // string, false, or nil for the next array slot
	V any // string, int, int64, bool, lua
}

// luaSource renders v as a Lua expression.
func luaSource(v any) string {
	var sb strings.Builder
	writeLua(&sb, v)
	return sb.String()
}

func writeLua(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		sb.WriteString(luaString(v))
	case int:
		sb.WriteString(strconv.Itoa(v))
	case int64:
		sb.WriteString(strconv.FormatInt(v, 10))
	case bool:
		sb.WriteString(strconv.FormatBool(v))
	case lua:
		sb.WriteString("{")
		for _, kv := range v {
			switch k := kv.K.(type) {
			case nil:
			case string:
				sb.WriteString("[" + luaString(k) + "]=")
			case bool:
				sb.WriteString("[" + strconv.FormatBool(k) + "]=")
			default:
				panic(fmt.Sprintf("testbed: Lua key of type %T", k))
			}
			writeLua(sb, kv.V)
			sb.WriteString(";")
		}
		sb.WriteString("}")
	default:
		panic(fmt.Sprintf("testbed: Lua value of type %T", v))
	}
}

// scramIterations is mod_auth_internal_hashed's default_iteration_count.
const scramIterations = 10000

// accountRecord is what mod_auth_internal_hashed stores for a password (RFC 5802 §3):
// SaltedPassword = PBKDF2-HMAC-SHA-1(password, salt, i), StoredKey = SHA-1(HMAC(SaltedPassword,
// "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). The salt is used as the
// bytes of the string stored (Prosody's own salts are UUIDs). Passwords are random ASCII,
// which SASLprep leaves alone.
func accountRecord(password string, iterations int) (lua, error) {
	salt := newUUID()
	stored, server, err := scramSHA1Keys(password, []byte(salt), iterations)
	if err != nil {
		return nil, err
	}
	return lua{
		{"iteration_count", iterations},
		{"salt", salt},
		{"server_key", hex.EncodeToString(server)},
		{"stored_key", hex.EncodeToString(stored)},
	}, nil
}

// scramSHA1Keys derives SCRAM-SHA-1's StoredKey and ServerKey (RFC 5802 §3).
func scramSHA1Keys(password string, salt []byte, iterations int) (storedKey, serverKey []byte, err error) {
	salted, err := pbkdf2.Key(sha1.New, password, salt, iterations, sha1.Size)
	if err != nil {
		return nil, nil, err
	}
	mac := func(msg string) []byte {
		h := hmac.New(sha1.New, salted)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha1.Sum(mac("Client Key"))
	return stored[:], mac("Server Key"), nil
}

// newUUID is a random (version 4) UUID in its usual text form.
func newUUID() string {
	h := randomHex(16)
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

// rosterItemLua is one roster entry as rostermanager stores it.
func rosterItemLua(subscription, name string, groups []string) lua {
	g := lua{}
	for _, x := range groups {
		g = append(g, luaKV{x, true})
	}
	item := lua{{"subscription", subscription}, {"groups", g}}
	if name != "" {
		item = append(item, luaKV{"name", name})
	}
	return item
}

// stanzaLua is x as util.stanza's preserialize makes it: {name=, attr={xmlns=, …}, children
// in the array part, text as strings}. Only what an xCard needs: attributes without a
// namespace, and no mixed content.
func stanzaLua(x xnode) (lua, error) {
	attr := lua{}
	if x.XMLName.Space != "" {
		attr = append(attr, luaKV{"xmlns", x.XMLName.Space})
	}
	for _, a := range x.Attrs {
		if a.Name.Local == "xmlns" || a.Name.Space == "xmlns" {
			continue
		}
		if a.Name.Space != "" {
			return nil, fmt.Errorf("attribute %s:%s: namespaced attributes are not supported", a.Name.Space, a.Name.Local)
		}
		attr = append(attr, luaKV{a.Name.Local, a.Value})
	}
	out := lua{{"name", x.XMLName.Local}, {"attr", attr}}
	if t := strings.TrimSpace(x.Text); t != "" {
		if len(x.Children) > 0 {
			return nil, fmt.Errorf("<%s>: mixed content is not supported", x.XMLName.Local)
		}
		out = append(out, luaKV{nil, x.Text})
	}
	for _, c := range x.Children {
		cl, err := stanzaLua(c)
		if err != nil {
			return nil, err
		}
		out = append(out, luaKV{nil, cl})
	}
	return out, nil
}

// pepItemLua is one entry of a pep_<node> archive: the payload plus the archive's fields.
func pepItemLua(payload xnode, id, publisher string, when time.Time) (lua, error) {
	item, err := stanzaLua(payload)
	if err != nil {
		return nil, err
	}
	for i := range item {
		if item[i].K == "attr" {
			item[i].V = append(item[i].V.(lua), luaKV{"stamp", when.UTC().Format("2006-01-02T15:04:05Z")})
		}
	}
	return append(item, luaKV{"key", id}, luaKV{"when", when.Unix()}, luaKV{"with", publisher}), nil
}

// pepNodeLua is one node's entry in the pep store (util/pubsub's node record).
func pepNodeLua(node string, config lua) lua {
	return lua{{"name", node}, {"config", config}, {"affiliations", lua{}}, {"subscribers", lua{}}}
}
