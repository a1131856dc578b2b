// Package postgres is accessd's PostgreSQL event store: an eventstore.Store
// kept in one table (es_events) of the schema the connection's search_path
// names, through pgx v5. Several processes may share it.
//
// # Positions and the out-of-order commit problem
//
// A subscriber follows $all by position: it reads what comes after its
// cursor and moves the cursor past what it read. With positions taken from a
// sequence, transaction A can take position 10 and B position 11; if B
// commits first, a subscriber reads 11 and moves past 10, and when A commits
// event 10 is never delivered. So the store keeps one invariant: the events
// any snapshot sees are exactly the positions 1…P for some P (commit order
// equals position order).
//
// It holds because positions are assigned under a transaction-level advisory
// lock (pg_advisory_xact_lock, keyed by the events table's oid, so every
// process using the table takes the same lock): a writer takes the lock,
// reads max(position) in a new statement (so in a snapshot taken after the
// lock was granted, which sees the previous holder's commit), numbers its
// events from there, inserts them and commits. PostgreSQL releases
// transaction locks only after the commit is visible, so the next writer
// starts from the previous one's last position, and no position can become
// visible after a higher one. A transaction that aborts leaves no gap: the
// next writer reuses its positions, which no reader can have seen.
//
// Consequences: reads of $all need no gap detection; a head position
// observed in any snapshot (max(position)) is a safe upper bound for every
// later read; positions are 1, 2, 3, … without gaps.
//
// # Group commit
//
// Taking one global lock per append would bound throughput by the commit
// (fsync) rate. One writer goroutine per Store batches the Append calls that
// are waiting into one transaction: it checks each against the stream heads
// as left by the earlier requests of the batch (each append stays atomic and
// fails on its own expected revision), inserts all their events with one
// statement and commits once. A batch costs two round trips and one fsync
// whatever its size. Stream heads are cached between batches; the cache is
// valid while max(position) read under the lock equals the position the
// writer last committed, i.e. no other process wrote in between.
//
// # Live delivery
//
// Every committing batch sends NOTIFY on a channel named after the table
// (PostgreSQL serializes the commits of notifying transactions, which the
// write lock does for this table anyway). A
// watcher goroutine LISTENs on a connection of its own and, on a
// notification or at each poll interval (the fallback for lost
// notifications and a reconnecting listener), reads max(position) and
// publishes it. Subscriptions read windows (cursor, min(cursor+page, head)]
// and, once caught up, wait for the next published head: no busy loop, and
// no window ever reaches past a position known to be committed.
package postgres
