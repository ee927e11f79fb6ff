package syncplan

import (
	"reflect"
	"testing"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

func TestRequest(t *testing.T) {
	cases := []struct {
		name   string
		images []v1alpha1.ImageSpec
		want   []syncer.Image
	}{
		{"one per image", []v1alpha1.ImageSpec{{Name: "alpine", Tags: []string{"3.21"}}, {Name: "go", Semver: "^1.22", MaxTags: 2}},
			[]syncer.Image{{Name: "alpine", Tags: []string{"3.21"}}, {Name: "go", Semver: "^1.22", MaxTags: 2}}},
		{"same image merged", []v1alpha1.ImageSpec{{Name: "go", Tags: []string{"latest"}}, {Name: "go", Semver: "~1.22.0", MaxTags: 1}},
			[]syncer.Image{{Name: "go", Tags: []string{"latest"}, Semver: "~1.22.0", MaxTags: 1}}},
		{"two constraints joined", []v1alpha1.ImageSpec{{Name: "go", Semver: "~1.21.0", MaxTags: 1}, {Name: "go", Semver: "~1.22.0", MaxTags: 2}},
			[]syncer.Image{{Name: "go", Semver: "~1.21.0 || ~1.22.0", MaxTags: 3}}},
		{"unlimited wins", []v1alpha1.ImageSpec{{Name: "go", Semver: "~1.21.0", MaxTags: 1}, {Name: "go", Semver: "~1.22.0"}},
			[]syncer.Image{{Name: "go", Semver: "~1.21.0 || ~1.22.0", MaxTags: 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := &v1alpha1.ImageSyncSpec{
				Source:      v1alpha1.SourceRegistry{Registry: "docker.io/library"},
				Destination: v1alpha1.DestinationRegistry{Registry: "harbor.example.com", RepositoryPrefix: "mirror"},
				Images:      tc.images,
			}
			got, err := Request(spec, Credentials{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Source.Registry != "docker.io/library" || got.Destination.Registry != "harbor.example.com" || got.RepositoryPrefix != "mirror" {
				t.Fatalf("endpoints = %+v", got)
			}
			for i := range got.Images {
				if len(got.Images[i].Tags) == 0 {
					got.Images[i].Tags = nil
				}
			}
			if !reflect.DeepEqual(got.Images, tc.want) {
				t.Fatalf("images = %+v, want %+v", got.Images, tc.want)
			}
		})
	}
}
