package plugin

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/digestname"
	"github.com/portager/portager/pkg/tagselect"
)

func newStatusCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status NAME",
		Short: "Show an ImageSync's per-tag digests, verification and errors",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, ns, err := o.client()
			if err != nil {
				return err
			}
			is, err := cs.PortagerV1alpha1().ImageSyncs(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			printStatus(o.out, is, time.Now())
			return nil
		},
	}
}

// printStatus writes a summary and a table with one row per image tag.
func printStatus(w io.Writer, is *v1alpha1.ImageSync, now time.Time) {
	st := &is.Status
	fmt.Fprintf(w, "ImageSync %s/%s: %d/%d synced, %d failed", is.Namespace, is.Name, st.SyncedImages, st.TotalImages, st.FailedImages)
	if st.LastSyncTime != nil {
		fmt.Fprintf(w, ", last sync %s ago", duration.HumanDuration(now.Sub(st.LastSyncTime.Time)))
	}
	if is.Spec.Suspend {
		fmt.Fprint(w, ", suspended")
	}
	fmt.Fprintln(w)
	for _, c := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionSyncing} {
		if cond := meta.FindStatusCondition(st.Conditions, c); cond != nil {
			fmt.Fprintf(w, "%s: %s (%s) %s\n", c, cond.Status, cond.Reason, cond.Message)
		}
	}
	if len(st.Images) == 0 {
		fmt.Fprintln(w, "No tag results yet.")
		return
	}

	pins := pinnedTags(&is.Spec)
	// A PLATFORMS column only when platforms filter some tag.
	filtered := slices.ContainsFunc(st.Images, func(img v1alpha1.ImageStatus) bool {
		return slices.ContainsFunc(img.Tags, func(t v1alpha1.TagStatus) bool { return len(t.Platforms) > 0 })
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if filtered {
		fmt.Fprintln(tw, "IMAGE\tTAG\tSYNCED\tREASON\tDIGEST\tPLATFORMS\tVERIFIED\tLAST SYNC\tERROR")
	} else {
		fmt.Fprintln(tw, "IMAGE\tTAG\tSYNCED\tREASON\tDIGEST\tVERIFIED\tLAST SYNC\tERROR")
	}
	for _, img := range st.Images {
		for _, tag := range img.Tags {
			last := "-"
			if tag.LastSyncTime != nil {
				last = duration.HumanDuration(now.Sub(tag.LastSyncTime.Time)) + " ago"
			}
			msg := tag.Error
			if tag.ValidationError != "" {
				msg = strings.TrimSpace(tag.ValidationError + " " + msg)
			}
			name := tag.Tag
			if pin := pins[img.Name+":"+tag.Tag]; pin != "" {
				name += "@" + digestname.Short(pin)
			}
			digest := orDash(tag.SourceDigest)
			if tag.DestinationDigest != "" {
				// A filtered index: the source's digest, then the one written.
				digest = digestname.Short(tag.SourceDigest) + "->" + digestname.Short(tag.DestinationDigest)
			}
			if filtered {
				digest += "\t" + orDash(strings.Join(tag.Platforms, ","))
			}
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\n", img.Name, name, tag.Synced, orDash(tag.Reason), digest,
				verified(is, tag), last, orDash(msg))
		}
	}
	tw.Flush()
}

// pinnedTags maps "image:tag" to the digest spec pins the tag to.
func pinnedTags(spec *v1alpha1.ImageSyncSpec) map[string]string {
	pins := map[string]string{}
	for _, img := range spec.Images {
		for _, entry := range img.Tags {
			if tag, pin, err := tagselect.ParseTag(entry); err == nil && pin != "" {
				pins[img.Name+":"+tag] = pin
			}
		}
	}
	return pins
}

// verified is "-" when no validation is configured, where the field means nothing.
func verified(is *v1alpha1.ImageSync, tag v1alpha1.TagStatus) string {
	if v := is.Spec.Validation; v == nil || ((v.Cosign == nil || !v.Cosign.Enabled) &&
		(v.SBOMGate == nil || !v.SBOMGate.Enabled) && (v.VulnerabilityGate == nil || !v.VulnerabilityGate.Enabled)) {
		return "-"
	}
	return fmt.Sprint(tag.Verified)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
