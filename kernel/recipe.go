package kernel

// TableNames maps routing table ids to names and back: main, local and
// default are built in; more come from rt_tables files and `table N name
// X` declarations.
type TableNames struct {
	byID   map[uint32]string
	byName map[string]uint32
}
