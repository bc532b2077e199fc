// `vmtree explore [TRACE]`: the explorer page (dist/explore/index.html,
// built by scripts/build-explore.mjs) with a trace and settings in its URL
// fragment: printed as a file:// URL, or served on 127.0.0.1.

import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DESIGN, DESIGNS } from '../anon/index.js';
import { CliError } from './exit.js';
import type { Subcommand } from './io.js';
import { Session } from '../explore/model.js';
import type { ViewState } from '../explore/view.js';
import { MIN_FRAMES } from '../machine.js';
import { TraceError } from '../trace/ast.js';
import { parseTrace } from '../trace/parse.js';

/**
 * Where the build puts the page: dist/explore/ of the package, two levels
 * above this module whether it runs from dist/cli/ or (in tests) src/cli/.
 */
export const PAGE_URL = new URL('../../dist/explore/index.html', import.meta.url);

/** What the page reads from its fragment. */
export type ExploreView = ViewState;

/** The fragment (without '#') the page decodes: deflate-raw'd JSON, base64url. */
export function encodeView(v: ExploreView): string {
  return `z=${deflateRawSync(Buffer.from(JSON.stringify(v), 'utf8')).toString('base64url')}`;
}

const asInt = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) => (v: string): number => {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}.`);
  return n;
};

interface ExploreOpts {
  design: string;
  beside?: string;
  frames?: number;
  cut: boolean;
  merge: boolean;
  zeroPage: boolean;
  at?: number;
  serve?: number;
}

/** Fragments beyond this may be cut by browsers or the shell. */
const LONG_FRAGMENT = 1 << 21;

/** Serve `html` at / on 127.0.0.1:port (only); resolves once listening. */
export async function serveExplore(html: Buffer, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split(/[?#]/)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': html.length, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : html);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new CliError(`cannot serve on 127.0.0.1:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)));
    server.listen(port, '127.0.0.1', () => ok());
  });
  return server;
}

export const exploreCommand: Subcommand = (program, ctx) => {
  program
    .command('explore')
    .summary('step through a trace in the browser and watch the structures change')
    .description(
      'Print the file:// URL of the explorer page with TRACE (and the settings below) in its fragment; ' +
        'open it in a browser. The page runs the simulator itself (no network): step, step back, run to a ' +
        "line, and see each command's result, every process's vmas and page table, who maps each frame, " +
        "the design's structures drawn as by `vmtree draw` with what the last command changed outlined, " +
        'and the counters; a second design can step alongside. Its link holds the trace and the settings.\n\n' +
        'Without TRACE the page opens on the spec\'s example. A trace that breaks a rule of the language ' +
        'still opens, with the error shown at its line (and printed here).\n\n' +
        'With --serve PORT, serve the page on 127.0.0.1 (only) instead, until interrupted.',
    )
    .argument('[trace]', "trace file (.gz: gunzipped), real:NAME (a recording in examples/real), or '-' for standard input")
    .addOption(new Option('--design <name>', 'design to simulate').choices(Object.keys(DESIGNS)).default(DEFAULT_DESIGN))
    .addOption(new Option('--beside <name>', 'a second design, stepping alongside').choices(Object.keys(DESIGNS)))
    .option('--frames <n>', `physical memory in frames (at least ${MIN_FRAMES}; default unbounded)`, asInt('--frames', MIN_FRAMES))
    .option('--no-cut', "switch off the tree's cut optimisation")
    .option('--no-merge', "switch off the tree's merge optimisation")
    .option('--no-zero-page', 'read faults of private anonymous memory allocate a page instead of mapping the zero page')
    .option('--at <line>', 'open with every command up to this trace line run', asInt('--at', 1))
    .option('--serve <port>', 'serve the page on http://127.0.0.1:PORT/ (0: any free port) until interrupted', asInt('--serve', 0, 65535))
    .addHelpText('after', '\nExamples:\n  vmtree explore examples/spec-example.vmt --at 8\n  vmtree workload cow-storm --param children=4 --param pages=3 | vmtree explore - --beside anon-vma-chain\n  vmtree explore trace.vmt --serve 8080')
    .action(async (trace: string | undefined, o: ExploreOpts) => {
      const page = fileURLToPath(PAGE_URL);
      if (!existsSync(page)) throw new CliError(`the explorer page is not built (${page}): run \`npm run build\``);
      let view: string;
      {
        // Without TRACE: the spec's example, shipped in the package.
        const text = trace === undefined
          ? readFileSync(new URL('../../examples/spec-example.vmt', import.meta.url)).toString('latin1')
          : (await ctx.readInput(trace)).toString('latin1');
        const name = trace === undefined ? 'examples/spec-example.vmt' : ctx.inputName(trace);
        let pos = 0;
        try {
          const cmds = parseTrace(Buffer.from(text, 'latin1'), name);
          if (o.at !== undefined) pos = new Session(cmds, { design: o.design, cut: true, merge: true, zeroPage: true }).positionOfLine(o.at);
        } catch (e) {
          if (!(e instanceof TraceError)) throw e;
          ctx.io.stderr(`${e.message}\n(the page shows the error at its line)\n`);
        }
        // The page holds text and parses its UTF-8 bytes (what an editor
        // saves); a file that is not UTF-8 goes as one character per byte,
        // flagged, so the page's parser sees exactly the file's bytes.
        const bytes = Buffer.from(text, 'latin1');
        const utf8 = bytes.toString('utf8');
        const isUtf8 = Buffer.from(utf8, 'utf8').equals(bytes);
        view = encodeView({
          name, trace: isUtf8 ? utf8 : text, latin1: !isUtf8, design: o.design, compare: o.beside ?? '', frames: o.frames ?? null,
          cut: o.cut, merge: o.merge, zeroPage: o.zeroPage, pos,
        });
        if (view.length > LONG_FRAGMENT) {
          ctx.io.stderr(`vmtree: note: the trace makes a ${Math.round(view.length / 1024)} KiB URL; a browser may refuse it (try a shorter trace)\n`);
        }
      }
      const fragment = `#${view}`;
      if (o.serve === undefined) {
        ctx.out.write(`${pathToFileURL(resolve(page)).href}${fragment}\n`);
        ctx.out.flush();
        return;
      }
      const server = await serveExplore(readFileSync(page), o.serve);
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : o.serve;
      ctx.out.write(`http://127.0.0.1:${port}/${fragment}\n`);
      ctx.out.flush();
      ctx.io.stderr('serving the explorer on 127.0.0.1 only; Ctrl-C stops\n');
      await new Promise<void>((done) => {
        const stop = (): void => {
          server.close(() => done());
          server.closeAllConnections();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
};
