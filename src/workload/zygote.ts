// zygote — Android's zygote (and Chrome's, and any "fork a preloaded
// runtime" launcher): one parent maps a large image — a private mapping of a
// file (the boot image / shared libraries) followed by an anonymous part it
// fills in (the preloaded heap) — and forks many apps. Each app dirties a
// few pages of the image and stays alive; at the end all of them exit.
//
// What it stresses:
//   - Wide sharing with long-lived sharers: every image page is mapped by
//     1 + apps processes for the whole run, so a reverse-map walk over an
//     image page is as long as it gets. In the tree design every app's vmas
//     sit on the zygote's spaces and each app that writes adds a child space
//     under them: the file's space gets `apps` child spaces for the file
//     part (private COW of file pages), the anonymous root as many again.
//     With anon_vma every app's vma is on the zygote's anon_vma; with
//     anon_vma_chain each app adds its own anon_vma plus chain entries.
//   - Private COW of file pages (the file part starts on the page cache)
//     next to COW of anonymous pages, apps x appWrites COW faults in all.
//   - Lookup depth stays 2-3; the cost is breadth, not depth.
//
// Layout: file `image` of round(image * filePercent / 100) pages, mapped rw
// private at region 0; the anonymous part (the rest) at region 1. Values:
// image page p (counting the file part first) holds `p + 1` — written into
// the file with fwrite, or into the anonymous part by the zygote. App a
// (1-based, process `app<a>`) writes `a * 1000000 + p` at appWrites pages
// spread over the whole image, rotated by a-1.

import {
  defineWorkload, MAX_IDS, MAX_PAGES, MILLION, PAGE, pageAddrs, percentOf, region, spread, hex, type Params, type TraceText,
} from './common.js';

export const zygote = defineWorkload({
  name: 'zygote',
  description: 'a parent maps a big image (private file part + anonymous part), forks many apps that each dirty a few pages and stay alive',
  params: [
    { name: 'image', default: 8192, min: 1, max: MAX_PAGES, description: 'image size in pages (file part + anonymous part)' },
    { name: 'filePercent', default: 50, min: 0, max: 100, description: 'percentage of the image that is a private mapping of a file' },
    { name: 'apps', default: 32, min: 0, max: MAX_IDS, description: 'apps forked from the zygote, all alive until the end' },
    { name: 'appWrites', default: 64, min: 0, max: MAX_PAGES, description: 'image pages each app writes (at most image)' },
  ],
  build(p: Params, t: TraceText): void {
    const image = p.image!;
    const apps = p.apps!;
    const filePages = percentOf(image, p.filePercent!);
    const anonPages = image - filePages;
    const fileBase = region(0);
    const anonBase = region(1);
    // Address of image page i: the file part, then the anonymous part.
    const addr = [...pageAddrs(fileBase, filePages), ...pageAddrs(anonBase, anonPages)];

    t.line('spawn zygote');
    if (filePages > 0) {
      t.line(`file image ${hex(filePages * PAGE)}`);
      for (let i = 0; i < filePages; i++) t.line(`fwrite image ${hex(i * PAGE)} ${i + 1}`);
      t.line(`zygote mmap ${hex(fileBase)} ${hex(filePages * PAGE)} rw private image 0x0`);
      // Preload: fault the whole file part in.
      for (let i = 0; i < filePages; i++) t.read('zygote', addr[i]!, i + 1);
    }
    if (anonPages > 0) {
      t.line(`zygote mmap ${hex(anonBase)} ${hex(anonPages * PAGE)} rw private`);
      for (let i = filePages; i < image; i++) t.line(`zygote write ${addr[i]} ${i + 1}`);
    }

    const written: Map<number, number>[] = [];
    for (let a = 1; a <= apps; a++) {
      t.line(`fork zygote app${a}`);
      const mine = new Map<number, number>();
      for (const i of spread(image, p.appWrites!, a - 1)) {
        t.line(`app${a} write ${addr[i]} ${a * MILLION + i}`);
        mine.set(i, a * MILLION + i);
      }
      written.push(mine);
    }

    // Every app reads back its first write and the page after it (its own
    // copy or still the zygote's); the zygote sees none of the apps' writes.
    for (let a = 1; a <= apps; a++) {
      const mine = written[a - 1]!;
      const first = mine.size > 0 ? mine.keys().next().value! : a - 1;
      for (const i of new Set([first % image, (first + 1) % image])) {
        t.read(`app${a}`, addr[i]!, mine.get(i) ?? i + 1);
      }
    }
    for (const i of new Set([0, image >> 1, image - 1])) t.read('zygote', addr[i]!, i + 1);
    for (let a = 1; a <= apps; a++) t.line(`exit app${a}`);
    t.line('exit zygote');
  },
});
