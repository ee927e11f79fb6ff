package syncer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/portager/portager/pkg/sanitize"
	"github.com/portager/portager/pkg/syncer/internal/distribution"
	"github.com/portager/portager/pkg/tagselect"
)

// Endpoint is one side of a sync.
type Endpoint struct {
	// Registry is host[/path] as in the ImageSync spec, e.g. docker.io/library
	// or cgr.dev/my-org.
	Registry string
	// Keychain supplies this side's credentials; nil is anonymous.
	Keychain authn.Keychain
}

// Image is one image of a request. Its tags are chosen as package
// tagselect says; a tag or digest that two Images of one run select is
// synced once.
type Image struct {
	// Name is relative to the source registry, e.g. "nginx".
	Name string
	// Tags are explicit tags, synced first; "TAG@sha256:HEX" pins TAG to
	// that digest (a source tag at another digest fails as
	// DigestMismatch and nothing is written for it).
	Tags []string
	// Semver, Include and Exclude select tags from the source's tag list
	// (see tagselect.Spec); MaxTags caps that selection (0 = unlimited).
	Semver           string
	Include, Exclude []string
	MaxTags          int
	// Digests are manifests copied by digest; no tag is written for them.
	Digests []string
	// Platforms, as OS/ARCHITECTURE[/VARIANT], copies of a tag's index
	// only the entries of those platforms (and their attestations and
	// referrers), as an index derived from the source's; a single-platform
	// source must be of one of them. Digests are copied as they are.
	// Empty copies everything.
	Platforms []string
}

// Filtered is what an earlier run with the same platforms left at the
// destination for one tag: the source digest it found and the digest it
// wrote for it, which differ for a filtered index, and the platforms kept.
type Filtered struct {
	Source, Written string
	Platforms       []string
}

// Request is one sync run.
type Request struct {
	Source, Destination Endpoint
	// RepositoryPrefix is inserted between the destination registry and the
	// image name (optional).
	RepositoryPrefix string
	Images           []Image
	// Gate, if set, decides whether a resolved source image may be copied.
	// It is called once per tag, up to date or not, before the
	// destination is compared, with exactly the digest that is copied.
	// An error blocks that tag. A verdict wrapped with Rejected has reason
	// GateFailed and waits for the schedule; any other error is classified
	// like the engine's own, so a registry that failed while the gate read
	// the source is transient and retried.
	Gate func(ctx context.Context, subject *Subject) error
	// Progress, if set, is called as each tag finishes. Calls are
	// serialised.
	Progress func(TagResult)
	// ImmutableTags, if set, is a pattern over whole tag names (see
	// tagselect.CompilePattern): a selected tag that matches and is in the
	// destination repository's tag list is reported up to date
	// (ImmutableTagPresent) without any manifest request. The caller
	// promises that such tags never move at the source.
	ImmutableTags string
	// Filtered holds, by "IMAGE:TAG", what earlier runs with the same
	// Images' platforms wrote (TagResult's Digest, WrittenDigest and
	// Platforms). A tag with platforms whose source and destination are
	// still at a recorded pair is up to date without reading the source
	// manifest: the filtered index is derived deterministically, so the
	// same source gives the same index. The caller must drop records made
	// under other platforms.
	Filtered map[string]Filtered
	// KeepDivergedTags leaves a destination tag that holds another digest
	// than the source's alone: the tag fails as DestinationDiverged and
	// nothing is written for it.
	KeepDivergedTags bool
	// DryRun resolves, gates and compares every tag as a run does, but
	// copies nothing: a tag that would be copied is reported as
	// OutcomeWouldCopy. The destination is only read, with pull access,
	// so a dry run works with read-only destination credentials.
	DryRun bool
	// AllowInternal, if set, names further host:ports (besides the run's
	// own registries and the engine's InsecureHosts) that this run's
	// requests may reach at internal addresses: a token service or blob
	// storage inside the network, allowed by a RegistryPolicy. See
	// internal/distribution/reach.go.
	AllowInternal func(hostport string) bool
	// Tenant, if set, names whom the run works for. Runs of one tenant
	// share one fair share of each registry's request slots (see the
	// distribution client's fairSlots), so a tenant with many ImageSyncs
	// running gets no more of a shared registry than a tenant with one.
	// Without it, the run is its own tenant.
	Tenant string
}

// run is the state of one Sync call: dedupe of blobs and manifests, where
// blobs landed (for mounts), verified manifests, per-side clients.
type run struct {
	e   *Engine
	req Request

	// session is what the run learns about the registry hosts.
	session *distribution.Session

	mu        sync.Mutex
	flights   map[string]*flight
	landed    map[string]map[string]bool
	manifests map[v1.Hash]cachedManifest
	// cachedBytes is the size of manifests, up to maxRunManifestCache.
	cachedBytes int
	// referrerSets holds findReferrers' answers by flight key.
	referrerSets map[string]referrerSet
	// copySlots bounds tags being copied (TagConcurrency).
	copySlots chan struct{}
	// immutable is the compiled Request.ImmutableTags (nil: none).
	immutable *regexp.Regexp
	// planned holds the destination repository and reference of every
	// tag or digest planned, so that two Images selecting it sync it once.
	planned map[string]bool

	progressMu sync.Mutex
}

// flight is one piece of shared work within a run (a blob, a manifest
// subtree, the referrers of a digest).
type flight struct {
	done     chan struct{}
	err      error
	canceled bool // the leader's own context was cancelled
}

// share runs fn once per key for the run: the first caller (the leader)
// does the work, later callers wait for its result. If the leader was
// cancelled by its own tag (fail-fast after a sibling blob failed) while a
// waiter's context is still alive, the waiter redoes the work instead of
// inheriting a cancellation that is not its own.
func (r *run) share(ctx context.Context, key string, fn func() error) (leader bool, err error) {
	for {
		r.mu.Lock()
		f, ok := r.flights[key]
		if !ok {
			f = &flight{done: make(chan struct{})}
			r.flights[key] = f
			r.mu.Unlock()
			f.err = fn()
			if f.err != nil && ctx.Err() != nil {
				f.canceled = true
				r.mu.Lock()
				delete(r.flights, key)
				r.mu.Unlock()
			}
			close(f.done)
			return true, f.err
		}
		r.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if f.canceled && ctx.Err() == nil {
			continue
		}
		return false, f.err
	}
}

// job is one tag, or one digest, to sync.
type job struct {
	// ref is the tag, or for a digest entry the digest.
	ref      string
	src, dst *distribution.Repository
	name     string
	// byDigest says ref is a digest: it is copied by digest and no tag
	// is written.
	byDigest bool
	// pin, if set, is the digest the source tag must resolve to.
	pin string
	// immutable says ref is an immutable tag already in the destination's
	// tag list: it is reported up to date without a request.
	immutable bool
	// platforms, if set, filters what is copied of the tag.
	platforms *platformFilter
}

// Sync runs req: resolve tags, resolve each tag to a digest once, gate it,
// skip what is current and copy the rest by digest. Per-tag problems are
// results; the error is only for an invalid request.
func (e *Engine) Sync(ctx context.Context, req Request) ([]TagResult, error) {
	if err := validate(req); err != nil {
		return nil, err
	}
	log := klog.FromContext(ctx)
	ctx = distribution.WithRedactor(ctx)
	ctx = distribution.WithReach(ctx, []string{req.Source.Registry, req.Destination.Registry}, req.AllowInternal)
	r := &run{
		e: e, req: req,
		session:   distribution.NewSession(),
		flights:   map[string]*flight{},
		landed:    map[string]map[string]bool{},
		manifests: map[v1.Hash]cachedManifest{},

		referrerSets: map[string]referrerSet{},
		copySlots:    make(chan struct{}, e.opts.TagConcurrency),
		planned:      map[string]bool{},
	}
	if req.ImmutableTags != "" {
		// validate compiled it already.
		r.immutable, _ = tagselect.CompilePattern(req.ImmutableTags)
	}
	var owner any = r
	if req.Tenant != "" {
		owner = req.Tenant
	}
	ctx = distribution.WithSlotOwner(ctx, owner)

	// Plan (resolve each image's tags) and sync tags as a pipeline: an
	// image's tags start as soon as its tag list is read, so listing
	// overlaps with the HEADs of tags already planned. Both stages are
	// bounded by CheckConcurrency; copies within them by TagConcurrency.
	perImage := make([][]TagResult, len(req.Images))
	tagResults := make([][]TagResult, len(req.Images))
	type queued struct {
		j      job
		img, k int
	}
	queue := make(chan queued)
	go func() {
		defer close(queue)
		var planners errgroup.Group
		planners.SetLimit(e.opts.CheckConcurrency)
		// Images that share a destination repository are planned in
		// order by one planner, so a tag two of them select belongs to
		// the first, whatever the timing.
		for _, group := range byDestination(req) {
			planners.Go(func() error {
				for _, i := range group {
					var jobs []job
					perImage[i], jobs = r.plan(ctx, req.Images[i])
					tagResults[i] = make([]TagResult, len(jobs))
					for k, j := range jobs {
						queue <- queued{j: j, img: i, k: k}
					}
				}
				return nil
			})
		}
		_ = planners.Wait()
	}()
	var workers sync.WaitGroup
	for w := 0; w < e.opts.CheckConcurrency; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for q := range queue {
				res := r.syncTag(ctx, q.j)
				tagResults[q.img][q.k] = res
				r.progressMu.Lock()
				if req.Progress != nil {
					req.Progress(res)
				}
				r.progressMu.Unlock()
			}
		}()
	}
	workers.Wait()

	var out []TagResult
	tags := 0
	for i := range req.Images {
		out = append(out, perImage[i]...)
		out = append(out, tagResults[i]...)
		tags += len(tagResults[i])
	}
	log.V(1).Info("sync finished", "tags", tags, "results", len(out))
	return out, nil
}

// byDestination groups the indices of req.Images by destination
// repository, in the order each repository first appears.
func byDestination(req Request) [][]int {
	var groups [][]int
	at := map[string]int{}
	for i, img := range req.Images {
		ref := req.DestinationRepository(img.Name)
		g, ok := at[ref]
		if !ok {
			g = len(groups)
			at[ref] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// plan resolves the tags of one image. Image-level failures become results
// with an empty Tag; explicit tags are still synced.
func (r *run) plan(ctx context.Context, img Image) ([]TagResult, []job) {
	srcRef := joinRepo(r.req.Source.Registry, img.Name)
	dstRef := r.req.DestinationRepository(img.Name)
	var res []TagResult
	imageFail := func(reason string, err error, transient bool) {
		tr := TagResult{Image: img.Name, Source: srcRef, Destination: dstRef}
		tr.fail(ctx, err)
		if reason != "" {
			tr.Reason, tr.Transient = reason, transient
		}
		res = append(res, tr)
		if r.req.Progress != nil {
			r.progressMu.Lock()
			r.req.Progress(tr)
			r.progressMu.Unlock()
		}
	}
	src, err := r.client(ctx, r.req.Source, srcRef, false)
	if err != nil {
		imageFail(ReasonAuthFailed, err, false)
		return res, nil
	}
	dst, err := r.client(ctx, r.req.Destination, dstRef, !r.req.DryRun)
	if err != nil {
		imageFail(ReasonAuthFailed, err, false)
		return res, nil
	}
	sel, err := tagselect.New(tagselect.Spec{Tags: img.Tags, Semver: img.Semver, Include: img.Include, Exclude: img.Exclude, MaxTags: img.MaxTags})
	if err != nil {
		reason := ReasonInvalidSelection
		if errors.Is(err, tagselect.ErrInvalidConstraint) {
			reason = ReasonInvalidConstraint
		}
		imageFail(reason, err, false)
	}
	var selected []string
	if sel.ListsTags() {
		if available, err := src.ListTags(ctx); err == nil {
			src.SetKnownTags(available)
			selected = sel.Select(available)
		} else {
			reason, transient, _ := classify(err)
			if reason != ReasonAuthFailed && reason != ReasonRateLimited && reason != ReasonBlockedDestination && reason != ReasonTagListTooLarge && !transient {
				reason = ReasonListTagsFailed
			}
			imageFail(reason, err, transient)
		}
	}
	platforms, _ := newPlatformFilter(img.Platforms) // validate parsed them already
	var jobs []job
	add := func(j job) {
		if !j.byDigest {
			j.platforms = platforms
		}
		key := dstRef + "\x00" + j.ref
		r.mu.Lock()
		dup := r.planned[key]
		r.planned[key] = true
		r.mu.Unlock()
		if !dup {
			j.src, j.dst, j.name = src, dst, img.Name
			jobs = append(jobs, j)
		}
	}
	for _, e := range sel.Explicit() {
		add(job{ref: e.Tag, pin: e.Pin})
	}
	for _, t := range selected {
		add(job{ref: t})
	}
	for _, d := range img.Digests {
		add(job{ref: d, byDigest: true})
	}
	r.markImmutable(ctx, dst, jobs)
	klog.FromContext(ctx).V(2).Info("resolved tags", "image", img.Name, "tags", len(jobs))
	return res, jobs
}

// markImmutable marks the jobs whose tags are immutable (Request.
// ImmutableTags) and already in dst's tag list, which it reads once, only
// when some job's tag matches. A tag list that cannot be read marks
// nothing: those tags are then checked as any other. A pinned tag is never
// marked: its pin asks for the source digest to be checked on every run.
func (r *run) markImmutable(ctx context.Context, dst *distribution.Repository, jobs []job) {
	candidate := func(j job) bool { return !j.byDigest && j.pin == "" && r.immutable.MatchString(j.ref) }
	if r.immutable == nil || !slices.ContainsFunc(jobs, candidate) {
		return
	}
	tags, err := dst.ListTags(ctx)
	if err != nil {
		klog.FromContext(ctx).V(1).Info("destination tag list unreadable; immutable tags are checked as others", "repository", dst.Path(), "err", sanitize.Message(err.Error()))
		return
	}
	present := make(map[string]bool, len(tags))
	for _, t := range tags {
		present[t] = true
	}
	for i := range jobs {
		jobs[i].immutable = present[jobs[i].ref] && candidate(jobs[i])
	}
}

// syncTag handles one tag or digest: exactly one HEAD on each side when
// current, none for an immutable tag the destination lists.
func (r *run) syncTag(ctx context.Context, j job) (res TagResult) {
	start := time.Now()
	log := klog.FromContext(ctx).WithValues("image", j.name, "tag", j.ref)
	sep := ":"
	if j.byDigest {
		sep = "@"
	}
	res = TagResult{
		Image: j.name, Tag: j.ref,
		Source:      j.src.Ref().String() + sep + j.ref,
		Destination: j.dst.Ref().String() + sep + j.ref,
	}
	defer func() {
		res.Duration = time.Since(start)
		log.V(1).Info("tag finished", "digest", res.Digest, "outcome", string(res.Outcome), "reason", res.Reason, "bytes", res.Bytes, "message", res.Message)
	}()
	fail := func(err error) TagResult {
		res.fail(ctx, err)
		return res
	}
	if j.immutable {
		res.Outcome, res.Reason = OutcomeSkipped, ReasonImmutableTagPresent
		return res
	}

	// The destination HEAD does not depend on the source's answer, so both
	// go out at once: an up-to-date tag costs one round trip, not two.
	type head struct {
		desc  v1.Descriptor
		found bool
		err   error
	}
	dstHead := make(chan head, 1)
	go func() {
		d, f, err := j.dst.HeadManifest(ctx, j.ref)
		dstHead <- head{d, f, err}
	}()
	desc, found, err := j.src.HeadManifest(ctx, j.ref)
	if err != nil {
		return fail(err)
	}
	if !found {
		what := "tag "
		if j.byDigest {
			what = "manifest "
		}
		res.Outcome, res.Reason = OutcomeFailed, ReasonTagNotFound
		res.Message = distribution.Sanitize(ctx, what+j.ref+" not found in "+j.src.Ref().String())
		return res
	}
	switch got := desc.Digest.String(); {
	case j.byDigest && got != j.ref:
		// A registry answering for another digest than asked for.
		res.Outcome, res.Reason = OutcomeFailed, ReasonDigestMismatch
		res.Message = distribution.Sanitize(ctx, "source answered "+j.ref+" with "+got)
		return res
	case j.pin != "" && got != j.pin:
		res.Outcome, res.Reason, res.Digest = OutcomeFailed, ReasonDigestMismatch, got
		res.Message = distribution.Sanitize(ctx, "source tag "+j.ref+" is at "+got+", not at the pinned "+j.pin)
		return res
	}
	if desc.MediaType.IsSchema1() {
		return fail(&distribution.UnsupportedError{MediaType: string(desc.MediaType)})
	}
	res.Digest = desc.Digest.String()

	if r.req.Gate != nil {
		d, err := name.NewDigest(j.src.Ref().String() + "@" + res.Digest)
		if err != nil {
			return fail(fmt.Errorf("building digest reference: %w", err))
		}
		subject := &Subject{Digest: d, Descriptor: desc, r: r, src: j.src}
		if err := callGate(ctx, r.req.Gate, subject); err != nil {
			return fail(err)
		}
	}

	dh := <-dstHead
	ddesc, dfound, err := dh.desc, dh.found, dh.err
	if err != nil {
		return fail(err)
	}
	want := target{digest: desc.Digest}
	if j.platforms != nil {
		if want, err = r.platformTarget(ctx, j, desc, ddesc, dfound); err != nil {
			return fail(err)
		}
		res.Platforms = want.platforms
		if want.digest != desc.Digest {
			res.WrittenDigest = want.digest.String()
		}
	}
	if dfound && ddesc.Digest == want.digest {
		res.Outcome, res.Reason = OutcomeSkipped, ReasonUpToDate
		return res
	}
	if dfound && r.req.KeepDivergedTags {
		res.Outcome, res.Reason = OutcomeFailed, ReasonDestinationDiverged
		res.Message = "destination tag is at " + ddesc.Digest.String() + " and is not overwritten"
		return res
	}
	if r.req.DryRun {
		res.Outcome, res.Reason = OutcomeWouldCopy, ReasonDestinationMissing
		if dfound {
			res.Reason = ReasonDestinationDiffers
			res.Message = "destination has " + ddesc.Digest.String()
		}
		return res
	}

	// Copies hold request slots for whole transfers, so only
	// TagConcurrency run at once; other tags' checks go on meanwhile.
	select {
	case r.copySlots <- struct{}{}:
		defer func() { <-r.copySlots }()
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	var moved atomic.Int64
	if want.filtered != nil {
		err = r.copyFiltered(ctx, j.src, j.dst, want.filtered, j.ref, &moved)
	} else {
		err = r.copyImage(ctx, j.src, j.dst, desc, j.ref, &moved)
	}
	res.Bytes = moved.Load()
	if err != nil {
		return fail(err)
	}
	res.Outcome, res.Reason = OutcomeCopied, ReasonCopied
	return res
}

// callGate runs the gate, turning a panic into a gate failure: a buggy
// verifier must block its tag, not crash the controller or let it through.
func callGate(ctx context.Context, gate func(context.Context, *Subject) error, s *Subject) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Rejected(fmt.Errorf("gate panicked: %v", p))
		}
	}()
	return gate(ctx, s)
}

// client builds the distribution client of one side's repository,
// resolving that side's keychain for it.
func (r *run) client(ctx context.Context, ep Endpoint, ref string, push bool) (*distribution.Repository, error) {
	repo, err := name.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid repository %q: %w", ref, err)
	}
	return r.e.client.Repository(ctx, r.session, repo, ep.Keychain, push)
}

// DestinationRepository is where the image named image lands: the
// destination registry (host and optional path), then RepositoryPrefix,
// then the image name, e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/alpine".
func (r Request) DestinationRepository(image string) string {
	return joinRepo(r.Destination.Registry, r.RepositoryPrefix, image)
}

// DestinationRepositories are the repositories (without the host) the
// request's images land in, each once, in image order.
func (r Request) DestinationRepositories() []string {
	var repos []string
	seen := map[string]bool{}
	for _, img := range r.Images {
		_, repo, _ := strings.Cut(r.DestinationRepository(img.Name), "/")
		if !seen[repo] {
			seen[repo] = true
			repos = append(repos, repo)
		}
	}
	return repos
}

func joinRepo(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.Trim(strings.TrimSpace(p), "/"); p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "/")
}

// validate rejects requests that cannot run at all.
func validate(req Request) error {
	var errs []error
	if strings.TrimSpace(req.Source.Registry) == "" {
		errs = append(errs, errors.New("source registry is required"))
	}
	if strings.TrimSpace(req.Destination.Registry) == "" {
		errs = append(errs, errors.New("destination registry is required"))
	}
	if len(req.Images) == 0 {
		errs = append(errs, errors.New("at least one image is required"))
	}
	for i, img := range req.Images {
		if strings.TrimSpace(img.Name) == "" {
			errs = append(errs, fmt.Errorf("images[%d]: name is required", i))
			continue
		}
		if len(img.Tags) == 0 && strings.TrimSpace(img.Semver) == "" && len(img.Include) == 0 && len(img.Digests) == 0 {
			errs = append(errs, fmt.Errorf("images[%d] %s: tags, semver, include or digests is required", i, img.Name))
		}
		if img.MaxTags < 0 {
			errs = append(errs, fmt.Errorf("images[%d] %s: maxTags must not be negative", i, img.Name))
		}
		for _, ref := range []string{joinRepo(req.Source.Registry, img.Name), joinRepo(req.Destination.Registry, req.RepositoryPrefix, img.Name)} {
			// The parser's error echoes the input, which could hold
			// userinfo pasted into a registry field: report only the
			// sanitised reference.
			if _, err := name.NewRepository(ref); err != nil {
				errs = append(errs, fmt.Errorf("images[%d]: invalid repository %q", i, sanitize.Message(ref)))
			}
		}
		for _, entry := range img.Tags {
			t, _, err := tagselect.ParseTag(entry)
			if err == nil {
				_, err = name.NewTag(joinRepo(req.Source.Registry, img.Name) + ":" + t)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("images[%d] %s: invalid tag %q", i, img.Name, sanitize.Message(entry)))
			}
		}
		for _, d := range img.Digests {
			if !tagselect.IsDigest(d) {
				errs = append(errs, fmt.Errorf("images[%d] %s: invalid digest %q", i, img.Name, sanitize.Message(d)))
			}
		}
		if _, err := newPlatformFilter(img.Platforms); err != nil {
			errs = append(errs, fmt.Errorf("images[%d] %s: %s", i, img.Name, sanitize.Message(err.Error())))
		}
	}
	if req.ImmutableTags != "" {
		if _, err := tagselect.CompilePattern(req.ImmutableTags); err != nil {
			errs = append(errs, fmt.Errorf("immutable tags: %w", err))
		}
	}
	return errors.Join(errs...)
}
