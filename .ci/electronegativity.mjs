#!/usr/bin/env node
// Runs Electronegativity (Doyensec's Electron security linter) over main/ and renderer/ and fails on
// any HIGH-severity finding; the CLI prints findings but always exits 0, so this is the gate.
// The folders are scanned as one app (copied, without tests, into a temp folder): its global checks
// (navigation limits, permission handler, CSP) look across the whole app, not one folder at a time.
// Findings reviewed for this app are listed in REVIEWED with the reason (global checks cannot be
// silenced inline; per-line findings use an `// eng-disable CHECK_ID` comment at the line instead).
// The security-fixes check (are there Electron releases with security fixes this version lacks?) needs
// Electron's release list from GitHub: where it can be reached the check runs and a finding fails the
// gate; where it cannot, the check is skipped with that reason (ELECTRONEGATIVITY_REQUIRE_RELEASES=1
// makes that a failure instead, for release builds).
// usage: node .ci/electronegativity.mjs [--min-severity HIGH|MEDIUM|LOW] [dirs...]
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const run = require('@doyensec/electronegativity');
const { severity } = require('@doyensec/electronegativity/dist/finder/attributes.js');

const args = process.argv.slice(2);
const gateIndex = args.indexOf('--min-severity');
const gateName = gateIndex >= 0 ? args.splice(gateIndex, 2)[1].toUpperCase() : 'HIGH';
const gate = severity[gateName];
if (!gate) {
  console.error(`unknown severity ${gateName}; use HIGH, MEDIUM or LOW`);
  process.exit(2);
}
const REVIEWED = {
  CSP_GLOBAL_CHECK:
    'the CSP is a response header on every app:// response (main/electron/security.ts, asserted in protocols.test.ts), which the tool cannot see',
};
const dirs = args.length > 0 ? args : ['main', 'renderer'];
const electronVersion = JSON.parse(readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8')).version;

const RELEASES_URL = 'https://raw.githubusercontent.com/electron/releases/master/index.json';

/** null when Electron's release list answers; otherwise why not. */
async function releasesUnreachable() {
  try {
    const response = await fetch(RELEASES_URL, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return response.ok ? null : `it answered ${response.status}`;
  } catch (error) {
    return error.cause?.code ?? error.cause?.message ?? error.message;
  }
}
const unreachable = await releasesUnreachable();

const scanned = mkdtempSync(path.join(tmpdir(), 'loupe-electronegativity-'));
for (const dir of dirs) {
  cpSync(path.resolve(root, dir), path.join(scanned, path.basename(dir)), {
    recursive: true,
    filter: (source) => !/\.test\.[cm]?[jt]s$/.test(source) && !source.includes(`${path.sep}node_modules`),
  });
}
if (unreachable === null) {
  // The check reads the version from a package.json; the installed Electron is the one packaged, so it
  // is named as a runtime dependency (as a devDependency a finding would only be informational).
  writeFileSync(path.join(scanned, 'package.json'), JSON.stringify({ name: 'loupe-scan', private: true, dependencies: { electron: electronVersion } }));
}

// The tool logs progress and network warnings (it tries to fetch translations and release lists); keep the report readable.
const quiet = console.log;
console.log = () => {};
let result;
try {
  result = await run({ input: scanned, electronVersionOverride: electronVersion, isRelative: true });
} finally {
  console.log = quiet;
  rmSync(scanned, { recursive: true, force: true });
}
for (const error of result.errors) console.error(`could not scan ${error.file}: ${error.message ?? error.error ?? ''}`);
let failing = 0;
for (const issue of result.issues) {
  if (REVIEWED[issue.id]) {
    console.log(`reviewed ${issue.id}: ${REVIEWED[issue.id]}`);
    continue;
  }
  const blocking = issue.severity.value >= gate.value;
  if (blocking) failing += 1;
  const where = issue.file === 'N/A' ? `(${dirs.join(', ')})` : `${issue.file}:${issue.location.line}:${issue.location.column + 1}`;
  const line = `${blocking ? 'FAIL' : 'note'} ${issue.severity.name.padEnd(13)} ${issue.confidence.name.padEnd(9)} ${issue.id} ${where} ${issue.description}`;
  (blocking ? console.error : console.log)(line);
}
console.log(`${dirs.join(' + ')}: ${result.issues.length} finding(s) from ${result.globalChecks + result.atomicChecks} checks, Electron ${electronVersion}`);
if (unreachable === null) {
  console.log(`security fixes: Electron ${electronVersion} checked against Electron's release list`);
} else {
  const skipped = `security fixes: skipped: Electron's release list (${RELEASES_URL}) cannot be reached from here (${unreachable}), so whether Electron ${electronVersion} lacks released security fixes is not checked`;
  if (process.env.ELECTRONEGATIVITY_REQUIRE_RELEASES === '1') {
    console.error(`FAIL ${skipped}`);
    failing += 1;
  } else {
    console.log(skipped);
  }
}
if (failing > 0) {
  console.error(`electronegativity: ${failing} finding(s) at ${gateName} severity or above`);
  process.exit(1);
}
console.log(`electronegativity: no findings at ${gateName} severity or above`);
