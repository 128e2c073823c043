// The third-party notice of a board executable (build/package.mjs), made
// from what is actually in it, never copied by hand:
//
//  * the Node.js runtime: the LICENSE file of the official Node binary's npm
//    package (node-linux-*), which also carries the licenses of what Node
//    itself bundles (V8, OpenSSL, ICU, libuv, ...);
//  * every npm package esbuild bundled: the package of each node_modules
//    input in esbuild's metafile, with the license files of its directory.
//
// A bundled package without a license file stops the build: its notice
// cannot be generated, and a redistribution without it would be wrong.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** License files a package may carry (LICENSE, LICENSE.txt, LICENCE, COPYING, NOTICE, ...: any extension). */
const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

/** 'node_modules/@scope/name/dist/x.js' -> '@scope/name' (the innermost node_modules wins). */
export function packageOfInput(input) {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  if (parts[0].startsWith('@')) return parts.length > 2 ? `${parts[0]}/${parts[1]}` : undefined;
  return parts.length > 1 ? parts[0] : undefined;
}

/**
 * The bundled packages: one entry per package directory that contributed an
 * input to the bundle, sorted by name.
 * @param {string} root the directory esbuild's input paths are relative to
 * @param {Record<string, unknown>} inputs esbuild's metafile.inputs
 */
export function bundledPackages(root, inputs) {
  const dirs = new Map();
  for (const input of Object.keys(inputs)) {
    const name = packageOfInput(input);
    if (name === undefined) continue;
    const dir = input.slice(0, input.lastIndexOf('node_modules/') + 'node_modules/'.length + name.length);
    dirs.set(dir, name);
  }
  const out = [];
  for (const [dir, name] of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const files = readdirSync(join(root, dir)).filter((f) => LICENSE_FILE.test(f)).sort();
    if (files.length === 0) throw new Error(`${dir}: bundled, but it has no license file (LICENSE, COPYING, NOTICE)`);
    out.push({
      name, version: pkg.version, license: typeof pkg.license === 'string' ? pkg.license : 'see the text',
      dir, texts: files.map((f) => ({ file: f, text: readFileSync(join(root, dir, f), 'utf8') })),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const RULE = '='.repeat(72);

/**
 * The notice text.
 * @param {{ product: string, node: { npm: string, version: string, license: string }, packages: ReturnType<typeof bundledPackages> }} what
 */
export function noticeText({ product, node, packages }) {
  if (!existsSync(node.license)) throw new Error(`${node.license}: Node's license file is missing`);
  const lines = [
    `Third-party software in ${product}`,
    '',
    'This executable is an official Node.js binary with a JavaScript program',
    'embedded into it. Besides this project\'s own code (LICENSE) it contains:',
    '',
    `  Node.js ${node.version} (the ${node.npm} package of the npm registry),`,
    '    license: MIT, with the licenses of the software Node.js includes;',
  ];
  for (const p of packages) lines.push(`  ${p.name} ${p.version} (npm package, bundled by esbuild), license: ${p.license}`);
  lines.push('', 'Their license texts follow.', '');
  lines.push(RULE, `Node.js ${node.version}: LICENSE`, RULE, '', readFileSync(node.license, 'utf8').trimEnd(), '');
  for (const p of packages) {
    for (const t of p.texts) lines.push(RULE, `${p.name} ${p.version}: ${t.file}`, RULE, '', t.text.trimEnd(), '');
  }
  return `${lines.join('\n')}\n`;
}
