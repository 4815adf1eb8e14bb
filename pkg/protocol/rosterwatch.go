package protocol

// RosterWatcher is implemented by IMPP sessions that follow roster pushes
// (RFC 6121 §2.1.6): the server tells every connected resource of each
// change to the roster, so a roster fetched once stays current for as
// long as no push arrived since. RosterChanges returns the number of
// pushes the session accepted since it connected, and false when it does
// not follow them. It is an in-process interface: it does not cross the
// plugin wire (a session over gRPC does not implement it).
type RosterWatcher interface {
	RosterChanges() (pushes uint64, ok bool)
}
