package txn_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nets-lang/nets/eval/txn"
	"github.com/nets-lang/nets/kernel"
)

// A sequence is a set of wants a test runs as one transaction against a
// fresh kernel.Model, after its setup.
type sequence struct {
	name   string
	nss    []string // named namespaces to dump
	setup  []kernel.Want
	run    []kernel.Want
	before func(m *kernel.Model) // extra preparation, may be nil
}

func newKey(t testing.TB) kernel.Key {
	var k kernel.Key
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	return k
}

func sequences(t testing.TB) []sequence {
	s1, r1 := scenario(kernel.Host, "b")

	k1, k2, peer, psk := newKey(t), newKey(t), newKey(t), newKey(t)
	port, port2 := 51820, 51821
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	wg := sequence{name: "wireguard",
		setup: []kernel.Want{
			link("", kernel.LinkWant{Name: "wg0", Kind: kernel.KindWireGuard, Up: bptr(true)}),
			{WireGuard: &kernel.WGWant{Name: "wg0", PrivateKey: &k1, ListenPort: &port,
				Peers: []kernel.WGPeerWant{{PublicKey: peer, PresharedKey: &psk, Endpoint: &ep, AllowedIPs: []netip.Prefix{pfx("10.70.0.0/16")}}}}},
			addr("", "wg0", "10.69.0.1/24"),
			via("", "10.70.0.0/16", "10.69.0.2", 100),
		},
		run: []kernel.Want{
			{WireGuard: &kernel.WGWant{Name: "wg0", PrivateKey: &k2, ListenPort: &port2}},
			{WireGuard: &kernel.WGWant{Name: "wg0", Peers: []kernel.WGPeerWant{{PublicKey: peer, AllowedIPs: []netip.Prefix{pfx("10.71.0.0/16")}}}}},
			link("", kernel.LinkWant{Name: "wg1", Kind: kernel.KindWireGuard}),
			{WireGuard: &kernel.WGWant{Name: "wg1", PrivateKey: &k1}},
			absent(link("", kernel.LinkWant{Name: "wg0"})),
		}}

	ns := sequence{name: "namespaces", nss: []string{"old", "new"},
		setup: []kernel.Want{
			{Netns: &kernel.NetnsWant{Name: "old"}},
			veth("", "h0", "o0", "old"), up("", "h0"), up("old", "o0"), up("old", "lo"),
			addr("", "h0", "10.20.0.1/24"), addr("old", "o0", "10.20.0.2/24"),
			via("old", "10.21.0.0/16", "10.20.0.1", 100),
			route("old", kernel.Route{Dst: pfx("10.22.0.0/16"), Type: kernel.RouteBlackhole, Table: 1000000}, 0),
			rule("old", kernel.Rule{Family: 4, Priority: 500, Dst: pfx("10.21.0.0/16"), Action: kernel.ActionLookup, Table: 100}, false),
			link("", kernel.LinkWant{Name: "x0", Kind: kernel.KindBridge}),
			veth("", "m0", "m1", ""), addr("", "m0", "10.30.0.1/24"), up("", "m0"),
		},
		run: []kernel.Want{
			absent(kernel.Want{Netns: &kernel.NetnsWant{Name: "old"}}),
			veth("", "x0", "x1", ""), // kind clash: delete the bridge, create a veth
			{Netns: &kernel.NetnsWant{Name: "new"}},
			link("", kernel.LinkWant{Name: "m0", Netns: sptr("new")}), // move: drops its address
			up("new", "m0"),
			addr("new", "m0", "10.31.0.1/24"),
			absent(link("", kernel.LinkWant{Name: "m1"})),
		}}

	return []sequence{
		{name: "realistic", nss: []string{"b"}, setup: s1, run: r1},
		wg, ns,
	}
}

func (s sequence) model(t testing.TB) *kernel.Model {
	m := kernel.NewModel()
	ensureAll(t, m, []kernel.Want{up("", "lo")})
	ensureAll(t, m, s.setup)
	return m
}

// countRun runs the sequence once without failures and returns how many
// steps change something and how many mutating kernel calls it makes.
func (s sequence) count(t *testing.T) (steps, calls int) {
	t.Helper()
	m := s.model(t)
	fk := &faultKernel{Kernel: m, failAt: -1}
	tx, err := txn.Begin(fk, txn.Options{NoJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := runAll(tx, s.run); err != nil {
		t.Fatalf("%s without failures: %v", s.name, err)
	}
	steps = tx.Steps()
	calls = fk.calls
	// Rollback of the whole run restores the setup state exactly.
	before := dumpAll(t, s.model(t), s.nss...)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if d := diffLines(before, dumpAll(t, m, s.nss...)); d != "" {
		t.Fatalf("%s: full rollback differs:\n%s", s.name, d)
	}
	if steps == 0 || calls < steps {
		t.Fatalf("%s: %d steps, %d calls", s.name, steps, calls)
	}
	return steps, calls
}

// TestModelRollbackEveryStep fails each sequence at every step (before
// it is applied, after its inverse is journaled), at every kernel call
// (before the kernel sees it, and after it made the change: a step that
// fails halfway), and after the last step; the rollback must restore the
// full state dump exactly, remove the journal and release the lock.
func TestModelRollbackEveryStep(t *testing.T) {
	total := 0
	for _, s := range sequences(t) {
		steps, calls := s.count(t)
		type injection struct {
			name  string
			hook  func(i int, st *kernel.Step) error
			fault *faultKernel
		}
		var injs []injection
		for k := 0; k <= steps; k++ { // k == steps: an error after the last step
			injs = append(injs, injection{name: fmt.Sprintf("step%d", k), hook: func(i int, _ *kernel.Step) error {
				if i == k {
					return errInjected
				}
				return nil
			}})
		}
		for j := range calls {
			injs = append(injs, injection{name: fmt.Sprintf("call%d-before", j), fault: &faultKernel{failAt: j}})
			injs = append(injs, injection{name: fmt.Sprintf("call%d-after", j), fault: &faultKernel{failAt: j, after: true}})
		}
		for _, inj := range injs {
			t.Run(s.name+"/"+inj.name, func(t *testing.T) {
				m := s.model(t)
				before := dumpAll(t, m, s.nss...)
				var k kernel.Kernel = m
				if inj.fault != nil {
					inj.fault.Kernel = m
					k = inj.fault
				}
				o := journalOpts(t)
				o.BeforeApply = inj.hook
				tx, err := txn.Begin(k, o)
				if err != nil {
					t.Fatal(err)
				}
				err = runAll(tx, s.run)
				if err == nil && inj.hook == nil {
					t.Fatalf("the injected failure did not fail the run")
				}
				if err != nil && !errors.Is(err, errInjected) {
					t.Fatalf("run failed with %v, not the injected failure", err)
				}
				if err := tx.Rollback(); err != nil {
					t.Fatalf("rollback: %v", err)
				}
				if d := diffLines(before, dumpAll(t, m, s.nss...)); d != "" {
					t.Fatalf("state after rollback differs from before:\n%s", d)
				}
				if _, err := os.Stat(filepath.Join(o.JournalDir, "journal")); !os.IsNotExist(err) {
					t.Fatalf("journal left after a complete rollback: %v", err)
				}
				tx2, err := txn.Begin(m, o)
				if err != nil {
					t.Fatalf("Begin after rollback: %v", err)
				}
				tx2.Commit()
			})
			total++
		}
	}
	t.Logf("injection points covered: %d", total)
}

// TestModelUndoFailure fails the undo of each step in turn: the rollback
// keeps going, reports exactly that step (its want rendered, no secret),
// keeps the journal; Begin then refuses and Recover restores exactly.
func TestModelUndoFailure(t *testing.T) {
	injected := 0
	for _, s := range sequences(t) {
		steps, _ := s.count(t)
		for j := range steps {
			for _, two := range []bool{false, true} {
				if two && j == 0 {
					continue
				}
				t.Run(fmt.Sprintf("%s/undo%d/two=%v", s.name, j, two), func(t *testing.T) {
					m := s.model(t)
					before := dumpAll(t, m, s.nss...)
					o := journalOpts(t)
					failed := map[int]bool{j: true}
					if two {
						failed[0] = true
					}
					o.BeforeUndo = func(i int, w kernel.Want) error {
						if failed[i] {
							return fmt.Errorf("%w undoing step %d", errInjected, i)
						}
						return nil
					}
					tx, err := txn.Begin(m, o)
					if err != nil {
						t.Fatal(err)
					}
					if err := runAll(tx, s.run); err != nil {
						t.Fatal(err)
					}
					err = tx.Rollback()
					var ue *txn.UndoError
					if !errors.As(err, &ue) {
						t.Fatalf("rollback returned %v, want an *UndoError", err)
					}
					got := map[int]bool{}
					for _, f := range ue.Failures {
						got[f.Step] = true
						if f.Want == "" || f.Err == nil || (failed[f.Step] && !errors.Is(f.Err, errInjected)) {
							t.Errorf("failure %+v", f)
						}
						if !strings.Contains(err.Error(), fmt.Sprintf("step %d: %s", f.Step, f.Want)) {
							t.Errorf("message does not list step %d (%s):\n%v", f.Step, f.Want, err)
						}
					}
					// The injected steps are listed; others may fail as a
					// consequence (a device whose restore failed cannot be
					// configured), and are listed too.
					if !got[j] || (two && !got[0]) {
						t.Fatalf("failures listed for steps %v, want %v among them", got, failed)
					}
					if ue.Undone != steps-len(got) {
						t.Errorf("undone %d steps, want %d", ue.Undone, steps-len(got))
					}
					if !errors.Is(err, errInjected) {
						t.Errorf("UndoError does not unwrap to the undo errors")
					}
					if ue.Journal == "" {
						t.Errorf("error does not point at the kept journal: %+v", ue)
					}
					if strings.Contains(err.Error(), "journal") {
						t.Errorf("UndoError.Error() speaks of the journal (its callers do, once): %v", err)
					}
					if _, err := os.Stat(ue.Journal); err != nil {
						t.Fatalf("journal not kept: %v", err)
					}
					if _, err := txn.Begin(m, o); !errors.Is(err, txn.ErrUnrecovered) {
						t.Fatalf("Begin over the kept journal: %v", err)
					}
					// The journal marks what was undone: steps newer than
					// the newest failure need no replay.
					newest := 0
					for st := range got {
						newest = max(newest, st)
					}
					info, err := txn.Pending(o)
					if err != nil || info == nil || info.Steps != newest+1 {
						t.Fatalf("Pending = %+v, %v; want %d steps to replay", info, err, newest+1)
					}
					o.BeforeUndo = nil
					n, err := txn.Recover(m, o)
					if err != nil || n != newest+1 {
						t.Fatalf("Recover = %d, %v; want %d", n, err, newest+1)
					}
					if d := diffLines(before, dumpAll(t, m, s.nss...)); d != "" {
						t.Fatalf("state after recover differs:\n%s", d)
					}
					injected++
				})
			}
		}
	}
	t.Logf("undo failures injected: %d runs, each reported, the rest undone, recovered exactly", injected)
}

// TestModelRecoverAfterCrash simulates the process dying (journal and
// lock closed, nothing undone) at every point of each sequence: after
// step k was journaled but before it was applied, after it was applied,
// halfway through its kernel calls, and with a torn last journal line.
// Begin must refuse; Recover must restore the exact state, report the
// steps it undid, and be a no-op the second time.
func TestModelRecoverAfterCrash(t *testing.T) {
	points := 0
	for _, s := range sequences(t) {
		steps, calls := s.count(t)
		type crash struct {
			name  string
			at    int // crash in BeforeApply of step at (-1: none)
			fault *faultKernel
			torn  bool
			want  int // steps Recover should report
		}
		var cs []crash
		for k := range steps {
			cs = append(cs, crash{name: fmt.Sprintf("journaled-not-applied%d", k), at: k, want: k + 1})
			cs = append(cs, crash{name: fmt.Sprintf("torn-after%d", k), at: k, torn: true, want: k + 1})
		}
		for j := range calls {
			cs = append(cs, crash{name: fmt.Sprintf("mid-call%d", j), at: -1, fault: &faultKernel{failAt: j, after: true}, want: -1})
		}
		for _, c := range cs {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				m := s.model(t)
				before := dumpAll(t, m, s.nss...)
				o := journalOpts(t)
				var tx *txn.Tx
				o.BeforeApply = func(i int, _ *kernel.Step) error {
					if i == c.at {
						tx.Abandon()
						return errInjected
					}
					return nil
				}
				var k kernel.Kernel = m
				if c.fault != nil {
					c.fault.Kernel = m
					k = c.fault
				}
				tx, err := txn.Begin(k, o)
				if err != nil {
					t.Fatal(err)
				}
				if err := runAll(tx, s.run); !errors.Is(err, errInjected) {
					t.Fatalf("run: %v", err)
				}
				want := c.want
				if c.fault != nil { // died right after the failed call
					want = tx.Steps()
					tx.Abandon()
				}
				path := filepath.Join(o.JournalDir, "journal")
				if c.torn {
					f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
					if err != nil {
						t.Fatal(err)
					}
					f.WriteString(`{"seq":999,"inverse":[{"ns":"x","rou`)
					f.Close()
				}
				info, err := txn.Pending(o)
				if err != nil || info == nil {
					t.Fatalf("Pending = %v, %v", info, err)
				}
				if info.Steps != want || info.Torn != c.torn || info.PID != os.Getpid() || info.Recipe != "test.nets" || info.Held || info.Running {
					t.Fatalf("Pending = %+v, want %d steps, torn %v", info, want, c.torn)
				}
				_, err = txn.Begin(m, o)
				var je *txn.JournalError
				if !errors.As(err, &je) || !errors.Is(err, txn.ErrUnrecovered) {
					t.Fatalf("Begin over an unrecovered journal: %v", err)
				}
				wantMsg := fmt.Sprintf("an interrupted run left a journal (%s, recipe test.nets, pid %d, started ", path, os.Getpid())
				if !strings.HasPrefix(err.Error(), wantMsg) || !strings.HasSuffix(err.Error(), "); run `nets recover` first") {
					t.Fatalf("message:\n%v\nwant prefix:\n%s", err, wantMsg)
				}
				n, err := txn.Recover(m, o)
				if err != nil || n != want {
					t.Fatalf("Recover = %d, %v; want %d", n, err, want)
				}
				if d := diffLines(before, dumpAll(t, m, s.nss...)); d != "" {
					t.Fatalf("state after recover differs:\n%s", d)
				}
				if n, err := txn.Recover(m, o); n != 0 || err != nil {
					t.Fatalf("second Recover = %d, %v", n, err)
				}
				if info, err := txn.Pending(o); info != nil || err != nil {
					t.Fatalf("Pending after recover = %+v, %v", info, err)
				}
				tx2, err := txn.Begin(m, o)
				if err != nil {
					t.Fatalf("Begin after recover: %v", err)
				}
				tx2.Commit()
			})
			points++
		}
	}
	t.Logf("crash points covered: %d", points)
}
