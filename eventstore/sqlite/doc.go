// Package sqlite is accessd's embedded event store: an eventstore.Store kept
// in one SQLite file (modernc.org/sqlite, pure Go) under the data directory.
//
// Durability: the file is in WAL mode with synchronous=FULL, so an append is
// acknowledged only after its transaction is synced to the disk.
//
// Group commit: one writer goroutine owns the write connection. Append hands
// its request to the writer and waits; the writer takes every request already
// queued (up to a cap), checks each against the stream heads as left by the
// earlier requests of the same batch, writes them in one BEGIN IMMEDIATE …
// COMMIT and answers them all after the one sync. Throughput therefore grows
// with the number of concurrent writers instead of being bound by the disk's
// sync rate. Positions are assigned by the writer: 1, 2, 3, … without gaps.
//
// Idempotency: an Any or StreamExists append asks whether its first id is
// already in the stream, and where. No index on (stream, id) answers that,
// since it would cost every append a page write; the writer keeps the ids of
// the streams that received such appends in memory instead, read from the
// stream at the first check, kept up to date at each commit, the least
// recently used streams dropped past a bound (about 60 MiB).
//
// Reads use a separate pool of connections (WAL readers never block the
// writer). A subscription reads windows of positions after its last one (two
// at a time, in parallel, while it is behind) and, once caught up, waits for
// the writer to publish a new head after a commit, then reads again: it
// never skips or repeats an event at the hand-over.
//
// Another process may append to the same file (accessctl beside a running
// server): the writer notices it through PRAGMA data_version before each
// batch, and a watcher polls the last position (WithPollInterval) so that
// subscriptions see such events too, within the interval; RefreshHead
// reads and publishes the last position at once, for a caller that cannot
// wait for the watcher.
package sqlite
