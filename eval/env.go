package eval

import (
	"os"
	"path/filepath"

	"github.com/nets-lang/nets/builtins"
	"github.com/nets-lang/nets/kernel"
	"github.com/nets-lang/nets/lang"
)

// env is the builtins.Env of a run: environment variables from
// Options.Getenv (or the process), links and namespaces as the run's
// transaction sees them in the current namespace (in a plan: the model,
// with the changes planned so far), and the directory of the recipe file
// that makes the call.
type env struct {
	e    *evaluator
	file string
	call *lang.Call // the call being made, for errors about its key file
}

var _ builtins.Env = (*env)(nil)

// Getenv implements builtins.Env.
func (v *env) Getenv(name string) (string, bool) {
	if v.e.o.Getenv != nil {
		return v.e.o.Getenv(name)
	}
	return os.LookupEnv(name)
}

// HasLink implements builtins.Env: whether the current namespace has the
// link now (changes the run made are visible).
func (v *env) HasLink(name string) (bool, error) {
	ls, err := v.e.kern().Links(v.e.ns)
	if err != nil {
		return false, err
	}
	for _, l := range ls {
		if l.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// HasNetns implements builtins.Env. "host" always exists.
func (v *env) HasNetns(name string) (bool, error) {
	if name == kernel.HostName {
		return true, nil
	}
	nss, err := v.e.kern().Namespaces()
	if err != nil {
		return false, err
	}
	for _, n := range nss {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// BaseDir implements builtins.Env: the directory of the recipe file
// making the call ("." for a recipe without a file name).
func (v *env) BaseDir() string {
	if v.file == "" {
		return "."
	}
	return filepath.Dir(v.file)
}
