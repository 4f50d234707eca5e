package lang

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Param describes one argument of a network statement: a positional
// argument (Key false) or a keyword option (`mtu N`) or flag (`up`).
type Param struct {
	Name    string   // canonical name; for positionals the role ("name", "dst")
	Aliases []string // other keywords accepted for this option (ip(8) spellings)
	Type    WordType
	Enum    []string // TEnum: the accepted words
	Noun    string   // TEnum: what the enum is, for messages ("link type")
	Words   []string // literal words accepted besides Type ("default", "all")
	Min     uint64   // TUint range; Max 0 means 2^32-1
	Max     uint64
	List    bool // accepts a comma list `a, b` (or a list value)
	Flag    bool // a keyword with no value
	// Optional marks a positional that may be left out. An optional
	// positional with an Enum is taken only when the word is one of them.
	Optional bool
	Required bool // an option that must be given (not enforced for del)
	Doc      string
}

// Schema describes one network statement.
type Schema struct {
	Verb       string
	Parent     string // "" (top level), "wireguard" or "peer"
	Usage      string
	Positional []*Param
	Options    []*Param
	// Exclusive lists groups of options of which at most one may be
	// given; RequireOne groups of which one must be given (not for del).
	Exclusive  [][]string
	RequireOne [][]string
	// Kinds holds per-kind options of `link ... type KIND` (keyed by kind).
	Kinds map[string][]*Param
	// After lists options that, written after the keyword in the key,
	// are renamed to the value (veth: `peer P netns NS` is peer-netns).
	After    map[string]map[string]string
	Block    bool // a < > block may follow
	NeedsBlk bool // a block must follow
	Del      bool // `del VERB` is allowed

	kindOptions map[string][]*Param // see allOptions
}

func opt(name string, t WordType) *Param { return &Param{Name: name, Type: t} }

func flagOpt(name string) *Param { return &Param{Name: name, Flag: true} }

func uintOpt(name string, min, max uint64) *Param {
	return &Param{Name: name, Type: TUint, Min: min, Max: max}
}

func enumOpt(name, noun string, values ...string) *Param {
	return &Param{Name: name, Type: TEnum, Noun: noun, Enum: values}
}

func (p *Param) alias(names ...string) *Param { p.Aliases = names; return p }
func (p *Param) req() *Param                  { p.Required = true; return p }

// LinkKinds are the values of `link NAME type KIND`.
var LinkKinds = []string{"veth", "bridge", "vxlan", "macvlan", "tun", "tap", "wireguard"}

// ShowWhat are the things `show` can show.
var ShowWhat = []string{"links", "addrs", "routes", "rules", "neigh", "netns", "wireguard"}

var schemas = []*Schema{
	{
		Verb: "netns", Usage: "netns NAME", Del: true,
		Positional: []*Param{{Name: "name", Type: TNetnsName}},
	},
	{
		Verb:       "link",
		Usage:      "link NAME [type KIND ...] [up|down] [mtu N] [address MAC] [master BR | nomaster] [netns NS] [alias TEXT]",
		Del:        true,
		Positional: []*Param{{Name: "name", Type: TIfName}},
		Options: []*Param{
			enumOpt("type", "link type", LinkKinds...),
			flagOpt("up"), flagOpt("down"),
			uintOpt("mtu", 68, 65535),
			opt("address", TMAC),
			opt("master", TIfName), flagOpt("nomaster"),
			opt("netns", TNetnsName),
			opt("alias", TString),
		},
		Exclusive: [][]string{{"up", "down"}, {"master", "nomaster"}, {"remote", "group"}},
		Kinds: map[string][]*Param{
			"veth":      {opt("peer", TIfName).req(), opt("peer-netns", TNetnsName)},
			"vxlan":     {uintOpt("id", 0, 1<<24-1).req(), opt("remote", TAddr), opt("group", TAddr), opt("local", TAddr), opt("dev", TIfName), uintOpt("dstport", 0, 65535)},
			"macvlan":   {opt("dev", TIfName).req(), enumOpt("mode", "macvlan mode", "bridge", "private", "vepa", "passthru", "source")},
			"tun":       {opt("user", TString), opt("group", TString)},
			"tap":       {opt("user", TString), opt("group", TString)},
			"bridge":    nil,
			"wireguard": nil,
		},
		After: map[string]map[string]string{"peer": {"netns": "peer-netns"}},
	},
	{
		Verb: "addr", Usage: "addr PREFIX dev LINK [peer PREFIX] [broadcast IP] [label L] [scope S]", Del: true,
		Positional: []*Param{{Name: "prefix", Type: TPrefix}},
		Options: []*Param{
			opt("dev", TIfName).req(), opt("peer", TPrefix), opt("broadcast", TAddr).alias("brd"),
			opt("label", TString), opt("scope", TScope),
		},
	},
	{
		Verb:  "route",
		Usage: "route [blackhole|unreachable|prohibit|throw] PREFIX|default [via IP] [dev LINK] [table T] [metric N] [src IP] [proto P] [scope S] [mtu N] [onlink]",
		Del:   true,
		Positional: []*Param{
			{Name: "type", Type: TEnum, Noun: "route type", Enum: []string{"unicast", "blackhole", "unreachable", "prohibit", "throw"}, Optional: true},
			{Name: "dst", Type: TNet, Words: []string{"default"}},
		},
		Options: []*Param{
			opt("via", TAddr), opt("dev", TIfName), opt("table", TTable),
			uintOpt("metric", 0, 1<<32-1).alias("priority", "preference"),
			opt("src", TAddr), opt("proto", TProto).alias("protocol"), opt("scope", TScope),
			uintOpt("mtu", 68, 65535), flagOpt("onlink"),
		},
	},
	{
		Verb: "neigh", Usage: "neigh IP lladdr MAC dev LINK [permanent]", Del: true,
		Positional: []*Param{{Name: "addr", Type: TAddr}},
		Options:    []*Param{opt("lladdr", TMAC).req(), opt("dev", TIfName).req(), flagOpt("permanent")},
	},
	{
		Verb: "table", Usage: "table ID [name NAME] | table T < ... >", Block: true,
		Positional: []*Param{{Name: "table", Type: TTable}},
		Options:    []*Param{opt("name", TString)},
	},
	{
		Verb: "rule",
		Usage: "rule [not] [from PREFIX] [to PREFIX] [iif LINK] [oif LINK] [fwmark M[/MASK]] [ipproto P] [sport N[-M]] [dport N[-M]] [uidrange A-B] " +
			"(lookup T | goto PRIO | nop | blackhole | unreachable | prohibit) [priority N] [suppress_prefixlength N]",
		Del: true,
		Options: []*Param{
			flagOpt("not"),
			{Name: "from", Type: TNet, Words: []string{"all"}},
			{Name: "to", Type: TNet, Words: []string{"all"}},
			opt("iif", TIfName).alias("dev"), opt("oif", TIfName),
			opt("fwmark", TMark), opt("ipproto", TIPProto),
			opt("sport", TPortRange), opt("dport", TPortRange), opt("uidrange", TUIDRange),
			opt("lookup", TTable).alias("table"), uintOpt("goto", 1, 1<<32-1), flagOpt("nop"),
			flagOpt("blackhole"), flagOpt("unreachable"), flagOpt("prohibit"),
			uintOpt("priority", 0, 1<<32-1).alias("pref", "preference"),
			uintOpt("suppress_prefixlength", 0, 128),
		},
		Exclusive:  [][]string{{"lookup", "goto", "nop", "blackhole", "unreachable", "prohibit"}},
		RequireOne: [][]string{{"lookup", "goto", "nop", "blackhole", "unreachable", "prohibit"}},
	},
	{
		Verb: "wireguard", Usage: "wireguard NAME < private-key K; listen-port N; fwmark M; peer K < ... > >", Block: true, Del: true,
		Positional: []*Param{{Name: "name", Type: TIfName}},
	},
	{Verb: "private-key", Parent: "wireguard", Usage: "private-key EXPR", Positional: []*Param{{Name: "key", Type: TKey}}},
	{Verb: "listen-port", Parent: "wireguard", Usage: "listen-port N", Positional: []*Param{uintOpt("port", 0, 65535)}},
	{Verb: "fwmark", Parent: "wireguard", Usage: "fwmark M", Positional: []*Param{uintOpt("mark", 0, 1<<32-1)}},
	{Verb: "replace-peers", Parent: "wireguard", Usage: "replace-peers"},
	{Verb: "peer", Parent: "wireguard", Usage: "peer PUBLIC-KEY [< ... >]", Block: true, Del: true,
		Positional: []*Param{{Name: "key", Type: TKey}}},
	{Verb: "preshared-key", Parent: "peer", Usage: "preshared-key EXPR", Positional: []*Param{{Name: "key", Type: TKey}}},
	{Verb: "endpoint", Parent: "peer", Usage: "endpoint HOST:PORT", Positional: []*Param{{Name: "endpoint", Type: TEndpoint}}},
	{Verb: "allowed-ips", Parent: "peer", Usage: "allowed-ips PREFIX[, PREFIX...]", Positional: []*Param{{Name: "prefixes", Type: TPrefix, List: true}}},
	{Verb: "persistent-keepalive", Parent: "peer", Usage: "persistent-keepalive N", Positional: []*Param{{Name: "interval", Type: TSeconds}}},
}

// showSchemas decode the arguments of `show WHAT`.
var showSchemas = map[string]*Schema{
	"links": {Verb: "show links"}, "addrs": {Verb: "show addrs"}, "rules": {Verb: "show rules"},
	"neigh": {Verb: "show neigh"}, "netns": {Verb: "show netns"},
	"routes": {Verb: "show routes", Usage: "show routes [table T|all]",
		Options: []*Param{{Name: "table", Type: TTable, Words: []string{"all"}}}},
	"wireguard": {Verb: "show wireguard", Usage: "show wireguard [NAME]",
		Positional: []*Param{{Name: "name", Type: TIfName, Optional: true}}},
}

// schemaKey is a statement's block context and verb.
type schemaKey struct{ parent, verb string }

var schemaIndex = func() map[schemaKey]*Schema {
	m := map[schemaKey]*Schema{}
	for _, s := range schemas {
		m[schemaKey{s.Parent, s.Verb}] = s
		if s.Kinds != nil {
			makeKindOptions(s)
		}
	}
	return m
}()

// Lookup returns the schema of verb in the block context parent ("",
// "wireguard" or "peer").
func Lookup(parent, verb string) *Schema { return schemaIndex[schemaKey{parent, verb}] }

// Schemas returns every network statement schema.
func Schemas() []*Schema { return schemas }

// IsVerb reports whether verb is a network statement in context parent.
func IsVerb(parent, verb string) bool { return Lookup(parent, verb) != nil }

// Verbs lists the network statements of context parent.
func Verbs(parent string) []string {
	var vs []string
	for _, s := range schemas {
		if s.Parent == parent {
			vs = append(vs, s.Verb)
		}
	}
	return vs
}

// Field is one decoded argument of a network statement.
type Field struct {
	Param *Param
	Name  string // canonical name (Param.Name)
	// Key is the keyword as written (nil for positionals).
	Key *Word
	// Value is the argument (nil for flags).
	Value Arg
}

// Span returns the field's source range: keyword through value.
func (f *Field) Span() Span {
	var s Span
	if f.Key != nil {
		s = f.Key.Span
	} else if f.Value != nil {
		s = spanOf(f.Value)
	}
	if f.Value != nil {
		s = s.Cover(spanOf(f.Value))
	}
	return s
}

// Decoded is a network statement read against its schema.
type Decoded struct {
	Stmt   *NetStmt
	Schema *Schema
	Kind   string   // link: the literal kind after `type`, "" if absent or not literal
	Fields []*Field // in source order

	store []Field // storage of Fields (see newDecoded)
}

// Get returns the field called name (canonical), or nil.
func (d *Decoded) Get(name string) *Field {
	for _, f := range d.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Has reports whether the field (or flag) name is present.
func (d *Decoded) Has(name string) bool { return d.Get(name) != nil }

// Value returns the argument of field name, or nil.
func (d *Decoded) Value(name string) Arg {
	if f := d.Get(name); f != nil {
		return f.Value
	}
	return nil
}

// Decode reads s against its schema: positionals, keyword options and
// flags, checking that keywords exist (with did-you-mean hints), that
// options are not repeated, exclusive ones not combined, required ones
// present, block use, and that every literal argument (a word or a string
// without interpolation) parses as its parameter's type. The Decoded is
// usable (best effort) even when diagnostics are returned.
//
// A valid statement of a few arguments decodes in one allocation (the
// Decoded with its Fields; see newDecoded): the evaluator decodes every
// network statement it runs.
func Decode(s *NetStmt) (*Decoded, Diagnostics) {
	sc := Lookup(s.Parent, s.Verb)
	var d *Decoded
	if sc == nil {
		d = &Decoded{}
	} else {
		d = newDecoded(len(s.Args))
	}
	return d, decodeInto(d, s, sc)
}

// DecodeInto is Decode reusing d's storage: it decodes s into d and
// returns the diagnostics. Whatever d held before (its Fields) is no
// longer valid. For callers decoding many statements one after another
// without keeping the results (the checker, the evaluator on statements
// that run once); d may be a zero Decoded.
func DecodeInto(d *Decoded, s *NetStmt) Diagnostics {
	d.reset(len(s.Args))
	return decodeInto(d, s, Lookup(s.Parent, s.Verb))
}

// decodeInto decodes s, of schema sc (nil: none), into d, which is
// empty (newDecoded, or reset for s).
func decodeInto(d *Decoded, s *NetStmt, sc *Schema) Diagnostics {
	d.Stmt = s
	if sc == nil {
		var where string
		switch {
		case s.Parent == "":
			if Lookup("wireguard", s.Verb) != nil {
				where = "only allowed inside a wireguard block"
			} else if Lookup("peer", s.Verb) != nil {
				where = "only allowed inside a peer block"
			}
		default:
			if Lookup("", s.Verb) != nil || Lookup("wireguard", s.Verb) != nil || Lookup("peer", s.Verb) != nil {
				where = "not allowed inside a " + s.Parent + " block"
			}
		}
		if where == "" {
			where = "not a network statement"
		}
		return Diagnostics{{Pos: s.VerbSpan.Pos(), End: s.VerbSpan.End(), Msg: fmt.Sprintf("%s is %s", s.Verb, where)}}
	}
	d.Schema = sc
	var ds Diagnostics
	if s.Del && !sc.Del {
		ds = append(ds, Diagnostic{Pos: s.VerbSpan.Pos(), End: s.VerbSpan.End(), Msg: fmt.Sprintf("del %s is not supported", s.Verb)})
	}
	if s.Block != nil && !sc.Block {
		ds = ds.at(s.Block, "", "%s takes no block", s.Verb)
	}
	if s.Block == nil && sc.NeedsBlk {
		ds = ds.at(s, "", "%s needs a block", s.Verb)
	}
	return decodeArgs(ds, d, sc, s.Args, s.Del, s.VerbSpan)
}

// DecodeShow reads the arguments of a show statement.
func DecodeShow(s *Show) (*Decoded, Diagnostics) {
	sc, ok := showSchemas[s.What.Name]
	if !ok {
		return &Decoded{}, Diagnostics{{Pos: s.What.Pos(), End: s.What.End(),
			Msg:  fmt.Sprintf("cannot show %q (one of %s)", s.What.Name, strings.Join(ShowWhat, ", ")),
			Hint: didYouMean(s.What.Name, ShowWhat)}}
	}
	d := newDecoded(len(s.Args))
	d.Schema = sc
	return d, decodeArgs(nil, d, sc, s.Args, false, s.What.Span)
}

// decodedBuf holds a Decoded and the storage of up to 4 Fields (and the
// slice of pointers to them) in one allocation; decodedBuf8 up to 8.
// Every field takes at least one argument, so a statement of n arguments
// has at most n fields.
type decodedBuf struct {
	d  Decoded
	fs [4]Field
	ps [4]*Field
}

type decodedBuf8 struct {
	d  Decoded
	fs [8]Field
	ps [8]*Field
}

// newDecoded returns an empty Decoded with room for the fields of nargs
// arguments (see addField).
func newDecoded(nargs int) *Decoded {
	switch {
	case nargs <= 4:
		b := &decodedBuf{}
		b.d.Fields, b.d.store = b.ps[:0], b.fs[:0]
		return &b.d
	case nargs <= 8:
		b := &decodedBuf8{}
		b.d.Fields, b.d.store = b.ps[:0], b.fs[:0]
		return &b.d
	}
	return &Decoded{Fields: make([]*Field, 0, nargs), store: make([]Field, 0, nargs)}
}

// reset empties d, keeping its storage, for decoding a statement of
// nargs arguments into it (the checker decodes every statement into one
// Decoded).
func (d *Decoded) reset(nargs int) {
	clear(d.store)
	clear(d.Fields)
	if cap(d.store) < nargs {
		*d = Decoded{Fields: make([]*Field, 0, max(nargs, 8)), store: make([]Field, 0, max(nargs, 8))}
		return
	}
	*d = Decoded{Fields: d.Fields[:0], store: d.store[:0]}
}

// addField appends f to d.Fields, storing it in d.store while there is
// room.
func (d *Decoded) addField(f Field) *Field {
	var p *Field
	if len(d.store) < cap(d.store) {
		d.store = append(d.store, f)
		p = &d.store[len(d.store)-1]
	} else {
		p = new(Field)
		*p = f
	}
	d.Fields = append(d.Fields, p)
	return p
}

// at appends a diagnostic about the range of n.
func (ds Diagnostics) at(n Node, hint, format string, args ...any) Diagnostics {
	pos, end := n.Bounds()
	return append(ds, Diagnostic{Pos: pos, End: end, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// option returns the option field called name (canonical) decoded so far
// (fields from index first on are options), or nil.
func (d *Decoded) option(first int, name string) *Field {
	for _, f := range d.Fields[first:] {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// decodeArgs decodes args into d, appending its diagnostics to ds. verb
// is the range "missing" errors are reported at.
func decodeArgs(ds Diagnostics, d *Decoded, sc *Schema, args []Arg, del bool, verb Span) Diagnostics {
	i := 0
	// Positionals.
	for _, p := range sc.Positional {
		if i >= len(args) {
			if !p.Optional {
				ds = ds.at(verb, "usage: "+usage(sc), "%s: missing %s", sc.Verb, positionalNoun(p))
			}
			continue
		}
		a := args[i]
		if p.Optional {
			kw := Keyword(a)
			if p.Type == TEnum && !contains(p.Enum, kw) {
				continue
			}
			if p.Type != TEnum && kw != "" && optionFor(sc, "", kw) != nil {
				continue
			}
		}
		d.addField(Field{Param: p, Name: p.Name, Value: a})
		i++
	}
	firstOpt := len(d.Fields)
	// Options. The link kind decides which kind options exist.
	kind := "" // kind selecting the kind options; "*" when not a literal
	for j := i; j+1 < len(args); j++ {
		if Keyword(args[j]) == "type" {
			d.Kind = Keyword(args[j+1])
			kind = d.Kind
			if kind == "" {
				kind = "*"
			}
			break
		}
	}
	// The options given are d.Fields[firstOpt:] (seen); named lists the
	// keywords written without their value.
	var named []string
	unknown := false // an unknown keyword makes "missing" errors noise
	for ; i < len(args); i++ {
		a := args[i]
		kw := Keyword(a)
		if kw == "" {
			hint := ""
			if len(sc.Options) == 0 {
				ds = ds.at(a, "usage: "+usage(sc), "%s takes no further arguments", sc.Verb)
			} else {
				ds = ds.at(a, hint, "unexpected argument to %s; expected an option keyword (%s)", sc.Verb, strings.Join(optionNames(sc, kind), ", "))
			}
			continue
		}
		p := optionFor(sc, kind, kw)
		if p == nil {
			if len(sc.Options) == 0 && sc.Kinds == nil {
				ds = ds.at(a, "usage: "+usage(sc), "%s takes no further arguments", sc.Verb)
				continue
			}
			// The unknown keyword's value, if it seems to have one, is
			// skipped so that it is not reported as well.
			if i+1 < len(args) {
				if nkw := Keyword(args[i+1]); nkw == "" || optionFor(sc, kind, nkw) == nil {
					i++
				}
			}
			unknown = true
			if sc.Kinds != nil && kind == "" && kindOption(sc, kw) {
				ds = ds.at(a, "", "%s needs `type KIND` first", kw)
			} else if sc.Kinds != nil && kindOption(sc, kw) {
				ds = ds.at(a, "", "%s is not an option of %s link", kw, withArticle(d.Kind))
			} else {
				ds = ds.at(a, didYouMean(kw, optionNames(sc, kind)), "unknown %s option %q", sc.Verb, kw)
			}
			continue
		}
		name := p.Name
		if sc.After != nil {
			// Options given earlier that rename the ones after them.
			for _, g := range d.Fields[firstOpt:] {
				if to, ok := sc.After[g.Name][name]; ok {
					name = to
					p = optionFor(sc, kind, to)
				}
			}
		}
		f := Field{Param: p, Name: name, Key: a.(*Word)}
		if !p.Flag {
			if i+1 >= len(args) {
				ds = ds.at(a, "", "%s needs a value (%s)", kw, withArticle(p.Type.String()))
				named = append(named, name) // said, without a value: one error is enough
				continue
			}
			i++
			f.Value = args[i]
		}
		if d.option(firstOpt, name) != nil {
			ds = ds.at(a, "", "%s given twice", kw)
			continue
		}
		d.addField(f)
	}
	for _, g := range sc.Exclusive {
		var first *Field
		for _, n := range g {
			f := d.option(firstOpt, n)
			if f == nil {
				continue
			}
			if first != nil {
				ds = ds.at(f.Key, "", "%s cannot be combined with %s", Keyword(f.Key), Keyword(first.Key))
				break
			}
			first = f
		}
	}
	if !del && !unknown {
		for _, g := range sc.RequireOne {
			ok := false
			for _, n := range g {
				ok = ok || d.option(firstOpt, n) != nil
			}
			if !ok {
				ds = ds.at(verb, "usage: "+usage(sc), "%s needs one of %s", sc.Verb, strings.Join(g, ", "))
			}
		}
		for _, p := range allOptions(sc, kind) {
			if p.Required && d.option(firstOpt, p.Name) == nil && !contains(named, p.Name) {
				what := sc.Verb
				if d.Kind != "" && contains(kindNames(sc, d.Kind), p.Name) {
					what = d.Kind + " link"
				}
				ds = ds.at(verb, "usage: "+usage(sc), "%s needs %s", what, p.Name)
			}
		}
	}
	if sc.Verb == "route" && !del {
		ds = append(ds, checkRoute(d)...)
	}
	// Literal values. fams[i] is the family of d.Fields[i]'s literal
	// address, famBad when the literal is bad.
	var famBuf [16]int8
	fams := famBuf[:0]
	for _, f := range d.Fields {
		if f.Value == nil {
			fams = append(fams, famNone)
			continue
		}
		n := len(ds)
		var fam int8
		ds, fam = literalDiags(ds, f.Param, f.Value)
		if len(ds) > n {
			fam = famBad
		}
		fams = append(fams, fam)
	}
	if names, ok := familyGroups[sc.Verb]; ok && sc.Parent == "" {
		ds = append(ds, checkFamilies(d, names, fams)...)
	}
	return ds
}

// Families of literal addresses (see literalDiags).
const (
	famNone int8 = iota // not a literal address (or prefix)
	famBad              // a literal that does not parse
	fam4
	fam6
)

// familyGroups lists, per statement, the fields whose literal addresses
// must all be of one family (IPv4 or IPv6). A route's via may differ
// (IPv4 routes via IPv6 gateways are allowed).
var familyGroups = map[string][]string{
	"addr":  {"prefix", "peer", "broadcast"},
	"route": {"dst", "src"},
	"rule":  {"from", "to"},
}

// checkFamilies reports literal addresses of fields names that mix IPv4
// and IPv6. fams[i] is the family of d.Fields[i]'s literal.
func checkFamilies(d *Decoded, names []string, fams []int8) Diagnostics {
	var first *Field
	firstV4 := false
	for _, n := range names {
		i := d.index(n)
		if i < 0 || fams[i] != fam4 && fams[i] != fam6 {
			continue
		}
		f := d.Fields[i]
		text, _ := literalText(f.Value)
		is4 := fams[i] == fam4
		if first == nil {
			first, firstV4 = f, is4
			continue
		}
		if is4 != firstV4 {
			pos, end := f.Value.Bounds()
			ft, _ := literalText(first.Value)
			return Diagnostics{{Pos: pos, End: end,
				Msg: fmt.Sprintf("%s is %s but %s %s is %s", text, familyName(is4), first.Name, ft, familyName(firstV4))}}
		}
	}
	return nil
}

// literalFamily parses text as p does and tells whether the address (or
// prefix) it is is IPv4; ok is false when text does not parse or is not
// an address (default, all). The address types are parsed without
// boxing them in an interface (no allocation).
func literalFamily(p *Param, text string) (is4, ok bool) {
	if contains(p.Words, text) {
		return false, false
	}
	switch p.Type {
	case TAddr:
		a, err := netip.ParseAddr(text)
		return a.Unmap().Is4(), err == nil
	case TPrefix, TNet:
		pfx, err := parsePrefixValue(text, p.Type == TNet)
		return pfx.Addr().Unmap().Is4(), err == nil
	}
	v, err := p.Parse(text)
	if err != nil {
		return false, false
	}
	switch v := v.(type) {
	case netip.Prefix:
		return v.Addr().Unmap().Is4(), true
	case netip.Addr:
		return v.Unmap().Is4(), true
	}
	return false, false
}

// index returns the index in d.Fields of the field called name, or -1.
func (d *Decoded) index(name string) int {
	for i, f := range d.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func familyName(is4 bool) string {
	if is4 {
		return "IPv4"
	}
	return "IPv6"
}

func checkRoute(d *Decoded) Diagnostics {
	t := Keyword(d.Value("type"))
	if t == "" || t == "unicast" {
		if d.Value("type") == nil && !d.Has("via") && !d.Has("dev") {
			s := d.Stmt
			return Diagnostics{{Pos: s.VerbSpan.Pos(), End: s.VerbSpan.End(), Msg: "route needs via or dev"}}
		}
		return checkViaFamily(d)
	}
	var ds Diagnostics
	for _, n := range []string{"via", "dev", "src", "onlink"} {
		if f := d.Get(n); f != nil {
			ds = append(ds, Diagnostic{Pos: f.Key.Pos(), End: f.Key.End(), Msg: fmt.Sprintf("%s route has no %s", withArticle(t), n)})
		}
	}
	return ds
}

// checkViaFamily reports an IPv6 destination via an IPv4 gateway, which
// the kernel refuses (the reverse, RFC 5549's IPv4 via IPv6, is allowed).
func checkViaFamily(d *Decoded) Diagnostics {
	dst, via := d.Get("dst"), d.Get("via")
	if dst == nil || via == nil {
		return nil
	}
	dt, ok1 := literalText(dst.Value)
	vt, ok2 := literalText(via.Value)
	if !ok1 || !ok2 {
		return nil
	}
	dst4, ok1 := literalFamily(dst.Param, dt)
	via4, ok2 := literalFamily(via.Param, vt)
	if !ok1 || !ok2 || dst4 || !via4 {
		return nil
	}
	pos, end := via.Value.Bounds()
	return Diagnostics{{Pos: pos, End: end,
		Msg:  fmt.Sprintf("%s is IPv4 but the destination %s is IPv6", vt, dt),
		Hint: "an IPv6 route needs an IPv6 gateway (IPv4 routes may use IPv6 gateways, not the reverse)"}}
}

// checkLiteral parses literal arguments (words and strings without
// interpolation) against p.
func checkLiteral(p *Param, a Arg) Diagnostics {
	return appendLiteralDiags(nil, p, a)
}

// literalDiags appends the diagnostics of checkLiteral(p, a) to ds, and
// returns the family of a when it is a literal address or prefix that
// parses (fam4, fam6; otherwise famNone).
func literalDiags(ds Diagnostics, p *Param, a Arg) (Diagnostics, int8) {
	switch a.(type) {
	case *Word, *String:
	default:
		return appendLiteralDiags(ds, p, a), famNone
	}
	text, ok := literalText(a)
	if !ok || p.Type == TAny {
		return ds, famNone
	}
	fam, err := p.validateFamily(text)
	if err != nil {
		pos, end := a.Bounds()
		return append(ds, Diagnostic{Pos: pos, End: end, Msg: err.Error(), Hint: HintOf(err), Err: err}), famNone
	}
	return ds, fam
}

// validateFamily is validate, and tells the family of an address or
// prefix (fam4, fam6; famNone for other types and p.Words) as
// literalFamily does.
func (p *Param) validateFamily(text string) (int8, error) {
	if contains(p.Words, text) {
		return famNone, nil
	}
	fam := func(is4 bool) int8 {
		if is4 {
			return fam4
		}
		return fam6
	}
	switch p.Type {
	case TAddr:
		a, err := netip.ParseAddr(text)
		if err != nil {
			return famNone, notA(text, "an IP address")
		}
		return fam(a.Unmap().Is4()), nil
	case TPrefix, TNet:
		pfx, err := parsePrefixValue(text, p.Type == TNet)
		if err != nil {
			return famNone, err
		}
		return fam(pfx.Addr().Unmap().Is4()), nil
	}
	return famNone, p.validate(text)
}

// appendLiteralDiags appends the diagnostics of checkLiteral(p, a) to ds.
func appendLiteralDiags(ds Diagnostics, p *Param, a Arg) Diagnostics {
	if l, ok := a.(*List); ok {
		if !p.List {
			if l.Bare {
				pos, end := a.Bounds()
				return append(ds, Diagnostic{Pos: pos, End: end, Msg: fmt.Sprintf("%s takes one value, not a list", p.Name)})
			}
			return ds
		}
		for _, e := range l.Elems {
			ds = appendLiteralDiags(ds, p, e)
		}
		return ds
	}
	text, ok := literalText(a)
	if !ok || p.Type == TAny {
		return ds
	}
	if err := p.validate(text); err != nil {
		pos, end := a.Bounds()
		return append(ds, Diagnostic{Pos: pos, End: end, Msg: err.Error(), Hint: HintOf(err), Err: err})
	}
	return ds
}

func optionFor(sc *Schema, kind, kw string) *Param {
	for _, p := range allOptions(sc, kind) {
		if p.Name == kw || contains(p.Aliases, kw) {
			return p
		}
	}
	return nil
}

// allOptions returns the options of sc plus, for link, those of kind (all
// kinds' options, untyped, when the kind is not a literal). The lists
// are made once (kindOptions); callers must not modify them.
func allOptions(sc *Schema, kind string) []*Param {
	if sc.Kinds == nil || kind == "" {
		return sc.Options
	}
	if ps, ok := sc.kindOptions[kind]; ok {
		return ps
	}
	return sc.Options // an unknown kind has no options of its own
}

// makeKindOptions fills sc.kindOptions: per kind, sc.Options followed by
// that kind's options, and for "*" (the kind is computed at run time)
// every kind's options, untyped: accepted unchecked here, the evaluator
// checks them against the kind.
func makeKindOptions(sc *Schema) {
	sc.kindOptions = map[string][]*Param{}
	for k, kps := range sc.Kinds {
		sc.kindOptions[k] = append(append([]*Param{}, sc.Options...), kps...)
	}
	ps := append([]*Param{}, sc.Options...)
	seen := map[string]bool{}
	for _, k := range LinkKinds {
		for _, p := range sc.Kinds[k] {
			if !seen[p.Name] {
				seen[p.Name] = true
				ps = append(ps, &Param{Name: p.Name, Type: TAny})
			}
		}
	}
	sc.kindOptions["*"] = ps
}

func kindOption(sc *Schema, kw string) bool {
	for _, ps := range sc.Kinds {
		for _, p := range ps {
			if p.Name == kw {
				return true
			}
		}
	}
	return false
}

func kindNames(sc *Schema, kind string) []string {
	var ns []string
	for _, p := range sc.Kinds[kind] {
		ns = append(ns, p.Name)
	}
	return ns
}

func optionNames(sc *Schema, kind string) []string {
	var ns []string
	for _, p := range allOptions(sc, kind) {
		if strings.Contains(p.Name, "-netns") {
			continue
		}
		ns = append(ns, p.Name)
	}
	return ns
}

// allKeywords lists every option keyword and alias of every schema (for
// did-you-mean on misspelled keywords).
func allKeywords() []string {
	set := map[string]bool{}
	for _, s := range schemas {
		for _, p := range s.Options {
			set[p.Name] = true
			for _, a := range p.Aliases {
				set[a] = true
			}
		}
	}
	var l []string
	for k := range set {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

// optionOwner returns the verbs having option kw ("rule", or "route, rule").
func optionOwner(kw string) string {
	var owners []string
	for _, s := range schemas {
		for _, p := range s.Options {
			if p.Name == kw || contains(p.Aliases, kw) {
				owners = append(owners, s.Verb)
				break
			}
		}
	}
	return strings.Join(owners, " and ")
}

func usage(sc *Schema) string {
	if sc.Usage != "" {
		return sc.Usage
	}
	return sc.Verb
}

func positionalNoun(p *Param) string {
	switch p.Name {
	case "dst":
		return "destination (a prefix or default)"
	case "name":
		return "name"
	}
	return p.Name + " (" + withArticle(p.Type.String()) + ")"
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
