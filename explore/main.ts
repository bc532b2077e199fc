// vmtree explore: the page. Type or load a trace, step through it, and
// watch processes, vmas, page tables, frames and the design's structures
// change. Everything runs here, in the browser: the simulator is the same
// TypeScript as the CLI (src/), bundled by esbuild; pictures are the same
// DOT as `vmtree draw`, laid out by Graphviz in WebAssembly.

import { instance, type Viz } from '@viz-js/viz';
import { DEFAULT_DESIGN, DESIGNS } from '../src/anon/index.js';
import { collapse, toDot } from '../src/draw/dot.js';
import type { DesignSnapshot } from '../src/draw/types.js';
import { diffSnapshots, Session, vmaObjects, type ExploreSettings, type MachineView, type SnapshotDiff } from '../src/explore/model.js';
import { MIN_FRAMES } from '../src/machine.js';
import { TraceError, type Command } from '../src/trace/ast.js';
import { parseTrace } from '../src/trace/parse.js';
import { Buffer } from './buffer-shim.js';
import { EXAMPLES } from './examples.js';
import { decodeState, encodeState, type ViewState } from './fragment.js';
import { esc, VirtualList } from './vlist.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page: no #${id}`);
  return e as T;
};

const LINE = 18; // px: editor line height (style.css .editor)
const ROW = 20; // px: list row height (style.css .vrow)

const el = {
  example: $<HTMLSelectElement>('example'),
  design: $<HTMLSelectElement>('design'),
  compare: $<HTMLSelectElement>('compare'),
  frames: $<HTMLInputElement>('frames'),
  cut: $<HTMLInputElement>('cut'),
  merge: $<HTMLInputElement>('merge'),
  zero: $<HTMLInputElement>('zero'),
  share: $<HTMLButtonElement>('share'),
  name: $<HTMLInputElement>('name'),
  reset: $<HTMLButtonElement>('reset'),
  back: $<HTMLButtonElement>('back'),
  step: $<HTMLButtonElement>('step'),
  end: $<HTMLButtonElement>('end'),
  runto: $<HTMLInputElement>('runto'),
  go: $<HTMLButtonElement>('go'),
  where: $('where'),
  trace: $<HTMLTextAreaElement>('trace'),
  gutter: $('gutter'),
  hl: $('hl'),
  error: $('error'),
  now: $('now'),
  pictures: $('pictures'),
  counters: $('counters'),
  status: $('status'),
};
const results = new VirtualList($('results'), ROW);
const procList = new VirtualList($('procs'), ROW);
const frameList = new VirtualList($('frame-list'), ROW);

const st: ViewState = {
  name: EXAMPLES[0]!.name,
  trace: EXAMPLES[0]!.trace,
  latin1: false,
  design: DEFAULT_DESIGN,
  compare: '',
  frames: null,
  cut: true,
  merge: true,
  zeroPage: true,
  pos: 0,
};

let cmds: Command[] = [];
let parseError: TraceError | null = null;
let sessions: Session[] = [];
let lines: string[] = [];
/** Lines that hold a command. */
let cmdLines = new Set<number>();
/** What the page shows now, for the tests (window.vmtreeExplore). */
let shown: { snapshots: (DesignSnapshot | null)[]; diffs: SnapshotDiff[]; view: MachineView | null } = { snapshots: [], diffs: [], view: null };

// ---------------------------------------------------------------------------
// Controls

for (const [i, ex] of EXAMPLES.entries()) el.example.add(new Option(ex.title, String(i)));
el.example.add(new Option('(your own trace)', 'own'));
for (const d of Object.keys(DESIGNS)) {
  el.design.add(new Option(d, d));
  el.compare.add(new Option(d, d));
}
el.frames.min = String(MIN_FRAMES);

function settingsFromControls(): void {
  st.design = el.design.value;
  st.compare = el.compare.value;
  const f = el.frames.value.trim();
  st.frames = f === '' ? null : Math.max(MIN_FRAMES, Math.floor(Number(f)) || MIN_FRAMES);
  st.cut = el.cut.checked;
  st.merge = el.merge.checked;
  st.zeroPage = el.zero.checked;
}

function controlsFromSettings(): void {
  el.design.value = st.design;
  el.compare.value = st.compare;
  el.frames.value = st.frames === null ? '' : String(st.frames);
  el.cut.checked = st.cut;
  el.merge.checked = st.merge;
  el.zero.checked = st.zeroPage;
  el.name.value = st.name;
  el.trace.value = st.trace;
  const ex = EXAMPLES.findIndex((e) => e.trace === st.trace);
  el.example.value = ex >= 0 ? String(ex) : 'own';
}

/** Parse the trace and start the sessions again, keeping the position. */
function rebuild(): void {
  lines = st.trace.split('\n');
  parseError = null;
  cmds = [];
  try {
    // The bytes a file holding this text would have, so errors quote
    // tokens exactly as `vmtree run` does.
    cmds = parseTrace(Buffer.from(st.trace, st.latin1 ? 'latin1' : 'utf8') as unknown as Parameters<typeof parseTrace>[0], st.name);
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    parseError = e;
  }
  cmdLines = new Set(cmds.map((c) => c.line));
  el.gutter.style.width = `${String(lines.length).length + 3.5}ch`;
  const make = (design: string): Session => {
    const s: ExploreSettings = { design, cut: st.cut, merge: st.merge, zeroPage: st.zeroPage };
    if (st.frames !== null) s.frames = st.frames;
    return new Session(cmds, s, st.name);
  };
  sessions = [make(st.design)];
  if (st.compare !== '' ) sessions.push(make(st.compare));
  paintGutter();
}

function settingsChanged(): void {
  settingsFromControls();
  rebuild();
  void show(st.pos);
}
for (const c of [el.design, el.compare, el.frames, el.cut, el.merge, el.zero]) c.addEventListener('change', settingsChanged);

el.example.addEventListener('change', () => {
  if (el.example.value === 'own') return;
  const ex = EXAMPLES[Number(el.example.value)]!;
  st.name = ex.name;
  st.trace = ex.trace;
  st.latin1 = false;
  el.name.value = st.name;
  el.trace.value = st.trace;
  el.trace.scrollTop = 0;
  rebuild();
  void show(0);
});

let editTimer = 0;
const edited = (): void => {
  window.clearTimeout(editTimer);
  editTimer = window.setTimeout(() => {
    const line = sessions[0]?.current?.line ?? 0;
    st.trace = el.trace.value;
    st.name = el.name.value.trim() === '' ? 'trace' : el.name.value.trim();
    el.example.value = 'own';
    rebuild();
    // Stay at the same line of the edited trace.
    void show(sessions[0]!.positionOfLine(line));
  }, 250);
};
el.trace.addEventListener('input', edited);
el.name.addEventListener('input', edited);

el.reset.addEventListener('click', () => void show(0));
el.back.addEventListener('click', () => void show(st.pos - 1));
el.step.addEventListener('click', () => void show(st.pos + 1));
el.end.addEventListener('click', () => void show(cmds.length));
const runTo = (): void => {
  const n = Number(el.runto.value);
  if (Number.isInteger(n) && n >= 1) void show(sessions[0]!.positionOfLine(n));
};
el.go.addEventListener('click', runTo);
el.runto.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') runTo();
});
el.gutter.addEventListener('click', (e) => {
  const n = Number((e.target as HTMLElement).closest<HTMLElement>('[data-line]')?.dataset.line);
  if (n >= 1) {
    el.runto.value = String(n);
    runTo();
  }
});
document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (t === el.trace || t instanceof HTMLInputElement || t instanceof HTMLSelectElement) return;
  const act: Record<string, () => number> = {
    ArrowRight: () => st.pos + 1, ArrowDown: () => st.pos + 1,
    ArrowLeft: () => st.pos - 1, ArrowUp: () => st.pos - 1, Home: () => 0, End: () => cmds.length,
  };
  const f = act[e.key];
  if (f !== undefined) {
    e.preventDefault();
    void show(f());
  }
});

el.share.addEventListener('click', async () => {
  await saveFragment();
  try {
    await navigator.clipboard.writeText(location.href);
    flash('Link copied: it holds the trace and these settings.');
  } catch {
    flash('The link in the address bar holds the trace and these settings.');
  }
});

let flashTimer = 0;
function flash(msg: string): void {
  el.status.textContent = msg;
  window.clearTimeout(flashTimer);
  flashTimer = window.setTimeout(() => (el.status.textContent = ''), 4000);
}

// ---------------------------------------------------------------------------
// The editor: a textarea over a layer of line marks, and a gutter of line
// numbers (only those in view are in the DOM).

function paintGutter(): void {
  const top = el.trace.scrollTop;
  const first = Math.max(1, Math.floor(top / LINE) - 5);
  const last = Math.min(lines.length, Math.ceil((top + el.trace.clientHeight) / LINE) + 5);
  const cur = sessions[0]?.current?.line ?? 0;
  const next = cmds[st.pos]?.line ?? 0;
  const bad = parseError?.line ?? 0;
  let g = '';
  let h = '';
  for (let n = first; n <= last; n++) {
    const cls = n === bad ? 'err' : n === cur ? 'cur' : n === next ? 'next' : n < cur && cmdLines.has(n) ? 'ran' : '';
    const y = (n - 1) * LINE - top + 4;
    g += `<div data-line="${n}" class="${cls}" style="top:${y}px" title="run to line ${n}">${n === cur ? '▶ ' : ''}${n}</div>`;
    if (cls !== '' && cls !== 'ran') h += `<div class="${cls}" style="top:${y}px"></div>`;
  }
  el.gutter.innerHTML = g;
  el.hl.innerHTML = h;
}
el.trace.addEventListener('scroll', paintGutter);
new ResizeObserver(paintGutter).observe(el.trace);

function revealLine(n: number): void {
  const y = (n - 1) * LINE;
  const t = el.trace;
  if (y < t.scrollTop || y + LINE > t.scrollTop + t.clientHeight) t.scrollTop = Math.max(0, y - t.clientHeight / 3);
}

// ---------------------------------------------------------------------------
// Showing a position

let viz: Viz | null = null;
/** What show() computed last, reused as "before" by a step forward. */
let last: { sessions: Session[]; pos: number; snapshots: (DesignSnapshot | null)[]; counters: Record<string, number>[]; view: MachineView } | null = null;
let showing = 0;

/** Show position p (commands run); a crash of the simulator is shown, not swallowed. */
async function show(p: number): Promise<void> {
  try {
    await showAt(p);
  } catch (e) {
    el.now.innerHTML = `<div class="oom">internal error (a bug in vmtree; please report it with this page's link):\n${esc((e as Error).stack ?? String(e))}</div>`;
    console.error(e);
    document.body.dataset.rendered = 'error';
  }
}

async function showAt(p: number): Promise<void> {
  const token = ++showing;
  st.pos = Math.max(0, Math.min(p, cmds.length));
  const before: (DesignSnapshot | null)[] = [];
  const beforeCounters: (Record<string, number> | null)[] = [];
  let beforeView: MachineView | null = null;
  // A step forward: what was shown is the state before this command.
  const reuse = last !== null && last.sessions === sessions && last.pos === st.pos - 1 && st.pos > 0;
  if (reuse) {
    before.push(...last!.snapshots);
    beforeCounters.push(...last!.counters);
    beforeView = last!.view;
  }
  for (const [i, s] of sessions.entries()) {
    if (reuse) {
      // nothing to compute
    } else if (st.pos > 0) {
      s.goTo(st.pos - 1);
      before.push(s.snapshot());
      beforeCounters.push(s.counters());
      if (i === 0) beforeView = s.view();
    } else {
      before.push(null);
      beforeCounters.push(null);
    }
    s.goTo(st.pos);
  }
  const main = sessions[0]!;
  st.pos = main.position;
  const snaps = sessions.map((s) => s.snapshot());
  const diffs = snaps.map((s, i) => diffSnapshots(before[i] ?? null, s));
  const view = main.view();
  shown = { snapshots: snaps, diffs, view };

  paintEditorState();
  paintNow();
  paintResults();
  paintProcesses(view, beforeView, snaps);
  paintFrames(view, beforeView);
  const counters = sessions.map((s) => s.counters());
  last = { sessions, pos: st.pos, snapshots: snaps, counters, view };
  paintCounters(counters, beforeCounters);
  if (parseError === null) paintEvents(counters, beforeCounters);
  await paintPictures(snaps, diffs, token);
  if (token !== showing) return;
  void saveFragment();
  document.body.dataset.rendered = String(st.pos);
}

function paintEditorState(): void {
  el.error.hidden = parseError === null;
  el.error.textContent = parseError?.message ?? '';
  if (parseError !== null) revealLine(parseError.line);
  const cur = sessions[0]!.current;
  if (cur !== undefined) revealLine(cur.line);
  paintGutter();
  const n = cmds.length;
  el.where.textContent = parseError !== null ? 'fix the trace to run it' : `${st.pos} of ${n} commands run`;
  el.back.disabled = st.pos === 0;
  el.reset.disabled = st.pos === 0;
  const stuck = sessions.some((s) => s.error !== null);
  el.step.disabled = st.pos >= n || stuck;
  el.end.disabled = st.pos >= n || stuck;
  el.trace.classList.toggle('bad', parseError !== null);
}

const srcLine = (n: number): string => (lines[n - 1] ?? '').replace(/\s+$/, '');

function paintNow(): void {
  const main = sessions[0]!;
  const c = main.current;
  const errs = sessions.filter((s) => s.error !== null).map((s) => `<div class="oom">${esc(`vmtree: ${s.error!.message}`)}${sessions.length > 1 ? ` (${esc(s.settings.design)})` : ''}</div>`);
  let html = '';
  if (parseError !== null) {
    html = `<div class="cmd">The trace breaks a rule of the language; nothing runs until it is fixed:</div><div class="oom">${esc(parseError.message)}</div>`;
  } else if (c === undefined) {
    html = `<div class="cmd">Nothing run yet. <b>Step ▶</b> (or →) runs line ${cmds[0]?.line ?? '—'}; click a line number to run up to it.</div>`;
  } else {
    const r = main.results[main.results.length - 1]!.text;
    const body = r.slice(String(c.line).length + 1);
    html = `<div class="cmd"><span class="ln">line ${c.line}</span> <code>${esc(srcLine(c.line))}</code></div>` +
      `<div class="res"><span class="arrow">→</span> <pre>${esc(body)}</pre></div>`;
  }
  const next = cmds[st.pos];
  if (next !== undefined && parseError === null) html += `<div class="next">next: <span class="ln">line ${next.line}</span> <code>${esc(srcLine(next.line))}</code></div>`;
  el.now.innerHTML = html + errs.join('');
}

/** Counters whose change says what a command did, in words. */
const EVENTS: [string, string][] = [
  ['readFaults', 'read fault'], ['writeFaults', 'write fault'], ['sigsegv', 'SIGSEGV'], ['sigbus', 'SIGBUS'],
  ['zeroFills', 'zero-filled a new page'], ['cowCopies', 'copy-on-write: copied the page'],
  ['cowReuses', 'copy-on-write: reused the page (no one else could see it)'],
  ['swapIns', 'swapped in'], ['swapOuts', 'swapped out'], ['pagesReclaimed', 'page reclaimed'],
  ['spacesCreated', 'new address_space'], ['spacesFreed', 'address_space freed'], ['cuts', 'cut'], ['merges', 'spaces merged'],
  ['garbagePagesFreed', 'unreachable page freed'],
  ['anonVmasCreated', 'new anon_vma'], ['anonVmasFreed', 'anon_vma freed'], ['anonVmaForkReuses', 'anon_vma reused at fork'],
];

/** What the last command did, per design, from the counters' changes. */
function paintEvents(now: Record<string, number>[], before: (Record<string, number> | null)[]): void {
  const lines: string[] = [];
  now.forEach((c, i) => {
    const b = before[i];
    if (b === null || b === undefined) return;
    const ev = EVENTS.flatMap(([k, words]) => {
      const d = (c[k] ?? 0) - (b[k] ?? 0);
      return d > 0 ? [`<span class="ev">${d > 1 ? `${d} × ` : ''}${words}</span>`] : [];
    });
    if (ev.length > 0) lines.push(`<div class="evs">${sessions.length > 1 ? `<b>${esc(sessions[i]!.settings.design)}</b>: ` : ''}${ev.join(' ')}</div>`);
  });
  el.now.insertAdjacentHTML('beforeend', lines.join(''));
}

function paintResults(): void {
  const rows: string[] = [];
  const rs = sessions[0]!.results;
  let lastStart = 0;
  rs.forEach((r, k) => {
    if (k === rs.length - 1) lastStart = rows.length;
    const cls = k === rs.length - 1 ? 'r cur' : 'r';
    for (const l of r.text.split('\n')) rows.push(`<div class="${cls}">${esc(l)}</div>`);
  });
  results.set(rows);
  results.reveal(rows.length === 0 ? 0 : lastStart);
}

const STATE: Record<string, [string, string]> = {
  writable: ['rw', 'writable: the process owns this page'],
  cow: ['COW', 'write-protected: the next write copies the page (or reuses it if no one else can see it)'],
  'read-only': ['r', 'read-only mapping'],
  none: ['none', 'PROT_NONE: present but inaccessible'],
  swapped: ['swap', 'in swap: no pte; the design holds the swap entry'],
};

function paintProcesses(view: MachineView, before: MachineView | null, snaps: (DesignSnapshot | null)[]): void {
  const objects = snaps.map(vmaObjects);
  const old = new Set<string>();
  if (before !== null) for (const p of before.processes) for (const t of p.ptes) old.add(`${p.name} ${t.addr} ${t.pfn} ${t.state} ${t.mapcount}`);
  const oldVmas = new Set<string>();
  if (before !== null) for (const p of before.processes) for (const v of p.vmas) oldVmas.add(`${p.name} ${v.text}`);
  const rows: string[] = [];
  if (view.processes.length === 0) rows.push('<div class="r muted">no processes</div>');
  for (const p of view.processes) {
    const mapped = p.ptes.filter((t) => t.state !== 'swapped').length;
    const swapped = p.ptes.length - mapped;
    rows.push(`<div class="r ph"><b>${esc(p.name)}</b> <span class="muted">${p.vmas.length} vma${p.vmas.length === 1 ? '' : 's'} · ${mapped} pte${mapped === 1 ? '' : 's'}${swapped > 0 ? ` · ${swapped} in swap` : ''}${p.swapUnknown ? ' · (swap of huge vmas not shown)' : ''}</span></div>`);
    rows.push('<div class="r sub">vmas (as maps prints them), each with the design\'s object it uses</div>');
    for (const v of p.vmas) {
      const key = `${p.name} ${/^\S+/.exec(v.text)![0]}`;
      const cls = before !== null && !oldVmas.has(`${p.name} ${v.text}`) ? ' new' : '';
      rows.push(`<div class="r vma${cls}"><code>${esc(v.text)}</code></div>`);
      if (v.shared) {
        rows.push('<div class="r obj">↳ the file\'s page cache (a shared mapping: no design involved)</div>');
        continue;
      }
      objects.forEach((o, i) => {
        // The snapshot's view of the object; without one, the space the
        // machine knows of (the main design's only: its machine is the one inspected).
        const what = o.get(key) ?? (i === 0 && v.space !== '' ? v.space : snaps[i] === null ? 'this design draws nothing yet' : 'none yet');
        const who = sessions.length > 1 ? `${esc(sessions[i]!.settings.design)}: ` : '';
        rows.push(`<div class="r obj${i > 0 ? ' b' : ''}" title="${esc(what)}">↳ ${who}${esc(what)}</div>`);
      });
    }
    rows.push('<div class="r sub">page table</div>');
    if (p.ptes.length === 0) rows.push('<div class="r muted">  no pages mapped</div>');
    for (const t of p.ptes) {
      const [label, tip] = STATE[t.state]!;
      const cls = before !== null && !old.has(`${p.name} ${t.addr} ${t.pfn} ${t.state} ${t.mapcount}`) ? ' new' : '';
      const frame = t.pfn < 0 ? '<span class="muted">no frame</span>' : `pfn ${t.pfn}`;
      const share = t.mapcount > 1 ? ` <span class="shared" title="${t.mapcount} ptes map this frame">shared ×${t.mapcount}</span>` : '';
      rows.push(`<div class="r pte${cls}"><code>0x${t.addr.toString(16)}</code> <span class="st st-${t.state}" title="${esc(tip)}">${label}</span> ${frame} <span class="what">${esc(t.what)}</span>${share}</div>`);
    }
  }
  procList.set(rows);
}

function paintFrames(view: MachineView, before: MachineView | null): void {
  const old = new Set(before?.frames.map((f) => `${f.pfn} ${f.users.join(' ')} ${f.heldBy}`) ?? []);
  const rows: string[] = [`<div class="r sub">${view.framesInUse} frame${view.framesInUse === 1 ? '' : 's'} in use (the zero page is not counted)</div>`];
  for (const f of view.frames) {
    const shared = f.users.length > 1;
    const cls = `${shared ? ' shared-row' : ''}${before !== null && !old.has(`${f.pfn} ${f.users.join(' ')} ${f.heldBy}`) ? ' new' : ''}`;
    const who = f.users.length === 0 ? `<span class="muted">not mapped: held by ${esc(f.heldBy)}</span>`
      : f.users.length > 12 ? `${esc(f.users.slice(0, 12).join(' '))} <span class="muted">… +${f.users.length - 12}</span>`
      : esc(f.users.join(' '));
    rows.push(`<div class="r${cls}" title="${esc(f.users.slice(0, 50).join(' '))}"><span class="pfn">${f.what === 'zero page' ? 'zero' : `pfn ${f.pfn}`}</span> <span class="what">${esc(f.what)}</span>${shared ? ` <span class="shared">×${f.users.length}</span>` : ''} ${who}</div>`);
  }
  frameList.set(rows);
}

function paintCounters(now: Record<string, number>[], before: (Record<string, number> | null)[]): void {
  const names = Object.keys(now[0]!);
  const fmt = (v: number | undefined): string => (v === undefined ? '' : Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3))));
  // Three tables side by side: the counters are many and short.
  const per = Math.ceil(names.length / 3);
  const head = `<table><thead><tr><th>counter</th>${sessions.map((s) => `<th>${esc(s.settings.design)}</th>`).join('')}</tr></thead><tbody>`;
  let html = head;
  for (const [k, n] of names.entries()) {
    if (k > 0 && k % per === 0) html += `</tbody></table>${head}`;
    html += `<tr><td>${n}</td>`;
    now.forEach((c, i) => {
      const b = before[i];
      const changed = b !== null && b !== undefined && b[n] !== c[n];
      html += `<td class="${changed ? 'changed' : ''}${c[n] === 0 ? ' zero' : ''}">${fmt(c[n])}</td>`;
    });
    html += '</tr>';
  }
  el.counters.innerHTML = `${html}</tbody></table>`;
}

const lastSvg = new Map<number, { dot: string; svg: string }>();

async function paintPictures(snaps: (DesignSnapshot | null)[], diffs: SnapshotDiff[], token: number): Promise<void> {
  const panes: string[] = [];
  const svgs: (string | null)[] = [];
  for (const [i, s] of snaps.entries()) {
    if (s === null) {
      svgs.push(null);
      continue;
    }
    const dot = toDot(s);
    let cached = lastSvg.get(i);
    if (cached === undefined || cached.dot !== dot) {
      viz ??= await instance();
      if (token !== showing) return;
      const r = viz.render(dot, { format: 'svg' });
      if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ')}`);
      cached = { dot, svg: r.output };
      lastSvg.set(i, cached);
    }
    svgs.push(cached.svg.replace(/^[\s\S]*?(<svg)/, '$1'));
  }
  for (const [i, s] of snaps.entries()) {
    const design = sessions[i]!.settings.design;
    const d = diffs[i]!;
    const head = `<div class="phead"><b>${esc(design)}</b> <span class="muted">${s === null ? '' : `${s.nodes.filter((n) => n.kind !== 'vma' && n.kind !== 'pages').length} objects`}</span>` +
      `<button class="zoom" data-i="${i}" title="fit / actual size">⤢</button></div>`;
    const body = s === null
      ? `<div class="nopic">The ${esc(design)} design cannot draw its structures yet (it has no snapshot()).${i === 0 && v0HasSpaces() ? '<br>Each vma\'s address_space is listed under it in Processes below.' : ''}</div>`
      : `<div class="svg" data-i="${i}">${svgs[i]}</div>`;
    const gone = d.removed.length === 0 ? '' : `<div class="gone">gone: ${d.removed.slice(0, 8).map(esc).join('; ')}${d.removed.length > 8 ? ` … +${d.removed.length - 8}` : ''}</div>`;
    panes.push(`<div class="pane">${head}${body}${gone}</div>`);
  }
  el.pictures.classList.toggle('two', snaps.length > 1);
  el.pictures.innerHTML = panes.join('');
  // Mark what the last command changed: the drawn node of each changed
  // snapshot node (toDot names the i-th node of collapse() `n<i>`).
  for (const [i, s] of snaps.entries()) {
    if (s === null) continue;
    const g = collapse(s, 3);
    const names = new Map(g.nodes.map((n, k) => [`n${k}`, n.id]));
    const box = el.pictures.querySelector(`.svg[data-i="${i}"]`);
    box?.querySelectorAll('g.node').forEach((node) => {
      const id = names.get(node.querySelector('title')?.textContent ?? '');
      if (id !== undefined) node.setAttribute('data-node', id);
      if (id !== undefined && diffs[i]!.changed.has(id)) node.classList.add('changed');
    });
  }
  fitPictures();
  // Bring the first change into view in a picture wider than its pane.
  el.pictures.querySelectorAll<HTMLElement>('.svg').forEach((box) => {
    const node = box.querySelector('g.node.changed');
    if (node === null || box.scrollWidth <= box.clientWidth) return;
    const r = node.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    if (r.left >= b.left && r.right <= b.right && r.top >= b.top && r.bottom <= b.bottom) return;
    box.scrollLeft += r.left + r.width / 2 - (b.left + b.width / 2);
    box.scrollTop += r.top + r.height / 2 - (b.top + b.height / 2);
  });
}

/** Whether the main design's vmas list their spaces (tree, shadow). */
const v0HasSpaces = (): boolean => shown.view?.processes.some((p) => p.vmas.some((v) => v.space !== '')) ?? false;

/**
 * Fit a picture to its pane unless that would make its text too small to
 * read (under 85%): then show it at 85% and let the pane scroll.
 */
function fitPictures(): void {
  el.pictures.querySelectorAll<HTMLElement>('.svg').forEach((box) => {
    const svg = box.querySelector('svg');
    if (svg === null) return;
    const natural = svg.viewBox.baseVal.width * (4 / 3); // Graphviz sizes are in points
    const avail = box.clientWidth - 4;
    if (box.classList.contains('actual')) svg.style.width = `${natural}px`;
    else svg.style.width = natural <= avail ? `${natural}px` : `${Math.max(avail, natural * 0.85)}px`;
    svg.style.height = 'auto';
  });
}

el.pictures.addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLElement>('.zoom');
  if (b === null) return;
  el.pictures.querySelector(`.svg[data-i="${b.dataset.i}"]`)?.classList.toggle('actual');
  fitPictures();
});
new ResizeObserver(fitPictures).observe(el.pictures);

// ---------------------------------------------------------------------------
// The URL fragment

let saved = '';
async function saveFragment(): Promise<void> {
  const f = await encodeState(st);
  if (f === saved) return;
  saved = f;
  history.replaceState(null, '', `#${f}`);
}

async function load(): Promise<void> {
  try {
    const s = await decodeState(location.hash.slice(1));
    if (s !== null) {
      if (typeof s.trace === 'string') st.trace = s.trace;
      st.latin1 = s.latin1 === true;
      if (typeof s.name === 'string') st.name = s.name;
      if (typeof s.design === 'string' && s.design in DESIGNS) st.design = s.design;
      if (typeof s.compare === 'string' && (s.compare === '' || s.compare in DESIGNS)) st.compare = s.compare;
      if (typeof s.frames === 'number' && s.frames >= MIN_FRAMES) st.frames = Math.floor(s.frames);
      if (typeof s.cut === 'boolean') st.cut = s.cut;
      if (typeof s.merge === 'boolean') st.merge = s.merge;
      if (typeof s.zeroPage === 'boolean') st.zeroPage = s.zeroPage;
      if (typeof s.pos === 'number') st.pos = s.pos;
    }
  } catch (e) {
    flash(`The link's saved view is damaged (${(e as Error).message}); showing the spec example.`);
  }
  controlsFromSettings();
  rebuild();
  await show(st.pos);
}

window.addEventListener('hashchange', () => {
  if (location.hash.slice(1) !== saved) void load();
});

declare global {
  interface Window {
    /** For tests and the curious: what the page shows now. */
    vmtreeExplore: unknown;
  }
}
window.vmtreeExplore = {
  get state(): ViewState { return { ...st }; },
  get shown() { return shown; },
  results: (): string[] => sessions[0]?.results.map((r) => r.text) ?? [],
  show,
};

void load();
