package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type config struct {
	size         int64
	repos        int
	tagsPerRepo  int
	multiArch    int
	runs         int
	noopRuns     int
	manyTags     int
	manyRepos    int
	tools        []string
	scenarios    map[string]bool
	ours         string
	cranePar     int
	regsyncPar   int
	rawStreams   int
	workDir      string
	out          string
	seed         uint64
	registryBin  string
	keep         bool
	oursExtraArg []string
}

func main() {
	log.SetFlags(log.Ltime)
	// The limits that run as commands are this binary, started again.
	if len(os.Args) > 1 {
		if client := map[string]func([]string) error{floorArg: floorMain, rawHeadArg: rawHeadMain}[os.Args[1]]; client != nil {
			if err := client(os.Args[2:]); err != nil {
				log.Fatal(err)
			}
			return
		}
	}
	var c config
	var size, tools, scenarios, oursArgs string
	flag.StringVar(&size, "size", "1350MB", "unique blob bytes of the main data set (e.g. 1350MB, 1GiB, 128MiB)")
	flag.IntVar(&c.repos, "repos", 20, "repositories in the main data set")
	flag.IntVar(&c.tagsPerRepo, "tags-per-repo", 5, "tags per repository in the main data set")
	flag.IntVar(&c.multiArch, "multi-arch-repos", 2, "repositories whose tags are two-platform indexes")
	flag.IntVar(&c.runs, "runs", 5, "runs per tool and scenario (the median is reported)")
	flag.IntVar(&c.noopRuns, "noop-runs", 15, "runs of the no-op scenario and the raw HEAD limit: each takes well under a second for ours, so more rounds are cheap and steady the medians a ratio to the limit is taken from")
	flag.IntVar(&c.manyTags, "many-tags", 2000, "tags of the many-tags scenario (0 skips it)")
	flag.IntVar(&c.manyRepos, "many-repos", 10, "repositories the many-tags scenario spreads its tags over")
	flag.StringVar(&tools, "tools", "ours,regsync,crane,skopeo", "tools to run, comma-separated")
	flag.StringVar(&scenarios, "scenarios", "cold,noop,one-tag,many-tags,raw", "scenarios to run, comma-separated")
	flag.StringVar(&c.ours, "ours", "", "portager binary (default: _output/bin/portager, else built with go build)")
	flag.StringVar(&oursArgs, "ours-args", "", "extra flags for `portager once`, space-separated")
	flag.IntVar(&c.cranePar, "crane-parallel", 4, "parallel `crane copy` processes in the crane loop")
	flag.IntVar(&c.regsyncPar, "regsync-parallel", 4, "regsync defaults.parallel")
	flag.IntVar(&c.rawStreams, "raw-streams", 8, "streams of the raw limits")
	flag.StringVar(&c.workDir, "work-dir", "", "where registries keep data (default: a new temporary directory)")
	flag.StringVar(&c.out, "out", "", "also write the markdown report to this file")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the generated data")
	flag.StringVar(&c.registryBin, "registry", "docker-registry", "the distribution registry binary")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory")
	flag.Parse()

	var err error
	if c.size, err = parseSize(size); err != nil {
		log.Fatalf("-size: %v", err)
	}
	c.tools = splitList(tools)
	c.scenarios = map[string]bool{}
	for _, s := range splitList(scenarios) {
		c.scenarios[s] = true
	}
	c.oursExtraArg = strings.Fields(oursArgs)
	if c.runs < 1 || c.noopRuns < 1 || c.repos < 1 || c.tagsPerRepo < 1 {
		log.Fatal("-runs, -noop-runs, -repos and -tags-per-repo must be positive")
	}
	if err := run(&c); err != nil {
		log.Fatal(err)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			var f float64
			if _, err := fmt.Sscanf(strings.TrimSuffix(s, u.suffix), "%g", &f); err != nil {
				return 0, fmt.Errorf("invalid size %q", s)
			}
			return int64(f * float64(u.mult)), nil
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n, nil
}

// lookTool finds a peer binary on PATH or in GOPATH/bin.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in GOPATH/bin: run hack/bench/install-peers.sh", name)
}

func oursBinary(c *config, dir string) (string, error) {
	if c.ours != "" {
		return c.ours, nil
	}
	if _, err := os.Stat("_output/bin/portager"); err == nil {
		return filepath.Abs("_output/bin/portager")
	}
	p := filepath.Join(dir, "portager")
	log.Printf("building %s", p)
	cmd := exec.Command("go", "build", "-o", p, "./cmd/portager")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return p, cmd.Run()
}

func run(c *config) error {
	dir := c.workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "portager-bench-")
		if err != nil {
			return err
		}
		dir = d
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	bins := map[string]string{}
	for _, t := range c.tools {
		var err error
		switch t {
		case "ours":
			bins[t], err = oursBinary(c, dir)
		case "regsync", "crane", "skopeo":
			bins[t], err = lookTool(t)
		default:
			err = fmt.Errorf("unknown tool %q", t)
		}
		if err != nil {
			return err
		}
	}
	regBin, err := lookTool(c.registryBin)
	if err != nil {
		return err
	}

	src, err := startRegistry(regBin, filepath.Join(dir, "src"))
	if err != nil {
		return err
	}
	defer src.stop()
	dst, err := startRegistry(regBin, filepath.Join(dir, "dst"))
	if err != nil {
		return err
	}
	defer dst.stop()
	log.Printf("source %s (backend %s), destination %s (backend %s)", src.proxyAddr, src.backendAddr(), dst.proxyAddr, dst.backendAddr())

	b := &bench{c: c, dir: dir, src: src, dst: dst, bins: bins, results: map[string]map[string]*result{}}

	start := time.Now()
	ds, err := generateMain(c, src.backendAddr())
	if err != nil {
		return fmt.Errorf("generating data set: %w", err)
	}
	b.main = ds
	log.Printf("main data set: %d tags in %d repositories, %d unique blobs, %s unique blob bytes, %s manifests (%s)",
		len(ds.tags), len(ds.repos), len(ds.blobs), human(ds.blobBytes), human(ds.manifestBytes), time.Since(start).Round(time.Millisecond))

	if err := b.mainScenarios(); err != nil {
		return err
	}
	if c.scenarios["many-tags"] && c.manyTags > 0 {
		start = time.Now()
		many, err := generateMany(c, src.backendAddr())
		if err != nil {
			return fmt.Errorf("generating many-tags data set: %w", err)
		}
		b.many = many
		log.Printf("many-tags data set: %d tags in %d repositories (%s)", len(many.tags), len(many.repos), time.Since(start).Round(time.Millisecond))
		if err := b.manyScenario(); err != nil {
			return err
		}
	}
	report := b.report()
	fmt.Print(report)
	if c.out != "" {
		return os.WriteFile(c.out, []byte(report), 0o644)
	}
	return nil
}

// median of xs (the mean of the middle two for an even count; 0 for none).
func median[T time.Duration | int64 | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
