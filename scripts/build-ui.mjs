// Builds the dashboard: src/ui/app/main.tsx (Preact + uPlot) → dist/ui/{index.html, app-<hash>.js,
// app-<hash>.css}, minified, with .gz and .br twins that @fastify/static serves to browsers that accept
// them. Prints the gzipped size (target ≤ 100 KB). `node scripts/build-ui.mjs [--outdir dir]`.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function indexHtml(js, css) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spendhouse</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/${css}">
</head>
<body>
<div id="app"></div>
<script type="module" src="/ui/${js}"></script>
</body>
</html>
`;
}

/** Returns the gzipped byte size of each emitted file. */
export async function buildUi(target = join(ROOT, 'dist', 'ui')) {
  // Build beside the target and swap it in, so a server (or a second build started by a parallel test)
  // never sees a half-written folder.
  const outdir = `${target}.build-${process.pid}`;
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(ROOT, 'src', 'ui', 'app', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild did not emit a .js and a .css file: ${outputs.join(', ')}`);
  writeFileSync(join(outdir, 'index.html'), indexHtml(js, css));
  const sizes = {};
  for (const name of readdirSync(outdir)) {
    const body = readFileSync(join(outdir, name));
    const gz = gzipSync(body, { level: 9 });
    writeFileSync(join(outdir, `${name}.gz`), gz);
    writeFileSync(join(outdir, `${name}.br`), brotliCompressSync(body));
    sizes[name] = { bytes: body.length, gzip: gz.length };
  }
  rmSync(target, { recursive: true, force: true });
  try {
    renameSync(outdir, target);
  } catch (err) {
    // A parallel build swapped in first; its output is the same source, so keep it.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    rmSync(outdir, { recursive: true, force: true });
  }
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--outdir');
  const outdir = at > 0 ? process.argv[at + 1] : undefined;
  const sizes = await buildUi(outdir);
  let total = 0;
  for (const [name, { bytes, gzip }] of Object.entries(sizes)) {
    total += gzip;
    console.log(
      `${name.padEnd(28)} ${(bytes / 1024).toFixed(1).padStart(7)} KB   ${(gzip / 1024).toFixed(1).padStart(6)} KB gzipped`,
    );
  }
  console.log(
    `${'total'.padEnd(28)} ${''.padStart(7)}      ${(total / 1024).toFixed(1).padStart(6)} KB gzipped (target ≤ 100 KB)`,
  );
}
