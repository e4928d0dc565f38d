#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional packages that the npm registry mirror of
// this workplace does not carry (e.g. @ladybugdb/core-darwin-arm64). Without them `npm ci` refuses
// the lock ("Missing: … from lock file"). Each entry carries its os/cpu, so npm skips it on every
// other platform and never downloads it; on its own platform npm resolves it from the registry.
// Run after `npm install`: node infra/scripts/complete-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [['darwin', 'darwin'], ['linux', 'linux'], ['win32', 'win32'], ['freebsd', 'freebsd'], ['android', 'android']];
const CPU = [['arm64', 'arm64'], ['x64', 'x64'], ['ia32', 'ia32'], ['arm-', 'arm'], ['ppc64', 'ppc64'], ['s390x', 's390x']];

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const added = [];
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const tail = name.split('/').pop();
    const os = OS.find(([k]) => tail.includes(`-${k}`))?.[1];
    const cpu = CPU.find(([k]) => tail.includes(`-${k}`) || tail.endsWith(`-${k.replace('-', '')}`))?.[1];
    if (!os || !cpu) continue;
    lock.packages[key] = { version, cpu: [cpu], license: pkg.license, optional: true, os: [os] };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length} platform entries: ${added.join(', ')}` : 'the lock is complete');
