package postgres

// The store's SQL. Every table name is unqualified: the connection's
// search_path chooses the schema.
const (
	qMaxPosition = `SELECT COALESCE(max(position), 0) FROM es_events`

	// qLastEvent is the last position and when its event was recorded
	// (NULL for an empty log), read by the writer under the write lock.
	qLastEvent = `SELECT COALESCE(max(position), 0),
		(SELECT recorded_at FROM es_events ORDER BY position DESC LIMIT 1) FROM es_events`

	// qLock takes the write lock until the transaction ends. The
	// statement that reads max(position) must come after it, not in it:
	// in READ COMMITTED a statement's snapshot is taken when it starts,
	// before a lock it waits for is granted.
	qLock = `SELECT pg_advisory_xact_lock($1, $2)`

	// qHeads returns the last revision and its position of each stream
	// that exists, one backwards index probe per stream.
	qHeads = `SELECT s.stream, e.revision, e.position
		FROM unnest($1::text[]) AS s(stream)
		CROSS JOIN LATERAL (
			SELECT revision, position FROM es_events
			WHERE es_events.stream = s.stream ORDER BY revision DESC LIMIT 1
		) e`

	// qFirstRevs returns, for each (stream, id), the first revision of the
	// stream holding the id, or NULL.
	qFirstRevs = `SELECT u.s, u.i, (
			SELECT min(revision) FROM es_events e WHERE e.stream = u.s AND e.id = u.i
		) FROM unnest($1::text[], $2::uuid[]) AS u(s, i)`

	qIDsBetween = `SELECT id, position FROM es_events
		WHERE stream = $1 AND revision BETWEEN $2 AND $3 ORDER BY revision`

	// qInsert writes a whole batch in one statement.
	qInsert = `INSERT INTO es_events (position, stream, revision, id, type, data, metadata, recorded_at)
		SELECT p, s, r, i, t, d, m, $8
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bytea[], $7::bytea[])
			AS u(p, s, r, i, t, d, m)`

	// qNotify wakes the listeners of every process once the batch commits.
	qNotify = `SELECT pg_notify($1, $2)`

	columns = `position, stream, revision, id, type, data, metadata, recorded_at`

	qStreamForwards = `SELECT ` + columns + ` FROM es_events
		WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`
	qStreamBackwards = `SELECT ` + columns + ` FROM es_events
		WHERE stream = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3`
	qStreamExists = `SELECT EXISTS (SELECT 1 FROM es_events WHERE stream = $1)`

	// qFilter keeps events whose type is one of $n (NULL: any) and whose
	// stream starts with one of $n+1 (NULL: any), byte-wise (^@ is
	// starts_with; the C collation makes it exact).
	qTypeIn   = ` AND type = ANY($%d::text[])`
	qPrefixIn = ` AND stream ^@ ANY($%d::text[])`

	qAllAfter = `SELECT ` + columns + ` FROM es_events WHERE position > $1`
	qWindow   = `SELECT ` + columns + ` FROM es_events WHERE position > $1 AND position <= $2`
	qOrder    = ` ORDER BY position`
)
