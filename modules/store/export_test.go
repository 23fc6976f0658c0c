package store

// IngestGroup writes the webhook ingests in reqs as one group statement, as
// the ingest loops do with requests that arrive together; it returns each
// request's event and whether it was written.
func (s *Store) IngestGroup(reqs []IngestGroupReq) ([]Event, []bool, []error) {
	batch := make([]*ingestReq, len(reqs))
	for i, r := range reqs {
		batch[i] = &ingestReq{e: r.Event, msg: r.Msg, log: r.Log, done: make(chan ingestRes, 1)}
	}
	s.ingests.write(batch)
	evs, oks, errs := make([]Event, len(reqs)), make([]bool, len(reqs)), make([]error, len(reqs))
	for i, r := range batch {
		res := <-r.done
		evs[i], oks[i], errs[i] = res.ev, res.ok, res.err
	}
	return evs, oks, errs
}

// IngestGroupReq is one request for IngestGroup.
type IngestGroupReq struct {
	Event NewEvent
	Msg   NewOutboxMessage
	Log   WebhookLogEntry
}

// IngestStatements is how many group statements the ingest loops ran.
func (s *Store) IngestStatements() int64 { return s.ingests.batches.Load() }
