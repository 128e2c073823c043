// The npm package as a user gets it: `npm pack` of this repository (its
// current build: `--ignore-scripts`, so the test does not rebuild dist/
// under the other tests' feet), `npm install --offline <tarball>` into a
// scratch project outside the repository (the package has no runtime
// dependencies, so nothing but the tarball is needed: --offline makes the
// test fail rather than reach the registry), and there:
//  - a CommonJS and an ES module script attach to a spawned pafd over tcp
//    and over ux, publish, see their own service through a subscription
//    (a listener in one, `for await` in the other) and detach;
//  - tsc type-checks a .ts (CommonJS) and an .mts (ESM) file importing it,
//    with a @ts-expect-error that fails if the types were `any`;
//  - `npx pafc -c ping <addr>` works (npx --offline: the local bin or nothing);
//  - without the addon a ux attach rejects at once, saying where it looked,
//    and a user's esbuild bundle finds the addon copied next to it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { WireClient } from '../../src/client';
import type { Pafd } from '../helpers/pafd';
import { startPafd, tempDir } from '../helpers/pafd';

const REPO = process.cwd();
/** A step that does not finish in this time is killed and fails the test (instead of the runner's 300 s). */
const STEP_TIMEOUT_MS = 60_000;

interface Ran { code: number | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    const timer = setTimeout(() => { stderr += `\n(killed after ${STEP_TIMEOUT_MS} ms)`; proc.kill('SIGKILL'); }, STEP_TIMEOUT_MS);
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function ok(r: Ran, what: string): Ran {
  assert.is(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

// Publishes, waits for its own service through a subscription listener, detaches; one line per address.
const CJS_CLIENT = `'use strict';
const { attach, filterEscape, matchEventToJSON } = require('pathfinder-ts');

async function main() {
  for (const address of process.argv.slice(2)) {
    const ctx = await attach({ servers: [address] });
    const service = ctx.publish({ name: 'pkg-test', flavour: 'cjs', address });
    const seen = new Promise((resolve) => {
      ctx.subscribe(\`(&(name=pkg-test)(address=\${filterEscape(address)}))\`, (event) => {
        if (event.serviceId === service.id) resolve(event);
      });
    });
    const event = await seen;
    console.log(JSON.stringify({ address, published: '0x' + service.id.toString(16), seen: matchEventToJSON(event) }));
    await ctx.detach();
  }
}
main().catch((err) => { console.error(err); process.exit(1); });
`;

// The same with an ES module and async iteration.
const ESM_CLIENT = `import { attach, filterEscape, matchEventToJSON } from 'pathfinder-ts';

for (const address of process.argv.slice(2)) {
  const ctx = await attach({ servers: [address] });
  const service = ctx.publish({ name: 'pkg-test', flavour: 'esm', address });
  for await (const event of ctx.subscribe(\`(&(name=pkg-test)(address=\${filterEscape(address)}))\`)) {
    if (event.serviceId !== service.id) continue;
    console.log(JSON.stringify({ address, published: '0x' + service.id.toString(16), seen: matchEventToJSON(event) }));
    break;
  }
  await ctx.detach();
}
`;

// How a ux attach ends: one JSON line, {attached: true} or the error.
const ATTACH_UX = `const { attach } = require('pathfinder-ts');
const started = Date.now();
const opts = process.argv[3] ? { nativeAddon: process.argv[3] } : {};
attach({ servers: [process.argv[2]] }, opts).then(
  (ctx) => { console.log(JSON.stringify({ attached: true })); ctx.close(); },
  (err) => console.log(JSON.stringify({ name: err.name, code: err.code, codeName: err.codeName, message: err.message, ms: Date.now() - started })),
);
`;

const TS_CHECK = `import { attach, PafError, PafErrorCode, matchEventToJSON, propsToJSON } from 'pathfinder-ts';
import type { Context, MatchEvent, JsonMatchEvent } from 'pathfinder-ts';

export async function check(): Promise<void> {
  const ctx: Context = await attach({ servers: ['tcp:127.0.0.1:4711'] }, { signal: AbortSignal.timeout(1000), nativeAddon: '/x.node' });
  const service = ctx.publish({ name: 'x', port: [1, 2n] }, { ttl: 5 });
  service.modify({ name: 'x' });
  await ctx.whenSynced({ signal: AbortSignal.timeout(1000) });
  for await (const event of ctx.subscribe('(name=x)')) {
    const e: MatchEvent = event;
    const plain: JsonMatchEvent = matchEventToJSON(e);
    const id: string = plain.serviceId;
    const props: Record<string, (string | number)[]> = propsToJSON(e.props);
    void id; void props;
    // @ts-expect-error serviceId is a bigint, not a number
    const wrong: number = e.serviceId;
    void wrong;
    break;
  }
  try {
    ctx.publish({ big: 'x'.repeat(40000) });
  } catch (err) {
    if (err instanceof PafError && err.code === PafErrorCode.PROPS_TOO_LARGE) console.log(err.codeName);
  }
  await ctx.detach();
}
`;

const TSCONFIG = (typeRoot: string) => JSON.stringify({
  compilerOptions: {
    module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
    types: ['node'], typeRoots: [typeRoot],
  },
  files: ['check.ts', 'check.mts'],
}, null, 2);

interface Lines { address: string; published: string; seen: { type: string; serviceId: string; props: Record<string, unknown> } }

function assertSawOwn(stdout: string, addresses: string[], flavour: string): void {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Lines);
  assert.equal(lines.map((l) => l.address), addresses);
  for (const l of lines) {
    assert.is(l.seen.serviceId, l.published, `${flavour} ${l.address}: its own service`);
    assert.is(l.seen.type, 'appeared');
    assert.equal(l.seen.props, { name: ['pkg-test'], flavour: [flavour], address: [l.address] });
  }
}

function installedVersion(ctx: Ctx): string {
  return JSON.parse(readFileSync(join(ctx.scratch, 'node_modules', 'pathfinder-ts', 'package.json'), 'utf8')).version;
}

interface Ctx { pafd: Pafd; tcp: string; ux: string; scratch: string; tarball: string; work: string }

const t = suite<Ctx>('npm package');

t.before(async (ctx) => {
  ctx.work = tempDir('paf-pkg-');
  const ux = `ux:paf-pkg-test-${process.pid}-${Date.now()}`;
  ctx.pafd = await startPafd(['tcp:127.0.0.1:0', ux]);
  ctx.tcp = ctx.pafd.addresses.find((a) => a.startsWith('tcp:'))!;
  ctx.ux = ctx.pafd.addresses.find((a) => a.startsWith('ux:'))!;
  assert.is(ctx.ux, ux);
});

t.after(async (ctx) => {
  await ctx.pafd?.stop();
  // The scratch project holds an installed copy of the package: do not leave it behind.
  rmSync(ctx.work, { recursive: true, force: true });
});

t('npm pack ships the programs, the library, its types and the addon with its source, and nothing else', async (ctx) => {
  assert.ok(existsSync(join(REPO, 'dist', 'lib', 'index.cjs')) && existsSync(join(REPO, 'dist', 'types', 'client', 'index.d.ts')),
    'build first (node build/build.mjs)');
  const r = ok(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', ctx.work], REPO), 'npm pack');
  const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
  ctx.tarball = join(ctx.work, info!.filename);
  const files = info!.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/pafd.js', 'dist/pafc.js', 'dist/pafbench.js',
    'dist/lib/index.mjs', 'dist/lib/index.cjs', 'dist/types/client/index.d.ts',
    `dist/native/${process.arch}/paf_native.node`, 'src/native/paf_native.c', 'build/addon.mjs', 'docs/client.md']) {
    assert.ok(files.includes(f), `${f} missing from the tarball`);
  }
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/(pafd|pafc|pafbench)\.js(\.map)?|dist\/lib\/index\.(mjs|cjs)(\.map)?|dist\/types\/.*\.d\.ts|dist\/native\/[a-z0-9]+\/paf_native\.node|src\/native\/paf_native\.c|build\/addon\.mjs|docs\/[A-Za-z-]+\.md)$/.test(f));
  assert.equal(stray, [], 'unexpected files in the tarball');
});

t('npm install --offline of the tarball into a scratch project', async (ctx) => {
  ctx.scratch = join(ctx.work, 'app');
  mkdirSync(ctx.scratch);
  writeFileSync(join(ctx.scratch, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
  ok(await run('npm', ['install', '--offline', '--no-audit', '--no-fund', ctx.tarball], ctx.scratch), 'npm install');
  const installed = JSON.parse(readFileSync(join(ctx.scratch, 'node_modules', 'pathfinder-ts', 'package.json'), 'utf8'));
  assert.is(installed.name, 'pathfinder-ts');
});

t('a CommonJS script attaches over tcp and ux, publishes, sees its own service and detaches', async (ctx) => {
  writeFileSync(join(ctx.scratch, 'client.cjs'), CJS_CLIENT);
  const r = ok(await run(process.execPath, ['client.cjs', ctx.tcp, ctx.ux], ctx.scratch), 'client.cjs');
  assertSawOwn(r.stdout, [ctx.tcp, ctx.ux], 'cjs');
});

t('an ES module does the same, iterating over the subscription', async (ctx) => {
  writeFileSync(join(ctx.scratch, 'client.mjs'), ESM_CLIENT);
  const r = ok(await run(process.execPath, ['client.mjs', ctx.tcp, ctx.ux], ctx.scratch), 'client.mjs');
  assertSawOwn(r.stdout, [ctx.tcp, ctx.ux], 'esm');
  // Both detached: nothing of theirs is left on the server.
  const observer = await WireClient.connect(ctx.tcp);
  try {
    assert.equal(await observer.services('(name=pkg-test)'), []);
  } finally {
    observer.close();
  }
});

t('tsc type-checks a CommonJS .ts and an ESM .mts file importing the package', async (ctx) => {
  writeFileSync(join(ctx.scratch, 'check.ts'), TS_CHECK);
  writeFileSync(join(ctx.scratch, 'check.mts'), TS_CHECK);
  writeFileSync(join(ctx.scratch, 'tsconfig.json'), TSCONFIG(join(REPO, 'node_modules', '@types')));
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], ctx.scratch);
  assert.is(r.code, 0, `tsc:\n${r.stdout}${r.stderr}`);
});

t('npx pafc -c ping works from the scratch project, over tcp and ux; pafd and pafbench run', async (ctx) => {
  for (const address of [ctx.tcp, ctx.ux]) {
    const r = ok(await run('npx', ['--offline', 'pafc', '-c', 'ping', address], ctx.scratch), `npx pafc ${address}`);
    assert.match(r.stdout, /^Round-trip time: \d+\.\d{3} ms\.$/m);
  }
  // The other two bins run too.
  assert.is(ok(await run('npx', ['--offline', 'pafd', '-v'], ctx.scratch), 'npx pafd -v').stdout.split('\n')[0], `Server version: ${installedVersion(ctx)}`);
  assert.match(ok(await run('npx', ['--offline', 'pafbench', '-h'], ctx.scratch), 'npx pafbench -h').stdout, /^Usage: pafbench /);
});

t('without the addon a ux attach rejects at once, saying where it looked; a bundle finds it next to itself', async (ctx) => {
  writeFileSync(join(ctx.scratch, 'attach-ux.cjs'), ATTACH_UX);
  const wrong = join(ctx.work, 'nowhere', 'paf_native.node');
  const viaEnv = JSON.parse(ok(await run(process.execPath, ['attach-ux.cjs', ctx.ux], ctx.scratch, { PAF_NATIVE_ADDON: wrong }), 'attach-ux.cjs').stdout);
  assert.is(viaEnv.name, 'PafError');
  assert.is(viaEnv.codeName, 'TRANSPORT_UNAVAILABLE');
  assert.is(viaEnv.code, -8);
  assert.ok(viaEnv.message.includes(wrong) && viaEnv.message.includes('PAF_NATIVE_ADDON'), viaEnv.message);

  // The package without its addon (as after an install that could not build it).
  const pkgNative = join(ctx.scratch, 'node_modules', 'pathfinder-ts', 'dist', 'native');
  const addon = join(ctx.work, 'paf_native.node');
  copyFileSync(join(pkgNative, process.arch, 'paf_native.node'), addon);
  renameSync(pkgNative, `${pkgNative}.gone`);
  const env = { PAF_NATIVE_ADDON: '' };
  const searched = JSON.parse(ok(await run(process.execPath, ['attach-ux.cjs', ctx.ux], ctx.scratch, env), 'attach-ux.cjs').stdout);
  assert.is(searched.codeName, 'TRANSPORT_UNAVAILABLE');
  assert.ok(searched.ms < 1000, `rejected after ${searched.ms} ms`);
  for (const text of ['looked in', join(ctx.scratch, 'node_modules', 'pathfinder-ts', 'dist', 'native', process.arch, 'paf_native.node'), 'PAF_NATIVE_ADDON', 'nativeAddon']) {
    assert.ok(searched.message.includes(text), `"${text}" not in: ${searched.message}`);
  }

  // A user's bundle, deployed without node_modules, with the addon copied beside it.
  const deployed = join(ctx.work, 'deployed');
  mkdirSync(deployed);
  await build({ entryPoints: [join(ctx.scratch, 'client.cjs')], bundle: true, platform: 'node', format: 'cjs', outfile: join(deployed, 'app.js'), logLevel: 'error' });
  const bare = await run(process.execPath, ['app.js', ctx.ux], deployed, env);
  assert.is(bare.code, 1);
  assert.match(bare.stderr, /transport unavailable: ux:\S+: native addon paf_native\.node for \w+ not found \(looked in /);
  copyFileSync(addon, join(deployed, 'paf_native.node'));
  const r = ok(await run(process.execPath, ['app.js', ctx.ux], deployed, env), 'bundle with the addon beside it');
  assertSawOwn(r.stdout, [ctx.ux], 'cjs');
  // The attach option names it explicitly.
  const option = ok(await run(process.execPath, ['attach-ux.cjs', ctx.ux, addon], ctx.scratch, env), 'attach-ux.cjs');
  assert.equal(JSON.parse(option.stdout), { attached: true });
});

t.run();
