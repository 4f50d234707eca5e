package builtins

import "github.com/nets-lang/nets/kernel"

// StaticEnv is an Env with fixed answers, for tests and for embedders that
// evaluate without a kernel. The zero value has no variables, links or
// namespaces and resolves paths against the working directory.
type StaticEnv struct {
	// Vars are the environment variables env() sees.
	Vars map[string]string
	// Links and Netns are the names has_link and has_netns find.
	Links []string
	Netns []string
	// Dir is returned by BaseDir.
	Dir string
	// Err, when set, is returned by HasLink and HasNetns.
	Err error
}

var _ Env = (*StaticEnv)(nil)

// Getenv implements Env.
func (e *StaticEnv) Getenv(name string) (string, bool) {
	v, ok := e.Vars[name]
	return v, ok
}

// HasLink implements Env.
func (e *StaticEnv) HasLink(name string) (bool, error) { return e.has(e.Links, name) }

// HasNetns implements Env.
func (e *StaticEnv) HasNetns(name string) (bool, error) { return e.has(e.Netns, name) }

// BaseDir implements Env.
func (e *StaticEnv) BaseDir() string { return e.Dir }

func (e *StaticEnv) has(names []string, name string) (bool, error) {
	if e.Err != nil {
		return false, e.Err
	}
	for _, n := range names {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// ReadKey implements Env: ReadKeyFile.
func (e *StaticEnv) ReadKey(path string) (kernel.Key, error) { return ReadKeyFile(path) }

// WriteKey implements Env: WriteKeyFile, at once (a StaticEnv has no
// transaction to wait for).
func (e *StaticEnv) WriteKey(path string, k kernel.Key) error { return WriteKeyFile(path, k) }
