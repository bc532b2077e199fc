// Unit tests of the naive reference model (test/naive/model.ts) on hand-made
// traces. Each expected output was worked out from Linux's rules (see the
// comments in the model, which name the kernel functions) and then confirmed
// on Linux 6.18 x86-64 / ext4 with the native runner (build/vmrun): where a
// hand derivation disagreed with the kernel, the kernel was right and the
// expectation was corrected (fread at 2^63-8 is EOF, not EINVAL; a private
// page once written reads its own copy after truncation of the file's tail).
//
// When build/vmrun is there (and we are root, which `frames` needs), the last
// tests also run random traces on both the model and the kernel:
// VMTREE_LINUX_RUNS sets how many (default 150 of each kind; 0 skips).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileTraceArbitrary, mergeTraceArbitrary, traceArbitrary } from './naive/gen.js';
import { isRoot, runLinux, vmrunAvailable } from './naive/linux.js';
import { NaiveMachine, runNaive } from './naive/model.js';
import { formatResults, parseVmt, printVmt, renumber } from './naive/trace-text.js';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

/** Template text without its first newline. */
const txt = (s: string): string => s.replace(/^\n/, '');

interface Case { name: string; trace: string; expected: string }

const CASES: Case[] = [
  {
    name: "the spec's example",
    trace: SPEC_EXAMPLE,
    expected: SPEC_EXAMPLE_OUTPUT,
  },
  {
    name: 'which neighbouring mappings share one kernel vma (mremap EFAULT)',
    trace: `
# anonymous private mappings with compatible flags merge into one vma
spawn a
a mmap 0x100000000000 0x1000 rw private
a mmap 0x100000001000 0x1000 rw private
a mremap 0x100000000000 0x2000 0x3000            # ok: one vma, grows in place
a maps
# different protection: two vmas; a resize spanning both is EFAULT
a mmap 0x100000010000 0x1000 rw private
a mmap 0x100000011000 0x1000 r private
a mremap 0x100000010000 0x2000 0x3000            # EFAULT
a mprotect 0x100000011000 0x1000 rw              # now compatible: merges
a mremap 0x100000010000 0x2000 0x3000            # ok
# separate shared anonymous mappings never merge
a mmap 0x100000020000 0x1000 rw shared
a mmap 0x100000021000 0x1000 rw shared
a mremap 0x100000020000 0x2000 0x3000            # EFAULT
a maps
# a moved faulted anonymous mapping keeps its pgoff: no merge with a new neighbour
a mmap 0x100000030000 0x1000 rw private
a write 0x100000030000 5
a mremap 0x100000030000 0x1000 0x1000 0x100000040000
a mmap 0x100000041000 0x1000 rw private
a mremap 0x100000040000 0x2000 0x3000            # EFAULT
a read 0x100000040000                            # 5
# an unfaulted one takes the new address as pgoff and does merge
a mmap 0x100000050000 0x1000 rw private
a mremap 0x100000050000 0x1000 0x1000 0x100000060000
a mmap 0x100000061000 0x1000 rw private
a mremap 0x100000060000 0x2000 0x3000            # ok
# file mappings merge when contiguous in offset
file f 0x4000
a mmap 0x100000070000 0x1000 r shared f 0x0
a mmap 0x100000071000 0x1000 r shared f 0x1000
a mremap 0x100000070000 0x2000 0x1000            # ok (shrink)
a mmap 0x100000080000 0x1000 r shared f 0x0
a mmap 0x100000081000 0x1000 r shared f 0x2000
a mremap 0x100000080000 0x2000 0x3000 0x100000090000   # EFAULT: offsets not contiguous
`,
    expected: `
2 ok
3 ok
4 ok
5 ok
6 maps a
  0x100000000000-0x100000003000 rw-p anon
8 ok
9 ok
10 EFAULT
11 ok
12 ok
14 ok
15 ok
16 EFAULT
17 maps a
  0x100000000000-0x100000003000 rw-p anon
  0x100000010000-0x100000013000 rw-p anon
  0x100000020000-0x100000022000 rw-s anon
19 ok
20 ok
21 ok
22 ok
23 EFAULT
24 5
26 ok
27 ok
28 ok
29 ok
31 ok
32 ok
33 ok
34 ok
35 ok
36 ok
37 EFAULT
`,
  },
  {
    name: 'mremap: multi-vma moves, second views, shrink, growth',
    trace: `
spawn a
a mmap 0x100000000000 0x1000 rw private
a mmap 0x100000001000 0x1000 r private
a mmap 0x100000003000 0x1000 rw shared
a write 0x100000000000 1
a write 0x100000003000 3
a mmap 0x100000012000 0x1000 rw private
a write 0x100000012000 9
# a same-size MREMAP_FIXED move may span vmas and holes (Linux 6.17+): the
# gaps are kept, and whatever sits in the target's gaps stays
a mremap 0x100000000000 0x4000 0x4000 0x100000010000
a maps
a read 0x100000010000
a read 0x100000012000
a read 0x100000013000
a mremap 0x100000020000 0x2000 0x2000 0x100000030000
a mremap 0x100000010000 0x2000 0x3000 0x100000030000
a mremap 0x100000010000 0x2000 0x2000 0x100000011000
a mremap 0x100000010000 0x2000 0x2000 0x7ffffffff000
a mremap 0x100000010010 0x1000 0x1000 0x100000030000
a mremap 0x100000010000 0x1000 0x0
# shared anonymous memory: a second view with OLDLEN 0; growing past the shmem object
a mmap 0x100000040000 0x2000 rw shared
a write 0x100000041000 7
a mremap 0x100000040000 0x0 0x2000 0x100000050000
a read 0x100000051000
a write 0x100000050000 8
a read 0x100000040000
a mremap 0x100000040000 0x2000 0x3000
a read 0x100000042000
a write 0x100000042000 1
a mremap 0x100000010000 0x0 0x1000 0x100000060000
a mremap 0x100000040000 0x0 0x1000
# a shrink unmaps all of [ADDR+NEWLEN, ADDR+OLDLEN)
a mmap 0x100000070000 0x1000 rw private
a mmap 0x100000071000 0x1000 r shared
a mremap 0x100000070000 0x2000 0x1000
a read 0x100000071000
# in-place growth needs room; a move with growth keeps the old pages
a mmap 0x100000080000 0x1000 rw private
a mmap 0x100000081000 0x1000 rw shared
a mremap 0x100000080000 0x1000 0x2000
a write 0x100000080000 4
a mremap 0x100000080000 0x1000 0x2000 0x100000090000
a read 0x100000090000
a read 0x100000091000
a read 0x100000080000
a maps
`,
    expected: `
1 ok
2 ok
3 ok
4 ok
5 ok
6 ok
7 ok
8 ok
11 ok
12 maps a
  0x100000010000-0x100000011000 rw-p anon
  0x100000011000-0x100000012000 r--p anon
  0x100000012000-0x100000013000 rw-p anon
  0x100000013000-0x100000014000 rw-s anon
13 1
14 9
15 3
16 EFAULT
17 EFAULT
18 EINVAL
19 EINVAL
20 EINVAL
21 EINVAL
23 ok
24 ok
25 ok
26 7
27 ok
28 8
29 ok
30 SIGBUS
31 SIGBUS
32 EINVAL
33 ENOMEM
35 ok
36 ok
37 ok
38 SIGSEGV
40 ok
41 ok
42 ENOMEM
43 ok
44 ok
45 4
46 0
47 SIGSEGV
48 maps a
  0x100000010000-0x100000011000 rw-p anon
  0x100000011000-0x100000012000 r--p anon
  0x100000012000-0x100000013000 rw-p anon
  0x100000013000-0x100000014000 rw-s anon
  0x100000040000-0x100000043000 rw-s anon
  0x100000050000-0x100000052000 rw-s anon
  0x100000070000-0x100000071000 rw-p anon
  0x100000081000-0x100000082000 rw-s anon
  0x100000090000-0x100000092000 rw-p anon
`,
  },
  {
    name: 'files: EINVAL/EFBIG/EOF, SIGBUS past EOF, truncation and regrowth',
    trace: `
file f 0x2800
file big 0x8000000000000000
file huge 0x100000000000
file max 0xfffffffff000
fread big 0x0
fwrite f 0x7ffffffffffffffc 1
fwrite f 0xfffffffff000 1
fwrite f 0xffffffffeffc 1
fread f 0x7ffffffffffffff8
fread f 0x27fc
fread f 0x2800
spawn a
a mmap 0x100000000000 0x4000 rw shared f 0x0
a mmap 0x100000010000 0x4000 rw private f 0x0
a mmap 0x100000020000 0x1000 r private f 0x7fffffffffffe000
a mmap 0x100000021000 0x1000 r private f 0x7ffffffffffff000
a read 0x100000020000
a write 0x100000002ffc 5
a read 0x100000003000
a write 0x100000003000 5
fread f 0x2ffc
a read 0x100000012ffc
a write 0x100000011000 6
a write 0x100000012000 7
fwrite f 0x1000 60
fwrite f 0x2000 70
a read 0x100000011000
a read 0x100000001000
# shrink to the middle of page 1: page 2 vanishes everywhere, page 1's tail is zeroed in the file
ftruncate f 0x1800
a read 0x100000012000
a write 0x100000012000 8
a read 0x100000002000
a read 0x100000011000
a read 0x100000001000
a write 0x100000001ffc 11
a read 0x100000011ffc
fread f 0x1ffc
# growing zeroes what a shared mapping wrote past the old end
ftruncate f 0x3000
a read 0x100000001ffc
a read 0x100000012000
a read 0x100000002ffc
fwrite f 0x2ff8 12
a read 0x100000002ff8
a read 0x100000012ff8
`,
    expected: `
1 ok
2 EINVAL
3 EFBIG
4 EFBIG
5 EOF
6 EINVAL
7 EFBIG
8 EFBIG
9 EOF
10 0
11 EOF
12 ok
13 ok
14 ok
15 ok
16 EOVERFLOW
17 SIGBUS
18 ok
19 SIGBUS
20 SIGBUS
21 EOF
22 5
23 ok
24 ok
25 ok
26 ok
27 6
28 60
30 ok
31 SIGBUS
32 SIGBUS
33 SIGBUS
34 6
35 60
36 ok
37 0
38 EOF
40 ok
41 0
42 0
43 0
44 ok
45 12
46 12
`,
  },
  {
    name: 'errno rules of mmap, munmap, mprotect and madvise; holes',
    trace: `
spawn a
file f 0x1000
a mmap 0x0 0x1000 rw private
a mmap 0x800 0x1000 rw private
a mmap 0x100000000010 0x1000 rw private
a mmap 0x100000000000 0x0 rw private
a mmap 0x100000000000 0xfffffffffffff001 rw private
a mmap 0x7ffffffff000 0x1000 rw private
a mmap 0x100000000000 0x800000000000 rw private
a mmap 0x100000000000 0x1000 rw private f 0x10
a mmap 0x100000000000 0x3000 rw private
a mmap 0x100000004000 0x2000 rw private
a mmap 0x100000001000 0x1000 r private
a mmap 0x100000001000 0x1000 r private,fixed
a write 0x100000000000 1
a write 0x100000001000 1
a munmap 0x100000000000 0x0
a munmap 0x100000000800 0x1000
a munmap 0x7ffffffff000 0x1000
a mprotect 0x100000000000 0x0 none
a mprotect 0x100000000800 0x1000 none
a mprotect 0x100000000000 0xfffffffffffff000 none
# mprotect applies up to the first hole, then ENOMEM; starting in a hole changes nothing
a mprotect 0x100000003000 0x2000 r
a mprotect 0x100000000000 0x6000 rx
a maps
a mprotect 0x100000000000 0x6000 r
a maps
# madvise applies to every mapped part, skips holes, still ENOMEM
a write 0x100000005000 3
a mprotect 0x100000000000 0x6000 rw
a write 0x100000005000 3
a write 0x100000000000 2
a madvise 0x100000000000 0x6000 dontneed
a read 0x100000000000
a read 0x100000005000
a madvise 0x100000006000 0x1000 dontneed
a madvise 0x100000000000 0x0 wipeonfork
a madvise 0x100000000010 0x1000 dontneed
a madvise 0x100000000000 0xffffffffffffffff dontneed
a madvise 0x100000000000 0x1000 wipeonfork
a mmap 0x100000010000 0x1000 rw private f 0x0
a madvise 0x100000000000 0x11000 wipeonfork
a madvise 0x100000000000 0x11000 keeponfork
a madvise 0x100000000000 0x11000 dontfork
a maps
`,
    expected: `
1 ok
2 ok
3 EPERM
4 EINVAL
5 EINVAL
6 EINVAL
7 ENOMEM
8 ENOMEM
9 ENOMEM
10 EINVAL
11 ok
12 ok
13 EEXIST
14 ok
15 ok
16 SIGSEGV
17 EINVAL
18 EINVAL
19 EINVAL
20 ok
21 EINVAL
22 ENOMEM
24 ENOMEM
25 ENOMEM
26 maps a
  0x100000000000-0x100000003000 r-xp anon
  0x100000004000-0x100000006000 rw-p anon
27 ENOMEM
28 maps a
  0x100000000000-0x100000003000 r--p anon
  0x100000004000-0x100000006000 rw-p anon
30 ok
31 ENOMEM
32 ok
33 ok
34 ENOMEM
35 0
36 0
37 ENOMEM
38 ok
39 EINVAL
40 EINVAL
41 ok
42 ok
43 EINVAL
44 ENOMEM
45 ENOMEM
46 maps a
  0x100000000000-0x100000003000 rw-p anon
  0x100000004000-0x100000006000 rw-p anon
  0x100000010000-0x100000011000 rw-p f@0x0
`,
  },
  {
    name: 'fork: COW, wipeonfork (inherited), dontfork/dofork, exit, frames',
    trace: `
file f 0x3000
fwrite f 0x0 10
fwrite f 0x1000 11
spawn a
a mmap 0x100000000000 0x2000 rw private
a mmap 0x100000002000 0x1000 rw private
a mmap 0x100000010000 0x3000 rw private f 0x0
a mmap 0x100000020000 0x1000 rw shared
a write 0x100000000000 1
a write 0x100000001000 2
a write 0x100000002000 3
a write 0x100000010000 4
a write 0x100000020000 5
a madvise 0x100000001000 0x1000 wipeonfork
a madvise 0x100000002000 0x1000 dontfork
a madvise 0x100000010000 0x1000 wipeonfork
fork a b
b read 0x100000000000
b read 0x100000001000
b read 0x100000002000
b read 0x100000010000
b read 0x100000011000
b write 0x100000020000 6
a read 0x100000020000
b write 0x100000001000 7
fork b c
c read 0x100000001000
c read 0x100000000000
frames
a write 0x100000000000 8
fwrite f 0x1000 12
c read 0x100000011000
a madvise 0x100000002000 0x1000 dofork
fork a d
d read 0x100000002000
exit a
b read 0x100000000000
frames
b maps
d maps
`,
    expected: `
1 ok
2 ok
3 ok
4 ok
5 ok
6 ok
7 ok
8 ok
9 ok
10 ok
11 ok
12 ok
13 ok
14 ok
15 ok
16 EINVAL
17 ok
18 1
19 0
20 SIGSEGV
21 4
22 11
23 ok
24 6
25 ok
26 ok
27 0
28 1
29 frames
  zero: c:0x100000001000
  a:0x100000000000 b:0x100000000000 c:0x100000000000
  a:0x100000010000 b:0x100000010000 c:0x100000010000
  a:0x100000011000 b:0x100000011000 c:0x100000011000
  a:0x100000012000 b:0x100000012000 c:0x100000012000
  a:0x100000020000 b:0x100000020000 c:0x100000020000
30 ok
31 ok
32 12
33 ok
34 ok
35 3
36 ok
37 1
38 frames
  zero: c:0x100000001000 d:0x100000001000
  b:0x100000000000 c:0x100000000000
  b:0x100000010000 c:0x100000010000 d:0x100000010000
  b:0x100000011000 c:0x100000011000 d:0x100000011000
  b:0x100000012000 c:0x100000012000 d:0x100000012000
  b:0x100000020000 c:0x100000020000 d:0x100000020000
39 maps b
  0x100000000000-0x100000002000 rw-p anon
  0x100000010000-0x100000013000 rw-p f@0x0
  0x100000020000-0x100000021000 rw-s anon
40 maps d
  0x100000000000-0x100000003000 rw-p anon
  0x100000010000-0x100000013000 rw-p f@0x0
  0x100000020000-0x100000021000 rw-s anon
`,
  },
  {
    name: 'anon_vma reuse, different anon_vmas, second view over the source',
    trace: `
# anon_vma_prepare() reuses an adjacent compatible vma's anon_vma (flags may
# differ only in VM_READ/WRITE/EXEC): the two vmas can merge later
spawn a
a mmap 0x100000000000 0x1000 rw private
a write 0x100000000000 1
a mmap 0x100000001000 0x1000 rwx private
a write 0x100000001000 2
a mprotect 0x100000001000 0x1000 rw
a mremap 0x100000000000 0x2000 0x3000
# different anon_vmas never merge (is_mergeable_anon_vma(), case 3)
file f 0x4000
a mmap 0x100000010000 0x1000 rw private f 0x0
a write 0x100000010000 1
a mmap 0x100000015000 0x1000 rw private f 0x1000
a madvise 0x100000015000 0x1000 dontfork
a write 0x100000015000 2
a mremap 0x100000015000 0x1000 0x1000 0x100000011000
a madvise 0x100000011000 0x1000 dofork
a mremap 0x100000010000 0x2000 0x3000
# reused the other way (next first), and a merge of prev and next refused
# because their anon_vmas differ (can_vma_merge_right())
a mmap 0x100000020000 0x1000 rw private
a mmap 0x100000021000 0x1000 rwx private
a write 0x100000021000 2
a write 0x100000020000 1
a mprotect 0x100000021000 0x1000 rw
a mremap 0x100000020000 0x2000 0x3000
a mmap 0x100000030000 0x1000 rw private
a mmap 0x100000031000 0x1000 rwx private
a mmap 0x100000032000 0x1000 rw private
a write 0x100000030000 1
a write 0x100000032000 1
a mprotect 0x100000031000 0x1000 rw
a mremap 0x100000030000 0x3000 0x4000
# a second view at the source's own address unmaps the source first: EFAULT
a mmap 0x100000040000 0x3000 rw shared
a mremap 0x100000040000 0x0 0x3000 0x100000040000
a maps
# moves back and forth: unfaulted anonymous vmas take the new pgoff
a mmap 0x100000050000 0x2000 rw private
a mremap 0x100000050000 0x2000 0x2000 0x100000052000
a mremap 0x100000052000 0x2000 0x2000 0x100000050000
a write 0x100000050000 3
a mremap 0x100000050000 0x1000 0x1000 0x100000052000
a mremap 0x100000050000 0x1000 0x2000
a read 0x100000052000
a maps
`,
    expected: `
3 ok
4 ok
5 ok
6 ok
7 ok
8 ok
9 ok
11 ok
12 ok
13 ok
14 ok
15 ok
16 ok
17 ok
18 ok
19 EFAULT
22 ok
23 ok
24 ok
25 ok
26 ok
27 ok
28 ok
29 ok
30 ok
31 ok
32 ok
33 ok
34 EFAULT
36 ok
37 EFAULT
38 maps a
  0x100000000000-0x100000003000 rw-p anon
  0x100000010000-0x100000012000 rw-p f@0x0
  0x100000020000-0x100000023000 rw-p anon
  0x100000030000-0x100000033000 rw-p anon
40 ok
41 ok
42 ok
43 ok
44 ok
45 EFAULT
46 3
47 maps a
  0x100000000000-0x100000003000 rw-p anon
  0x100000010000-0x100000012000 rw-p f@0x0
  0x100000020000-0x100000023000 rw-p anon
  0x100000030000-0x100000033000 rw-p anon
  0x100000051000-0x100000053000 rw-p anon
`,
  },
  {
    name: 'mremap of a fork child vma next to an unfaulted one does not merge',
    trace: `
# copy_vma() into an unfaulted neighbour: refused when the vma copied from is a
# fork child (vmg->copied_from, vma_is_fork_child(); a 6.18.y stable fix),
# allowed otherwise (the merged vma takes the moved anon_vma).
spawn a
a mmap 0x100000000000 0x2000 rw private
a write 0x100000000000 1
fork a b
b mremap 0x100000000000 0x1000 0x1000 0x100000010000
b munmap 0x100000001000 0x1000
b mmap 0x100000001000 0x1000 rw private
b mremap 0x100000010000 0x1000 0x1000 0x100000000000
b mremap 0x100000000000 0x2000 0x3000
b read 0x100000000000
spawn c
c mmap 0x100000000000 0x2000 rw private
c write 0x100000000000 1
c mremap 0x100000000000 0x1000 0x1000 0x100000010000
c munmap 0x100000001000 0x1000
c mmap 0x100000001000 0x1000 rw private
c mremap 0x100000010000 0x1000 0x1000 0x100000000000
c mremap 0x100000000000 0x2000 0x3000
c read 0x100000000000
`,
    expected: `
4 ok
5 ok
6 ok
7 ok
8 ok
9 ok
10 ok
11 ok
12 EFAULT
13 1
14 ok
15 ok
16 ok
17 ok
18 ok
19 ok
20 ok
21 ok
22 1
`,
  },
  {
    name: 'bytes past EOF when the file grows: ftruncate zeroes them, pwrite only the gap',
    trace: `
# Bytes a shared mapping wrote past EOF (in the page holding EOF) when the
# file grows (ext4, Linux 6.18.44): a growing ftruncate zeroes all of them
# (ext4_setattr() zeroes the partial EOF block); a growing pwrite zeroes only
# the gap between the old EOF and the written bytes, and a pwrite at the old
# EOF zeroes nothing: what lies after the written bytes stays.
file f 0x1800
file g 0x1800
file h 0x1800
spawn a
a mmap 0x100000000000 0x2000 rw shared f 0x0
a mmap 0x100000010000 0x2000 rw shared g 0x0
a mmap 0x100000020000 0x2000 rw shared h 0x0
a write 0x100000001800 8
a write 0x100000001904 6
a write 0x100000001ffc 9
a write 0x100000011800 8
a write 0x100000011904 6
a write 0x100000011ffc 9
a write 0x100000021800 8
a write 0x100000021904 6
a write 0x100000021ffc 9
ftruncate f 0x1900
fwrite g 0x1900 1
fwrite h 0x1800 1
a read 0x100000001800
a read 0x100000001904
a read 0x100000001ffc
a read 0x100000011800
a read 0x100000011904
a read 0x100000011ffc
a read 0x100000021800
a read 0x100000021904
a read 0x100000021ffc
fread g 0x18fc
fread h 0x1804
ftruncate h 0x2000
fread h 0x1904
`,
    expected: `
6 ok
7 ok
8 ok
9 ok
10 ok
11 ok
12 ok
13 ok
14 ok
15 ok
16 ok
17 ok
18 ok
19 ok
20 ok
21 ok
22 ok
23 ok
24 ok
25 0
26 0
27 0
28 0
29 6
30 9
31 1
32 6
33 9
34 0
35 EOF
36 ok
37 0
`,
  },
  {
    name: 'ftruncate to the same size zeroes the tail past EOF',
    trace: `
# ftruncate to the current size is not a no-op on ext4: ext4_setattr() calls
# truncate_pagecache() and ext4_truncate() "even if i_size didn't change",
# zeroing the tail of the page that holds EOF, where a shared mapping may
# have written. A private copy of that page keeps its bytes. (Linux 6.18.44.)
file f 0x600
spawn a
a mmap 0x100000000000 0x1000 rw shared f 0x0
a mmap 0x100000010000 0x1000 rw private f 0x0
a write 0x100000000a00 1
a write 0x100000010a04 2
a read 0x100000010a00
ftruncate f 0x600
a read 0x100000000a00
a read 0x100000010a00
a read 0x100000010a04
ftruncate f 0x1000
a write 0x100000000ffc 3
ftruncate f 0x1000
a read 0x100000000ffc
`,
    expected: `
5 ok
6 ok
7 ok
8 ok
9 ok
10 ok
11 1
12 ok
13 0
14 1
15 2
16 ok
17 ok
18 ok
19 3
`,
  },
];

function run(trace: string, name: string): string {
  const cmds = parseVmt(trace, name);
  return formatResults(cmds, runNaive(cmds));
}

describe('naive model: hand-made traces (confirmed on Linux)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      expect(run(txt(c.trace), c.name)).toBe(txt(c.expected));
    });
  }
});

describe('naive model: details', () => {
  it('keeps kernel vmas split where Linux does', () => {
    const m = new NaiveMachine();
    for (const c of parseVmt(txt(`
spawn a
a mmap 0x100000000000 0x3000 rw private
a mprotect 0x100000001000 0x1000 r
a mprotect 0x100000001000 0x1000 rw
a mmap 0x100000010000 0x1000 rw shared
a mmap 0x100000011000 0x1000 rw shared
`))) m.exec(c);
    const vmas = m.vmasOf('a').map((v) => `${v.start.toString(16)}-${v.end.toString(16)}`);
    expect(vmas).toEqual(['100000000000-100000003000', '100000010000-100000011000', '100000011000-100000012000']);
  });

  it('a write to a private file page past EOF gets an anon_vma before SIGBUS', () => {
    // do_cow_fault() prepares the anon_vma before __do_fault() fails. A fork
    // child's copy of a vma with an anon_vma does not merge with an
    // unfaulted neighbour (vma_is_fork_child()), so b's resize spans two
    // vmas; after a mere read (no anon_vma) d's vmas merge. Confirmed on Linux.
    const trace = txt(`
file f 0x0
spawn a
a mmap 0x100000000000 0x1000 rw private f 0x0
a write 0x100000000000 1
fork a b
b mmap 0x100000001000 0x1000 rw private f 0x1000
b mremap 0x100000000000 0x2000 0x3000
spawn c
c mmap 0x100000000000 0x1000 rw private f 0x0
c read 0x100000000000
fork c d
d mmap 0x100000001000 0x1000 rw private f 0x1000
d mremap 0x100000000000 0x2000 0x3000
`);
    expect(run(trace, 'sigbus-anon').split('\n').filter((l) => / (EFAULT|SIGBUS)$/.test(l)))
      .toEqual(['4 SIGBUS', '7 EFAULT', '10 SIGBUS']);
    const m = new NaiveMachine();
    for (const c of parseVmt(trace).slice(0, 4)) m.exec(c);
    expect(m.vmasOf('a')[0]!.anon).not.toBeNull();
  });

  it('frames can print just its header', () => {
    const m = new NaiveMachine({ frameGroups: false });
    expect(m.exec({ line: 1, kind: 'frames' })).toBe('frames');
  });

  it('is deterministic', () => {
    fc.assert(fc.property(traceArbitrary({ maxCommands: 40 }), (t) => {
      expect(runNaive(t)).toEqual(runNaive(t));
    }), { numRuns: 100 });
  });

  it('prints maps runs ascending, disjoint and inside the window', () => {
    fc.assert(fc.property(traceArbitrary({ maxCommands: 40 }), (t) => {
      const m = new NaiveMachine();
      for (const c of t) {
        const r = m.exec(c);
        if (c.kind !== 'maps') continue;
        let last = 0x100000000000n;
        for (const l of r.split('\n').slice(1)) {
          const [s, e] = l.trim().split(' ')[0]!.split('-').map((x) => BigInt(x));
          expect(s! >= last && s! < e! && e! <= 0x200000000000n).toBe(true);
          last = e!;
        }
      }
    }), { numRuns: 100 });
  });
});

const linuxRuns = Number(process.env.VMTREE_LINUX_RUNS ?? 150);
const haveLinux = vmrunAvailable() && isRoot() && linuxRuns > 0;

describe.runIf(haveLinux)('naive model against the kernel (build/vmrun)', () => {
  const agree = (trace: readonly import('../src/trace/ast.js').Command[]): void => {
    const cmds = renumber(trace);
    const naive = formatResults(cmds, runNaive(cmds));
    const linux = formatResults(cmds, runLinux(cmds));
    if (naive !== linux) {
      throw new Error(`naive model and Linux disagree on\n${printVmt(cmds)}--- naive\n${naive}--- linux\n${linux}`);
    }
  };
  it('agrees on random traces', () => {
    fc.assert(fc.property(traceArbitrary({ maxCommands: 60 }), agree), { numRuns: linuxRuns });
  });
  it('agrees on random merge-heavy traces', () => {
    fc.assert(fc.property(mergeTraceArbitrary(), agree), { numRuns: linuxRuns });
  });
  it('agrees on random traces around the end of files', () => {
    fc.assert(fc.property(fileTraceArbitrary(40, true), agree), { numRuns: linuxRuns });
    fc.assert(fc.property(fileTraceArbitrary(40, false), agree), { numRuns: linuxRuns });
  });
  it('agrees on the hand-made traces', () => {
    for (const c of CASES) {
      const cmds = parseVmt(txt(c.trace), c.name);
      expect(formatResults(cmds, runLinux(cmds))).toBe(txt(c.expected));
    }
  });
});
