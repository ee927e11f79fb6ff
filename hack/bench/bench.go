package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

type sample struct {
	wall     time.Duration
	src, dst snapshot
	// toolCPU is the user+system time of the processes the tool ran (0
	// for in-process measurements); registryCPU is both registries'.
	toolCPU, registryCPU time.Duration
}

// result is every run of one tool in one scenario.
type result struct {
	samples []sample
	err     error
	note    string
	// inProcess: measured inside the bench process, which also serves the
	// proxies, so no tool CPU of its own can be told apart.
	inProcess bool
}

func (r *result) wall() time.Duration {
	var ws []time.Duration
	for _, s := range r.samples {
		ws = append(ws, s.wall)
	}
	return median(ws)
}

func (r *result) med(f func(sample) int64) int64 {
	var xs []int64
	for _, s := range r.samples {
		xs = append(xs, f(s))
	}
	return median(xs)
}

type bench struct {
	c          *config
	dir        string
	src, dst   *registry
	bins       map[string]string
	main, many *dataset

	toolCPU atomic.Int64 // ns, of the processes run since the last sample

	mu      sync.Mutex
	results map[string]map[string]*result // scenario -> tool -> result
	oneTag  struct {
		newBytes int64
	}
}

// byTool is each tool's result in a scenario measured in rounds.
type byTool map[string]*result

// of returns tool's result, created on first use.
func (m byTool) of(tool string) *result {
	if m[tool] == nil {
		m[tool] = &result{}
	}
	return m[tool]
}

func (b *bench) recordAll(scenario string, m byTool) {
	for t, r := range m {
		b.record(scenario, t, r)
	}
}

func (b *bench) record(scenario, tool string, r *result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.results[scenario] == nil {
		b.results[scenario] = map[string]*result{}
	}
	b.results[scenario][tool] = r
}

const perRunTimeout = 15 * time.Minute

// mainScenarios runs cold for every tool, then noop and one-tag in rounds,
// then the raw limits.
//
// Cold copies need a fresh destination each, so they run tool after tool.
// The steady-state scenarios take a few hundred milliseconds each, and the
// machine drifts over minutes (the registries' heaps and caches, other
// load); running them in rounds (every tool once, then the raw limit, then
// again) exposes each tool to the same drift, so the ratios compare like
// with like.
func (b *bench) mainScenarios() error {
	ctx := context.Background()
	if b.c.scenarios["cold"] {
		for _, t := range b.c.tools {
			r := &result{}
			for i := 0; i < b.c.runs; i++ {
				if err := b.dst.reset(); err != nil {
					return err
				}
				s, err := b.measureRun(ctx, func(ctx context.Context) error { return b.tool(t)(ctx, b.main) })
				if err != nil {
					r.err = err
					log.Printf("%s cold: %v", t, err)
					break
				}
				logSample(t, "cold", i+1, s)
				r.samples = append(r.samples, s)
			}
			if r.err == nil {
				if err := b.verify(b.main); err != nil {
					r.err = err
					log.Printf("%s cold: %v", t, err)
				}
			}
			b.record("cold", t, r)
		}
	}
	if !b.c.scenarios["noop"] && !b.c.scenarios["one-tag"] && !b.c.scenarios["raw"] {
		return nil
	}
	// Bring the destination to the synced state, unmeasured, with the
	// first tool that copies correctly.
	if err := b.dst.reset(); err != nil {
		return err
	}
	synced := false
	for _, t := range b.c.tools {
		if err := b.tool(t)(ctx, b.main); err != nil {
			log.Printf("%s: initial sync: %v", t, err)
			continue
		}
		if err := b.verify(b.main); err != nil {
			log.Printf("%s: initial sync: %v", t, err)
			continue
		}
		synced = true
		break
	}
	if !synced && len(b.c.tools) > 0 {
		return fmt.Errorf("no tool brought the destination to the synced state")
	}
	if b.c.scenarios["noop"] || b.c.scenarios["raw"] {
		b.rounds(ctx, "noop", b.main, "raw-head", b.c.tools, b.c.noopRuns)
	}
	if b.c.scenarios["one-tag"] {
		// Each run first moves a tag; failing that is the harness's fault,
		// not the tool's, and ends the scenario.
		var harnessErr error
		results := byTool{}
		var order []entry
		for _, t := range b.c.tools {
			order = append(order, entry{t, "one-tag", results.of(t), func() (sample, error) {
				if harnessErr != nil {
					return sample{}, harnessErr
				}
				repo, tag, d, n, err := changeTag(b.c, b.src.backendAddr(), b.main, runCounter(), 8<<20)
				if err != nil {
					harnessErr = fmt.Errorf("changing a tag: %w", err)
					return sample{}, harnessErr
				}
				b.oneTag.newBytes = n
				s, err := b.measureRun(ctx, func(ctx context.Context) error { return b.tool(t)(ctx, b.main) })
				if err != nil {
					return s, err
				}
				if got, err := headDigest(b.dst.backendAddr(), repo, tag); err != nil || got != d {
					return s, fmt.Errorf("%s:%s at the destination is %q, want %q (%v)", repo, tag, got, d, err)
				}
				return s, nil
			}})
		}
		inRounds(order, b.c.runs, false)
		if harnessErr != nil {
			return harnessErr
		}
		b.recordAll("one-tag", results)
	}
	if b.c.scenarios["raw"] {
		b.rawCopy(ctx)
	}
	return nil
}

// rounds measures a no-op re-sync of ds by each of tools (when scenario
// is on), and the raw HEAD limits and the process floor as rawScenario
// (when the raw scenario is on), in rounds of each in turn. A tool that
// fails is dropped from later rounds.
func (b *bench) rounds(ctx context.Context, scenario string, ds *dataset, rawScenario string, tools []string, runs int) {
	results := byTool{}
	raw := &result{note: fmt.Sprintf("%d streams, as a command", b.c.rawStreams)}
	inHarness := &result{note: fmt.Sprintf("%d streams, warm connections", b.c.rawStreams), inProcess: true}
	floor := &result{note: fmt.Sprintf("tag lists + HEADs, %d streams per registry", b.c.rawStreams)}
	if !b.c.scenarios[scenario] {
		tools = nil
	}
	var order []entry
	for _, t := range tools {
		order = append(order, entry{t, scenario, results.of(t), func() (sample, error) {
			return b.measureRun(ctx, func(ctx context.Context) error { return b.tool(t)(ctx, ds) })
		}})
	}
	if b.c.scenarios["raw"] {
		order = append(order,
			entry{"raw", rawScenario, raw, func() (sample, error) { return b.rawHead(ctx, ds) }},
			entry{"raw in harness", rawScenario, inHarness, func() (sample, error) { return b.rawHeadInHarness(ctx, ds) }},
			entry{"floor", rawScenario, floor, func() (sample, error) { return b.processFloor(ctx, ds) }})
	}
	// A warm-up round first: these rounds follow a copy (the initial sync,
	// or the many-tags initial copies), and the registries go on
	// collecting its garbage and writing its files back for seconds after.
	// Measured without it, every tool and limit ran its first no-op round
	// 7-36% slower than its median, and the first tool of the many-tags
	// rounds 15% slower; the others there were within their rounds' spread.
	inRounds(order, runs, true)
	b.recordAll(scenario, results)
	if b.c.scenarios["raw"] {
		b.record(rawScenario, "raw", raw)
		b.record(rawScenario, "raw in the harness", inHarness)
		b.record(rawScenario, "process floor", floor)
	}
}

// entry is one thing measured in rounds: a tool's run of a scenario, or a
// limit. measure's error fails r.
type entry struct {
	name, scenario string
	r              *result
	measure        func() (sample, error)
}

// inRounds measures every entry of order runs times, round by round, and
// adds the samples to their results; an entry that fails is not run again.
// The rounds take the entries in the orders of roundOrder, so that each
// is measured right after each other equally often. (Merely starting each
// round one place further down the list would leave every entry behind the
// same neighbour in all but one round in n.) With warmUp, an unmeasured
// round 0 comes first.
func inRounds(order []entry, runs int, warmUp bool) {
	first := 1
	if warmUp {
		first = 0
	}
	for i := first; i <= runs; i++ {
		for _, k := range roundOrder(len(order), i) {
			e := order[k]
			if e.r.err != nil {
				continue
			}
			s, err := e.measure()
			if err != nil {
				e.r.err = err
				log.Printf("%s %s: %v", e.name, e.scenario, err)
				continue
			}
			if i == 0 {
				log.Printf("%-8s %-10s warm-up: %s", e.name, e.scenario, s.wall.Round(time.Millisecond))
				continue
			}
			logSample(e.name, e.scenario, i, s)
			e.r.samples = append(e.r.samples, s)
		}
	}
}

var runN int

func runCounter() int { runN++; return runN }

func (b *bench) measureRun(ctx context.Context, f func(context.Context) error) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, perRunTimeout)
	defer cancel()
	return b.measure(ctx, f)
}

// manyScenario: every tool copies the many-tags data set once, unmeasured
// and verified, into a fresh destination (so each is shown to copy it
// correctly), then all re-sync it in rounds.
func (b *bench) manyScenario() error {
	ctx := context.Background()
	var ok []string
	for _, t := range b.c.tools {
		if err := b.dst.reset(); err != nil {
			return err
		}
		start := time.Now()
		err := b.tool(t)(ctx, b.many)
		if err == nil {
			err = b.verify(b.many)
		}
		if err != nil {
			log.Printf("%s many-tags: initial sync: %v", t, err)
			b.record("many-tags", t, &result{err: fmt.Errorf("initial sync: %w", err)})
			continue
		}
		log.Printf("%-8s many-tags initial copy: %s", t, time.Since(start).Round(time.Millisecond))
		ok = append(ok, t)
	}
	if slices.Contains(ok, "ours") {
		// The destination holds every tag now, as immutableTags needs.
		ok = append(ok, oursImmutable)
	}
	b.rounds(ctx, "many-tags", b.many, "raw-head-many", ok, b.c.runs)
	if slices.Contains(ok, oursImmutable) {
		// Counted up to date from tag lists alone: the tags must still
		// be there, at their digests.
		if err := b.verify(b.many); err != nil {
			return fmt.Errorf("many-tags after the %s rounds: %w", oursImmutable, err)
		}
	}
	return nil
}

// rawCopy measures GET from the source and a monolithic upload to the
// destination of every unique blob, raw-streams at a time, into a fresh
// destination.
func (b *bench) rawCopy(ctx context.Context) {
	r := &result{note: fmt.Sprintf("%d streams", b.c.rawStreams), inProcess: true}
	for i := 0; i < b.c.runs; i++ {
		if err := b.dst.reset(); err != nil {
			r.err = err
			break
		}
		s, err := b.measure(ctx, func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.SetLimit(b.c.rawStreams)
			for d, size := range b.main.blobs {
				repo := b.main.blobRepo[d]
				g.Go(func() error { return copyBlob(ctx, b.src.proxyAddr, b.dst.proxyAddr, repo, d, size) })
			}
			return g.Wait()
		})
		if err != nil {
			r.err = err
			break
		}
		logSample("raw", "raw-copy", i+1, s)
		r.samples = append(r.samples, s)
	}
	b.record("raw-copy", "raw", r)
}

func headDigest(reg, repo, tag string) (string, error) {
	req, _ := http.NewRequest(http.MethodHead, "http://"+reg+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := httpClient().Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HEAD %s:%s: %s", repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest"), nil
}

func copyBlob(ctx context.Context, src, dst, repo, digest string, size int64) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+src+"/v2/"+repo+"/blobs/"+digest, nil)
	resp, err := httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET blob %s: %s", digest, resp.Status)
	}
	post, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+dst+"/v2/"+repo+"/blobs/uploads/", nil)
	presp, err := httpClient().Do(post)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, presp.Body)
	presp.Body.Close()
	if presp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST upload: %s", presp.Status)
	}
	loc := presp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = "http://" + dst + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	put, _ := http.NewRequestWithContext(ctx, http.MethodPut, loc+sep+"digest="+digest, resp.Body)
	put.ContentLength = size
	put.Header.Set("Content-Type", "application/octet-stream")
	presp, err = httpClient().Do(put)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, presp.Body)
	presp.Body.Close()
	if presp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT blob %s: %s", digest, presp.Status)
	}
	return nil
}

// report renders the markdown tables and the target checks.
func (b *bench) report() string {
	var w bytes.Buffer
	c := b.c
	fmt.Fprintf(&w, "\n## Portager bench (%s)\n\n", time.Now().UTC().Format(time.RFC3339))
	if b.main != nil {
		fmt.Fprintf(&w, "Main data set: %d tags in %d repositories (%d two-platform), %d unique blobs, %s unique blob bytes, %s of manifests. ",
			len(b.main.tags), len(b.main.repos), c.multiArch, len(b.main.blobs), human(b.main.blobBytes), human(b.main.manifestBytes))
	}
	if b.many != nil {
		fmt.Fprintf(&w, "Many-tags data set: %d tags in %d repositories. ", len(b.many.tags), len(b.many.repos))
	}
	fmt.Fprintf(&w, "Median of %d runs (no-op and its raw HEAD limit: %d); registries: %s behind counting proxies on 127.0.0.1. ", c.runs, c.noopRuns, "docker-registry (distribution 2.8, filesystem storage)")
	fmt.Fprintf(&w, "Peers: regsync parallel %d, crane copy loop -P %d, skopeo sync --all --preserve-digests.\n\n", c.regsyncPar, c.cranePar)

	fmt.Fprintln(&w, "| scenario | tool | wall (median) | src requests | dst requests | pings src/dst | tag lists | bytes written to dst | bytes read from src | tool CPU | registries' CPU | ours ÷ tool (wall) |")
	fmt.Fprintln(&w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	order := []string{"cold", "noop", "one-tag", "many-tags", "raw-copy", "raw-head", "raw-head-many"}
	tools := append(append([]string(nil), c.tools...), oursImmutable, "raw", "raw in the harness", "process floor")
	for _, sc := range order {
		rs := b.results[sc]
		if rs == nil {
			continue
		}
		ours := rs["ours"]
		for _, t := range tools {
			r := rs[t]
			if r == nil {
				continue
			}
			if r.err != nil || len(r.samples) == 0 {
				msg := "no samples"
				if r.err != nil {
					msg = strings.ReplaceAll(strings.SplitN(r.err.Error(), "\n", 2)[0], "|", "/")
					if len(msg) > 160 {
						msg = msg[:160] + "…"
					}
				}
				fmt.Fprintf(&w, "| %s | %s | FAILED: %s | | | | | | | | | |\n", sc, t, msg)
				continue
			}
			ratio := "—"
			if ours != nil && ours.err == nil && len(ours.samples) > 0 && t != "ours" {
				ratio = fmt.Sprintf("%.2f×", ours.wall().Seconds()/r.wall().Seconds())
			}
			name := t
			if r.note != "" {
				name += " (" + r.note + ")"
			}
			toolCPU := "—"
			if !r.inProcess {
				toolCPU = fmtDur(time.Duration(r.med(func(s sample) int64 { return int64(s.toolCPU) })))
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %d | %d | %d/%d | %d | %s | %s | %s | %s | %s |\n", sc, name,
				fmtDur(r.wall()), r.med(func(s sample) int64 { return s.src.Requests }), r.med(func(s sample) int64 { return s.dst.Requests }),
				r.med(func(s sample) int64 { return s.src.Pings }), r.med(func(s sample) int64 { return s.dst.Pings }),
				r.med(func(s sample) int64 { return s.src.TagLists + s.dst.TagLists }),
				human(r.med(func(s sample) int64 { return s.dst.BytesIn })), human(r.med(func(s sample) int64 { return s.src.BytesOut })),
				toolCPU, fmtDur(time.Duration(r.med(func(s sample) int64 { return int64(s.registryCPU) }))), ratio)
		}
	}
	fmt.Fprintln(&w)
	w.WriteString(b.targets())
	return w.String()
}

// floorLine sets ours beside the process floor of the same data set (not
// a target; it tells how much of ours' distance from the in-process raw
// limit any command pays).
func floorLine(scenario string, ours, raw, floor *result) string {
	if floor == nil {
		return ""
	}
	line := fmt.Sprintf("- %s vs the process floor (%s): %.2f×", scenario, fmtDur(floor.wall()), ours.wall().Seconds()/floor.wall().Seconds())
	if raw != nil {
		line += fmt.Sprintf("; the floor itself is %.2f× the raw HEAD limit", floor.wall().Seconds()/raw.wall().Seconds())
	}
	return line + "\n"
}

// inHarnessLine sets ours beside the raw HEAD limit as measured inside
// the bench process (rawHeadInHarness), which shares one Go runtime with
// the counting proxies, with the target's limit. Not a target.
func inHarnessLine(scenario string, ours, inHarness *result, limit float64) string {
	if inHarness == nil {
		return ""
	}
	return fmt.Sprintf("- %s vs the raw HEAD limit measured inside the harness (%s): %.2f× (%s)\n",
		scenario, fmtDur(inHarness.wall()), ours.wall().Seconds()/inHarness.wall().Seconds(), byRound(ours, inHarness, limit))
}

// byRound compares a's wall times with b's round by round. In a scenario
// measured in rounds, the i-th samples of two tools ran seconds apart, so
// their ratio cancels the drift they share, which a ratio of medians does
// not. It gives the median of those ratios and how many are within limit.
func byRound(a, b *result, limit float64) string {
	n := min(len(a.samples), len(b.samples))
	ratios := make([]float64, n)
	within := 0
	for i := range ratios {
		ratios[i] = a.samples[i].wall.Seconds() / b.samples[i].wall.Seconds()
		if ratios[i] <= limit {
			within++
		}
	}
	return fmt.Sprintf("round by round: median %.2f×, ≤ %.2f× in %d of %d rounds", median(ratios), limit, within, n)
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// targets checks the goals for our engine.
func (b *bench) targets() string {
	var w bytes.Buffer
	ok := func(cond bool) string {
		if cond {
			return "MET"
		}
		return "MISSED"
	}
	get := func(sc, t string) *result {
		r := b.results[sc][t]
		if r == nil || r.err != nil || len(r.samples) == 0 {
			return nil
		}
		return r
	}
	fastestPeer := func(sc string) (string, *result) {
		var best *result
		var name string
		for _, t := range b.c.tools {
			if t == "ours" {
				continue
			}
			if r := get(sc, t); r != nil && (best == nil || r.wall() < best.wall()) {
				best, name = r, t
			}
		}
		return name, best
	}
	fmt.Fprintln(&w, "Targets for ours:")
	fmt.Fprintln(&w)
	if o := get("cold", "ours"); o != nil && b.main != nil {
		if n, p := fastestPeer("cold"); p != nil {
			fmt.Fprintf(&w, "- cold wall ≤ 0.8× fastest peer (%s %s): %s ÷ = %.2f× — %s\n", n, fmtDur(p.wall()), fmtDur(o.wall()), o.wall().Seconds()/p.wall().Seconds(), ok(o.wall().Seconds() <= 0.8*p.wall().Seconds()))
		}
		blobs := o.med(func(s sample) int64 { return s.dst.BytesIn - s.dst.ManifestBytesIn })
		manifests := o.med(func(s sample) int64 { return s.dst.ManifestBytesIn })
		fmt.Fprintf(&w, "- cold blob bytes written = unique blob bytes: %d written, %d unique — %s (manifests: %d bytes written, %d unique)\n",
			blobs, b.main.blobBytes, ok(blobs == b.main.blobBytes), manifests, b.main.manifestBytes)
		if raw := get("raw-copy", "raw"); raw != nil {
			fmt.Fprintf(&w, "- cold vs raw GET→PUT limit (%s): %.2f×\n", fmtDur(raw.wall()), o.wall().Seconds()/raw.wall().Seconds())
		}
	}
	if o := get("noop", "ours"); o != nil && b.main != nil {
		reqs := o.med(func(s sample) int64 { return s.src.Requests + s.dst.Requests })
		pings := o.med(func(s sample) int64 { return s.src.Pings + s.dst.Pings })
		budget := int64(2*len(b.main.tags) + len(b.main.repos))
		fmt.Fprintf(&w, "- no-op requests ≤ 2/tag + 1 tag list/repo = %d: %d (of which %d pings) — %s\n", budget, reqs, pings, ok(reqs <= budget))
		fmt.Fprintf(&w, "- no-op: no per-repository /v2/ pings (%d repositories, 2 registries): %d pings — %s\n", len(b.main.repos), pings, ok(pings <= 2))
		if n, p := fastestPeer("noop"); p != nil {
			fmt.Fprintf(&w, "- no-op wall ≤ fastest peer (%s %s): %s — %s (%s)\n", n, fmtDur(p.wall()), fmtDur(o.wall()), ok(o.wall() <= p.wall()), byRound(o, p, 1))
		}
		if raw := get("raw-head", "raw"); raw != nil {
			fmt.Fprintf(&w, "- no-op wall ≤ 1.15× raw HEAD limit (%s): %.2f× — %s (%s)\n", fmtDur(raw.wall()), o.wall().Seconds()/raw.wall().Seconds(), ok(o.wall().Seconds() <= 1.15*raw.wall().Seconds()), byRound(o, raw, 1.15))
		}
		w.WriteString(inHarnessLine("no-op", o, get("raw-head", "raw in the harness"), 1.15))
		w.WriteString(floorLine("no-op", o, get("raw-head", "raw"), get("raw-head", "process floor")))
	}
	if o := get("one-tag", "ours"); o != nil {
		written := o.med(func(s sample) int64 { return s.dst.BytesIn })
		fmt.Fprintf(&w, "- one-tag: only that tag's new blobs move: %d bytes written, new blobs %d bytes (+ its manifest) — %s\n",
			written, b.oneTag.newBytes, ok(written >= b.oneTag.newBytes && written <= b.oneTag.newBytes+4096))
		if n, p := fastestPeer("one-tag"); p != nil {
			fmt.Fprintf(&w, "- one-tag wall ≤ fastest peer (%s %s): %s — %s (%s)\n", n, fmtDur(p.wall()), fmtDur(o.wall()), ok(o.wall() <= p.wall()), byRound(o, p, 1))
		}
	}
	if o := get("many-tags", "ours"); o != nil {
		if raw := get("raw-head-many", "raw"); raw != nil {
			fmt.Fprintf(&w, "- many-tags no-op ≤ 1.1× raw HEAD limit (%s): %s = %.2f× — %s (%s)\n", fmtDur(raw.wall()), fmtDur(o.wall()), o.wall().Seconds()/raw.wall().Seconds(), ok(o.wall().Seconds() <= 1.1*raw.wall().Seconds()), byRound(o, raw, 1.1))
		}
		w.WriteString(inHarnessLine("many-tags no-op", o, get("raw-head-many", "raw in the harness"), 1.1))
		w.WriteString(floorLine("many-tags no-op", o, get("raw-head-many", "raw"), get("raw-head-many", "process floor")))
		if b.many != nil {
			reqs := o.med(func(s sample) int64 { return s.src.Requests + s.dst.Requests })
			fmt.Fprintf(&w, "- many-tags no-op requests: %d for %d tags in %d repositories (%.2f per tag)\n", reqs, len(b.many.tags), len(b.many.repos), float64(reqs)/float64(len(b.many.tags)))
			if im := get("many-tags", oursImmutable); im != nil {
				ireqs := im.med(func(s sample) int64 { return s.src.Requests + s.dst.Requests })
				fmt.Fprintf(&w, "- many-tags no-op with immutableTags: %d requests (%.3f per tag), %s = %.2f× the regular no-op\n",
					ireqs, float64(ireqs)/float64(len(b.many.tags)), fmtDur(im.wall()), im.wall().Seconds()/o.wall().Seconds())
			}
		}
	}
	return w.String()
}
