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
// walMaxFrames, the checkpointer holds the writer off for one RESTART
// checkpoint, and the next batch starts the file over.
const (
	walCheckpointEvery = 100 * time.Millisecond
	walMaxFrames       = 4096 // pages: 16 MiB
	// walRestartWait bounds how long the writer is held off.
	walRestartWait = 20 * time.Millisecond
)

type checkpointer struct {
	db   *DB
	conn *sql.DB // busy_timeout 0: never sleeps in SQLite's busy handler
	stop chan struct{}
	done sync.WaitGroup
}

// startCheckpointer checkpoints the WAL of d, the database at path, until
// closed.
func startCheckpointer(d *DB, path string) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	c := &checkpointer{db: d, conn: conn, stop: make(chan struct{})}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		tick := time.NewTicker(walCheckpointEvery)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
				c.checkpoint()
			}
		}
	}()
	return c, nil
}

func (c *checkpointer) close() {
	close(c.stop)
	c.done.Wait()
	c.conn.Close()
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
	if logFrames <= walMaxFrames {
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
