package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// toolRun runs one tool once over the repositories of ds (source proxy to
// destination proxy) and returns an error if it failed.
type toolRun func(ctx context.Context, ds *dataset) error

func (b *bench) tool(name string) toolRun {
	switch name {
	case "ours":
		return b.runOurs
	case oursImmutable:
		return func(ctx context.Context, ds *dataset) error { return b.runOursWith(ctx, ds, immutableReleaseTags) }
	case "regsync":
		return b.runRegsync
	case "skopeo":
		return b.runSkopeo
	case "crane":
		return b.runCrane
	}
	return nil
}

func (b *bench) exec(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HOME="+b.dir) // no user docker config or caches
	err := cmd.Run()
	b.chargeCPU(cmd)
	if err != nil {
		o := out.String()
		if len(o) > 4000 {
			o = o[len(o)-4000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, o)
	}
	return nil
}

func (b *bench) writeConfig(name, content string) (string, error) {
	p := filepath.Join(b.dir, name)
	return p, os.WriteFile(p, []byte(content), 0o644)
}

// oursImmutable is our engine with spec.immutableTags matching every tag
// of the data sets: a no-op then reads tag lists and no manifest.
const oursImmutable = "ours (immutableTags)"

// immutableReleaseTags matches every tag the data sets push.
const immutableReleaseTags = `[0-9]+\.[0-9]+\.[0-9]+`

// runOurs: one ImageSync manifest, every repository with semver ">=0.0.0"
// (all tags, read from the tag list), run by `portager once`.
func (b *bench) runOurs(ctx context.Context, ds *dataset) error {
	return b.runOursWith(ctx, ds, "")
}

// runOursWith is runOurs with spec.immutableTags set to immutable, if not
// empty.
func (b *bench) runOursWith(ctx context.Context, ds *dataset, immutable string) error {
	var m strings.Builder
	fmt.Fprintf(&m, `apiVersion: portager.portager.io/v1alpha1
kind: ImageSync
metadata:
  name: bench
spec:
  schedule: "@every 1h"
  source:
    registry: %s
  destination:
    registry: %s
    auth:
      method: anonymous
`, b.src.proxyAddr, b.dst.proxyAddr)
	if immutable != "" {
		fmt.Fprintf(&m, "  immutableTags: %q\n", immutable)
	}
	m.WriteString("  images:\n")
	for _, r := range ds.repos {
		fmt.Fprintf(&m, "    - name: %s\n      semver: \">=0.0.0\"\n", r)
	}
	p, err := b.writeConfig("imagesync.yaml", m.String())
	if err != nil {
		return err
	}
	args := []string{"once", "-f", p, "--insecure-registry", b.src.proxyAddr, "--insecure-registry", b.dst.proxyAddr}
	args = append(args, b.c.oursExtraArg...)
	return b.exec(ctx, b.bins["ours"], args...)
}

// runRegsync: one repository sync entry per repository (all tags),
// defaults.parallel as set by -regsync-parallel.
func (b *bench) runRegsync(ctx context.Context, ds *dataset) error {
	var m strings.Builder
	fmt.Fprintf(&m, `version: 1
creds:
  - registry: %s
    tls: disabled
  - registry: %s
    tls: disabled
defaults:
  parallel: %d
sync:
`, b.src.proxyAddr, b.dst.proxyAddr, b.c.regsyncPar)
	for _, r := range ds.repos {
		fmt.Fprintf(&m, "  - source: %s/%s\n    target: %s/%s\n    type: repository\n", b.src.proxyAddr, r, b.dst.proxyAddr, r)
	}
	p, err := b.writeConfig("regsync.yaml", m.String())
	if err != nil {
		return err
	}
	return b.exec(ctx, b.bins["regsync"], "once", "-c", p, "-v", "error")
}

// runSkopeo: skopeo sync from a YAML source with images-by-tag-regex (all
// tags, read from the tag list), every platform, digests preserved.
func (b *bench) runSkopeo(ctx context.Context, ds *dataset) error {
	var m strings.Builder
	fmt.Fprintf(&m, "%s:\n  tls-verify: false\n  images-by-tag-regex:\n", b.src.proxyAddr)
	for _, r := range ds.repos {
		fmt.Fprintf(&m, "    %s: '.*'\n", r)
	}
	p, err := b.writeConfig("skopeo.yaml", m.String())
	if err != nil {
		return err
	}
	// Without --scoped, skopeo puts each image under DEST/<last path
	// component>, so the destination carries the repositories' directory.
	prefix := strings.Split(ds.repos[0], "/")[0]
	return b.exec(ctx, b.bins["skopeo"], "sync", "--all", "--preserve-digests", "--src", "yaml", "--dest", "docker",
		"--dest-tls-verify=false", p, b.dst.proxyAddr+"/"+prefix)
}

// runCrane: what a user scripts without a sync command: `crane ls` each
// repository, then `crane copy` each tag, -crane-parallel at a time
// (xargs -P). The copies take the repositories in turn (the first tag of
// each, then the second, ...): two copies at once into one repository
// upload their shared layers at the same time, and distribution 2.8's
// filesystem driver can then lose one of them and refuse the manifest
// (see RESULTS.md). That is a registry race, not crane's work to measure.
func (b *bench) runCrane(ctx context.Context, ds *dataset) error {
	var byRepo [][]string
	for _, r := range ds.repos {
		cmd := exec.CommandContext(ctx, b.bins["crane"], "ls", "--insecure", b.src.proxyAddr+"/"+r)
		cmd.Env = append(os.Environ(), "HOME="+b.dir)
		out, err := cmd.Output()
		b.chargeCPU(cmd)
		if err != nil {
			return fmt.Errorf("crane ls %s: %w", r, err)
		}
		var refs []string
		for _, t := range strings.Fields(string(out)) {
			refs = append(refs, r+":"+t)
		}
		byRepo = append(byRepo, refs)
	}
	longest := 0
	for _, repo := range byRepo {
		longest = max(longest, len(repo))
	}
	var refs []string
	for i := range longest {
		for _, repo := range byRepo {
			if i < len(repo) {
				refs = append(refs, repo[i])
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.c.cranePar)
	for _, ref := range refs {
		g.Go(func() error {
			return b.exec(gctx, b.bins["crane"], "copy", "--insecure", b.src.proxyAddr+"/"+ref, b.dst.proxyAddr+"/"+ref)
		})
	}
	return g.Wait()
}

// verify checks that every tag of ds has the source digest at the
// destination (through the backends, so the proxies' counters stay clean).
func (b *bench) verify(ds *dataset) error {
	var bad []string
	for _, t := range ds.tags {
		want := ds.digests[t.repo+":"+t.tag]
		got, err := headDigest(b.dst.backendAddr(), t.repo, t.tag)
		if err != nil || got != want {
			bad = append(bad, fmt.Sprintf("%s:%s (got %q, err %v)", t.repo, t.tag, got, err))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return fmt.Errorf("%d tags differ at the destination: %s", len(bad), strings.Join(bad, "; "))
	}
	return nil
}

// measure runs f with fresh counters and returns the wall time, what each
// proxy saw, and the CPU used by the tool's processes and by the registries.
func (b *bench) measure(ctx context.Context, f func(context.Context) error) (sample, error) {
	b.src.counts.take()
	b.dst.counts.take()
	b.toolCPU.Swap(0)
	regCPU := b.src.cpu() + b.dst.cpu()
	start := time.Now()
	err := f(ctx)
	s := sample{wall: time.Since(start), src: b.src.counts.take(), dst: b.dst.counts.take()}
	s.toolCPU = time.Duration(b.toolCPU.Swap(0))
	s.registryCPU = b.src.cpu() + b.dst.cpu() - regCPU
	return s, err
}

func logSample(tool, scenario string, run int, s sample) {
	log.Printf("%-8s %-10s run %d: %8s  src %5d req (%d pings)  dst %5d req (%d pings)  written %s  cpu tool %s registries %s",
		tool, scenario, run, s.wall.Round(time.Millisecond), s.src.Requests, s.src.Pings, s.dst.Requests, s.dst.Pings, human(s.dst.BytesIn),
		s.toolCPU.Round(time.Millisecond), s.registryCPU.Round(time.Millisecond))
}
