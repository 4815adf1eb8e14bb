package contactaudit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The rate holds across goroutines: 6 events at 20/s from 6 goroutines
// take at least 5 intervals (250 ms).
func TestLimiterSpacesConcurrentCallers(t *testing.T) {
	l := newLimiter(20)
	start := time.Now()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if err := l.wait(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("6 events at 20/s took %s, want >= 250ms", d)
	}
}

func TestLimiterStopsWithContext(t *testing.T) {
	l := newLimiter(0.1)
	_ = l.wait(context.Background()) // the first goes at once
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.wait(ctx); err == nil {
		t.Error("wait returned nil before its turn although ctx ended")
	}
}
