// The example of the trace language's reference (docs/vmtrace.md, "A first
// trace"), verbatim: the trace and the output it prints. One copy for every test.

export const SPEC_EXAMPLE = `file data 0x4000
fwrite data 0x1000 7
spawn a
a mmap 0x100000000000 0x3000 rw private
a mmap 0x100000003000 0x2000 r shared data 0x2000
a write 0x100000000000 1
fork a b
b write 0x100000000000 2
a read 0x100000000000         # 1: b's write went to b's own copy
b mmap 0x100000010000 0x1000 r private data 0x1000
b read 0x100000010000         # 7: the file's page
a maps
frames
`;

export const SPEC_EXAMPLE_OUTPUT = `1 ok
2 ok
3 ok
4 ok
5 ok
6 ok
7 ok
8 ok
9 1
10 ok
11 7
12 maps a
  0x100000000000-0x100000003000 rw-p anon
  0x100000003000-0x100000005000 r--s data@0x2000
13 frames
  zero: a:0x100000001000 a:0x100000002000 b:0x100000001000 b:0x100000002000
  a:0x100000003000 b:0x100000003000
  a:0x100000004000 b:0x100000004000
`;
