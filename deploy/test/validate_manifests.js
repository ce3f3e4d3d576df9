#!/usr/bin/env node
// validate_manifests.js: checks rendered Kubernetes manifests (the output of
// `kubectl kustomize`) offline. Run by deploy/test/manifests_test.sh.
//
//   node validate_manifests.js --profile=PROFILE [--ghz_dir=DIR] FILE
//
// Every object of FILE (multi-document YAML, read as YAML 1.1 like kubectl)
// is checked against the Kubernetes OpenAPI schema of its apiVersion and
// kind with the npm package kubernetes-models (an unknown apiVersion/kind is
// an error), and for fields the schema does not know: kubernetes-models
// accepts those silently, and a misspelt field (`readOnlyRootFileSystem`)
// would be dropped by the API server without a word.
//
// PROFILE adds the invariants the deployment depends on:
//   schema    nothing more (the negative cases of testdata/)
//   dev       serving: every workload locked down and sized, the drain fits
//             the grace period, ranking spread by DNS + round_robin over a
//             headless Service, an HPA and a PDB per Deployment, the trainer
//             writes bundles that the servers only read; plus gRPC probes
//             and reflection left on
//   prod      serving, plus TLS (mTLS to ranking), reflection off, TCP
//             probes, at least 2 replicas and 1 available in a disruption
//   loadtest  the load-test Job reads a config that its ConfigMap holds
//             (with --ghz_dir: byte for byte the files of that directory)
//   training  the data-parallel trainer: an Indexed Job whose pod i is
//             rank i of --world_size (= completions = parallelism), meeting
//             at pod 0 through a headless Service
//   sharded   dev, plus sharded retrieval: a StatefulSet whose pod I serves
//             ANN slice I of --num_shards (= replicas, I from the pod-index
//             label), a headless Service naming each pod, and the candidate
//             Deployment (the front) listing every shard in --ann_shards
//
// Prints one line per check ("ok    ..." / "FAIL  ..."), then a count.
// Exit status: 0 all passed, 1 a check failed, 2 usage or set-up error.
"use strict";

const fs = require("fs");
const path = require("path");

function die(message) {
  console.error(`validate_manifests: ${message}`);
  process.exit(2);
}

// --- set-up: the npm packages, at the versions package.json pins ---------

function requirePinned(name) {
  const pinned = require("./package.json").dependencies[name];
  let installed;
  try {
    installed = require(`${name}/package.json`).version;
  } catch (e) {
    die(`the npm package ${name} is not installed in ${__dirname}/node_modules: ` +
        `run ./recsys test, or: (cd deploy/test && npm ci)`);
  }
  if (installed !== pinned) {
    die(`${name} ${installed} is installed but package.json pins ${pinned}: ` +
        `run (cd deploy/test && npm ci)`);
  }
  return require(name);
}

const YAML = requirePinned("yaml");
requirePinned("kubernetes-models");

// --- arguments --------------------------------------------------------------

const PROFILES = ["schema", "dev", "prod", "loadtest", "training", "sharded"];
let profile = null;
let ghzDir = null;
const files = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith("--profile=")) profile = arg.slice("--profile=".length);
  else if (arg.startsWith("--ghz_dir=")) ghzDir = arg.slice("--ghz_dir=".length);
  else if (arg.startsWith("--")) die(`unknown flag ${arg}`);
  else files.push(arg);
}
if (!PROFILES.includes(profile)) die(`--profile must be one of ${PROFILES.join(", ")}`);
if (files.length !== 1) die("expected one manifest file");

// --- reporting ----------------------------------------------------------------

let checks = 0;
let failures = 0;
function ok(name) {
  checks++;
  console.log(`ok    ${name}`);
}
function fail(name, detail) {
  checks++;
  failures++;
  console.log(`FAIL  ${name}: ${detail}`);
}
// check(name, problems): one check, failed when `problems` is non-empty.
function check(name, problems) {
  const list = (Array.isArray(problems) ? problems : [problems]).filter(Boolean);
  if (list.length === 0) ok(name);
  else fail(name, list.join("; "));
}

// --- parsing ------------------------------------------------------------------

const text = fs.readFileSync(files[0], "utf8");
const objects = [];
{
  // YAML 1.1, as kubectl reads manifests (0440 is octal there).
  const docs = YAML.parseAllDocuments(text, { version: "1.1", prettyErrors: true });
  let index = 0;
  for (const doc of docs) {
    index++;
    if (doc.errors.length > 0) {
      fail(`yaml document ${index}`, doc.errors.map((e) => e.message).join("; "));
      continue;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // empty document
    if (typeof value !== "object" || Array.isArray(value)) {
      fail(`yaml document ${index}`, "not a mapping (a Kubernetes object)");
      continue;
    }
    objects.push(value);
  }
}
if (objects.length === 0) {
  fail("objects", `no Kubernetes object in ${files[0]}`);
}

function id(obj) {
  const name = obj && obj.metadata && obj.metadata.name;
  return `${obj.kind || "?"}/${name || "?"}`;
}

// --- schema -------------------------------------------------------------------

// The kubernetes-models class of apiVersion + kind, or null.
function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const slash = apiVersion.indexOf("/");
  const modulePath = slash < 0
    ? `kubernetes-models/${apiVersion}`
    : `kubernetes-models/${apiVersion.slice(0, slash)}/${apiVersion.slice(slash + 1)}`;
  let mod;
  try {
    mod = require(modulePath);
  } catch (e) {
    return null;
  }
  const cls = mod[kind];
  if (typeof cls !== "function" || cls.apiVersion !== apiVersion || cls.kind !== kind) return null;
  return cls;
}

// Runs the class's validate() on `obj` seen through proxies that record
// which keys the validator reads. The compiled schema reads every property
// it knows (and every key of a map), so a key it never read is a field the
// schema does not have. Returns { error, unknown: [paths] }.
function validateStrict(cls, obj) {
  const records = [];
  function track(value, where) {
    if (value === null || typeof value !== "object") return value;
    const record = { where, keys: Array.isArray(value) ? [] : Object.keys(value), read: new Set() };
    records.push(record);
    const inner = Array.isArray(value)
      ? value.map((v, i) => track(v, `${where}[${i}]`))
      : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, where ? `${where}.${k}` : k)]));
    return new Proxy(inner, {
      get(target, key, receiver) {
        if (typeof key === "string") record.read.add(key);
        return Reflect.get(target, key, receiver);
      },
      has(target, key) {
        if (typeof key === "string") record.read.add(key);
        return Reflect.has(target, key);
      },
    });
  }
  const proxy = track(obj, "");
  let error = null;
  try {
    cls.prototype.validate.call(proxy);
  } catch (e) {
    error = e.message || String(e);
  }
  const unknown = [];
  for (const r of records) {
    for (const k of r.keys) if (!r.read.has(k)) unknown.push(r.where ? `${r.where}.${k}` : k);
  }
  return { error, unknown };
}

for (const obj of objects) {
  const cls = modelClass(obj.apiVersion, obj.kind);
  if (cls === null) {
    fail(`schema ${id(obj)}`, `no schema for apiVersion ${JSON.stringify(obj.apiVersion)} ` +
         `kind ${JSON.stringify(obj.kind)} (unknown or misspelt kind, or a version ` +
         `kubernetes-models does not have)`);
    continue;
  }
  const { error, unknown } = validateStrict(cls, obj);
  const problems = [];
  if (error) problems.push(error);
  if (unknown.length > 0) problems.push(`unknown field(s) ${unknown.join(", ")}`);
  check(`schema ${obj.apiVersion} ${id(obj)}`, problems);
}

const summary = {};
for (const obj of objects) summary[obj.kind] = (summary[obj.kind] || 0) + 1;
console.log(`# ${objects.length} objects: ` +
            Object.entries(summary).map(([k, n]) => `${k} ${n}`).join(", "));

// --- invariants ---------------------------------------------------------------

function byKind(kind) {
  return objects.filter((o) => o.kind === kind);
}
function find(kind, name) {
  return objects.find((o) => o.kind === kind && o.metadata && o.metadata.name === name);
}
function podSpecOf(obj) {
  switch (obj.kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return obj.spec && obj.spec.template && obj.spec.template.spec;
    case "CronJob":
      return obj.spec && obj.spec.jobTemplate && obj.spec.jobTemplate.spec &&
             obj.spec.jobTemplate.spec.template && obj.spec.jobTemplate.spec.template.spec;
    default:
      return undefined;
  }
}
function podLabelsOf(obj) {
  const template = obj.kind === "CronJob"
    ? obj.spec.jobTemplate.spec.template
    : obj.spec.template;
  return (template.metadata && template.metadata.labels) || {};
}
function podAnnotationsOf(obj) {
  return (obj.spec.template.metadata && obj.spec.template.metadata.annotations) || {};
}
function matches(selectorLabels, labels) {
  const entries = Object.entries(selectorLabels || {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}
function allContainers(podSpec) {
  return [...(podSpec.initContainers || []), ...(podSpec.containers || [])];
}
// --name=value arguments as a Map (a bare --name is "true"; the last wins).
function flagsOf(container) {
  const flags = new Map();
  for (const arg of container.args || []) {
    const m = /^--?([A-Za-z0-9_]+)(?:=(.*))?$/s.exec(arg);
    if (m) flags.set(m[1], m[2] === undefined ? "true" : m[2]);
  }
  return flags;
}
function binaryOf(container) {
  const command = container.command || [];
  return command.length > 0 ? path.basename(command[0]) : "";
}
function hostPort(address) {
  const m = /^(?:dns:\/\/\/)?\[?([^\]]*?)\]?:(\d+)$/.exec(address || "");
  return m ? { host: m[1], port: Number(m[2]) } : null;
}
function containerPort(container, name) {
  const port = (container.ports || []).find((p) => p.name === name);
  return port ? port.containerPort : undefined;
}

const workloads = objects.filter((o) => podSpecOf(o) !== undefined);

function checkLockedDown() {
  for (const w of workloads) {
    const pod = podSpecOf(w);
    const podSc = pod.securityContext || {};
    for (const c of allContainers(pod)) {
      const sc = c.securityContext || {};
      const where = `${id(w)} container ${c.name}`;
      const seccomp = (sc.seccompProfile || podSc.seccompProfile || {}).type;
      const runAsNonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : podSc.runAsNonRoot;
      const runAsUser = sc.runAsUser !== undefined ? sc.runAsUser : podSc.runAsUser;
      const runAsGroup = sc.runAsGroup !== undefined ? sc.runAsGroup : podSc.runAsGroup;
      const drop = (sc.capabilities && sc.capabilities.drop) || [];
      check(`${where}: locked down`, [
        seccomp !== "RuntimeDefault" && `seccompProfile.type is ${seccomp}, expected RuntimeDefault (pod or container)`,
        runAsNonRoot !== true && "runAsNonRoot is not true",
        runAsUser !== 65532 && `runAsUser is ${runAsUser}, expected 65532 (the image's user)`,
        runAsGroup !== 65532 && `runAsGroup is ${runAsGroup}, expected 65532`,
        sc.allowPrivilegeEscalation !== false && "allowPrivilegeEscalation is not false",
        sc.readOnlyRootFilesystem !== true && "readOnlyRootFilesystem is not true",
        !drop.includes("ALL") && "capabilities.drop lacks ALL",
        sc.capabilities && sc.capabilities.add && sc.capabilities.add.length > 0 &&
          `capabilities.add ${sc.capabilities.add.join(",")}`,
        sc.privileged === true && "privileged",
        (pod.hostNetwork || pod.hostPID || pod.hostIPC) && "host namespaces",
      ]);
      const res = c.resources || {};
      const requests = res.requests || {};
      const limits = res.limits || {};
      check(`${where}: resources`, [
        requests.cpu === undefined && "no requests.cpu",
        requests.memory === undefined && "no requests.memory",
        limits.memory === undefined && "no limits.memory",
      ]);
      check(`${where}: image`, [
        !c.image && "no image",
        profile === "prod" && c.image && (!/:[^/]+$/.test(c.image) || /:latest$/.test(c.image)) &&
          `image ${c.image} has no release tag`,
      ]);
    }
  }
}

// Every PVC a workload mounts is in the render.
function checkClaims() {
  for (const w of workloads) {
    for (const v of podSpecOf(w).volumes || []) {
      if (!v.persistentVolumeClaim) continue;
      const claim = v.persistentVolumeClaim.claimName;
      check(`${id(w)}: volume ${v.name} claims ${claim}`,
            !find("PersistentVolumeClaim", claim) && `no PersistentVolumeClaim ${claim} in the render`);
    }
  }
}

// Every Service selects a workload's pods and names ports they have.
function checkServices() {
  for (const s of byKind("Service")) {
    const targets = workloads.filter((w) => matches(s.spec.selector, podLabelsOf(w)));
    const problems = [];
    if (targets.length === 0) problems.push(`selector ${JSON.stringify(s.spec.selector)} matches no workload`);
    for (const p of s.spec.ports || []) {
      if (typeof p.targetPort !== "string") continue;
      for (const w of targets) {
        const named = allContainers(podSpecOf(w)).some((c) => containerPort(c, p.targetPort) !== undefined);
        if (!named) problems.push(`targetPort ${p.targetPort} is not a port of ${id(w)}`);
      }
    }
    check(`${id(s)}: selects pods`, problems);
  }
}

// The volume mount under which `file` lies, with its volume.
function mountOf(podSpec, container, file) {
  for (const m of container.volumeMounts || []) {
    const dir = m.mountPath.replace(/\/$/, "");
    if (file.startsWith(`${dir}/`)) {
      const volume = (podSpec.volumes || []).find((v) => v.name === m.name);
      return { mount: m, volume, relative: file.slice(dir.length + 1) };
    }
  }
  return null;
}

// The `kind` objects whose pods run `binary`, each with its pod spec, that
// container and its flags.
function running(kind, binary) {
  return byKind(kind)
    .filter((o) => allContainers(podSpecOf(o)).some((c) => binaryOf(c) === binary))
    .map((o) => {
      const pod = podSpecOf(o);
      const container = allContainers(pod).find((c) => binaryOf(c) === binary);
      return { obj: o, pod, container, flags: flagsOf(container) };
    });
}

// A trainer's volumes: it writes --bundles on the recsys-bundles claim,
// read-write, and reads --logs from the recsys-logs claim, read-only.
function trainerVolumeProblems(pod, c, flags) {
  const bundles = mountOf(pod, c, `${flags.get("bundles")}/x`);
  const logs = mountOf(pod, c, `${flags.get("logs")}/x`);
  return [
    !bundles && `no volume mounted at --bundles=${flags.get("bundles")}`,
    bundles && bundles.mount.readOnly === true && "the bundles mount is readOnly",
    bundles && !(bundles.volume.persistentVolumeClaim &&
                 bundles.volume.persistentVolumeClaim.claimName === "recsys-bundles" &&
                 !bundles.volume.persistentVolumeClaim.readOnly) &&
      "--bundles is not the recsys-bundles claim, read-write",
    !logs && `no volume mounted at --logs=${flags.get("logs")}`,
    logs && !(logs.volume.persistentVolumeClaim && logs.volume.persistentVolumeClaim.claimName === "recsys-logs") &&
      "--logs is not on the recsys-logs claim",
    logs && logs.mount.readOnly !== true && "the logs mount is not readOnly",
  ];
}

// The HorizontalPodAutoscalers that scale workload `w`.
function autoscalersOf(w) {
  return byKind("HorizontalPodAutoscaler").filter((h) =>
    h.spec.scaleTargetRef.kind === w.kind && h.spec.scaleTargetRef.name === w.metadata.name);
}

// The PodDisruptionBudgets that select the pods of workload `w`.
function budgetsOf(w) {
  return byKind("PodDisruptionBudget").filter((p) =>
    matches(p.spec.selector && p.spec.selector.matchLabels, podLabelsOf(w)));
}

// What every server pod needs, whichever workload runs it (the serving
// Deployments, the ANN shards' StatefulSet): `c` is the server's container
// of workload `w`.
function checkServerPod(w, c) {
  const flags = flagsOf(c);
  const pod = podSpecOf(w);
  const labels = podLabelsOf(w);
  const name = id(w);

  // The drain: --drain_s of serving after SIGTERM, then 5 s for calls in
  // flight, all before kubelet's SIGKILL.
  const drain = Number(flags.get("drain_s"));
  const grace = pod.terminationGracePeriodSeconds;
  check(`${name}: drain fits the grace period`, [
    !flags.has("drain_s") && "no --drain_s",
    flags.has("drain_s") && !(drain > 0) && `--drain_s=${flags.get("drain_s")} is not a positive number`,
    grace === undefined && "no terminationGracePeriodSeconds",
    grace !== undefined && drain > 0 && !(grace > drain + 5) &&
      `terminationGracePeriodSeconds ${grace} must be greater than --drain_s (${drain}) + 5 s`,
    (c.lifecycle && c.lifecycle.preStop) && "a preStop hook (the drain is in the server)",
  ]);

  const grpcPort = containerPort(c, "grpc");
  const address = hostPort(flags.get("address"));
  check(`${name}: listens on all interfaces of the pod`, [
    !address && `--address=${flags.get("address")} is not host:port`,
    address && address.host !== "0.0.0.0" && `--address host is ${address.host}, expected 0.0.0.0`,
    address && address.port !== grpcPort && `--address port ${address.port} is not the grpc containerPort ${grpcPort}`,
  ]);

  const metrics = hostPort(flags.get("metrics_address"));
  const annotations = podAnnotationsOf(w);
  check(`${name}: Prometheus scrapes the metrics port`, [
    !metrics && "no --metrics_address=host:port",
    metrics && metrics.host !== "0.0.0.0" && `--metrics_address host is ${metrics.host}`,
    metrics && metrics.port !== 9090 && `--metrics_address port is ${metrics.port}, expected 9090`,
    containerPort(c, "metrics") !== 9090 && "no containerPort 9090 named metrics",
    annotations["prometheus.io/scrape"] !== "true" && "no prometheus.io/scrape: \"true\"",
    annotations["prometheus.io/port"] !== "9090" && "prometheus.io/port is not \"9090\"",
  ]);

  const pdbs = budgetsOf(w);
  const pdb = pdbs[0];
  check(`${name}: has a disruption budget`, [
    pdbs.length !== 1 && `${pdbs.length} PodDisruptionBudgets select its pods`,
    pdb && pdb.apiVersion !== "policy/v1" && `the PDB is ${pdb.apiVersion}, expected policy/v1`,
    pdb && profile === "prod" && !(Number.isInteger(pdb.spec.minAvailable) && pdb.spec.minAvailable >= 1) &&
      `minAvailable is ${pdb.spec.minAvailable} in prod, expected at least 1`,
  ]);

  const spread = pod.topologySpreadConstraints || [];
  check(`${name}: spread over zones and nodes`,
    ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((key) => {
      const t = spread.find((s) => s.topologyKey === key);
      if (!t) return `no topologySpreadConstraint on ${key}`;
      if (t.whenUnsatisfiable !== "ScheduleAnyway") return `${key}: whenUnsatisfiable ${t.whenUnsatisfiable}`;
      if (!matches(t.labelSelector && t.labelSelector.matchLabels, labels)) return `${key}: selector does not match the pods`;
      return null;
    }));

  // Bundles: read-only for the servers.
  const bundles = mountOf(pod, c, `${flags.get("bundles")}/x`);
  check(`${name}: reads the bundles volume read-only`, [
    !bundles && `no volume mounted at --bundles=${flags.get("bundles")}`,
    bundles && !(bundles.volume && bundles.volume.persistentVolumeClaim &&
                 bundles.volume.persistentVolumeClaim.claimName === "recsys-bundles") &&
      "--bundles is not on the recsys-bundles claim",
    bundles && bundles.mount.readOnly !== true && "the mount is not readOnly",
  ]);

  // Probes: gRPC health where the server speaks plaintext; TCP with TLS
  // (kubelet's gRPC probes cannot do TLS).
  const tls = flags.has("tls_cert_file");
  const probes = ["startupProbe", "readinessProbe", "livenessProbe"].filter((p) => c[p]);
  const problems = [];
  if (!c.readinessProbe) problems.push("no readinessProbe");
  if (!c.livenessProbe) problems.push("no livenessProbe");
  for (const p of probes) {
    const probe = c[p];
    if (probe.exec) problems.push(`${p} is an exec probe`);
    if (tls && probe.grpc) problems.push(`${p} is a gRPC probe but the server speaks TLS (kubelet's gRPC probes are plaintext)`);
    const port = probe.grpc ? probe.grpc.port : probe.tcpSocket ? probe.tcpSocket.port : undefined;
    if (port !== undefined && port !== grpcPort && port !== "grpc") problems.push(`${p} checks port ${port}, not the gRPC port`);
  }
  if (!tls && !(c.readinessProbe && c.readinessProbe.grpc)) problems.push("plaintext server without a gRPC health readiness probe");
  check(`${name}: probes`, problems);
}

function checkServing() {
  const servers = {};
  for (const binary of ["candidate_server", "ranking_server"]) {
    servers[binary] = running("Deployment", binary);
    check(`one Deployment runs ${binary}`,
          servers[binary].length !== 1 && `found ${servers[binary].length}`);
  }
  const all = [...servers.candidate_server, ...servers.ranking_server];

  for (const { obj: d, container: c } of all) {
    checkServerPod(d, c);
    const name = id(d);
    check(`${name}: replicas left to the autoscaler`,
          d.spec.replicas !== undefined && `spec.replicas is ${d.spec.replicas}; remove it (every apply would reset the HPA's count)`);

    const hpas = autoscalersOf(d);
    const hpa = hpas[0];
    const cpuMetric = hpa && (hpa.spec.metrics || []).find((m) =>
      m.type === "Resource" && m.resource && m.resource.name === "cpu" &&
      m.resource.target && m.resource.target.type === "Utilization");
    check(`${name}: has an autoscaler`, [
      hpas.length !== 1 && `${hpas.length} HorizontalPodAutoscalers target it`,
      hpa && hpa.apiVersion !== "autoscaling/v2" && `the HPA is ${hpa.apiVersion}, expected autoscaling/v2`,
      hpa && !cpuMetric && "the HPA has no CPU utilisation target",
      hpa && (hpa.spec.minReplicas || 1) > hpa.spec.maxReplicas && "minReplicas > maxReplicas",
      hpa && profile === "prod" && !((hpa.spec.minReplicas || 1) >= 2) &&
        `minReplicas ${hpa.spec.minReplicas || 1} in prod, expected at least 2`,
    ]);
  }

  // The candidate server reaches every ranking pod: DNS over a headless
  // Service, round_robin over its addresses.
  for (const { obj: d, container: c } of servers.candidate_server) {
    const flags = flagsOf(c);
    const target = flags.get("ranking_address") || "";
    const hp = hostPort(target);
    const service = hp && find("Service", hp.host.split(".")[0]);
    const ranking = servers.ranking_server[0];
    check(`${id(d)}: calls ranking through a headless Service with round_robin`, [
      !target.startsWith("dns:///") && `--ranking_address=${target} does not use the dns:/// resolver`,
      !hp && `--ranking_address=${target} is not dns:///host:port`,
      hp && !service && `no Service ${hp.host.split(".")[0]} in the render`,
      service && service.spec.clusterIP !== "None" &&
        `Service ${service.metadata.name} has clusterIP ${service.spec.clusterIP}, expected None (headless)`,
      service && !(service.spec.ports || []).some((p) => p.port === hp.port) &&
        `Service ${service.metadata.name} has no port ${hp.port}`,
      service && ranking && !matches(service.spec.selector, podLabelsOf(ranking.obj)) &&
        `Service ${service.metadata.name} does not select the ranking pods`,
      service && ranking && hp.port !== containerPort(ranking.container, "grpc") &&
        `port ${hp.port} is not ranking's gRPC port`,
      flags.get("ranking_lb_policy") !== "round_robin" &&
        `--ranking_lb_policy is ${flags.get("ranking_lb_policy")}, expected round_robin`,
    ]);
  }

  // The trainer: the only writer of the bundles, one run at a time.
  const trainers = running("CronJob", "trainer");
  check("a CronJob runs the trainer", trainers.length !== 1 && `found ${trainers.length}`);
  for (const { obj: j, pod, container: c, flags } of trainers) {
    check(`${id(j)}: writes bundles, reads logs, one run at a time`, [
      j.spec.concurrencyPolicy !== "Forbid" && `concurrencyPolicy is ${j.spec.concurrencyPolicy}, expected Forbid`,
      ...trainerVolumeProblems(pod, c, flags),
      c.image && !/recsys-trainer/.test(c.image) && `image ${c.image} is not the trainer image`,
    ]);
  }

  if (profile === "dev" || profile === "sharded") {
    for (const { obj: d, container: c } of all) {
      check(`${id(d)}: server reflection on (dev)`,
            flagsOf(c).get("reflection") === "false" && "--reflection=false");
    }
  }

  if (profile === "prod") {
    const tlsFlags = {
      candidate_server: ["tls_cert_file", "tls_key_file", "ranking_tls_ca_file",
                         "ranking_tls_cert_file", "ranking_tls_key_file"],
      ranking_server: ["tls_cert_file", "tls_key_file", "tls_client_ca_file"],
    };
    for (const binary of Object.keys(tlsFlags)) {
      for (const { obj: d, container: c } of servers[binary]) {
        const flags = flagsOf(c);
        const pod = podSpecOf(d);
        check(`${id(d)}: server reflection off (prod)`,
              flags.get("reflection") !== "false" && `--reflection is ${flags.get("reflection")}, expected false`);
        const problems = [];
        for (const flag of tlsFlags[binary]) {
          const file = flags.get(flag);
          if (!file) {
            problems.push(`no --${flag}`);
            continue;
          }
          const m = mountOf(pod, c, file);
          if (!m) {
            problems.push(`--${flag}=${file} is on no volume`);
          } else if (!(m.volume && m.volume.secret && m.volume.secret.secretName === "recsys-tls")) {
            problems.push(`--${flag}=${file} is not in the Secret recsys-tls`);
          } else {
            if (m.mount.readOnly !== true) problems.push(`the mount of ${file} is not readOnly`);
            const items = m.volume.secret.items;
            if (items && !items.some((i) => i.path === m.relative)) {
              problems.push(`--${flag}=${file}: the Secret's items project no ${m.relative}`);
            }
          }
        }
        check(`${id(d)}: TLS (${binary === "ranking_server" ? "mutual, client certificates required" : "served, and mutual to ranking"})`, problems);
      }
    }
  }
}

function checkLoadtest() {
  const jobs = running("Job", "recsys_load");
  check("a Job runs recsys_load", jobs.length !== 1 && `found ${jobs.length}`);
  for (const { obj: j, pod, container: c, flags } of jobs) {
    const config = flags.get("config");
    const m = config && mountOf(pod, c, config);
    const configMap = m && m.volume && m.volume.configMap && find("ConfigMap", m.volume.configMap.name);
    let parsed = null;
    let parseError = null;
    if (configMap && configMap.data && typeof configMap.data[m.relative] === "string") {
      try {
        parsed = JSON.parse(configMap.data[m.relative]);
      } catch (e) {
        parseError = e.message;
      }
    }
    check(`${id(j)}: runs a ghz config from its ConfigMap`, [
      !config && "no --config",
      config && !m && `--config=${config} is on no volume`,
      m && !(m.volume && m.volume.configMap) && `--config=${config} is not on a ConfigMap volume`,
      m && m.volume && m.volume.configMap && !configMap && `no ConfigMap ${m.volume.configMap.name} in the render`,
      configMap && !(configMap.data && m.relative in configMap.data) && `ConfigMap has no key ${m && m.relative}`,
      parseError && `${m.relative} is not JSON: ${parseError}`,
      parsed && typeof parsed.call !== "string" && `${m.relative} names no call`,
      !flags.get("address") && "no --address",
      j.spec.backoffLimit !== 0 && "backoffLimit is not 0 (a failed load test is looked at, not retried)",
    ]);
  }
  if (ghzDir !== null) {
    const configMaps = byKind("ConfigMap").filter((cm) => cm.data && Object.keys(cm.data).some((k) => k.endsWith(".json")));
    const files = fs.readdirSync(ghzDir).filter((f) => f.endsWith(".json")).sort();
    for (const f of files) {
      const content = fs.readFileSync(path.join(ghzDir, f), "utf8");
      const holder = configMaps.find((cm) => f in cm.data);
      check(`ConfigMap holds ${f} as in ${ghzDir}`, [
        !holder && `no ConfigMap has the key ${f}`,
        holder && holder.data[f] !== content && "its content differs from the file",
      ]);
    }
  }
}

function checkParallelTraining() {
  const jobs = running("Job", "trainer");
  check("a Job runs the data-parallel trainer", jobs.length !== 1 && `found ${jobs.length}`);
  for (const { obj: j, pod, container: c, flags } of jobs) {
    const world = Number(flags.get("world_size"));
    const rankEnv = (c.env || []).find((e) => `$(${e.name})` === flags.get("rank"));
    const indexPath = "metadata.annotations['batch.kubernetes.io/job-completion-index']";
    const service = find("Service", pod.subdomain);
    const port = Number(flags.get("master_port"));
    check(`${id(j)}: pod i is rank i of --world_size, meeting at pod 0`, [
      j.spec.completionMode !== "Indexed" && `completionMode is ${j.spec.completionMode}, expected Indexed`,
      !(world >= 2) && `--world_size is ${flags.get("world_size")}, expected >= 2`,
      j.spec.completions !== world && `completions ${j.spec.completions} != --world_size ${world}`,
      j.spec.parallelism !== world && `parallelism ${j.spec.parallelism} != --world_size ${world}: the ranks must run at once`,
      !rankEnv && `--rank=${flags.get("rank")} is not $(VAR) of an env var`,
      rankEnv && !(rankEnv.valueFrom && rankEnv.valueFrom.fieldRef &&
                   rankEnv.valueFrom.fieldRef.fieldPath === indexPath) &&
        `--rank's env ${rankEnv.name} is not the pod's completion index`,
      !pod.subdomain && "no subdomain: the pods have no DNS names",
      flags.get("master_addr") !== `${j.metadata.name}-0.${pod.subdomain}` &&
        `--master_addr is ${flags.get("master_addr")}, expected ${j.metadata.name}-0.${pod.subdomain} (pod 0)`,
      !service && `no Service ${pod.subdomain} (the pods' subdomain)`,
      service && service.spec.clusterIP !== "None" && `Service ${pod.subdomain} is not headless`,
      service && !matches(service.spec.selector, podLabelsOf(j)) && `Service ${pod.subdomain} does not select the Job's pods`,
      !(c.ports || []).some((p) => p.containerPort === port) && `no container port ${port} (--master_port)`,
      // Rank 0 writes the bundle version.
      ...trainerVolumeProblems(pod, c, flags),
    ]);
  }
}

// Sharded retrieval: pod I of a StatefulSet of candidate_server serves
// slice I of the ANN index (--shard_index from the pod-index label,
// --num_shards = replicas), and the front (the candidate Deployment) lists
// every shard by its pod's DNS name under the headless Service, in order.
const kShardPodIndex = "metadata.labels['apps.kubernetes.io/pod-index']";
const kShardService = "recsys.AnnShardService";
function checkShardedRetrieval() {
  const shardSets = running("StatefulSet", "candidate_server");
  check("a StatefulSet runs the ANN shards", shardSets.length !== 1 && `found ${shardSets.length}`);
  const front = running("Deployment", "candidate_server")[0];
  for (const { obj: s, container: c, flags } of shardSets) {
    checkServerPod(s, c);
    const name = id(s);
    const replicas = s.spec.replicas === undefined ? 1 : s.spec.replicas;
    const k = Number(flags.get("num_shards"));
    const indexEnv = (c.env || []).find((e) => `$(${e.name})` === flags.get("shard_index"));
    const pdb = budgetsOf(s)[0];
    check(`${name}: pod I serves slice I of --num_shards`, [
      !(Number.isInteger(k) && k >= 1) && `--num_shards is ${flags.get("num_shards")}, expected an integer >= 1`,
      replicas !== k && `replicas ${replicas} != --num_shards ${k}: every pod must serve its own slice, and only those`,
      !indexEnv && `--shard_index=${flags.get("shard_index")} is not $(VAR) of an env var`,
      indexEnv && !(indexEnv.valueFrom && indexEnv.valueFrom.fieldRef &&
                    indexEnv.valueFrom.fieldRef.fieldPath === kShardPodIndex) &&
        `--shard_index's env ${indexEnv.name} is not the pod's index (fieldRef ${kShardPodIndex})`,
      s.spec.podManagementPolicy !== "Parallel" &&
        `podManagementPolicy is ${s.spec.podManagementPolicy}, expected Parallel (every shard loads at once)`,
      autoscalersOf(s).length > 0 && "a HorizontalPodAutoscaler scales it (its replicas are the shard count)",
      pdb && !(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === k - 1) &&
        `PodDisruptionBudget ${pdb.metadata.name} does not let exactly one shard go ` +
        `(maxUnavailable ${pdb.spec.maxUnavailable}, minAvailable ${pdb.spec.minAvailable})`,
    ]);

    // Each pod's DNS name (<pod>.<serviceName>) comes from the headless
    // Service that the StatefulSet names; only that Service selects shards.
    const port = containerPort(c, "grpc");
    const service = s.spec.serviceName && find("Service", s.spec.serviceName);
    const others = byKind("Service").filter((o) => o !== service && matches(o.spec.selector, podLabelsOf(s)));
    check(`${name}: every shard is reachable by name through a headless Service`, [
      !s.spec.serviceName && "no serviceName: the pods have no DNS names",
      s.spec.serviceName && !service && `no Service ${s.spec.serviceName} (the serviceName) in the render`,
      service && service.spec.clusterIP !== "None" && `Service ${service.metadata.name} is not headless`,
      service && !matches(service.spec.selector, podLabelsOf(s)) &&
        `Service ${service.metadata.name} does not select the shard pods`,
      service && !(service.spec.ports || []).some((p) => p.port === port && [port, "grpc"].includes(p.targetPort)) &&
        `Service ${service.metadata.name} does not expose the shards' gRPC port ${port}`,
      ...others.map((o) => `Service ${o.metadata.name} selects the shard pods too (a shard serves only ${kShardService})`),
    ]);

    const callsOut = [...flags.keys()].filter((f) => /^(ranking_|breaker_|ann_shards$|shard_deadline_ms$)/.test(f));
    const readiness = c.readinessProbe && c.readinessProbe.grpc;
    const loaded = flags.has("max_loaded_versions") ? Number(flags.get("max_loaded_versions")) : 1;
    check(`${name}: serves ${kShardService} from its slice, calls nothing`, [
      ...callsOut.map((f) => `--${f} on a shard (a shard calls neither ranking nor other shards)`),
      readiness && readiness.service !== kShardService &&
        `readinessProbe asks for ${readiness.service}, expected ${kShardService} (the only service a shard has)`,
      !(loaded >= 2) && `--max_loaded_versions is ${loaded}, expected at least 2: a front that has ` +
        "not switched to a new version yet asks for the previous one",
      front && c.image !== front.container.image && `image ${c.image} is not the front's image ${front.container.image}`,
    ]);

    if (!front) continue;
    const expected = Array.from({ length: Number.isInteger(k) && k > 0 ? k : 0 },
                                (_, i) => `${s.metadata.name}-${i}.${s.spec.serviceName}`);
    const listed = (front.flags.get("ann_shards") || "").split(",").filter(Boolean);
    const deadline = Number(front.flags.get("shard_deadline_ms"));
    check(`${id(front.obj)}: the front fans out to every shard, in order`, [
      !front.flags.has("ann_shards") && "no --ann_shards (the front would search its own index)",
      front.flags.has("ann_shards") && listed.length !== expected.length &&
        `--ann_shards lists ${listed.length} shards, expected ${expected.length} (--num_shards)`,
      ...expected.map((host, i) => {
        const hp = hostPort(listed[i]);
        if (listed[i] === undefined) return `--ann_shards position ${i} is missing, expected ${host}:${port}`;
        if (!hp || !(hp.host === host || hp.host.startsWith(`${host}.`)) || hp.port !== port) {
          return `--ann_shards position ${i} is ${listed[i]}, expected ${host}:${port}`;
        }
        return null;
      }),
      front.flags.has("shard_deadline_ms") && !(Number.isInteger(deadline) && deadline > 0) &&
        `--shard_deadline_ms=${front.flags.get("shard_deadline_ms")} is not a positive integer`,
      ...["shard_index", "num_shards"].filter((f) => front.flags.has(f)).map((f) =>
        `--${f} on the front (shard mode serves no CandidateService)`),
    ]);
  }
}

if (profile === "dev" || profile === "prod") {
  checkLockedDown();
  checkClaims();
  checkServices();
  checkServing();
} else if (profile === "loadtest") {
  checkLockedDown();
  checkLoadtest();
} else if (profile === "training") {
  checkLockedDown();
  checkServices();
  checkParallelTraining();
} else if (profile === "sharded") {
  checkLockedDown();
  checkClaims();
  checkServices();
  checkServing();
  checkShardedRetrieval();
}

console.log(`# ${checks} checks, ${failures} failed`);
process.exit(failures > 0 ? 1 : 0);
