package txn

import (
	"fmt"
	"testing"

	"github.com/nets-lang/nets/kernel"
)

// TestChangeLog: changes added in calls of every size, across array
// boundaries, come back in order; a list returned by all is not changed
// by later adds, and asking again without adding copies nothing.
func TestChangeLog(t *testing.T) {
	var l changeLog
	if l.all() != nil || l.len() != 0 {
		t.Fatal("an empty log has changes")
	}
	ch := func(i int) kernel.Change { return kernel.Change{Mark: '+', Text: fmt.Sprint(i)} }
	want := 0
	check := func(got []kernel.Change) {
		t.Helper()
		if len(got) != want || l.len() != want {
			t.Fatalf("%d changes (len %d), want %d", len(got), l.len(), want)
		}
		for i, c := range got {
			if c != ch(i) {
				t.Fatalf("change %d is %v", i, c)
			}
		}
	}
	for _, n := range []int{1, 2, changeChunk - 3, 5, changeChunk, 2*changeChunk + 1, 0, 7} {
		cs := make([]kernel.Change, n)
		for i := range cs {
			cs[i] = ch(want + i)
		}
		l.add(cs...)
		want += n
		check(l.all())
	}
	first := l.all()
	if again := l.all(); &again[0] != &first[0] {
		t.Error("a second all copied the changes")
	}
	if cap(first) != len(first) {
		t.Errorf("all's slice has room to grow (len %d, cap %d): a later add would show through it", len(first), cap(first))
	}
	l.add(ch(want))
	want++
	if len(first) != want-1 || first[len(first)-1] != ch(want-2) {
		t.Error("a later add changed a slice returned before")
	}
	after := l.all()
	check(after)
	if &after[0] != &first[0] {
		t.Error("all after one more add copied every change again")
	}
}
