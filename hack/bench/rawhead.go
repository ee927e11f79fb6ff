package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// rawHeadArg, as the first argument, makes the bench binary run as the raw
// HEAD client (rawHeadMain) instead of the benchmark.
const rawHeadArg = "raw-head"

// rawHead measures the raw HEAD limit of ds: one manifest HEAD of every tag
// on the source and on the destination, raw-streams at a time in all, and
// nothing else; no tag lists.
//
// It runs as a command, the bench binary started as rawHeadMain, because
// every tool does. Inside the bench process (rawHeadInHarness) the same
// requests share one Go runtime with the counting proxies that every
// request passes through, which no tool can. Measured both ways, the
// command took 1.04–1.12× as long as the same requests there, while a
// fresh client inside the bench process took 0.92–1.04× as long as the
// warm one: what costs is being another process, not new connections.
func (b *bench) rawHead(ctx context.Context, ds *dataset) (sample, error) {
	list, err := b.headList(ds)
	if err != nil {
		return sample{}, err
	}
	return b.measureSelf(ctx, rawHeadArg, strconv.Itoa(b.c.rawStreams), b.src.proxyAddr, b.dst.proxyAddr, list)
}

// rawHeadInHarness makes rawHead's requests from inside the bench process,
// over the keep-alive client the harness keeps warm across rounds. It is
// reported beside the raw HEAD limit to show what being outside the
// proxies' process costs; it is not the limit the targets are taken to.
func (b *bench) rawHeadInHarness(ctx context.Context, ds *dataset) (sample, error) {
	return b.measure(ctx, func(ctx context.Context) error {
		g, ctx := errgroup.WithContext(ctx)
		g.SetLimit(b.c.rawStreams)
		for _, t := range ds.tags {
			want := ds.digests[t.repo+":"+t.tag]
			for _, reg := range []string{b.src.proxyAddr, b.dst.proxyAddr} {
				g.Go(func() error {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					return headIs(reg, t.repo, t.tag, want)
				})
			}
		}
		return g.Wait()
	})
}

// headList writes ds's tags and digests for the raw HEAD client, a
// "repo tag digest" line each, once per data set, and returns the file.
func (b *bench) headList(ds *dataset) (string, error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.headList != "" {
		return ds.headList, nil
	}
	var s strings.Builder
	for _, t := range ds.tags {
		fmt.Fprintf(&s, "%s %s %s\n", t.repo, t.tag, ds.digests[t.repo+":"+t.tag])
	}
	f, err := os.CreateTemp(b.dir, "raw-head-*.txt")
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(s.String()); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	ds.headList = f.Name()
	return ds.headList, nil
}

// rawHeadMain is the raw HEAD client: rawHeadArg STREAMS SRC DST FILE. It
// HEADs every tag FILE names on SRC and on DST, STREAMS requests at a time
// in all, and fails unless each answers with the digest FILE gives.
func rawHeadMain(args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: %s STREAMS SRC DST FILE", rawHeadArg)
	}
	streams, err := parseStreams(args[0])
	if err != nil {
		return err
	}
	src, dst := args[1], args[2]
	data, err := os.ReadFile(args[3])
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(streams)
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("%s:%d: want \"repo tag digest\", got %q", filepath.Base(args[3]), i+1, line)
		}
		for _, reg := range []string{src, dst} {
			g.Go(func() error { return headIs(reg, f[0], f[1], f[2]) })
		}
	}
	return g.Wait()
}

// headIs HEADs repo:tag on reg and fails unless it names digest want.
func headIs(reg, repo, tag, want string) error {
	got, err := headDigest(reg, repo, tag)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("HEAD %s/%s:%s: digest %q, want %s", reg, repo, tag, got, want)
	}
	return nil
}
