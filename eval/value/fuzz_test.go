package value

import "testing"

// FuzzFromWord: typing a word never panics, and a typed (non-string) value
// prints in a form that reads back as the same value.
func FuzzFromWord(f *testing.F) {
	for _, s := range []string{"42", "-7", "0x1f", "30s", "1.5h", "10.0.0.0/8", "10.0.0.1/24", "fe80::1%eth0", "::ffff:1.2.3.4", "aa:bb:cc:dd:ee:ff", "true", "eth0", "1000-2000", "0x1/0xff", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, word string) {
		v := FromWord(word)
		if _, err := AsText(v); err != nil {
			t.Fatalf("AsText(FromWord(%q)): %v", word, err)
		}
		if v.Type() == TString {
			if string(v.(String)) != word {
				t.Fatalf("FromWord(%q) changed the string", word)
			}
			return
		}
		back := FromWord(v.String())
		if !Equal(back, v) {
			t.Fatalf("FromWord(%q) = %s %v, but %q reads back as %s %v", word, v.Type(), v, v.String(), back.Type(), back)
		}
		for _, op := range []string{"==", "<", "+", "-", "in"} {
			_, _ = Binary(op, v, v)
		}
		_, _ = Unary("-", v)
		_, _ = Unary("not", v)
	})
}
