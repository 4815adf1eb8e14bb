package media

import "testing"

func BenchmarkMono8k60s(b *testing.B) {
	p := sineStereo(44100, 1000, 10000, 60)
	for b.Loop() {
		p.Mono8k()
	}
}
