package projections

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// The read-model writer does not checkpoint the WAL itself
// (wal_autocheckpoint=0 on its connection): copying the WAL into the
// database file and syncing both took half of its commits' time, inside
// the commit of whichever batch crossed the threshold. A background
// goroutine runs PASSIVE checkpoints on a connection of its own instead,
// beside the writer, blocking neither it nor a reader.
//
// SQLite starts the WAL file over only after a checkpoint copied all of it
// and no reader still reads the old frames, which never happens beside a
// busy writer and busy readers. So once the WAL holds more than
// walLimits.maxFrames, the checkpointer holds the writer off for one RESTART
// checkpoint, and the next batch starts the file over.
//
// Every 500 ms rather than 100: a checkpoint copies each page once however
// many commits rewrote it since the last, and the hot index pages are
// rewritten by most commits; the checkpointer's share of the server's CPU
// under the write load fell from 7% to 4%.
var walDefaults = walLimits{every: 500 * time.Millisecond, maxFrames: 16384} // 64 MiB, a few seconds of the write load

// walLimits are how often the checkpointer runs and how many frames the
// WAL may hold before the checkpointer starts it over.
type walLimits struct {
	every     time.Duration
	maxFrames int
}

// walFrameBytes is the size of a WAL frame: a page and its header.
const walFrameBytes = 4096 + 24

// walBytes is the size of a WAL of maxFrames frames: what the file is cut
// back to once started over (journal_size_limit on the writer), so that
// one transaction far over the limit (a rebuild's) does not leave the
// file at its largest for good.
func (l walLimits) walBytes() int64 { return int64(l.maxFrames) * walFrameBytes }

// walRestartWait bounds how long the writer is held off.
const walRestartWait = 20 * time.Millisecond

type checkpointer struct {
	db     *DB
	conn   *sql.DB // busy_timeout 0: never sleeps in SQLite's busy handler
	limits walLimits
	stop   chan struct{}
	done   sync.WaitGroup
	// closing makes close safe to call again: a DB closed twice (a
	// deferred Close after an explicit one) must not panic.
	closing sync.Once
}

// startCheckpointer checkpoints the WAL of d, the database at path, until
// closed.
func startCheckpointer(d *DB, path string, limits walLimits) (*checkpointer, error) {
	dsn, err := sqliteDSN(path, "_pragma=busy_timeout(0)")
	if err != nil {
		return nil, err
	}
	conn, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c := &checkpointer{db: d, conn: conn, limits: limits, stop: make(chan struct{})}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		tick := time.NewTicker(limits.every)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
				c.db.noticeForeignCommits()
				c.checkpoint()
			}
		}
	}()
	return c, nil
}

func (c *checkpointer) close() {
	c.closing.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.conn.Close()
	})
}

// checkpoint copies what the WAL holds into the database file. Errors are
// left for the next tick: a checkpoint that does not run only lets the WAL
// grow.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A PASSIVE checkpoint with nothing to copy only reads the WAL index.
	var busy, logFrames, copied int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &copied); err != nil {
		return
	}
	if logFrames <= c.limits.maxFrames {
		return
	}
	// Readers here finish within a millisecond: retry until they have.
	c.db.writeMu.Lock()
	defer c.db.writeMu.Unlock()
	for deadline := time.Now().Add(walRestartWait); ; {
		err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &logFrames, &copied)
		if err != nil || busy == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}
