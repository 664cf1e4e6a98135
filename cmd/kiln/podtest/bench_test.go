package podtest

import (
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// BenchmarkPodBuild is make bench's in-pod figure (hack/bench.d/pod.sh):
// the fixture app built with the busybox builder, warm stores, on the host
// (namespaces sandbox) and in place in a restricted pod (none), each run
// timed whole. The pod's floor, measured in the same run, is starting the
// same pod with `kiln version`: what Docker itself costs. Reported: host
// and pod seconds per build, the floor, pod/host, and (pod-floor)/host.
func BenchmarkPodBuild(b *testing.B) {
	bb := busyboxBuilder(b)
	hostApp, podApp := app(b, 0, 0), app(b, 1000680000, 0)
	cache := testutil.EmptyDir(b)
	hostRef, podRef := bb.reg.Host+"/bench/host:1", bb.reg.Host+"/bench/pod:1"
	pod := func() podBuild {
		return podBuild{App: podApp, Output: podRef, Cache: cache}
	}
	// Warm both: stores, previous images, caches.
	bb.hostBuild(b, hostRef, hostApp)
	if _, errOut, code, _ := pod().run(b, bb); code != 0 {
		b.Fatalf("pod build: exit %d: %s", code, errOut)
	}
	var host, inPod, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := time.Now()
		bb.hostBuild(b, hostRef, hostApp)
		host += time.Since(s)
		s = time.Now()
		if _, errOut, code, _ := pod().run(b, bb); code != 0 {
			b.Fatalf("pod build: exit %d: %s", code, errOut)
		}
		inPod += time.Since(s)
		s = time.Now()
		if _, errOut, code := bb.docker.Run(b, testutil.Pod{Image: bb.image, Entrypoint: "/kiln/kiln",
			Volumes: []string{kilnBinary(b) + ":/kiln/kiln:ro"}}, "version"); code != 0 {
			b.Fatalf("kiln version in a pod: exit %d: %s", code, errOut)
		}
		floor += time.Since(s)
	}
	n := float64(b.N)
	b.ReportMetric(host.Seconds()/n, "host-s/build")
	b.ReportMetric(inPod.Seconds()/n, "pod-s/build")
	b.ReportMetric(floor.Seconds()/n, "pod-start-s")
	b.ReportMetric(inPod.Seconds()/host.Seconds(), "pod/host")
	b.ReportMetric((inPod-floor).Seconds()/host.Seconds(), "(pod-start)/host")
}
