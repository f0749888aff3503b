#!/usr/bin/env node
// validate-manifests.js NAME=FILE...: checks Kubernetes objects rendered by `kubectl kustomize`.
//  - every built-in object validates against the Kubernetes schemas (npm kubernetes-models:
//    types, formats and required fields; unknown fields are not caught by those schemas);
//  - the CloudNativePG Cluster matches the operator's documented shape (our own schema below,
//    from the postgresql.cnpg.io/v1 API reference: field names, enums, types);
//  - the todod Deployment has its probes, resources and non-root, read-only settings, reads
//    the database URL from a secret, migrates before serving; PDB, HPA, Service and Ingress
//    point at it; no Secret values are committed; the todo-sim Job runs 1000 developers.
// Prints one line per problem and exits 1 if any.
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [null, apiVersion];
  const dir = group ? `${group}/${version}` : version;
  try {
    return require(`kubernetes-models/${dir}/${kind}`)[kind];
  } catch (e) {
    return null;
  }
}

// ---- CloudNativePG Cluster (postgresql.cnpg.io/v1), documented fields ----
const cnpg = {
  spec: ['affinity', 'backup', 'bootstrap', 'certificates', 'description', 'enablePDB',
    'enableSuperuserAccess', 'env', 'envFrom', 'ephemeralVolumeSource',
    'ephemeralVolumesSizeLimit', 'externalClusters', 'failoverDelay', 'imageCatalogRef',
    'imageName', 'imagePullPolicy', 'imagePullSecrets', 'inheritedMetadata', 'instances',
    'livenessProbeTimeout', 'logLevel', 'managed', 'maxSyncReplicas', 'minSyncReplicas',
    'monitoring', 'nodeMaintenanceWindow', 'plugins', 'postgresGID', 'postgresUID', 'postgresql',
    'primaryUpdateMethod', 'primaryUpdateStrategy', 'priorityClassName', 'probes',
    'projectedVolumeTemplate', 'replica', 'replicationSlots', 'resources', 'schedulerName',
    'seccompProfile', 'serviceAccountTemplate', 'smartShutdownTimeout', 'startDelay',
    'stopDelay', 'storage', 'superuserSecret', 'switchoverDelay', 'tablespaces',
    'topologySpreadConstraints', 'walStorage'],
  postgresql: ['parameters', 'synchronous', 'pg_hba', 'pg_ident', 'syncReplicaElectionConstraint',
    'shared_preload_libraries', 'ldap', 'promotionTimeout', 'enableAlterSystem', 'extensions'],
  synchronous: ['method', 'number', 'maxStandbyNamesFromCluster', 'standbyNamesPre',
    'standbyNamesPost', 'dataDurability', 'failoverQuorum'],
  storage: ['size', 'storageClass', 'pvcTemplate', 'resizeInUseVolumes'],
  affinity: ['enablePodAntiAffinity', 'topologyKey', 'nodeSelector', 'nodeAffinity', 'tolerations',
    'podAntiAffinityType', 'additionalPodAntiAffinity', 'additionalPodAffinity'],
  bootstrap: ['initdb', 'recovery', 'pg_basebackup'],
  initdb: ['database', 'owner', 'secret', 'options', 'dataChecksums', 'encoding', 'localeCollate',
    'localeCType', 'locale', 'localeProvider', 'icuLocale', 'icuRules', 'builtinLocale',
    'walSegmentSize', 'postInitSQL', 'postInitApplicationSQL', 'postInitTemplateSQL',
    'postInitSQLRefs', 'postInitApplicationSQLRefs', 'postInitTemplateSQLRefs', 'import'],
  monitoring: ['enablePodMonitor', 'customQueriesConfigMap', 'customQueriesSecret',
    'disableDefaultQueries', 'podMonitorMetricRelabelings', 'podMonitorRelabelings', 'tls'],
};
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const quantity = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/;

function onlyKeys(where, obj, allowed) {
  if (obj === undefined) return;
  if (!isObj(obj)) return fail(where, 'must be an object');
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(where, `unknown field "${k}" (CloudNativePG has: ${allowed.join(', ')})`);
  }
}

function checkCnpgCluster(where, o) {
  const s = o.spec;
  if (!isObj(s)) return fail(where, 'spec is missing');
  onlyKeys(`${where} spec`, s, cnpg.spec);
  if (!Number.isInteger(s.instances) || s.instances < 1) fail(where, 'spec.instances must be an integer >= 1');
  if (s.instances !== 3) fail(where, `spec.instances is ${s.instances}, want 3 (a primary and two standbys)`);
  for (const f of ['imageName', 'description', 'primaryUpdateMethod', 'primaryUpdateStrategy']) {
    if (s[f] !== undefined && typeof s[f] !== 'string') fail(where, `spec.${f} must be a string`);
  }
  if (s.primaryUpdateStrategy !== undefined && !['unsupervised', 'supervised'].includes(s.primaryUpdateStrategy)) {
    fail(where, 'spec.primaryUpdateStrategy must be unsupervised or supervised');
  }
  if (s.primaryUpdateMethod !== undefined && !['switchover', 'restart'].includes(s.primaryUpdateMethod)) {
    fail(where, 'spec.primaryUpdateMethod must be switchover or restart');
  }
  for (const f of ['storage', 'walStorage']) {
    if (s[f] === undefined) continue;
    onlyKeys(`${where} spec.${f}`, s[f], cnpg.storage);
    if (typeof s[f].size !== 'string' || !quantity.test(s[f].size)) fail(where, `spec.${f}.size must be a quantity string like 10Gi`);
    if (s[f].storageClass !== undefined && typeof s[f].storageClass !== 'string') fail(where, `spec.${f}.storageClass must be a string`);
  }
  if (s.storage === undefined) fail(where, 'spec.storage is missing (the instances need volumes)');
  onlyKeys(`${where} spec.affinity`, s.affinity, cnpg.affinity);
  if (s.affinity && s.affinity.enablePodAntiAffinity !== undefined && typeof s.affinity.enablePodAntiAffinity !== 'boolean') {
    fail(where, 'spec.affinity.enablePodAntiAffinity must be a boolean');
  }
  if (s.affinity && s.affinity.podAntiAffinityType !== undefined && !['preferred', 'required'].includes(s.affinity.podAntiAffinityType)) {
    fail(where, 'spec.affinity.podAntiAffinityType must be preferred or required');
  }
  onlyKeys(`${where} spec.bootstrap`, s.bootstrap, cnpg.bootstrap);
  if (s.bootstrap) {
    onlyKeys(`${where} spec.bootstrap.initdb`, s.bootstrap.initdb, cnpg.initdb);
    const i = s.bootstrap.initdb || {};
    if (i.database !== 'todo' || i.owner !== 'todo') fail(where, 'spec.bootstrap.initdb must make database todo owned by todo (secret todo-db-app)');
    if (i.secret !== undefined && !(isObj(i.secret) && typeof i.secret.name === 'string')) fail(where, 'spec.bootstrap.initdb.secret must be {name}');
  }
  onlyKeys(`${where} spec.monitoring`, s.monitoring, cnpg.monitoring);
  if (s.resources !== undefined) {
    const RR = modelFor('v1', 'ResourceRequirements');
    try { new RR(s.resources).validate(); } catch (e) { fail(where, `spec.resources: ${e.message}`); }
  }
  const pg = s.postgresql;
  if (!isObj(pg)) return fail(where, 'spec.postgresql is missing (synchronous replication)');
  onlyKeys(`${where} spec.postgresql`, pg, cnpg.postgresql);
  if (pg.parameters !== undefined) {
    if (!isObj(pg.parameters)) fail(where, 'spec.postgresql.parameters must be a map');
    else for (const [k, v] of Object.entries(pg.parameters)) {
      if (typeof v !== 'string') fail(where, `spec.postgresql.parameters.${k} must be a string (quote it), got ${typeof v}`);
    }
  }
  const sync = pg.synchronous;
  if (!isObj(sync)) return fail(where, 'spec.postgresql.synchronous is missing: the standbys would be asynchronous');
  onlyKeys(`${where} spec.postgresql.synchronous`, sync, cnpg.synchronous);
  if (!['any', 'first'].includes(sync.method)) fail(where, 'spec.postgresql.synchronous.method must be any or first');
  if (!Number.isInteger(sync.number) || sync.number < 1) fail(where, 'spec.postgresql.synchronous.number must be an integer >= 1');
  else if (Number.isInteger(s.instances) && sync.number >= s.instances) fail(where, 'spec.postgresql.synchronous.number must be below spec.instances');
  if (sync.dataDurability !== undefined && !['required', 'preferred'].includes(sync.dataDurability)) {
    fail(where, 'spec.postgresql.synchronous.dataDurability must be required or preferred');
  }
  if (s.minSyncReplicas !== undefined || s.maxSyncReplicas !== undefined) {
    fail(where, 'minSyncReplicas/maxSyncReplicas and spec.postgresql.synchronous are mutually exclusive');
  }
}

// ---- todod, todo-sim and friends ----
const hasAll = (caps) => Array.isArray(caps && caps.drop) && caps.drop.includes('ALL');
const envFromSecret = (c, name) => (c.env || []).find((e) => e.name === name && e.valueFrom && e.valueFrom.secretKeyRef);

function checkContainerHardening(where, c, podSc) {
  const sc = c.securityContext || {};
  if (!(sc.runAsNonRoot === true || (podSc && podSc.runAsNonRoot === true))) fail(where, 'runAsNonRoot is not true');
  if (sc.readOnlyRootFilesystem !== true) fail(where, 'readOnlyRootFilesystem is not true');
  if (sc.allowPrivilegeEscalation !== false) fail(where, 'allowPrivilegeEscalation is not false');
  if (!hasAll(sc.capabilities)) fail(where, 'capabilities do not drop ALL');
  const r = c.resources || {};
  for (const kind of ['requests', 'limits']) {
    for (const res of ['cpu', 'memory']) {
      if (!r[kind] || r[kind][res] === undefined) fail(where, `resources.${kind}.${res} is missing`);
    }
  }
  for (const e of c.env || []) {
    if (typeof e.value === 'string' && /postgres(ql)?:\/\/[^/\s]*:[^@\s]*@/.test(e.value)) fail(where, `env ${e.name} has a password in it`);
  }
}

function checkTodod(where, d, objs) {
  const spec = d.spec || {};
  const pod = (spec.template || {}).spec || {};
  if (!Number.isInteger(spec.replicas) || spec.replicas < 1) fail(where, 'spec.replicas must be set');
  if (!pod.securityContext || pod.securityContext.runAsNonRoot !== true) fail(where, 'pod securityContext.runAsNonRoot is not true');
  const c = (pod.containers || []).find((x) => x.name === 'todod');
  if (!c) return fail(where, 'no container named todod');
  const probePath = (p) => p && p.httpGet && p.httpGet.path;
  if (probePath(c.readinessProbe) !== '/readyz') fail(where, 'readinessProbe is not GET /readyz');
  if (probePath(c.livenessProbe) !== '/healthz') fail(where, 'livenessProbe is not GET /healthz');
  if (!envFromSecret(c, 'TODO_DB')) fail(where, 'TODO_DB does not come from a secretKeyRef');
  checkContainerHardening(`${where} container todod`, c, pod.securityContext);
  const migrateInit = (pod.initContainers || []).find((x) => (x.args || x.command || []).includes('migrate'));
  const migrateJob = objs.find((o) => o.kind === 'Job' && JSON.stringify(o.spec).includes('"migrate"'));
  if (!migrateInit && !migrateJob) fail(where, 'no init container or Job runs `todod migrate`');
  if (migrateInit) {
    if (!envFromSecret(migrateInit, 'TODO_DB')) fail(where, 'the migrate init container does not read TODO_DB from a secretKeyRef');
    checkContainerHardening(`${where} init container ${migrateInit.name}`, migrateInit, pod.securityContext);
  }
  const podLabels = ((spec.template || {}).metadata || {}).labels || {};
  const selects = (sel) => sel && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  const name = d.metadata.name;
  const find = (kind) => objs.filter((o) => o.kind === kind);
  const svc = find('Service').find((s) => selects(s.spec && s.spec.selector));
  if (!svc) fail(where, 'no Service selects the todod pods');
  const pdb = find('PodDisruptionBudget').find((p) => selects(p.spec && p.spec.selector && p.spec.selector.matchLabels));
  if (!pdb) fail(where, 'no PodDisruptionBudget selects the todod pods');
  const hpa = find('HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
  if (!hpa) fail(where, 'no HorizontalPodAutoscaler scales it');
  else if (hpa.spec.minReplicas > hpa.spec.maxReplicas) fail(where, 'HPA minReplicas > maxReplicas');
  const ing = find('Ingress')[0];
  if (!ing) fail(where, 'no Ingress');
  else if (svc) {
    const backends = JSON.stringify(ing.spec);
    if (!backends.includes(`"name":"${svc.metadata.name}"`)) fail(where, `the Ingress does not route to Service ${svc.metadata.name}`);
  }
  if (!find('Cluster').length) fail(where, 'no CloudNativePG Cluster for the database');
}

function checkSim(where, j) {
  const pod = j.spec.template.spec;
  const c = pod.containers[0];
  const args = (c.args || []).join(' ');
  if (!/--developers[= ]1000\b/.test(args)) fail(where, 'todo-sim does not run 1000 developers');
  if (!envFromSecret(c, 'TODO_ADMIN_TOKEN')) fail(where, 'TODO_ADMIN_TOKEN does not come from a secretKeyRef');
  checkContainerHardening(`${where} container ${c.name}`, c, pod.securityContext);
}

// ---- main ----
const args = process.argv.slice(2);
if (!args.length) {
  console.error('usage: validate-manifests.js NAME=RENDERED.yaml ...');
  process.exit(2);
}
let count = 0;
for (const arg of args) {
  const eq = arg.indexOf('=');
  const name = eq > 0 ? arg.slice(0, eq) : path.basename(arg);
  const file = eq > 0 ? arg.slice(eq + 1) : arg;
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const objs = [];
  for (const doc of docs) {
    if (doc.errors.length) { fail(name, `YAML: ${doc.errors[0].message}`); continue; }
    const o = doc.toJS();
    if (o) objs.push(o);
  }
  if (!objs.length) fail(name, 'nothing rendered');
  for (const o of objs) {
    count++;
    const where = `${name}: ${o.kind}/${o.metadata && o.metadata.name}`;
    if (!o.apiVersion || !o.kind || !o.metadata || !o.metadata.name) { fail(where, 'apiVersion, kind or metadata.name missing'); continue; }
    if (o.apiVersion === 'postgresql.cnpg.io/v1' && o.kind === 'Cluster') { checkCnpgCluster(where, o); continue; }
    const Model = modelFor(o.apiVersion, o.kind);
    if (!Model) { fail(where, `no Kubernetes schema for ${o.apiVersion} ${o.kind}`); continue; }
    try {
      new Model(o).validate();
    } catch (e) {
      fail(where, `schema: ${e.message}`);
    }
    if (o.kind === 'Secret' && (o.data || o.stringData)) fail(where, 'a Secret with values is committed');
    if (o.kind === 'Deployment' && o.metadata.name === 'todod') checkTodod(where, o, objs);
    if (o.kind === 'Job' && o.metadata.name === 'todo-sim') checkSim(where, o);
  }
  if (name !== 'sim' && !objs.some((o) => o.kind === 'Deployment' && o.metadata.name === 'todod')) fail(name, 'no todod Deployment rendered');
}
for (const p of problems) console.log(`FAIL ${p}`);
console.log(`validate-manifests: ${count} objects in ${args.length} renderings, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);
