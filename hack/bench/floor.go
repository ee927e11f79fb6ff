package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// floorArg, as the first argument, makes the bench binary run as the
// process floor client instead of the benchmark.
const floorArg = "process-floor"

// processFloor measures the least a no-op re-sync of ds can take when it
// runs as a command, as every tool here does: the bench binary itself is
// started as a minimal client (floorMain) that makes exactly the requests
// such a re-sync needs, a tag list per repository and a manifest HEAD per
// tag on each side, raw-streams at a time per registry, and nothing else.
// Next to the raw HEAD limit, which is also a command, it shows what the
// tag lists cost before any tool's own work.
func (b *bench) processFloor(ctx context.Context, ds *dataset) (sample, error) {
	return b.measureSelf(ctx, append([]string{floorArg, strconv.Itoa(b.c.rawStreams), b.src.proxyAddr, b.dst.proxyAddr}, ds.repos...)...)
}

// measureSelf measures a run of the bench binary started again with args:
// one of the limits that run as commands.
func (b *bench) measureSelf(ctx context.Context, args ...string) (sample, error) {
	exe, err := os.Executable()
	if err != nil {
		return sample{}, err
	}
	return b.measureRun(ctx, func(ctx context.Context) error { return b.exec(ctx, exe, args...) })
}

// floorMain is the process floor client: floorArg STREAMS SRC DST REPO...
// It lists each repository's tags on SRC, HEADs every tag on SRC and DST as
// soon as its list arrives, STREAMS requests at a time on each registry,
// and fails unless both sides name one digest.
func floorMain(args []string) error {
	if len(args) < 4 {
		return fmt.Errorf("usage: %s STREAMS SRC DST REPO...", floorArg)
	}
	streams, err := parseStreams(args[0])
	if err != nil {
		return err
	}
	src, dst, repos := args[1], args[2], args[3:]
	// STREAMS requests per registry, as our engine bounds its own.
	slots := map[string]chan struct{}{src: make(chan struct{}, streams), dst: make(chan struct{}, streams)}
	slot := func(reg string) func() { slots[reg] <- struct{}{}; return func() { <-slots[reg] } }
	var g errgroup.Group
	for _, repo := range repos {
		g.Go(func() error {
			release := slot(src)
			tags, err := listTags(src, repo)
			release()
			if err != nil {
				return err
			}
			var tg errgroup.Group
			for _, tag := range tags {
				var digests [2]string
				tg.Go(func() error {
					var sides errgroup.Group
					for i, reg := range []string{src, dst} {
						sides.Go(func() error {
							defer slot(reg)()
							d, err := headDigest(reg, repo, tag)
							digests[i] = d
							return err
						})
					}
					if err := sides.Wait(); err != nil {
						return err
					}
					if digests[0] == "" || digests[0] != digests[1] {
						return fmt.Errorf("%s:%s: source %q, destination %q", repo, tag, digests[0], digests[1])
					}
					return nil
				})
			}
			return tg.Wait()
		})
	}
	return g.Wait()
}

func listTags(reg, repo string) ([]string, error) {
	resp, err := httpClient().Get("http://" + reg + "/v2/" + repo + "/tags/list")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tag list of %s: %s", repo, resp.Status)
	}
	var list struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("tag list of %s: %w", repo, err)
	}
	return list.Tags, nil
}

// parseStreams reads the STREAMS argument of the limits' clients.
func parseStreams(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("streams %q: want a positive number", arg)
	}
	return n, nil
}
