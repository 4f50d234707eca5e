// Package eval runs nets recipes: it walks a parsed and checked
// *lang.File, evaluates its scripting statements, and turns every network
// statement into a kernel.Want that it ensures through one eval/txn
// transaction.
//
//	src ──lang.Parse──▶ *lang.File ──Check──▶ ──Run──▶ txn.Tx ──▶ kernel.Ensurer ──▶ kernel.Kernel
//
// Embedding takes two calls (see the examples): Load parses and checks a
// recipe, Run applies it (Plan shows what Run would do). Options carry the
// kernel, the start namespace, variables, output writers and hooks;
// Result carries the change list. Session keeps variables, functions and
// the current namespace from one recipe to the next (the REPL).
//
// # One run, one transaction
//
// Each Run begins a txn.Tx. When a statement fails (a kernel error,
// assert, fail, an exec that exits non-zero, an error in an expression)
// or ctx is cancelled (the CLI cancels it on SIGINT, SIGTERM, SIGHUP),
// the Tx rolls back every change made so far, newest first, and Run
// returns an *Error: a lang.Diagnostic at the failing node (file:line:col,
// the kernel's extended-ack text in Detail, errors.Is reaching
// kernel.ErrExist and friends), plus what the rollback did. Otherwise the
// Tx is committed. Each applied change is passed to Options.OnChange as
// it happens and collected in Result.Changes (the Tx's own list, not a
// copy); FormatChange renders it, AppendChange into a caller's buffer.
// Run never panics: a panic inside the evaluator is recovered and
// reported as an internal-error diagnostic, and the run rolls back.
//
// Consecutive route and neighbour statements are ensured in batches (one
// journal sync per batch; on the real kernel through a txn.Stream that
// applies them while the evaluation goes on) and flushed before any
// statement that could observe them (see batch.go); their change lines
// arrive in order once the kernel has applied them, and a failure is
// still reported at the statement that caused it.
//
// # Scripting semantics
//
//   - Every block is a scope, and each loop iteration gets a fresh one.
//     `let` binds in the current scope (a second `let` of a name in the
//     same scope is an error; an inner block may shadow). `set` rebinds
//     the variable in the nearest enclosing scope that has it. Variables
//     passed in Options.Vars live in a scope outside the recipe's.
//   - `${expr}` inside a word or string interpolates the expression; a
//     bare name there is the variable of that name, so `veth-${i}` is
//     `veth-${$i}` (a name that is no variable is an error). In a word
//     the value's text is value.AsText (a key cannot be interpolated: use
//     string($k) to reveal one deliberately); in a string it is
//     value.TextInString (a key shows as "(key)"). In an expression an
//     interpolated word is typed by its shape after interpolation:
//     `${$net}.0/24` is a prefix.
//   - `if` conditions must be bools. `for $x in EXPR` iterates a list's
//     elements, or a record's field names in order ($r[$x] reads the
//     field); anything else is an error.
//   - `def name($a, $b) < ... >` defines a recipe function in the current
//     scope; it is visible after its definition, in that scope and the
//     blocks inside it. A call binds the parameters in a new scope inside
//     the scope the function was defined in (functions see the variables
//     around their definition, and `set` inside one changes them). The
//     body runs in the caller's namespace and table block. Recipe
//     functions are statements: they return no value, and calling one
//     inside an expression is an error. Calls (and includes) nest at
//     most Options.MaxDepth (default 100) deep; deeper recursion is an
//     error at the call.
//   - `include "path"` reads the file relative to the including file
//     (through Options.FS when set) and runs its statements in the
//     current scope, so its lets and defs are visible after the include.
//     A cycle is an error at run time too.
//   - `print EXPR` writes the value's display form to Options.Stdout
//     (strings unquoted; keys as "(key)").
//   - `assert COND[, MSG]` fails the run with "assertion failed: MSG"
//     (the condition's text without MSG) when COND is false; `fail MSG`
//     fails it with MSG. The diagnostic's Err is an *AssertError.
//   - `exec PROG ARGS...` runs a program in the current namespace through
//     the Tx (or Options.Exec), streaming its output to Options.Stdout
//     and Stderr; a list value stands for several arguments. A non-zero
//     exit fails the run. What the program changed is not rolled back.
//     On a kernel.Model, exec records the command and succeeds.
//   - `show WHAT` prints the current namespace's state in recipe syntax
//     (kernel.Show, the same renderer as `nets save`), one object per
//     line; what a recipe cannot write is printed as a comment, so the
//     output pastes back.
//
// # Network statements
//
// Each statement's arguments are decoded against its schema
// (lang.Decode) and converted with lang's word parsers: a word is
// interpolated (value.AsText: a key cannot be interpolated into a word)
// and parsed as its position's type; a string, $var, call or (expr) is
// evaluated and its text parsed the same way, so a computed value gets
// the same messages as a literal; a key position takes a key value or a
// string holding one. A bare address where a prefix is expected is the
// host prefix (/32, /128).
//
//   - `netns NAME` ensures a named namespace; `in netns NAME < ... >` runs
//     the block inside it (it must exist); `host` names the namespace nets
//     started in, whatever Options.NS is. A bare `in netns NAME` switches
//     the current namespace for the rest of the enclosing block (and, in
//     a Session, for the following recipes).
//   - `link` maps to kernel.LinkWant: a type creates the link when absent
//     (and replaces a link of another kind); without one, the link must
//     exist and only the stated attributes are ensured. `netns NS` moves
//     it; a veth's `peer P netns NS` creates the peer there. Without
//     `netns` the peer's namespace is not stated: an existing pair whose
//     peer was moved away (`link v1 netns lab` after creating it) still
//     satisfies the statement, and a new pair gets its peer here.
//     tun/tap `user`/`group` take numbers or names.
//   - `addr`, `neigh` (always permanent), `route` and `rule` map to the
//     matching kernel Wants. `route default` is 0.0.0.0/0, or ::/0 when
//     the gateway (or else the source) is IPv6; a route states exactly the
//     attributes written (RouteWant.Set). A rule is IPv6 when its from/to
//     is, IPv4 otherwise; without `priority` any priority satisfies it
//     (RuleWant.AnyPriority) and a new one gets the kernel's choice.
//     `del rule` needs the rule's action, like `ip rule del`.
//   - Tables: `table ID name NAME` names a table for the rest of the run
//     (on top of /etc/iproute2/rt_tables, Options.Tables); naming a table
//     that already has another name is an error. `table T < ... >` makes
//     routes inside the block without their own `table` go to T. Rules
//     are not affected (a rule always names its action); neither is
//     anything else.
//   - `wireguard NAME < ... >` collects private-key, listen-port, fwmark,
//     replace-peers and `peer KEY < preshared-key, endpoint, allowed-ips,
//     persistent-keepalive >` (scripting statements may build it, e.g. a
//     for over peers) into one kernel.WGWant, ensured when the block
//     ends, on the existing link NAME (`link NAME type wireguard` first).
//     Each attribute may be given once per device (per peer), and a peer
//     once. `del peer KEY` inside the block removes a peer; `del
//     wireguard NAME` deletes the wireguard link. Endpoint host names are
//     resolved once per run (Options.LookupHost), IPv4 preferred.
//     Private and preshared keys never appear in output.
//   - `del OBJECT ...` ensures the object is absent (only its identity
//     matters).
//
// # Plans
//
// Plan evaluates the same recipe against a kernel.Model seeded from the
// live state (kernel.NewModelFrom) of the host namespace and every
// namespace Namespaces finds statically; a namespace reached only
// dynamically is copied from the live kernel when first entered. The
// Tx runs with NoJournal. exec is not run: a line
// "# exec ARGS (not run in plan)" goes to Stdout and Result.Skipped
// lists it. Assertions, if conditions and has_link() see the model,
// which a skipped exec never changes: a condition that depends on what
// a program would have done is evaluated as if it did nothing, so such
// a plan may fail (or branch) where the run would not. show prints the
// model's state, the changes planned so far included.
//
// # Key files
//
// writekey and loadkey do not write their files while the recipe runs:
// the files are part of the transaction (keyfiles.go, Options.KeyFiles).
// A Run writes them once everything else succeeded, just before the
// commit, and rolls back when one cannot be written; a failed Run writes
// none. A Plan, a Run on a kernel.Model and a Run inside nets try's
// sandbox write none and note "# writekey PATH (...)" instead. A readkey
// of the same path later in the recipe sees the pending key either way.
package eval
