// Command karmada-peer schedules workloads with Karmada's own scheduler core, for tmc's
// differential tests and peer benchmark (benchmarks/peers/karmada, docs/karmada-comparison.md).
//
// It imports Karmada's generic scheduler (pkg/scheduler/core) with the in-tree filter and score
// plugins and the general estimator (registered by pkg/estimator/client), reads one or more JSON
// documents, one after another (a file named on the command line, or stdin), each of the form:
//
//	{"clusters":  [Karmada Cluster objects],
//	 "policies":  [Karmada PropagationPolicy objects, referred to by metadata.name],
//	 "workloads": [{"resource": ObjectReference, "replicas": N, "replicaRequirements": {...},
//	                "policy": "<policy name>", "clusters": [previous TargetClusters]}]}
//
// schedules every workload of a document independently against that document's clusters (one
// ResourceBindingSpec each, as the scheduler does per binding) and writes one JSON line of
// decisions and timings per document on stdout. Several documents in one run spare the process
// start per case in the differential tests.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"time"

	k8scache "k8s.io/client-go/tools/cache"

	clusterv1alpha1 "github.com/karmada-io/karmada/pkg/apis/cluster/v1alpha1"
	policyv1alpha1 "github.com/karmada-io/karmada/pkg/apis/policy/v1alpha1"
	workv1alpha2 "github.com/karmada-io/karmada/pkg/apis/work/v1alpha2"
	clusterlister "github.com/karmada-io/karmada/pkg/generated/listers/cluster/v1alpha1"
	schedcache "github.com/karmada-io/karmada/pkg/scheduler/cache"
	"github.com/karmada-io/karmada/pkg/scheduler/core"
	"github.com/karmada-io/karmada/pkg/scheduler/framework/plugins"
)

const karmadaModule = "github.com/karmada-io/karmada"

type workload struct {
	Resource            workv1alpha2.ObjectReference      `json:"resource"`
	Replicas            int32                             `json:"replicas"`
	ReplicaRequirements *workv1alpha2.ReplicaRequirements `json:"replicaRequirements,omitempty"`
	Policy              string                            `json:"policy"`
	Clusters            []workv1alpha2.TargetCluster      `json:"clusters,omitempty"`
}

type input struct {
	Clusters  []clusterv1alpha1.Cluster          `json:"clusters"`
	Policies  []policyv1alpha1.PropagationPolicy `json:"policies"`
	Workloads []workload                         `json:"workloads"`
}

type decision struct {
	// Clusters maps cluster name to replicas (Duplicated: every selected cluster with all replicas).
	Clusters map[string]int32 `json:"clusters"`
	// Error is the scheduler's error when the workload is unschedulable, empty otherwise.
	Error string `json:"error,omitempty"`
	// AffinityName is the clusterAffinities term that scheduled the workload, if the policy has terms.
	AffinityName string `json:"affinityName,omitempty"`
	// Ns is the time this one decision took in the scheduler.
	Ns int64 `json:"ns"`
}

type output struct {
	Karmada   string     `json:"karmada"`
	Go        string     `json:"go"`
	Clusters  int        `json:"clusters"`
	Workloads int        `json:"workloads"`
	Decisions []decision `json:"decisions"`
	// TotalNs is the wall time of the scheduling loop over all workloads (no JSON I/O).
	TotalNs int64 `json:"totalNs"`
	// SnapshotNs is the median time of one cluster snapshot (list + deep copy), which Karmada takes
	// at the start of every Schedule call and which is therefore part of every decision's time.
	SnapshotNs int64 `json:"snapshotNs"`
}

func karmadaVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == karmadaModule {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func newScheduler(clusters []clusterv1alpha1.Cluster) (core.ScheduleAlgorithm, schedcache.Cache, error) {
	indexer := k8scache.NewIndexer(k8scache.MetaNamespaceKeyFunc, k8scache.Indexers{})
	for i := range clusters {
		if err := indexer.Add(&clusters[i]); err != nil {
			return nil, nil, fmt.Errorf("cluster %q: %w", clusters[i].Name, err)
		}
	}
	cache := schedcache.NewCache(clusterlister.NewClusterLister(indexer))
	algorithm, err := core.NewGenericScheduler(cache, plugins.NewInTreeRegistry())
	return algorithm, cache, err
}

// schedule runs one binding the way Karmada's scheduler does: a single attempt for clusterAffinity,
// or the clusterAffinities terms in order from the first (no observed term yet) until one succeeds,
// returning the first term's error when none does.
func schedule(algorithm core.ScheduleAlgorithm, spec *workv1alpha2.ResourceBindingSpec) (core.ScheduleResult, string, error) {
	opts := &core.ScheduleAlgorithmOption{}
	terms := spec.Placement.ClusterAffinities
	if len(terms) == 0 {
		result, err := algorithm.Schedule(context.TODO(), spec, &workv1alpha2.ResourceBindingStatus{}, opts)
		return result, "", err
	}
	var firstErr error
	for _, term := range terms {
		status := &workv1alpha2.ResourceBindingStatus{SchedulerObservedAffinityName: term.AffinityName}
		result, err := algorithm.Schedule(context.TODO(), spec, status, opts)
		if err == nil {
			return result, term.AffinityName, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return core.ScheduleResult{}, "", firstErr
}

func medianSnapshotNs(cache schedcache.Cache) int64 {
	samples := make([]int64, 9)
	for i := range samples {
		start := time.Now()
		cache.Snapshot()
		samples[i] = time.Since(start).Nanoseconds()
	}
	sort.Slice(samples, func(a, b int) bool { return samples[a] < samples[b] })
	return samples[len(samples)/2]
}

func run(in io.Reader, out io.Writer) error {
	decoder := json.NewDecoder(in)
	decoder.DisallowUnknownFields()
	encoder := json.NewEncoder(out)
	for n := 0; ; n++ {
		var doc input
		err := decoder.Decode(&doc)
		if err == io.EOF && n > 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading document %d: %w", n+1, err)
		}
		result, err := scheduleAll(&doc)
		if err != nil {
			return fmt.Errorf("document %d: %w", n+1, err)
		}
		if err := encoder.Encode(result); err != nil {
			return err
		}
	}
}

func scheduleAll(doc *input) (*output, error) {
	policies := make(map[string]*policyv1alpha1.Placement, len(doc.Policies))
	for i := range doc.Policies {
		policies[doc.Policies[i].Name] = &doc.Policies[i].Spec.Placement
	}
	specs := make([]workv1alpha2.ResourceBindingSpec, len(doc.Workloads))
	for i, w := range doc.Workloads {
		placement, ok := policies[w.Policy]
		if !ok {
			return nil, fmt.Errorf("workloads[%d] (%s/%s): policy %q is not among the policies", i, w.Resource.Namespace, w.Resource.Name, w.Policy)
		}
		specs[i] = workv1alpha2.ResourceBindingSpec{
			Resource:            w.Resource,
			Replicas:            w.Replicas,
			ReplicaRequirements: w.ReplicaRequirements,
			Placement:           placement,
			Clusters:            w.Clusters,
		}
	}
	algorithm, cache, err := newScheduler(doc.Clusters)
	if err != nil {
		return nil, err
	}

	result := output{
		Karmada:   karmadaVersion(),
		Go:        goVersion(),
		Clusters:  len(doc.Clusters),
		Workloads: len(specs),
		Decisions: make([]decision, len(specs)),
	}
	loopStart := time.Now()
	for i := range specs {
		start := time.Now()
		scheduled, term, err := schedule(algorithm, &specs[i])
		elapsed := time.Since(start).Nanoseconds()
		d := decision{Clusters: map[string]int32{}, AffinityName: term, Ns: elapsed}
		if err != nil {
			d.Error = err.Error()
		} else {
			for _, target := range scheduled.SuggestedClusters {
				d.Clusters[target.Name] += target.Replicas
			}
		}
		result.Decisions[i] = d
	}
	result.TotalNs = time.Since(loopStart).Nanoseconds()
	result.SnapshotNs = medianSnapshotNs(cache)
	return &result, nil
}

func goVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.GoVersion
	}
	return "unknown"
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: karmada-peer [INPUT.json]  (stdin when omitted)")
		os.Exit(2)
	}
	if len(os.Args) == 2 && os.Args[1] != "-" {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "karmada-peer:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	if err := run(in, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "karmada-peer:", err)
		os.Exit(2)
	}
}
