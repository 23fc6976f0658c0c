package executor

// WakeShare is this executor's place among the executors listening for
// event wake-ups, once it knows it (tests wait for a settled share).
func (m *Module) WakeShare() (index, count int64, ok bool) {
	if m.wake == nil {
		return 0, 0, false
	}
	sh := m.wake.share.Load()
	if sh == nil {
		return 0, 0, false
	}
	return sh.index, sh.count, true
}
