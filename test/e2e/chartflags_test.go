//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/portager/portager/internal/charttest"
	"github.com/portager/portager/internal/localstack"
)

// TestChartFlagsStartTheBinaries: the flags the chart gives etcd, the API
// server and the controller are flags the real binaries run with. The
// test renders the chart with its default values, writes the Secrets the
// chart generated where the pods would mount them, and starts three etcd
// members, the API server and the controller on loopback with the
// containers' arguments: only the addresses are mapped to loopback ports,
// the mount paths to the written files, and the in-cluster configuration
// to the e2e kube-apiserver's kubeconfigs (delegated authentication and
// authorization go there). All become ready, the API server stores what it
// serves in that etcd, and etcd refuses plain HTTP and TLS clients without
// a certificate of its CA. The backup CronJob's etcdctl command takes a
// snapshot, which restores (as README.md says) into a new member that
// another API server serves the objects from.
func TestChartFlagsStartTheBinaries(t *testing.T) {
	s := startStack(t, 0, false)
	etcdBin := binary(t, "ETCD", filepath.Join(s.root, "_output/bin/etcd"))
	rendered, err := s.RenderChart(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	objs, err := charttest.Objects(rendered)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// Loopback ports for each member's client, peer and health listeners,
	// and the replacements that put the chart's addresses on them.
	const members = 3
	var client, peer, health [members]int
	var toLoopback []string
	for i := range members {
		for _, p := range []*int{&client[i], &peer[i], &health[i]} {
			if *p, err = localstack.FreePort(); err != nil {
				t.Fatal(err)
			}
		}
		host := fmt.Sprintf("portager-etcd-%d.portager-etcd.%s.svc", i, localstack.Namespace)
		toLoopback = append(toLoopback, host+":2379", "127.0.0.1:"+strconv.Itoa(client[i]), host+":2380", "127.0.0.1:"+strconv.Itoa(peer[i]))
	}
	loopback := strings.NewReplacer(toLoopback...)

	// etcd, with the StatefulSet's command for each member.
	var sts appsv1.StatefulSet
	mustFind(t, objs, "StatefulSet", "portager-etcd", &sts)
	if int(*sts.Spec.Replicas) != members {
		t.Fatalf("the chart runs %d etcd members, the test %d", *sts.Spec.Replicas, members)
	}
	etcdPod := sts.Spec.Template.Spec
	for i := range members {
		pod := strings.NewReplacer("$(POD_NAME)", fmt.Sprintf("portager-etcd-%d", i),
			"0.0.0.0:2379", "127.0.0.1:"+strconv.Itoa(client[i]), "0.0.0.0:2380", "127.0.0.1:"+strconv.Itoa(peer[i]),
			"0.0.0.0:2381", "127.0.0.1:"+strconv.Itoa(health[i]))
		mounts := writeMounts(t, objs, etcdPod, filepath.Join(dir, fmt.Sprintf("etcd-%d", i)))
		var args []string
		for _, a := range etcdPod.Containers[0].Command[1:] {
			args = append(args, mounts.Replace(loopback.Replace(pod.Replace(a))))
		}
		if err := s.StartProcess(fmt.Sprintf("etcd-%d", i), etcdBin, envOf(etcdPod.Containers[0]), args...); err != nil {
			t.Fatal(err)
		}
	}
	for i := range members {
		s.eventually(t, time.Minute, fmt.Sprintf("etcd member %d ready", i), func() error {
			return getOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/readyz", health[i]))
		})
	}

	t.Run("etcd refuses plain HTTP and clients without a certificate of its CA", func(t *testing.T) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/version", client[0]))
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "etcdserver") {
				t.Errorf("plain HTTP answered %d: %s", resp.StatusCode, body)
			}
		}
		caPool := x509.NewCertPool()
		caPool.AppendCertsFromPEM(secretData(t, objs, "portager-etcd-ca", "tls.crt"))
		anonymous := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool, ServerName: "localhost"}}}
		if resp, err := anonymous.Get(fmt.Sprintf("https://127.0.0.1:%d/version", client[0])); err == nil {
			resp.Body.Close()
			t.Errorf("TLS without a client certificate answered %d", resp.StatusCode)
		}
		// A certificate of another CA (the API server's serving
		// certificate) is refused too.
		other, err := tls.X509KeyPair(secretData(t, objs, "portager-apiserver-tls", "tls.crt"), secretData(t, objs, "portager-apiserver-tls", "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		stranger := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool, ServerName: "localhost", Certificates: []tls.Certificate{other}}}}
		if resp, err := stranger.Get(fmt.Sprintf("https://127.0.0.1:%d/version", client[0])); err == nil {
			resp.Body.Close()
			t.Errorf("a certificate of another CA answered %d", resp.StatusCode)
		}
	})

	// The API server, with its Deployment's arguments.
	apiKubeconfig, err := s.KubeconfigFor("portager-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	apiPort, apiArgs := s.startFromDeployment(t, objs, "portager-apiserver", filepath.Join(dir, "apiserver"),
		[]string{"--bind-address=127.0.0.1", "--kubeconfig=" + apiKubeconfig, "--authentication-kubeconfig=" + apiKubeconfig, "--authorization-kubeconfig=" + apiKubeconfig},
		loopback.Replace)
	var api appsv1.Deployment
	mustFind(t, objs, "Deployment", "portager-apiserver", &api)
	apiClient := tlsClient(t, secretData(t, objs, "portager-apiserver-tls", "ca.crt"), "portager-apiserver."+localstack.Namespace+".svc")
	s.eventually(t, 90*time.Second, "the API server ready", func() error {
		return getOK(apiClient, fmt.Sprintf("https://127.0.0.1:%d/readyz", apiPort))
	})

	// createPolicy creates a RegistryPolicy through the API server.
	createPolicy := func(t *testing.T, name string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("https://127.0.0.1:%d/apis/portager.portager.io/v1alpha1/registrypolicies", apiPort),
			strings.NewReader(`{"apiVersion":"portager.portager.io/v1alpha1","kind":"RegistryPolicy","metadata":{"name":"`+name+`"},"spec":{"sources":[{"registry":"ghcr.io"}]}}`))
		req.Header.Set("Authorization", "Bearer admin-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := apiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s through the API server: %d %s", name, resp.StatusCode, body)
		}
	}

	t.Run("the API server stores its objects in the TLS etcd", func(t *testing.T) {
		createPolicy(t, "chart-flags")
		cert, err := tls.X509KeyPair(secretData(t, objs, "portager-etcd-client", "tls.crt"), secretData(t, objs, "portager-etcd-client", "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(secretData(t, objs, "portager-etcd-client", "ca.crt"))
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{fmt.Sprintf("https://127.0.0.1:%d", client[1])},
			TLS:         &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"},
			DialTimeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := cli.Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, kv := range got.Kvs {
			keys = append(keys, string(kv.Key))
		}
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, "/registrypolicies/chart-flags") }) {
			t.Errorf("the RegistryPolicy is not in etcd (read from another member); keys: %v", keys)
		}
	})

	t.Run("the backup job's snapshot restores into an etcd the API server serves from", func(t *testing.T) {
		// The CronJob's container, with the client Service mapped to a
		// member.
		var cron batchv1.CronJob
		mustFind(t, objs, "CronJob", "portager-etcd-backup", &cron)
		job := cron.Spec.JobTemplate.Spec.Template.Spec
		backupMounts := writeMounts(t, objs, job, filepath.Join(dir, "backup"))
		toMember := strings.NewReplacer(fmt.Sprintf("portager-etcd-client.%s.svc:2379", localstack.Namespace), "127.0.0.1:"+strconv.Itoa(client[2]))
		var snapshotArgs []string
		snapshot := ""
		for _, a := range job.Containers[0].Command[1:] {
			a = backupMounts.Replace(toMember.Replace(a))
			if strings.HasPrefix(a, "--command-timeout=") {
				// The chart gives a large database ten minutes; this
				// one takes a second.
				a = "--command-timeout=1m"
			}
			if strings.HasSuffix(a, ".db") {
				snapshot = a
			}
			snapshotArgs = append(snapshotArgs, a)
		}
		if out, err := exec.Command(binary(t, "ETCDCTL", filepath.Join(s.root, "_output/bin/etcdctl")), snapshotArgs...).CombinedOutput(); err != nil {
			t.Fatalf("etcdctl %v: %v\n%s", snapshotArgs, err, out)
		}
		createPolicy(t, "after-the-backup")

		// Restore into a new data directory, as README.md does, and start a
		// member on it with the chart's TLS flags.
		var rc, rp, rh int
		for _, p := range []*int{&rc, &rp, &rh} {
			if *p, err = localstack.FreePort(); err != nil {
				t.Fatal(err)
			}
		}
		peerURL := "https://127.0.0.1:" + strconv.Itoa(rp)
		restored := filepath.Join(dir, "restored", "data")
		if out, err := exec.Command(binary(t, "ETCDUTL", filepath.Join(s.root, "_output/bin/etcdutl")), "snapshot", "restore", snapshot,
			"--name=restored", "--initial-cluster=restored="+peerURL, "--initial-advertise-peer-urls="+peerURL, "--data-dir="+restored).CombinedOutput(); err != nil {
			t.Fatalf("etcdutl snapshot restore: %v\n%s", err, out)
		}
		mounts := writeMounts(t, objs, etcdPod, filepath.Join(dir, "restored-mounts"))
		args := []string{"--name=restored", "--data-dir=" + restored,
			"--listen-client-urls=https://127.0.0.1:" + strconv.Itoa(rc), "--advertise-client-urls=https://127.0.0.1:" + strconv.Itoa(rc),
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL, "--initial-cluster=restored=" + peerURL,
			"--listen-metrics-urls=http://127.0.0.1:" + strconv.Itoa(rh)}
		for _, a := range etcdPod.Containers[0].Command[1:] {
			if strings.Contains(a, "cert") || strings.Contains(a, "-ca-file") || strings.HasPrefix(a, "--key-file") || strings.HasPrefix(a, "--peer-key-file") {
				args = append(args, mounts.Replace(a))
			}
		}
		if err := s.StartProcess("etcd-restored", etcdBin, nil, args...); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, time.Minute, "the restored member ready", func() error {
			return getOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/readyz", rh))
		})

		port, err := localstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		var restoredArgs []string
		for _, a := range apiArgs {
			switch {
			case strings.HasPrefix(a, "--secure-port="):
				a = "--secure-port=" + strconv.Itoa(port)
			case strings.HasPrefix(a, "--etcd-servers="):
				a = "--etcd-servers=https://127.0.0.1:" + strconv.Itoa(rc)
			}
			restoredArgs = append(restoredArgs, a)
		}
		if err := s.StartProcess("restored-apiserver", filepath.Join(s.root, "_output/bin/portager-apiserver"), envOf(api.Spec.Template.Spec.Containers[0]), restoredArgs...); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, 90*time.Second, "the API server on the restored etcd ready", func() error {
			return getOK(apiClient, fmt.Sprintf("https://127.0.0.1:%d/readyz", port))
		})
		for name, want := range map[string]int{"chart-flags": http.StatusOK, "after-the-backup": http.StatusNotFound} {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/apis/portager.portager.io/v1alpha1/registrypolicies/%s", port, name), nil)
			req.Header.Set("Authorization", "Bearer admin-token")
			resp, err := apiClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("RegistryPolicy %s from the restored etcd: %d, want %d", name, resp.StatusCode, want)
			}
		}
	})

	// The controller, with its Deployment's arguments.
	ctrlKubeconfig, err := s.KubeconfigFor("portager-controller")
	if err != nil {
		t.Fatal(err)
	}
	metricsPort, _ := s.startFromDeployment(t, objs, "portager-controller", filepath.Join(dir, "controller"),
		[]string{"--bind-address=127.0.0.1", "--kubeconfig=" + ctrlKubeconfig}, func(a string) string { return a })
	metricsClient := tlsClient(t, secretData(t, objs, "portager-controller-tls", "ca.crt"), "portager-controller-metrics."+localstack.Namespace+".svc")
	s.eventually(t, 60*time.Second, "the controller ready", func() error {
		return getOK(metricsClient, fmt.Sprintf("https://127.0.0.1:%d/readyz", metricsPort))
	})
}

// startFromDeployment starts the binary of the Deployment's container
// (_output/bin/<name>) with extra and then the container's arguments, its
// mounts written under dir, its literal environment, and --secure-port on
// a free port; mapArg maps each argument (addresses to loopback). It
// returns the port and the arguments.
func (s *stack) startFromDeployment(t *testing.T, objs []*unstructured.Unstructured, name, dir string, extra []string, mapArg func(string) string) (int, []string) {
	t.Helper()
	var d appsv1.Deployment
	mustFind(t, objs, "Deployment", name, &d)
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	mounts := writeMounts(t, objs, pod, dir)
	args := extra
	for _, a := range pod.Containers[0].Args {
		if strings.HasPrefix(a, "--secure-port=") {
			a = "--secure-port=" + strconv.Itoa(port)
		}
		args = append(args, mounts.Replace(mapArg(a)))
	}
	if err := s.StartProcess("chart-"+name, filepath.Join(s.root, "_output/bin", name), envOf(pod.Containers[0]), args...); err != nil {
		t.Fatal(err)
	}
	return port, args
}

func mustFind(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) {
	t.Helper()
	if ok, err := charttest.Find(objs, kind, name, into); err != nil || !ok {
		t.Fatalf("%s %s not rendered: %v", kind, name, err)
	}
}

func secretData(t *testing.T, objs []*unstructured.Unstructured, name, key string) []byte {
	t.Helper()
	var s corev1.Secret
	mustFind(t, objs, "Secret", name, &s)
	if len(s.Data[key]) == 0 {
		t.Fatalf("Secret %s has no %s", name, key)
	}
	return s.Data[key]
}

// writeMounts makes a directory under dir for each volume the pod's
// container mounts, with the files of the Secret it mounts if it is one,
// and returns the replacer from each mount path to its directory.
func writeMounts(t *testing.T, objs []*unstructured.Unstructured, pod corev1.PodSpec, dir string) *strings.Replacer {
	t.Helper()
	secrets := map[string]string{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = v.Secret.SecretName
		}
	}
	var pairs []string
	for _, m := range pod.Containers[0].VolumeMounts {
		d := filepath.Join(dir, m.Name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, m.MountPath, d)
		name, ok := secrets[m.Name]
		if !ok {
			continue // an emptyDir or a claim: an empty directory
		}
		var s corev1.Secret
		mustFind(t, objs, "Secret", name, &s)
		for k, v := range s.Data {
			if err := os.WriteFile(filepath.Join(d, k), v, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return strings.NewReplacer(pairs...)
}

// envOf is a container's literal environment (GOMEMLIMIT), as KEY=VALUE.
func envOf(c corev1.Container) []string {
	var env []string
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	return env
}

func tlsClient(t *testing.T, caPEM []byte, serverName string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName}}}
}

func getOK(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, body)
	}
	return nil
}
