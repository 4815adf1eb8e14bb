package testbed

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel runs fn(0) … fn(n-1) on GOMAXPROCS goroutines and returns the first error; after
// an error, or once ctx is done, the remaining calls are skipped.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	var (
		next, done atomic.Int64
		errOnce    sync.Once
		first      error
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if first == nil && done.Load() < int64(n) {
		first = ctx.Err() // only the parent context can have stopped the work
	}
	return first
}
